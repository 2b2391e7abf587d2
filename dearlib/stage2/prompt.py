"""The Stage-2 prompt: a window of candidates and the listwise chat messages that ask a model to rank it.

A `Window` is one query with 10-20 candidate passages (and, where known, the teacher's scores and relevance labels).
`messages` renders it as RankGPT's listwise prompt with DeAR's three reasoning steps, passages cut to `max_words`
words. The same prompt serves the generation of the chain-of-thought data (`cot`) and listwise inference
(`listwise`). It does not parse answers (that is `permutation`) or call any model.
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
