"""Evaluation from result files only: tables, per-query wins and losses, paired significance, efficiency.

`Collection` reads every result file of a profile (``results/<profile>/<dataset>/<system>.json``, see
`dearlib.evaluation.results`) and flags, rather than mixes silently, a file written under another profile or under a
configuration other than the current ``configs/<profile>.yaml`` (its provenance ``config_hash`` differs; the
flag names the settings that changed). A missing file is reported with the notebook that writes it, never a crash.

On top: nDCG@1/5/10 tables per dataset (`ndcg_table`), paired comparisons of two systems on the query ids they
share (`paired`: wins / ties / losses, Student's paired t-test and the Wilcoxon signed-rank test, both two-sided
and uncorrected for multiple comparisons), the time per query each stage recorded (`efficiency_table`) and a
summary written atomically under ``results/<profile>/tables/`` (`write_summary`).

This module computes no ranking measure itself (`dearlib.evaluation.metrics` did, when the result was written), trains and
reranks nothing, and reads no model. The BEIR sets (`BEIR`) have results in the `paper` profile only.
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core import atomic
from ..core.config import config_hash, load_config
from ..retrieval.beir import SETS as BEIR_SETS
from . import systems as registry
from .metrics import NDCG
from .results import DATASETS, profile_dir, read_result, result_path
from .systems import producer

EVAL_SETS = ("dl19", "dl20", "noveleval")  # the ranking evaluation sets of notebook 05
BEIR = BEIR_SETS  # the paper's eight BEIR sets, name -> the paper's column (paper profile only)
COMPARISONS = (("teacher", "bm25"), ("dear-p", "bm25"), ("dear-l", "bm25"), ("dear-l", "dear-p"),
               ("dear-l", "listwise-zeroshot"))
def expected_config(profile: str, seed: int) -> dict:
    """The configuration a notebook run with these parameters records (the notebooks set `seed` before hashing)."""
    cfg = load_config(profile)
    cfg["seed"] = seed
    return cfg


def config_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted names of the settings that differ between two configurations (added, removed or changed)."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        name = f"{prefix}{key}"
        if key not in old or key not in new:
            out.append(name)
        elif isinstance(old[key], dict) and isinstance(new[key], dict):
            out.extend(config_changes(old[key], new[key], name + "."))
        elif old[key] != new[key]:
            out.append(name)
    return out


@dataclass
class Collection:
    """The result files of one profile, indexed by (dataset, system), each checked against the current config."""

    results_dir: Path
    profile: str
    seed: int = 0
    records: dict[tuple[str, str], dict] = field(default_factory=dict)
    config: dict | None = None

    @classmethod
    def load(cls, results_dir: str | Path, profile: str, seed: int = 0) -> "Collection":
        coll = cls(Path(results_dir), profile, seed, config=expected_config(profile, seed))
        root = profile_dir(results_dir, profile)
        for dataset in DATASETS:
            for path in sorted((root / dataset).glob("*.json")):
                rec = read_result(path)
                rec["_path"] = str(path)
                coll.records[(dataset, path.stem)] = rec
        return coll

    @property
    def expected_hash(self) -> str:
        return config_hash(self.config)

    def get(self, dataset: str, system: str) -> dict | None:
        return self.records.get((dataset, system))

    def systems(self, dataset: str) -> list[str]:
        return sorted(s for d, s in self.records if d == dataset)

    def path(self, dataset: str, system: str) -> Path:
        return result_path(self.results_dir, self.profile, dataset, system)

    def missing(self, dataset: str, system: str) -> str:
        """What to say when a result file is absent: the file and the notebook that writes it."""
        return f"{self.path(dataset, system)} is missing: {producer(dataset, system)} writes it"

    def flags(self, rec: dict) -> list[str]:
        """Why a result file should not be mixed with the others silently (empty when it belongs here)."""
        out = []
        if rec.get("profile") != self.profile:
            out.append(f"written under profile {rec.get('profile')!r}, not {self.profile!r}")
        prov = rec["provenance"]
        if prov.get("config_hash") != self.expected_hash:
            changed = config_changes(prov.get("config") or {}, self.config) if prov.get("config") else []
            what = f" (changed since: {', '.join(changed[:4])}{' ...' if len(changed) > 4 else ''})" if changed else ""
            out.append(f"older or other config: hash {prov.get('config_hash')} != current {self.expected_hash}{what}")
        return out

    def flag_text(self, dataset: str, system: str) -> str:
        rec = self.get(dataset, system)
        return "; ".join(self.flags(rec)) if rec else ""

    def warnings(self) -> list[str]:
        """One line per flagged result file."""
        return [f"{d}/{s}.json: {'; '.join(self.flags(r))}" for (d, s), r in sorted(self.records.items()) if self.flags(r)]


def status(coll: Collection, dataset: str, system: str) -> str:
    return "ok" if coll.get(dataset, system) else f"not run ({producer(dataset, system).split(' (')[0]})"


def ndcg_table(coll: Collection, dataset: str, systems=None) -> pd.DataFrame:
    """nDCG@1/5/10 x 100 of each system on one dataset; a system without a result file says which notebook writes it."""
    systems = registry.ids() if systems is None else systems
    rows = []
    for system in systems:
        rec = coll.get(dataset, system)
        row = {"system": system}
        for m in NDCG:
            row[m] = round(100 * rec["metrics"][m], 2) if rec and m in rec["metrics"] else math.nan
        row["queries"] = len(rec["per_query"].get("nDCG@10", {})) if rec else 0
        row["depth"] = rec["provenance"].get("depth") if rec else None
        row["status"] = status(coll, dataset, system)
        row["warning"] = coll.flag_text(dataset, system)
        rows.append(row)
    return pd.DataFrame(rows).set_index("system")


# ------------------------------------------------------------------------------------------------- paired tests


def wins_ties_losses(a: dict[str, float], b: dict[str, float], tol: float = 1e-9) -> tuple[int, int, int]:
    """Over the query ids both share: how often `a` beats `b`, ties it (|difference| <= tol), or loses."""
    shared = sorted(set(a) & set(b))
    wins = sum(1 for q in shared if a[q] - b[q] > tol)
    losses = sum(1 for q in shared if b[q] - a[q] > tol)
    return wins, len(shared) - wins - losses, losses


def paired(a: dict[str, float], b: dict[str, float], tol: float = 1e-9) -> dict:
    """Compare per-query values of two systems on their shared query ids: `a` minus `b`.

    Returns n, both means, the mean difference, wins / ties / losses, the paired t-test (scipy.stats.ttest_rel)
    and the Wilcoxon signed-rank test (scipy.stats.wilcoxon, zero differences dropped), both two-sided.
    A test that is undefined (fewer than two queries, or every difference zero) has p = nan, and `note` says why.
    Raises ValueError when the two share no query id: comparing different query sets would mean nothing.
    """
    from scipy import stats

    shared = sorted(set(a) & set(b))
    if not shared:
        raise ValueError(f"no shared query ids (first system e.g. {sorted(a)[:3]}, second e.g. {sorted(b)[:3]})")
    x, y = [a[q] for q in shared], [b[q] for q in shared]
    d = [u - v for u, v in zip(x, y)]
    w, t, l = wins_ties_losses(a, b, tol)
    out = {"n": len(shared), "mean_a": math.fsum(x) / len(x), "mean_b": math.fsum(y) / len(y),
           "mean_diff": math.fsum(d) / len(d), "wins": w, "ties": t, "losses": l,
           "t": math.nan, "p_t": math.nan, "wilcoxon_W": math.nan, "p_wilcoxon": math.nan, "note": ""}
    nonzero = [v for v in d if abs(v) > tol]
    if len(shared) < 2:
        out["note"] = "one shared query: no test"
    elif not nonzero:
        out["note"] = "identical on every query: no test"
    else:
        if len(set(d)) > 1:
            r = stats.ttest_rel(x, y)
            out["t"], out["p_t"] = float(r.statistic), float(r.pvalue)
        else:
            out["note"] = "the same difference on every query: no t-test"
        r = stats.wilcoxon([v for v in d if abs(v) > tol])
        out["wilcoxon_W"], out["p_wilcoxon"] = float(r.statistic), float(r.pvalue)
    return out


def comparisons(coll: Collection, dataset: str, pairs=COMPARISONS, measure: str = "nDCG@10") -> pd.DataFrame:
    """`paired` for each (system, baseline) pair on one dataset; a pair with a missing system says so."""
    rows = []
    for a, b in pairs:
        ra, rb = coll.get(dataset, a), coll.get(dataset, b)
        row = {"dataset": dataset, "system": a, "baseline": b, "measure": measure}
        if ra is None or rb is None:
            row["note"] = "; ".join(status(coll, dataset, s) + f": {s}" for s, r in ((a, ra), (b, rb)) if r is None)
            rows.append(row)
            continue
        try:
            row.update(paired(ra["per_query"][measure], rb["per_query"][measure]))
        except ValueError as e:
            raise ValueError(f"{dataset}: {a} vs {b}: {e}") from None
        for key in ("mean_a", "mean_b", "mean_diff"):
            row[key] = round(100 * row[key], 2)
        row["warning"] = "; ".join(f"{s}: {f}" for s in (a, b) if (f := coll.flag_text(dataset, s)))
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------- efficiency


def efficiency_table(coll: Collection, datasets=EVAL_SETS, systems=None) -> pd.DataFrame:
    """Seconds per query each stage recorded in its provenance, with the depth it reranked and the device."""
    systems = registry.ids() if systems is None else systems
    rows = []
    for dataset in datasets:
        for system in systems:
            rec = coll.get(dataset, system)
            row = {"dataset": dataset, "system": system, "stage": registry.stage(system)}
            if rec is None:
                row.update({"seconds_per_query": math.nan, "note": status(coll, dataset, system)})
            else:
                prov = rec["provenance"]
                sec = prov.get("seconds_per_query")
                row.update({"seconds_per_query": sec if sec is not None else math.nan, "depth": prov.get("depth"),
                            "device": prov.get("device"), "queries": len(rec["per_query"].get("nDCG@10", {})),
                            "note": "" if sec is not None else "no time recorded (a precomputed or unrecorded first stage)",
                            "warning": coll.flag_text(dataset, system)})
                for stage, s in (prov.get("stage_seconds_per_query") or {}).items():  # Stage 2's split: stage1, stage2
                    row[f"{stage}_seconds_per_query"] = s
                if system == "teacher":
                    row["note"] = "scores may come from the teacher's on-disk cache"
            rows.append(row)
    return pd.DataFrame(rows)


def beir_table(coll: Collection, systems=None) -> pd.DataFrame:
    """nDCG@10 x 100 per BEIR set and system where a result file exists; the rest say why not."""
    systems = registry.ids() if systems is None else systems
    rows = []
    for name, column in BEIR.items():
        row = {"dataset": name, "name": column}
        for system in systems:
            rec = coll.get(name, system)
            row[system] = round(100 * rec["metrics"]["nDCG@10"], 2) if rec and "nDCG@10" in rec["metrics"] else None
        ran = any(row[s] is not None for s in systems)
        row["status"] = ("evaluated" if ran else "not run in this profile" if coll.profile != "paper"
                         else f"not run ({producer(name, 'bm25')} retrieves it)")
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------- summary


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.reset_index().to_json(orient="records"))


def write_summary(coll: Collection, out_dir: str | Path | None = None, datasets=EVAL_SETS) -> dict[str, Path]:
    """Write the evaluation tables as CSV and one JSON, atomically; returns {name: path}.

    Default folder: ``results/<profile>/tables/`` (outside the dataset folders, so `load_results` never reads it).
    """
    out = Path(out_dir) if out_dir else coll.results_dir / coll.profile / "tables"
    ndcg = pd.concat({d: ndcg_table(coll, d) for d in datasets}, names=["dataset"]).reset_index()
    sig = pd.concat([comparisons(coll, d) for d in datasets], ignore_index=True)
    eff = efficiency_table(coll, datasets)
    paths = {name: atomic.write_text(out / f"{name}.csv", df.to_csv(index=False))
             for name, df in (("ndcg", ndcg), ("significance", sig), ("efficiency", eff))}
    summary = {"profile": coll.profile, "config_hash": coll.expected_hash, "ndcg": _records(ndcg),
               "significance": _records(sig), "efficiency": _records(eff), "beir": _records(beir_table(coll)),
               "warnings": coll.warnings()}
    paths["summary"] = atomic.write_json(out / "evaluation.json", summary)
    return paths


# ------------------------------------------------------------------------------------------------- two runs


def same(x: float | None, y: float | None, tol: float = 0.0) -> bool:
    """Whether two metric values are equal within `tol`: NaN equals only NaN (``abs(nan - 0.5) > tol`` is False,
    which would call them equal), and a missing value (None) equals nothing."""
    if x is None or y is None:
        return False
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y or abs(x - y) <= tol  # x == y: the same infinity


def compare_runs(dir_a: str | Path, dir_b: str | Path, profile: str, tol: float = 0.0) -> list[str]:
    """Differences in metric values (and per-query values) between two results folders, timings aside.

    Returns one line per difference, and per file present in only one of them; empty means identical. A folder
    that does not exist is a FileNotFoundError naming it (read as empty, every file would be "only in" the
    other); so are two folders that hold no result file of the profile, saying where it looked: a comparison of
    nothing would report "identical".
    """
    for d in (dir_a, dir_b):
        if not Path(d).is_dir():
            raise FileNotFoundError(f"results folder {d} does not exist")
    a = {k: v for k, v in Collection.load(dir_a, profile).records.items()}
    b = {k: v for k, v in Collection.load(dir_b, profile).records.items()}
    if not a and not b:
        where = " and ".join(f"{Path(d) / profile}/<dataset>/*.json" for d in (dir_a, dir_b))
        raise FileNotFoundError(f"no result file of profile {profile!r} in either folder (looked in {where}): "
                                "give the results folders that hold <profile>/<dataset>/<system>.json")
    out = [f"{d}/{s}.json only in {dir_a if (d, s) in a else dir_b}" for d, s in sorted(set(a) ^ set(b))]
    for key in sorted(set(a) & set(b)):
        ra, rb = a[key], b[key]
        for m in sorted(set(ra["metrics"]) | set(rb["metrics"])):
            va, vb = ra["metrics"].get(m), rb["metrics"].get(m)
            if not same(va, vb, tol):
                out.append(f"{key[0]}/{key[1]}.json {m}: {va} != {vb}")
        for m in sorted(set(ra["per_query"]) & set(rb["per_query"])):
            pa, pb = ra["per_query"][m], rb["per_query"][m]
            diff = [q for q in set(pa) | set(pb) if not same(pa.get(q), pb.get(q), tol)]
            if diff:
                out.append(f"{key[0]}/{key[1]}.json {m}: {len(diff)} queries differ (e.g. {sorted(diff)[:3]})")
    return out


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m dearlib.evaluation.tables", description="Compare the metrics of two runs.")
    ap.add_argument("command", choices=["compare"])
    ap.add_argument("a", help="a results folder")
    ap.add_argument("b", help="another results folder")
    ap.add_argument("--profile", default="smoke")
    ap.add_argument("--tol", type=float, default=0.0, help="largest difference counted as equal (default 0: exact)")
    a = ap.parse_args(argv)
    try:
        diffs = compare_runs(a.a, a.b, a.profile, a.tol)
    except (FileNotFoundError, ValueError) as e:  # nothing to compare, or a result file that is not one
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in diffs:
        print(line)
    n = len(Collection.load(a.a, a.profile).records)
    print(f"{n} result files of profile {a.profile!r}: " + ("metric values identical" if not diffs else f"{len(diffs)} differences"))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
