"""The reproduction log: one Markdown table row per run of ``./run_all.sh``, to paste into docs/reproductions.md.

`line` builds the row from a run's timings (``outputs/<profile>/timings.json``, written by
`dearlib.publish.reference_run.write_timings`) and its result files (`dearlib.evaluation.results`): date, commit, profile, device,
CPU cores, total and per-notebook wall time, and DeAR-P's and DeAR-L's nDCG@10 (x 100) on each set.
``run_all.sh`` ends by printing it (``python -m dearlib.publish.reproductions outputs/<profile>/timings.json``);
``--reference docs/reference-run`` prints the committed reference run's. It measures nothing: every field is read
from those files.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core import readers
from ..evaluation.results import DATASETS, load_results
from .reference_run import _short as short_commit, read_timings

HEADER = ("| date | commit | profile | device | CPU cores | total (s) | per notebook (s) | DeAR-P nDCG@10 | "
          "DeAR-L nDCG@10 |\n|---|---|---|---|---|---|---|---|---|")
SYSTEMS = ("dear-p", "dear-l")  # the paper's two systems: Stage 1 alone, and the Stage 1 -> Stage 2 cascade


def _device(run: dict, records: list[dict]) -> str:
    """The GPU when a result file was computed on one (`results.device`), else the CPU model of the timings."""
    gpus = sorted({r["provenance"]["device"].split(": ", 1)[1] for r in records
                   if r["provenance"].get("device", "").startswith("cuda: ")})
    return f"GPU {', '.join(gpus)}" if gpus else f"CPU {run['machine']['cpu_model']}"


def line(run: dict, results_dir: str | Path) -> str:
    """The log row of one run: `run` is one profile's timings, `results_dir` the folder holding <profile>/."""
    profile = run["profile"]
    records = load_results(results_dir, profile)
    by_key = {(r["dataset"], r["system"]): r for r in records}
    scores = []
    for system in SYSTEMS:
        cells = [f"{d} {100 * by_key[d, system]['metrics']['nDCG@10']:.2f}" for d in DATASETS
                 if (d, system) in by_key and "nDCG@10" in by_key[d, system]["metrics"]]
        scores.append(", ".join(cells) or "not run")
    notebooks = ", ".join(f"{name.split('_', 1)[0]} {round(s)}" for name, s in sorted(run["notebooks"].items()))
    cells = [run["date"][:10], f"`{short_commit(run['git_commit'])}`", profile, _device(run, records), str(run["machine"]["cpu_cores"]),
             str(round(run["total_seconds"])), notebooks, *scores]
    return "| " + " | ".join(cells) + " |"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dearlib.publish.reproductions", description=__doc__.split("\n")[0])
    ap.add_argument("timings", nargs="?", help="outputs/<profile>/timings.json of the run")
    ap.add_argument("--results", default="results", help="the results folder of the run (default: results)")
    ap.add_argument("--reference", help="a reference-run folder (docs/reference-run): its run and result files")
    a = ap.parse_args(argv)
    if a.reference:
        timings = read_timings(a.reference)
        run, results = timings["runs"][timings["reference"]], Path(a.reference) / "results"
    elif a.timings:
        run, results = readers.read_json(a.timings), a.results
    else:
        ap.error("name a timings file or --reference")
    print(line(run, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
