"""The experiment table and the reported-vs-reproduced table: result files against the paper's figures.

`table()` returns one row per (dataset, system) with our nDCG@1/5/10 (x 100) and, where one is published,
the reported value and its source; `python -m dearlib.evaluation.report --profile mini` prints it. `paper_comparison()`
returns one row per figure the paper reports (``reported.yaml``, each with its source) with our value where the
kit ran that system, and a status, exactly one of `STATUSES`: reproduced (within `TOLERANCE`), differs, not
comparable (a slice of the query set, another question set, another model than the figure's `model`, or
the kit's small models outside the `paper` profile, another released checkpoint than the figure's `checkpoint`),
not run; the `detail` column says by how much or why. A figure may have several sources, each a row of its own: the
released checkpoints' rows (``*-released``, notebook 08) hold the paper's figure and the independent T4
reproduction's, and the experiment table shows the first. `check()` turns a "differs" row into an error
naming the figure, so a notebook that calls it fails its papermill run (notebooks 01 and 07). A result file from
another profile or an older configuration is flagged in its `warning` column (`dearlib.evaluation.tables.Collection`).
``python -m dearlib.evaluation.report --profile mini --paper`` prints it (run_all.sh prints both, at the end). It reads only
result files (`dearlib.evaluation.results`); it computes no metric itself.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd
import yaml

from ..retrieval.beir import SETS as BEIR_SETS
from .metrics import NDCG
from .results import DATASETS, check_name, load_results

REPORTED = Path(__file__).with_name("reported.yaml")
ORDER = {d: i for i, d in enumerate(DATASETS)}
# A reproduced figure may differ from the published one by this much (nDCG or accuracy x 100) and still count as
# reproduced: on DL19 (43 queries) one query whose nDCG@10 moves by 0.2 (two passages swapped in the top 10)
# moves the mean by 0.47 points, and published figures are rounded to two decimals.
TOLERANCE = 0.5
# BM25 on DL19/DL20 reads pyserini's own BM25 run and scores it with trec_eval's measures, as the published figures
# were made: only the rounding to two decimals separates ours from theirs (notebook 01 checks this).
EXACT = 0.01
STATUSES = ("reproduced", "differs", "not comparable", "not run")
MEASURES = (*NDCG, "Top-1", "Top-5", "Top-20")


def reported(path: str | Path = REPORTED) -> list[dict]:
    """The published figures, one dict per (table, dataset, method), each with its source."""
    rows = yaml.safe_load(Path(path).read_text())
    for r in rows:
        missing = {"table", "dataset", "system", "method", "source"} - set(r)
        if missing:
            raise ValueError(f"{path}: row {r} lacks {sorted(missing)}")
    return rows


def table(results_dir: str | Path, profile: str) -> pd.DataFrame:
    rows = []
    rep = {}
    for r in reported():
        if r["table"] != "efficiency":
            rep.setdefault((r["dataset"], r["system"]), r)  # the first source of a figure: the paper's
    for res in load_results(results_dir, profile):
        row = {"dataset": res["dataset"], "system": res["system"]}
        for m in NDCG:
            if m in res["metrics"]:
                row[m] = round(100 * res["metrics"][m], 2)
        pub = rep.get((res["dataset"], res["system"]))
        for m in NDCG:
            row[f"reported {m}"] = pub.get(m) if pub else None
        row["queries"] = len(next(iter(res["per_query"].values()), {}))
        rows.append(row)
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    return df.sort_values(["dataset", "system"], key=lambda s: s.map(ORDER) if s.name == "dataset" else s).reset_index(drop=True)


def classify(reported_value: float, ours: float | None, tolerance: float = TOLERANCE, n_ours: int | None = None,
             n_reported: int | None = None) -> tuple[str, str]:
    """(status, detail) of our value (x 100, None when not run) against a published one."""
    if ours is None:
        return "not run", "in this profile"
    if n_reported and n_ours is not None and n_ours != n_reported:
        return "not comparable", f"{n_ours} of {n_reported} queries"
    diff = round(ours - reported_value, 2)
    return ("reproduced" if abs(diff) <= tolerance + 1e-9 else "differs"), f"{diff:+.2f}"


def paper_comparison(results_dir: str | Path, profile: str, seed: int = 0, tolerance: float = TOLERANCE,
                     path: str | Path = REPORTED) -> pd.DataFrame:
    """One row per published figure (TREC DL, NovelEval, BEIR, NQ), our value beside it, a status, why, its source."""
    from .systems import ids, producer
    from .tables import Collection

    ours_systems = ids()
    runs = lambda system: system in ours_systems or system.endswith("-released")  # notebook 08 runs the released ones

    coll = Collection.load(results_dir, profile, seed)
    rows = []
    for r in reported(path):
        if r["table"] == "efficiency":  # drawn in the efficiency figure; time on other hardware is not a reproduction
            continue
        for m in MEASURES:
            if m not in r:
                continue
            rec = coll.get(r["dataset"], r["system"]) if runs(r["system"]) else None
            ours = round(100 * rec["metrics"][m], 2) if rec and m in rec["metrics"] else None
            n_ours = len(rec["per_query"].get(m, {})) if rec else None
            # a published figure may carry its own tolerance (reported.yaml says why); never below the one asked for
            tol = max(tolerance, (r.get("tolerance") or {}).get(m, 0))
            if not runs(r["system"]):
                st, detail = "not run", "a baseline the kit does not implement"
            else:
                st, detail = classify(r[m], ours, tol, n_ours, r.get("queries"))
                if tol > tolerance and st == "reproduced":
                    detail += f" (within this figure's own tolerance, {tol})"
                base = (rec["provenance"].get("config") or {}).get("stage2", {}).get("base") if rec else None
                if r.get("model") and rec is not None and base != r["model"]:
                    st, detail = "not comparable", f"a different model: {base}"
                ran = rec["provenance"].get("checkpoint") if rec else None
                if r.get("checkpoint") and rec is not None and ran != r["checkpoint"]:
                    st, detail = "not comparable", f"another checkpoint: {ran or 'none recorded'} (this figure's: {r['checkpoint']})"
                if rec is None and r["dataset"] in DATASETS and (profile == "paper" or r["dataset"] not in BEIR_SETS):
                    # name the notebook that writes it (BEIR: only the paper profile retrieves it)
                    detail += f" ({producer(r['dataset'], r['system']).split(' (')[0]})"
                elif st != "not comparable" and rec is not None and r.get("not_comparable"):
                    st, detail = "not comparable", r["not_comparable"]
                elif st != "not comparable" and rec is not None and profile != "paper" and r["system"].endswith("-released"):
                    st, detail = "not comparable", f"profile {profile}: the released checkpoint under this profile's settings, not the paper's"
                elif st != "not comparable" and rec is not None and profile != "paper" and r["system"] != "bm25":
                    st, detail = "not comparable", f"profile {profile}: the kit's small models, not the paper's"
            rows.append({"table": r["table"], "dataset": r["dataset"], "method": r["method"], "measure": m,
                         "reported": r[m], "ours": ours, "our system": r["system"] if runs(r["system"]) else "",
                         "queries": n_ours, "status": st, "detail": detail,
                         "warning": coll.flag_text(r["dataset"], r["system"]) if rec else "",
                         "source": r["source"], "note": r.get("note", "")})
    df = pd.DataFrame(rows)
    df["queries"] = df["queries"].astype("Int64")
    return df


class ReproductionError(AssertionError):
    """A published figure the kit should reproduce, and does not: the message names each one."""


def check(df: pd.DataFrame) -> str:
    """Raise `ReproductionError` naming every "differs" row of a `paper_comparison` table; else a one-line summary.

    "differs" is kept for figures that are comparable (same system, same queries): on any other row the status
    is "not comparable" or "not run", so a difference there is expected and passes.
    """
    unknown = sorted(set(df["status"]) - set(STATUSES))
    if unknown:
        raise ValueError(f"statuses {unknown} are none of {STATUSES}")
    bad = df[df["status"] == "differs"]
    if len(bad):
        raise ReproductionError(f"{len(bad)} published figure(s) not reproduced: " + "; ".join(
            f"{r['dataset']} {r['method']} {r['measure']}: reported {r['reported']:.2f}, ours {r['ours']:.2f} "
            f"(differs by {r['detail']})" for _, r in bad.iterrows()))
    counts = df["status"].value_counts()
    return ", ".join(f"{s}: {counts.get(s, 0)}" for s in STATUSES)


def markdown(df: pd.DataFrame) -> str:
    """A GitHub Markdown table (blank for missing values)."""
    def cell(v):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return ""
        return (f"{v:.2f}" if isinstance(v, float) else str(v)).replace("|", "\\|")

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def unrun(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(BEIR rows not run, released-checkpoint rows not run) of `paper_comparison`'s table: the two groups a profile
    without the hub cannot run, summed in one line each rather than listed figure by figure."""
    released = df["our system"].str.endswith("-released") & (df["status"] == "not run")
    beir = (df["table"] == "BEIR") & (df["status"] == "not run") & ~released
    return beir, released


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dearlib.evaluation.report", description=__doc__.split("\n")[0])
    ap.add_argument("--results", default="results", help="the results folder (default: results)")
    ap.add_argument("--profile", default="mini")
    ap.add_argument("--paper", action="store_true", help="print the reported-vs-reproduced table instead")
    ap.add_argument("--seed", type=int, default=0, help="the seed the notebooks ran with (part of the config hash)")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE, help=f"points x 100 (default {TOLERANCE})")
    a = ap.parse_args(argv)
    try:
        check_name(a.profile, "profile")  # configs/<name>.yaml and results/<name>/: never a path of its own
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.paper:
        df = paper_comparison(a.results, a.profile, a.seed, a.tolerance)
        print(f"Reported vs reproduced, profile '{a.profile}' (x 100; tolerance {a.tolerance} points; "
              "! = result file from another profile or config, listed below):")
        unrun_beir, unrun_released = unrun(df)
        show = df[~unrun_beir & ~unrun_released].assign(**{"!": df["warning"].map(lambda w: "!" if w else "")})
        show = show[["dataset", "method", "measure", "reported", "ours", "queries", "status", "detail", "!", "source"]]
        show["queries"] = show["queries"].astype(object).where(show["queries"].notna(), "")
        print(show.to_string(index=False, na_rep=""))
        if unrun_beir.any():
            print(f"BEIR: {unrun_beir.sum()} published figures ({df[unrun_beir]['dataset'].nunique()} sets), "
                  f"not run {df[unrun_beir]['detail'].iloc[0]}")
        if unrun_released.any():
            sources = ", ".join(df[unrun_released]["source"].unique())
            print(f"Released checkpoints: {unrun_released.sum()} published figures (sources {sources}), not run in this "
                  "profile (notebook 08 runs them: a GPU and the checkpoints)")
        flagged = df[df["warning"] != ""].drop_duplicates(["dataset", "our system"])
        for _, row in flagged.iterrows():
            print(f"! {row['dataset']}/{row['our system']}.json: {row['warning']}")
        return 0
    df = table(a.results, a.profile)
    if df.empty:
        print(f"no result files under {Path(a.results) / a.profile}", file=sys.stderr)
        return 1
    print(f"Results of profile '{a.profile}' (nDCG x 100; 'reported' = published figure, blank where none):")
    print(df.to_string(index=False, na_rep=""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
