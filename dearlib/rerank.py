"""Rerank candidate lists with a pointwise scorer: the Stage-1 student, or the teacher.

A *scorer* is anything with ``score_pairs(queries, passages, progress) -> list[float]``: `Scorer` wraps a
sequence-classification model (batches sorted by length, so little padding, under inference mode), and the
teachers of `dearlib.teacher` have the same method. `rerank` rescores the top `depth` of each list.
It does not train (`dearlib.stage1`) and does not evaluate (`dearlib.metrics`).
"""
from __future__ import annotations

import torch
from tqdm.auto import tqdm

from .pairs import PairEncoder
from .records import Candidates



class Scorer:
    """Scores (query, passage) pairs with a sequence-classification model, in length-sorted batches."""

    def __init__(self, model, encoder: PairEncoder, batch_size: int = 32, name: str = "student"):
        self.model, self.encoder, self.batch_size, self.identity = model, encoder, batch_size, name

    @torch.inference_mode()
    def score_pairs(self, queries: list[str], passages: list[str], progress: bool = False) -> list[float]:
        self.model.eval()
        rows = [self.encoder.ids(q, p) for q, p in zip(queries, passages)]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))  # similar lengths together: little padding
        out = [0.0] * len(rows)
        device = next(self.model.parameters()).device
        for s in tqdm(range(0, len(order), self.batch_size), desc=f"scoring ({self.identity})", disable=not progress):
            idx = order[s:s + self.batch_size]
            batch = {k: v.to(device) for k, v in self.encoder.pad([rows[i] for i in idx]).items()}
            for i, v in zip(idx, self.model(**batch).logits.squeeze(-1).float().tolist()):
                out[i] = v
        return out


def rerank(scorer, candidates: list[Candidates], depth: int, progress: bool = True) -> list[Candidates]:
    """Rescore the top `depth` candidates of each query with `scorer`; those below keep their order beneath."""
    qs, ps = [], []
    for c in candidates:
        for p in c.passages[:depth]:
            qs.append(c.query.text)
            ps.append(p.contents)
    scores = scorer.score_pairs(qs, ps, progress=progress)
    out, at = [], 0
    for c in candidates:
        k = min(depth, len(c))
        head = c.top(k).reranked(scores[at:at + k])
        at += k
        low = min(head.scores) if head.scores else 0.0
        # below the reranked head, the rest keep BM25's order with scores under the head's lowest
        tail = [low - 1 - i for i in range(len(c) - k)]
        out.append(Candidates(c.query, head.passages + c.passages[k:], head.scores + tuple(tail)))
    return out
