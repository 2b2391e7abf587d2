"""Stage 1's side experiments read back: the student's nDCG@10 against its training budget, the in-domain control
and the loss ablation, over seeds, from the JSON of `dearlib.stage1.side_experiments` (scripts/stage1_budget.py).

`find` locates the measurement (this run's results folder first, then the copy kept with the reference run),
`load` reads and checks it, `table` gives the mean, sd and min-max over seeds per (training data, loss, steps, set),
`summary` the same as "mean ± sd" text, `paired` a student's (mean over seeds, query by query) difference from BM25
or from another student with its 95% bootstrap interval over queries, `ablation` the losses side by side, and
`draw` one panel per set: each seed a dot and the mean a line with the min-max band, per training data, BM25 and
the teacher as horizontal lines. `resume_key` is what the JSON is kept under: only what changes a Stage-1 student
or its evaluation. It trains and measures nothing.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ..core import readers

FORMAT = 3  # points per (training data, loss, seed, steps) with nDCG@10 per query; formats 1-2 (before it) had neither
PANELS = {"nq": "NQ held-out (training domain)", "dl19": "DL19", "dl20": "DL20", "noveleval": "NovelEval"}
TRAINING_DATA = ("nq", "trec-crossfit")  # stage1.training_data's choices
LABELS = {"nq": "NQ-trained", "trec-crossfit": "in-domain (other DL year)"}
REFERENCE_COPY = Path("docs/reference-run/results/benchmarks/stage1_budget.json")  # relative to the repository root
# stage1 keys a point does not depend on: it names its own training data and steps; the rest train and evaluate the same
NOT_IN_KEY = ("training_data", "loss", "max_steps", "ablation", "score_batch_size", "logging_steps", "save_steps")
RESUME_KEY_COVERS = "the stage1 section (less " + ", ".join(NOT_IN_KEY) + "), the retrieval section and the profile's seed"


def resume_key(cfg: dict) -> str:
    """A hash of what changes a budget point (`RESUME_KEY_COVERS`): a change elsewhere (Stage 2) keeps the JSON."""
    part = {"stage1": {k: v for k, v in cfg["stage1"].items() if k not in NOT_IN_KEY}, "retrieval": cfg["retrieval"],
            "seed": cfg["seed"]}
    return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()[:16]


def point_name(training_data: str, loss: str, seed: int, steps: int) -> str:
    return f"{training_data}/{loss}/seed{seed}/{steps}"


def find(results_dir: str | Path, profile: str, repo_root: str | Path) -> Path | None:
    """This run's results/benchmarks/<profile>/stage1_budget.json, else the reference run's copy, else None."""
    for path in (Path(results_dir) / "benchmarks" / profile / "stage1_budget.json", Path(repo_root) / REFERENCE_COPY):
        if path.is_file():
            return path
    return None


def load(path: str | Path) -> dict:
    """The side experiments' JSON, checked for what is read from it; a missing key is named with the file."""
    path = Path(path)
    report = readers.read_json(path)
    if report.get("format") != FORMAT:
        raise ValueError(f"{path}: format {report.get('format')!r}, not {FORMAT}: regenerate it with scripts/stage1_budget.py "
                         f"--profile {report.get('profile')} (its profile's commands: dearlib.stage1.side_experiments.commands)")
    for key in ("profile", "bm25", "teacher", "points", "per_query"):
        if key not in report:
            raise ValueError(f"{path}: no {key!r}: not a stage1_budget.json")
    for name, p in report["points"].items():
        for key in ("training_data", "loss", "seed", "steps", "pairs_seen", "ndcg", "per_query"):
            if key not in p:
                raise ValueError(f"{path}: point {name} has no {key!r}")
        if p["training_data"] not in TRAINING_DATA:
            raise ValueError(f"{path}: point {name}: training data {p['training_data']!r}, not one of {', '.join(TRAINING_DATA)}")
    return report


KEY = ["training data", "loss", "steps"]  # one student's settings; a point adds its seed


def table(report: dict, measure: str = "nDCG@10") -> pd.DataFrame:
    """One row per (training data, loss, steps, set): `measure` x 100 over the seeds (mean, sd, min, max, n seeds)
    and the pairs one student sees. The sd is the sample sd (ddof 1; NaN with one seed)."""
    rows = [{"training data": p["training_data"], "loss": p["loss"], "steps": p["steps"], "set": s, "seed": p["seed"],
             "pairs seen": p["pairs_seen"], "value": m[measure]}
            for p in report["points"].values() for s, m in p["ndcg"].items() if measure in m]
    if not rows:
        raise ValueError("the budget report holds no point")
    df = pd.DataFrame(rows)
    out = df.groupby([*KEY, "set"]).agg(
        mean=("value", "mean"), sd=("value", "std"), min=("value", "min"), max=("value", "max"),
        seeds=("seed", "nunique"), pairs_seen=("pairs seen", "max"))
    return out.rename(columns={"pairs_seen": "pairs seen"})


def summary(report: dict, measure: str = "nDCG@10") -> pd.DataFrame:
    """`table` as text, one row per (training data, loss, steps), one column per set: "mean ± sd (n)"."""
    t = table(report, measure)
    cell = t.apply(lambda r: f"{r['mean']:.2f} ± {r['sd']:.2f} (n={int(r['seeds'])})" if r["seeds"] > 1
                   else f"{r['mean']:.2f} (n=1)", axis=1)
    wide = cell.unstack("set").fillna("")  # a set a student is not evaluated on (the in-domain one on NQ)
    return wide[[s for s in PANELS if s in wide.columns]]


def _seed_mean(report: dict, key: tuple, dataset: str) -> tuple[dict[str, float], int]:
    """Per query, the mean over seeds of the students of `key` (training data, loss, steps); and the seeds."""
    points = [p for p in report["points"].values() if (p["training_data"], p["loss"], p["steps"]) == tuple(key)
              and dataset in p["per_query"]]
    if not points:
        raise ValueError(f"no point {'/'.join(map(str, key))} evaluated on {dataset}: measure it with scripts/stage1_budget.py")
    qids = set(points[0]["per_query"][dataset])
    for p in points[1:]:
        if set(p["per_query"][dataset]) != qids:
            raise ValueError(f"{'/'.join(map(str, key))} on {dataset}: seed {p['seed']} was evaluated on other queries")
    return {q: sum(p["per_query"][dataset][q] for p in points) / len(points) for q in sorted(qids)}, len(points)


def paired(report: dict, key: tuple, against: tuple | str = "bm25", sets=("dl19", "dl20", "noveleval")) -> pd.DataFrame:
    """Per set, the students of `key` (training data, loss, steps) against BM25 (or the teacher, or another key):
    each query's nDCG@10 averaged over the seeds, minus the other's, and the 95% bootstrap interval of the mean
    difference over queries (`dearlib.evaluation.figures.bootstrap_ci`: queries resampled, so the interval is
    paired); wins/ties/losses count queries. Values x 100."""
    from ..evaluation.figures import paired_interval

    rows = []
    for s in sets:
        mine, n = _seed_mean(report, key, s)
        other = report["per_query"][against][s] if isinstance(against, str) else _seed_mean(report, against, s)[0]
        if set(other) != set(mine):
            raise ValueError(f"{s}: {'/'.join(map(str, key))} and {against} were evaluated on different queries")
        p = paired_interval(mine, other)
        lo, hi = p["ci_low"], p["ci_high"]
        rows.append({"set": s, "seeds": n, "queries": p["n"], "nDCG@10": 100 * p["mean_a"], "against": 100 * p["mean_b"],
                     "difference": 100 * p["mean_diff"], "low": 100 * lo, "high": 100 * hi,
                     "wins/ties/losses": f"{p['wins']}/{p['ties']}/{p['losses']}", "excludes 0": lo > 0 or hi < 0})
    return pd.DataFrame(rows).set_index("set")


def ablation(report: dict, training_data: str = "nq") -> pd.DataFrame:
    """The loss ablation: one row per (loss, set) at the budget with the most losses measured, with BM25 beside it;
    columns loss, set, steps, mean, sd, seeds, bm25 (nDCG@10 x 100)."""
    t = table(report).reset_index()
    t = t[t["training data"] == training_data]
    if t.empty:
        raise ValueError(f"no {training_data} point in the budget report")
    steps = t.groupby("steps")["loss"].nunique().idxmax()
    t = t[t["steps"] == steps]
    t = t.assign(bm25=[report["bm25"][s]["nDCG@10"] for s in t["set"]])
    return t[["loss", "set", "steps", "mean", "sd", "seeds", "bm25"]].reset_index(drop=True)


def draw(report: dict, loss: str, title: str | None = None, current: dict[str, tuple[int, dict[str, float]]] | None = None):
    """One panel per set present, the students trained with `loss` (the profile's: the ablation's other losses are
    `ablation`'s): per training data, each seed's nDCG@10 as a dot, the mean over seeds as a line with the min-max
    band; BM25 and the teacher as horizontal lines.

    `current`, {training data: (steps, {set: nDCG@10 x 100})}, marks students trained elsewhere with the same
    settings, e.g. the ones notebook 02 just trained, as stars: "you are here" on the curve.
    """
    t = table(report).reset_index()
    t = t[t["loss"] == loss]
    sets = [s for s in PANELS if s in report["bm25"] and s in set(t["set"])]
    if not sets:
        raise ValueError(f"the budget report holds no student trained with {loss} on a set to draw (none of " + ", ".join(PANELS) + ")")
    seeds = pd.DataFrame([{"training data": p["training_data"], "steps": p["steps"], "set": s, "value": m["nDCG@10"]}
                          for p in report["points"].values() if p["loss"] == loss for s, m in p["ndcg"].items()])
    fig, axes = plt.subplots(1, len(sets), figsize=(3.2 * len(sets), 3.4), squeeze=False)
    for ax, s in zip(axes[0], sets):
        for i, td in enumerate(TRAINING_DATA):
            color = ("C2", "C4")[i]
            rows = t[(t["set"] == s) & (t["training data"] == td)].sort_values("steps")
            if rows.empty:
                continue
            dots = seeds[(seeds["set"] == s) & (seeds["training data"] == td)]
            ax.plot(dots["steps"], dots["value"], ls="none", marker="o", ms=3, alpha=0.5, color=color)
            ax.plot(rows["steps"], rows["mean"], marker="_", color=color, label=f"{LABELS[td]} (mean of {rows['seeds'].min()}+ seeds)")
            ax.fill_between(rows["steps"], rows["min"], rows["max"], color=color, alpha=0.15, lw=0)
            if current and td in current and s in current[td][1]:
                ax.plot([current[td][0]], [current[td][1][s]], marker="*", ms=12, ls="none", color=color,
                        markeredgecolor="k", label=f"this run's {LABELS[td]} student")
        ax.axhline(report["bm25"][s]["nDCG@10"], color="C0", ls="--", lw=1, label="BM25")
        ax.axhline(report["teacher"][s]["nDCG@10"], color="C1", ls=":", lw=1.5, label="teacher")
        steps = sorted(set(t["steps"]))
        ax.set_xscale("log", base=2)
        ax.set_xticks(steps, [str(k) for k in steps], fontsize=7)
        ax.minorticks_off()
        ax.set_title(PANELS[s], fontsize=9)
        ax.set_xlabel("training steps", fontsize=8)
    axes[0][0].set_ylabel("nDCG@10 x 100")
    handles = {l: h for ax in axes[0] for h, l in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), fontsize=7, loc="lower center", ncol=min(len(handles), 4))
    fig.suptitle(title or f"Stage-1 student ({loss}) against its training budget ({report['profile']} profile):\n"
                 "dots are seeds, the band their min-max", fontsize=9)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig
