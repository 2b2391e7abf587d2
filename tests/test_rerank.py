"""Reranking with a pointwise scorer and the one evaluate-and-write step, on hand-made lists with hand-computed values."""
import json
import math

import pytest

from dearlib.core.records import Candidates, Passage, Query
from dearlib.evaluation import results
from dearlib.stage1.rerank import evaluate_reranker, first_query_with_grades, rerank, side_by_side


class TableScorer:
    """Scores a passage by a fixed table keyed on its text: a scorer whose output we know."""

    identity = "table"

    def __init__(self, table):
        self.table = table

    def score_pairs(self, queries, passages, progress=False):
        return [self.table[p] for p in passages]


def cands(qid, texts):
    return Candidates(Query(qid, f"question {qid}"), tuple(Passage(f"{qid}-{i}", t) for i, t in enumerate(texts)),
                      tuple(float(-i) for i in range(len(texts))))


def test_evaluate_reranker_ndcg_and_top_k_by_hand(tmp_path, monkeypatch):
    # no results_dir: no result file, neither through results.write_result nor anywhere under the working directory
    writes = []
    monkeypatch.setattr(results, "write_result", lambda *a, **k: writes.append((a, k)))
    monkeypatch.chdir(tmp_path)
    # q1: BM25 order a, b, c with grades 2, 0, 1; the scorer puts c, a, b.
    # q2: the scorer keeps d first (grade 0) and e (grade 1) second.
    lists = [cands("1", ["a Paris", "b", "c"]), cands("2", ["d", "e Everest", "f"])]
    qrels = {"1": {"1-0": 2, "1-1": 0, "1-2": 1}, "2": {"2-0": 0, "2-1": 1}, "3": {"x": 1}}  # q3: not kept, not judged
    scorer = TableScorer({"a Paris": 2.0, "b": 1.0, "c": 3.0, "d": 5.0, "e Everest": 4.0, "f": 0.0})
    ev, seconds, ranked = evaluate_reranker("toy", scorer, lists, qrels, 1, 3, progress=False,
                                            answers={"1": ("Paris",), "2": ("Everest",)})
    assert [p.docid for p in ranked[0].passages] == ["1-2", "1-0", "1-1"]
    # linear gain (trec_eval): DCG = sum grade / log2(rank + 1)
    q1 = (1 / math.log2(2) + 2 / math.log2(3)) / (2 / math.log2(2) + 1 / math.log2(3))
    q2 = (1 / math.log2(3)) / 1.0
    assert ev.per_query["nDCG@10"] == pytest.approx({"1": q1, "2": q2})
    assert ev.metrics["nDCG@10"] == pytest.approx((q1 + q2) / 2)
    # the answer of q1 is at rank 2, of q2 at rank 2: no Top-1, both Top-5
    assert ev.per_query["Top-1"] == {"1": 0.0, "2": 0.0} and ev.metrics["Top-5"] == 1.0
    assert seconds >= 0
    assert writes == [] and list(tmp_path.iterdir()) == []  # no results_dir: nothing written


def test_evaluate_reranker_writes_the_result_file(tmp_path):
    from dearlib.core.config import load_config

    cfg = load_config("smoke")
    lists = [cands("1", ["a", "b"])]
    qrels = {"1": {"1-1": 1}}
    scorer = TableScorer({"a": 0.0, "b": 1.0})  # puts the relevant b first: nDCG@10 = 1
    ev, seconds, _ = evaluate_reranker("dear-p", scorer, lists, qrels, 1, 2, results_dir=tmp_path, cfg=cfg,
                                       dataset="dl19", progress=False, note="a toy")
    rec = json.loads((tmp_path / "smoke" / "dl19" / "dear-p.json").read_text())
    assert rec["system"] == "dear-p" and rec["dataset"] == "dl19" and rec["metrics"]["nDCG@10"] == 1.0
    assert rec["per_query"]["nDCG@10"] == {"1": 1.0} and "R@2" in rec["metrics"]
    prov = rec["provenance"]
    assert prov["depth"] == 2 and prov["seconds_per_query"] == pytest.approx(seconds) and prov["note"] == "a toy"
    # BM25's order (no reranker): b is second
    ev, _, _ = evaluate_reranker("bm25", None, lists, qrels, 1, 2)
    assert ev.metrics["nDCG@10"] == pytest.approx(1 / math.log2(3))
    with pytest.raises(ValueError, match="needs cfg and dataset"):
        evaluate_reranker("dear-p", scorer, lists, qrels, 1, 2, results_dir=tmp_path, progress=False)


def test_evaluate_reranker_names_unjudged_queries():
    with pytest.raises(ValueError, match=r"queries \['2'\]"):
        evaluate_reranker("bm25", None, [cands("1", ["a"]), cands("2", ["b"])], {"1": {"1-0": 1}}, 1, 1)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_score_stops_rerank_naming_the_query(bad):
    scorer = TableScorer({"a": 1.0, "b": 0.0, "c": bad, "d": 0.5})
    with pytest.raises(ValueError, match=r"query 2: the scorer 'table' gave non-finite scores \[\('2-0'"):
        rerank(scorer, [cands("1", ["a", "b"]), cands("2", ["c", "d"])], depth=2, progress=False)


def test_one_query_side_by_side():
    bm25 = cands("1", ["a", "b", "c"])
    qrels = {"1": {"1-0": 0, "1-1": 2, "1-2": 3}}
    assert first_query_with_grades([cands("0", ["z"]), bm25], {**qrels, "0": {"0-0": 3}}, k=3) is bm25
    assert first_query_with_grades([bm25], qrels, k=2) is None  # only one grade >= 2 in the top 2
    [student] = rerank(TableScorer({"a": 0.0, "b": 1.0, "c": 2.0}), [bm25], depth=3, progress=False)
    table = side_by_side({"BM25": bm25, "student": student}, qrels, k=4)
    assert list(table[("BM25", "grade")])[:3] == [0, 2, 3] and list(table[("student", "grade")])[:3] == [3, 2, 0]
    assert table[("student", "passage")].iloc[0] == "1-2: c" and table[("BM25", "passage")].iloc[3] == ""
