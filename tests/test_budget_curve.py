"""The Stage-1 budget curve is drawn from scripts/stage1_budget.py's JSON: what it reads, where it looks, what it refuses."""
import json

import matplotlib
import pytest

matplotlib.use("Agg")

from dearlib import budget_curve


def sets(dl19, nq):
    return {"dl19": {"nDCG@1": 0.0, "nDCG@5": 0.0, "nDCG@10": dl19}, "dl20": {"nDCG@10": dl19 + 1},
            "noveleval": {"nDCG@10": dl19 + 2}, "nq": {"nDCG@10": nq, "Top-1": 1.0, "Top-5": 2.0}}


@pytest.fixture
def report_path(tmp_path):
    report = {"profile": "mini", "bm25": sets(50.0, 30.0), "teacher": sets(70.0, 60.0), "budgets": {
        "300": {"steps": 300, "pairs_seen": 4800, "train_seconds": 20.0, "ndcg": sets(55.0, 50.0)},
        "150": {"steps": 150, "pairs_seen": 2400, "train_seconds": 10.0, "ndcg": sets(52.0, 40.0)}}}
    path = tmp_path / "results" / "benchmarks" / "mini" / "stage1_budget.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(report))
    return path


def test_the_curve_is_drawn_from_the_json(report_path):
    report = budget_curve.load(report_path)
    rows = budget_curve.table(report)
    assert list(rows.index) == [150, 300] and list(rows["pairs seen"]) == [2400, 4800]  # ordered by steps
    assert list(rows["dl19"]) == [52.0, 55.0] and list(rows["nq"]) == [40.0, 50.0]
    fig = budget_curve.draw(report)
    axes = fig.axes
    assert [a.get_title() for a in axes] == ["NQ held-out (training domain)", "DL19", "DL20", "NovelEval"]
    student, bm25, teacher = axes[1].get_lines()
    assert list(student.get_xdata()) == [150, 300] and list(student.get_ydata()) == [52.0, 55.0]
    assert list(bm25.get_ydata()) == [50.0, 50.0] and list(teacher.get_ydata()) == [70.0, 70.0]
    assert list(axes[0].get_lines()[2].get_ydata()) == [60.0, 60.0]  # NQ's teacher
    fig.savefig(report_path.parent / "curve.png")
    assert (report_path.parent / "curve.png").read_bytes()[:4] == b"\x89PNG"


def test_find_prefers_this_run_then_the_reference_copy(report_path, tmp_path):
    results_dir = tmp_path / "results"
    assert budget_curve.find(results_dir, "mini", tmp_path / "repo") == report_path
    assert budget_curve.find(results_dir, "smoke", tmp_path / "repo") is None
    copy = tmp_path / "repo" / budget_curve.REFERENCE_COPY
    copy.parent.mkdir(parents=True)
    copy.write_text(report_path.read_text())
    assert budget_curve.find(results_dir, "smoke", tmp_path / "repo") == copy


def test_a_report_without_a_key_is_named(report_path):
    report = json.loads(report_path.read_text())
    del report["budgets"]["150"]["pairs_seen"]
    report_path.write_text(json.dumps(report))
    with pytest.raises(ValueError, match=r"stage1_budget.json: budget 150 has no 'pairs_seen'"):
        budget_curve.load(report_path)


def test_this_runs_student_is_marked_where_it_was_trained(report_path):
    fig = budget_curve.draw(budget_curve.load(report_path), current=(150, {"dl19": 51.5}))
    by_title = {ax.get_title(): ax for ax in fig.axes}
    stars = [l for l in by_title["DL19"].get_lines() if l.get_marker() == "*"]
    assert len(stars) == 1 and list(stars[0].get_xdata()) == [150] and list(stars[0].get_ydata()) == [51.5]
    assert not [l for l in by_title["NovelEval"].get_lines() if l.get_marker() == "*"]  # no value given for it
