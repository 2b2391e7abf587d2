"""Student scoring throughput: dearlib's Scorer against sentence-transformers' CrossEncoder, side by side.

Both score the same (query, passage) pairs (BM25 candidates of DL19) with the same student architecture and
weights, on the same device, at the same maximum length. Speed does not depend on what the weights learned, so
the student is built from the profile's config (or loaded from --model, a saved student folder).
Writes results/benchmarks/<profile>/student_throughput.json and prints pairs per second of each.

    .venv/bin/python scripts/bench_student_throughput.py --profile mini [--pairs 1000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from dearlib.core import atomic, models
from dearlib.core.config import load_config
from dearlib.retrieval import data
from dearlib.evaluation import results
from dearlib.stage1.pairs import PairEncoder
from dearlib.stage1.rerank import Scorer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="mini")
    ap.add_argument("--model", help="a saved student folder (default: the profile's student architecture)")
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each; the best is kept")
    ap.add_argument("--results", default="results")
    a = ap.parse_args()
    cfg = load_config(a.profile)
    s1 = cfg["stage1"]
    tok = models.load_tokenizer(s1["student"]["backbone"])
    model = models.load_sequence_classifier(a.model or s1["student"]["backbone"], tok, layers=s1["student"].get("layers"))
    model.eval()
    cands = data.load_trec_dl(2019).candidates
    pairs = [(c.query.text, p.contents) for c in cands for p in c.passages][: a.pairs]
    qs, ps = [q for q, _ in pairs], [p for _, p in pairs]
    encoder = PairEncoder(tok, s1["q_max_len"], s1["p_max_len"])
    max_len = s1["q_max_len"] + s1["p_max_len"] + 3
    batch = s1["score_batch_size"]

    from sentence_transformers import CrossEncoder

    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d)
        tok.save_pretrained(d)
        ce = CrossEncoder(d, max_length=max_len, device=str(next(model.parameters()).device))

    def timed(fn):
        best = float("inf")
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - t0)
        return best, out

    ours_s, ours = timed(lambda: Scorer(model, encoder, batch).score_pairs(qs, ps))
    ref_s, ref = timed(lambda: ce.predict(pairs, batch_size=batch, activation_fn=torch.nn.Identity(), show_progress_bar=False))
    agree = float(torch.corrcoef(torch.tensor([ours, list(map(float, ref))]))[0, 1])
    record = {
        "profile": a.profile, "pairs": len(pairs), "batch_size": batch, "max_length": max_len,
        "dearlib_pairs_per_s": len(pairs) / ours_s, "crossencoder_pairs_per_s": len(pairs) / ref_s,
        "speedup": ref_s / ours_s, "score_correlation": agree, "device": results.device(),
        "threads": torch.get_num_threads(), "libraries": results.library_versions(), "when": results.now(),
    }
    path = atomic.write_json(Path(a.results) / "benchmarks" / a.profile / "student_throughput.json", record)
    print(f"dearlib Scorer: {record['dearlib_pairs_per_s']:.1f} pairs/s; sentence-transformers CrossEncoder: "
          f"{record['crossencoder_pairs_per_s']:.1f} pairs/s; speed-up x{record['speedup']:.2f}; "
          f"score correlation {agree:.4f} -> {path}")


if __name__ == "__main__":
    main()
