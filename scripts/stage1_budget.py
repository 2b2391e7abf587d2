"""Stage 1's side experiments, measured once over seeds: the student's quality against its training budget, the
in-domain control and the loss ablation (`dearlib.stage1.side_experiments`; notebook 02 draws the JSON).

Trains the student exactly as notebook 02 does (the profile's teacher, learning rate, batch), changing only the
training budget (--steps), the loss (--losses: the ablation), the training seed (--seeds) and the training data
(--training-data: ``nq``, notebook 02's NQ groups, or ``trec-crossfit``, the in-domain control). Every point is
written to results/benchmarks/<profile>/stage1_budget.json as soon as it is measured; an interrupted run resumes,
and several runs side by side (each with OMP_NUM_THREADS=1 on a small machine) can share one file.
The reference run's file (docs/reference-run/results/benchmarks/) was made by the three commands its `commands`
list, e.g.

    .venv/bin/python scripts/stage1_budget.py --profile mini --training-data nq --steps 600 --seeds 0 1 2
"""
from __future__ import annotations

import argparse
from pathlib import Path

from dearlib.core.config import load_config
from dearlib.stage1 import budget_curve, losses, side_experiments


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="mini")
    ap.add_argument("--steps", type=int, nargs="+", help="training budgets (max_steps; default: the profile's)")
    ap.add_argument("--losses", nargs="+", choices=losses.LOSSES, help="losses, one student each (default: the profile's)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds, one student each (>= 3 for a spread)")
    ap.add_argument("--training-data", nargs="+", default=["nq"], choices=budget_curve.TRAINING_DATA)
    ap.add_argument("--nq-heldout", action=argparse.BooleanOptionalAction, default=False,
                    help="evaluate the NQ student on the held-out NQ questions too (~200 s a point on 2 cores)")
    ap.add_argument("--artifacts", default="artifacts")
    ap.add_argument("--results", default="results")
    a = ap.parse_args()
    cfg = load_config(a.profile)
    out = Path(a.results) / "benchmarks" / a.profile / "stage1_budget.json"
    report = side_experiments.run(cfg, Path(a.artifacts) / a.profile, out, training_data=a.training_data, losses=a.losses,
                                  seeds=a.seeds, steps=a.steps, nq_heldout=a.nq_heldout)
    print(f"\nnDCG@10 x 100, BM25 top {report['depth']} ({out}): mean ± sd over seeds")
    print(budget_curve.summary(report).to_string())
    for key in sorted({(p["training_data"], p["loss"], p["steps"]) for p in report["points"].values()}):
        print(f"\n{'/'.join(map(str, key))} against BM25: per query the mean over seeds minus BM25, 95% bootstrap interval")
        print(budget_curve.paired(report, key).round(2).to_string())


if __name__ == "__main__":
    main()
