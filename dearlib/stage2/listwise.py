"""Stage-2 inference: listwise reranking with a sliding window, and the BM25 -> Stage 1 -> Stage 2 cascade.

A listwise model reads a *window* of candidates in one prompt (the Stage-2 data's template, `dearlib.stage2.cot`) and
answers with a permutation, parsed by `dearlib.stage2.permutation.parse`; a bad answer never crashes a run: the window
keeps its input order and the ledger counts the outcome. Over a list deeper than one window, windows slide from
the bottom of the ranked range to the top (`sliding_windows`), so a relevant passage can climb from the bottom
to first place in one pass, as in RankGPT and DeAR's released code. One pass fully compares only the top of the
range (a passage a window pushes down is not looked at again); `passes` > 1 sweeps again over the last pass's order.

Backends generate completions for a batch of prompts: `TransformersBackend` (any causal LM; greedy by default,
deterministic; sampling as an option) and `VLLMBackend` (when vLLM is installed; the paper profile's choice).
`without_adapter` gives the same backend with its LoRA adapter switched off: the zero-shot listwise base, on the
same model in memory (system `listwise-zeroshot`, what the Stage-2 adapter adds measured against it).
`listwise_backends` builds both for notebook 04, as they are or, with ``stage2.inference.quantize: int8`` on the CPU,
the adapter merged and each model's Linear layers dynamically quantized (`quantize_linear`).
Windows of many queries are generated together: the k-th window of every query forms one batch, since a query's
next window depends on the previous one. With `constrained`, `TransformersBackend` decodes under
`dearlib.stage2.constrained`'s grammar; `tally` counts each answer (its outcome, what the grammar did, whether the model
kept its input order) for the reranker and for `heldout_check`, the model on held-out Stage-2 windows.

A backend's `reading` ("kit" or "released") says how the window is prompted, decoded and parsed: "released" is
the authors' released inference for their adapter (`dearlib.stage2.prompt.released_messages`, rendered by
`render_released` and tokenised with the tokenizer's special tokens; sampled as `RELEASED_DECODING`, temperature 0.5
and top_p 0.9, `listwise_rerank/clients.py` and `run_listwise.sh`, to the EOS or `max_new_tokens` with no early stop;
parsed by `dearlib.stage2.permutation.parse_released`). The reranker takes the reading of its backend.

It does not train (`dearlib.stage2.training`) and does not evaluate (`dearlib.evaluation.metrics`; the cascade's evaluation:
`dearlib.stage2.cascade_eval`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from tqdm.auto import tqdm

from ..core.records import Candidates, Passage
from . import prompt
from .permutation import _ID, Ledger, answer_part, parse, parser_for

# the released inference's decoding (DataScienceUIBK/DeAR-Reranking: run_listwise.sh --temperature 0.5;
# listwise_rerank/clients.py, HFClient.chat: do_sample=True, top_p=0.9)
RELEASED_DECODING = {"temperature": 0.5, "top_p": 0.9}


def sliding_windows(n: int, window: int, step: int, rank_start: int = 0, rank_end: int | None = None) -> list[tuple[int, int]]:
    """The (start, end) slices a sliding window visits over ranks [rank_start, rank_end) of a list of `n`, bottom first.

    Every window holds 2 to `window` passages and lies inside the range (a window of one passage cannot be
    reordered: it would only cost a model call). The windows are RankGPT's (sunnweiwei/RankGPT, rank_gpt.py,
    `sliding_windows`: ends at rank_end, rank_end - step, ... while a full window fits), and where the last of them
    does not reach `rank_start` one more window is pinned there, ending where the next step would end but holding
    at least two passages; so the top is always read. Where the kit differs, and why:
    - RankGPT stops before the top when the depth is not a multiple of the step (it leaves the top ranks as they
      were) and reads no window at all over a range shorter than one window; here that range is one window.
    - rank_llm (castorini/rank_llm, `sliding_windows`) pins the last window to the top as here, but can end with a
      window of one passage (step = window, e.g. 11 candidates, window 5, step 5: (0, 1)); here that window is (0, 2).
    - A step larger than the window is refused: the ranks between two windows would never be read, and a
      passage could not climb past them (RankGPT's loop skips them; the kit's earlier loop went on to a window of
      size -1 that dropped passages). The profiles refuse it too (`dearlib.core.schema`), before any training.
    """
    if window < 2 or step < 1:
        raise ValueError(f"window must be at least 2 and step at least 1 (got window={window}, step={step})")
    if step > window:
        raise ValueError(f"step ({step}) must not exceed the window ({window}): the ranks between two windows would never be read")
    if rank_start < 0:
        raise ValueError(f"rank_start must be at least 0 (got {rank_start})")
    end = min(n, rank_end if rank_end is not None else n)
    if end - rank_start < 2:
        return []
    out = []
    while end - window > rank_start:  # a full window fits above the top: RankGPT's windows
        out.append((end - window, end))
        end -= step
    out.append((rank_start, max(end, rank_start + 2)))  # pinned to the top, never fewer than two passages
    return out


@dataclass
class WindowRecord:
    """What happened to one window: where it was, what the model said, how it parsed."""

    qid: str
    start: int
    end: int
    outcome: str
    prompt_tokens: int
    truncated_words: int  # words cut from passages to fit the context (0: none)
    steered: bool = False  # constrained decoding overrode the model's top token in the answer
    reasoning_cut: bool = False  # constrained decoding closed the reasoning at its budget
    completion: str = field(repr=False, default="")
    pass_number: int = 1  # which sweep of the sliding window (1: the first; `ListwiseReranker.passes`)
    prompt: str = field(repr=False, default="")  # the user message the model read


class TransformersBackend:
    """Chat completions from a transformers causal LM, a batch of prompts at a time (left padding)."""

    def __init__(self, model, tokenizer, max_new_tokens: int = 256, temperature: float = 0.0, batch_size: int = 8, seed: int = 0,
                 constrained: bool = False, top_p: float | None = None, reading: str = "kit"):
        if reading not in ("kit", "released"):
            raise ValueError(f"reading must be 'kit' or 'released', not {reading!r}")
        self.model, self.tok = model.eval(), tokenizer
        self.max_new_tokens, self.temperature, self.batch_size, self.seed = max_new_tokens, temperature, batch_size, seed
        self.top_p = top_p  # nucleus sampling when sampling (None: off)
        self.reading = reading  # "released": the released prompt rendering, decoding and parser
        if reading == "released" and tokenizer.pad_token is None:  # listwise_rerank/clients.py: the EOS pads
            tokenizer.pad_token = tokenizer.eos_token
        self.constrained = constrained  # answers a permutation by construction (`dearlib.stage2.constrained`), given n_ids
        self.context = getattr(model.config, "max_position_embeddings", 4096)
        self.steering: list[tuple[bool, bool]] = []  # per prompt of the last constrained call: (steered, reasoning cut)
        self.own_answers: list[str | None] = []  # per prompt: its answer up to the grammar's first steer in it (None: never steered there)

    def count(self, messages: list[dict]) -> int:
        if self.reading == "released":
            return len(prompt.released_ids(messages, self.tok))
        return len(prompt.chat_ids(messages, self.tok))

    def _texts(self, prompts: list[list[dict]]) -> list[str]:
        if self.reading == "released":
            return [prompt.render_released(m, self.tok) for m in prompts]
        return [self.tok.apply_chat_template(m, add_generation_prompt=True, tokenize=False) for m in prompts]

    def generate(self, prompts: list[list[dict]], n_ids: list[int] | None = None) -> list[str]:
        """Completions of `prompts`. With `n_ids`, a row stops once its answer names its window's n identifiers, or
        n + 2 (a model repeating itself would otherwise run to `max_new_tokens`); constrained, the answer is a
        permutation of n by construction and `self.steering` says, per prompt, where the constraint acted."""
        import torch
        from transformers import LogitsProcessorList

        from .constrained import PermutationGrammar

        out = []
        self.steering, self.own_answers = [], []
        side, self.tok.padding_side = self.tok.padding_side, "left"  # generation continues every row from its end
        try:
            for s in range(0, len(prompts), self.batch_size):
                texts = self._texts(prompts[s:s + self.batch_size])
                released = self.reading == "released"  # the released client tokenises with the special tokens
                batch = self.tok(texts, return_tensors="pt", padding=True, add_special_tokens=released).to(self.model.device)
                prompt_len = batch["input_ids"].shape[1]
                grammar = stop = None
                if n_ids and self.constrained:
                    grammar = PermutationGrammar(self.tok, prompt_len, n_ids[s:s + self.batch_size], self.max_new_tokens)
                elif n_ids and not released:  # the released client generates to the EOS or max_new_tokens
                    stop = [_RankingComplete(self.tok, prompt_len, n_ids[s:s + self.batch_size])]
                sample = self.temperature > 0
                if sample:
                    torch.manual_seed(self.seed + s)
                with torch.inference_mode():
                    gen = self.model.generate(**batch, max_new_tokens=self.max_new_tokens, do_sample=sample,
                                              temperature=self.temperature if sample else None,
                                              top_p=self.top_p if sample else None, top_k=None,
                                              **({"eos_token_id": self.tok.eos_token_id} if released else {}),
                                              stopping_criteria=stop, logits_processor=LogitsProcessorList([grammar] if grammar else []),
                                              pad_token_id=self.tok.pad_token_id if self.tok.pad_token_id is not None else self.tok.eos_token_id)
                out += self.tok.batch_decode(gen[:, prompt_len:], skip_special_tokens=True)
                if grammar:
                    self.steering += list(zip(grammar.steered, grammar.reasoning_cut))
                    self.own_answers += grammar.own_answer
        finally:
            self.tok.padding_side = side
        return out


class _RankingComplete:
    """A transformers stopping criterion, per row: the answer after the reasoning names n identifiers, or n + 2."""

    def __init__(self, tokenizer, prompt_len: int, n_ids: list[int]):
        self.tok, self.prompt_len, self.n = tokenizer, prompt_len, n_ids

    def __call__(self, input_ids, scores, **kw):
        import torch

        texts = self.tok.batch_decode(input_ids[:, self.prompt_len:], skip_special_tokens=True)
        return torch.tensor([ranking_complete(t, n) for t, n in zip(texts, self.n)], device=input_ids.device)


def ranking_complete(text: str, n: int) -> bool:
    """The stop rule: the answer after the reasoning names n distinct identifiers, or n + 2 in all."""
    ids = _ID.findall(answer_part(text))
    return len(set(ids)) >= n or len(ids) >= n + 2


def cut_at_ranking(text: str, n: int) -> str:
    """`text` up to the identifier where `ranking_complete` first holds (all of it when it never does)."""
    for m in _ID.finditer(text):
        if ranking_complete(text[:m.end()], n):
            return text[:m.end()]
    return text


class VLLMBackend:
    """Chat completions from vLLM (optional: ``pip install vllm`` on a GPU machine); the paper profile's backend."""

    def __init__(self, model: str, max_new_tokens: int = 1024, temperature: float = 0.0, seed: int = 0, lora_path: str | None = None,
                 max_model_len: int = 8192, top_p: float | None = None):
        try:
            from vllm import LLM, SamplingParams
        except ImportError:
            raise ImportError("the vLLM backend needs `pip install vllm` (a CUDA machine); use backend: transformers otherwise") from None
        self.llm = LLM(model=model, enable_lora=lora_path is not None, max_model_len=max_model_len, seed=seed)
        self.tok = self.llm.get_tokenizer()
        self.params = SamplingParams(temperature=temperature, max_tokens=max_new_tokens, seed=seed,
                                     **({"top_p": top_p} if top_p is not None else {}))
        self.lora = None
        if lora_path:
            from vllm.lora.request import LoRARequest

            self.lora = LoRARequest("stage2", 1, lora_path)
        self.context = max_model_len

    def count(self, messages: list[dict]) -> int:
        return len(prompt.chat_ids(messages, self.tok))

    def generate(self, prompts: list[list[dict]], n_ids: list[int] | None = None) -> list[str]:
        """Completions of `prompts`; with `n_ids`, each ends where its answer names its window's n identifiers (or
        n + 2), as `TransformersBackend`'s. vLLM's offline API takes no per-request stopping rule, so the tokens a
        model writes past its ranking (at most max_new_tokens) are generated and dropped, not spared."""
        outs = self.llm.chat(prompts, self.params, lora_request=self.lora, use_tqdm=False)
        texts = [o.outputs[0].text for o in outs]
        return [cut_at_ranking(t, n) for t, n in zip(texts, n_ids)] if n_ids else texts


class _AdapterOff:
    """A `TransformersBackend` over a peft model, generating with its adapter disabled (peft's `disable_adapter`):
    the base model's own computation, exactly, without a second copy of the model."""

    def __init__(self, backend: TransformersBackend):
        if not hasattr(backend.model, "disable_adapter"):
            raise TypeError("without_adapter needs a peft model (an unmerged adapter); this one has none to switch off")
        self.inner = backend

    def __getattr__(self, name):  # count, context, max_new_tokens, steering: the wrapped backend's
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def generate(self, prompts: list[list[dict]], n_ids: list[int] | None = None) -> list[str]:
        with self.inner.model.disable_adapter():
            return self.inner.generate(prompts, n_ids)


def without_adapter(backend):
    """The same backend and model with the Stage-2 adapter switched off: the zero-shot listwise base model, with
    the same prompt, decoding settings and parser. vLLM: the same engine without the LoRA request."""
    if isinstance(backend, VLLMBackend):
        from copy import copy

        off = copy(backend)  # shares the engine
        off.lora = None
        return off
    return _AdapterOff(backend)


QUANTIZE = ("int8",)  # stage2.inference.quantize's values besides null (float weights, as trained)


def quantize_linear(model, quantize: str | None):
    """`model` with every ``nn.Linear`` replaced, in place, by torch's dynamic int8 Linear (weights stored as int8,
    activations quantized per call): CPU generation is mostly decoding, one token at a time, where matrix products
    over float32 weights bound the speed. `quantize` None: `model` as it is. Refused off the CPU: torch's dynamic
    quantized kernels are CPU kernels."""
    import warnings

    import torch

    if quantize is None:
        return model
    if quantize not in QUANTIZE:
        raise ValueError(f"stage2.inference.quantize must be null or one of {QUANTIZE}, not {quantize!r}")
    device = next(model.parameters()).device
    if device.type != "cpu":
        raise ValueError(f"stage2.inference.quantize {quantize!r} quantizes for the CPU (torch's dynamic int8 kernels); "
                         f"the model is on {device}: set quantize: null there")
    with warnings.catch_warnings():  # torch.ao's eager quantization warns of its move to torchao, not installed here
        warnings.filterwarnings("ignore", message=r".*(torch\.ao\.quantization|torch\.quantize_per_tensor).* deprecated")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


def listwise_backends(peft_model, tokenizer, inference: dict, seed: int = 0) -> tuple[TransformersBackend, object, str]:
    """DeAR-L's backend and the zero-shot base's (system `listwise-zeroshot`), with the profile's `inference`
    settings, and a sentence saying how they generate.

    `quantize` null: the peft model unmerged, and the same model with its adapter switched off (`without_adapter`:
    the base's own computation, exactly, one copy in memory). `quantize` "int8" on the CPU: the adapter merged into
    a copy of the base (peft's `merge_and_unload`) and a copy of the base alone (peft's `unload`), each through
    `quantize_linear`; so the two still differ only in the adapter. Off the CPU the setting is skipped and said so.
    `peft_model` itself is left as it was.
    """
    import copy

    quantize = inference.get("quantize")
    kw = dict(max_new_tokens=inference["max_new_tokens"], temperature=inference["temperature"], batch_size=inference["batch_size"],
              seed=seed, constrained=inference["constrained"], top_p=inference.get("top_p"))
    device = next(peft_model.parameters()).device
    if quantize is not None and device.type != "cpu":
        note = f"quantize {quantize!r} skipped: dynamic int8 quantization is for the CPU, the model is on {device}"
        quantize = None
    else:
        note = ""
    if quantize is None:
        backend = TransformersBackend(peft_model.eval(), tokenizer, **kw)
        return backend, without_adapter(backend), note or "float weights; the adapter unmerged, switched off for the zero-shot base"
    from .training import release  # a copy must run its own weights, not a trainer's patch bound to the original

    merged = quantize_linear(release(copy.deepcopy(peft_model).merge_and_unload()), quantize)
    base = quantize_linear(release(copy.deepcopy(peft_model).unload()), quantize)
    return (TransformersBackend(merged, tokenizer, **kw), TransformersBackend(base, tokenizer, **kw),
            f"{quantize}: the adapter merged into the base, and the base alone, each with dynamic {quantize} Linear layers")


def make_backend(model: str, backend: str = "transformers", max_new_tokens: int = 1024, temperature: float = 0.0,
                 batch_size: int = 8, seed: int = 0, top_p: float | None = None):
    """A backend for a chat model by the kit's model names or a hub id: "transformers", or "vllm" (installed separately)."""
    if backend == "vllm":
        return VLLMBackend(model, max_new_tokens, temperature, seed, top_p=top_p)
    if backend != "transformers":
        raise ValueError(f"backend must be 'transformers' or 'vllm', not {backend!r}")
    import torch

    from ..core.models import load_tokenizer
    from .training import load_causal_lm

    tok = load_tokenizer(model)
    lm = load_causal_lm(model, tok, seed).to("cuda" if torch.cuda.is_available() else "cpu")
    return TransformersBackend(lm, tok, max_new_tokens, temperature, batch_size, seed, top_p=top_p)


def fit_prompt(window: prompt.Window, max_words: int, count, budget: int, messages=prompt.messages) -> tuple[list[dict], int, int]:
    """The window's prompt, cut passage by passage (longest first, whole words) until it has at most `budget` tokens.

    Identifiers and the instruction are never cut. Returns (messages, tokens, words cut). The released prompt shows a
    passage's title apart ("Title: ... Content: ..."), so it is first tried whole; once cut, a title reads as text.
    """
    if messages is prompt.released_messages:
        msgs = messages(window, max_words)
        n = count(msgs)
        if n <= budget:
            return msgs, n, 0
    words = [prompt.truncate_words(p.contents, max_words).split() for p in window.passages]
    cut = 0
    while True:
        w = replace(window, passages=[Passage(p.docid, " ".join(ws)) for p, ws in zip(window.passages, words)])
        msgs = messages(w, max_words)
        n = count(msgs)
        if n <= budget:
            return msgs, n, cut
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        if not words[longest]:
            raise ValueError(f"window of query {window.query.qid}: the prompt needs {n} tokens with every passage empty, "
                             f"over the budget of {budget}")
        drop = max(1, len(words[longest]) // 4)
        words[longest] = words[longest][:-drop]
        cut += drop


def _steering(backend, n: int) -> list[tuple[bool, bool]]:
    """(steered, reasoning cut) per answer of the backend's last call: all False unless it decoded under the grammar."""
    return getattr(backend, "steering", None) or [(False, False)] * n


def tally(ledger: Ledger, parsed, steered: bool = False, reasoning_cut: bool = False):
    """Count one answer: its parse outcome, what constrained decoding did to it, whether it was `ok on its own` (ok,
    neither steered nor cut: what the model wrote without the grammar's help) and whether it kept the input order."""
    ledger.add(parsed)
    ledger["answers steered"] += steered
    ledger["reasoning cut"] += reasoning_cut
    ledger["ok on its own"] += parsed.ok and not steered and not reasoning_cut
    ledger["input order kept"] += parsed.order == list(range(len(parsed.order)))
    return parsed


def heldout_check(backend, examples: list[dict]) -> dict:
    """The listwise model on held-out chat examples (`dearlib.stage2.training.split_examples`: notebook 03's last windows,
    never trained on): answers that parse, those `ok on its own`, those that keep the input order, and the mean
    Kendall tau between the model's order and the example's. The selection signal for Stage-2 settings: it never
    looks at DL19, DL20 or NovelEval."""
    from scipy.stats import kendalltau

    targets = []
    for e in examples:
        answer = e["completion"][0]["content"]
        targets.append(parse(answer, len(_ID.findall(answer_part(answer)))))  # the examples' answers are full permutations
    texts = backend.generate([e["prompt"] for e in examples], n_ids=[len(t.order) for t in targets])
    ledger = Ledger()
    got = [tally(ledger, parse(text, len(t.order)), *flags) for text, t, flags in zip(texts, targets, _steering(backend, len(texts)))]
    return {"windows": len(got), **{k: ledger[k] for k in ("ok", "ok on its own", "input order kept")},
            "kendall tau": round(sum(kendalltau(g.order, t.order).statistic for g, t in zip(got, targets)) / len(got), 3)}


class ListwiseReranker:
    """Reranks the top of each candidate list with a listwise model over sliding windows."""

    def __init__(self, backend, window: int = 20, step: int = 10, rank_end: int = 30, max_words: int = 300,
                 max_prompt_tokens: int | None = None, name: str = "listwise", passes: int = 1):
        if passes < 1:
            raise ValueError(f"passes must be at least 1 (got {passes})")
        self.backend, self.window, self.step, self.rank_end, self.max_words = backend, window, step, rank_end, max_words
        self.passes = passes  # sweeps from rank_end up to the top, each over the previous sweep's order
        self.budget = max_prompt_tokens or backend.context - getattr(backend, "max_new_tokens", 0)
        self.name = name
        self.reading = getattr(backend, "reading", "kit")  # how windows are prompted and answers parsed
        self.messages, self.parse = prompt.messages_for(self.reading), parser_for(self.reading)
        self.ledger = Ledger()
        self.records: list[WindowRecord] = []

    def rerank(self, candidates: list[Candidates], progress: bool = True) -> list[Candidates]:
        """Each list's top `rank_end` reordered window by window, `passes` times; the rest keep their order beneath."""
        lists = [list(c.passages) for c in candidates]
        plans = [[(p, s, e) for p in range(1, self.passes + 1) for s, e in sliding_windows(len(c), self.window, self.step, 0, self.rank_end)]
                 for c in candidates]  # a second pass starts again at the bottom, over the first pass's order
        rounds = max((len(p) for p in plans), default=0)
        bar = tqdm(total=sum(len(p) for p in plans), desc=f"{self.name} windows", disable=not progress)
        for k in range(rounds):  # the k-th window of every query in one batch
            todo = [(qi, plans[qi][k]) for qi in range(len(candidates)) if k < len(plans[qi])]
            prompts, meta = [], []
            for qi, (_, s, e) in todo:
                w = prompt.Window(f"{candidates[qi].query.qid}:{s}-{e}", candidates[qi].query, lists[qi][s:e])
                msgs, n, cut = fit_prompt(w, self.max_words, self.backend.count, self.budget, self.messages)
                prompts.append(msgs)
                meta.append((n, cut))
            answers = self.backend.generate(prompts, n_ids=[e - s for _, (_, s, e) in todo])
            for (qi, (pn, s, e)), msgs, text, (n, cut), (steered, reasoning_cut) in zip(todo, prompts, answers, meta,
                                                                                       _steering(self.backend, len(todo))):
                parsed = tally(self.ledger, self.parse(text, e - s), steered, reasoning_cut)
                if cut:
                    self.ledger["prompts truncated"] += 1
                # the parser's repaired order: an answer without identifiers keeps the input order, a partial one
                # keeps its first mentions and the rest follow in input order (RankGPT's rule)
                lists[qi][s:e] = [lists[qi][s + i] for i in parsed.order]
                self.records.append(WindowRecord(candidates[qi].query.qid, s, e, parsed.outcome, n, cut, steered, reasoning_cut, text, pn,
                                                 msgs[-1]["content"]))
            bar.update(len(todo))
        bar.close()
        out = []
        for c, ps in zip(candidates, lists):
            out.append(Candidates(c.query, tuple(ps), tuple(float(len(ps) - i) for i in range(len(ps)))))
        return out


def cascade(bm25: list[Candidates], stage1, stage1_depth: int, stage2: ListwiseReranker | None, progress: bool = True,
            stage1_lists: list[Candidates] | None = None) -> dict:
    """BM25 -> Stage 1 (a pointwise scorer over the top `stage1_depth`) -> Stage 2 (listwise over Stage 1's top).

    Returns each stage's ranked lists and its wall-clock seconds: {"bm25": ..., "stage1": ..., "stage2": ..., "seconds": {...}}.
    `stage1_lists`: Stage 1's lists of `bm25` already scored (notebook 02's), taken as they are (0 seconds here).
    """
    from ..stage1.rerank import rerank

    out = {"bm25": bm25, "seconds": {}}
    t0 = time.time()
    out["stage1"] = rerank(stage1, bm25, stage1_depth, progress=progress) if stage1_lists is None else stage1_lists
    out["seconds"]["stage1"] = time.time() - t0
    if stage2 is not None:
        t0 = time.time()
        out["stage2"] = stage2.rerank(out["stage1"], progress=progress)
        out["seconds"]["stage2"] = time.time() - t0
    return out
