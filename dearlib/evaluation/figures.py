"""The paper's figures, redrawn from result files (and training-loss curves), beside the figures it reports.

Each ``panel_*`` function reads a `dearlib.evaluation.tables.Collection` (the result files of one profile) and the
published figures (`dearlib.evaluation.report.reported`), and returns a `Panel`: a matplotlib Figure (None when none of its
inputs exists) and messages naming every missing input file with the notebook that writes it. A result file
written under another profile or an older configuration is drawn with a dagger (†) in its label and named in the
messages, never mixed in silently. `save` writes a panel as PNG and PDF, atomically.

Panels: (a) the efficiency trade-off on DL19 (time per query as bars, nDCG@10 as a line; the paper's points and
ours), (b) nDCG@10 per dataset, (c) NovelEval nDCG@1/5/10, (d) the Stage-1 loss ablation (from a table the caller
passes: mean and sd over seeds per loss and set, `ABLATION_COLUMNS`), (e) training curves of both stages
(``loss_curve.json``: a list of {"step", "loss", ...}).

Uncertainty (the sets have 21 to 54 queries, so a mean alone says little): our bars carry a 95% percentile
bootstrap interval over queries (`bootstrap_ci`: scipy.stats.bootstrap, queries resampled with replacement, a fixed
seed); `panel_ci_bars` draws them for any datasets and systems, and panel (b) uses them. `panel_differences` shows
the per-query differences of each reranker against BM25 as a distribution with the mean difference and its
interval (`mean_intervals` gives them as a table); `panel_wins_losses` draws the wins / ties / losses of
`evaluation.comparisons` as stacked bars. The published figures have no per-query values, so they get no
interval. This module computes no ranking measure (it reads the per-query values the result files hold) and
runs no model.
"""
from __future__ import annotations

import io
import json
import math
import textwrap
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..core import atomic
from . import systems as registry
from .tables import COMPARISONS, EVAL_SETS, Collection, comparisons, paired

DATASET_NAMES = {"dl19": "DL19", "dl20": "DL20", "noveleval": "NovelEval", "nq": "NQ"}


def shown_name(key: str) -> str:
    """A system's display name (the registry's) or a dataset's; anything else as it is."""
    return registry.name(key) if registry.get(key) else DATASET_NAMES.get(key, key)


DAGGER = " †"
STALE_NOTE = "† result file from another profile or an older config (see the notebook's messages)"
CI_LEVEL, RESAMPLES, CI_SEED = 0.95, 10_000, 0
CI_NOTE = (f"error bars: {CI_LEVEL:.0%} percentile bootstrap interval of the mean over queries "
           f"(scipy.stats.bootstrap, {RESAMPLES:,} resamples, seed {CI_SEED})")


@dataclass
class Panel:
    name: str  # file stem: <figures_dir>/<profile>/<name>.png and .pdf (a run: outputs/figures/<profile>/)
    fig: Figure | None = None
    messages: list[str] = field(default_factory=list)

    @property
    def drawn(self) -> bool:
        return self.fig is not None


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _lookup(coll: Collection, panel: Panel, dataset: str, system: str) -> dict | None:
    """The result record, or None with a message naming the missing file; flags go into the messages too."""
    rec = coll.get(dataset, system)
    found = [f"missing: {coll.missing(dataset, system)}"] if rec is None else [
        f"flagged{DAGGER}: {dataset}/{system}.json {f}" for f in coll.flags(rec)]
    panel.messages.extend(m for m in found if m not in panel.messages)  # a baseline looked up per pair: said once
    return rec


def _label(coll: Collection, dataset: str, system: str, text: str) -> str:
    rec = coll.get(dataset, system)
    return text + (DAGGER if rec and coll.flags(rec) else "")


def _published(reported: list[dict], table: str, dataset: str, system: str) -> dict | None:
    return next((r for r in reported if r["table"] == table and r["dataset"] == dataset and r["system"] == system), None)


def _footnote(fig: Figure, flagged: bool, extra: str = "") -> None:
    text = "\n".join(t for t in (STALE_NOTE if flagged else "", extra) if t)
    if text:  # a figure-level x label: the constrained layout makes room for it
        fig.supxlabel(text, fontsize=7, color="#444444", x=0.01, ha="left")


def _skip(panel: Panel, what: str) -> Panel:
    panel.messages.append(f"panel '{panel.name}' skipped: {what}")
    return panel


def _wrap(text: str, width: int = 11) -> str:
    """Each line of a tick label wrapped at spaces to `width` characters (a long name never runs into its neighbour's)."""
    return "\n".join(textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False) or line
                     for line in text.split("\n"))


def overlapping(texts) -> list[tuple[str, str]]:
    """The pairs of drawn texts whose boxes intersect (the figure must have been drawn: `fig.draw_without_rendering()`)."""
    boxes = [(t.get_text(), t.get_window_extent()) for t in texts if t.get_visible() and t.get_text().strip()]
    return [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1:] if box_a.overlaps(box_b)]


def _legible_xticks(fig: Figure, ax) -> None:
    """When the x tick labels, wrapped, still touch (more systems than the width holds), each goes on one line,
    turned upright: a turned label takes one line's height of the axis, however long it is."""
    fig.draw_without_rendering()
    if overlapping(ax.get_xticklabels()):
        ticks = ax.get_xticks()
        ax.set_xticks(ticks, [" ".join(t.get_text().split()) for t in ax.get_xticklabels()], rotation=90)


# ------------------------------------------------------------------------------------------------- (a)


def panel_efficiency(coll: Collection, reported: list[dict], dataset: str = "dl19") -> Panel:
    """(a) Time per query (bars, log scale) and nDCG@10 (line) per method: the paper's points, then ours."""
    panel = Panel("a_efficiency_tradeoff")
    paper = [r for r in reported if r["table"] == "efficiency" and r["dataset"] == dataset]
    ours = []
    for s in registry.ids():
        rec = _lookup(coll, panel, dataset, s)
        if rec is not None:
            ours.append((s, rec))
    if not ours:
        return _skip(panel, f"no result file of ours on {dataset}")
    fig = _figure(9.5, 4.6)
    ax = fig.add_subplot()
    ax2 = ax.twinx()
    labels, xs_p, xs_o = [], [], []

    def time_label(x, text, **kw):
        # at the foot of the bar, where the nDCG@10 line (its own axis, 0-100) does not run: a label on top of
        # the bar met the line's labels wherever a time and an nDCG value fell at the same height
        ax.text(x, 0.015, text, transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=7,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8}, **kw)

    for i, r in enumerate(paper):
        ax.bar(i, r["seconds_per_query"], color="white", edgecolor="#555555", hatch="//", width=0.6)
        time_label(i, f"{r['seconds_per_query']:g} s")
        labels.append(r["method"])
        xs_p.append(i)
    offset = len(paper) + 0.6 if paper else 0
    devices = set()
    for j, (s, rec) in enumerate(ours):
        x = offset + j
        sec = rec["provenance"].get("seconds_per_query")
        devices.add(rec["provenance"].get("device", "?"))
        if sec:
            ax.bar(x, sec, color=registry.color(s), width=0.6, alpha=0.85)
            parts = rec["provenance"].get("stage_seconds_per_query") or {}
            split = "".join(f"\n{'+ ' if i else ''}{k} {v:.2g}" for i, (k, v) in enumerate(parts.items()))  # narrow as a bar
            time_label(x, f"{sec:.2g} s{split}")
        else:
            time_label(x, "time not\nrecorded", color="#555555")
            panel.messages.append(f"{dataset}/{s}.json records no seconds_per_query: drawn without a time bar")
        labels.append(_wrap(_label(coll, dataset, s, shown_name(s))) + f"\ndepth {rec['provenance'].get('depth')}")
        xs_o.append(x)
    if paper:
        ax2.plot(xs_p, [r["nDCG@10"] for r in paper], "k-o", label="nDCG@10, paper")
    ax2.plot(xs_o, [100 * rec["metrics"]["nDCG@10"] for _, rec in ours], "-s", color="#d62728", label=f"nDCG@10, ours ({coll.profile})")
    for x, y in list(zip(xs_p, [r["nDCG@10"] for r in paper])) + [(x, 100 * rec["metrics"]["nDCG@10"]) for x, (_, rec) in zip(xs_o, ours)]:
        ax2.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(7, -3), ha="left", fontsize=7,
                     bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    ax.set_yscale("log")
    ax.set_ylim(1e-4, 200)
    ax.set_ylabel("time per query (seconds, log scale; bars)")
    ax2.set_ylabel(f"{shown_name(dataset)} nDCG@10 (x 100; line)")
    ax2.set_ylim(0, 100)
    ax.set_xticks(xs_p + xs_o, labels, fontsize=7)
    if paper:
        ax.axvline(offset - 0.8, color="#999999", lw=0.8, ls=":")
        ax.text((len(paper) - 1) / 2, 0.97, "the paper's figure", transform=ax.get_xaxis_transform(), ha="center",
                va="top", fontsize=8, style="italic")
    ax.text(offset + (len(ours) - 1) / 2, 0.97, f"this kit ({coll.profile})", transform=ax.get_xaxis_transform(),
            ha="center", va="top", fontsize=8, style="italic")
    ax.set_title(f"Efficiency trade-off on {shown_name(dataset)}: the paper's figure (GPUs; it prints no time unit, "
                 f"seconds per query assumed)\nand this kit ({coll.profile} profile, {', '.join(sorted(devices))})", fontsize=9)
    ax2.legend(loc="upper right", bbox_to_anchor=(1, 0.92), fontsize=7)
    # a published point with a caution in reported.yaml (DeAR-L on DL19: the figure's value, not the README table's)
    notes = [f"{r['method']} drawn at {r['nDCG@10']:g}, the figure's value [{r['source']}]: {r['note']}"
             for r in paper if r.get("note")]
    _footnote(fig, any(DAGGER in l for l in labels), "\n".join(["teacher time may come from its score cache", *notes]))
    _legible_xticks(fig, ax)
    panel.fig = fig
    return panel


# ------------------------------------------------------------------------------------------------- (b), (c)


def bootstrap_ci(values, seed: int = CI_SEED) -> tuple[float, float]:
    """The 95% percentile bootstrap interval of the mean of `values` (one value per query, resampled with
    replacement, `RESAMPLES` times); (nan, nan) with fewer than two values, where resampling says nothing."""
    from scipy import stats

    x = np.asarray(list(values), dtype=float)
    if len(x) < 2:
        return math.nan, math.nan
    ci = stats.bootstrap((x,), np.mean, confidence_level=CI_LEVEL, n_resamples=RESAMPLES, method="percentile",
                         random_state=seed).confidence_interval
    return float(ci.low), float(ci.high)


def paired_interval(a: dict[str, float], b: dict[str, float]) -> dict:
    """`dearlib.evaluation.tables.paired`, plus the 95% bootstrap interval of the mean difference over the shared
    queries in id order (`bootstrap_ci`: queries resampled, so the interval is paired): ``ci_low``, ``ci_high``."""
    out = paired(a, b)
    out["ci_low"], out["ci_high"] = bootstrap_ci([a[q] - b[q] for q in sorted(set(a) & set(b))])
    return out


def per_query(rec: dict, measure: str = "nDCG@10") -> dict[str, float]:
    """A result record's per-query values of one measure; a file without them is named, never read as empty."""
    values = rec["per_query"].get(measure)
    if not values:
        raise ValueError(f"{rec.get('_path', rec['dataset'] + '/' + rec['system'] + '.json')}: no per-query {measure} values")
    return values


def _grouped_bars(ax, groups: list[str], series: list[tuple[str, dict, dict]], width: float,
                  cis: dict[str, dict] | None = None) -> None:
    """series: (label, {group: value}, style) drawn side by side per group; a missing value leaves a gap.
    cis: {label: {group: (low, high)}}: an error bar from low to high on that bar (none where it is nan)."""
    n = len(series)
    for i, (label, values, style) in enumerate(series):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(groups)) if groups[g] in values]
        keys = [groups[g] for g in range(len(groups)) if groups[g] in values]
        ys = [values[k] for k in keys]
        ci = [(cis or {}).get(label, {}).get(k, (math.nan, math.nan)) for k in keys]
        yerr = None
        if any(math.isfinite(lo) for lo, _ in ci):
            # NaN where a bar has no interval: matplotlib then draws no bar there (a 0 would draw caps, "no spread")
            yerr = np.array([[max(0.0, y - lo) if math.isfinite(lo) else math.nan for y, (lo, _) in zip(ys, ci)],
                             [max(0.0, hi - y) if math.isfinite(hi) else math.nan for y, (_, hi) in zip(ys, ci)]])
        ax.bar(xs, ys, width, label=label, yerr=yerr, capsize=2, error_kw={"lw": 0.8}, **style)
        for x, y, (_, hi) in zip(xs, ys, ci):
            ax.annotate(f"{y:.1f}", (x, hi if math.isfinite(hi) else y), ha="center", va="bottom", fontsize=6, rotation=90,
                        xytext=(0, 2), textcoords="offset points",
                        bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})


def _ours_with_ci(coll: Collection, panel: Panel, datasets, systems, measure: str):
    """Our bars (x 100) with their bootstrap intervals: (series, cis, flagged, queries per dataset)."""
    series, cis, flagged, queries = [], {}, False, {}
    for s in systems:
        values, ci = {}, {}
        for d in datasets:
            rec = _lookup(coll, panel, d, s)
            if rec is not None:
                pq = per_query(rec, measure)
                values[d] = 100 * rec["metrics"][measure]
                ci[d] = tuple(100 * v for v in bootstrap_ci(pq.values()))
                flagged |= bool(coll.flags(rec))
                queries.setdefault(d, len(pq))
                if len(pq) < 2:
                    panel.messages.append(f"{d}/{s}.json: {len(pq)} query, no interval drawn")
        if values:
            label = f"{shown_name(s)} (ours){DAGGER if any(coll.flags(coll.get(d, s)) for d in values) else ''}"
            series.append((label, values, {"color": registry.color(s, None)}))
            cis[label] = ci
    return series, cis, flagged, queries


def _draw_bars(panel: Panel, coll: Collection, datasets, series, cis, flagged, queries, measure, title, note) -> Panel:
    fig = _figure(9, 4.4)
    ax = fig.add_subplot()
    _grouped_bars(ax, list(datasets), series, width=0.8 / len(series), cis=cis)
    ax.set_xticks(range(len(datasets)), [f"{shown_name(d)}\n({queries.get(d, 0)} queries here)" for d in datasets])
    ax.set_ylabel(f"{measure} (x 100)")
    ax.set_ylim(0, 105)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    _footnote(fig, flagged, note)
    panel.fig = fig
    return panel


def panel_ci_bars(coll: Collection, datasets=EVAL_SETS, systems=None, measure: str = "nDCG@10") -> Panel:
    """A measure per dataset and system (ours only), each bar with its 95% bootstrap interval over queries."""
    panel = Panel(f"{measure.replace('@', '')}_ci_per_dataset".lower())
    systems = registry.ids() if systems is None else systems
    series, cis, flagged, queries = _ours_with_ci(coll, panel, datasets, systems, measure)
    if not series:
        return _skip(panel, "no result file of ours on " + ", ".join(datasets))
    return _draw_bars(panel, coll, datasets, series, cis, flagged, queries, measure,
                      f"{measure} per dataset with 95% intervals over queries ({coll.profile} profile)", CI_NOTE)


def panel_ndcg_by_dataset(coll: Collection, reported: list[dict], datasets=EVAL_SETS) -> Panel:
    """(b) nDCG@10 per dataset: ours (BM25, teacher, DeAR-P, DeAR-L, with bootstrap intervals) beside the paper's
    (hatched, no interval: the paper gives no per-query values)."""
    panel = Panel("b_ndcg10_per_dataset")
    series, cis, flagged, queries = _ours_with_ci(coll, panel, datasets, registry.ids(), "nDCG@10")
    if not series:
        return _skip(panel, "no result file of ours on " + ", ".join(datasets))
    for s, method in (("bm25", "BM25"), ("dear-p", "DeAR-P-8B"), ("dear-l", "DeAR-L-8B")):
        values = {}
        for d in datasets:
            r = _published(reported, "TREC DL" if d in ("dl19", "dl20") else "NovelEval", d, s)
            if r and "nDCG@10" in r:
                values[d] = r["nDCG@10"]
        if values:
            series.append((f"{method} (paper)", values, {"color": "white", "edgecolor": registry.color(s), "hatch": "//"}))
    return _draw_bars(panel, coll, datasets, series, cis, flagged, queries, "nDCG@10",
                      f"nDCG@10 per dataset: this kit ({coll.profile} profile) and the paper",
                      CI_NOTE + ";\nthe paper's hatched bars have none: it publishes no per-query values")


def panel_noveleval(coll: Collection, reported: list[dict], dataset: str = "noveleval") -> Panel:
    """(c) NovelEval nDCG@1/5/10: ours beside the paper's BM25, GPT-4 and DeAR-L (hatched)."""
    panel = Panel("c_noveleval_cutoffs")
    cutoffs = ["nDCG@1", "nDCG@5", "nDCG@10"]
    series, flagged = [], False
    for s in registry.ids():
        rec = _lookup(coll, panel, dataset, s)
        if rec is not None:
            flagged |= bool(coll.flags(rec))
            series.append((f"{_label(coll, dataset, s, shown_name(s))} (ours)", {m: 100 * rec["metrics"][m] for m in cutoffs},
                           {"color": registry.color(s)}))
    if not series:
        return _skip(panel, f"no result file of ours on {dataset}")
    paper_colors = {"bm25": registry.color("bm25"), "gpt-4": "#9467bd", "dear-l": registry.color("dear-l")}
    for s, color in paper_colors.items():
        r = _published(reported, "NovelEval", dataset, s)
        if r:
            series.append((f"{r['method']} (paper)", {m: r[m] for m in cutoffs}, {"color": "white", "edgecolor": color, "hatch": "//"}))
    fig = _figure(8.5, 4.2)
    ax = fig.add_subplot()
    _grouped_bars(ax, cutoffs, series, width=0.8 / len(series))
    ax.set_xticks(range(len(cutoffs)), cutoffs)
    ax.set_ylabel("nDCG (x 100)")
    ax.set_ylim(0, 105)
    n = max(len(coll.get(dataset, s)["per_query"].get("nDCG@10", {})) for s in registry.ids() if coll.get(dataset, s))
    ax.set_title(f"NovelEval-2306 ({n} queries here), nDCG at 1, 5 and 10: this kit ({coll.profile}) and the paper",
                 fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    _footnote(fig, flagged)
    panel.fig = fig
    return panel


# ------------------------------------------------------------------------------------------------- (d)


ABLATION_COLUMNS = ("loss", "set", "steps", "mean", "sd", "seeds", "bm25")
ABLATION_SETS = ("dl19", "dl20", "noveleval")  # drawn in this order; another set follows them


def panel_loss_ablation(table: pd.DataFrame, profile: str | None = None) -> Panel:
    """(d) nDCG@10 x 100 of Stage-1 students trained with each loss, from a measured table (one row per loss and set:
    `ABLATION_COLUMNS`; ``mean`` and ``sd`` over ``seeds`` seeds, ``sd`` the sample sd, NaN with one seed; ``bm25``
    BM25's nDCG@10 x 100 on that set): bars per loss and set with ± one sd as error bars, BM25 a dashed line per set.
    A table without a needed column, with two rows for one (loss, set) or with several step counts is refused with
    a ValueError naming what is wrong; an empty one skips the panel."""
    panel = Panel("d_loss_ablation")
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"the loss ablation is drawn from a pandas DataFrame, not {type(table).__name__}")
    missing = [c for c in ABLATION_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"the loss-ablation table lacks column(s) {', '.join(missing)} (needs {', '.join(ABLATION_COLUMNS)})")
    if table.empty:
        return _skip(panel, "the loss-ablation table has no row")
    twice = table[table.duplicated(["loss", "set"], keep=False)]
    if len(twice):
        pairs = sorted(set(zip(twice["loss"], twice["set"])))
        raise ValueError("the loss-ablation table has several rows for " + ", ".join(f"{l} on {d}" for l, d in pairs)
                         + ": one row per (loss, set), the mean over its seeds")
    steps = sorted({int(v) for v in table["steps"]})
    if len(steps) != 1:
        raise ValueError(f"the loss-ablation table mixes training budgets ({', '.join(map(str, steps))} steps): "
                         "pass the rows of one budget")
    for col in ("mean", "sd", "bm25", "seeds"):
        if not pd.api.types.is_numeric_dtype(table[col]):
            raise ValueError(f"the loss-ablation table's column {col!r} is not numeric")
    losses = list(dict.fromkeys(table["loss"]))
    sets = [d for d in ABLATION_SETS if d in set(table["set"])] + sorted(set(table["set"]) - set(ABLATION_SETS))
    palette = ["#1f77b4", "#d62728", "#9467bd", "#8c564b"]
    series, cis = [], {}
    for i, d in enumerate(sets):
        rows = table[table["set"] == d].set_index("loss")
        label = shown_name(d)
        series.append((label, {l: float(rows.loc[l, "mean"]) for l in rows.index}, {"color": palette[i % len(palette)]}))
        cis[label] = {l: (float(r["mean"] - r["sd"]), float(r["mean"] + r["sd"])) if math.isfinite(r["sd"]) else (math.nan, math.nan)
                      for l, r in rows.iterrows()}
    bm25 = {d: sorted(set(table.loc[table["set"] == d, "bm25"].dropna())) for d in sets}
    for d, values in bm25.items():
        if len(values) > 1:
            raise ValueError(f"the loss-ablation table gives BM25 several values on {d}: {values}")
    fig = _figure(8.5, 4.2)
    ax = fig.add_subplot()
    _grouped_bars(ax, losses, series, width=0.8 / len(series), cis=cis)
    for i, d in enumerate(sets):
        if bm25[d]:
            ax.axhline(bm25[d][0], ls="--", lw=1, color=palette[i % len(palette)], label=f"BM25 on {shown_name(d)}")
    seeds = sorted({int(v) for v in table["seeds"]})
    n = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
    ax.set_xticks(range(len(losses)), [_wrap(l, 14) for l in losses])
    ax.set_xlabel("Stage-1 training loss (each student trained from scratch)")
    ax.set_ylabel("nDCG@10 (x 100)")
    ax.set_ylim(0, 105)
    where = f" ({profile} profile)" if profile else ""
    ax.set_title(f"Stage-1 loss ablation{where}: {steps[0]} training steps per loss, mean of {n} seeds", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    _footnote(fig, False, "error bars: ± one sample sd over the seeds (none with one seed)")
    panel.fig = fig
    return panel


# ------------------------------------------------------------------------------------------------- (e)


def read_curve(path: str | Path) -> list[dict]:
    """A loss curve: a JSON list of {"step", "loss", ...} (what `stage1.train` and Stage 2 write)."""
    rows = json.loads(Path(path).read_text())
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "step" in r and "loss" in r for r in rows):
        raise ValueError(f"{path}: not a loss curve (a list of {{'step', 'loss', ...}})")
    return rows


def panel_training_curves(stages: dict[str, dict[str, tuple[Path, str]]], profile: str) -> Panel:
    """(e) Training loss per step. `stages`: {stage title: {curve label: (loss_curve.json, the notebook writing it)}};
    one subplot per stage with a curve file; a missing file is named (and its stage left out when it has none)."""
    panel = Panel("e_training_curves")
    present = {}
    for title, curves in stages.items():
        got = {}
        for label, (path, writer) in curves.items():
            if Path(path).is_file():
                got[label] = read_curve(path)
            else:
                panel.messages.append(f"missing: {path} ({writer} writes it)")
        if got:
            present[title] = got
    if not present:
        return _skip(panel, "no loss_curve.json file")
    fig = _figure(4.4 * len(present) + 0.6, 3.8)
    axes = fig.subplots(1, len(present), squeeze=False)[0]
    for ax, (title, curves) in zip(axes, present.items()):
        for label, rows in curves.items():
            rows = [r for r in rows if isinstance(r.get("loss"), (int, float)) and math.isfinite(r["loss"])]
            ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], lw=1.5, marker=".", label=label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("training step")
        ax.set_ylabel("training loss (per logged step)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    fig.suptitle(f"Training curves ({profile} profile)", fontsize=10)
    panel.fig = fig
    return panel


# ------------------------------------------------------------------------------------------------- per query


def differences(coll: Collection, datasets=EVAL_SETS, systems=("teacher", "dear-p", "dear-l"), baseline: str = "bm25",
                measure: str = "nDCG@10", panel: Panel | None = None) -> pd.DataFrame:
    """Per-query `system` minus `baseline` (x 100) on the query ids both files share, one row per (dataset, system,
    query). A pair with a missing file is left out (and named in `panel`'s messages when one is given); two files
    sharing no query id raise ValueError naming both, never a silent empty difference."""
    panel = panel or Panel("differences")
    rows = []
    for d in datasets:
        base = _lookup(coll, panel, d, baseline)
        for s in systems:
            rec = _lookup(coll, panel, d, s)
            if rec is None or base is None:
                continue
            a, b = per_query(rec, measure), per_query(base, measure)
            shared = sorted(set(a) & set(b))
            if not shared:
                raise ValueError(f"{rec['_path']} and {base['_path']} share no query id")
            rows += [{"dataset": d, "system": s, "query": q, "difference": 100 * (a[q] - b[q])} for q in shared]
    return pd.DataFrame(rows, columns=["dataset", "system", "query", "difference"])


def mean_intervals(diffs: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, system) of a `differences` table: the queries, the mean difference and its 95% bootstrap
    interval, and whether the interval holds zero (these queries then leave the sign of the mean open)."""
    rows = []
    for (d, s), g in diffs.groupby(["dataset", "system"], sort=False):
        lo, hi = bootstrap_ci(g["difference"])
        rows.append({"dataset": d, "system": s, "queries": len(g), "mean": g["difference"].mean(), "ci_low": lo,
                     "ci_high": hi, "holds zero": bool(lo <= 0 <= hi) if math.isfinite(lo) else None})
    return pd.DataFrame(rows, columns=["dataset", "system", "queries", "mean", "ci_low", "ci_high", "holds zero"])


def panel_differences(coll: Collection, datasets=EVAL_SETS, systems=("teacher", "dear-p", "dear-l"),
                      baseline: str = "bm25", measure: str = "nDCG@10") -> Panel:
    """Per-query differences of each system against `baseline`, one subplot per dataset: every query a dot, a box
    for the quartiles, and the mean difference (black diamond) with its 95% bootstrap interval."""
    import seaborn as sns

    panel = Panel(f"{measure.replace('@', '')}_per_query_vs_{baseline}".lower())
    df = differences(coll, datasets, systems, baseline, measure, panel)
    if df.empty:
        return _skip(panel, f"no dataset with both {baseline} and a reranker among " + ", ".join(datasets))
    shown = [d for d in datasets if d in set(df["dataset"])]
    intervals = mean_intervals(df).set_index(["dataset", "system"])
    fig = _figure(3.2 * len(shown) + 1.2, 4.4)
    axes = fig.subplots(1, len(shown), squeeze=False, sharey=True)[0]
    flagged = False
    for ax, d in zip(axes, shown):
        sub = df[df["dataset"] == d]
        order = [s for s in systems if s in set(sub["system"])]
        palette = {s: registry.color(s) for s in order}
        with warnings.catch_warnings():  # seaborn 0.13 passes matplotlib's deprecated `vert`: not ours to mend
            warnings.simplefilter("ignore", DeprecationWarning)
            sns.boxplot(data=sub, x="system", y="difference", order=order, fill=False, color="#555555", width=0.5,
                        showfliers=False, linewidth=0.8, ax=ax)
        sns.swarmplot(data=sub, x="system", y="difference", order=order, hue="system", palette=palette, size=3,
                      legend=False, ax=ax)  # a swarm, not a jittered strip: the same dots on every run
        for i, s in enumerate(order):
            mean, lo, hi = intervals.loc[(d, s), ["mean", "ci_low", "ci_high"]]
            yerr = [[max(0.0, mean - lo)], [max(0.0, hi - mean)]] if math.isfinite(lo) else None
            ax.errorbar([i + 0.33], [mean], yerr=yerr, fmt="D", color="black", ms=4, capsize=3, lw=1, label=f"{d}/{s}")
        ax.axhline(0, color="#999999", lw=0.8, ls="--")
        ax.set_xticks(range(len(order)), [_label(coll, d, s, shown_name(s)) for s in order])
        flagged |= any(coll.flags(coll.get(d, s)) for s in order + [baseline])
        ax.set_xlabel("")
        ax.set_ylabel(f"{measure} minus {shown_name(baseline)}'s, per query (x 100)" if ax is axes[0] else "")
        ax.set_title(f"{shown_name(d)} ({sub['query'].nunique()} queries)", fontsize=10)
    fig.suptitle(f"Per-query {measure} against {shown_name(baseline)} ({coll.profile} profile): "
                 "above the dashed line the reranker wins", fontsize=10)
    _footnote(fig, flagged, "each dot one query; box: quartiles; black diamond: the mean difference, "
              + CI_NOTE.replace("error bars", "its bar"))
    panel.fig = fig
    return panel


def panel_wins_losses(coll: Collection, datasets=EVAL_SETS, pairs=COMPARISONS, measure: str = "nDCG@10") -> Panel:
    """The wins / ties / losses of `evaluation.comparisons` (the table notebook 05 prints) as one stacked bar per
    dataset and pair, with the Wilcoxon p-value beside it."""
    panel = Panel(f"wins_ties_losses_{measure.replace('@', '')}".lower())
    rows = []
    for d in datasets:
        for s in dict.fromkeys(x for pair in pairs for x in pair):  # name each missing file once, in order
            _lookup(coll, panel, d, s)
        table = comparisons(coll, d, pairs, measure)
        if "wins" in table:
            rows += table[table["wins"].notna()].to_dict("records")
    if not rows:
        return _skip(panel, "no pair of result files to compare on " + ", ".join(datasets))
    fig = _figure(9, 0.32 * len(rows) + 1.6)
    ax = fig.add_subplot()
    ys = list(range(len(rows)))[::-1]  # the first pair on top
    left = np.zeros(len(rows))
    for key, color in (("wins", "#2ca02c"), ("ties", "#c7c7c7"), ("losses", "#d62728")):
        width = np.array([r[key] for r in rows], dtype=float)
        bars = ax.barh(ys, width, left=left, color=color, height=0.7, label=key)
        ax.bar_label(bars, labels=[f"{int(w)}" if w else "" for w in width], label_type="center", fontsize=7)
        left += width
    for y, r in zip(ys, rows):
        ax.annotate(f"p = {r['p_wilcoxon']:.2g}" if math.isfinite(r["p_wilcoxon"]) else "no test", (r["n"], y),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
    name = lambda d, s: _label(coll, d, s, shown_name(s))  # noqa: E731 (with a dagger when the file is flagged)
    ax.set_yticks(ys, [f"{shown_name(r['dataset'])}: {name(r['dataset'], r['system'])} vs "
                       f"{name(r['dataset'], r['baseline'])}" for r in rows], fontsize=8)
    for y, (r, nxt) in zip(ys, zip(rows, rows[1:])):
        if r["dataset"] != nxt["dataset"]:
            ax.axhline(y - 0.5, color="#999999", lw=0.6)
    ax.set_xlim(0, max(r["n"] for r in rows) * 1.18)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"queries (wins: the first system's {measure} is higher)")
    # two lines: on one, the title ran past the figure's edges once the long pair names took the left margin
    ax.set_title(f"Per-query wins, ties and losses on {measure} ({coll.profile} profile)\n"
                 "p: Wilcoxon signed-rank test, two-sided, uncorrected", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    _footnote(fig, any(DAGGER in t.get_text() for t in ax.get_yticklabels()))
    panel.fig = fig
    return panel


# ------------------------------------------------------------------------------------------------- output


def publish(panel: Panel, out_dir: str | Path) -> list[Path]:
    """Print what the panel has to say (missing inputs, flags), then save it if drawn; returns the files written."""
    for m in panel.messages:
        print(m)
    paths = save(panel, out_dir)
    print(f"{panel.name}: " + (", ".join(str(p) for p in paths) if paths else "not drawn"))
    return paths


def show(panel: Panel, out_dir: str | Path) -> None:
    """In a notebook: `publish` the panel, then display its PNG below the cell (returns nothing, so the cell
    prints no list of paths after the picture)."""
    from IPython.display import Image, display

    paths = publish(panel, out_dir)
    if paths:
        display(Image(filename=str(paths[0])))


def save(panel: Panel, out_dir: str | Path, dpi: int = 150) -> list[Path]:
    """Write a drawn panel as <name>.png and <name>.pdf (atomically; the PDF without a creation date)."""
    if panel.fig is None:
        return []
    out = []
    for ext, kw in (("png", {"dpi": dpi}), ("pdf", {"metadata": {"CreationDate": None}})):
        buf = io.BytesIO()
        panel.fig.savefig(buf, format=ext, **kw)
        out.append(atomic.write_bytes(Path(out_dir) / f"{panel.name}.{ext}", buf.getvalue()))
    return out
