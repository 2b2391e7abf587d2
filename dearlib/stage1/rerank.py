"""Rerank candidate lists with a pointwise scorer: the Stage-1 student, or the teacher.

A *scorer* is anything with ``score_pairs(queries, passages, progress) -> list[float]``: `Scorer` wraps a
sequence-classification model (batches sorted by length, so little padding, under inference mode), and the
teachers of `dearlib.stage1.teacher` have the same method. `rerank` rescores the top `depth` of each list and stops
at a non-finite score, naming the query. `evaluate_reranker` is the one evaluate-and-write step of notebooks 02
and 06 and scripts/stage1_budget.py: rerank, score with `dearlib.evaluation.metrics` (and `dearlib.evaluation.qa` Top-k for NQ), write
the result file. `side_by_side` shows one query's top passages under several rankings. `save_rankings` keeps a student's ranked lists
beside its identity (a hash of its weights) and depth, and `load_rankings` gives them back only for the same student and
depth: notebook 04's cascade starts from notebook 02's lists instead of scoring them again.
It does not train (`dearlib.stage1.training`) and computes no measure itself (`dearlib.evaluation.metrics`, `dearlib.evaluation.qa`).
"""
from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..core import atomic, readers
from ..core.records import Candidates, Qrels, to_run
from ..retrieval.candidates import read_hits, write_hits
from ..evaluation import metrics, qa, results
from ..evaluation.metrics import Evaluation
from .pairs import PairEncoder, ReleasedPairEncoder


class Scorer:
    """Scores (query, passage) pairs with a sequence-classification model, in length-sorted batches."""

    def __init__(self, model, encoder: PairEncoder | ReleasedPairEncoder, batch_size: int = 32, name: str = "student"):
        self.model, self.encoder, self.batch_size, self.identity = model, encoder, batch_size, name

    @torch.inference_mode()
    def score_pairs(self, queries: list[str], passages: list, progress: bool = False) -> list[float]:
        self.model.eval()
        rows = [self.encoder.ids(q, p) for q, p in zip(queries, passages)]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))  # similar lengths together: little padding
        out = [0.0] * len(rows)
        device = next(self.model.parameters()).device
        for s in tqdm(range(0, len(order), self.batch_size), desc=f"scoring ({self.identity})", disable=not progress):
            idx = order[s:s + self.batch_size]
            batch = {k: v.to(device) for k, v in self.encoder.pad([rows[i] for i in idx]).items()}
            for i, v in zip(idx, self.model(**batch).logits.squeeze(-1).float().tolist()):
                out[i] = v
        return out


def rerank(scorer, candidates: list[Candidates], depth: int, progress: bool = True) -> list[Candidates]:
    """Rescore the top `depth` candidates of each query with `scorer`; those below keep their order beneath."""
    qs, ps = [], []
    for c in candidates:
        for p in c.passages[:depth]:
            qs.append(c.query.text)
            # a Scorer's encoder takes the passage whole (the released reading reads its title and text apart)
            ps.append(p if isinstance(scorer, Scorer) else p.contents)
    scores = scorer.score_pairs(qs, ps, progress=progress)
    out, at = [], 0
    for c in candidates:
        k = min(depth, len(c))
        bad = [(p.docid, v) for p, v in zip(c.passages, scores[at:at + k]) if not math.isfinite(v)]
        if bad:  # a NaN sorts arbitrarily: the ranking (and every metric after it) would be silently wrong
            raise ValueError(f"query {c.query.qid}: the scorer {getattr(scorer, 'identity', type(scorer).__name__)!r} "
                             f"gave non-finite scores {bad[:3]} (docid, score)")
        head = c.top(k).reranked(scores[at:at + k])
        at += k
        low = min(head.scores) if head.scores else 0.0
        # below the reranked head, the rest keep BM25's order with scores under the head's lowest
        tail = [low - 1 - i for i in range(len(c) - k)]
        out.append(Candidates(c.query, head.passages + c.passages[k:], head.scores + tuple(tail)))
    return out


def evaluate_reranker(system: str, reranker, candidates: list[Candidates], qrels: Qrels, min_rel: int, depth: int, *,
                      results_dir=None, cfg: dict | None = None, dataset: str | None = None,
                      answers: dict[str, tuple[str, ...]] | None = None, progress: bool = True,
                      **provenance) -> tuple[Evaluation, float, list[Candidates]]:
    """Rerank `candidates` (reranker None: keep their order), evaluate, and write the result file.

    The measures are `metrics.measures_for(min_rel, depth)` against `qrels` cut to the queries of `candidates` (the
    queries a profile kept); with `answers` ({qid: answer strings}, NQ) Top-1/5/20 are merged in. With
    `results_dir`, writes results/<profile>/<dataset>/<system>.json (needs `cfg` and `dataset`) with the depth,
    seconds per query and `provenance` in its provenance. Returns the Evaluation, seconds per query and the ranking.
    """
    started, t0 = results.now(), time.time()
    ranked = rerank(reranker, candidates, depth, progress) if reranker is not None else candidates
    seconds = (time.time() - t0) / len(ranked)
    unjudged = [c.query.qid for c in ranked if c.query.qid not in qrels]
    if unjudged:
        raise ValueError(f"{system}: queries {unjudged[:10]} ({len(unjudged)} in all) have no judgements in the qrels")
    ev = metrics.evaluate(to_run(ranked), {c.query.qid: qrels[c.query.qid] for c in ranked},
                          metrics.measures_for(min_rel, depth))
    if answers is not None:
        ev = qa.merge(ev, qa.top_k(ranked, answers))
    if results_dir is not None:
        if cfg is None or dataset is None:
            raise ValueError(f"{system}: writing a result file needs cfg and dataset")
        results.write_result(results_dir, cfg, dataset, system, ev, started, depth=depth, seconds_per_query=seconds,
                             **provenance)
    return ev, seconds, ranked


def first_query_with_grades(candidates: list[Candidates], qrels: Qrels, k: int = 10, min_grade: int = 2,
                            at_least: int = 2) -> Candidates | None:
    """The first query whose top `k` holds at least `at_least` passages judged `min_grade` or more (None: none does)."""
    for c in candidates:
        judged = qrels.get(c.query.qid, {})
        if sum(judged.get(p.docid, 0) >= min_grade for p in c.passages[:k]) >= at_least:
            return c
    return None


def side_by_side(rankings: dict[str, Candidates], qrels: Qrels, k: int = 10, width: int = 60) -> pd.DataFrame:
    """One query's top `k` under each ranking ({name: its Candidates}), a column pair per ranking: passage, grade.

    Grades come from `qrels` (None: not judged); passages are cut to `width` characters.
    """
    qids = {c.query.qid for c in rankings.values()}
    if len(qids) != 1:
        raise ValueError(f"side_by_side shows one query; the rankings hold {sorted(qids)}")
    judged = qrels.get(qids.pop(), {})
    cols = {}
    for name, c in rankings.items():
        top = list(c.passages[:k]) + [None] * (k - min(k, len(c)))
        cols[(name, "passage")] = [f"{p.docid}: {p.text[:width]}" if p else "" for p in top]
        cols[(name, "grade")] = [judged.get(p.docid) if p else None for p in top]
    return pd.DataFrame(cols, index=pd.RangeIndex(1, k + 1, name="rank"))


def student_identity(student_dir: str | Path) -> str:
    """A hash of a saved student's weight files (*.safetensors, *.bin), in name order: the same weights, the same id."""
    files = sorted(p for p in Path(student_dir).iterdir() if p.suffix in (".safetensors", ".bin"))
    if not files:
        raise FileNotFoundError(f"{student_dir}: no weight file (*.safetensors, *.bin): not a saved student")
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode())
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def save_rankings(folder: str | Path, rankings: dict[str, list[Candidates]], student_dir: str | Path, depth: int) -> Path:
    """Write each set's ranked lists (folder/<set>.json.gz, RankGPT hits) and then rankings.json naming the student
    and the depth they were scored at: the manifest comes last, so a kill leaves no manifest over old lists."""
    folder = Path(folder)
    manifest = folder / "rankings.json"
    manifest.unlink(missing_ok=True)
    for name, lists in rankings.items():
        write_hits(lists, folder / f"{name}.json.gz")
    return atomic.write_json(manifest, {"student": student_identity(student_dir), "depth": depth, "sets": sorted(rankings)})


def load_rankings(folder: str | Path, student_dir: str | Path, depth: int) -> tuple[dict[str, list[Candidates]] | None, str]:
    """`save_rankings`' lists when they were scored by the student in `student_dir` at `depth`, else None; and why."""
    manifest = Path(folder) / "rankings.json"
    if not manifest.is_file():
        return None, f"no {manifest}: Stage 1 scores the lists here"
    m = readers.read_json(manifest)
    if m.get("student") != student_identity(student_dir):
        return None, f"{manifest}: scored by another student than {student_dir}: Stage 1 scores the lists again"
    if m.get("depth") != depth:
        return None, f"{manifest}: scored at depth {m.get('depth')}, not {depth}: Stage 1 scores the lists again"
    return {name: read_hits(Path(folder) / f"{name}.json.gz") for name in m["sets"]}, f"Stage 1's lists from {folder} (notebook 02's)"
