"""Watching the window loop: the sliding windows drawn, and one query walked through the real loop by an oracle.

A listwise model reads one window of candidates at a time; `dearlib.stage2.listwise.sliding_windows` decides which ranks
each window covers, from the bottom of the reranked range up, so a relevant passage can climb window by window.
This module makes that visible without any trained model:

- `draw_windows`: the windows of given (rank_end, window, step) settings, in the order the loop processes them;
- `OracleBackend`: a transparent listwise "model" with the backend interface of `dearlib.stage2.listwise.ListwiseReranker`
  (`generate`, `count`, `context`): it reads the prompt the model would read, looks up each passage's judged
  grade (qrels; unjudged counts as 0) and answers ``<think>...</think> [i] > [j] > ...`` by grade, ties in input
  order. It knows the passages by their text only, so two identical texts get the higher of their grades;
- `walk`: one query reranked by `ListwiseReranker` itself with the oracle, and the position of each relevant
  passage after every window (replayed from the reranker's window records and checked against its output), over
  one pass of the window or more (`passes`);
- `pick_query`: a query of a set where a relevant passage starts below the top window and climbs (in the last pass);
- `by_pass`: a walk's ranks before the loop and at the end of each pass, side by side; `moved_by_last_pass`: the
  queries of a set where the last pass moves a relevant passage;
- `draw_walk`: those positions drawn window by window.

It trains nothing and evaluates nothing (the oracle's nDCG is not a system of the kit).
"""
from __future__ import annotations

import re

import pandas as pd
from matplotlib.figure import Figure

from ..core.records import Candidates, Dataset
from .listwise import ListwiseReranker, sliding_windows
from .permutation import parse, ranking_text

_LINE = re.compile(r"^\[(\d+)\] ?(.*)$")
_QUERY = "\nSearch Query: "  # the prompt's last line (`dearlib.stage2.cot.prompt_parts`)
READABLE = 4  # relevant passages a walk's drawing shows legibly


def _words(text: str, max_words: int) -> str:
    """A passage as the prompt shows it: its first `max_words` words joined by single spaces."""
    return " ".join(text.split()[:max_words])


class OracleBackend:
    """Orders each window by the judged grades of its passages; a backend for `ListwiseReranker`.

    `candidates` and `qrels` say which passages it may be shown and their grades; `max_words` must be the
    reranker's, so the oracle reads passages cut as the prompt cuts them.
    """

    max_new_tokens = 0  # an answer costs the prompt no room

    def __init__(self, candidates: list[Candidates], qrels: dict[str, dict[str, int]], max_words: int = 300):
        self.grades: dict[str, dict[str, int]] = {}  # query text -> passage text in the prompt -> grade
        for c in candidates:
            judged = qrels.get(c.query.qid, {})
            table = self.grades.setdefault(c.query.text, {})
            for p in c.passages:
                key = _words(p.contents, max_words)
                table[key] = max(table.get(key, 0), judged.get(p.docid, 0))
        self.context = 10 ** 9  # never cut a prompt: the oracle matches passages by their whole shown text
        self.answers: list[str] = []

    def count(self, messages: list[dict]) -> int:
        return sum(len(m["content"].split()) for m in messages)  # whitespace tokens stand in for a tokenizer

    def window_grades(self, prompt: str) -> list[int]:
        """The grades of the passages a prompt shows, in its order; an unknown query or passage is an error."""
        head, _, query = prompt.rpartition(_QUERY)
        if query not in self.grades:
            raise ValueError(f"oracle: the query {query!r} is not among the candidates it was given")
        lines = [m for m in map(_LINE.match, head.splitlines()) if m]
        out = []
        for i, m in enumerate(lines, 1):
            if int(m.group(1)) != i:
                raise ValueError(f"oracle: passage identifier [{m.group(1)}] where [{i}] was expected (query {query!r})")
            text = " ".join(m.group(2).split())
            if text not in self.grades[query]:
                raise ValueError(f"oracle: passage [{i}] of query {query!r} is not one of its candidates as shown "
                                 f"(a prompt cut to fit the context? {text[:60]!r})")
            out.append(self.grades[query][text])
        return out

    def answer(self, prompt: str) -> str:
        grades = self.window_grades(prompt)
        order = sorted(range(len(grades)), key=lambda i: -grades[i])  # stable: ties keep the input order
        think = "grades from the qrels: " + ", ".join(f"[{i + 1}] {g}" for i, g in enumerate(grades))
        return f"<think>{think}</think>\n{ranking_text(order)}"

    def generate(self, prompts: list[list[dict]], n_ids: list[int] | None = None) -> list[str]:
        out = [self.answer(p[-1]["content"]) for p in prompts]
        self.answers += out
        return out


def walk(candidates: Candidates, grades: dict[str, int], rank_end: int = 20, window: int = 8, step: int = 4,
         min_grade: int = 1, max_words: int = 300, passes: int = 1) -> pd.DataFrame:
    """One query through `ListwiseReranker` with the oracle: a row before the loop (window 0) and one per window
    (of every pass, in order), with the ranks it covered and the 1-based rank of every passage of grade >=
    `min_grade` in the top `rank_end`."""
    qid = candidates.query.qid
    reranker = ListwiseReranker(OracleBackend([candidates], {qid: grades}, max_words), window, step, rank_end, max_words, name="oracle",
                                passes=passes)
    [final] = reranker.rerank([candidates], progress=False)
    order = [p.docid for p in candidates.passages]
    tracked = [d for d in order[:rank_end] if grades.get(d, 0) >= min_grade]
    names = {d: f"{d} (grade {grades.get(d, 0)})" for d in tracked}

    def row(k: int, ranks: str) -> dict:
        return {"window": k, "ranks": ranks, **{names[d]: order.index(d) + 1 for d in tracked}}

    rows = [row(0, "before")]
    for k, rec in enumerate(reranker.records, 1):  # replay each window's answer on the list, as the loop applied it
        parsed = parse(rec.completion, rec.end - rec.start)
        order[rec.start:rec.end] = [order[rec.start + i] for i in parsed.order]
        rows.append(row(k, f"{rec.start + 1}-{rec.end}"))
    if order != [p.docid for p in final.passages]:
        raise RuntimeError(f"query {qid}: the replayed windows do not give the reranker's final order")
    table = pd.DataFrame(rows)
    table.attrs.update(qid=qid, query=candidates.query.text, rank_end=rank_end, window=window, step=step, passes=passes,
                       per_pass=len(reranker.records) // passes)
    return table


def pass_ends(table: pd.DataFrame) -> list[int]:
    """The walk's row indices at the end of each pass (row 0: before the loop)."""
    return [p * table.attrs["per_pass"] for p in range(1, table.attrs["passes"] + 1)]


def climb(table: pd.DataFrame, last_pass: bool = False) -> int:
    """The most ranks any tracked passage rose from before the loop to after it, or over the last pass only
    (0: none rose)."""
    cols = table.columns[2:]
    since = ([0] + pass_ends(table))[-2] if last_pass else 0
    return max((int(table[c].iloc[since] - table[c].iloc[-1]) for c in cols), default=0)


def by_pass(table: pd.DataFrame) -> pd.DataFrame:
    """Each tracked passage's rank before the loop and at the end of each pass of a walk."""
    rows = [0] + pass_ends(table)
    out = table[table.columns[2:]].iloc[rows].T
    out.columns = ["before"] + [f"after pass {p}" for p in range(1, len(rows))]
    return out


def moved_by_last_pass(ds: Dataset, rank_end: int = 20, window: int = 8, step: int = 4, min_grade: int | None = None,
                       passes: int = 2) -> list[str]:
    """The query ids of `ds` where the oracle's last pass changes the rank of a passage of grade >= `min_grade`."""
    min_grade = ds.min_rel if min_grade is None else min_grade
    out = []
    for c in ds.candidates:
        ranks = by_pass(walk(c, ds.qrels.get(c.query.qid, {}), rank_end, window, step, min_grade, passes=passes))
        if len(ranks) and (ranks.iloc[:, -2] != ranks.iloc[:, -1]).any():
            out.append(c.query.qid)
    return out


def pick_query(ds: Dataset, rank_end: int = 20, window: int = 8, step: int = 4, min_grade: int | None = None,
               passes: int = 1) -> Candidates:
    """A query of `ds` with a relevant passage below the top window that climbs in the oracle's walk (in its
    last pass): the one that climbs furthest, preferring a drawing of at most `READABLE` passages (first in file
    order on a tie); an error when no query has one."""
    min_grade = ds.min_rel if min_grade is None else min_grade
    best, best_key = None, (False, 0)
    for c in ds.candidates:
        grades = ds.qrels.get(c.query.qid, {})
        if not any(grades.get(p.docid, 0) >= min_grade for p in c.passages[window:rank_end]):
            continue
        table = walk(c, grades, rank_end, window, step, min_grade, passes=passes)
        key = (len(table.columns) - 2 <= READABLE, climb(table, last_pass=True))
        if key[1] > 0 and key > best_key:
            best, best_key = c, key
    if best is None:
        raise ValueError(f"{ds.name}: no query has a passage of grade >= {min_grade} between ranks {window + 1} and "
                         f"{rank_end} that climbs{' in pass %d' % passes if passes > 1 else ''} (try a deeper rank_end or another set)")
    return best


def draw_windows(settings: dict[str, tuple[int, int, int]]) -> Figure:
    """One panel per setting name -> (rank_end, window, step): each window as a bar over the ranks it covers
    (rank 1 at the top), left to right in the order the loop processes them."""
    fig = Figure(figsize=(3.2 * len(settings), 3.6), layout="constrained")
    axes = fig.subplots(1, len(settings), squeeze=False)[0]
    for ax, (label, (rank_end, window, step)) in zip(axes, settings.items()):
        spans = sliding_windows(rank_end, window, step, 0, rank_end)
        for k, (s, e) in enumerate(spans, 1):
            ax.bar(k, e - s, bottom=s + 0.5, width=0.6, color="#2ca02c", alpha=0.35 + 0.5 * k / len(spans), edgecolor="black")
            ax.annotate(f"{s + 1}-{e}", (k, (s + e) / 2 + 0.5), ha="center", va="center", fontsize=8)
        ax.set_xticks(range(1, len(spans) + 1))
        ax.set_xlim(0.4, max(len(spans), 2) + 0.6)
        ax.set_ylim(rank_end + 0.5, 0.5)  # rank 1 at the top
        ax.set_yticks(sorted({r for s, e in spans for r in (s + 1, e)}))  # the windows' first and last ranks
        ax.set_xlabel("window, in the order processed")
        ax.set_ylabel("rank")
        ax.set_title(f"{label}: top {rank_end}, window {window}, step {step}", fontsize=9)
    return fig


def draw_walk(table: pd.DataFrame) -> Figure:
    """The walk's tracked passages, rank after each window (0: before the loop), over the ranks each window covered."""
    a = table.attrs
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    for k, ranks in zip(table["window"], table["ranks"]):
        if k:
            s, e = map(int, ranks.split("-"))
            ax.bar(k, e - s + 1, bottom=s - 0.5, width=0.5, color="#cccccc", zorder=0)
    for end in pass_ends(table)[:-1]:  # where a new pass starts again at the bottom
        ax.axvline(end + 0.5, color="black", linestyle=":", linewidth=1)
    for col in table.columns[2:]:
        ax.plot(table["window"], table[col], marker="o", label=col)
    ax.set_ylim(a["rank_end"] + 0.5, 0.5)
    ax.set_yticks([1, *range(5, a["rank_end"] + 1, 5)])
    ax.set_xticks(table["window"], ["before"] + [f"{k}\n{r}" for k, r in zip(table["window"][1:], table["ranks"][1:])])
    ax.set_xlabel("after window (ranks it covered, grey)")
    ax.set_ylabel("rank")
    passes = f", {a['passes']} passes (dotted: a new pass)" if a.get("passes", 1) > 1 else ""
    ax.set_title(f"query {a['qid']}: {a['query'][:60]}\nwindow {a['window']}, step {a['step']}, top {a['rank_end']}{passes}", fontsize=9)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5), title="relevant passage")
    return fig
