"""Two commands on a fresh machine: a clone of the committed HEAD, with no ../shared/data beside it, an empty cache
and no DEAR_DATA_DIR, fetches the data itself (from a loopback mirror of the upstream files, DEAR_DATA_UPSTREAM)
and runs ./run_tests.sh and ./run_all.sh --profile smoke to the end.

The clone borrows the running virtual environment instead of building its own (minutes): its .venv links to it
with the stamps scripts/setup_env.sh and run_tests.sh expect, so that set-up skips, and PYTHONPATH makes the clone's
own dearlib the one imported (the venv's editable install points at another checkout).
"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from dearlib.retrieval import data
from dearlib.publish import reproductions

VENV = Path(sys.prefix)


def fresh_clone(tmp_path) -> Path:
    clone = tmp_path / "fresh" / "kit"  # its parent holds no shared/
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    # .venv: links to the running venv's parts, and the stamp that the clone's scripts/setup_env.sh computes (its
    # own line, run here), so that it skips; it can therefore never install into the running venv
    setup = (clone / "scripts" / "setup_env.sh").read_text().splitlines()
    stamp_line = next((l for l in setup if l.startswith("stamp=")), None)
    assert stamp_line, "scripts/setup_env.sh no longer computes its stamp in a line 'stamp=...': update this test"
    stamp = subprocess.run(["bash", "-c", f'set -euo pipefail; py=${{PYTHON:-python3}}; {stamp_line}; echo "$stamp"'],
                           cwd=clone, env=environment(clone, tmp_path, ""), capture_output=True, text=True, check=True)
    (clone / ".venv").mkdir()
    for part in VENV.iterdir():
        if part.name != ".setup-stamp":
            (clone / ".venv" / part.name).symlink_to(part)
    (clone / ".venv" / ".setup-stamp").write_text(stamp.stdout)
    # likewise the stamp of ./run_tests.sh's install of llama-cpp-python's server (the running venv has it)
    lines = [l for l in (clone / "run_tests.sh").read_text().splitlines() if l.startswith(("server_reqs=", "server_cmake=", "server_stamp="))]
    assert len(lines) == 3, ("run_tests.sh no longer has its lines 'server_reqs=', 'server_cmake=' and 'server_stamp=': "
                             "update this test")
    server = subprocess.run(["bash", "-c", "set -euo pipefail; " + "; ".join(lines) + '; echo "$server_stamp"'],
                            cwd=clone, capture_output=True, text=True, check=True)
    (clone / ".venv" / ".server-stamp").write_text(server.stdout)
    return clone


def environment(clone: Path, tmp_path: Path, upstream: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DEAR_DATA_DIR"}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), DEAR_DATA_UPSTREAM=upstream, PYTHONPATH=str(clone),
               PATH=f"{VENV / 'bin'}:{env['PATH']}")
    return env


def run(command: list[str], clone: Path, env: dict, timeout: int) -> tuple[int, str]:
    """Run `command` in the clone; past `timeout` seconds kill it with all its children (papermill's kernels)."""
    p = subprocess.Popen(command, cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        pytest.fail(f"{' '.join(command)} ran past {timeout} s; its output ends:\n{out[-5000:]}")
    return p.returncode, out


def cached_data(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "dear-kit" / "data"


def test_run_tests_on_a_fresh_clone_fetches_the_data_first(tmp_path, data_mirror, offline_url):
    clone = fresh_clone(tmp_path)
    one_test = ["./run_tests.sh", "-q", "-p", "no:cacheprovider", "tests/test_data.py", "-k", "test_nq_pool"]
    rc, out = run(one_test, clone, environment(clone, tmp_path, offline_url), timeout=300)
    assert rc == 1 and f"error: could not fetch 10 of 10 data files from {offline_url}" in out, out[-3000:]
    assert "passed" not in out  # pytest never started on missing data
    assert "Installing llama-cpp-python" not in out  # the clone's .venv, the running one, has the server: no install
    assert not [p for p in cached_data(tmp_path).rglob("*") if p.is_file()]

    rc, out = run(one_test, clone, environment(clone, tmp_path, data_mirror.url), timeout=300)
    assert rc == 0 and "1 passed" in out, out[-3000:]
    assert "Setting up .venv" not in out  # set-up found the clone's .venv ready
    assert "fetched 10 files" in out and str(cached_data(tmp_path)) in out
    data.verify(cached_data(tmp_path))


def run_all_smoke_on_a_fresh_clone(tmp_path, data_mirror) -> Path:
    """./run_all.sh --profile smoke in a fresh clone against the mirror, checked to the end; returns the clone.
    tests/test_notebooks.py calls it and compares its metrics with the notebooks' own smoke run: one run proves
    both the fresh machine and determinism."""
    clone = fresh_clone(tmp_path)
    rc, out = run(["./run_all.sh", "--profile", "smoke"], clone, environment(clone, tmp_path, data_mirror.url),
                  timeout=2400)
    assert rc == 0 and "All notebooks ran" in out, out[-5000:]
    assert f"into {cached_data(tmp_path)}" in out
    data.verify(cached_data(tmp_path))
    assert len(data_mirror.requests) == len(data.MANIFEST)  # fetched once, before the notebooks
    bm25 = json.loads((clone / "results" / "smoke" / "dl19" / "bm25.json").read_text())
    assert bm25["dataset"] == "dl19" and bm25["profile"] == "smoke"
    assert len(list((clone / "results" / "smoke").glob("*/*.json"))) >= 25  # every notebook wrote its results
    # the run ends with its line for the reproduction log, made from its own files
    run_timings = json.loads((clone / "outputs" / "smoke" / "timings.json").read_text())
    assert out.rstrip("\n").split("\n")[-1] == reproductions.line(run_timings, clone / "results")
    return clone
