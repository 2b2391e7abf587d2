"""The queries where the student's top passage differs from BM25's, on a hand-built case counted by hand."""
import pandas as pd
import pytest

from dearlib.core.records import Candidates, Passage, Query
from dearlib.stage1 import top1


def lists(tops: dict[str, list[str]]) -> list[Candidates]:
    return [Candidates(Query(q, f"query {q}"), tuple(Passage(d, f"text {d}") for d in ds), tuple(range(len(ds), 0, -1)))
            for q, ds in tops.items()]


QRELS = {"1": {"a": 3, "b": 0}, "2": {"a": 1, "b": 2}, "3": {"a": 2, "b": 2}, "4": {"a": 0}, "5": {"a": 2, "b": 1}}
BM25 = lists({"1": ["a", "b"], "2": ["a", "b"], "3": ["a", "b"], "4": ["a", "b"], "5": ["a", "b"]})
STUDENT = lists({"1": ["b", "a"], "2": ["b", "a"], "3": ["b", "a"], "4": ["b", "a"], "5": ["a", "b"]})
TEACHER = lists({"1": ["a", "b"], "2": ["b", "a"], "3": ["a", "b"], "4": ["b", "a"], "5": ["b", "a"]})


def test_the_changed_top_passages_with_their_grades():
    t = top1.changes(BM25, STUDENT, QRELS, TEACHER)
    assert list(t["qid"]) == ["1", "2", "3", "4"]  # query 5 kept BM25's top passage
    assert t["BM25 grade"].tolist() == [3, 1, 2, 0]
    grades = lambda col: [None if pd.isna(g) else int(g) for g in t[col]]
    assert grades("student grade") == [0, 2, 2, None]  # "b" of query 4 is not judged
    assert grades("teacher grade") == [3, 2, 2, None]
    assert top1.summary(t, n_queries=5) == {
        "queries": 5, "top passage changed": 4, "judged lower than BM25's": 1, "judged higher than BM25's": 1,
        "judged the same": 1, "student's top judged 0": 1, "BM25's top judged 0": 1, "student's top not judged": 1,
        "teacher put the student's top first too": 2}


def test_without_a_teacher_and_with_a_missing_list():
    t = top1.changes(BM25, STUDENT, QRELS)
    assert "teacher grade" not in t and "teacher put the student's top first too" not in top1.summary(t, 5)
    with pytest.raises(ValueError, match=r"queries \['5'\]"):
        top1.changes(BM25[:4], STUDENT, QRELS)
