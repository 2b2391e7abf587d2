"""The results contract: one JSON file per (profile, dataset, system), written atomically.

``results/<profile>/<dataset>/<system>.json`` holds ``dataset``, ``system``, ``profile``, ``metrics`` (names as
ir_measures prints them), ``per_query`` ({measure: {qid: value}}) and ``provenance`` (the config and its hash,
seed, library versions, device, git commit, start and end time). Later notebooks, the figures and outside checks
read only these files. Dataset names: dl19, dl20, noveleval, nq; systems: those of `dearlib.evaluation.systems`
(bm25, teacher, dear-p, dear-l, ...) and the released checkpoints' (notebook 08). The git commit recorded is the one
a run started from (`git_commit`: run_all.sh passes it in ``DEAR_GIT_COMMIT``). A profile, dataset or system name must be one plain file-name component
(`check_name`): ``../../escape`` as a system would write outside the results folder. A per-query value must be a
finite number: `read_result` names the file, measure and query of one that is not (JSON's NaN would otherwise
slip into every mean and table as a number).
"""
from __future__ import annotations

import datetime as _dt
import importlib.metadata
import math
import os
import platform
import re
import subprocess
from pathlib import Path

from ..core import atomic, readers
from ..core.config import config_hash
from ..core.schema import ROOT
from ..retrieval.beir import SETS as BEIR_SETS
from ..retrieval.data import DATASETS as _DATA
from .metrics import Evaluation

DATASETS = tuple(_DATA) + tuple(BEIR_SETS)  # dl19, dl20, noveleval, nq; the BEIR sets of the paper profile
LIBRARIES = ("torch", "transformers", "peft", "trl", "accelerate", "pyserini", "ir-measures", "pytrec-eval-terrier")


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# run_all.sh sets it at its start, so every file of one run names the commit the run started from, even when the
# tree changes while it runs (a notebook edited, a figure written); unset, the checkout is asked
COMMIT_ENV = "DEAR_GIT_COMMIT"
_COMMIT = re.compile(r"(?:[0-9a-f]{40}|[0-9a-f]{64})(?:-dirty)?|unknown")


def git_commit() -> str:
    """The commit a result records: `COMMIT_ENV` when set (checked: a full hex sha with an optional ``-dirty``, or
    ``unknown``), else HEAD of the checkout, ``-dirty`` when a tracked file differs from it."""
    given = os.environ.get(COMMIT_ENV, "").strip()
    if given:
        if not _COMMIT.fullmatch(given):
            raise ValueError(f"{COMMIT_ENV}={given!r} is not a commit: expected a full hex sha, optionally followed by "
                             "'-dirty', or 'unknown' (run_all.sh sets it; unset it to ask git)")
        return given
    root = ROOT
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def device() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return f"cuda: {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return f"cpu: {platform.processor() or platform.machine()}"


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def provenance(cfg: dict, started: str, **extra) -> dict:
    return {
        "profile": cfg["profile"],
        "config": cfg,
        "config_hash": config_hash(cfg),
        "seed": cfg.get("seed"),
        "libraries": library_versions(),
        "device": device(),
        "git_commit": git_commit(),
        "started": started,
        "finished": now(),
        **extra,
    }


# One path component, no leading dot (., .., hidden files). "+" too: a system named after a Stage-1 loss
# (dear-p-ce+kl, dear-p-ce+ranknet+kl) holds one.
PLAIN_NAME = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]*")


def check_name(name: str, what: str) -> str:
    """`name` if it is one plain file-name component (letters, digits, ``-``, ``_``, ``+``, ``.``, not first a ``.``),
    else a ValueError naming it: a profile, dataset or system name becomes a folder or file name under results/."""
    if not isinstance(name, str) or not PLAIN_NAME.fullmatch(name):
        raise ValueError(f"{what} name {name!r} is not a plain file name (letters, digits, '-', '_', '+', '.', "
                         "not starting with '.'): it names a file or folder under the results folder")
    return name


def profile_dir(results_dir: str | Path, profile: str) -> Path:
    """``<results_dir>/<profile>``, the profile checked by `check_name`."""
    return Path(results_dir) / check_name(profile, "profile")


def result_path(results_dir: str | Path, profile: str, dataset: str, system: str) -> Path:
    return profile_dir(results_dir, profile) / check_name(dataset, "dataset") / f"{check_name(system, 'system')}.json"


def write_result(results_dir: str | Path, cfg: dict, dataset: str, system: str, ev: Evaluation, started: str,
                 **extra) -> Path:
    """Write one result file; `extra` keys (depth, timings, notes, ...) go into the provenance."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: the contract names {', '.join(DATASETS)}")
    path = result_path(results_dir, cfg["profile"], dataset, system)  # the names checked before anything is made
    bad = [f"{m} = {v!r}" for m, v in ev.metrics.items() if not _finite(v)]
    bad += [f"{m} of query {q!r} = {v!r}" for m, vs in ev.per_query.items() for q, v in vs.items() if not _finite(v)]
    if bad:  # refused before writing: `read_result` would refuse the file anyway
        raise ValueError(f"{path}: not written, {len(bad)} value(s) not a finite number: {', '.join(bad[:5])}")
    record = {
        "dataset": dataset,
        "system": system,
        "profile": cfg["profile"],
        "metrics": ev.metrics,
        "per_query": ev.per_query,
        "queries_without_run": ev.queries_without_run,
        "provenance": provenance(cfg, started, **extra),
    }
    return atomic.write_json(path, record)


def read_result(path: str | Path) -> dict:
    """One result file, checked against the contract; what is wrong names the file (and the line, for bad JSON)."""
    path = Path(path)
    rec = readers.read_json(path)
    if not isinstance(rec, dict):
        raise ValueError(f"{path}: not a result file (a JSON {type(rec).__name__}, not an object)")
    for key in ("dataset", "system", "profile", "metrics", "per_query", "provenance"):
        if key not in rec:
            raise ValueError(f"{path}: not a result file (no {key!r})")
    for key in ("metrics", "per_query", "provenance"):
        if not isinstance(rec[key], dict):
            raise ValueError(f"{path}: not a result file ({key!r} is a JSON {type(rec[key]).__name__}, not an object)")
    for m, v in rec["metrics"].items():
        if not _finite(v):
            raise ValueError(f"{path}: metric {m!r} is {v!r}, not a finite number")
    for m, values in rec["per_query"].items():
        if not isinstance(values, dict):
            raise ValueError(f"{path}: per_query[{m!r}] is not an object of {{query id: value}}")
        for q, v in values.items():
            if not _finite(v):
                raise ValueError(f"{path}: per_query[{m!r}][{q!r}] is {v!r}, not a finite number")
    return rec


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def load_results(results_dir: str | Path, profile: str) -> list[dict]:
    """Every result file of a profile (the dataset folders only: derived tables beside them are not results)."""
    root = profile_dir(results_dir, profile)
    return [read_result(p) for d in DATASETS for p in sorted((root / d).glob("*.json"))]
