"""The DeAR pipeline as a picture: BM25 top-k -> Stage 1 -> Stage 2 -> metrics, labelled with a profile's settings.

`boxes(cfg)` says what each box holds: with a profile's config (`dearlib.core.config.load_config`) its depths, window and
step (``retrieval.depth``, ``stage1.eval_depth``, ``stage2.inference.*``, ``stage2_data.*``); without one, generic
labels (top k). `pipeline(cfg)` draws the boxes with matplotlib and returns the Figure; `mermaid(cfg)` writes the
same boxes as a Mermaid flowchart (docs/pipeline.md, which GitHub renders). ``python -m dearlib.publish.diagrams`` writes
figures/pipeline.png for the mini profile (``--profile smoke``: figures/smoke/pipeline.png) and prints its Mermaid
block; the README shows the paper profile's, ``--profile paper --out figures/pipeline-paper.png``.

It reads only the config: no model, no data, no result file, and it measures nothing.
"""
from __future__ import annotations

import argparse
import io
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..core import atomic
from ..core.schema import ROOT
from ..stage2.listwise import sliding_windows

# the colours of the paper's figures (dearlib.evaluation.figures): BM25 grey, teacher blue, DeAR-P orange, DeAR-L green
EDGE = {"bm25": "#7f7f7f", "stage1": "#ff7f0e", "stage2": "#2ca02c", "metrics": "#444444", "teacher": "#1f77b4",
        "cot": "#2ca02c"}
FILL = {"bm25": "#f2f2f2", "stage1": "#fff0e0", "stage2": "#e6f4e6", "metrics": "#f7f7f7", "teacher": "#e6f0fa",
        "cot": "#f3faf3"}


@dataclass(frozen=True)
class Box:
    key: str
    title: str
    lines: tuple[str, ...]
    notebook: str


# the parts of a Stage-1 loss name (stage1.loss, dearlib.stage1.losses) as the picture writes them
_LOSS_PARTS = {"ce": "CE", "kl": "KL", "ranknet": "RankNet", "ranknet-binary": "RankNet-binary"}


def loss_text(loss: str) -> str:
    """``ce+ranknet+kl`` as ``CE + RankNet + KL``; a part the picture does not know is written as it is."""
    return " + ".join(_LOSS_PARTS.get(part, part) for part in loss.split("+"))


def boxes(cfg: dict | None = None) -> dict[str, Box]:
    """The pipeline's boxes (bm25, stage1, stage2, metrics, and the two inputs of training: teacher, cot)."""
    if cfg is None:
        depth, s1_depth, window, step, rank_end, n_windows, cot_window = "k", "k1", "w", "s", "k2", None, "w"
        generator = "a"
        loss = "CE + RankNet + KL"  # the abstract's hybrid; a profile names its own (the paper's released default: CE + KL)
    else:
        inf = cfg["stage2"]["inference"]
        depth, s1_depth = cfg["retrieval"]["depth"], cfg["stage1"]["eval_depth"]
        window, step, rank_end = inf["window"], inf["step"], inf["rank_end"]
        n_windows = len(sliding_windows(rank_end, window, step))
        cot_window, generator = cfg["stage2_data"]["window_size"], cfg["stage2_data"]["generator"]
        loss = loss_text(cfg["stage1"]["loss"])
    s1_lines = ["scores each passage alone", f"reranks the top {s1_depth}"]
    if cfg is not None and cfg["stage2"]["inference"]["stage1_depth"] != s1_depth:  # DeAR-P and the cascade differ
        s1_lines[-1] += f" (cascade: {cfg['stage2']['inference']['stage1_depth']})"
    s2_lines = [f"window {window}, step {step}", f"over Stage 1's top {rank_end}"]
    if n_windows is not None:
        s2_lines.append(f"{n_windows} window{'s' if n_windows != 1 else ''} per query")
    s2_lines.append("reasons, then [3] > [1] > ...")
    return {
        "bm25": Box("bm25", "BM25 (pyserini)", ("candidates per query:", f"top {depth}"), "notebook 01"),
        "stage1": Box("stage1", "Stage 1: pointwise", ("the student, distilled", *s1_lines), "notebook 02 (DeAR-P)"),
        "stage2": Box("stage2", "Stage 2: listwise", tuple(s2_lines), "notebook 04 (DeAR-L)"),
        "metrics": Box("metrics", "Metrics", ("nDCG@1/5/10", "(DL19, DL20, NovelEval)", "Top-1/5/20 (NQ)"),
                       "notebooks 05, 06"),
        "teacher": Box("teacher", "Teacher (frozen)", ("its scores: soft targets", f"loss: {loss}"), "notebook 02"),
        "cot": Box("cot", "Chain-of-thought data", (f"{generator} generator", f"windows of {cot_window}"), "notebook 03"),
    }


# (x of the left edge, y of the bottom) in inches: the figure is 11 x 4.5 inches, so at 900 px wide
# one point of font is ~1.1 px and the 11.5 pt text stays readable
_MAIN_Y, _MAIN_H, _W = 0.45, 1.5, 2.35
_LAYOUT = {"bm25": (0.2, _MAIN_Y), "stage1": (2.95, _MAIN_Y), "stage2": (5.7, _MAIN_Y), "metrics": (8.45, _MAIN_Y),
           "teacher": (2.95, 2.95), "cot": (5.7, 2.95)}
_TOP_H = 1.2
_SIDE = {"teacher": "distils", "cot": "fine-tunes (LoRA)"}


def pipeline(profile_cfg: dict | None = None) -> Figure:
    """The pipeline drawn as boxes and arrows, labelled with the profile's numbers when a config is given."""
    fig = Figure(figsize=(11, 4.5))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 11)
    ax.set_ylim(0, 4.5)
    ax.axis("off")
    title = "DeAR: BM25 → Stage 1 → Stage 2"
    if profile_cfg is not None:
        title += f"  (profile {profile_cfg['profile']})"
    ax.text(0.2, 4.42, title, fontsize=13.5, fontweight="bold", va="top")
    for key, box in boxes(profile_cfg).items():
        x, y = _LAYOUT[key]
        h = _TOP_H if key in _SIDE else _MAIN_H
        ax.add_patch(FancyBboxPatch((x, y), _W, h, boxstyle="round,pad=0.02,rounding_size=0.12", linewidth=2,
                                    edgecolor=EDGE[key], facecolor=FILL[key]))
        ax.text(x + _W / 2, y + h - 0.14, box.title, ha="center", va="top", fontsize=12.5, fontweight="bold")
        ax.text(x + _W / 2, y + h - 0.47, "\n".join(box.lines), ha="center", va="top", fontsize=11.5, linespacing=1.35)
        # under a main box; inside a top box, whose underside the dashed arrow leaves from
        ax.text(x + _W / 2, y - 0.08 if key not in _SIDE else y + 0.1, box.notebook, ha="center",
                va="top" if key not in _SIDE else "bottom", fontsize=10.5, color="#555555", style="italic")
    mid = _MAIN_Y + _MAIN_H / 2
    for a, b in (("bm25", "stage1"), ("stage1", "stage2"), ("stage2", "metrics")):
        ax.add_patch(FancyArrowPatch((_LAYOUT[a][0] + _W + 0.03, mid), (_LAYOUT[b][0] - 0.03, mid),
                                     arrowstyle="-|>", mutation_scale=22, linewidth=2, color="#333333"))
    for key, label in _SIDE.items():
        x = _LAYOUT[key][0] + _W / 2
        ax.add_patch(FancyArrowPatch((x, _LAYOUT[key][1] - 0.02), (x, _MAIN_Y + _MAIN_H + 0.03), arrowstyle="-|>",
                                     mutation_scale=20, linewidth=1.6, linestyle="--", color=EDGE[key]))
        ax.text(x + 0.1, (_LAYOUT[key][1] + _MAIN_Y + _MAIN_H) / 2, label, fontsize=10.5, color=EDGE[key], va="center")
    return fig


def mermaid(profile_cfg: dict | None = None) -> str:
    """The same boxes as a Mermaid flowchart (the fenced block of docs/pipeline.md)."""
    b = boxes(profile_cfg)

    def node(key: str) -> str:
        box = b[key]
        return f'{key}["<b>{box.title}</b><br/>{"<br/>".join(box.lines)}<br/><i>{box.notebook}</i>"]'

    rows = ["flowchart LR", f"  {node('bm25')} --> {node('stage1')}", f"  stage1 --> {node('stage2')}",
            f"  stage2 --> {node('metrics')}", f"  {node('teacher')} -.->|\"{_SIDE['teacher']}\"| stage1",
            f"  {node('cot')} -.->|\"{_SIDE['cot']}\"| stage2"]
    return "```mermaid\n" + "\n".join(rows) + "\n```\n"


def save(fig: Figure, path: str | Path, dpi: int = 160) -> Path:
    """The figure as a PNG, written atomically (11 in x 160 dpi: 1760 px wide, sharp when shown at 900 px)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return atomic.write_bytes(path, buf.getvalue())


def main(argv: list[str] | None = None) -> None:
    from ..core.config import load_config

    ap = argparse.ArgumentParser(description="Draw the DeAR pipeline of a profile (PNG) and print its Mermaid block.")
    ap.add_argument("--profile", default="mini")
    ap.add_argument("--out", help="the PNG (default: figures/pipeline.png for mini, figures/<profile>/pipeline.png else)")
    args = ap.parse_args(argv)
    cfg = load_config(args.profile)
    figures = ROOT / "figures"
    out = args.out or (figures / "pipeline.png" if args.profile == "mini" else figures / args.profile / "pipeline.png")
    print(save(pipeline(cfg), out))
    print(mermaid(cfg), end="")


if __name__ == "__main__":
    main()
