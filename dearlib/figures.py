"""The paper's figures, redrawn from result files (and training-loss curves), beside the figures it reports.

Each ``panel_*`` function reads a `dearlib.evaluation.Collection` (the result files of one profile) and the
published figures (`dearlib.report.reported`), and returns a `Panel`: a matplotlib Figure (None when none of its
inputs exists) and messages naming every missing input file with the notebook that writes it. A result file
written under another profile or an older configuration is drawn with a dagger (†) in its label and named in the
messages, never mixed in silently. `save` writes a panel as PNG and PDF, atomically.

Panels: (a) the efficiency trade-off on DL19 (time per query as bars, nDCG@10 as a line; the paper's points and
ours), (b) nDCG@10 per dataset, (c) NovelEval nDCG@1/5/10, (d) the Stage-1 loss ablation, (e) training curves of
both stages (``loss_curve.json``: a list of {"step", "loss", ...}). This module computes no metric and runs no model.
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from . import atomic
from .evaluation import EVAL_SETS, SYSTEMS, Collection

COLORS = {"bm25": "#7f7f7f", "teacher": "#1f77b4", "dear-p": "#ff7f0e", "dear-l": "#2ca02c"}
NAMES = {"bm25": "BM25", "teacher": "teacher", "dear-p": "DeAR-P", "dear-l": "DeAR-L", "dl19": "DL19", "dl20": "DL20",
         "noveleval": "NovelEval", "nq": "NQ"}
DAGGER = " †"
STALE_NOTE = "† result file from another profile or an older config (see the notebook's messages)"


@dataclass
class Panel:
    name: str  # file stem: figures/<profile>/<name>.png and .pdf
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
    if rec is None:
        panel.messages.append(f"missing: {coll.missing(dataset, system)}")
        return None
    for f in coll.flags(rec):
        panel.messages.append(f"flagged{DAGGER}: {dataset}/{system}.json {f}")
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


# ------------------------------------------------------------------------------------------------- (a)


def panel_efficiency(coll: Collection, reported: list[dict], dataset: str = "dl19") -> Panel:
    """(a) Time per query (bars, log scale) and nDCG@10 (line) per method: the paper's points, then ours."""
    panel = Panel("a_efficiency_tradeoff")
    paper = [r for r in reported if r["table"] == "efficiency" and r["dataset"] == dataset]
    ours = []
    for s in SYSTEMS:
        rec = _lookup(coll, panel, dataset, s)
        if rec is not None:
            ours.append((s, rec))
    if not ours:
        return _skip(panel, f"no result file of ours on {dataset}")
    fig = _figure(9.5, 4.6)
    ax = fig.add_subplot()
    ax2 = ax.twinx()
    labels, xs_p, xs_o = [], [], []
    for i, r in enumerate(paper):
        ax.bar(i, r["seconds_per_query"], color="white", edgecolor="#555555", hatch="//", width=0.6)
        ax.annotate(f"{r['seconds_per_query']:g} s", (i, r["seconds_per_query"]), ha="center", va="bottom", fontsize=7)
        labels.append(r["method"])
        xs_p.append(i)
    offset = len(paper) + 0.6 if paper else 0
    devices = set()
    for j, (s, rec) in enumerate(ours):
        x = offset + j
        sec = rec["provenance"].get("seconds_per_query")
        devices.add(rec["provenance"].get("device", "?"))
        if sec:
            ax.bar(x, sec, color=COLORS[s], width=0.6, alpha=0.85)
            parts = rec["provenance"].get("stage_seconds_per_query") or {}
            split = "\n(" + " + ".join(f"{k} {v:.2g}" for k, v in parts.items()) + ")" if parts else ""
            ax.annotate(f"{sec:.2g} s{split}", (x, sec), ha="center", va="bottom", fontsize=7)
        else:
            ax.annotate("time not\nrecorded", (x, 1e-3), ha="center", va="bottom", fontsize=7, color="#555555")
            panel.messages.append(f"{dataset}/{s}.json records no seconds_per_query: drawn without a time bar")
        labels.append(_label(coll, dataset, s, NAMES[s]) + f"\ndepth {rec['provenance'].get('depth')}")
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
    ax2.set_ylabel(f"{NAMES.get(dataset, dataset)} nDCG@10 (x 100; line)")
    ax2.set_ylim(0, 100)
    ax.set_xticks(xs_p + xs_o, labels, fontsize=7)
    if paper:
        ax.axvline(offset - 0.8, color="#999999", lw=0.8, ls=":")
        ax.text((len(paper) - 1) / 2, 0.97, "the paper's figure", transform=ax.get_xaxis_transform(), ha="center",
                va="top", fontsize=8, style="italic")
    ax.text(offset + (len(ours) - 1) / 2, 0.97, f"this kit ({coll.profile})", transform=ax.get_xaxis_transform(),
            ha="center", va="top", fontsize=8, style="italic")
    ax.set_title(f"Efficiency trade-off on {NAMES.get(dataset, dataset)}: the paper's figure (GPUs; it prints no time unit, "
                 f"seconds per query assumed)\nand this kit ({coll.profile} profile, {', '.join(sorted(devices))})", fontsize=9)
    ax2.legend(loc="upper right", bbox_to_anchor=(1, 0.92), fontsize=7)
    _footnote(fig, any(DAGGER in l for l in labels), "teacher time may come from its score cache")
    panel.fig = fig
    return panel


# ------------------------------------------------------------------------------------------------- (b), (c)


def _grouped_bars(ax, groups: list[str], series: list[tuple[str, dict, dict]], width: float) -> None:
    """series: (label, {group: value}, style) drawn side by side per group; a missing value leaves a gap."""
    n = len(series)
    for i, (label, values, style) in enumerate(series):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(groups)) if groups[g] in values]
        ys = [values[groups[g]] for g in range(len(groups)) if groups[g] in values]
        ax.bar(xs, ys, width, label=label, **style)
        for x, y in zip(xs, ys):
            ax.annotate(f"{y:.1f}", (x, y), ha="center", va="bottom", fontsize=6, rotation=90, xytext=(0, 2),
                        textcoords="offset points", bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})


def panel_ndcg_by_dataset(coll: Collection, reported: list[dict], datasets=EVAL_SETS) -> Panel:
    """(b) nDCG@10 per dataset: ours (BM25, teacher, DeAR-P, DeAR-L) beside the paper's (hatched)."""
    panel = Panel("b_ndcg10_per_dataset")
    series, flagged, queries = [], False, {}
    for s in SYSTEMS:
        values = {}
        for d in datasets:
            rec = _lookup(coll, panel, d, s)
            if rec is not None:
                values[d] = 100 * rec["metrics"]["nDCG@10"]
                flagged |= bool(coll.flags(rec))
                queries.setdefault(d, len(rec["per_query"]["nDCG@10"]))
        if values:
            stale = any(coll.flags(coll.get(d, s)) for d in values)
            series.append((f"{NAMES[s]} (ours){DAGGER if stale else ''}", values, {"color": COLORS[s]}))
    if not series:
        return _skip(panel, "no result file of ours on " + ", ".join(datasets))
    for s, method in (("bm25", "BM25"), ("dear-p", "DeAR-P-8B"), ("dear-l", "DeAR-L-8B")):
        values = {}
        for d in datasets:
            r = _published(reported, "TREC DL" if d in ("dl19", "dl20") else "NovelEval", d, s)
            if r and "nDCG@10" in r:
                values[d] = r["nDCG@10"]
        if values:
            series.append((f"{method} (paper)", values, {"color": "white", "edgecolor": COLORS[s], "hatch": "//"}))
    fig = _figure(9, 4.4)
    ax = fig.add_subplot()
    _grouped_bars(ax, list(datasets), series, width=0.8 / len(series))
    ax.set_xticks(range(len(datasets)), [f"{NAMES.get(d, d)}\n({queries.get(d, 0)} queries here)" for d in datasets])
    ax.set_ylabel("nDCG@10 (x 100)")
    ax.set_ylim(0, 105)
    ax.set_title(f"nDCG@10 per dataset: this kit ({coll.profile} profile) and the paper", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    _footnote(fig, flagged)
    panel.fig = fig
    return panel


def panel_noveleval(coll: Collection, reported: list[dict], dataset: str = "noveleval") -> Panel:
    """(c) NovelEval nDCG@1/5/10: ours beside the paper's BM25, GPT-4 and DeAR-L (hatched)."""
    panel = Panel("c_noveleval_cutoffs")
    cutoffs = ["nDCG@1", "nDCG@5", "nDCG@10"]
    series, flagged = [], False
    for s in SYSTEMS:
        rec = _lookup(coll, panel, dataset, s)
        if rec is not None:
            flagged |= bool(coll.flags(rec))
            series.append((f"{_label(coll, dataset, s, NAMES[s])} (ours)", {m: 100 * rec["metrics"][m] for m in cutoffs},
                           {"color": COLORS[s]}))
    if not series:
        return _skip(panel, f"no result file of ours on {dataset}")
    paper_colors = {"bm25": COLORS["bm25"], "gpt-4": "#9467bd", "dear-l": COLORS["dear-l"]}
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
    n = max(len(coll.get(dataset, s)["per_query"].get("nDCG@10", {})) for s in SYSTEMS if coll.get(dataset, s))
    ax.set_title(f"NovelEval-2306 ({n} queries here), nDCG at 1, 5 and 10: this kit ({coll.profile}) and the paper",
                 fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    _footnote(fig, flagged)
    panel.fig = fig
    return panel


# ------------------------------------------------------------------------------------------------- (d)


def panel_loss_ablation(coll: Collection, losses: list[str], datasets: list[str]) -> Panel:
    """(d) nDCG@10 of the Stage-1 loss variants (systems ``dear-p-<loss>``), BM25 as a dashed reference."""
    panel = Panel("d_loss_ablation")
    series, flagged = [], False
    palette = ["#1f77b4", "#d62728", "#9467bd", "#8c564b"]
    for i, d in enumerate(datasets):
        values = {}
        for loss in losses:
            rec = _lookup(coll, panel, d, f"dear-p-{loss}")
            if rec is not None:
                values[loss] = 100 * rec["metrics"]["nDCG@10"]
                flagged |= bool(coll.flags(rec))
        if values:
            series.append((f"{NAMES.get(d, d)}", values, {"color": palette[i % len(palette)]}))
    if not series:
        return _skip(panel, "no ablation result file (dear-p-<loss>)")
    fig = _figure(8.5, 4.2)
    ax = fig.add_subplot()
    _grouped_bars(ax, list(losses), series, width=0.8 / len(series))
    for i, d in enumerate(datasets):
        rec = coll.get(d, "bm25")
        if rec is not None:
            ax.axhline(100 * rec["metrics"]["nDCG@10"], ls="--", lw=1, color=palette[i % len(palette)],
                       label=f"BM25 on {NAMES.get(d, d)}")
    steps = {((coll.get(d, f"dear-p-{l}")["provenance"].get("config") or {}).get("stage1", {}).get("ablation", {}).get("max_steps", "?"))
             for d in datasets for l in losses if coll.get(d, f"dear-p-{l}")}
    ax.set_xticks(range(len(losses)), losses)
    ax.set_xlabel("Stage-1 training loss (each variant trained from scratch)")
    ax.set_ylabel("nDCG@10 (x 100)")
    ax.set_ylim(0, 105)
    ax.set_title(f"Stage-1 loss ablation ({coll.profile} profile, {', '.join(map(str, sorted(steps, key=str)))} training steps "
                 "per variant)", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    _footnote(fig, flagged)
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


# ------------------------------------------------------------------------------------------------- output


def publish(panel: Panel, out_dir: str | Path) -> list[Path]:
    """Print what the panel has to say (missing inputs, flags), then save it if drawn; returns the files written."""
    for m in panel.messages:
        print(m)
    paths = save(panel, out_dir)
    print(f"{panel.name}: " + (", ".join(str(p) for p in paths) if paths else "not drawn"))
    return paths


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
