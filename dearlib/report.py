"""The experiment table: every result file of a profile, side by side with the figures the paper reports.

`table()` returns one row per (dataset, system) with our nDCG@1/5/10 (x 100) and, where one is published,
the reported value and its source; `python -m dearlib.report --profile mini` prints it (run_all.sh does, at
the end). It reads only result files (`dearlib.results`); it computes no metric itself.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

from .metrics import NDCG
from .results import DATASETS, load_results

REPORTED = Path(__file__).with_name("reported.yaml")
ORDER = {d: i for i, d in enumerate(DATASETS)}


def table(results_dir: str | Path, profile: str) -> pd.DataFrame:
    rows = []
    rep = {(r["dataset"], r["system"]): r for r in yaml.safe_load(REPORTED.read_text())}
    for res in load_results(results_dir, profile):
        row = {"dataset": res["dataset"], "system": res["system"]}
        for m in NDCG:
            if m in res["metrics"]:
                row[m] = round(100 * res["metrics"][m], 2)
        pub = rep.get((res["dataset"], res["system"]))
        for m in NDCG:
            row[f"reported {m}"] = pub[m] if pub else None
        row["queries"] = len(next(iter(res["per_query"].values()), {}))
        rows.append(row)
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    return df.sort_values(["dataset", "system"], key=lambda s: s.map(ORDER) if s.name == "dataset" else s).reset_index(drop=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dearlib.report", description=__doc__.split("\n")[0])
    ap.add_argument("--results", default="results", help="the results folder (default: results)")
    ap.add_argument("--profile", default="mini")
    a = ap.parse_args(argv)
    df = table(a.results, a.profile)
    if df.empty:
        print(f"no result files under {Path(a.results) / a.profile}", file=sys.stderr)
        return 1
    print(f"Results of profile '{a.profile}' (nDCG x 100; 'reported' = published figure, blank where none):")
    print(df.to_string(index=False, na_rep=""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
