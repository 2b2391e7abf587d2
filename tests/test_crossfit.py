"""The in-domain control of Stage 1: groups from one TREC DL year's judged candidates, never from the year evaluated."""
from collections import Counter

import pytest

from dearlib.core.records import Candidates, Dataset, Passage, Query
from dearlib.retrieval import data
from dearlib.stage1 import crossfit, training as stage1


def test_groups_take_judged_positives_and_judged_zero_negatives_in_bm25_order():
    ps = [Passage(f"d{i}", f"text {i}") for i in range(7)]
    q1 = Candidates(Query("1", "first query"), tuple(ps), tuple(range(7, 0, -1)))
    q2 = Candidates(Query("2", "second query"), tuple(ps[:3]), (3.0, 2.0, 1.0))
    q3 = Candidates(Query("3", "no positive"), tuple(ps[:2]), (2.0, 1.0))
    qrels = {"1": {"d0": 0, "d1": 3, "d2": 1, "d3": 0, "d4": 2, "d5": 0, "dX": 3},  # d6 unjudged: never a negative
             "2": {"d0": 2, "d1": 0}, "3": {"d0": 1, "d1": 0}}
    groups, ledger = crossfit.trec_groups(Dataset("dl20", [q1, q2, q3], qrels, min_rel=2), group_size=3)
    # interleaved across queries: query 1's first group, query 2's, then query 1's second
    assert [(g.qid, g.passages) for g in groups] == [
        ("1", ["text 1", "text 0", "text 3"]),  # positive d1 (grade 3), the first two judged-0 negatives
        ("2", ["text 0", "text 1"]),  # one judged-0 negative is all there is
        ("1", ["text 4", "text 5", "text 0"]),  # positive d4 (grade 2), the negatives rotate on
    ]
    assert ledger == Counter({"groups": 3, "queries": 2, "queries skipped: no positive": 1,
                              "positives judged >= 2 outside the candidates (no text)": 1})


def test_the_budget_cuts_the_groups_and_says_how_many_passes_it_makes():
    ps = tuple(Passage(f"d{i}", f"t{i}") for i in range(4))
    ds = Dataset("dl19", [Candidates(Query("1", "q"), ps, (4.0, 3.0, 2.0, 1.0))], {"1": {"d0": 2, "d1": 2, "d2": 0, "d3": 0}})
    sets = {"dl19": ds}
    groups, ledger, year = crossfit.training_groups({"group_size": 3, "max_steps": 3, "batch_size": 2}, sets, "dl20")
    assert year == "dl19" and len(groups) == 2  # 6 groups needed, 2 there: the Trainer passes over them 3 times
    assert ledger["passes over the groups (budget / groups)"] == 3.0
    groups, ledger, _ = crossfit.training_groups({"group_size": 3, "max_steps": 1, "batch_size": 1}, sets, "dl20")
    assert len(groups) == 1 and ledger["passes over the groups (budget / groups)"] == 0.5
    with pytest.raises(ValueError, match="no in-domain student is evaluated on 'nq'"):
        crossfit.training_groups({"group_size": 3, "max_steps": 1, "batch_size": 1}, sets, "nq")


@pytest.fixture(scope="module")
def trec(data_dir):
    return {"dl19": data.load_trec_dl(2019, data_dir), "dl20": data.load_trec_dl(2020, data_dir)}


@pytest.mark.parametrize("evaluated_on", ["dl19", "dl20"])
def test_no_query_and_no_pair_of_an_evaluation_set_is_in_its_students_training_groups(trec, evaluated_on):
    """The real DL19 and DL20 sets, every group (no budget cut): the student evaluated on a year trained on none of
    its queries (by id or by text) and on none of its (query, passage) pairs."""
    groups, ledger, year = crossfit.training_groups({"group_size": 4, "max_steps": None}, trec, evaluated_on)
    assert ledger["groups"] == len(groups) > 500  # the whole year is used
    ev = trec[evaluated_on]
    eval_ids = set(ev.qrels) | {c.query.qid for c in ev.candidates}
    eval_texts = {c.query.text for c in ev.candidates}
    eval_pairs = {(c.query.text, p.contents) for c in ev.candidates for p in c.passages}
    assert not {g.qid for g in groups} & eval_ids
    assert not {g.query for g in groups} & eval_texts
    assert not {(g.query, p) for g in groups for p in g.passages} & eval_pairs
    # the training year's own queries are what the groups hold: the check above is not empty by accident
    assert {g.qid for g in groups} <= set(trec[year].qrels) and year != evaluated_on


def test_groups_are_stage1_groups_the_trainer_takes(trec, tmp_path):
    groups, _, _ = crossfit.training_groups({"group_size": 4, "max_steps": 2, "batch_size": 3}, trec, "dl19")
    assert len(groups) == 6 and len({g.qid for g in groups}) == 6  # interleaved: six queries, not one query's six positives
    for g in groups:
        g.teacher = [1.0] * len(g.passages)
    assert stage1.load_groups(stage1.save_groups(groups, tmp_path / "g.jsonl")) == groups
