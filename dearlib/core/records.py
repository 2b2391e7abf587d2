"""Small typed records passed between the stages of the kit.

A `Query` is what a user asked; a `Passage` is a piece of text a retriever can return; `Candidates` is one
query's ranked list (what BM25 hands to Stage 1, and Stage 1 to Stage 2); a `Dataset` bundles the candidates
of every query with their relevance judgements (qrels). Runs and qrels are plain nested dicts, in the shape
trec_eval, pytrec_eval and ir_measures use: ``{qid: {docid: score}}`` and ``{qid: {docid: grade}}``.

These records hold data only; loading lives in `dearlib.retrieval.data`, file formats in `dearlib.retrieval.trec`,
scoring in `dearlib.evaluation.metrics`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

Run = dict[str, dict[str, float]]  # {qid: {docid: score}}; a higher score ranks higher
Qrels = dict[str, dict[str, int]]  # {qid: {docid: relevance grade}}


@dataclass(frozen=True)
class Query:
    """A query; its text may not be empty: no ranker can rank for it, and keeping its candidates' order silently
    would score a ranking nobody made."""

    qid: str
    text: str

    def __post_init__(self):
        if not self.text or not self.text.strip():
            raise ValueError(f"query {self.qid}: the query text is empty")


@dataclass(frozen=True)
class Passage:
    docid: str
    text: str
    title: str = ""

    @property
    def contents(self) -> str:
        """Title and text as one string, the way DeAR and RankGPT show a passage to a model."""
        return f"{self.title} {self.text}".strip() if self.title else self.text


@dataclass(frozen=True)
class Candidates:
    """One query's candidate passages, best first, with the score of the stage that ranked them.

    A score must be a finite number: a NaN compares false with everything, so a sort by it, and trec_eval's,
    leaves an order nobody ranked (a run with a NaN score evaluates to nDCG@10 = 1.0)."""

    query: Query
    passages: tuple[Passage, ...]
    scores: tuple[float, ...]

    def __post_init__(self):
        if not self.passages:
            raise ValueError(f"query {self.query.qid}: the candidate list is empty")
        if len(self.passages) != len(self.scores):
            raise ValueError(f"query {self.query.qid}: {len(self.passages)} passages but {len(self.scores)} scores")
        seen: dict[str, Passage] = {}
        for p in self.passages:
            if p.docid in seen:
                raise ValueError(f"query {self.query.qid}: docid {p.docid} appears twice in the candidate list")
            seen[p.docid] = p
        for p, s in zip(self.passages, self.scores):
            if not math.isfinite(s):
                raise ValueError(f"query {self.query.qid}: docid {p.docid} has the score {s}, not a finite number")

    def __len__(self) -> int:
        return len(self.passages)

    def top(self, k: int) -> "Candidates":
        return replace(self, passages=self.passages[:k], scores=self.scores[:k])

    def reranked(self, scores: list[float]) -> "Candidates":
        """The same passages ordered by new scores (a stable sort, so ties keep the input order)."""
        order = sorted(range(len(self)), key=lambda i: -scores[i])
        return replace(self, passages=tuple(self.passages[i] for i in order), scores=tuple(float(scores[i]) for i in order))


def to_run(candidates: list[Candidates], by: str = "rank") -> Run:
    """A run from ranked lists.

    by="rank" scores each passage by its position (n, n-1, ..., 1), so trec_eval sees exactly the list's order
    (trec_eval re-sorts by score and breaks ties by docid, which would silently reorder tied scores);
    by="score" keeps the stage's own scores, as the published BM25 runs do.
    """
    if by not in ("rank", "score"):
        raise ValueError(f"by must be 'rank' or 'score', not {by!r}")
    run: Run = {}
    for c in candidates:
        if c.query.qid in run:
            raise ValueError(f"query {c.query.qid} has two candidate lists")
        n = len(c)
        run[c.query.qid] = {
            p.docid: (float(n - i) if by == "rank" else float(s)) for i, (p, s) in enumerate(zip(c.passages, c.scores))
        }
    return run


@dataclass
class Dataset:
    """An evaluation set: each query's candidates (in first-stage order) and the qrels they are judged by."""

    name: str
    candidates: list[Candidates]
    qrels: Qrels
    min_rel: int = 1  # the lowest grade that counts as relevant for binary measures (MAP, MRR, recall)
    notes: dict = field(default_factory=dict)

    @property
    def queries(self) -> list[Query]:
        return [c.query for c in self.candidates]

    @property
    def judged_without_candidates(self) -> list[str]:
        """Judged query ids that have no candidate list: no ranking can find their relevant passages."""
        ranked = {c.query.qid for c in self.candidates}
        return sorted(q for q in self.qrels if q not in ranked)

    def subset(self, n_queries: int | None = None, depth: int | None = None) -> "Dataset":
        """The first `n_queries` queries cut to their top `depth` candidates (None keeps all): a profile's slice."""
        cands = self.candidates[:n_queries] if n_queries else self.candidates
        if depth:
            cands = [c.top(depth) for c in cands]
        kept = {c.query.qid for c in cands}
        return replace(self, candidates=cands, qrels={q: r for q, r in self.qrels.items() if q in kept})
