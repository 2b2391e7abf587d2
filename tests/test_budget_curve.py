"""The Stage-1 budget curve is drawn from scripts/stage1_budget.py's JSON: what it reads, where it looks, what it refuses,
how seeds become a mean and a spread, and what its resume key covers."""
import json
import statistics

import matplotlib
import pytest

matplotlib.use("Agg")

from dearlib.core.config import load_config
from dearlib.stage1 import budget_curve


def sets(dl19, nq=None):
    out = {"dl19": {"nDCG@1": 0.0, "nDCG@5": 0.0, "nDCG@10": dl19}, "dl20": {"nDCG@10": dl19 + 1},
           "noveleval": {"nDCG@10": dl19 + 2}}
    if nq is not None:
        out["nq"] = {"nDCG@10": nq, "Top-1": 1.0, "Top-5": 2.0}
    return out


def point(td, seed, steps, dl19, nq=None):
    return {"training_data": td, "seed": seed, "steps": steps, "pairs_seen": steps * 16, "ndcg": sets(dl19, nq)}


@pytest.fixture
def report_path(tmp_path):
    points = [point("nq", 0, 300, 55.0, 50.0), point("nq", 1, 300, 57.0, 52.0), point("nq", 2, 300, 50.0, 51.0),
              point("nq", 0, 150, 52.0, 40.0), point("nq", 1, 150, 53.0, 41.0), point("nq", 2, 150, 54.0, 42.0),
              point("trec-crossfit", 0, 150, 60.0), point("trec-crossfit", 1, 150, 62.0)]
    report = {"format": budget_curve.FORMAT, "profile": "mini", "bm25": sets(50.0, 30.0), "teacher": sets(70.0, 60.0),
              "points": {budget_curve.point_name(p["training_data"], p["seed"], p["steps"]): p for p in points}}
    path = tmp_path / "results" / "benchmarks" / "mini" / "stage1_budget.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(report))
    return path


def test_seeds_become_mean_sd_and_range_per_training_data_and_steps(report_path):
    t = budget_curve.table(budget_curve.load(report_path))
    row = t.loc[("nq", 300, "dl19")]
    assert row["mean"] == pytest.approx(54.0) and row["sd"] == pytest.approx(statistics.stdev([55.0, 57.0, 50.0]))
    assert (row["min"], row["max"], row["seeds"], row["pairs seen"]) == (50.0, 57.0, 3, 4800)
    assert t.loc[("trec-crossfit", 150, "dl20"), "mean"] == pytest.approx(62.0)
    assert ("trec-crossfit", 150, "nq") not in t.index  # the in-domain student is never evaluated on NQ
    text = budget_curve.summary(budget_curve.load(report_path))
    assert list(text.columns) == ["nq", "dl19", "dl20", "noveleval"]
    assert text.loc[("nq", 150), "dl19"] == "53.00 ± 1.00 (n=3)"
    assert text.loc[("trec-crossfit", 150), "dl19"] == f"61.00 ± {statistics.stdev([60.0, 62.0]):.2f} (n=2)"


def test_the_curve_draws_every_seed_and_the_mean(report_path):
    fig = budget_curve.draw(budget_curve.load(report_path))
    axes = fig.axes
    assert [a.get_title() for a in axes] == ["NQ held-out (training domain)", "DL19", "DL20", "NovelEval"]
    dots, mean, in_dots, in_mean, bm25, teacher = axes[1].get_lines()
    assert sorted(zip(dots.get_xdata(), dots.get_ydata())) == [(150, 52.0), (150, 53.0), (150, 54.0),
                                                               (300, 50.0), (300, 55.0), (300, 57.0)]
    assert list(mean.get_xdata()) == [150, 300] and list(mean.get_ydata()) == pytest.approx([53.0, 54.0])
    assert list(in_mean.get_ydata()) == pytest.approx([61.0]) and list(in_dots.get_ydata()) == [60.0, 62.0]
    assert list(bm25.get_ydata()) == [50.0, 50.0] and list(teacher.get_ydata()) == [70.0, 70.0]
    assert len(axes[0].get_lines()) == 4  # NQ: the NQ student's dots and mean, BM25, teacher; no in-domain line
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
    del report["points"]["nq/seed0/150"]["pairs_seen"]
    report_path.write_text(json.dumps(report))
    with pytest.raises(ValueError, match=r"stage1_budget.json: point nq/seed0/150 has no 'pairs_seen'"):
        budget_curve.load(report_path)
    report["format"] = 7
    report_path.write_text(json.dumps(report))
    with pytest.raises(ValueError, match=r"stage1_budget.json: format 7, not 2: regenerate it with .*--seeds 0 1 2"):
        budget_curve.load(report_path)


def test_the_single_seed_format_of_before_is_read_as_nq_points_of_seed_0(tmp_path):
    old = {"profile": "mini", "depth": 30, "bm25": sets(50.0, 30.0), "teacher": sets(70.0, 60.0),
           "budgets": {"150": {"steps": 150, "pairs_seen": 2400, "ndcg": sets(52.0, 40.0)}}}
    path = tmp_path / "stage1_budget.json"
    path.write_text(json.dumps(old))
    report = budget_curve.load(path)
    assert report["upgraded_from"] == 1 and list(report["points"]) == ["nq/seed0/150"]
    assert budget_curve.summary(report).loc[("nq", 150), "dl19"] == "52.00 (n=1)"
    del old["budgets"]["150"]["steps"]
    path.write_text(json.dumps(old))
    with pytest.raises(ValueError, match="single-seed format without 'steps'"):
        budget_curve.load(path)


def test_this_runs_students_are_marked_where_they_were_trained(report_path):
    fig = budget_curve.draw(budget_curve.load(report_path), current={"nq": (150, {"dl19": 51.5}), "trec-crossfit": (150, {"dl19": 61.5})})
    by_title = {ax.get_title(): ax for ax in fig.axes}
    stars = [(l.get_xdata()[0], l.get_ydata()[0]) for l in by_title["DL19"].get_lines() if l.get_marker() == "*"]
    assert stars == [(150, 51.5), (150, 61.5)]
    assert not [l for l in by_title["NovelEval"].get_lines() if l.get_marker() == "*"]  # no value given for it


def test_the_resume_key_covers_stage1_and_retrieval_only():
    cfg = load_config("mini")
    key = budget_curve.resume_key(cfg)
    assert budget_curve.resume_key({**cfg, "stage2": {**cfg["stage2"], "lr": 1.0}}) == key  # Stage 2 changes no point
    assert budget_curve.resume_key({**cfg, "stage1": {**cfg["stage1"], "max_steps": 9}}) == key  # each point has its own
    assert budget_curve.resume_key({**cfg, "stage1": {**cfg["stage1"], "training_data": "trec-crossfit"}}) == key
    assert budget_curve.resume_key({**cfg, "stage1": {**cfg["stage1"], "lr": 1.0}}) != key
    assert budget_curve.resume_key({**cfg, "stage1": {**cfg["stage1"], "eval_depth": 10}}) != key  # the evaluation
    assert budget_curve.resume_key({**cfg, "retrieval": {**cfg["retrieval"], "nq_depth": 5}}) != key
    assert budget_curve.resume_key({**cfg, "seed": 1}) != key  # the NQ split
