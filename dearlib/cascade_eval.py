"""The cascade BM25 -> Stage 1 -> Stage 2 evaluated on every evaluation set in one call (notebooks 04 and 08).

For each set: notebook 01's BM25 candidates, Stage 1 over their top `stage1_depth`, then, with a backend, Stage 2 by
a `ListwiseReranker` over the profile's `rank_end`, `window`, `step` and `max_words` (`dearlib.listwise.cascade`).
Each stage named in `systems` is scored with the kit's measures (`dearlib.metrics.measures_for`); the systems in
`written` are saved by the results contract (`dearlib.results`) with the depth, the seconds per query of the
stages up to theirs and the device in the provenance, and for Stage 2 the window settings, each stage's seconds,
the parse ledger and one line per window in ``<system>.windows.csv`` beside the result (the completion left out).
With `runs_dir` the Stage-1 and Stage-2 runs are saved in TREC format (notebook 01 saved BM25's).
It loads and trains no model: the caller passes the Stage-1 scorer and the Stage-2 backend.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import atomic, metrics, results, trec
from .listwise import ListwiseReranker, cascade
from .records import Dataset, to_run

STAGES = ("bm25", "stage1", "stage2")  # the keys of `dearlib.listwise.cascade`'s lists, in cascade order


@dataclass
class CascadeEvaluation:
    table: pd.DataFrame  # one row per (dataset, system): nDCG@1/5/10 x 100 and "s/query", the stages up to it
    per_query: dict[tuple[str, str], dict[str, float]]  # (dataset, system) -> {qid: nDCG@10}
    ledgers: dict[str, dict[str, int]]  # dataset -> Stage 2's parse ledger (none without a backend)


def evaluate_cascade(evalsets: dict[str, Dataset], stage1, backend, inference: dict, systems: dict[str, str], cfg: dict,
                     results_dir: str | Path, written: dict[str, dict], runs_dir: str | Path | None = None,
                     progress: bool = True) -> CascadeEvaluation:
    """`systems`: stage ("bm25", "stage1", "stage2") -> system name; `written`: system -> extra provenance keys of
    the systems saved as result files; `inference`: the profile's ``stage2.inference``; `backend` None: no Stage 2."""
    unknown = set(systems) - set(STAGES)
    if unknown:
        raise ValueError(f"systems: {sorted(unknown)} are not stages of the cascade ({', '.join(STAGES)})")
    I = inference
    rows, per_query, ledgers = [], {}, {}
    for name, ds in evalsets.items():
        started = results.now()
        stage2 = None
        if backend is not None and "stage2" in systems:
            stage2 = ListwiseReranker(backend, I["window"], I["step"], I["rank_end"], I["max_words"], name=f"{systems['stage2']} {name}")
        out = cascade(ds.candidates, stage1, I["stage1_depth"], stage2, progress)
        qrels = {c.query.qid: ds.qrels[c.query.qid] for c in ds.candidates}
        measures = metrics.measures_for(ds.min_rel, I["stage1_depth"])
        n = len(ds.candidates)
        for stage, system in systems.items():
            if stage not in out:
                continue
            run = to_run(out[stage])
            if runs_dir is not None and stage != "bm25":
                trec.write_run(run, Path(runs_dir) / f"{name}.{system}.run", system)
            ev = metrics.evaluate(run, qrels, measures)
            per_query[(name, system)] = ev.per_query["nDCG@10"]
            seconds = sum(out["seconds"].get(s, 0.0) for s in STAGES[1:STAGES.index(stage) + 1]) / n
            rows.append({"dataset": name, "system": system, **ev.as_percent(), "s/query": round(seconds, 3)})
            if system not in written:
                continue
            prov = {"depth": I["stage1_depth"], "seconds_per_query": seconds, "device": results.device()}
            if stage == "stage2":
                prov.update(rank_end=I["rank_end"], window=I["window"], step=I["step"], parse_ledger=dict(stage2.ledger),
                            stage_seconds_per_query={s: v / n for s, v in out["seconds"].items()})
            path = results.write_result(results_dir, cfg, name, system, ev, started, **prov, **written[system])
            if stage == "stage2":
                windows = pd.DataFrame([{k: v for k, v in vars(r).items() if k != "completion"} for r in stage2.records])
                atomic.write_text(path.with_suffix(".windows.csv"), windows.to_csv(index=False))
        if stage2 is not None:
            ledgers[name] = dict(stage2.ledger)
    return CascadeEvaluation(pd.DataFrame(rows), per_query, ledgers)
