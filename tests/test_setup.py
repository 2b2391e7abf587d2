"""The set-up files agree with each other, and the README's commands are the ones CI runs."""
import yaml

from conftest import ROOT


def pins(path):
    return [l.strip() for l in path.read_text().splitlines() if l.strip() and not l.startswith("#")]


def test_environment_yml_lists_the_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == pins(ROOT / "requirements.txt")
    assert "torch==2.13.0" in pip


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "./run_tests.sh" in readme and "./run_all.sh" in readme
    ci = [l for l in (ROOT / ".ci" / "run").read_text().splitlines() if l and not l.startswith(("#", "set ", "cd "))]
    assert ci == ["./run_tests.sh"]
