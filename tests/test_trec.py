import json

import pytest

from dearlib.core import atomic
from dearlib.core.records import Candidates, Passage, Query, to_run
from dearlib.retrieval import trec


def write(tmp_path, text, name="f.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_qrels_wrong_column_count_names_file_and_line(tmp_path):
    p = write(tmp_path, "1 0 d1 1\n1 0 d2\n")
    with pytest.raises(trec.FormatError, match=r"f\.txt:2: .*4 columns.*found 3"):
        trec.read_qrels(p)


def test_qrels_non_integer_grade(tmp_path):
    p = write(tmp_path, "1 0 d1 1\n\n1 0 d2 high\n")
    with pytest.raises(trec.FormatError, match=r"f\.txt:3: relevance grade 'high'"):
        trec.read_qrels(p)


def test_qrels_conflicting_judgements(tmp_path):
    p = write(tmp_path, "1 0 d1 1\n1 0 d1 2\n")
    with pytest.raises(trec.FormatError, match="judges docid d1 twice"):
        trec.read_qrels(p)


def test_run_round_trip_keeps_order_and_scores(tmp_path):
    run = {"q1": {"a": 3.0, "b": 2.5, "c": -1.0}, "q2": {"x": 1.0}}
    p = trec.write_run(run, tmp_path / "r.run", tag="t")
    lines = p.read_text().splitlines()
    assert lines[0] == "q1 Q0 a 1 3.000000 t" and lines[2] == "q1 Q0 c 3 -1.000000 t"
    assert trec.read_run(p) == run


def test_run_bad_line(tmp_path):
    p = write(tmp_path, "q1 Q0 a 1 2.0 t\nq1 Q0 b 2 two t\n")
    with pytest.raises(trec.FormatError, match=r"f\.txt:2: score 'two'"):
        trec.read_run(p)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_run_with_a_score_that_is_not_finite_is_not_written(tmp_path, bad):
    p = tmp_path / "r.run"
    p.write_text("old\n")
    with pytest.raises(ValueError, match=rf"query q2: docid y has the score {bad}, not a finite number: not written"):
        trec.write_run({"q1": {"a": 1.0}, "q2": {"x": 1.0, "y": bad}}, p, tag="t")
    assert p.read_text() == "old\n" and [f.name for f in tmp_path.iterdir()] == ["r.run"]  # nothing half-written


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_candidates_refuse_a_score_that_is_not_finite(bad):
    q, ps = Query("7", "q"), (Passage("a", "x"), Passage("b", "y"))
    with pytest.raises(ValueError, match=rf"query 7: docid b has the score {bad}, not a finite number"):
        Candidates(q, ps, (1.0, bad))
    with pytest.raises(ValueError, match=rf"query 7: docid a has the score {bad}"):  # a student's diverged scores
        Candidates(q, ps, (1.0, 0.5)).reranked([bad, 0.0])


def test_to_run_by_rank_preserves_list_order_despite_ties():
    c = Candidates(Query("q", "x"), (Passage("b", ""), Passage("a", "")), (1.0, 1.0))
    # trec_eval would order tied scores by docid (b before a is lost); by rank keeps the list's order.
    assert to_run([c], by="rank") == {"q": {"b": 2.0, "a": 1.0}}
    assert to_run([c], by="score") == {"q": {"b": 1.0, "a": 1.0}}


def test_candidates_reject_empty_and_duplicate_docids():
    with pytest.raises(ValueError, match="query q: the candidate list is empty"):
        Candidates(Query("q", "x"), (), ())
    with pytest.raises(ValueError, match="docid a appears twice"):
        Candidates(Query("q", "x"), (Passage("a", ""), Passage("a", "")), (1.0, 0.5))


def test_atomic_write_leaves_old_file_when_serialisation_fails(tmp_path):
    p = tmp_path / "r.json"
    atomic.write_json(p, {"ok": 1})
    with pytest.raises(TypeError):
        atomic.write_json(p, {"bad": object()})
    assert json.loads(p.read_text()) == {"ok": 1}
    assert [x.name for x in tmp_path.iterdir()] == ["r.json"]  # no temporary file left behind


def test_atomic_write_interrupted_before_rename(tmp_path, monkeypatch):
    p = tmp_path / "r.run"
    p.write_text("old\n")

    def crash(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        trec.write_run({"q": {"d": 1.0}}, p, tag="t")
    assert p.read_text() == "old\n"
    assert [x.name for x in tmp_path.iterdir()] == ["r.run"]


def test_atomic_write_gives_usual_permissions(tmp_path):
    old = __import__("os").umask(0o022)
    try:
        p = atomic.write_text(tmp_path / "r.txt", "x")
    finally:
        __import__("os").umask(old)
    assert p.stat().st_mode & 0o777 == 0o644


def test_qrels_round_trip(tmp_path):
    qrels = {"1": {"a": 0, "b": 3}, "2": {"c": 1}}
    assert trec.read_qrels(trec.write_qrels(qrels, tmp_path / "q.txt")) == qrels
