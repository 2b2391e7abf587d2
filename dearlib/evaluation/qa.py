"""Open-domain QA evaluation: Top-k answer accuracy of ranked passage lists (DPR's retrieval accuracy).

A question counts as answered at k when one of the top k passages of its list contains an answer string
(`dearlib.evaluation.answers.has_answer`, DPR's match, on the passage text without its title, as DPR's evaluation does).
Top-k is the fraction of questions answered at k; a question without a candidate list counts as not answered
and is named. Results are an `Evaluation` (measures ``Top-1``, ``Top-5``, ``Top-20``, per query 1.0 or 0.0), so
they are written under the results contract like any ranking measure. This module ranks nothing and reads no model.
"""
from __future__ import annotations

import math
import warnings

from ..core.records import Candidates
from .answers import has_answer
from .metrics import Evaluation

TOP_K = (1, 5, 20)


def first_answer_rank(candidates: Candidates, answers) -> int | None:
    """1-based rank of the first passage that contains an answer, None when none does."""
    for rank, p in enumerate(candidates.passages, 1):
        if has_answer(p.text, answers):
            return rank
    return None


def top_k(candidates: list[Candidates], answers: dict[str, tuple[str, ...]], ks=TOP_K) -> Evaluation:
    """Top-k accuracy over the questions of `answers` ({qid: answer strings}); per query 1.0 / 0.0."""
    if not answers:
        raise ValueError("no questions to evaluate")
    by_qid = {c.query.qid: c for c in candidates}
    unknown = sorted(set(by_qid) - set(answers))
    if len(unknown) == len(by_qid):
        raise ValueError(f"the candidate lists share no question id with the answers (e.g. {unknown[:5]})")
    missing = sorted(set(answers) - set(by_qid))
    if missing:
        warnings.warn(f"{len(missing)} questions have no candidate list and count as not answered: {missing[:10]}")
    per_query = {f"Top-{k}": {} for k in ks}
    for qid, ans in answers.items():
        rank = first_answer_rank(by_qid[qid], ans) if qid in by_qid else None
        for k in ks:
            per_query[f"Top-{k}"][qid] = 1.0 if rank is not None and rank <= k else 0.0
    metrics = {m: math.fsum(v.values()) / len(v) for m, v in per_query.items()}
    return Evaluation(metrics, per_query, missing)


def merge(*evaluations: Evaluation) -> Evaluation:
    """One Evaluation holding the measures of several (over the same questions), e.g. nDCG and Top-k."""
    metrics, per_query, missing = {}, {}, []
    for ev in evaluations:
        clash = set(metrics) & set(ev.metrics)
        if clash:
            raise ValueError(f"measures {sorted(clash)} appear twice")
        metrics.update(ev.metrics)
        per_query.update(ev.per_query)
        missing += [q for q in ev.queries_without_run if q not in missing]
    return Evaluation(metrics, per_query, missing)
