"""Score runs against qrels with trec_eval's definitions, through ir_measures (pytrec_eval underneath).

The measures are named as ir_measures prints them: ``nDCG@10`` (trec_eval ``ndcg_cut.10``, linear gain),
``AP(rel=2)`` (MAP counting grade >= 2 as relevant, trec_eval ``-l 2``), ``RR(rel=2)@10`` (MRR@10),
``R(rel=2)@100`` (recall). Aggregates follow ``trec_eval -c``: a judged query that the run lacks counts as 0,
and it is named in the result, never hidden.

What this module refuses, rather than returning a silent 0.0 (or 1.0): a run that shares no query with the qrels,
a run query that has no judgements, a run none of whose documents is judged (ids that do not match), and a
score that is not a finite number (trec_eval sorts a NaN as it happens to compare: a run of NaN scores in judged
order evaluates to nDCG@10 = 1.0).
It does not compute QA answer accuracy (that is the open-domain QA notebook's) and does not rank anything.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import ir_measures

from ..core.records import Qrels, Run

NDCG = ("nDCG@1", "nDCG@5", "nDCG@10")


def measures_for(min_rel: int, depth: int = 100) -> list[str]:
    """The kit's standard measures: nDCG@1/5/10 (graded), and MAP, MRR@10, Recall@depth at grade >= min_rel."""
    return [*NDCG, f"AP(rel={min_rel})", f"RR(rel={min_rel})@10", f"R(rel={min_rel})@{depth}"]


class EvaluationError(ValueError):
    """A run and qrels that cannot be scored meaningfully; the message names the query ids."""


@dataclass
class Evaluation:
    metrics: dict[str, float]  # measure name -> mean over the judged queries (trec_eval -c)
    per_query: dict[str, dict[str, float]]  # measure name -> {qid: value}
    queries_without_run: list[str] = field(default_factory=list)  # judged queries the run lacks (scored 0)

    def as_percent(self, names=NDCG) -> dict[str, float]:
        return {m: round(100 * self.metrics[m], 2) for m in names}


def evaluate(run: Run, qrels: Qrels, measures: list[str] | tuple[str, ...] = NDCG) -> Evaluation:
    if not run:
        raise EvaluationError("the run is empty")
    for q, docs in run.items():
        for d, s in docs.items():
            if not math.isfinite(s):
                raise EvaluationError(f"query {q}: docid {d} has the score {s}, not a finite number: no rank can be read from it")
    not_judged = sorted(set(run) - set(qrels))
    if len(not_judged) == len(run):
        raise EvaluationError(f"the run shares no query id with the qrels (run ids e.g. {sorted(run)[:5]}, "
                              f"qrels ids e.g. {sorted(qrels)[:5]})")
    if not_judged:
        raise EvaluationError(f"run queries {not_judged[:10]} ({len(not_judged)} in all) have no judgements in the qrels")
    judged_docs = sum(1 for q, docs in run.items() for d in docs if d in qrels[q])
    if judged_docs == 0:
        raise EvaluationError("none of the run's documents is judged in the qrels: do the docids match "
                              f"(run e.g. {next(iter(next(iter(run.values()))))!r}, qrels e.g. "
                              f"{next(iter(next(iter(qrels.values()))))!r})?")
    parsed = [ir_measures.parse_measure(m) for m in measures]
    per_query: dict[str, dict[str, float]] = {str(m): {} for m in parsed}
    for r in ir_measures.iter_calc(parsed, qrels, run):
        per_query[str(r.measure)][r.query_id] = float(r.value)
    missing = sorted(set(qrels) - set(run))
    if missing:
        warnings.warn(f"{len(missing)} judged queries have no run and count as 0 (trec_eval -c): {missing[:10]}")
    for values in per_query.values():
        for q in qrels:
            values.setdefault(q, 0.0)
    metrics = {m: math.fsum(v.values()) / len(v) for m, v in per_query.items()}
    return Evaluation(metrics, per_query, missing)
