"""What Stage 2 can read, measured over a run's Stage-1 lists: the teacher's order of each query's top window,
the teacher reading each passage only as far as Stage 2's prompt shows it, for several cuts (`dearlib.stage2.reading`;
docs/measurements.md, "What Stage 2 reads").

Writes, per window size and set, Stage 1's and each cut's per-query nDCG@10, the paired comparison, the Kendall tau
against the full-text teacher order and the prompt's mean length in the Stage-2 base's tokens; prints the table.
Checks that the Stage-1 lists score what notebook 02's result file says, query by query.

usage (repository root, after notebooks 01-02 on mini; the teacher's scores are cached in the run's artifacts):
    .venv/bin/python scripts/stage2_ceiling.py --artifacts artifacts/mini --results results --out ceiling.json
"""
import argparse
import time
from pathlib import Path

import pandas as pd

from dearlib.core import atomic, models
from dearlib.core.config import load_config
from dearlib.evaluation import figures
from dearlib.evaluation.results import read_result
from dearlib.retrieval import data
from dearlib.stage1 import teacher as teachers
from dearlib.stage2 import cascade_eval, reading

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--profile", default="mini")
ap.add_argument("--artifacts", default="artifacts/mini", help="a run's artifacts/<profile> (notebooks 01-02)")
ap.add_argument("--results", default="results", help="the run's results folder (notebook 02's result files)")
ap.add_argument("--words", nargs="+", type=int, default=[12, 24, 40, 100, reading.ALL], help="words per passage; 0: all")
ap.add_argument("--tops", nargs="+", type=int, default=None, help="window sizes reordered (default: the profile's top window)")
ap.add_argument("--out", required=True)
a = ap.parse_args()

cfg = load_config(a.profile)
I = cfg["stage2"]["inference"]
tops = a.tops or [min(I["rank_end"], I["window"])]
work = Path(a.artifacts)
evalsets = data.evaluation_sets(data.find_data_dir(), work / "candidates", [])
found, why = cascade_eval.reused_stage1(work / "stage1" / "rankings", work / "stage1" / "student", I["stage1_depth"],
                                        evalsets, a.results, a.profile)
if found is None:
    raise SystemExit(f"no Stage-1 lists: {why}")
lists = {name: cands for name, (cands, _) in found.items()}
qrels = {name: ds.qrels for name, ds in evalsets.items()}

teacher = teachers.from_config(cfg["stage1"], teachers.ScoreCache(work / "teacher_cache.sqlite"), cfg["seed"])
count = reading.prompt_tokens(models.load_tokenizer(cfg["stage2"]["base"]))
out = {"profile": a.profile, "artifacts": str(work), "stage2_max_words": I["max_words"],
       "teacher": cfg["stage1"]["teacher"]["model"], "by_top": {}}
t0 = time.time()
tables = []
for top in tops:
    t, detail = reading.table(lists, qrels, teacher, top, a.words, count)
    for name, d in detail.items():  # the lists are the ones notebook 02 scored: its result file's values, query by query
        path = Path(a.results) / a.profile / name / "dear-p.json"
        recorded = figures.per_query(read_result(path))
        if d["stage1"].keys() != recorded.keys() or any(abs(v - recorded[q]) > 1e-9 for q, v in d["stage1"].items()):
            raise SystemExit(f"{path}: its per-query nDCG@10 is not that of the Stage-1 lists in {work / 'stage1' / 'rankings'}")
    out["by_top"][str(top)] = detail
    tables.append(t.assign(top=top))
out["seconds"] = time.time() - t0
atomic.write_json(Path(a.out), out)
pd.set_option("display.width", 200)
print(pd.concat(tables).round(2).to_string(index=False))
