"""Evaluation from result files: paired tests against closed forms, wins/ties/losses, flags, tables, two-run comparison."""
import json
import math
import re
import shutil

import pytest

from dearlib.core import config
from dearlib.evaluation import figures, metrics, results, tables
from dearlib.evaluation.metrics import Evaluation


def t_pvalue_df2(t):
    """Two-sided p of Student's t with 2 degrees of freedom: its CDF is 1/2 + t / (2 sqrt(2 + t^2))."""
    return 1 - abs(t) / math.sqrt(2 + t * t)


def t_pvalue_df3(t):
    """Two-sided p of Student's t with 3 degrees of freedom: CDF 1/2 + (x / (1 + x^2) + atan x) / pi, x = t / sqrt 3."""
    x = abs(t) / math.sqrt(3)
    return 1 - 2 * (x / (1 + x * x) + math.atan(x)) / math.pi


def test_paired_t_and_wilcoxon_match_closed_forms():
    a = {"q1": 0.5, "q2": 0.7, "q3": 0.9}
    b = {"q1": 0.4, "q2": 0.5, "q3": 0.6, "only-b": 1.0}  # a query of one system only is left out
    r = tables.paired(a, b)
    # differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, t = 0.2 / (0.1 / sqrt 3) = 2 sqrt 3
    assert r["n"] == 3 and (r["wins"], r["ties"], r["losses"]) == (3, 0, 0)
    assert r["mean_diff"] == pytest.approx(0.2) and r["mean_b"] == pytest.approx(0.5)
    assert r["t"] == pytest.approx(2 * math.sqrt(3))
    assert r["p_t"] == pytest.approx(t_pvalue_df2(2 * math.sqrt(3)))  # 1 - sqrt(6/7) = 0.0742
    # Wilcoxon, exact for n = 3: all three signs positive has probability 1/8, two-sided 2/8
    assert r["wilcoxon_W"] == 0 and r["p_wilcoxon"] == pytest.approx(0.25)


def test_paired_keeps_ties_in_the_t_test_and_drops_them_from_wilcoxon():
    r = tables.paired({"1": 0.5, "2": 0.7, "3": 0.9, "4": 0.4}, {"1": 0.4, "2": 0.5, "3": 0.6, "4": 0.4})
    # differences 0.1, 0.2, 0.3, 0: mean 0.15, sd sqrt(0.05 / 3)
    t = 0.15 / (math.sqrt(0.05 / 3) / 2)
    assert (r["wins"], r["ties"], r["losses"]) == (3, 1, 0)
    assert r["t"] == pytest.approx(t) and r["p_t"] == pytest.approx(t_pvalue_df3(t))
    assert r["p_wilcoxon"] == pytest.approx(0.25)  # the zero difference is dropped: the n = 3 case above


def test_wins_ties_losses_counts_float_noise_as_a_tie():
    a = {"1": 0.5, "2": 0.1 + 0.2, "3": 0.3, "4": 0.0}
    b = {"1": 0.2, "2": 0.3, "3": 0.6, "4": 0.0}
    assert tables.wins_ties_losses(a, b) == (1, 2, 1)
    assert tables.wins_ties_losses(b, a) == (1, 2, 1)


def test_paired_refuses_disjoint_queries_and_says_when_no_test_applies():
    with pytest.raises(ValueError, match="no shared query ids"):
        tables.paired({"1": 0.5}, {"2": 0.5})
    same = tables.paired({"1": 0.5, "2": 0.2}, {"1": 0.5, "2": 0.2})
    assert same["ties"] == 2 and math.isnan(same["p_t"]) and math.isnan(same["p_wilcoxon"]) and "identical" in same["note"]
    one = tables.paired({"1": 0.5}, {"1": 0.2})
    assert one["wins"] == 1 and math.isnan(one["p_t"]) and "one shared query" in one["note"]


def test_paired_interval_brackets_the_mean_difference_over_the_shared_queries_only():
    # every shared query differs by 0.1: any resample's mean is 0.1, so the interval is [0.1, 0.1]; "z" is not shared
    a, b = {"x": 0.6, "y": 0.9, "z": 0.0}, {"y": 0.8, "x": 0.5, "w": 1.0}
    p = figures.paired_interval(a, b)
    assert p["n"] == 2 and p["ci_low"] == pytest.approx(0.1) and p["ci_high"] == pytest.approx(0.1)
    spread = figures.paired_interval({"1": 0.9, "2": 0.1, "3": 0.5}, {"1": 0.1, "2": 0.5, "3": 0.5})
    assert -0.4 - 1e-9 <= spread["ci_low"] < spread["mean_diff"] < spread["ci_high"] <= 0.8 + 1e-9  # within the extreme differences


def ev(values: dict[str, float]) -> Evaluation:
    per_query = {m: dict(values) for m in metrics.NDCG}
    return Evaluation({m: math.fsum(values.values()) / len(values) for m in metrics.NDCG}, per_query)


@pytest.fixture
def smoke_results(tmp_path):
    cfg = config.load_config("smoke")
    cfg["seed"] = 0
    results.write_result(tmp_path, cfg, "dl19", "bm25", ev({"a": 0.2, "b": 0.4, "c": 0.6}), results.now(), depth=20)
    results.write_result(tmp_path, cfg, "dl19", "dear-p", ev({"a": 0.5, "b": 0.4, "c": 0.9}), results.now(), depth=10,
                         seconds_per_query=0.25, device="cpu: test")
    old = json.loads(json.dumps(cfg))
    old["stage1"]["lr"] = 5e-4  # an older configuration
    results.write_result(tmp_path, old, "dl19", "teacher", ev({"a": 0.3, "b": 0.4, "c": 0.5}), results.now(), depth=10,
                         seconds_per_query=0.5, device="cpu: test")
    return tmp_path


def test_collection_flags_an_older_config_and_another_profile(smoke_results):
    mini = config.load_config("mini")
    mini["seed"] = 0
    path = results.write_result(smoke_results, mini, "dl19", "dear-l", ev({"a": 1.0}), results.now())
    shutil.copy(path, smoke_results / "smoke" / "dl19" / "dear-l.json")  # a mini file among the smoke ones
    coll = tables.Collection.load(smoke_results, "smoke", seed=0)
    assert coll.flags(coll.get("dl19", "bm25")) == [] and coll.flags(coll.get("dl19", "dear-p")) == []
    [teacher_flag] = coll.flags(coll.get("dl19", "teacher"))
    assert "older or other config" in teacher_flag and "stage1.lr" in teacher_flag
    assert any("written under profile 'mini'" in f for f in coll.flags(coll.get("dl19", "dear-l")))
    assert len(coll.warnings()) == 2
    # another seed is another configuration: every file is flagged
    other = tables.Collection.load(smoke_results, "smoke", seed=1)
    assert all(other.flags(r) for r in other.records.values()) and "(changed since: seed)" in other.flag_text("dl19", "bm25")


def test_ndcg_table_reports_a_missing_system_with_its_notebook(smoke_results):
    coll = tables.Collection.load(smoke_results, "smoke")
    table = tables.ndcg_table(coll, "dl19")
    assert table.loc["dear-p", "nDCG@10"] == round(100 * coll.get("dl19", "dear-p")["metrics"]["nDCG@10"], 2) == 60.0
    assert table.loc["dear-p", "queries"] == 3 and table.loc["dear-p", "depth"] == 10 and table.loc["dear-p", "status"] == "ok"
    assert table.loc["dear-l", "status"] == "not run (notebook 04)" and math.isnan(table.loc["dear-l", "nDCG@10"])
    assert "stage1.lr" in table.loc["teacher", "warning"]
    assert "notebook 04 (04_stage2_listwise.ipynb)" in coll.missing("dl19", "dear-l")


def test_comparisons_and_efficiency(smoke_results):
    coll = tables.Collection.load(smoke_results, "smoke")
    sig = tables.comparisons(coll, "dl19").set_index(["system", "baseline"])
    row = sig.loc[("dear-p", "bm25")]
    assert (row["n"], row["wins"], row["ties"], row["losses"]) == (3, 2, 1, 0)
    assert row["mean_diff"] == pytest.approx(100 * (0.3 + 0.0 + 0.3) / 3)
    assert "not run (notebook 04): dear-l" in sig.loc[("dear-l", "bm25"), "note"]
    eff = tables.efficiency_table(coll, ["dl19"]).set_index("system")
    assert eff.loc["dear-p", "seconds_per_query"] == 0.25 and eff.loc["dear-p", "device"] == "cpu: test"
    assert math.isnan(eff.loc["bm25", "seconds_per_query"]) and "no time recorded" in eff.loc["bm25", "note"]


def test_no_shared_query_is_an_error_naming_the_pair(tmp_path):
    cfg = config.load_config("smoke")
    cfg["seed"] = 0
    results.write_result(tmp_path, cfg, "dl20", "bm25", ev({"a": 0.2}), results.now())
    results.write_result(tmp_path, cfg, "dl20", "dear-p", ev({"z": 0.2}), results.now())
    with pytest.raises(ValueError, match="dl20: dear-p vs bm25: no shared query ids"):
        tables.comparisons(tables.Collection.load(tmp_path, "smoke"), "dl20")


def test_summary_is_written_beside_the_results_and_never_read_as_one(smoke_results):
    coll = tables.Collection.load(smoke_results, "smoke")
    paths = tables.write_summary(coll)
    assert paths["summary"] == smoke_results / "smoke" / "tables" / "evaluation.json"
    summary = json.loads(paths["summary"].read_text())
    assert {r["system"] for r in summary["ndcg"] if r["dataset"] == "dl19" and r["status"] == "ok"} == {"bm25", "teacher", "dear-p"}
    assert len(summary["beir"]) == 8 and summary["warnings"]
    assert len(results.load_results(smoke_results, "smoke")) == 3  # tables/*.json are not result files
    assert len(tables.Collection.load(smoke_results, "smoke").records) == 3


def test_compare_runs_ignores_timings_and_finds_metric_changes(tmp_path):
    cfg = config.load_config("smoke")
    for run, seconds in (("a", 0.1), ("b", 0.9)):
        results.write_result(tmp_path / run, cfg, "dl19", "dear-p", ev({"q": 0.5, "r": 0.25}), results.now(),
                             seconds_per_query=seconds)
    assert tables.compare_runs(tmp_path / "a", tmp_path / "b", "smoke") == []
    results.write_result(tmp_path / "b", cfg, "dl19", "dear-p", ev({"q": 0.5, "r": 0.3}), results.now())
    results.write_result(tmp_path / "b", cfg, "dl19", "bm25", ev({"q": 0.5}), results.now())
    diffs = tables.compare_runs(tmp_path / "a", tmp_path / "b", "smoke")
    assert any("bm25.json only in" in d for d in diffs)
    assert any("dear-p.json nDCG@10: 0.375 != " in d for d in diffs)
    assert any("1 queries differ (e.g. ['r'])" in d for d in diffs)
    assert tables.main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--profile", "smoke"]) == 1


def edit_result(path, **change):
    """Rewrite one value of a result file as a hand or another tool might: change = {key: (measure, value)}."""
    rec = json.loads(path.read_text())
    for key, (m, value) in change.items():
        if key == "metrics":
            rec["metrics"][m] = value
        else:
            rec["per_query"][m]["r"] = value
    path.write_text(json.dumps(rec))  # json writes float("nan") as NaN, which Python's reader takes back


@pytest.mark.parametrize("where, said", [("metrics", "metric 'nDCG@10' is {v}, not a finite number"),
                                         ("per_query", "per_query['nDCG@10']['r'] is {v}, not a finite number")])
@pytest.mark.parametrize("value_a, value_b", [(math.nan, 0.5), (0.5, math.nan), (math.inf, 0.5)])
def test_compare_refuses_a_nan_naming_the_file(tmp_path, capsys, where, said, value_a, value_b):
    # a NaN is no result: compare names the file and value rather than listing it as a difference (or, NaN in both,
    # as no difference)
    cfg = config.load_config("smoke")
    paths = [results.write_result(tmp_path / run, cfg, "dl19", "bm25", ev({"q": 0.5, "r": 0.5}), results.now())
             for run in "ab"]
    for path, value in zip(paths, (value_a, value_b)):
        edit_result(path, **{where: ("nDCG@10", value)})
    bad, value = (paths[0], value_a) if not math.isfinite(value_a) else (paths[1], value_b)
    with pytest.raises(ValueError, match=re.escape(f"{bad}: {said.format(v=value)}")):
        tables.compare_runs(tmp_path / "a", tmp_path / "b", "smoke")
    assert tables.main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--profile", "smoke"]) == 2
    assert f"error: {bad}: {said.format(v=value)}" in capsys.readouterr().err


def test_compare_with_a_missing_folder_names_it(tmp_path, capsys):
    cfg = config.load_config("smoke")
    results.write_result(tmp_path / "a", cfg, "dl19", "bm25", ev({"q": 0.5}), results.now())
    for args in (("a", "typo"), ("typo", "a")):
        with pytest.raises(FileNotFoundError, match=rf"results folder {tmp_path / 'typo'} does not exist"):
            tables.compare_runs(*(tmp_path / x for x in args), "smoke")
        assert tables.main(["compare", *(str(tmp_path / x) for x in args), "--profile", "smoke"]) == 2
        out, err = capsys.readouterr()
        assert f"error: results folder {tmp_path / 'typo'} does not exist" in err and "only in" not in out
