"""Top-k answer accuracy on hand-made examples."""
import pytest

from dearlib.core.records import Candidates, Passage, Query
from dearlib.evaluation import metrics, qa


def cands(qid, texts, title=""):
    return Candidates(Query(qid, f"question {qid}"), tuple(Passage(f"{qid}-{i}", t, title) for i, t in enumerate(texts)),
                      tuple(float(-i) for i in range(len(texts))))


def test_top_k_by_hand():
    lists = [
        cands("1", ["Paris is the capital of France.", "Lyon is big.", "Nice."]),  # answer at rank 1
        cands("2", ["Mars is red.", "Venus is hot.", "Jupiter is the largest planet."]),  # answer at rank 3
        cands("3", ["nothing", "here", "either"], title="Everest"),  # the answer only in the title: not counted (DPR)
    ]
    answers = {"1": ("Paris",), "2": ("Jupiter", "jupiter (planet)"), "3": ("Everest",)}
    ev = qa.top_k(lists, answers, ks=(1, 2, 3))
    assert ev.per_query["Top-1"] == {"1": 1.0, "2": 0.0, "3": 0.0}
    assert ev.per_query["Top-3"] == {"1": 1.0, "2": 1.0, "3": 0.0}
    assert ev.metrics == pytest.approx({"Top-1": 1 / 3, "Top-2": 1 / 3, "Top-3": 2 / 3})
    assert [qa.first_answer_rank(c, answers[c.query.qid]) for c in lists] == [1, 3, None]


def test_answer_match_is_on_whole_tokens_and_normalised():
    c = cands("1", ["The Beatles formed in 1960.", "Café society"])
    assert qa.first_answer_rank(c, ("196",)) is None  # a token prefix is not a match
    assert qa.first_answer_rank(c, ("the beatles",)) == 1
    assert qa.first_answer_rank(c, ("CAFÉ",)) == 2


def test_a_question_without_candidates_counts_as_unanswered_and_is_named():
    with pytest.warns(UserWarning, match="1 questions have no candidate list"):
        ev = qa.top_k([cands("1", ["Paris"])], {"1": ("Paris",), "2": ("Rome",)}, ks=(1,))
    assert ev.metrics["Top-1"] == 0.5 and ev.queries_without_run == ["2"]
    with pytest.raises(ValueError, match="share no question id"):
        qa.top_k([cands("9", ["Paris"])], {"1": ("Paris",)})


def test_merge_keeps_both_measures_and_refuses_a_clash():
    top = qa.top_k([cands("1", ["a Paris b", "x"])], {"1": ("Paris",)}, ks=(1,))
    ndcg = metrics.evaluate({"1": {"1-0": 2.0, "1-1": 1.0}}, {"1": {"1-0": 1}}, ("nDCG@10",))
    both = qa.merge(ndcg, top)
    assert set(both.metrics) == {"nDCG@10", "Top-1"} and both.per_query["Top-1"] == {"1": 1.0}
    with pytest.raises(ValueError, match="appear twice"):
        qa.merge(top, top)
