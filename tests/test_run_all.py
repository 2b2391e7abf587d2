"""run_all.sh leaves the checkout as it was, and every file of a run records the commit the run started from."""
import json
import os
import shutil
import subprocess

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import ROOT
from dearlib.evaluation import results

GIT = ["git", "-c", "user.name=kit test", "-c", "user.email=kit@example.org", "-c", "commit.gpgsign=false"]

# 01 draws a "figure" where run_all.sh points figures_dir and notes the commit it was given; 02 has no figures_dir
# parameter and, halfway through the run, moves HEAD (as a user committing while a long run goes on would)
DRAWS = """import json, os
from pathlib import Path
out = Path(figures_dir) / profile
out.mkdir(parents=True, exist_ok=True)
(out / "a.png").write_bytes(b"png")
(Path("..") / "outputs" / "seen_01.json").write_text(json.dumps({"commit": os.environ["DEAR_GIT_COMMIT"],
                                                                 "figures": str(out.resolve())}))"""
COMMITS = """import json, os, subprocess
from pathlib import Path
subprocess.run(%r + ["commit", "-q", "--allow-empty", "-m", "during the run"], cwd="..", check=True)
(Path("..") / "outputs" / "seen_02.json").write_text(json.dumps({"commit": os.environ["DEAR_GIT_COMMIT"]}))""" % GIT


def git(root, *args) -> str:
    return subprocess.run(GIT + list(args), cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def notebook(*cells):
    return new_notebook(cells=list(cells), metadata={
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})


@pytest.fixture
def checkout(tmp_path):
    """A git checkout with run_all.sh, the kit's .gitignore and two notebooks, our environment standing in for its own."""
    root = tmp_path / "kit"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "run_all.sh", root)
    shutil.copy(ROOT / ".gitignore", root)
    (root / "scripts" / "setup_env.sh").write_text("#!/bin/sh\n")  # the environment is ours already
    (root / "scripts" / "setup_env.sh").chmod(0o755)
    (root / ".venv").symlink_to(ROOT / ".venv")
    (root / "notebooks").mkdir()
    params = new_code_cell('profile = "mini"\nfigures_dir = "../figures"', metadata={"tags": ["parameters"]})
    nbformat.write(notebook(params, new_code_cell(DRAWS)), root / "notebooks" / "01_draws.ipynb")
    nbformat.write(notebook(new_code_cell(COMMITS)), root / "notebooks" / "02_commits.ipynb")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the kit")
    return root


def run_all(root, data_dir):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEAR_DATA_DIR": str(data_dir)}
    env.pop(results.COMMIT_ENV, None)
    return subprocess.run(["./run_all.sh", "--profile", "smoke"], cwd=root, capture_output=True, text=True, env=env)


def test_a_run_records_its_starting_commit_and_leaves_the_checkout_clean(checkout, data_dir):
    start = git(checkout, "rev-parse", "HEAD")
    r = run_all(checkout, data_dir)
    assert "no result files" in r.stderr, r.stdout + r.stderr  # the report at the end: this checkout has no results
    assert git(checkout, "rev-parse", "HEAD") != start  # notebook 02 moved HEAD halfway through
    seen = [json.loads((checkout / "outputs" / f"seen_0{i}.json").read_text()) for i in (1, 2)]
    assert [s["commit"] for s in seen] == [start, start]
    assert json.loads((checkout / "outputs" / "smoke" / "timings.json").read_text())["git_commit"] == start
    # the figures went under outputs/ (ignored), and only the notebook declaring figures_dir was given one
    assert seen[0]["figures"] == str((checkout / "outputs" / "figures" / "smoke").resolve())
    assert "figures_dir" not in (checkout / "outputs" / "smoke" / "02_commits.ipynb").read_text()
    assert git(checkout, "status", "--porcelain") == ""  # nothing the run wrote is tracked or left untracked


def test_a_run_from_a_changed_tree_is_recorded_dirty(checkout, data_dir):
    (checkout / "notebooks" / "02_commits.ipynb").unlink()  # a tracked file changed: only 01 runs
    r = run_all(checkout, data_dir)
    assert "no result files" in r.stderr, r.stdout + r.stderr
    head = git(checkout, "rev-parse", "HEAD")
    assert json.loads((checkout / "outputs" / "seen_01.json").read_text())["commit"] == f"{head}-dirty"
    assert json.loads((checkout / "outputs" / "smoke" / "timings.json").read_text())["git_commit"] == f"{head}-dirty"


def test_git_commit_reads_the_runs_commit_first(monkeypatch):
    sha = "0123456789abcdef0123456789abcdef01234567"
    for given in (sha, f"{sha}-dirty", "unknown"):
        monkeypatch.setenv(results.COMMIT_ENV, given)
        assert results.git_commit() == given
    for bad in ("0123456", f"{sha}-clean", "HEAD", f"{sha}\n{sha}"):
        monkeypatch.setenv(results.COMMIT_ENV, bad)
        with pytest.raises(ValueError, match=f"{results.COMMIT_ENV}=.* is not a commit"):
            results.git_commit()
    monkeypatch.setenv(results.COMMIT_ENV, "")  # empty: as unset, the checkout is asked
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert results.git_commit().removesuffix("-dirty") == (head or "unknown")
