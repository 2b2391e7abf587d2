"""The Stage-1 budget curve: the student's nDCG@10 against its training budget, from scripts/stage1_budget.py's JSON.

`find` locates the measurement (this run's results folder first, then the copy kept with the reference run),
`load` reads and checks it, `table` lays it out per budget and `draw` plots one panel per set: NQ held-out (the
training domain), DL19, DL20, NovelEval, with BM25 and the teacher as horizontal lines. It trains and measures
nothing: scripts/stage1_budget.py does.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from . import readers

PANELS = {"nq": "NQ held-out (training domain)", "dl19": "DL19", "dl20": "DL20", "noveleval": "NovelEval"}
REFERENCE_COPY = Path("docs/reference-run/results/benchmarks/stage1_budget.json")  # relative to the repository root
COMMAND = ".venv/bin/python scripts/stage1_budget.py --profile mini --steps 150 300 600 1200"


def find(results_dir: str | Path, profile: str, repo_root: str | Path) -> Path | None:
    """This run's results/benchmarks/<profile>/stage1_budget.json, else the reference run's copy, else None."""
    for path in (Path(results_dir) / "benchmarks" / profile / "stage1_budget.json", Path(repo_root) / REFERENCE_COPY):
        if path.is_file():
            return path
    return None


def load(path: str | Path) -> dict:
    """The budget JSON, checked for what the figure reads; a missing key is named with the file."""
    path = Path(path)
    report = readers.read_json(path)
    for key in ("profile", "bm25", "teacher", "budgets"):
        if key not in report:
            raise ValueError(f"{path}: no {key!r}: not a stage1_budget.json")
    for steps, b in report["budgets"].items():
        for key in ("steps", "pairs_seen", "ndcg"):
            if key not in b:
                raise ValueError(f"{path}: budget {steps} has no {key!r}")
    return report


def table(report: dict) -> pd.DataFrame:
    """One row per budget (by steps): pairs seen and the student's nDCG@10 x 100 per set. (The JSON's training
    seconds are left out: they are comparable only between budgets run alone on the same machine.)"""
    rows = []
    for b in sorted(report["budgets"].values(), key=lambda b: b["steps"]):
        rows.append({"steps": b["steps"], "pairs seen": b["pairs_seen"],
                     **{s: b["ndcg"][s]["nDCG@10"] for s in PANELS if s in b["ndcg"]}})
    return pd.DataFrame(rows).set_index("steps")


def draw(report: dict, title: str | None = None, current: tuple[int, dict[str, float]] | None = None):
    """One panel per set present: the student's nDCG@10 per budget, BM25 and the teacher as horizontal lines.

    `current`, (steps, {set: nDCG@10 x 100}), marks a student trained elsewhere with the same settings, e.g. the one
    notebook 02 just trained, as a star: "you are here" on the curve.
    """
    rows = table(report)
    sets = [s for s in PANELS if s in report["bm25"] and s in rows.columns]
    if not sets:
        raise ValueError("the budget report holds no set to draw (none of " + ", ".join(PANELS) + ")")
    fig, axes = plt.subplots(1, len(sets), figsize=(3.2 * len(sets), 3.2), squeeze=False)
    for ax, s in zip(axes[0], sets):
        ax.plot(rows.index, rows[s], marker="o", color="C2", label="student")
        ax.axhline(report["bm25"][s]["nDCG@10"], color="C0", ls="--", lw=1, label="BM25")
        ax.axhline(report["teacher"][s]["nDCG@10"], color="C1", ls=":", lw=1.5, label="teacher")
        if current and s in current[1]:
            ax.plot([current[0]], [current[1][s]], marker="*", ms=12, ls="none", color="C3", label="this run's student")
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(rows.index), [f"{k}\n{p:,}" for k, p in zip(rows.index, rows["pairs seen"])], fontsize=7)
        ax.minorticks_off()
        ax.set_title(PANELS[s], fontsize=9)
        ax.set_xlabel("steps / pairs seen", fontsize=8)
    axes[0][0].set_ylabel("nDCG@10 x 100")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title or f"Stage-1 student against its training budget ({report['profile']} profile)", fontsize=10)
    fig.tight_layout()
    return fig
