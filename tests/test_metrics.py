import math

import pytest

from dearlib.core.records import to_run
from dearlib.retrieval import data
from dearlib.evaluation import metrics


def dcg(gains):
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def test_ndcg_matches_hand_computed_value():
    qrels = {"q": {"a": 2, "b": 1, "c": 0, "z": 3}}  # z is relevant but never retrieved
    run = {"q": {"a": 3.0, "c": 2.0, "b": 1.0}}
    ev = metrics.evaluate(run, qrels, ["nDCG@3", "nDCG@1", "RR(rel=2)@10", "AP(rel=1)"])
    ideal = dcg([3, 2, 1])
    assert ev.metrics["nDCG@3"] == pytest.approx(dcg([2, 0, 1]) / ideal, abs=1e-4)
    assert ev.metrics["nDCG@1"] == pytest.approx(2 / 3, abs=1e-4)
    assert ev.metrics["RR(rel=2)@10"] == pytest.approx(1.0)
    assert ev.metrics["AP"] == pytest.approx((1 / 1 + 2 / 3) / 3, abs=1e-4)  # 3 relevant, found at ranks 1 and 3


@pytest.mark.parametrize("year,ndcg1,ndcg5,ndcg10", [(2019, 0.5426, 0.5278, 0.5058), (2020, 0.5772, 0.5067, 0.4796)])
def test_bm25_reproduces_the_standard_trec_dl_figures(data_dir, year, ndcg1, ndcg5, ndcg10):
    # Published: trec_eval -c -m ndcg_cut on pyserini's BM25 (RankGPT's tables, the DeAR README's BM25 row).
    ds = data.load_trec_dl(year, data_dir)
    ev = metrics.evaluate(to_run(ds.candidates, by="score"), ds.qrels, metrics.measures_for(2))
    assert round(ev.metrics["nDCG@10"], 4) == ndcg10
    assert round(ev.metrics["nDCG@5"], 4) == ndcg5
    assert round(ev.metrics["nDCG@1"], 4) == ndcg1
    assert len(ev.per_query["nDCG@10"]) == len(ds.candidates)


def test_run_sharing_no_query_is_an_error():
    with pytest.raises(metrics.EvaluationError, match="shares no query id"):
        metrics.evaluate({"x": {"a": 1.0}}, {"q": {"a": 1}})


def test_run_query_missing_from_qrels_is_named():
    with pytest.raises(metrics.EvaluationError, match=r"run queries \['extra'\]"):
        metrics.evaluate({"q": {"a": 1.0}, "extra": {"a": 1.0}}, {"q": {"a": 1}})


def test_mismatched_docids_are_an_error_not_zero():
    with pytest.raises(metrics.EvaluationError, match="none of the run's documents is judged"):
        metrics.evaluate({"q": {"doc-1": 1.0}}, {"q": {"1": 1}})


def test_judged_query_without_run_counts_zero_and_is_reported():
    with pytest.warns(UserWarning, match="count as 0"):
        ev = metrics.evaluate({"q1": {"a": 1.0}}, {"q1": {"a": 1}, "q2": {"b": 1}}, ["nDCG@10"])
    assert ev.metrics["nDCG@10"] == pytest.approx(0.5)
    assert ev.queries_without_run == ["q2"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_score_that_is_not_finite_is_refused_naming_query_and_docid(bad):
    # Before: NaN scores in judged order evaluated to nDCG@10 = 1.0 (trec_eval sorts by a comparison NaN fails).
    qrels = {"q": {"a": 2, "b": 0}, "r": {"c": 1}}
    with pytest.raises(metrics.EvaluationError, match=rf"query q: docid b has the score {bad}, not a finite number"):
        metrics.evaluate({"q": {"a": 2.0, "b": bad}, "r": {"c": 1.0}}, qrels, ["nDCG@10"])
    worse = {"q": {"a": 1.0, "b": 2.0}, "r": {"c": 1.0}}  # the same run, finite: b (grade 0) above a
    assert metrics.evaluate(worse, qrels, ["nDCG@10"]).per_query["nDCG@10"]["q"] == pytest.approx(1 / math.log2(3))
