"""Generate notebook 03's held-out Stage-2 windows (mini: the last 24 of chat.jsonl) with notebook 04's trained mini
adapter, float32 (unmerged) or int8 (merged, dynamic int8 Linear layers), as notebook 04 generates (batches of 8,
constrained, greedy); prints the generation seconds per window and each window's Kendall tau against the data's order.
One thread (torch.set_num_threads(1)), the first N held-out windows (default 8: one batch).
usage (repository root, after notebooks 03 and 04 on mini):
    .venv/bin/python scripts/bench_stage2_generation.py {null|int8} [N] [out.json]
Run the two arms alternately (null, int8, null, int8) and compare medians: one run each says little on a shared machine."""
import json
import sys
import time

from scipy.stats import kendalltau

import torch

from dearlib.core import models
from dearlib.core.config import load_config
from dearlib.stage2 import listwise, training as stage2
from dearlib.stage2.permutation import _ID, answer_part, parse

torch.set_num_threads(1)
quantize = None if sys.argv[1] == "null" else sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 8
cfg = load_config("mini")
S2 = cfg["stage2"]
I = {**S2["inference"], "quantize": quantize}
tok = models.load_tokenizer(S2["base"])
lm = stage2.load_listwise(S2, "artifacts/mini/stage2/adapter", tok, 0)
_, held = stage2.split_examples("artifacts/mini/stage2_data/chat.jsonl", S2["examples"], S2["heldout"])
held = held[:n]
backend, _, how = listwise.listwise_backends(lm, tok, I, 0)
targets = [parse(e["completion"][0]["content"], len(_ID.findall(answer_part(e["completion"][0]["content"])))) for e in held]
t0 = time.perf_counter()
texts = backend.generate([e["prompt"] for e in held], n_ids=[len(t.order) for t in targets])
dt = time.perf_counter() - t0
taus = [kendalltau(parse(x, len(t.order)).order, t.order).statistic for x, t in zip(texts, targets)]
print(f"{quantize}: {dt / len(held):.3f} s per window ({len(held)} windows; {how}); mean tau {sum(taus) / len(taus):.3f}")
if len(sys.argv) > 3:
    json.dump({"quantize": quantize, "seconds_per_window": dt / len(held), "tau": taus, "texts": texts}, open(sys.argv[3], "w"))
