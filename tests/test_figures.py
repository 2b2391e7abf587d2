"""Figures and the reported-vs-reproduced table: missing files are named and skipped, stale configs flagged."""
import json
import math

import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from dearlib.core import config
from dearlib.evaluation import figures, metrics, report, results, systems, tables
from dearlib.evaluation.metrics import Evaluation


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
    (50.58, 50.58, 43, 43, ("reproduced", "+0.00")),
    (55.77, 55.44, 21, 21, ("reproduced", "-0.33")),
    (45.96, 45.46, None, None, ("reproduced", "-0.50")),  # exactly the tolerance
    (45.96, 45.45, None, None, ("differs", "-0.51")),
    (33.33, 28.57, 21, 21, ("differs", "-4.76")),
    (74.50, 80.00, 43, 43, ("differs", "+5.50")),
    (50.58, 62.01, 4, 43, ("not comparable", "4 of 43 queries")),  # a slice is never "reproduced"
    (50.58, None, None, 43, ("not run", "in this profile")),
])
def test_classify(reported, ours, n, m, expected):
    assert report.classify(reported, ours, report.TOLERANCE, n, m) == expected


def test_paper_comparison_rows(res):
    table = report.paper_comparison(res, "smoke")
    assert (table["source"] != "").all() and len(table) == sum(
        sum(1 for m in report.MEASURES if m in r) for r in report.reported() if r["table"] != "efficiency")
    assert set(table["status"]) <= set(report.STATUSES)
    row = lambda d, method, m: table[(table["dataset"] == d) & (table["method"] == method) & (table["measure"] == m)].iloc[0]
    status = lambda d, method, m: tuple(row(d, method, m)[["status", "detail"]])
    assert status("dl19", "BM25", "nDCG@10") == ("reproduced", "+0.00")
    assert status("noveleval", "BM25", "nDCG@1") == ("differs", "+22.11")  # 55.44 against 33.33
    dear_p = row("dl19", "DeAR-P-8B", "nDCG@10")  # the kit's small model: a difference is no failed reproduction
    assert dear_p["status"] == "not comparable" and "the kit's small models" in dear_p["detail"]
    assert "stage1.lr" in dear_p["warning"]
    assert status("dl19", "MonoT5-3B", "nDCG@10") == ("not run", "a baseline the kit does not implement")
    assert status("dl20", "DeAR-L-8B", "nDCG@10") == ("not run", "in this profile (notebook 04)")
    assert status("trec-covid", "DeAR-L-8B", "nDCG@10") == ("not run", "in this profile")
    assert "uncertain" in row("trec-covid", "DeAR-L-8B", "nDCG@10")["note"]
    with pytest.raises(report.ReproductionError, match=r"noveleval BM25 nDCG@1: reported 33\.33, ours 55\.44"):
        report.check(table)


def test_check_names_the_figure_that_differs_and_passes_a_match():
    row = {"dataset": "dl19", "method": "BM25", "measure": "nDCG@10", "reported": 50.58}
    table = pd.DataFrame([{**row, "ours": ours, **dict(zip(("status", "detail"), report.classify(50.58, ours, report.EXACT)))}
                          for ours in (50.58, 50.584)])
    assert report.check(table) == "reproduced: 2, differs: 0, not comparable: 0, not run: 0"
    table.loc[1, ["ours", "status", "detail"]] = [49.91, *report.classify(50.58, 49.91, report.EXACT)]
    with pytest.raises(report.ReproductionError,
                       match=r"^1 published figure\(s\) not reproduced: dl19 BM25 nDCG@10: reported 50\.58, ours 49\.91 "
                             r"\(differs by -0\.67\)$"):
        report.check(table)
    with pytest.raises(ValueError, match="statuses \\['differs by -0.67'\\]"):  # a free-text status is refused
        report.check(table.assign(status="differs by -0.67"))


def test_the_paper_profile_compares_the_dear_models_and_never_nq(tmp_path):
    cfg = cfg_for("paper")
    results.write_result(tmp_path, cfg, "dl19", "dear-p", ev(0.6, 43), results.now(), depth=100)
    results.write_result(tmp_path, cfg, "nq", "dear-p", Evaluation({"Top-1": 0.5429}, {"Top-1": {"q": 0.5429}}),
                         results.now(), depth=20)
    table = report.paper_comparison(tmp_path, "paper")
    row = lambda d, method, m: table[(table["dataset"] == d) & (table["method"] == method) & (table["measure"] == m)].iloc[0]
    assert tuple(row("dl19", "DeAR-P-8B", "nDCG@10")[["status", "detail"]]) == ("differs", "-14.50")
    nq = row("nq", "DeAR", "Top-1")  # equal to the abstract's figure, and still another question set and model
    assert nq["ours"] == 54.29 and nq["status"] == "not comparable" and "another question set" in nq["detail"]
    assert row("nq", "DeAR", "Top-1")["reported"] == 54.29
    md = report.markdown(table)
    assert md.count("\n") == len(table) + 2 and md.startswith("| table | dataset | method |")


def test_report_cli_prints_the_comparison(res, capsys):
    assert report.main(["--results", str(res), "--profile", "smoke", "--paper"]) == 0
    out = capsys.readouterr().out
    assert " reproduced " in out and "! dl19/dear-p.json: older or other config" in out
    assert "BEIR: 32 published figures (8 sets), not run in this profile" in out


# ------------------------------------------------------------------------------------------------- panels


def test_a_panel_without_any_input_is_skipped_and_names_the_files(tmp_path):
    coll = tables.Collection.load(tmp_path, "smoke")
    panel = figures.panel_ndcg_by_dataset(coll, report.reported())
    assert not panel.drawn and figures.save(panel, tmp_path / "figs") == []
    text = "\n".join(panel.messages)
    assert "dl19/bm25.json is missing: notebook 01 (01_candidate_retrieval.ipynb)" in text
    assert "noveleval/dear-l.json is missing: notebook 04" in text and "skipped" in text
    assert not figures.panel_efficiency(coll, report.reported()).drawn
    empty = figures.panel_loss_ablation(pd.DataFrame(columns=figures.ABLATION_COLUMNS))
    assert not empty.drawn and empty.messages == ["panel 'd_loss_ablation' skipped: the loss-ablation table has no row"]


def test_panels_draw_what_exists_and_flag_a_stale_config(res, tmp_path):
    coll = tables.Collection.load(res, "smoke")
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


def reference_collection():
    from conftest import ROOT

    return tables.Collection.load(ROOT / "docs" / "reference-run" / "results", "mini", 0)


def test_no_two_labels_of_the_efficiency_panel_overlap():
    """On the committed reference run, whose teacher (0.63 s) sat at the height of its nDCG@10 (61.1), and whose
    tick labels "DeAR-P" and "DeAR-P in-domain (control)" once ran into each other."""
    coll = reference_collection()
    fig = figures.panel_efficiency(coll, report.reported()).fig
    fig.draw_without_rendering()
    texts = [t for ax in fig.axes for t in ax.texts if t.get_text().strip()]
    ours = [s for s in systems.ids() if ("dl19", s) in coll.records]  # mini's zero-shot row runs on NovelEval only
    assert len(ours) >= 4  # bm25, teacher, dear-p, dear-l
    assert len(texts) == 2 * (5 + len(ours)) + 2  # time and nDCG@10 of 5 published and each of our systems, two headings
    assert figures.overlapping(texts) == []
    ticks = fig.axes[0].get_xticklabels()
    assert len(ticks) == 5 + len(ours) and figures.overlapping(ticks) == []
    assert all(t.get_window_extent().overlaps(fig.bbox) for t in ticks)  # none pushed off the figure


def test_long_tick_labels_are_wrapped_or_tilted_until_none_overlap():
    from matplotlib.figure import Figure

    names = [f"system number {i} (control)" for i in range(12)]
    assert figures._wrap("DeAR-P in-domain (control) †\ndepth 30") == "DeAR-P\nin-domain\n(control) †\ndepth 30"
    fig = Figure(figsize=(5, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xticks(range(12), names)
    fig.draw_without_rendering()
    assert figures.overlapping(ax.get_xticklabels())  # as they are, they do overlap: the check sees it
    ax.set_xticks(range(12), [figures._wrap(n) for n in names])
    figures._legible_xticks(fig, ax)
    fig.draw_without_rendering()
    assert figures.overlapping(ax.get_xticklabels()) == []
    assert {t.get_rotation() for t in ax.get_xticklabels()} == {90}  # wrapping alone was not enough: turned
    assert ax.get_xticklabels()[0].get_text() == names[0]  # on one line


def test_the_efficiency_footnote_names_both_published_dear_l_values_on_dl19():
    fig = figures.panel_efficiency(reference_collection(), report.reported()).fig
    paper = {r["system"]: r for r in report.reported() if r["table"] == "efficiency" and r["dataset"] == "dl19"}
    table = next(r for r in report.reported() if (r["table"], r["dataset"], r["system"]) == ("TREC DL", "dl19", "dear-l"))
    note = fig.get_supxlabel()
    assert f"DeAR-L-8B drawn at {paper['dear-l']['nDCG@10']:g}, the figure's value [FIG; README]" in note
    assert f"{table['nDCG@10']:g} in the README's DL table" in note and (paper["dear-l"]["nDCG@10"], table["nDCG@10"]) == (75.54, 77.91)


def test_titles_lie_inside_their_figures():
    """The wins / ties / losses title once ran past both edges of its figure (the pair names take the left margin)."""
    coll = reference_collection()
    for panel in (figures.panel_wins_losses(coll), figures.panel_efficiency(coll, report.reported()),
                  figures.panel_ndcg_by_dataset(coll, report.reported()), figures.panel_noveleval(coll, report.reported())):
        fig = panel.fig
        fig.draw_without_rendering()
        for ax in fig.axes:
            title = ax.title
            if title.get_text():
                box, inside = title.get_window_extent(), fig.bbox
                assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and box.y1 <= inside.y1, (panel.name, title.get_text())


# ------------------------------------------------------------------------------------------------- (d)


def ablation_table(**change):
    rows = [("ce+kl", "dl19", 52.0, 1.5, 3, 50.58), ("ce+kl", "dl20", 47.0, 0.5, 3, 47.96),
            ("ce+ranknet+kl", "dl19", 53.5, 2.0, 3, 50.58), ("ce+ranknet+kl", "dl20", 46.0, math.nan, 1, 47.96)]
    df = pd.DataFrame([{"loss": l, "set": d, "steps": 150, "mean": m, "sd": sd, "seeds": n, "bm25": b}
                       for l, d, m, sd, n, b in rows])
    return df.assign(**change)


def test_loss_ablation_draws_the_mean_over_seeds_with_the_spread_and_bm25():
    panel = figures.panel_loss_ablation(ablation_table(), "mini")
    ax = panel.fig.axes[0]
    bars = {c.get_label(): c for c in ax.containers if not c.get_label().startswith("_")}
    assert sorted(bars) == ["DL19", "DL20"] and [t.get_text() for t in ax.get_xticklabels()] == ["ce+kl", "ce+ranknet+kl"]
    assert [p.get_height() for p in bars["DL19"].patches] == [52.0, 53.5]
    assert [p.get_height() for p in bars["DL20"].patches] == [47.0, 46.0]
    assert drawn_intervals(bars["DL19"]) == [(50.5, 53.5), (51.5, 55.5)]  # mean ± sd
    assert drawn_intervals(bars["DL20"]) == [(46.5, 47.5)]  # the one-seed row (sd NaN) has no bar
    lines = {l.get_label(): l.get_ydata()[0] for l in ax.get_lines() if l.get_label().startswith("BM25")}
    assert lines == {"BM25 on DL19": 50.58, "BM25 on DL20": 47.96}
    assert ax.get_title() == "Stage-1 loss ablation (mini profile): 150 training steps per loss, mean of 1-3 seeds"
    same = figures.panel_loss_ablation(ablation_table(seeds=3, sd=1.0))
    assert same.fig.axes[0].get_title() == "Stage-1 loss ablation: 150 training steps per loss, mean of 3 seeds"


@pytest.mark.parametrize("table, error", [
    (ablation_table().drop(columns=["sd", "bm25"]), "lacks column\\(s\\) sd, bm25"),
    (pd.concat([ablation_table(), ablation_table().iloc[:1]]), "several rows for ce\\+kl on dl19"),
    (ablation_table(steps=[150, 150, 300, 300]), "mixes training budgets \\(150, 300 steps\\)"),
    (ablation_table(mean="high"), "column 'mean' is not numeric"),
    (ablation_table(bm25=[50.58, 47.96, 50.0, 47.96]), "BM25 several values on dl19"),
])
def test_loss_ablation_refuses_a_table_it_cannot_draw_honestly(table, error):
    with pytest.raises(ValueError, match=error):
        figures.panel_loss_ablation(table)
    with pytest.raises(TypeError, match="pandas DataFrame, not dict"):
        figures.panel_loss_ablation({"loss": ["ce"]})


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


# ------------------------------------------------------------------------------------------------- uncertainty


def ev_of(values: list[float]) -> Evaluation:
    """A result with these per-query values (q0, q1, ...) for every nDCG cutoff, the metric their mean."""
    per_query = {f"q{i}": v for i, v in enumerate(values)}
    return Evaluation({m: sum(values) / len(values) for m in metrics.NDCG}, {m: dict(per_query) for m in metrics.NDCG})


BM25_DL19 = [0.2, 0.5, 0.4, 0.9, 0.3, 0.6, 0.1, 0.7]
STEP_DL19 = [0.1, 0.0, 0.3, -0.2, 0.0, 0.15, 0.05, -0.1]  # DeAR-P minus BM25: 4 wins, 2 ties, 2 losses
TEACHER_DL19 = [0.3, 0.5, 0.8, 0.2, 0.35, 0.65, 0.6, 0.75]
BM25_NOVEL, DEARP_NOVEL = [0.1, 0.9, 0.5, 0.3, 0.6], [0.4, 0.9, 0.2, 0.5, 0.6]  # 2 wins, 2 ties, 1 loss


@pytest.fixture
def per_query_res(tmp_path):
    cfg = cfg_for()
    for dataset, system, values in (("dl19", "bm25", BM25_DL19), ("dl19", "teacher", TEACHER_DL19),
                                    ("dl19", "dear-p", [b + s for b, s in zip(BM25_DL19, STEP_DL19)]),
                                    ("noveleval", "bm25", BM25_NOVEL), ("noveleval", "dear-p", DEARP_NOVEL)):
        results.write_result(tmp_path, cfg, dataset, system, ev_of(values), results.now(), depth=10)
    return tables.Collection.load(tmp_path, "smoke")


def reference_ci(values, resamples=20_000, seed=123):
    """An independent percentile bootstrap of the mean (numpy only, another seed and resample count)."""
    import numpy as np

    x = np.asarray(values, dtype=float)
    means = x[np.random.default_rng(seed).integers(0, len(x), (resamples, len(x)))].mean(axis=1)
    return np.percentile(means, [2.5, 97.5]), x.std(ddof=1) / len(x) ** 0.5


def drawn_intervals(container):
    """(low, high) of each error bar of a bar or errorbar container, in drawing order."""
    errorbar = getattr(container, "errorbar", container)
    return [(min(s[:, 1]), max(s[:, 1])) for s in errorbar.lines[2][0].get_segments() if len(s)]  # none where NaN


def test_bootstrap_ci_matches_an_independent_bootstrap():
    for values in (BM25_DL19, TEACHER_DL19, STEP_DL19):
        (lo, hi), se = reference_ci(values)
        got = figures.bootstrap_ci(values)
        assert got[0] == pytest.approx(lo, abs=0.15 * se) and got[1] == pytest.approx(hi, abs=0.15 * se)
    assert all(math.isnan(v) for v in figures.bootstrap_ci([0.5]))  # one query: nothing to resample


def test_ci_bars_draw_the_bootstrap_interval_of_each_result(per_query_res):
    expected = {("BM25 (ours)", 0): BM25_DL19, ("teacher (ours)", 0): TEACHER_DL19, ("BM25 (ours)", 1): BM25_NOVEL,
                ("DeAR-P (ours)", 1): DEARP_NOVEL}
    for panel in (figures.panel_ci_bars(per_query_res, ["dl19", "noveleval"]),
                  figures.panel_ndcg_by_dataset(per_query_res, report.reported(), ["dl19", "noveleval"])):
        ax = panel.fig.axes[0]
        bars = {c.get_label(): c for c in ax.containers}
        seen = 0
        for (label, group), values in expected.items():
            container = bars[label]
            xs = [p.get_x() + p.get_width() / 2 for p in container.patches]
            i = min(range(len(xs)), key=lambda k: abs(xs[k] - group))  # the bar of that dataset
            (lo, hi), se = reference_ci([100 * v for v in values])
            assert container.patches[i].get_height() == pytest.approx(100 * sum(values) / len(values))
            got = drawn_intervals(container)[i]
            assert got[0] == pytest.approx(lo, abs=0.15 * se) and got[1] == pytest.approx(hi, abs=0.15 * se)
            seen += 1
        assert seen == 4
        paper = [c for label, c in bars.items() if "(paper)" in label]
        assert all(c.errorbar is None for c in paper)  # no per-query values published: no interval
        assert bool(paper) == (panel.name == "b_ndcg10_per_dataset")
        assert "scipy.stats.bootstrap" in panel.fig.get_supxlabel()
        assert any("dl19/dear-l.json is missing: notebook 04" in m for m in panel.messages)


def test_differences_panel_draws_each_query_and_the_interval_of_the_mean(per_query_res):
    diffs = figures.differences(per_query_res, ["dl19", "noveleval"])
    got = diffs[(diffs["dataset"] == "dl19") & (diffs["system"] == "dear-p")]["difference"].tolist()
    assert got == pytest.approx([100 * s for s in STEP_DL19])
    row = figures.mean_intervals(diffs).set_index(["dataset", "system"]).loc[("dl19", "dear-p")]
    (lo, hi), se = reference_ci([100 * s for s in STEP_DL19])
    assert row["queries"] == 8 and row["mean"] == pytest.approx(3.75)  # 0.3 / 8, x 100
    assert row["ci_low"] == pytest.approx(lo, abs=0.15 * se) and row["holds zero"] == (lo <= 0 <= hi)
    panel = figures.panel_differences(per_query_res, ["dl19", "noveleval"])
    assert panel.drawn and len(panel.fig.axes) == 2
    ax = panel.fig.axes[0]  # DL19: teacher and DeAR-P against BM25
    dots = sorted(y for c in ax.collections if isinstance(c, PathCollection) for _, y in c.get_offsets())
    hand = [100 * (t - b) for t, b in zip(TEACHER_DL19, BM25_DL19)] + [100 * s for s in STEP_DL19]
    assert dots == pytest.approx(sorted(hand))
    bars = {c.get_label(): c for c in ax.containers if c.get_label().startswith("dl19/")}
    (lo, hi), se = reference_ci([100 * s for s in STEP_DL19])
    mean_line = bars["dl19/dear-p"].lines[0]
    assert mean_line.get_ydata()[0] == pytest.approx(100 * sum(STEP_DL19) / len(STEP_DL19))
    (dlo, dhi), = drawn_intervals(bars["dl19/dear-p"])
    assert dlo == pytest.approx(lo, abs=0.15 * se) and dhi == pytest.approx(hi, abs=0.15 * se)
    assert "dl19/dear-l.json is missing: notebook 04" in "\n".join(panel.messages)
    assert sum("dl19/bm25.json" in m for m in panel.messages) == 0


def test_wins_losses_drawn_equal_the_table(per_query_res):
    panel = figures.panel_wins_losses(per_query_res, ["dl19", "noveleval"])
    ax = panel.fig.axes[0]
    drawn = {c.get_label(): [p.get_width() for p in c.patches] for c in ax.containers}  # top bar first
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["DL19: teacher vs BM25", "DL19: DeAR-P vs BM25", "NovelEval: DeAR-P vs BM25"]
    table = pd.concat([tables.comparisons(per_query_res, d) for d in ("dl19", "noveleval")]).dropna(subset=["wins"])
    for key in ("wins", "ties", "losses"):
        assert drawn[key] == table[key].tolist()
    assert [tuple(drawn[k][i] for k in ("wins", "ties", "losses")) for i in (1, 2)] == [(4, 2, 2), (2, 2, 1)]  # by hand
    assert "noveleval/teacher.json is missing: notebook 02" in "\n".join(panel.messages)


def test_uncertainty_panels_without_input_name_the_missing_files(tmp_path):
    coll = tables.Collection.load(tmp_path, "smoke")
    for panel in (figures.panel_ci_bars(coll), figures.panel_differences(coll), figures.panel_wins_losses(coll)):
        assert not panel.drawn and figures.save(panel, tmp_path / "figs") == []
        text = "\n".join(panel.messages)
        assert "dl19/bm25.json is missing: notebook 01 (01_candidate_retrieval.ipynb)" in text
        assert "noveleval/dear-l.json is missing: notebook 04" in text and "skipped" in text
        assert len(panel.messages) == len(set(panel.messages))


def test_differences_refuse_files_that_share_no_query(tmp_path):
    cfg = cfg_for()
    results.write_result(tmp_path, cfg, "dl19", "bm25", ev_of([0.1, 0.2]), results.now())
    results.write_result(tmp_path, cfg, "dl19", "dear-p", Evaluation({"nDCG@10": 0.5}, {"nDCG@10": {"x1": 0.5}}), results.now())
    with pytest.raises(ValueError, match=r"dl19/dear-p.json and .*dl19/bm25.json share no query id"):
        figures.differences(tables.Collection.load(tmp_path, "smoke"), ["dl19"], ["dear-p"])
