"""The cascade BM25 -> Stage 1 -> Stage 2 evaluated on every evaluation set in one call (notebooks 04 and 08).

For each set: notebook 01's BM25 candidates, Stage 1 over their top `stage1_depth`, then, with a backend, Stage 2 by
a `ListwiseReranker` over the profile's `rank_end`, `window`, `step`, `passes` and `max_words`
(`dearlib.stage2.listwise.cascade`). `also` names more Stage-2 systems, each a backend that reranks the very same Stage-1
lists with the same settings (notebook 04: `listwise-zeroshot`, the base model without the adapter), so two Stage-2
systems differ only by their model. Each stage named in `systems` (and each of `also`) is scored with the kit's
measures (`dearlib.evaluation.metrics.measures_for`); the systems in `written` are saved by the results contract
(`dearlib.evaluation.results`) with the depth, the seconds per query of the stages up to theirs and the device in the
provenance, with the `reading` that produced it ("released" for a Stage-1 scorer with the released pair encoder or
a Stage-2 backend in the released reading, else "kit"; a `written` key overrides), and for a Stage-2 system the window settings, each stage's seconds, the parse ledger and one line per
window in ``<system>.windows.csv`` beside the result (the prompt and completion left out).
With `runs_dir` the Stage-1 and Stage-2 runs are saved in TREC format (notebook 01 saved BM25's).
`stage1_lists` lets the cascade start from Stage-1 lists already scored (notebook 02's, `reused_stage1`) instead of
scoring them again; `also_sets` restricts the `also` systems to some sets.
It loads and trains no model: the caller passes the Stage-1 scorer and the Stage-2 backends.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..core import atomic, readers
from ..core.records import Candidates, Dataset, to_run
from ..retrieval import trec
from ..evaluation import metrics, results
from ..stage1.pairs import ReleasedPairEncoder
from ..stage1.rerank import load_rankings
from .listwise import ListwiseReranker, cascade

STAGES = ("bm25", "stage1", "stage2")  # the keys of `dearlib.stage2.listwise.cascade`'s lists, in cascade order


@dataclass
class CascadeEvaluation:
    table: pd.DataFrame  # one row per (dataset, system): nDCG@1/5/10 x 100 and "s/query", the stages up to it
    per_query: dict[tuple[str, str], dict[str, float]]  # (dataset, system) -> {qid: nDCG@10}
    ledgers: dict[str, dict[str, int]]  # dataset -> Stage 2's parse ledger (none without a backend)
    also_ledgers: dict[tuple[str, str], dict[str, int]]  # (dataset, system of `also`) -> its parse ledger
    records: dict[tuple[str, str], list]  # (dataset, Stage-2 system) -> its `WindowRecord`s, completions included


def evaluate_cascade(evalsets: dict[str, Dataset], stage1, backend, inference: dict, systems: dict[str, str], cfg: dict,
                     results_dir: str | Path, written: dict[str, dict], runs_dir: str | Path | None = None,
                     progress: bool = True, also: dict | None = None, also_sets: list[str] | None = None,
                     stage1_lists: dict[str, tuple[list[Candidates], float]] | None = None) -> CascadeEvaluation:
    """`systems`: stage ("bm25", "stage1", "stage2") -> system name; `written`: system -> extra provenance keys of
    the systems saved as result files; `inference`: the profile's ``stage2.inference``; `backend` None: no Stage 2;
    `also`: system name -> backend of further Stage-2 systems over the same Stage-1 lists, on the sets `also_sets`
    (None: all); `stage1_lists`: set -> (Stage 1's lists of its BM25 candidates, the seconds per query they took to
    score), used in place of scoring them (`reused_stage1` builds it)."""
    unknown = set(systems) - set(STAGES)
    if unknown:
        raise ValueError(f"systems: {sorted(unknown)} are not stages of the cascade ({', '.join(STAGES)})")
    clash = set(also or {}) & set(systems.values())
    unknown = set(also_sets or ()) - set(evalsets)
    if unknown:
        raise ValueError(f"also_sets: {sorted(unknown)} are not among the evaluation sets ({', '.join(evalsets)})")
    if clash:
        raise ValueError(f"also: {sorted(clash)} already name a stage of the cascade")
    I = inference

    def reranker(b, system: str, name: str) -> ListwiseReranker:
        return ListwiseReranker(b, I["window"], I["step"], I["rank_end"], I["max_words"], name=f"{system} {name}", passes=I["passes"])

    rows, per_query, ledgers, also_ledgers, records = [], {}, {}, {}, {}
    for name, ds in evalsets.items():
        started = results.now()
        stage2 = None
        if backend is not None and "stage2" in systems:
            stage2 = reranker(backend, systems["stage2"], name)
        given = (stage1_lists or {}).get(name)
        out = cascade(ds.candidates, stage1, I["stage1_depth"], stage2, progress,
                      stage1_lists=None if given is None else given[0])
        if given is not None:  # the seconds Stage 1 took where these lists were scored
            out["seconds"]["stage1"] = given[1] * len(ds.candidates)
        # (stage, system, ranked lists, Stage-2 reranker or None, seconds by stage)
        entries = [(stage, system, out[stage], stage2 if stage == "stage2" else None, out["seconds"])
                   for stage, system in systems.items() if stage in out]
        for system, b in (also or {}).items() if also_sets is None or name in also_sets else ():
            other, t0 = reranker(b, system, name), time.time()
            lists = other.rerank(out["stage1"], progress=progress)
            entries.append(("stage2", system, lists, other, {"stage1": out["seconds"]["stage1"], "stage2": time.time() - t0}))
            also_ledgers[(name, system)] = dict(other.ledger)
        qrels = {c.query.qid: ds.qrels[c.query.qid] for c in ds.candidates}
        measures = metrics.measures_for(ds.min_rel, I["stage1_depth"])
        n = len(ds.candidates)
        for stage, system, lists, rr, stage_seconds in entries:
            run = to_run(lists)
            if runs_dir is not None and stage != "bm25":
                trec.write_run(run, Path(runs_dir) / f"{name}.{system}.run", system)
            ev = metrics.evaluate(run, qrels, measures)
            per_query[(name, system)] = ev.per_query["nDCG@10"]
            seconds = sum(stage_seconds.get(s, 0.0) for s in STAGES[1:STAGES.index(stage) + 1]) / n
            rows.append({"dataset": name, "system": system, **ev.as_percent(), "s/query": round(seconds, 3)})
            if rr is not None:
                records[(name, system)] = rr.records
            if system not in written:
                continue
            prov = {"depth": I["stage1_depth"], "seconds_per_query": seconds, "device": results.device()}
            if stage != "bm25":  # which format the models read: the kit's own or the released code's
                released = rr.reading == "released" if rr is not None else isinstance(getattr(stage1, "encoder", None), ReleasedPairEncoder)
                prov["reading"] = "released" if released else "kit"
            if rr is not None:
                prov.update(rank_end=I["rank_end"], window=I["window"], step=I["step"], passes=rr.passes, parse_ledger=dict(rr.ledger),
                            stage_seconds_per_query={s: v / n for s, v in stage_seconds.items()})
            path = results.write_result(results_dir, cfg, name, system, ev, started, **{**prov, **written[system]})
            if rr is not None:
                windows = pd.DataFrame([{k: v for k, v in vars(r).items() if k not in ("completion", "prompt")} for r in rr.records])
                atomic.write_text(path.with_suffix(".windows.csv"), windows.to_csv(index=False))
        if stage2 is not None:
            ledgers[name] = dict(stage2.ledger)
    return CascadeEvaluation(pd.DataFrame(rows), per_query, ledgers, also_ledgers, records)


def reused_stage1(folder: str | Path, student_dir: str | Path, depth: int, evalsets: dict[str, Dataset], results_dir: str | Path,
                  profile: str, system: str = "dear-p") -> tuple[dict[str, tuple[list[Candidates], float]] | None, str]:
    """Notebook 02's Stage-1 lists (`dearlib.stage1.rerank.save_rankings` in `folder`) for `evaluate_cascade`'s
    `stage1_lists`, with the seconds per query its result file ``<results_dir>/<profile>/<set>/<system>.json``
    recorded for them; None, and why, unless they were scored by the student in `student_dir` at `depth` and hold,
    for every set, the same queries in the same order over the same candidates as `evalsets` (notebook 01 may have
    run again since)."""
    lists, why = load_rankings(folder, student_dir, depth)
    if lists is None:
        return None, why
    out = {}
    for name, ds in evalsets.items():
        if name not in lists:
            return None, f"{folder} holds no lists of {name}: Stage 1 scores the lists again"
        if [(c.query.qid, sorted(p.docid for p in c.passages)) for c in lists[name]] != \
                [(c.query.qid, sorted(p.docid for p in c.passages)) for c in ds.candidates]:
            return None, f"{folder}: the {name} lists are not over notebook 01's candidates now: Stage 1 scores the lists again"
        path = Path(results_dir) / profile / name / f"{system}.json"
        try:
            seconds = readers.read_json(path)["provenance"]["seconds_per_query"]
        except (OSError, ValueError, KeyError, TypeError):
            return None, f"no seconds per query in {path} (notebook 02's result): Stage 1 scores the lists again"
        out[name] = (lists[name], seconds)
    return out, why
