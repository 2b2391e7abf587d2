"""The registry of systems: one record per system the kit evaluates, read by every table, figure and report.

A *system* is what a result file is named after (``results/<profile>/<dataset>/<system>.json``): BM25, the
Stage-1 teacher, the student DeAR-P, the cascade DeAR-L, and the controls beside them. Each record says what the
system is, the stage that produces it, the notebook that writes its result files, and how tables and figures show
it. `SYSTEMS` is in the cascade's order, which is the order of tables and figures. Adding a system is one entry
here; nothing else lists systems.

It reads no result file and computes nothing: `tables`, `figures`, `report` and `publish.reference_run` do, from
this registry. Systems outside it (the released checkpoints, ``*-released``; Stage-2 ablations, ``dear-l-*``) are
named by their id and drawn in a neutral colour.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class System:
    id: str        # the result file's name: results/<profile>/<dataset>/<id>.json
    name: str      # its name in tables and figures
    stage: str     # what produces it (the efficiency table's "stage" column)
    notebook: str  # the notebook that writes its result files ("02"; on NQ, notebook 06 for the pointwise ones)
    color: str     # its colour in every figure
    about: str     # what it is, in one line


SYSTEMS: tuple[System, ...] = (
    System("bm25", "BM25", "first stage (BM25)", "01", "#7f7f7f",
           "the first stage: pyserini's BM25 top-k, the candidates every reranker reorders"),
    System("teacher", "teacher", "Stage-1 teacher (pointwise)", "02", "#1f77b4",
           "the frozen teacher scoring each (query, passage) pair (RankLLaMA-13B in the paper)"),
    System("dear-p", "DeAR-P", "Stage 1 (pointwise student)", "02", "#ff7f0e",
           "the student distilled from the teacher on NQ (MS MARCO in the paper): the paper's DeAR-P"),
    System("dear-l", "DeAR-L", "Stage 1 + Stage 2 (listwise)", "04", "#2ca02c",
           "the cascade: DeAR-P's order reranked by the Stage-2 listwise adapter over a sliding window"),
    System("listwise-zeroshot", "listwise zero-shot", "Stage 1 + the listwise base without the Stage-2 adapter", "04",
           "#9467bd", "a control: DeAR-L's cascade with the Stage-2 adapter switched off"),
)
# the notebooks that write result files, by number
NOTEBOOKS = {"01": "01_candidate_retrieval.ipynb", "02": "02_stage1_distillation.ipynb", "04": "04_stage2_listwise.ipynb",
             "06": "06_open_domain_qa.ipynb", "08": "08_released_checkpoints.ipynb"}
NEUTRAL = "#444444"  # the colour of a system outside the registry


def ids() -> tuple[str, ...]:
    """The registered systems' ids, in the cascade's order."""
    return tuple(s.id for s in SYSTEMS)


def get(system: str) -> System | None:
    return next((s for s in SYSTEMS if s.id == system), None)


def name(system: str) -> str:
    """The display name of a system (its id when it is not registered)."""
    s = get(system)
    return s.name if s else system


def color(system: str, default: str | None = NEUTRAL) -> str | None:
    s = get(system)
    return s.color if s else default


def stage(system: str) -> str:
    s = get(system)
    return s.stage if s else system


def producer(dataset: str, system: str) -> str:
    """The notebook that writes `results/<profile>/<dataset>/<system>.json`."""
    s = get(system)
    if system.endswith("-released"):
        n = "08"
    elif system.startswith("dear-l-"):  # Stage-2 ablations
        n = "04"
    elif dataset == "nq" and (s is None or s.notebook == "02"):  # notebook 06 evaluates the pointwise rerankers on NQ
        n = "06"
    else:
        n = s.notebook if s else "02"
    return f"notebook {n} ({NOTEBOOKS[n]})"
