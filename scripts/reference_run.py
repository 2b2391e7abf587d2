"""The reference run in one command: run the notebooks, publish them in docs/reference-run/, write RESULTS.md.

    .venv/bin/python scripts/reference_run.py [--profile mini] [--skip-smoke] [--from-existing] [--out ROOT]

1. runs ``./run_all.sh --profile smoke`` (for the smoke timings; not with --skip-smoke) and
   ``./run_all.sh --profile mini``; with --from-existing it uses what such runs left in outputs/ and results/;
2. writes docs/reference-run/: the executed notebooks cleaned for a stranger (`dearlib.publish.reference_run.clean_notebook`),
   the result files (results/<profile>/<dataset>/<system>.json, notebook 05's tables when small, and
   results/benchmarks/stage1_budget.json when scripts/stage1_budget.py measured one), timings.json (every profile
   run) and a README.md index; and figures/<profile>/: the run's figures, which run_all.sh leaves in
   outputs/figures/<profile>/ (ignored by git, so a run never changes the committed ones); each folder is replaced
   as a whole, never left half-written;
3. writes the measured times into the ``**Time:**`` line of each notebook (the source in notebooks/ and the
   executed copy) and RESULTS.md from the files in docs/reference-run/ (`dearlib.publish.reference_run.results_page`).

It stops, before writing anything, when a notebook lacks its ``**Time:**`` line, when a result file or a figure is
older than the run (an earlier run's file left in results/ or outputs/figures/), when the run drew no figure, or
when the executed notebooks and the figures exceed 10 MB together. --out ROOT writes docs/reference-run/,
figures/<profile>/, RESULTS.md and the updated notebooks under ROOT instead of the checkout (to try the script,
e.g. ``--profile smoke --out /tmp/try``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's dearlib, whichever the environment installed

from dearlib.core import atomic, readers  # noqa: E402
from dearlib.publish import reference_run as ref  # noqa: E402
from dearlib.evaluation.results import DATASETS, read_result  # noqa: E402

SIZE_LIMIT = 10 * 2**20  # executed notebooks + the figures: what the repository carries for the run
TABLES_LIMIT = 2**20  # notebook 05's tables are copied when they are this small
SLACK_S = 5  # a result file finished this long before the run's recorded start still belongs to it (clock rounding)


def run_notebooks(profile: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    print(f"==> ./run_all.sh --profile {profile}", flush=True)
    if subprocess.run(["./run_all.sh", "--profile", profile], cwd=ROOT, env=env).returncode != 0:
        raise SystemExit(f"./run_all.sh --profile {profile} failed (see above); nothing was written")


def read_runs(profile: str) -> dict:
    """outputs/<profile>/timings.json of the reference profile (required) and of smoke (when there)."""
    runs = {}
    for p in dict.fromkeys(("smoke", profile)):
        path = ROOT / "outputs" / p / "timings.json"
        if path.is_file():
            runs[p] = readers.read_json(path)
        elif p == profile:
            raise SystemExit(f"{path} is missing: ./run_all.sh --profile {p} writes it when every notebook ran")
        else:
            print(f"warning: {path} is missing, so the Time lines give no smoke time (run without --skip-smoke)")
    return runs


def check_time_lines(paths: list[Path]) -> None:
    problems = []
    for path in paths:
        try:
            ref.set_time_line(nbformat.read(path, as_version=4), "", str(path.relative_to(ROOT)))
        except ValueError as e:
            problems.append(str(e))
    if problems:
        raise SystemExit("cannot fill in the Time lines:\n  " + "\n  ".join(problems))


def run_window(run: dict) -> tuple[dt.datetime, dt.datetime]:
    """When the run started (less `SLACK_S`) and ended, from its timings."""
    end = dt.datetime.fromisoformat(run["date"])
    return end - dt.timedelta(seconds=run["total_seconds"] + SLACK_S), end


def figure_files(profile: str, run: dict) -> list[Path]:
    """The run's figures (outputs/figures/<profile>/); none, or one older than the run (an earlier run's, say a panel
    no longer drawn), stops us."""
    folder = ROOT / ref.RUN_FIGURES / profile
    paths = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    if not paths:
        raise SystemExit(f"no figures under {folder}: notebooks 05 and 07 draw them when run_all.sh runs them")
    start, _ = run_window(run)
    stale = [f"{p.relative_to(ROOT)} (written {dt.datetime.fromtimestamp(p.stat().st_mtime, dt.timezone.utc):%Y-%m-%d %H:%M:%S})"
             for p in paths if dt.datetime.fromtimestamp(p.stat().st_mtime, dt.timezone.utc) < start]
    if stale:
        raise SystemExit(f"figures older than the run of {start:%Y-%m-%d %H:%M:%S} (left by an earlier run: delete "
                         "them, or rerun):\n  " + "\n  ".join(stale))
    return paths


def result_files(profile: str, run: dict) -> list[Path]:
    """Every result file of the run; one written before the run started is an earlier run's, and stops us."""
    start, end = run_window(run)
    paths = [p for d in DATASETS for p in sorted((ROOT / "results" / profile / d).glob("*.json"))]
    if not paths:
        raise SystemExit(f"no result files under {ROOT / 'results' / profile}")
    finished = {p: read_result(p)["provenance"].get("finished") for p in paths}
    stale = [f"{p.relative_to(ROOT)} (finished {f})" for p, f in finished.items()
             if not f or not start <= dt.datetime.fromisoformat(f) <= end]
    if stale:
        raise SystemExit(f"result files not written by the run of {start:%Y-%m-%d %H:%M:%S} to {run['date']} "
                         "(left by an earlier run: delete them, or rerun):\n  " + "\n  ".join(stale))
    return paths


def build(folder: Path, figures_folder: Path, profile: str, runs: dict) -> None:
    """Fill `folder` (empty) with what docs/reference-run/ holds and `figures_folder` (empty) with the run's figures."""
    run = runs[profile]
    sources = {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    if sources != set(run["notebooks"]):
        raise SystemExit(f"outputs/{profile}/timings.json lists {sorted(run['notebooks'])}, notebooks/ holds "
                         f"{sorted(sources)}: rerun ./run_all.sh --profile {profile}")
    size = 0
    for name in sorted(run["notebooks"]):
        executed = ROOT / "outputs" / profile / name
        nb = ref.clean_notebook(nbformat.read(executed, as_version=4), ROOT)
        ref.set_time_line(nb, time_line(name, profile, runs), str(executed.relative_to(ROOT)))
        size += atomic.write_text(folder / name, nbformat.writes(nb) + "\n").stat().st_size
    figures = figure_files(profile, run)
    size += sum(p.stat().st_size for p in figures)
    if size > SIZE_LIMIT:
        big = sorted([*folder.glob("*.ipynb"), *figures], key=lambda p: p.stat().st_size, reverse=True)[:5]
        raise SystemExit(f"the executed notebooks and the figures of {ref.RUN_FIGURES / profile} take {size / 2**20:.1f} MB, over the "
                         f"{SIZE_LIMIT / 2**20:.0f} MB limit; the largest: "
                         + ", ".join(f"{p.name} {p.stat().st_size / 2**20:.1f} MB" for p in big))
    source = ROOT / ref.RUN_FIGURES / profile
    for p in figures:  # the published figures: the run's, byte for byte (the CSV and Markdown tables too)
        atomic.write_bytes(figures_folder / p.relative_to(source), p.read_bytes())
    for path in result_files(profile, run):
        rel = path.relative_to(ROOT)
        atomic.write_json(folder / rel, ref.relativise_result(read_result(path), ROOT))
    tables = [p for p in (ROOT / "results" / profile / "tables").glob("*") if p.is_file()]
    if sum(p.stat().st_size for p in tables) <= TABLES_LIMIT:
        rules = ref.path_rules(ROOT)
        for p in tables:
            atomic.write_text(folder / p.relative_to(ROOT), ref.relativise(p.read_text(), rules))
    budget = ROOT / "results" / "benchmarks" / profile / "stage1_budget.json"
    if budget.is_file():
        atomic.write_json(folder / "results" / "benchmarks" / "stage1_budget.json",
                          ref.relativise_result(readers.read_json(budget), ROOT))
    atomic.write_json(folder / "timings.json", {"reference": profile, "runs": runs})
    atomic.write_text(folder / "README.md", ref.index_page(folder))


def time_line(name: str, profile: str, runs: dict) -> str:
    seconds = {p: r["notebooks"][name] for p, r in runs.items() if name in r["notebooks"]}
    return ref.time_line(seconds, profile, runs[profile]["machine"].get("cpu_cores"))


def staging_folder(target: Path) -> Path:
    """An empty folder beside `target`, hidden, to be swapped in for it by `replace_folder`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o777 & ~atomic.umask())  # mkdtemp's folder is private; give it the usual permissions
    return staging


def replace_folder(new: Path, target: Path) -> None:
    """Swap `new` in for `target` with renames, so a reader never sees a half-written folder."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="mini", help="the profile published (default mini)")
    ap.add_argument("--skip-smoke", action="store_true", help="do not run the smoke profile (its timings, if any, "
                    "come from outputs/smoke/timings.json)")
    ap.add_argument("--from-existing", action="store_true", help="run nothing: use outputs/ and results/ as they are")
    ap.add_argument("--out", type=Path, default=ROOT, help="write docs/reference-run/, RESULTS.md and the updated "
                    "notebooks under this folder (default: the checkout)")
    a = ap.parse_args()
    sources = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    check_time_lines(sources)
    if not a.from_existing:
        for p in dict.fromkeys(("smoke", a.profile) if not a.skip_smoke else (a.profile,)):
            run_notebooks(p)
    runs = read_runs(a.profile)
    target = a.out.resolve() / ref.REFERENCE
    figures_target = a.out.resolve() / ref.PUBLISHED_FIGURES / a.profile
    staging = [staging_folder(t) for t in (target, figures_target)]
    try:
        build(*staging, a.profile, runs)
        page = ref.results_page(staging[0])
    except BaseException:
        for folder in staging:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    replace_folder(staging[0], target)
    replace_folder(staging[1], figures_target)
    atomic.write_text(a.out / "RESULTS.md", page)
    for src in sources:
        nb = nbformat.read(src, as_version=4)
        ref.set_time_line(nb, time_line(src.name, a.profile, runs), str(src.relative_to(ROOT)))
        atomic.write_text(a.out / "notebooks" / src.name, nbformat.writes(nb) + "\n")
    print(f"wrote {target}, {figures_target}, {a.out / 'RESULTS.md'} and the Time lines of {len(sources)} notebooks "
          f"in {a.out / 'notebooks'}")


if __name__ == "__main__":
    main()
