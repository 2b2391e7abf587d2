"""Stage 1's side experiments are read from scripts/stage1_budget.py's JSON: what it reads, where it looks, what it
refuses, how seeds become a mean and a spread, how a student is paired with BM25 query by query, the loss ablation's
table, what its resume key covers, and how jobs share one file."""
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


QUERIES = ("q1", "q2", "q3", "q4")


def per_query(dl19):
    """Per-query nDCG@10 (0-1) of four queries whose mean is dl19 / 100 on DL19 (DL20, NovelEval: +1, +2 points)."""
    spread = (-0.1, 0.1, -0.05, 0.05)
    return {s: {q: (dl19 + i) / 100 + d for q, d in zip(QUERIES, spread)} for i, s in enumerate(("dl19", "dl20", "noveleval"))}


def point(td, seed, steps, dl19, nq=None, loss="ce+ranknet+kl"):
    return {"training_data": td, "loss": loss, "seed": seed, "steps": steps, "pairs_seen": steps * 16, "ndcg": sets(dl19, nq),
            "per_query": per_query(dl19)}


@pytest.fixture
def report_path(tmp_path):
    points = [point("nq", 0, 300, 55.0, 50.0), point("nq", 1, 300, 57.0, 52.0), point("nq", 2, 300, 50.0, 51.0),
              point("nq", 0, 150, 52.0, 40.0), point("nq", 1, 150, 53.0, 41.0), point("nq", 2, 150, 54.0, 42.0),
              point("trec-crossfit", 0, 150, 60.0), point("trec-crossfit", 1, 150, 62.0)]
    points += [point("nq", seed, 150, 40.0 + seed, loss="ce") for seed in (0, 1, 2)]
    report = {"format": budget_curve.FORMAT, "profile": "mini", "bm25": sets(50.0, 30.0), "teacher": sets(70.0, 60.0),
              "per_query": {"bm25": {s: {q: 0.5 for q in QUERIES} for s in ("dl19", "dl20", "noveleval")}},
              "points": {budget_curve.point_name(p["training_data"], p["loss"], p["seed"], p["steps"]): p for p in points}}
    path = tmp_path / "results" / "benchmarks" / "mini" / "stage1_budget.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(report))
    return path


def test_seeds_become_mean_sd_and_range_per_training_data_and_steps(report_path):
    t = budget_curve.table(budget_curve.load(report_path))
    row = t.loc[("nq", "ce+ranknet+kl", 300, "dl19")]
    assert row["mean"] == pytest.approx(54.0) and row["sd"] == pytest.approx(statistics.stdev([55.0, 57.0, 50.0]))
    assert (row["min"], row["max"], row["seeds"], row["pairs seen"]) == (50.0, 57.0, 3, 4800)
    assert t.loc[("trec-crossfit", "ce+ranknet+kl", 150, "dl20"), "mean"] == pytest.approx(62.0)
    assert ("trec-crossfit", "ce+ranknet+kl", 150, "nq") not in t.index  # the in-domain student is never evaluated on NQ
    assert t.loc[("nq", "ce", 150, "dl19"), "mean"] == pytest.approx(41.0)  # each loss its own row
    text = budget_curve.summary(budget_curve.load(report_path))
    assert list(text.columns) == ["nq", "dl19", "dl20", "noveleval"]
    assert text.loc[("nq", "ce+ranknet+kl", 150), "dl19"] == "53.00 ± 1.00 (n=3)"
    assert text.loc[("trec-crossfit", "ce+ranknet+kl", 150), "dl19"] == f"61.00 ± {statistics.stdev([60.0, 62.0]):.2f} (n=2)"


def test_the_curve_draws_every_seed_and_the_mean(report_path):
    fig = budget_curve.draw(budget_curve.load(report_path), "ce+ranknet+kl")
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
    del report["points"]["nq/ce+ranknet+kl/seed0/150"]["per_query"]
    report_path.write_text(json.dumps(report))
    with pytest.raises(ValueError, match=r"stage1_budget.json: point nq/ce\+ranknet\+kl/seed0/150 has no 'per_query'"):
        budget_curve.load(report_path)
    report["format"] = 2  # before the loss axis and the per-query values
    report_path.write_text(json.dumps(report))
    with pytest.raises(ValueError, match=r"stage1_budget.json: format 2, not 3: regenerate it with scripts/stage1_budget.py --profile mini "):
        budget_curve.load(report_path)


def test_a_student_is_paired_with_bm25_query_by_query_over_the_mean_of_its_seeds(report_path):
    report = budget_curve.load(report_path)
    t = budget_curve.paired(report, ("nq", "ce+ranknet+kl", 150))
    # seeds 52, 53, 54 on DL19: per query the mean over seeds is 0.53 + spread; BM25 is 0.5 on every query
    diffs = [0.53 + d - 0.5 for d in (-0.1, 0.1, -0.05, 0.05)]
    row = t.loc["dl19"]
    assert row["difference"] == pytest.approx(100 * statistics.mean(diffs)) and row["nDCG@10"] == pytest.approx(53.0)
    assert (row["seeds"], row["queries"], row["wins/ties/losses"]) == (3, 4, "2/0/2")  # q1 0.43 and q3 0.48 below 0.5
    assert 100 * min(diffs) <= row["low"] < row["difference"] < row["high"] <= 100 * max(diffs)
    assert not row["excludes 0"]  # two of four queries lose: these queries cannot tell the sign
    against = budget_curve.paired(report, ("nq", "ce+ranknet+kl", 300), ("nq", "ce+ranknet+kl", 150))
    assert against.loc["dl20", "difference"] == pytest.approx(54.0 - 53.0)  # the spreads cancel query by query
    assert against.loc["dl20", "low"] == pytest.approx(1.0) and against.loc["dl20", "excludes 0"]
    with pytest.raises(ValueError, match=r"no point nq/ce\+ranknet\+kl/999 evaluated on dl19"):
        budget_curve.paired(report, ("nq", "ce+ranknet+kl", 999))


def test_the_ablation_table_holds_each_loss_at_the_budget_with_most_losses(report_path):
    t = budget_curve.ablation(budget_curve.load(report_path))
    assert set(t["loss"]) == {"ce", "ce+ranknet+kl"} and set(t["steps"]) == {150}
    row = t[(t["loss"] == "ce") & (t["set"] == "dl20")].iloc[0]
    assert (row["mean"], row["seeds"], row["bm25"]) == (pytest.approx(42.0), 3, 51.0)
    assert row["sd"] == pytest.approx(1.0)


def test_this_runs_students_are_marked_where_they_were_trained(report_path):
    fig = budget_curve.draw(budget_curve.load(report_path), "ce+ranknet+kl", current={"nq": (150, {"dl19": 51.5}), "trec-crossfit": (150, {"dl19": 61.5})})
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
    assert budget_curve.resume_key({**cfg, "stage1": {**cfg["stage1"], "loss": "ce"}}) == key  # each point names its loss
    assert budget_curve.resume_key({**cfg, "stage1": {**cfg["stage1"], "lr": 1.0}}) != key
    assert budget_curve.resume_key({**cfg, "stage1": {**cfg["stage1"], "eval_depth": 10}}) != key  # the evaluation
    assert budget_curve.resume_key({**cfg, "retrieval": {**cfg["retrieval"], "nq_depth": 5}}) != key
    assert budget_curve.resume_key({**cfg, "seed": 1}) != key  # the NQ split


def _job(path, key, seeds, barrier):
    """One side-experiment job's writes, as `side_experiments.run` makes them: read once, then save after each point."""
    from pathlib import Path

    from dearlib.stage1 import side_experiments

    path = Path(path)
    report = {"format": budget_curve.FORMAT, "resume_key": key, "commands": [f"job {seeds}"], "points": {}, "per_query": {},
              "bm25": sets(50.0)}
    barrier.wait()  # both jobs have read nothing yet: without the merge, each would overwrite the other's points
    for seed in seeds:
        p = point("nq", seed, 150, 50.0 + seed)
        report["points"][budget_curve.point_name("nq", p["loss"], seed, 150)] = p
        side_experiments._save(path, report)


def test_jobs_sharing_one_file_keep_each_others_points(tmp_path):
    import multiprocessing

    path = tmp_path / "stage1_budget.json"
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    jobs = [ctx.Process(target=_job, args=(str(path), "k", seeds, barrier)) for seeds in (range(0, 20), range(20, 40))]
    for j in jobs:
        j.start()
    for j in jobs:
        j.join(60)
    assert [j.exitcode for j in jobs] == [0, 0]
    report = json.loads(path.read_text())
    assert sorted(p["seed"] for p in report["points"].values()) == list(range(40))
    assert sorted(report["commands"]) == ["job range(0, 20)", "job range(20, 40)"]
    # a file of another configuration is not merged in: the job starts afresh over it, as `run` does
    from dearlib.stage1 import side_experiments

    other = {"format": budget_curve.FORMAT, "resume_key": "another", "commands": ["other"], "points": {}, "per_query": {}}
    side_experiments._save(path, other)
    assert json.loads(path.read_text())["points"] == {}
