"""The reference run, published: timings, executed notebooks cleaned for a stranger, and RESULTS.md.

Three pieces, each used by ``scripts/reference_run.py`` (which runs ``run_all.sh``, assembles
``docs/reference-run/`` and copies the run's figures from `RUN_FIGURES` into `PUBLISHED_FIGURES`):

- `write_timings` records each notebook's wall time with the commit and the machine (``run_all.sh`` calls
  ``python -m dearlib.publish.reference_run timings``; it writes ``outputs/<profile>/timings.json``);
- `clean_notebook` makes an executed notebook readable outside this machine: widget state and papermill's
  metadata gone, absolute paths made relative to the checkout (its parent ``..``, home folders ``~``, temporary
  ones ``<tmp>``),
  progress bars and library warnings (FutureWarning, UserWarning, ..., and transformers' "LOAD REPORT" tables of
  newly initialised weights) dropped; relative links of the markdown cells rewritten to resolve from
  docs/reference-run/ (`dearlib.publish.links`); figures, tables and the notebook's own messages stay; `set_time_line`
  rewrites the ``**Time:**`` line of the first markdown cell;
- `results_page` renders RESULTS.md from the files under ``docs/reference-run/`` only (result files, timings,
  the Stage-1 budget curve), the published figures coming from ``dearlib/evaluation/reported.yaml`` through
  `dearlib.evaluation.report.paper_comparison`; ``python -m dearlib.publish.reference_run page`` rewrites RESULTS.md from them.

It runs no notebook and computes no metric: every number it prints is read from a file.
"""
from __future__ import annotations

import argparse
import ast
import copy
import os
import platform
import re
import sys
import tempfile
from pathlib import Path

from ..core import atomic, readers
from ..core.config import load_config
from ..core.schema import ROOT
from ..evaluation import systems as registry
from ..evaluation.metrics import NDCG
from ..evaluation.results import DATASETS, git_commit, library_versions, load_results, now
from ..stage1 import budget_curve, side_experiments
from . import links

REFERENCE = Path("docs") / "reference-run"  # relative to the checkout
# where run_all.sh's notebooks draw their figures (git ignores outputs/, so a run leaves the checkout clean), and
# where scripts/reference_run.py publishes the reference run's: <folder>/<profile>/
RUN_FIGURES, PUBLISHED_FIGURES = Path("outputs") / "figures", Path("figures")
TOP_K = ("Top-1", "Top-5", "Top-20")
# said before a table whose rows average over other queries than the table above it (RESULTS.md)
OTHER_QUERIES = "Over other queries than the table above, not to be compared with it row by row"


# ------------------------------------------------------------------------------------------------------ timings


def machine() -> dict:
    """What a timing depends on: usable CPU cores, CPU model, memory, Python and torch versions."""
    model = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        memory = None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = library_versions()
    return {"cpu_cores": cores, "cpu_model": model, "memory_gib": memory, "os": platform.platform(),
            "python": versions["python"], "torch": versions.get("torch")}


def write_timings(path: str | Path, profile: str, seconds: dict[str, float], total_seconds: float) -> Path:
    """outputs/<profile>/timings.json: each notebook's wall time (seconds), the total, commit, machine and date."""
    return atomic.write_json(path, {"notebooks": seconds, "total_seconds": total_seconds, "profile": profile,
                                    "git_commit": git_commit(), "machine": machine(), "date": now()})


# ----------------------------------------------------------------------------------------------------- cleaning

# What `clean_notebook` drops from the outputs, as docs/reference-run/README.md says (`index_page`); the tests hold
# an example of each
DROPPED = ("progress bars", "library warnings (FutureWarning, UserWarning, ... raised inside installed packages)",
           "transformers' LOAD REPORT tables of newly initialised weights")
_LIBRARY_WARNINGS = {"FutureWarning", "UserWarning", "DeprecationWarning", "PendingDeprecationWarning", "TqdmWarning",
                     "TqdmExperimentalWarning"}
# `path:line: Category: message` as warnings.formatwarning prints it; the indented source line follows
_WARNING = re.compile(r"^(?P<file>\S.*?):\d+: (?P<category>\w+): ")
# transformers' load report: "[transformers] BertFor... LOAD REPORT from: ...", a Key | Status table, then Notes
_LOAD_REPORT = re.compile(r"^\[transformers\] .*LOAD REPORT")
_LOAD_REPORT_BODY = re.compile(r"^(?:.*\|.*|\s*|Notes:|- .*|-+\+.*)$")
# a tqdm bar: "Map:  40%|████      | 2/5 [00:01<00:02, 1.2it/s]" (its \r-separated redraws are dropped first)
_PROGRESS = re.compile(r"\d+%\|.*\|\s*\d+(\.\d+)?[kMG]?/\S+ \[|\|\s*\d+/\d+ \[\d")


def path_rules(root: str | Path) -> list[tuple[re.Pattern, str]]:
    """(pattern, replacement) pairs, applied in order: the checkout (and its .venv, which may be a link elsewhere)
    becomes relative, the folder holding it `..` (the data sit in ../shared/data), a home folder `~`, a temporary
    folder `<tmp>`."""
    root = Path(root).absolute()
    literal = {str(root): "", str(root.resolve()): ""}
    for parent in {root.parent, root.resolve().parent} - {Path("/")}:
        literal.setdefault(str(parent), "..")
    for venv in (root / ".venv", Path(sys.prefix)):  # the kernel's libraries, wherever the environment lives
        if venv.exists():
            literal.setdefault(str(venv.resolve()), ".venv")
    end = r"(?![\w.-])"  # not the start of a longer name: /work/kit is not /work/kit2
    rules = []
    for path in sorted(literal, key=len, reverse=True):  # the longest first: a .venv inside the checkout
        rel = literal[path]
        rules.append((re.compile(re.escape(path) + "/"), rel + "/" if rel else ""))
        rules.append((re.compile(re.escape(path) + end), rel or "."))
    home = re.escape(str(Path.home()))
    before = r"(?<![\w.~/-])"
    rules.append((re.compile(before + f"(?:{home}|/root|/home/[^/\\s'\"]+)" + end), "~"))
    tmps = sorted({"/tmp", tempfile.gettempdir()}, key=len, reverse=True)
    rules.append((re.compile(before + f"(?:{'|'.join(map(re.escape, tmps))})(?:/[^/\\s'\"():,]+)?" + end), "<tmp>"))
    return rules


def relativise(text: str, rules: list[tuple[re.Pattern, str]]) -> str:
    for pattern, repl in rules:
        text = pattern.sub(lambda _: repl, text)  # taken literally, never as a regex template
    return text


def clean_stream(text: str) -> str:
    """Drop progress-bar redraws and library warnings from a stdout/stderr stream; keep every other line."""
    lines = text.split("\n")
    out, i = [], 0
    while i < len(lines):
        line = lines[i].rsplit("\r", 1)[-1]  # what a terminal shows of a line redrawn with \r
        m = _WARNING.match(line)
        if m and m["category"] in _LIBRARY_WARNINGS and "site-packages" in m["file"]:
            i += 1  # the message may run over several lines; the indented source line closes it
            while i < len(lines) and not _WARNING.match(lines[i]) and not lines[i].startswith("  "):
                i += 1
            if i < len(lines) and lines[i].startswith("  "):
                i += 1
            continue
        if _LOAD_REPORT.match(line):  # the table and its notes run to the first line of another shape
            if out and not out[-1].strip():  # transformers opens the report with an empty line
                out.pop()
            i += 1
            while i < len(lines) and _LOAD_REPORT_BODY.match(lines[i]) and not _LOAD_REPORT.match(lines[i]):
                i += 1
            continue
        if "\r" in lines[i] and not line.strip() or _PROGRESS.search(line):
            i += 1
            continue
        out.append(line.rstrip() if "\r" in lines[i] else line)
        i += 1
    return "\n".join(out)


def _literals(source: str) -> dict:
    """`name = literal` assignments of a parameters cell (anything else is skipped)."""
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


def _same_parameters(injected: dict, defaults: dict, cwd: Path) -> bool:
    """Whether papermill's injected values only restate the defaults (paths compared from the notebook's folder)."""
    def same(v, d):
        if isinstance(v, str) and isinstance(d, str) and v != d:
            return (cwd / d).resolve() == Path(v).resolve()
        return v == d
    return all(k in defaults and same(v, defaults[k]) for k, v in injected.items())


def _clean_output(out, rules) -> dict | None:
    if out.output_type == "stream":
        text = clean_stream(relativise(out.text if isinstance(out.text, str) else "".join(out.text), rules))
        if not text.strip():
            return None
        out.text = text
    elif out.output_type in ("display_data", "execute_result"):
        if "application/vnd.jupyter.widget-view+json" in out.data:  # a progress bar; its state is stripped
            return None
        for mime, value in out.data.items():
            if not mime.startswith("image/"):  # base64 images are left alone (their alphabet holds '/')
                out.data[mime] = _relativise_json(value, rules)
    elif out.output_type == "error":
        out.evalue = relativise(out.evalue, rules)
        out.traceback = [relativise(t, rules) for t in out.traceback]
    if "metadata" in out:  # streams have none
        out.metadata.pop("papermill", None)
    return out


def _relativise_json(value, rules):
    if isinstance(value, str):
        return relativise(value, rules)
    if isinstance(value, list):
        return [_relativise_json(v, rules) for v in value]
    if isinstance(value, dict):
        return type(value)({k: _relativise_json(v, rules) for k, v in value.items()})
    return value


def _published_link(target: str, dest: str) -> str:
    """A notebook's link as it reads from `dest`; a link to a sibling notebook stays: its executed copy is there."""
    if "/" not in target and target.partition("#")[0].endswith(".ipynb"):
        return target
    return links.moved(target, "notebooks", dest)


def clean_notebook(nb, root: str | Path, dest: str | Path = REFERENCE):
    """A copy of an executed notebook fit to publish (see the module docstring); `root` is the checkout it ran in
    (from its notebooks/ folder, as run_all.sh runs them), `dest` the folder it is published in (relative to root)."""
    nb = copy.deepcopy(nb)
    rules = path_rules(root)
    cwd = Path(root) / "notebooks"
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("papermill", None)
    params = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    cells = []
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            if params is not None and _same_parameters(_literals(cell.source), _literals(params.source), cwd):
                continue  # papermill restated the defaults: noise
            cell.source = relativise(cell.source, rules)
        if cell.cell_type == "code":
            cell.outputs = [o for o in (_clean_output(o, rules) for o in cell.outputs) if o is not None]
        elif cell.cell_type == "markdown":  # notebooks/../figures/x.png is ../../figures/x.png from docs/reference-run/
            cell.source = links.rewrite(cell.source, lambda t: _published_link(t, str(dest)))
        cells.append(cell)
    nb.cells = cells
    return nb


def relativise_result(record, root: str | Path):
    """A result record with the checkout's, home and temporary paths in its strings made relative (numbers untouched)."""
    return _relativise_json(record, path_rules(root))


def time_line(seconds: dict[str, float], reference: str, cores: int | None) -> str:
    """`**Time:** about N s on smoke and M s on mini (2 CPU cores; ...)` from measured seconds per profile."""
    parts = [f"{round(seconds[p])} s on {p}" for p in ("smoke", reference) if p in seconds]
    parts = list(dict.fromkeys(parts))  # smoke as the reference profile: once
    where = f"{cores} CPU cores; " if cores else ""
    return f"**Time:** about {' and '.join(parts)} ({where}the reference run, {REFERENCE}/)."


def set_time_line(nb, line: str, name: str = "notebook") -> None:
    """Replace the single line starting with `**Time:**` in the first (markdown) cell, in place."""
    cell = nb.cells[0] if nb.cells else None
    if cell is None or cell.cell_type != "markdown":
        raise ValueError(f"{name}: the first cell is not markdown, so it has no **Time:** line")
    lines = cell.source.split("\n")
    hits = [i for i, text in enumerate(lines) if text.startswith("**Time:**")]
    if len(hits) != 1:
        raise ValueError(f"{name}: the first cell has {len(hits)} lines starting with '**Time:**', expected exactly one "
                         "(see the notebook shape of issue #15)")
    if hits[0] + 1 < len(lines) and lines[hits[0] + 1].strip():
        raise ValueError(f"{name}: the **Time:** paragraph goes on after its first line, which a measured line would leave "
                         "dangling; keep the **Time:** paragraph to one line")
    lines[hits[0]] = line
    cell.source = "\n".join(lines)


# ------------------------------------------------------------------------------------------------- RESULTS.md


def read_timings(reference: str | Path) -> dict:
    """docs/reference-run/timings.json: {"reference": profile, "runs": {profile: outputs/<profile>/timings.json}}."""
    path = Path(reference) / "timings.json"
    timings = readers.read_json(path)
    if timings.get("reference") not in timings.get("runs", {}):
        raise ValueError(f"{path}: 'reference' names no profile of 'runs' ({sorted(timings.get('runs', {}))})")
    return timings


def _short(commit: str) -> str:
    sha, dirty = commit.partition("-dirty")[:2]
    return sha[:10] + dirty


def _machine_text(run: dict) -> str:
    m = run["machine"]
    memory = f", {m['memory_gib']} GiB memory" if m.get("memory_gib") else ""
    torch = f", torch {m['torch']}" if m.get("torch") else ""
    return f"{m['cpu_cores']} CPU cores ({m['cpu_model']}){memory}, Python {m['python']}{torch} ({m['os']})"


def _system_order(system: str) -> tuple:
    """The registry's order (the cascade's) first; other systems (ablations) after it, by name."""
    first = registry.ids()
    return (first.index(system), "") if system in first else (len(first), system)


def ranking_tables(results_dir: str | Path, profile: str) -> dict[str, list["pd.DataFrame"]]:
    """Per dataset, tables of one row per system: the queries averaged over and each measure x 100 (nDCG@1/5/10,
    Top-k). The first table compares every system on the queries all of them answer: a system scored on more
    (BM25 over every NQ question, the rerankers over the held-out ones) enters it with the mean of its per-query
    values over those shared queries, and its figure over all of its own queries follows in a second table."""
    import pandas as pd

    def row(rec, measures, qids):
        per_query = {m: rec["per_query"][m] for m in measures}
        out = {"system": rec["system"], "queries": len(qids)}
        out.update({m: round(100 * (rec["metrics"][m] if len(qids) == len(per_query[m]) else
                                    sum(per_query[m][q] for q in qids) / len(qids)), 2) for m in measures})
        return out

    by_set: dict[str, list[dict]] = {}
    for rec in sorted(load_results(results_dir, profile), key=lambda r: _system_order(r["system"])):
        by_set.setdefault(rec["dataset"], []).append(rec)
    tables = {}
    for dataset in (d for d in DATASETS if d in by_set):
        recs = by_set[dataset]
        measures = {id(r): [m for m in (*NDCG, *TOP_K) if m in r["metrics"] and m in r["per_query"]] for r in recs}
        qids = {id(r): set(r["per_query"][measures[id(r)][0]]) if measures[id(r)] else set() for r in recs}
        shared = set.intersection(*qids.values())
        if not shared:  # no query answered by all: one table per query set, never one comparison
            groups: dict[frozenset, list] = {}
            for r in recs:
                groups.setdefault(frozenset(qids[id(r)]), []).append(r)
            tables[dataset] = [pd.DataFrame([row(r, measures[id(r)], g) for r in rs]) for g, rs in groups.items()]
            continue
        tables[dataset] = [pd.DataFrame([row(r, measures[id(r)], shared) for r in recs])]
        wider = [r for r in recs if qids[id(r)] != shared]
        if wider:
            tables[dataset].append(pd.DataFrame([row(r, measures[id(r)], qids[id(r)]) for r in wider]))
    return tables


def _budget_table(budget: dict) -> "pd.DataFrame":
    """BM25, the teacher, then one row per student setting (training data, loss, steps): nDCG@10 x 100 as mean ± sd
    over the seeds (`budget_curve.summary`), and per set the paired difference from BM25 (per query the mean over
    the seeds minus BM25) with its 95% bootstrap interval (`budget_curve.paired`), the seeds and the commits."""
    import pandas as pd

    sets = [s for s in budget_curve.PANELS if s in budget["bm25"]]
    paired_sets = [s for s in sets if s in budget["per_query"].get("bm25", {})]
    out = [{"model": name, **{f"{s} nDCG@10": f"{budget[key][s]['nDCG@10']:.2f}" for s in sets}}
           for name, key in (("BM25", "bm25"), ("teacher", "teacher"))]
    text, stats = budget_curve.summary(budget), budget_curve.table(budget)
    for (td, loss, steps), row in text.iterrows():
        points = [p for p in budget["points"].values() if (p["training_data"], p["loss"], p["steps"]) == (td, loss, steps)]
        here = [s for s in paired_sets if all(s in p["per_query"] for p in points)]
        vs = budget_curve.paired(budget, (td, loss, steps), sets=here) if here else None
        out.append({"model": f"student, {budget_curve.LABELS[td]}", "loss": loss, "steps": steps,
                    "pairs seen": int(stats.loc[(td, loss, steps)]["pairs seen"].max()), "seeds": len(points),
                    **{f"{s} nDCG@10": row.get(s) if isinstance(row.get(s), str) else "" for s in sets},
                    **{f"{s} - BM25 [95% CI]": f"{vs.loc[s, 'difference']:+.2f} [{vs.loc[s, 'low']:.2f}, {vs.loc[s, 'high']:.2f}]"
                       for s in here},
                    "commit": ", ".join(sorted({_short(p["git_commit"]) for p in points if p.get("git_commit")}))})
    cols = ["model", "loss", "steps", "pairs seen", "seeds", *(f"{s} nDCG@10" for s in sets),
            *(f"{s} - BM25 [95% CI]" for s in paired_sets), "commit"]
    df = pd.DataFrame(out).reindex(columns=cols).astype(object).fillna("")
    for col in ("steps", "pairs seen", "seeds"):
        df[col] = df[col].map(lambda v: "" if v == "" else str(int(v)))
    return df


def results_page(reference: str | Path = REFERENCE) -> str:
    """The text of RESULTS.md, from the files under `reference` (docs/reference-run/) and dearlib/evaluation/reported.yaml."""
    import pandas as pd

    from ..evaluation.report import TOLERANCE, markdown, paper_comparison, unrun

    reference = Path(reference)
    timings = read_timings(reference)
    profile, runs = timings["reference"], timings["runs"]
    run = runs[profile]
    results = reference / "results"
    lines = [
        "# Results of the reference run",
        "",
        f"Every number on this page is read from the files in [{REFERENCE}/]({REFERENCE}/README.md) (result files and "
        "timings), the published figures from [dearlib/evaluation/reported.yaml](dearlib/evaluation/reported.yaml) with their sources. "
        "The page is generated, never typed: `scripts/reference_run.py` writes it after a run, "
        "`.venv/bin/python -m dearlib.publish.reference_run page` rewrites it from the committed files, and "
        "`tests/test_reference_run.py` checks that the two agree. Older measurements, kept by hand with their "
        "commands: [docs/measurements.md](docs/measurements.md).",
        "",
        f"**The run:** `./run_all.sh --profile {profile}` at commit `{_short(run['git_commit'])}`, finished "
        f"{run['date']}, on {_machine_text(run)}. The executed notebooks, with their outputs and figures, are in "
        f"[{REFERENCE}/]({REFERENCE}/README.md).",
        "",
        f"## Ranking quality (profile `{profile}`)",
        "",
        "nDCG@1/5/10 x 100 (trec_eval's, through ir_measures) and, on NQ, Top-k answer accuracy x 100; `queries` is "
        "the number of queries each value averages over. Systems: `bm25` (notebook 01), `teacher` and `dear-p` "
        "(Stage 1, notebook 02; on NQ notebook 06), `dear-l` (Stage 1 + Stage 2, notebook 04), "
        "`listwise-zeroshot` (the same cascade without the Stage-2 adapter, notebook 04); Stage 1's side "
        "experiments (over seeds: the budget, the loss ablation, the in-domain control) are in their own table below.",
    ]
    for dataset, (first, *others) in ranking_tables(results, profile).items():
        lines += ["", f"### {dataset}", "", markdown(first).rstrip("\n")]
        for df in others:  # the same systems over other queries: said before the table, never mixed into it
            lines += ["", f"{OTHER_QUERIES} ({', '.join(df['system'])}, {', '.join(map(str, df['queries']))} "
                          "queries):", "", markdown(df).rstrip("\n")]
    df = paper_comparison(results, profile)
    unrun_beir, unrun_released = unrun(df)
    lines += ["", "## Reported vs reproduced", "",
              f"Each figure the paper reports beside ours (x 100), with one status: reproduced (within {TOLERANCE} "
              "points, or the figure's own tolerance in reported.yaml), differs, not comparable (a slice of the "
              "queries, another question set, or the kit's small models outside the `paper` profile) or not run; "
              "`detail` says by how much (ours minus reported) or why.", "",
              markdown(df[~unrun_beir & ~unrun_released][["dataset", "method", "measure", "reported", "ours", "queries", "status",
                                        "detail", "source"]]).rstrip("\n")]
    if unrun_beir.any():
        lines += ["", f"BEIR: {unrun_beir.sum()} published figures on {df[unrun_beir]['dataset'].nunique()} sets, "
                      f"not run {df[unrun_beir]['detail'].iloc[0]} (the `paper` profile retrieves BEIR)."]
    if unrun_released.any():
        lines += ["", f"Released checkpoints: {unrun_released.sum()} published figures (sources "
                      f"{', '.join(df[unrun_released]['source'].unique())}), not run in this profile (notebook 08 runs "
                      "them: a GPU and the checkpoints)."]
    order = [p for p in ("smoke", profile) if p in runs]
    names = sorted({n for p in order for n in runs[p]["notebooks"]})
    times = pd.DataFrame([{"notebook": n, **{f"{p} (s)": runs[p]["notebooks"].get(n) for p in order}} for n in names]
                         + [{"notebook": "all", **{f"{p} (s)": runs[p]["total_seconds"] for p in order}}])
    lines += ["", "## Time of each notebook", "",
              "Wall time of each notebook under papermill (`./run_all.sh --profile <profile>`, which writes "
              "`outputs/<profile>/timings.json`); `all` is the whole loop.", "",
              markdown(times.astype({c: "Int64" for c in times.columns[1:]})).rstrip("\n")]
    for p in order:
        if p != profile and (runs[p]["git_commit"], runs[p]["machine"]) != (run["git_commit"], run["machine"]):
            lines += ["", f"The `{p}` run: commit `{_short(runs[p]['git_commit'])}`, finished {runs[p]['date']}, on "
                          f"{_machine_text(runs[p])}."]
    lines += ["", "## Measurement history", "",
              "Earlier measurements and the commands that made them: [docs/measurements.md](docs/measurements.md)."]
    budget_path = results / "benchmarks" / "stage1_budget.json"
    if budget_path.is_file():
        budget = budget_curve.load(budget_path)
        lines += ["", f"### Stage 1's side experiments ({budget['profile']})", "",
                  "Students trained as notebook 02 trains `dear-p`, one setting changed at a time (the training budget, "
                  "the loss: the loss ablation, the training data: NQ or in-domain, each TREC DL year's student trained "
                  "on the other year's judged BM25 candidates, `dearlib.stage1.crossfit`, NovelEval by the DL20-trained "
                  "one), three seeds each (`dearlib.stage1.side_experiments`); nDCG@10 x 100, mean ± sample sd over the "
                  f"seeds, over the BM25 top {budget['depth']} of DL19, DL20 and NovelEval; `- BM25`: per query the "
                  "mean over the seeds minus BM25, and the 95% bootstrap interval of its mean over the queries "
                  f"([results/benchmarks/stage1_budget.json]({REFERENCE}/results/benchmarks/stage1_budget.json)). "
                  "Commands: " + "; ".join(f"`{c}`" for c in budget.get("commands") or side_experiments.commands(load_config(budget["profile"]))) + ".",
                  "", markdown(_budget_table(budget)).rstrip("\n")]
    return "\n".join(lines) + "\n"


def index_page(reference: str | Path = REFERENCE) -> str:
    """docs/reference-run/README.md: what the folder holds, each executed notebook with its time."""
    reference = Path(reference)
    timings = read_timings(reference)
    profile, runs = timings["reference"], timings["runs"]
    run = runs[profile]
    rows = [f"| [{n}]({n}) | {round(s)} |" for n, s in sorted(run["notebooks"].items())]
    return "\n".join([
        f"# The reference run (profile `{profile}`)",
        "",
        f"`scripts/reference_run.py` ran `./run_all.sh --profile {profile}` at commit `{_short(run['git_commit'])}` "
        f"(finished {run['date']}) on {_machine_text(run)}, and copied here what it produced, cleaned for reading "
        f"elsewhere: absolute paths made relative to the checkout, {', '.join(DROPPED[:-1])} and {DROPPED[-1]} "
        "removed, the links of the markdown cells rewritten to resolve from here; figures, tables and the "
        "notebooks' own messages kept. The summary with every table: [RESULTS.md](../../RESULTS.md).",
        "",
        "| executed notebook | wall time (s) |",
        "|---|---|",
        *rows,
        "",
        f"- `results/{profile}/<dataset>/<system>.json`: the result files ([the results contract]"
        f"(../results-contract.md)); `.venv/bin/python -m dearlib.evaluation.report --results "
        f"{REFERENCE}/results --profile {profile}` prints their table;",
        f"- `results/{profile}/tables/`: notebook 05's tables, when small;",
        "- `results/benchmarks/stage1_budget.json`: Stage 1's side experiments (`scripts/stage1_budget.py`), read by notebooks 02 and 07;",
        "- `timings.json`: each notebook's wall time per profile, with the commit and the machine.",
        "",
        f"The run's figures (drawn into `{RUN_FIGURES}/{profile}/`) are published in "
        f"[`{PUBLISHED_FIGURES}/{profile}/`](../../{PUBLISHED_FIGURES}/{profile}/).",
        "",
    ])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dearlib.publish.reference_run", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("timings", help="write outputs/<profile>/timings.json (run_all.sh calls it)")
    t.add_argument("path")
    t.add_argument("--profile", required=True)
    t.add_argument("--total", required=True, help="seconds for all notebooks")
    t.add_argument("notebooks", nargs="+", metavar="NAME=SECONDS")
    p = sub.add_parser("page", help="rewrite RESULTS.md from the files under docs/reference-run/")
    p.add_argument("--reference", default=str(ROOT / REFERENCE))
    p.add_argument("--out", default=str(ROOT / "RESULTS.md"))
    a = ap.parse_args(argv)
    if a.command == "timings":
        def number(text: str) -> int | float:
            try:
                return int(text) if text.isdigit() else float(text)
            except ValueError:
                ap.error(f"{text!r} is not a number of seconds")
        seconds = {}
        for item in a.notebooks:
            name, sep, value = item.rpartition("=")
            if not sep:
                ap.error(f"{item!r}: expected NAME=SECONDS")
            seconds[name] = number(value)
        print(f"wrote {write_timings(a.path, a.profile, seconds, number(a.total))}")
    else:
        print(f"wrote {atomic.write_text(a.out, results_page(a.reference))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
