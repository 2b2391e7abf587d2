"""The Stage-2 prompt: a window of candidates and the listwise chat messages that ask a model to rank it.

A `Window` is one query with 10-20 candidate passages (and, where known, the teacher's scores and relevance labels).
`messages` renders it as RankGPT's listwise prompt with DeAR's three reasoning steps, passages cut to `max_words`
words: the kit's own prompt, which asks for the reasoning inside ``<think></think>`` and then the ranking. The same
prompt serves the generation of the chain-of-thought data (`cot`) and listwise inference (`listwise`).

The released reading (the authors' released inference, DataScienceUIBK/DeAR-Reranking `run_listwise.sh`, which runs
`listwise_rerank/main.py --client hf`): `released_messages` is `listwise_rerank/prompts.py`'s multi-turn
conversation ("You are RankLLM ...", one ``[i] passage`` user turn and one ``Received passage [i].`` assistant
turn per passage, then the steps and "Only output the ranking using identifiers; no explanations."), and
`render_released` turns it into the one string the model reads as `listwise_rerank/clients.py`'s `_render` does:
the tokenizer's chat template when it has one (Llama-3.1-8B-Instruct does), else plain ``[SYSTEM] ...`` /
``[USER] ...`` / ``[ASSISTANT] ...`` lines. That string is then tokenised with the tokenizer's own special tokens
(`released_ids`): under a chat template that begins with the BOS, the model reads two.
It does not parse answers (that is `permutation`) or call any model.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core.records import Passage, Query

SYSTEM = "You are RankGPT, an intelligent assistant that can rank passages based on their relevancy to the query."
INSTRUCTION = (
    "I will provide you with {n} passages, each indicated by a numerical identifier []. Rank the passages based on "
    "their relevance to the search query: {query}\n"
    "First think step by step inside <think></think>: (1) list the information requirements of the query; "
    "(2) find the passages that contain each requirement; (3) rank the passages that cover the requirements best. "
    "Then answer with the ranking of all {n} passages in descending order of relevance, using their identifiers, "
    "e.g. [2] > [1] > [3]. Include every passage exactly once."
)

@dataclass
class Window:
    wid: str
    query: Query
    passages: list[Passage]
    teacher: list[float] | None = None
    labels: list[int] | None = None


def truncate_words(text: str, max_words: int) -> str:
    words = text.split()
    return text if len(words) <= max_words else " ".join(words[:max_words])


def prompt_parts(window: Window, max_words: int) -> tuple[str, str]:
    """(instruction, input) for a window; passages are cut to `max_words` words (DeAR: 300)."""
    instruction = INSTRUCTION.format(n=len(window.passages), query=window.query.text)
    body = "\n".join(f"[{i}] {truncate_words(p.contents, max_words)}" for i, p in enumerate(window.passages, 1))
    return instruction, f"{body}\n\nSearch Query: {window.query.text}"


def messages(window: Window, max_words: int) -> list[dict]:
    instruction, inp = prompt_parts(window, max_words)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"{instruction}\n\n{inp}"}]


# ------------------------------------------------------------------ the released reading (listwise_rerank/prompts.py)
RELEASED_SYSTEM = "You are RankLLM, an assistant that ranks passages by relevance to the query."
RELEASED_PREFIX = ("I will provide you with {n} passages, each indicated by number identifier [].\n"
                   "Rank the passages based on their relevance to query: {query}.")
RELEASED_READY = "Okay, please provide the passages."
RELEASED_POST = (
    "Search Query: {query}.\n"
    "Rank the {n} passages above based on their relevance to the search query. "
    "The passages should be listed in descending order using identifiers.\n"
    "Please follow the steps below:\n"
    "Step 1. List the information requirements to answer the query.\n"
    "Step 2. For each requirement, find the passages containing that information.\n"
    "Step 3. Rank passages that best cover clear and diverse information. Include all passages.\n"
    "Output format strictly: [2] > [1] > [3] ... Only output the ranking using identifiers; no explanations."
)


def released_passage(passage: Passage, max_words: int) -> str:
    """A passage as the released pipeline shows it: ``Title: {title} Content: {text}`` when it has a title (the
    hits' content, `pointwise_reranker/convert_trec_to_json.py`), its whitespace collapsed, the first `max_words`
    words (`max_passage_tokens`, counted in words)."""
    content = f"Title: {passage.title} Content: {passage.text}" if passage.title else passage.text
    content = " ".join(content.split()).replace("Title: Content: ", "").strip()
    return " ".join(content.split()[:max_words])


def released_messages(window: Window, max_words: int) -> list[dict]:
    """The released multi-turn conversation for a window (`listwise_rerank/prompts.py`, `build_messages`)."""
    n, q = len(window.passages), window.query.text
    msgs = [{"role": "system", "content": RELEASED_SYSTEM},
            {"role": "user", "content": RELEASED_PREFIX.format(n=n, query=q)},
            {"role": "assistant", "content": RELEASED_READY}]
    for i, p in enumerate(window.passages, 1):
        msgs.append({"role": "user", "content": f"[{i}] {released_passage(p, max_words)}"})
        msgs.append({"role": "assistant", "content": f"Received passage [{i}]."})
    msgs.append({"role": "user", "content": RELEASED_POST.format(n=n, query=q)})
    return msgs


ROLE_TAGS = {"system": "[SYSTEM]", "user": "[USER]", "assistant": "[ASSISTANT]"}


def render_released(msgs: list[dict], tokenizer) -> str:
    """The prompt string `listwise_rerank/clients.py`'s `_render` builds: the chat template with the generation
    prompt when the tokenizer has a template and it renders, else one ``[ROLE] content`` line per message."""
    if getattr(tokenizer, "chat_template", None):
        try:
            return tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        except Exception:  # as the released client: a template that fails falls back to the plain lines
            pass
    return "\n".join(f"{ROLE_TAGS[m['role']]} {m['content']}" for m in msgs if m["role"] in ROLE_TAGS)


def chat_ids(msgs: list[dict], tokenizer) -> list[int]:
    """The token ids of the kit's prompt: the tokenizer's chat template with the generation prompt."""
    return tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]


def released_ids(msgs: list[dict], tokenizer) -> list[int]:
    """The token ids the released client feeds the model: the rendered string tokenised with the tokenizer's own
    special tokens (`tokenizer(prompt)`, clients.py `chat`)."""
    return tokenizer(render_released(msgs, tokenizer))["input_ids"]


def messages_for(reading: str):
    """The messages function of a reading: "kit" (`messages`) or "released" (`released_messages`)."""
    if reading not in ("kit", "released"):
        raise ValueError(f"reading must be 'kit' or 'released', not {reading!r}")
    return released_messages if reading == "released" else messages
