"""BM25 through pyserini: Lucene's scores against the BM25 formula by hand, and RankGPT's NovelEval figures."""
import math

import pytest

from dearlib.core.records import Candidates, Passage, Query, to_run
from dearlib.retrieval import bm25, data
from dearlib.evaluation import metrics

# Words that the English analyzer neither stems nor drops, so term and length counts are what we write.
DOCS = {"d1": "zebra zebra mango", "d2": "zebra kiwi kiwi kiwi", "d3": "mango kiwi", "d4": "lemon lemon"}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    passages = {d: Passage(d, t) for d, t in DOCS.items()}
    index = bm25.build_index(passages.values(), tmp_path_factory.mktemp("idx") / "toy")
    return bm25.BM25(index, passages, k1=0.9, b=0.4)


def bm25_by_hand(term, doc, k1=0.9, b=0.4):
    docs = [t.split() for t in DOCS.values()]
    n = sum(term in d for d in docs)
    idf = math.log(1 + (len(docs) - n + 0.5) / (n + 0.5))
    avgdl = sum(map(len, docs)) / len(docs)
    words = DOCS[doc].split()
    tf = words.count(term)
    # Lucene (since 8.0) leaves out BM25's constant (k1 + 1) factor in the numerator: same ranking, smaller scores.
    return idf * tf / (tf + k1 * (1 - b + b * len(words) / avgdl))


def test_lucene_scores_equal_the_bm25_formula(toy):
    [c] = toy.retrieve([Query("q", "zebra")], k=10)
    assert [p.docid for p in c.passages] == ["d1", "d2"]  # only documents containing the term are returned
    for p, s in zip(c.passages, c.scores):
        assert s == pytest.approx(bm25_by_hand("zebra", p.docid), rel=1e-3)


def test_multi_term_query_sums_term_scores(toy):
    [c] = toy.retrieve([Query("q", "mango kiwi")], k=10)
    expected = {d: bm25_by_hand("mango", d) + bm25_by_hand("kiwi", d) for d in ("d1", "d2", "d3")}
    assert [p.docid for p in c.passages] == sorted(expected, key=expected.get, reverse=True)
    assert dict(zip((p.docid for p in c.passages), c.scores)) == pytest.approx(expected, rel=1e-3)


def test_query_matching_nothing_is_named(toy):
    with pytest.raises(ValueError, match="no passage for query q9"):
        toy.retrieve([Query("q9", "papaya")], k=5)


def test_noveleval_bm25_is_close_to_rankgpt(tmp_path, data_dir):
    # RankGPT's README: BM25 over each query's 20 candidates gives nDCG@1/5/10 = 33.33 / 45.96 / 55.77.
    # Its BM25 implementation is not Lucene's; we accept 0.5 points on nDCG@5/10, and on nDCG@1 a single query
    # of 21 flipping (4.76 points).
    ds = data.load_noveleval(data_dir)
    ranked = bm25.rank_own_candidates(ds.candidates, tmp_path)
    assert all(len(r) == 20 and {p.docid for p in r.passages} == {p.docid for p in c.passages}
               for r, c in zip(ranked, ds.candidates))
    got = metrics.evaluate(to_run(ranked), ds.qrels).as_percent()
    assert abs(got["nDCG@5"] - 45.96) <= 0.5 and abs(got["nDCG@10"] - 55.77) <= 0.5
    assert abs(got["nDCG@1"] - 33.33) <= 100 / 21 + 0.01


@pytest.mark.parametrize("text", ["the of and", "papaya"])  # stop words only; a word no passage holds
def test_a_query_bm25_cannot_score_is_named_in_both_paths(toy, tmp_path, text):
    with pytest.raises(ValueError, match="no passage for query q7"):
        toy.retrieve([Query("q6", "zebra"), Query("q7", text)], k=5)
    c = Candidates(Query("q7", text), tuple(Passage(d, t) for d, t in DOCS.items()), (4.0, 3.0, 2.0, 1.0))
    with pytest.raises(ValueError, match="no passage for query q7"):
        bm25.rank_own_candidates([c], tmp_path)


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_an_empty_query_is_refused_naming_its_id(text):
    with pytest.raises(ValueError, match="query q8: the query text is empty"):
        Query("q8", text)
