"""Parse a listwise model's ranking, ``[3] > [1] > [2] ...``, into a full permutation, and say what was wrong.

One parser serves the Stage-2 data (validating generated examples) and the Stage-2 reranker (reading the model's
output). Rules:
- the answer is what follows the LAST ``</think>`` (the reasoning may mention passages in any order, and a chat
  template may have opened ``<think>`` in the prompt, so the completion holds only its close); with no ``</think>``,
  the whole text, unless it opens a ``<think>`` it never closes (the model never got to its answer);
- the ranking is the answer's longest ``[a] > [b] > ...`` chain (the last of equal ones): identifiers in prose
  around it (``Passage [3] is best. Ranking: [1] > [2] > [3]``) are not read as a ranking; an answer without any
  ``>`` is read identifier by identifier;
- an identifier is what constrained decoding (`dearlib.stage2.constrained`) can write: ASCII digits without a
  leading zero in brackets (``[0]`` is read, and is out of range); ``[02]`` or a full-width ``[２]`` is no identifier;
- an identifier out of 1..n is rejected; a repeated one is dropped after its first place; the missing ones are
  appended in input order. Every output yields a permutation, so a bad completion never crashes a run.

RankGPT (sunnweiwei/RankGPT, rank_gpt.py, `receive_permutation`) and rank_llm read every digit of the response and
repair the same way, silently; here each answer's outcome goes into the ledger, so a repaired answer is counted,
never passed off as the model's ranking. Outcomes, in order of precedence: ``wrong format`` (no identifier at
all), ``out of range``, ``repetition``, ``missing identifiers``, ``ok`` (a full permutation, nothing repaired).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_NUMBER = r"(?:0|[1-9][0-9]*)"  # constrained decoding's identifiers: ASCII digits, no leading zero ([0] is read, out of range)
_ID = re.compile(rf"\[({_NUMBER})\]")
_CHAIN = re.compile(rf"\[{_NUMBER}\](?:\s*>\s*\[{_NUMBER}\])*")  # identifiers joined by `>`: a ranking
OUTCOMES = ("ok", "wrong format", "out of range", "repetition", "missing identifiers")


@dataclass(frozen=True)
class Parsed:
    order: list[int]  # 0-based positions into the window, best first; always a full permutation of range(n)
    outcome: str  # one of OUTCOMES
    found: int  # identifiers read in the answer, before repairs

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def ranking_text(order: list[int]) -> str:
    """The answer format the prompt asks for: 1-based identifiers joined by ' > '."""
    return " > ".join(f"[{i + 1}]" for i in order)


def answer_part(text: str) -> str:
    """The text after the reasoning: what follows the last ``</think>``; with none, everything unless an unclosed
    ``<think>`` opens (then no answer was written)."""
    text = text or ""
    head, close, tail = text.rpartition("</think>")
    answer = tail if close else text
    return "" if "<think>" in answer else answer


def _ranking_ids(answer: str) -> list[int]:
    """The identifiers of the answer's ranking: its longest `>`-chain, the last of equal ones."""
    chains = [_ID.findall(m.group()) for m in _CHAIN.finditer(answer)]
    best = max(reversed(chains), key=len, default=[])
    if len(best) < 2:  # no `>` at all: every identifier, in order (`[2] [1] [3]`, or a one-passage answer)
        best = [i for c in chains for i in c]
    return [int(i) for i in best]


def parse(text: str, n: int) -> Parsed:
    return _repaired(_ranking_ids(answer_part(text)), n)


def _repaired(ids: list[int], n: int) -> Parsed:
    """The 1-based identifiers read from an answer as a full permutation of range(n), with the outcome."""
    if not ids:
        return Parsed(list(range(n)), "wrong format", 0)
    seen: list[int] = []
    out_of_range = repeated = False
    for i in ids:
        if not 1 <= i <= n:
            out_of_range = True
        elif i - 1 in seen:
            repeated = True
        else:
            seen.append(i - 1)
    missing = [i for i in range(n) if i not in seen]
    outcome = ("out of range" if out_of_range else "repetition" if repeated
               else "missing identifiers" if missing else "ok")
    return Parsed(seen + missing, outcome, len(ids))


class Ledger(Counter):
    """Counts of parse outcomes (and anything else worth counting, e.g. truncated prompts)."""

    def add(self, parsed: Parsed) -> Parsed:
        self[parsed.outcome] += 1
        return parsed

    def rate(self, outcome: str = "ok") -> float:
        total = sum(self[o] for o in OUTCOMES)
        return self[outcome] / total if total else 0.0


# ------------------------------------------------------------- the released reading's parser (appended, stands apart)
_AFTER_THINK = re.compile(r"</think>\s*(.*)", re.DOTALL | re.IGNORECASE)
_DIGITS = re.compile(r"\d+")  # the released parser reads every run of digits


def parse_released(text: str, n: int) -> Parsed:
    """The authors' released parser (DataScienceUIBK/DeAR-Reranking, `listwise_rerank/prompts.py`:
    `extract_after_think`, then `parse_ranking_to_indices`), with the kit's outcomes.

    What follows the first ``</think>`` (any case), or the whole text when there is none (an unclosed ``<think>``
    block's numbers count too); every run of digits is an identifier, bracketed or bare ("3 1 2" reads as
    [3] > [1] > [2]); those outside 1..n are dropped, repeats keep their first place, the missing follow in input
    order. The order is the released code's; the outcome is `parse`'s rule on the same numbers, counted in the same
    `Ledger`.
    """
    m = _AFTER_THINK.search(text or "")
    answer = m.group(1).strip() if m else (text or "").strip()
    return _repaired([int(x) for x in _DIGITS.findall(answer)], n)


def parser_for(reading: str):
    """The parser of a reading: "kit" (`parse`) or "released" (`parse_released`)."""
    if reading not in ("kit", "released"):
        raise ValueError(f"reading must be 'kit' or 'released', not {reading!r}")
    return parse_released if reading == "released" else parse
