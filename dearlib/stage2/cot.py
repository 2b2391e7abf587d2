"""Stage-2 data: chain-of-thought listwise permutations over windows of candidates, and their export.

A `Window` is one query with 10-20 candidate passages (and, where known, the teacher's scores and relevance
labels). The prompt is RankGPT's listwise prompt with DeAR's three steps: (1) list the information requirements
of the query, (2) find the passages that contain each, (3) rank the passages that cover them best, all passages
included; the answer is reasoning in ``<think>...</think>`` then ``[2] > [1] > ...``.

Three generators share one interface, ``generate(windows) -> list[str | None]`` (None: no completion, e.g. an
API error after retries; the caller counts it):
- `TeacherGuidedGenerator`, the offline default: orders the window by teacher score (ties by label, then input
  order) and writes the reasoning from the passages themselves (which query requirement each covers).
  Deterministic; its records are marked ``synthetic``.
- `OpenAIChatGenerator`: any OpenAI-compatible chat endpoint (GPT-4o as in the paper, a vLLM server, Ollama,
  llama-cpp-python's server), with bounded concurrency, a per-request timeout, the `openai` client's retry with
  back-off on 429/5xx, and a resumable JSONL cache. A window whose request fails or times out is counted; an
  endpoint that cannot be reached at all stops the run (`EndpointUnreachable`), and a rerun resumes from the cache.
- `LocalGenerator`: a local chat model through `dearlib.stage2.listwise`'s backends (transformers, or vLLM when installed).

`generator_from_config` builds the one a profile names (``stage2_data.generator``). `HAND_WRITTEN` is a complete
example in the paper's reasoning format over a real window, written for this kit (not from the DeAR data), to set
beside what the teacher-guided template writes for the same window.

Validation is `dearlib.stage2.permutation`'s; export writes chat-messages JSONL (what Stage 2 trains on) and
LLaMA-Factory `alpaca`/`sharegpt` files with their `dataset_info.json` entries.
"""
from __future__ import annotations

import json
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from ..core import atomic, readers
from ..core.records import Passage, Query
from ..core.schema import ENV_VAR, SCHEMA
from .listwise import make_backend
from .permutation import ranking_text
from .prompt import SYSTEM, Window, messages, prompt_parts

STOPWORDS = set("a an and are as at be by did do does for from has have how in is it its of on or the to was what "
                "when where which who whom whose why will with".split())


@dataclass
class Example:
    """One generated example in the fields of the released DeAR-COT data, plus where it came from."""

    id: str
    system: str
    instruction: str
    input: str
    output: str
    think: str
    qid: str
    docids: list[str]
    generator: str
    synthetic: bool
    history: list = field(default_factory=list)


def split_think(completion: str) -> tuple[str, str]:
    m = re.search(r"<think>(.*?)</think>", completion, re.DOTALL)
    return (m.group(1).strip(), completion[m.end():].strip()) if m else ("", completion.strip())


def make_example(window: Window, completion: str, generator: str, synthetic: bool, max_words: int) -> Example:
    instruction, inp = prompt_parts(window, max_words)
    think, _ = split_think(completion)
    return Example(window.wid, SYSTEM, instruction, inp, completion, think, window.query.qid,
                   [p.docid for p in window.passages], generator, synthetic)


# ------------------------------------------------------------------------------------------------- generators


def requirements(query: str, k: int = 5) -> list[str]:
    """The query's content words, in order: the 'information requirements' of the teacher-guided reasoning."""
    words = re.findall(r"\w+", query.lower())
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS))[:k]


class TeacherGuidedGenerator:
    """Offline, deterministic: the teacher's order, with reasoning written from the passages' own words."""

    name = "teacher-guided"
    synthetic = True

    def order(self, w: Window) -> list[int]:
        if w.teacher is None:
            raise ValueError(f"window {w.wid}: the teacher-guided generator needs teacher scores")
        labels = w.labels or [0] * len(w.passages)
        return sorted(range(len(w.passages)), key=lambda i: (-w.teacher[i], -labels[i], i))

    def completion(self, w: Window) -> str:
        """One line of reasoning (a small Stage-2 model generates it at inference, token by token): (1) the query's
        requirements, (2) how many of them the leading passages contain, (3) the best passage; then the teacher's order."""
        order = self.order(w)
        reqs = requirements(w.query.text)
        covered = [sum(r in set(re.findall(r"\w+", p.contents.lower())) for r in reqs) for p in w.passages]
        lead = ", ".join(f"[{i + 1}] {covered[i]}/{len(reqs)}" for i in order[:2])
        think = f"Requirements: {', '.join(reqs) or w.query.text}. Covered: {lead}. Best: [{order[0] + 1}]."
        return f"<think>{think}</think>\n{ranking_text(order)}"

    def generate(self, windows: list[Window], progress: bool = False) -> list[str]:
        return [self.completion(w) for w in tqdm(windows, desc=self.name, disable=not progress)]


class MissingAPIKey(RuntimeError):
    pass


class EndpointUnreachable(RuntimeError):
    """The endpoint refused or dropped the connection after the client's retries: the run stops (every other window
    would fail the same way, each after its retries) with what it finished kept in the cache."""


class OpenAIChatGenerator:
    """An OpenAI-compatible chat endpoint; completions are cached in JSONL by window id, so a rerun resumes.

    The key is read from the environment variable named `api_key_env` (a name, checked as one) and never written
    anywhere: not in the cache, not in an error (an error that echoes it has it replaced).
    """

    synthetic = False

    def __init__(self, model: str, cache_path: str | Path, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 max_concurrency: int = 4, max_retries: int = 5, timeout: float = 120.0, temperature: float = 0.0,
                 max_words: int = 300, max_tokens: int = 2048):

        if not isinstance(api_key_env, str) or not ENV_VAR.fullmatch(api_key_env):
            raise ValueError("api_key_env must name an environment variable (capital letters, digits and underscores, e.g. "
                             "OPENAI_API_KEY); the value given is not one and is not shown, in case it is the key itself")
        key = os.environ.get(api_key_env)
        if not key:
            raise MissingAPIKey(f"set the environment variable {api_key_env} to the API key of {base_url or 'the OpenAI API'} "
                                "(no request was sent)")
        from openai import OpenAI

        self.client = OpenAI(api_key=key, base_url=base_url, max_retries=max_retries, timeout=timeout)
        self.name = f"openai:{model}"
        self.model, self.temperature, self.max_words, self.max_tokens = model, temperature, max_words, max_tokens
        self.max_concurrency = max_concurrency
        self.cache_path = Path(cache_path)
        self.errors: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def cached(self) -> dict[str, str]:
        """{window id: completion} from the cache. A last line cut by an interruption is skipped (that window is
        generated again); any other bad line is damage, and an error naming the file and line."""
        done = {}
        if self.cache_path.is_file():
            for n, rec in readers.read_jsonl(self.cache_path, cut_last=True):
                try:
                    if not isinstance(rec["id"], str) or not isinstance(rec["completion"], str):
                        raise TypeError("'id' and 'completion' must be strings")
                except (KeyError, TypeError) as e:
                    raise readers.ReadError(readers.bad_record(f"{self.cache_path}:{n}", e, "a cached completion")) from None
                done[rec["id"]] = rec["completion"]
        return done

    def _one(self, w: Window) -> str | None:
        from openai import APIConnectionError, APITimeoutError

        if self._stop.is_set():  # the endpoint is gone: windows not yet sent are left for the rerun
            return None
        try:
            r = self.client.chat.completions.create(model=self.model, messages=messages(w, self.max_words),
                                                    temperature=self.temperature, max_tokens=self.max_tokens)
            text = r.choices[0].message.content or ""
        except Exception as e:  # after the client's own retries: counted, not fatal, and not cached
            # an endpoint or proxy may echo the request's headers in its error: the key never leaves in a message
            self.errors[w.wid] = f"{type(e).__name__}: {e}".replace(self.client.api_key, "<API key>")
            if isinstance(e, APITimeoutError):  # (a subclass of the connection error) this window only
                self.errors[w.wid] += f" (no answer within the {self.client.timeout} s request timeout)"
            elif isinstance(e, APIConnectionError):
                self._stop.set()
                raise EndpointUnreachable(f"the endpoint {self.client.base_url} cannot be reached ({self.errors[w.wid]}); "
                                          f"the completions finished so far are kept in {self.cache_path}: start the "
                                          "server again and rerun to resume") from None
            return None
        with self._lock, open(self.cache_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"id": w.wid, "completion": text}, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return text

    def generate(self, windows: list[Window], progress: bool = False) -> list[str | None]:
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        done = self.cached()
        if self.cache_path.is_file() and not self.cache_path.read_bytes().endswith(b"\n"):
            # a last line cut by an interruption: rewritten without it, so the next record starts on its own line
            atomic.write_text(self.cache_path, "".join(json.dumps({"id": i, "completion": t}, ensure_ascii=False) + "\n"
                                                       for i, t in done.items()))
        todo = [w for w in windows if w.wid not in done]
        self._stop.clear()
        with ThreadPoolExecutor(self.max_concurrency) as pool:
            # on EndpointUnreachable the pool still drains its queue, each window returning at once (self._stop)
            for w, text in zip(todo, tqdm(pool.map(self._one, todo), total=len(todo), desc=self.name, disable=not progress)):
                if text is not None:
                    done[w.wid] = text
        return [done.get(w.wid) for w in windows]


class LocalGenerator:
    """A local chat model through one of `dearlib.stage2.listwise`'s backends: transformers (greedy by default,
    deterministic; windows batched) or vLLM when installed (the paper profile's choice on a GPU)."""

    synthetic = False

    def __init__(self, backend, name: str, max_words: int = 300):
        self.backend, self.name, self.max_words = backend, f"local:{name}", max_words

    def generate(self, windows: list[Window], progress: bool = False) -> list[str]:
        out = []
        step = getattr(self.backend, "batch_size", 64)
        for s in tqdm(range(0, len(windows), step), desc=self.name, disable=not progress):
            out += self.backend.generate([messages(w, self.max_words) for w in windows[s:s + step]])
        return out


GENERATORS = SCHEMA["stage2_data"].type["generator"].choices  # the names the profile schema accepts


def generator_from_config(D: dict, seed: int, out_dir: str | Path, source: str = "the config"):
    """The generator named by ``stage2_data.generator`` (`D` is that section of a profile), built from its settings.

    openai: ``model`` and, when given, ``base_url``, ``api_key_env``, ``max_concurrency``, ``max_retries``,
    ``timeout``, ``temperature``, ``max_new_tokens``; completions are cached in ``out_dir/completions.jsonl``.
    local: ``model`` and, when given, ``backend``, ``max_new_tokens``, ``temperature``, ``batch_size``. Settings
    left out keep the classes' defaults. `source` names the config file in error messages.
    """
    name = D.get("generator")
    if name not in GENERATORS:
        raise ValueError(f"{source}: stage2_data.generator is {name!r}; choose one of {', '.join(GENERATORS)}")
    if name == "teacher-guided":
        return TeacherGuidedGenerator()
    if not D.get("model"):
        raise ValueError(f"{source}: stage2_data.generator {name!r} needs stage2_data.model (a model name)")
    def given(*keys):
        return {k: D[k] for k in keys if k in D}

    if name == "openai":
        tokens = {"max_tokens": D["max_new_tokens"]} if "max_new_tokens" in D else {}
        return OpenAIChatGenerator(D["model"], Path(out_dir) / "completions.jsonl", max_words=D["max_words"], **tokens,
                                   **given("base_url", "api_key_env", "max_concurrency", "max_retries", "timeout",
                                           "temperature"))
    backend = make_backend(D["model"], seed=seed, **given("backend", "max_new_tokens", "temperature", "batch_size"))
    return LocalGenerator(backend, D["model"], D["max_words"])


# ------------------------------------------------------------------------------------------------- a hand-written example


@dataclass(frozen=True)
class HandWritten:
    """A completion in the paper's reasoning format over one real window, with the window's passages shortened."""

    qid: str
    query: str
    docids: tuple[str, ...]  # the window's passages, in BM25 order (identifiers [1], [2], ...)
    passages: tuple[str, ...]  # excerpts of them, cuts marked "..."
    completion: str


# Written for this kit, not from the DeAR data: the first window of notebook 03 on the mini profile (NQ question 0,
# its BM25 top 10 from notebook 01), reasoned through the three steps of the prompt by a person reading the passages.
HAND_WRITTEN = HandWritten(
    qid="0",
    query="who got the first nobel prize in physics",
    docids=("nq-0", "nq-1900", "nq-2398", "nq-492", "nq-1800", "nq-329", "nq-1390", "nq-1253", "nq-70", "nq-2254"),
    passages=(
        "List of Nobel laureates in Physics The first Nobel Prize in Physics was awarded in 1901 to Wilhelm Conrad "
        "Röntgen, of Germany, ...",
        "Nobel Prize in Literature The Nobel Prize in Literature ... has been awarded annually, since 1901, to an "
        "author from any country ...",
        "Henry Moseley ... In 1906 he won the chemistry and physics prizes at Eton. ...",
        "Jnanpith Award ... The first recipient of the award was the Malayalam writer G. Sankara Kurup who received "
        "the award in 1965 ...",
        "My Bucket's Got a Hole in It \"My Bucket's Got a Hole in It\" is a song widely attributed to Clarence Williams ...",
        "Be Thankful for What You Got \"Be Thankful for What You Got\" is a soul song written and first performed by "
        "William DeVaughn.",
        "Papa's Got a Brand New Bag ... It won Brown his first Grammy Award, for Best Rhythm & Blues Recording.",
        "Battle of the Sexes (film) ... a tennis tournament where the top prize for women is one-eighth of the men’s "
        "prize ...",
        "Melbourne Cup ... First prize was £1,790, the crowd was 80,000 and there were 30 starters. ...",
        "America's Got Talent (season 1) The first season of America's Got Talent premiered on June 21, 2006 ... "
        "This season's winner was Bianca Ryan.",
    ),
    completion=(
        "<think>\n"
        "(1) Requirements. The query asks for a person: the first winner of the Nobel Prize in Physics. A passage "
        "should (a) be about the Nobel Prize in Physics, not another prize; (b) speak of its first award; "
        "(c) name who received it.\n"
        "(2) Passages that meet them. [1] meets (a), (b) and (c): \"The first Nobel Prize in Physics was awarded in "
        "1901 to Wilhelm Conrad Röntgen\". [2] meets part of (a) and (b): the Nobel Prize and its first year, 1901, "
        "but for literature, and it names no laureate. [3] speaks of physics prizes, but school prizes at Eton: (a) "
        "in words only. [4] names the first recipient of an award, the Jnanpith Award: (b) and (c), for another "
        "prize. [7] names a first Grammy Award: (b) and (c), weaker still. [10] names the winner of a first season, "
        "[9] a first prize in a horse race, [8] a prize in tennis: each a loose link. [5] and [6] are songs that "
        "share only the word \"got\": none.\n"
        "(3) Ranking. [1] answers the query. Then the passages on the Nobel Prize or on physics prizes ([2], [3]), "
        "then those naming the first recipient of another award ([4], [7]), then the loose links ([10], [9], [8]), "
        "then the rest ([5], [6]).\n"
        "</think>\n"
        "[1] > [2] > [3] > [4] > [7] > [10] > [9] > [8] > [5] > [6]"
    ),
)


def hand_written_window(pool: dict[str, Passage]) -> Window:
    """The real window `HAND_WRITTEN` reasons over: its query and full passages, from NQ's gold-passage pool."""
    missing = [d for d in HAND_WRITTEN.docids if d not in pool]
    if missing:
        raise KeyError(f"the NQ passage pool lacks {missing}, the passages of the hand-written example (dearlib.stage2.cot)")
    return Window(f"nq-{HAND_WRITTEN.qid}", Query(HAND_WRITTEN.qid, HAND_WRITTEN.query), [pool[d] for d in HAND_WRITTEN.docids])


# ------------------------------------------------------------------------------------------------- export


def to_messages(e: Example) -> list[dict]:
    return [{"role": "system", "content": e.system}, {"role": "user", "content": f"{e.instruction}\n\n{e.input}"},
            {"role": "assistant", "content": e.output}]


def write_chat_jsonl(examples: list[Example], path: str | Path) -> Path:
    """The chat-messages JSONL that Stage 2 trains on (one {"messages": [...], "id", "synthetic"} per line)."""
    return atomic.write_text(path, "".join(json.dumps({"id": e.id, "synthetic": e.synthetic, "messages": to_messages(e)},
                                                      ensure_ascii=False) + "\n" for e in examples))


def write_llamafactory(examples: list[Example], folder: str | Path, name: str = "dear_cot") -> dict:
    """LLaMA-Factory files: `<name>_alpaca.json`, `<name>_sharegpt.json` and their `dataset_info.json` entries."""
    folder = Path(folder)
    alpaca = [{"instruction": e.instruction, "input": e.input, "output": e.output, "system": e.system, "history": e.history}
              for e in examples]
    sharegpt = [{"conversations": [{"from": "human", "value": f"{e.instruction}\n\n{e.input}"}, {"from": "gpt", "value": e.output}],
                 "system": e.system} for e in examples]
    atomic.write_json(folder / f"{name}_alpaca.json", alpaca)
    atomic.write_json(folder / f"{name}_sharegpt.json", sharegpt)
    info = {
        f"{name}_alpaca": {"file_name": f"{name}_alpaca.json",
                           "columns": {"prompt": "instruction", "query": "input", "response": "output", "system": "system",
                                       "history": "history"}},
        f"{name}_sharegpt": {"file_name": f"{name}_sharegpt.json", "formatting": "sharegpt",
                             "columns": {"messages": "conversations", "system": "system"},
                             "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}},
    }
    atomic.write_json(folder / "dataset_info.json", info)
    return info


# ------------------------------------------------------------------------------------------------- windows and quality


def nq_windows(examples: list, candidates: dict, pool: dict, size: int) -> list[Window]:
    """A window per NQ question: its BM25 top-`size`, labelled 1 for the gold passage or one with an answer string."""
    from ..evaluation.answers import has_answer

    out = []
    for e in examples:
        c = candidates.get(e.query.qid)
        if c is None:
            continue
        ps = list(c.passages[:size])
        labels = [int(p.docid == e.gold_docid or has_answer(p.contents, e.answers)) for p in ps]
        out.append(Window(f"nq-{e.query.qid}", e.query, ps, labels=labels))
    return out


def quality(windows: list[Window], orders: list[list[int]]) -> dict:
    """Agreement of accepted permutations with the teacher (mean Kendall tau) and their nDCG@10 against labels,
    next to the nDCG@10 of the windows' input (BM25) order."""
    from scipy.stats import kendalltau

    from ..evaluation.metrics import evaluate

    taus = []
    for w, o in zip(windows, orders):
        if w.teacher is not None and len(set(w.teacher)) > 1:
            rank_of = {i: r for r, i in enumerate(o)}
            taus.append(kendalltau([rank_of[i] for i in range(len(o))], [-t for t in w.teacher]).statistic)
    judged = [(w, o) for w, o in zip(windows, orders) if w.labels and any(w.labels)]
    out = {"windows": len(windows), "kendall_tau_vs_teacher": sum(taus) / len(taus) if taus else None,
           "windows_with_a_relevant_passage": len(judged)}
    if judged:
        qrels = {w.wid: {p.docid: l for p, l in zip(w.passages, w.labels)} for w, _ in judged}
        perm = {w.wid: {w.passages[i].docid: float(len(o) - r) for r, i in enumerate(o)} for w, o in judged}
        given = {w.wid: {p.docid: float(len(w.passages) - r) for r, p in enumerate(w.passages)} for w, _ in judged}
        out["nDCG@10_permutation"] = evaluate(perm, qrels, ["nDCG@10"]).metrics["nDCG@10"]
        out["nDCG@10_input_order"] = evaluate(given, qrels, ["nDCG@10"]).metrics["nDCG@10"]
    return out
