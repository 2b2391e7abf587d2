"""The package's layout: subpackages by pipeline stage, imports one way down the ladder, no import circles, and one
registry of systems that every table and figure reads.

The import graph is read from the source with `ast` (every ``import``, at the top of a module or inside a
function), and checked for circles with the standard library's `graphlib` (an independent topological sort).
"""
import ast
import graphlib
from pathlib import Path

import pytest
from matplotlib.colors import to_rgb

import dearlib
from dearlib.core import config
from dearlib.evaluation import figures, metrics, report, results, systems, tables
from dearlib.evaluation.metrics import Evaluation

PACKAGE = Path(dearlib.__file__).parent
LADDER = ("core", "retrieval", "evaluation", "stage1", "stage2", "publish")  # dearlib/__init__.py's, bottom first


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The dearlib modules `path` imports, wherever in the file; `from pkg import mod` counts as importing pkg.mod."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:
                full = f"{target}.{a.name}"
                out.add(full if full in known else target)
    return {m for m in out if m in known and m != here}


def graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(f) for f in files}
    return {module_name(f): imports_of(f, known) for f in files}


def test_subpackages_follow_the_pipeline():
    assert sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()) == sorted(LADDER)
    assert [f.name for f in PACKAGE.glob("*.py")] == ["__init__.py"]  # every module lives in a stage's folder
    for sub in LADDER:
        doc = ast.get_docstring(ast.parse((PACKAGE / sub / "__init__.py").read_text()))
        modules = sorted(f.stem for f in (PACKAGE / sub).glob("*.py") if f.stem != "__init__")
        assert doc, f"dearlib/{sub}/__init__.py has no docstring saying what lives there"
        missing = [m for m in modules if f"`{m}`" not in doc]
        assert not missing, f"dearlib/{sub}/__init__.py's map does not name {missing}"


def test_the_graph_reader_sees_function_level_and_relative_imports():
    g = graph()
    assert "dearlib.core.offline" in g["dearlib.stage1.training"]  # `from ..core.offline import ...` inside a function
    assert "dearlib.retrieval.candidates" in g["dearlib.retrieval.data"]
    assert "dearlib.stage2.prompt" in g["dearlib.stage2.listwise"]  # `from . import prompt`


def test_no_module_imports_a_module_that_imports_it_back():
    g = graph()
    try:
        order = list(graphlib.TopologicalSorter(g).static_order())
    except graphlib.CycleError as e:
        pytest.fail(f"an import circle: {' -> '.join(e.args[1])}")
    assert set(order) == set(g)


def test_a_circle_is_found_when_there_is_one():
    g = graph()
    g["dearlib.core.records"] = g["dearlib.core.records"] | {"dearlib.retrieval.data"}  # records -> data -> records
    with pytest.raises(graphlib.CycleError):
        list(graphlib.TopologicalSorter(g).static_order())


def test_imports_run_down_the_ladder():
    def rung(module: str) -> int:
        parts = module.split(".")
        return LADDER.index(parts[1]) if len(parts) > 1 and parts[1] in LADDER else len(LADDER)

    upward = [(m, t) for m, targets in graph().items() for t in targets if m != "dearlib" and rung(t) > rung(m)]
    assert upward == [], "imports up the ladder (module -> what it imports): " + ", ".join(f"{m} -> {t}" for m, t in upward)


# ------------------------------------------------------------------------------------------------- the registry


def test_every_system_is_one_complete_record():
    ids = systems.ids()
    assert len(set(ids)) == len(ids) and ids[:3] == ("bm25", "teacher", "dear-p")
    for s in systems.SYSTEMS:
        assert s.name and s.stage and s.about and s.color.startswith("#") and s.notebook in systems.NOTEBOOKS
    assert systems.producer("dl19", "dear-l") == "notebook 04 (04_stage2_listwise.ipynb)"
    assert systems.producer("nq", "dear-p") == "notebook 06 (06_open_domain_qa.ipynb)"
    assert systems.producer("dl19", "dear-p-8b-released").startswith("notebook 08")


def test_a_system_added_to_the_registry_appears_in_tables_figures_and_the_report(tmp_path, monkeypatch):
    fake = systems.System("dear-x", "DeAR-X (a test's)", "Stage 1 + a test's stage", "04", "#123456", "a fake system")
    monkeypatch.setattr(systems, "SYSTEMS", systems.SYSTEMS + (fake,))  # the one entry
    cfg = config.load_config("smoke")
    cfg["seed"] = 0
    ev = lambda v: Evaluation({m: v for m in metrics.NDCG}, {m: {f"q{i}": v for i in range(4)} for m in metrics.NDCG})  # noqa: E731
    for system, value in (("bm25", 0.4), ("dear-x", 0.7)):
        results.write_result(tmp_path, cfg, "dl19", system, ev(value), results.now(), depth=10, seconds_per_query=0.5,
                             device="cpu: test")
    coll = tables.Collection.load(tmp_path, "smoke")

    table = tables.ndcg_table(coll, "dl19")
    assert table.loc["dear-x", "nDCG@10"] == 70.0 and table.loc["dear-x", "status"] == "ok"
    assert list(table.index) == list(systems.ids())  # in the registry's order, the new one last
    eff = tables.efficiency_table(coll, ["dl19"]).set_index("system")
    assert eff.loc["dear-x", "stage"] == "Stage 1 + a test's stage"

    panel = figures.panel_ci_bars(coll, ["dl19"])
    legend = [t.get_text() for t in panel.fig.axes[0].get_legend().get_texts()]
    assert any(label.startswith("DeAR-X (a test's)") for label in legend), legend
    bars = [p.get_facecolor()[:3] for p in panel.fig.axes[0].patches]
    assert any(all(abs(x - y) < 1e-6 for x, y in zip(rgb, to_rgb("#123456"))) for rgb in bars)  # the registry's colour
    efficiency = figures.panel_efficiency(coll, report.reported())
    # the tick labels are wrapped onto lines of their own: read them with the line breaks as spaces
    assert any("DeAR-X (a test's)" in " ".join(t.get_text().split()) for t in efficiency.fig.axes[0].get_xticklabels())
    assert "notebook 04" in coll.missing("dl20", "dear-x")  # a missing file names the registry's notebook
