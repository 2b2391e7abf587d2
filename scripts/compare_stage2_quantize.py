"""Stage 2 in float32 against int8, and each against the zero-shot base, over one trained adapter and one set of
Stage-1 lists: the comparison behind `stage2.inference.quantize` (docs/measurements.md, "Stage 2 in int8").

Loads notebook 04's saved adapter from disk (a fresh process: nothing of the trainer is left on the model) and
notebook 02's Stage-1 lists, then, per arm (`null`: float32, the adapter unmerged; `int8`: merged, dynamic int8
Linear layers), reranks every evaluation set with DeAR-L and with the zero-shot base (`listwise_backends`, as
notebook 04) and runs the held-out check. Writes per-query nDCG@10, parse ledgers and generation seconds to a JSON,
and prints the paired comparisons (`dearlib.evaluation.figures.paired_interval`: the paired tests and the bootstrap 95% interval of the mean difference).
usage (repository root, after notebooks 01-04 on mini):
    .venv/bin/python scripts/compare_stage2_quantize.py --artifacts artifacts/mini --results results --out cmp.json
"""
import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch

from dearlib.core import atomic, models
from dearlib.core.config import load_config
from dearlib.evaluation import figures
from dearlib.retrieval import data
from dearlib.stage2 import cascade_eval, listwise, training as stage2

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--profile", default="mini")
ap.add_argument("--artifacts", default="artifacts/mini", help="a run's artifacts/<profile> (notebooks 01-04)")
ap.add_argument("--results", default="results", help="the run's results folder (notebook 02's seconds per query)")
ap.add_argument("--arms", nargs="+", default=["int8", "null"])
ap.add_argument("--out", required=True)
a = ap.parse_args()

cfg = load_config(a.profile)
S2 = cfg["stage2"]
work = Path(a.artifacts)
tok = models.load_tokenizer(S2["base"])
lm = stage2.load_listwise(S2, work / "stage2" / "adapter", tok, cfg["seed"])
evalsets = data.evaluation_sets(data.find_data_dir(), work / "candidates", [])
lists, why = cascade_eval.reused_stage1(work / "stage1" / "rankings", work / "stage1" / "student", S2["inference"]["stage1_depth"],
                                        evalsets, a.results, a.profile)
if lists is None:
    raise SystemExit(f"no Stage-1 lists to reuse: {why}")
_, held = stage2.split_examples(work / "stage2_data" / "chat.jsonl", S2["examples"], S2["heldout"])
out = {"profile": a.profile, "artifacts": str(work), "torch_threads": torch.get_num_threads(), "arms": {}}
for arm in a.arms:
    I = {**S2["inference"], "quantize": None if arm == "null" else arm}
    backend, zeroshot, how = listwise.listwise_backends(lm, tok, I, cfg["seed"])
    t0 = time.time()
    heldout = listwise.heldout_check(backend, held)
    r = cascade_eval.evaluate_cascade(evalsets, None, backend, I, {"stage1": "dear-p", "stage2": "dear-l"}, cfg,
                                      "/nonexistent", written={}, progress=False, also={"listwise-zeroshot": zeroshot},
                                      stage1_lists=lists)
    out["arms"][arm] = {"how": how, "heldout": heldout, "seconds": time.time() - t0, "ledgers": r.ledgers,
                        "also_ledgers": {f"{d}/{s}": v for (d, s), v in r.also_ledgers.items()},
                        "per_query": {f"{d}/{s}": v for (d, s), v in r.per_query.items()},
                        "table": r.table.to_dict("records")}
    print(arm, how, f"{out['arms'][arm]['seconds']:.0f} s", heldout, flush=True)
    print(r.table.pivot(index="system", columns="dataset", values="nDCG@10"), flush=True)
atomic.write_json(Path(a.out), out)

rows = []
pairs = [("int8", "dear-l", "null", "dear-l"), ("int8", "listwise-zeroshot", "null", "listwise-zeroshot")]
pairs += [(arm, "dear-l", arm, "dear-p") for arm in a.arms] + [(arm, "dear-l", arm, "listwise-zeroshot") for arm in a.arms]
for arm_a, sys_a, arm_b, sys_b in pairs:
    if arm_a not in out["arms"] or arm_b not in out["arms"]:
        continue
    for name in evalsets:
        x, y = out["arms"][arm_a]["per_query"][f"{name}/{sys_a}"], out["arms"][arm_b]["per_query"][f"{name}/{sys_b}"]
        p = figures.paired_interval(x, y)
        lo, hi = p["ci_low"], p["ci_high"]
        rows.append({"a": f"{sys_a} ({arm_a})", "b": f"{sys_b} ({arm_b})", "set": name, "a nDCG@10": 100 * p["mean_a"],
                     "b nDCG@10": 100 * p["mean_b"], "a - b": 100 * p["mean_diff"], "95% CI": f"[{100 * lo:+.2f}, {100 * hi:+.2f}]",
                     "w/t/l": f"{p['wins']}/{p['ties']}/{p['losses']}", "p (Wilcoxon)": p["p_wilcoxon"]})
pd.set_option("display.width", 200)
print(pd.DataFrame(rows).round(3).to_string(index=False))
