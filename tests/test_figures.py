"""Figures and the reported-vs-reproduced table: missing files are named and skipped, stale configs flagged."""
import json
import math

import pytest

from dearlib import config, evaluation, figures, metrics, report, results
from dearlib.metrics import Evaluation


def ev(value: float, n: int) -> Evaluation:
    per_query = {m: {f"q{i}": value for i in range(n)} for m in metrics.NDCG}
    return Evaluation({m: value for m in metrics.NDCG}, per_query)


def cfg_for(profile="smoke", **stage1):
    cfg = config.load_config(profile)
    cfg["seed"] = 0
    cfg["stage1"].update(stage1)
    return cfg


@pytest.fixture
def res(tmp_path):
    cfg = cfg_for()
    results.write_result(tmp_path, cfg, "dl19", "bm25", ev(0.5058, 43), results.now(), depth=100)
    results.write_result(tmp_path, cfg, "noveleval", "bm25", ev(0.5544, 21), results.now(), depth=20)
    results.write_result(tmp_path, cfg_for(lr=0.5), "dl19", "dear-p", ev(0.6, 43), results.now(), depth=30,
                         seconds_per_query=0.6, device="cpu: test")  # an older config
    return tmp_path


# ------------------------------------------------------------------------------------------------- classification


@pytest.mark.parametrize("reported, ours, n, m, expected", [
    (50.58, 50.58, 43, 43, "reproduced within tolerance"),
    (55.77, 55.44, 21, 21, "reproduced within tolerance"),  # 0.33 points
    (45.96, 45.46, None, None, "reproduced within tolerance"),  # exactly the tolerance
    (45.96, 45.45, None, None, "differs by -0.51"),
    (33.33, 28.57, 21, 21, "differs by -4.76"),
    (74.50, 80.00, 43, 43, "differs by +5.50"),
    (50.58, 62.01, 4, 43, "not comparable (4 of 43 queries)"),  # a slice is never "reproduced"
    (50.58, None, None, 43, "not run in this profile"),
])
def test_classify(reported, ours, n, m, expected):
    assert report.classify(reported, ours, report.TOLERANCE, n, m) == expected


def test_paper_comparison_rows(res):
    table = report.paper_comparison(res, "smoke")
    assert (table["source"] != "").all() and len(table) == sum(
        sum(1 for m in report.MEASURES if m in r) for r in report.reported() if r["table"] != "efficiency")
    row = lambda d, method, m: table[(table["dataset"] == d) & (table["method"] == method) & (table["measure"] == m)].iloc[0]
    assert row("dl19", "BM25", "nDCG@10")["status"] == "reproduced within tolerance"
    assert row("noveleval", "BM25", "nDCG@1")["status"] == "differs by +22.11"  # 55.44 against 33.33
    dear_p = row("dl19", "DeAR-P-8B", "nDCG@10")
    assert dear_p["status"] == "differs by -14.50" and "stage1.lr" in dear_p["warning"]
    assert "the kit's small models" in dear_p["note"]
    assert row("dl19", "MonoT5-3B", "nDCG@10")["status"] == "not run (a baseline the kit does not implement)"
    assert row("dl20", "DeAR-L-8B", "nDCG@10")["status"] == "not run in this profile (notebook 04)"
    assert row("trec-covid", "DeAR-L-8B", "nDCG@10")["status"] == "not run in this profile"
    assert "uncertain" in row("trec-covid", "DeAR-L-8B", "nDCG@10")["note"]
    assert row("nq", "DeAR", "Top-1")["reported"] == 54.29
    md = report.markdown(table)
    assert md.count("\n") == len(table) + 2 and md.startswith("| table | dataset | method |")


def test_report_cli_prints_the_comparison(res, capsys):
    assert report.main(["--results", str(res), "--profile", "smoke", "--paper"]) == 0
    out = capsys.readouterr().out
    assert "reproduced within tolerance" in out and "! dl19/dear-p.json: older or other config" in out
    assert "BEIR: 32 published figures (8 sets), not run in this profile" in out


# ------------------------------------------------------------------------------------------------- panels


def test_a_panel_without_any_input_is_skipped_and_names_the_files(tmp_path):
    coll = evaluation.Collection.load(tmp_path, "smoke")
    panel = figures.panel_ndcg_by_dataset(coll, report.reported())
    assert not panel.drawn and figures.save(panel, tmp_path / "figs") == []
    text = "\n".join(panel.messages)
    assert "dl19/bm25.json is missing: notebook 01 (01_candidate_retrieval.ipynb)" in text
    assert "noveleval/dear-l.json is missing: notebook 04" in text and "skipped" in text
    assert not figures.panel_efficiency(coll, report.reported()).drawn
    assert not figures.panel_loss_ablation(coll, ["ce"], ["noveleval"]).drawn


def test_panels_draw_what_exists_and_flag_a_stale_config(res, tmp_path):
    coll = evaluation.Collection.load(res, "smoke")
    panel = figures.panel_ndcg_by_dataset(coll, report.reported())
    assert panel.drawn
    labels = [t.get_text() for t in panel.fig.axes[0].get_legend().get_texts()]
    assert "DeAR-P (ours) †" in labels and "BM25 (ours)" in labels and "DeAR-L-8B (paper)" in labels
    assert any(m.startswith("flagged †: dl19/dear-p.json") and "stage1.lr" in m for m in panel.messages)
    assert any("dl20/bm25.json is missing: notebook 01" in m for m in panel.messages)
    written = figures.save(panel, tmp_path / "figs")
    assert [p.suffix for p in written] == [".png", ".pdf"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and written[1].read_bytes()[:5] == b"%PDF-"
    eff = figures.panel_efficiency(coll, report.reported())
    assert eff.drawn and any("bm25.json records no seconds_per_query" in m for m in eff.messages)
    ticks = [t.get_text() for t in eff.fig.axes[0].get_xticklabels()]
    assert "RankZephyr" in ticks and "DeAR-P †\ndepth 30" in ticks


def test_training_curves_skip_missing_files(tmp_path):
    good = tmp_path / "s1.json"
    good.write_text(json.dumps([{"step": 1, "loss": 1.2}, {"step": 2, "loss": 0.9}, {"step": 3, "loss": math.nan}]))
    stages = {"Stage 1": {"main": (good, "notebook 02")}, "Stage 2": {"sft": (tmp_path / "none.json", "notebook 04")}}
    panel = figures.panel_training_curves(stages, "smoke")
    assert panel.drawn and len(panel.fig.axes) == 1
    assert list(panel.fig.axes[0].lines[0].get_ydata()) == [1.2, 0.9]  # the non-finite point is left out
    assert panel.messages == [f"missing: {tmp_path / 'none.json'} (notebook 04 writes it)"]
    assert not figures.panel_training_curves({"Stage 2": stages["Stage 2"]}, "smoke").drawn
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"step": 1}))
    with pytest.raises(ValueError, match="not a loss curve"):
        figures.read_curve(bad)
