"""The in-domain control of Stage 1: training groups cross-fitted across the TREC DL years.

The kit's student trains on NQ questions over Wikipedia and is evaluated on MS MARCO web queries (DL19, DL20): a
domain shift. To measure how much of the gap to BM25 and the teacher that shift explains, a second student is
trained in-domain, on one TREC DL year's judged BM25 candidates, and evaluated only on the other year
(`TRAINED_ON`): the student evaluated on DL19 trains on DL20's queries, the one evaluated on DL20 on DL19's. The
two years share no query, so no query and no (query, passage) pair of an evaluation set is trained on.
NovelEval is evaluated by the DL20-trained student (`TRAINED_ON["noveleval"]`): DL20 has more judged queries (54
against 43), and for a new domain more distinct queries count more than more passages per query (DL19's fewer
queries give slightly more groups); the choice is fixed here, never made from a NovelEval score.

`trec_groups` builds the groups (the positive first, then negatives: `stage1.Group`, as the NQ groups), and
`training_groups` cuts them to the budget as `stage1.training_groups` does. The teacher's scores are attached
and the student trained by the same code as for NQ (`stage1.attach_teacher`, `stage1.train`). This module trains
and evaluates nothing.
"""
from __future__ import annotations

from collections import Counter

from ..core.records import Dataset
from .training import Group, _check_group_size, groups_used

TRAINED_ON = {"dl19": "dl20", "dl20": "dl19", "noveleval": "dl20"}  # evaluation set -> the year its student trains on
MIN_POSITIVE = 2  # TREC DL's grade for "highly relevant" and above: its binary measures' relevance level


def trec_groups(ds: Dataset, group_size: int) -> tuple[list[Group], Counter]:
    """Groups from one TREC DL year's BM25 candidates and qrels: one group per passage judged >= 2 among a query's
    candidates (a judged positive outside them has no text here: counted, not used), with `group_size` - 1
    negatives from the same query's candidates judged 0 (unjudged ones may be relevant: never used), taken in BM25
    order and rotating, so a query's groups share its hardest negatives as little as its count allows.

    Groups are interleaved across queries (each query's first group, then each one's second...), so a budget
    that cuts the list keeps every query it can. Returns the groups and a ledger of what was kept and skipped.
    """
    _check_group_size(group_size)
    per_query, ledger = [], Counter()
    for c in ds.candidates:
        qrels = ds.qrels.get(c.query.qid, {})
        ranked = {p.docid for p in c.passages}
        positives = [p for p in c.passages if qrels.get(p.docid, -1) >= MIN_POSITIVE]
        negatives = [p for p in c.passages if qrels.get(p.docid) == 0]
        ledger["positives judged >= 2 outside the candidates (no text)"] += sum(
            1 for d, g in qrels.items() if g >= MIN_POSITIVE and d not in ranked)
        if not positives or not negatives:
            ledger["queries skipped: no positive" if not positives else "queries skipped: no negative judged 0"] += 1
            continue
        n = min(group_size - 1, len(negatives))
        groups = []
        for k, pos in enumerate(positives):
            negs = [negatives[(k * n + j) % len(negatives)] for j in range(n)]
            groups.append(Group(c.query.qid, c.query.text, [pos.contents, *(p.contents for p in negs)]))
        per_query.append(groups)
        ledger["queries"] += 1
    interleaved = [qg[i] for i in range(max(map(len, per_query), default=0)) for qg in per_query if i < len(qg)]
    ledger["groups"] = len(interleaved)
    return interleaved, ledger


def training_groups(s1: dict, sets: dict[str, Dataset], evaluated_on: str) -> tuple[list[Group], Counter, str]:
    """The groups of the student evaluated on `evaluated_on`: the other year's (`TRAINED_ON`), from `sets` (notebook
    01's candidates, `data.evaluation_sets`), cut to those the budget reaches (`stage1.groups_used`).

    A year holds fewer groups than NQ: when the budget (max_steps x batch) needs more than there are, the Trainer
    passes over them again (more than one epoch; max_steps decides); the ledger says how many passes (below 1: part
    of the year is left unused).
    Returns the groups (teacher scores not yet attached), their ledger and the training year.
    """
    if evaluated_on not in TRAINED_ON:
        raise ValueError(f"no in-domain student is evaluated on {evaluated_on!r}: one of {', '.join(TRAINED_ON)}")
    year = TRAINED_ON[evaluated_on]
    groups, ledger = trec_groups(sets[year], s1["group_size"])
    if not groups:
        raise ValueError(f"{year}: no training group (no query has a candidate judged >= 2 and one judged 0)")
    n_used = groups_used(s1)
    if n_used:
        ledger["passes over the groups (budget / groups)"] = round(n_used / len(groups), 2)
    return groups[:n_used], ledger, year
