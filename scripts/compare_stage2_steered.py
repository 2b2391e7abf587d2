"""What a steered Stage-2 answer should rank: the grammar's picks, or the model's own answer up to its first steer
with the rest in input order (RankGPT's repair of a partial answer). One generation gives both: decoding is greedy,
so the tokens before the first steer are the same either way (`PermutationGrammar.own_answer` records them).

The selection set is notebook 06's held-out NQ questions (never trained on by Stage 1 or Stage 2): the student
reranks their BM25 top `nq_depth`, Stage 2 its top `rank_end`, and Top-1 / Top-5 answer accuracy and nDCG@10
against the gold passage (notebook 06's qrels) are counted per question. The evaluation sets (DL19, DL20, NovelEval over notebook 02's lists) are reported beside it, not used to
choose. Loads notebook 04's adapter from disk (float32, as `mini` generates). Prints paired comparisons and writes
per-query values to a JSON.
usage (repository root, after notebooks 01-04 on mini):
    .venv/bin/python scripts/compare_stage2_steered.py --artifacts artifacts/mini --results results --nq 150 --out steered.json
"""
import argparse
import json
from pathlib import Path

import pandas as pd

from dearlib.core import atomic, models
from dearlib.core.config import load_config
from dearlib.core.records import Candidates
from dearlib.evaluation import figures, metrics, qa
from dearlib.retrieval import candidates, data
from dearlib.stage1 import training as stage1
from dearlib.stage1.pairs import PairEncoder
from dearlib.stage1.rerank import Scorer, rerank
from dearlib.stage2 import cascade_eval, listwise, training as stage2
from dearlib.stage2.permutation import parse

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--profile", default="mini")
ap.add_argument("--artifacts", default="artifacts/mini")
ap.add_argument("--results", default="results")
ap.add_argument("--nq", type=int, default=150, help="held-out NQ questions (the first of notebook 02's split, in BM25 file order)")
ap.add_argument("--out", required=True)
a = ap.parse_args()

cfg = load_config(a.profile)
S1, S2 = cfg["stage1"], cfg["stage2"]
I = {**S2["inference"], "quantize": None}
if not I["constrained"]:
    raise SystemExit(f"configs/{a.profile}.yaml: stage2.inference.constrained is false; only the grammar steers an answer")
work = Path(a.artifacts)
tok = models.load_tokenizer(S2["base"])
backend, _, _ = listwise.listwise_backends(stage2.load_listwise(S2, work / "stage2" / "adapter", tok, cfg["seed"]), tok, I, cfg["seed"])
own = {}  # user message -> the answer up to its first steer (None: not steered in the answer)
generate = backend.generate


def recording(prompts, n_ids=None):
    texts = generate(prompts, n_ids)
    for p, o in zip(prompts, backend.own_answers):
        own[p[-1]["content"]] = o
    return texts


backend.generate = recording


def both_arms(lists: list[Candidates]) -> dict[str, list[Candidates]]:
    """Stage 2 over `lists`; per arm (grammar, own+input), the reranked lists."""
    assert I["passes"] == 1 and I["rank_end"] <= I["window"], "one window per query: the records map to the lists one to one"
    rr = listwise.ListwiseReranker(backend, I["window"], I["step"], I["rank_end"], I["max_words"], passes=I["passes"])
    grammar = rr.rerank(lists, progress=True)
    by_q = {r.qid: r for r in rr.records}
    repaired = []
    for c in lists:
        r = by_q[c.query.qid]
        n = r.end - r.start
        o = own[r.prompt]
        order = parse(r.completion if o is None else o, n).order  # o: the answer part, before the first steer
        ps = list(c.passages)
        ps[r.start:r.end] = [ps[r.start + i] for i in order]
        repaired.append(Candidates(c.query, tuple(ps), tuple(float(len(ps) - i) for i in range(len(ps)))))
    steered = sum(o is not None for o in (own[r.prompt] for r in rr.records))
    moved = sum(a.passages != b.passages for a, b in zip(lists, grammar))
    top = sum(a.passages[0] != b.passages[0] for a, b in zip(lists, grammar))
    print(f"{steered} of {len(rr.records)} windows steered in the answer; Stage 2 reordered {moved} lists, "
          f"their first passage in {top}", flush=True)
    return {"stage1": lists, "grammar": grammar, "own+input": repaired}


out = {"nq": {}, "sets": {}}
# the selection set: held-out NQ
heldout = set(json.loads((work / "stage1" / "nq_heldout_qids.json").read_text()))
nq_examples, _ = data.load_nq(data.find_data_dir())
answers = {e.query.qid: e.answers for e in nq_examples if e.query.qid in heldout}
gold = {e.query.qid: {e.gold_docid: 1} for e in nq_examples if e.query.qid in heldout}  # notebook 06's qrels
bm25 = [c for c in candidates.read_hits(work / "candidates" / "nq.bm25.json.gz") if c.query.qid in heldout][: a.nq]
s1_tok = models.load_tokenizer(S1["student"]["backbone"])
scorer = Scorer(stage1.load_student(S1, work / "stage1" / "student", s1_tok, cfg["seed"]), PairEncoder(s1_tok, S1["q_max_len"], S1["p_max_len"]),
                S1["score_batch_size"])
for arm, lists in both_arms(rerank(scorer, bm25, cfg["retrieval"]["nq_depth"], progress=True)).items():
    ev = qa.top_k(lists, {c.query.qid: answers[c.query.qid] for c in lists}, ks=(1, 5))
    out["nq"][arm] = {m: ev.per_query[m] for m in ("Top-1", "Top-5")}
    run = {c.query.qid: {p.docid: s for p, s in zip(c.passages, c.scores)} for c in lists}
    out["nq"][arm]["nDCG@10"] = metrics.evaluate(run, {q: gold[q] for q in run}, ["nDCG@10"]).per_query["nDCG@10"]
# reported beside it: the evaluation sets
evalsets = data.evaluation_sets(data.find_data_dir(), work / "candidates", [])
lists, why = cascade_eval.reused_stage1(work / "stage1" / "rankings", work / "stage1" / "student", I["stage1_depth"], evalsets,
                                        a.results, a.profile)
if lists is None:
    raise SystemExit(why)
for name, ds in evalsets.items():
    for arm, ranked in both_arms(lists[name][0]).items():
        run = {c.query.qid: {p.docid: s for p, s in zip(c.passages, c.scores)} for c in ranked}
        qrels = {c.query.qid: ds.qrels[c.query.qid] for c in ranked}
        out["sets"].setdefault(name, {})[arm] = metrics.evaluate(run, qrels, ["nDCG@10"]).per_query["nDCG@10"]
atomic.write_json(Path(a.out), out)

rows = []
for where, measure_of in (("nq Top-1", lambda arm: out["nq"][arm]["Top-1"]), ("nq Top-5", lambda arm: out["nq"][arm]["Top-5"]),
                          ("nq nDCG@10 (gold)", lambda arm: out["nq"][arm]["nDCG@10"])) + tuple(
        (name, (lambda n: lambda arm: out["sets"][n][arm])(name)) for name in evalsets):
    for x, y in (("own+input", "grammar"), ("own+input", "stage1"), ("grammar", "stage1")):
        p = figures.paired_interval(measure_of(x), measure_of(y))
        lo, hi = p["ci_low"], p["ci_high"]
        rows.append({"set": where, "a": x, "b": y, "a (x100)": 100 * p["mean_a"], "b (x100)": 100 * p["mean_b"],
                     "a - b": 100 * p["mean_diff"], "95% CI": f"[{100 * lo:+.2f}, {100 * hi:+.2f}]",
                     "w/t/l": f"{p['wins']}/{p['ties']}/{p['losses']}", "p (Wilcoxon)": p["p_wilcoxon"]})
pd.set_option("display.width", 200)
print(pd.DataFrame(rows).round(3).to_string(index=False))
