"""Stage-1 student quality against its training budget: would more CPU time reach the targets?

Trains the student exactly as notebook 02 does (the profile's teacher, NQ groups, loss, learning rate, seed), changing
only `max_steps`: one run per budget in --steps, each with its own warm-up and linear decay, i.e. what notebook 02
gives with that `max_steps` in the config. Each student reranks the BM25 top `eval_depth` of DL19, DL20 and
NovelEval (nDCG@1/5/10 by `dearlib.metrics`) and, in its training domain, the BM25 top `nq_depth` of the held-out NQ
questions (notebook 06's split and measures: nDCG@10 with the gold passage relevant, Top-1/5 answer accuracy); BM25
and the teacher are evaluated alongside, and each budget is checked against the targets of notebook 02 (student >=
BM25 + 10 and >= 95% of the teacher on DL19, DL20 and NovelEval).

This is a measurement, not a selection: no setting of the profile is chosen from it. It writes
results/benchmarks/<profile>/stage1_budget.json after every budget (atomically) and skips budgets already there,
so an interrupted run resumes; checkpoints live in artifacts/<profile>/stage1/budget/<steps>/ (the trainer resumes
from them too). Needs notebook 01's candidates; the teacher cache is notebook 02's.

    .venv/bin/python scripts/stage1_budget.py --profile mini --steps 150 300 600
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from dearlib import atomic, data, models, results, stage1
from dearlib.config import config_hash, load_config
from dearlib.pairs import PairEncoder
from dearlib.rerank import Scorer, evaluate_reranker
from dearlib.teacher import ScoreCache, from_config as teacher_from_config

SETS = ("dl19", "dl20", "noveleval")


def ndcg(reranker, evalsets: dict, depth: int) -> dict[str, dict[str, float]]:
    """nDCG@1/5/10 x 100 of `reranker` (None: BM25's order) over each set's BM25 top `depth`."""
    return {name: evaluate_reranker("budget", reranker, ds.candidates, ds.qrels, ds.min_rel, depth)[0].as_percent()
            for name, ds in evalsets.items()}


def nq_heldout(reranker, nq: list, heldout: list, depth: int) -> dict[str, dict[str, float]]:
    """The training domain: nDCG@10 (gold passage relevant) and Top-1/5 x 100 over the held-out NQ questions."""
    ids = {e.query.qid for e in heldout}
    ev, _, _ = evaluate_reranker("budget", reranker, [c for c in nq if c.query.qid in ids],
                                 {e.query.qid: {e.gold_docid: 1} for e in heldout}, 1, depth,
                                 answers={e.query.qid: e.answers for e in heldout})
    return {"nq": ev.as_percent(("nDCG@10", "Top-1", "Top-5"))}


def meets_targets(student: dict, bm25: dict, teacher: dict) -> dict[str, bool]:
    """Per set: nDCG@10 at least BM25's + 10 and at least 95% of the teacher's (notebook 02's check)."""
    return {n: student[n]["nDCG@10"] - bm25[n]["nDCG@10"] >= 10 and student[n]["nDCG@10"] >= 0.95 * teacher[n]["nDCG@10"]
            for n in SETS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="mini")
    ap.add_argument("--steps", type=int, nargs="+", required=True, help="training budgets (max_steps), one run each")
    ap.add_argument("--artifacts", default="artifacts")
    ap.add_argument("--results", default="results")
    a = ap.parse_args()
    cfg = load_config(a.profile)
    s1, seed = cfg["stage1"], cfg["seed"]
    work = Path(a.artifacts) / a.profile
    cand_dir = work / "candidates"
    if not (cand_dir / "nq.bm25.json.gz").is_file():
        raise SystemExit(f"{cand_dir / 'nq.bm25.json.gz'} is missing: run notebook 01 first (./run_all.sh --profile {a.profile})")
    data_dir = data.find_data_dir()
    evalsets = {n: ds for n, ds in data.evaluation_sets(data_dir, cand_dir).items() if n in SETS}
    nq = data.read_hits(cand_dir / "nq.bm25.json.gz")
    out_path = Path(a.results) / "benchmarks" / a.profile / "stage1_budget.json"
    report = json.loads(out_path.read_text()) if out_path.is_file() else {}
    if report and report.get("config_hash") != config_hash(cfg):
        print(f"{out_path}: written under another configuration; starting afresh")
        report = {}
    report.update(profile=a.profile, config_hash=config_hash(cfg), depth=s1["eval_depth"],
                  command=f"scripts/stage1_budget.py --profile {a.profile} --steps " + " ".join(map(str, a.steps)))
    report.setdefault("budgets", {})

    teacher = teacher_from_config(s1, ScoreCache(work / "teacher_cache.sqlite"), seed)
    _, _, _, heldout = stage1.training_groups(s1, nq, data_dir, seed)
    nq_depth = cfg["retrieval"]["nq_depth"]
    report["nq_depth"] = nq_depth
    if "bm25" not in report:
        report["bm25"] = {**ndcg(None, evalsets, s1["eval_depth"]), **nq_heldout(None, nq, heldout, nq_depth)}
        report["teacher"] = {**ndcg(teacher, evalsets, s1["eval_depth"]), **nq_heldout(teacher, nq, heldout, nq_depth)}
    tok = models.load_tokenizer(s1["student"]["backbone"])
    encoder = PairEncoder(tok, s1["q_max_len"], s1["p_max_len"])
    for steps in a.steps:
        if str(steps) in report["budgets"]:
            print(f"{steps} steps: already in {out_path}")
            continue
        budget = {**s1, "max_steps": steps}
        groups, _, _, _ = stage1.training_groups(budget, nq, data_dir, seed)
        stage1.attach_teacher(groups, teacher)
        torch.manual_seed(seed)  # a pretrained backbone's new head is drawn from the global generator, as notebook 02 seeds it
        t0 = time.time()
        trainer = stage1.train(stage1.new_student(s1, tok, seed), encoder, groups, budget, work / "stage1" / "budget" / str(steps), seed=seed)
        train_s = time.time() - t0
        scorer = Scorer(trainer.model, encoder, s1["score_batch_size"], name="dear-p")
        student = {**ndcg(scorer, evalsets, s1["eval_depth"]), **nq_heldout(scorer, nq, heldout, nq_depth)}
        n_pairs = stage1.groups_used(budget) * s1["group_size"]  # every mini group is full (notebook 02's ledger)
        report["budgets"][str(steps)] = {
            "steps": steps, "git_commit": results.git_commit(), "device": results.device(),  # per budget: a resumed run may span commits
            "distinct_groups": len(groups), "pairs_seen": n_pairs, "train_seconds": round(train_s, 1),
            "final_loss": trainer.state.log_history[-1].get("train_loss"), "ndcg": student,
            "meets_targets": meets_targets(student, report["bm25"], report["teacher"])}
        atomic.write_json(out_path, report)
        print(f"{steps} steps ({train_s:.0f} s): " + ", ".join(f"{n} {student[n]['nDCG@10']:.2f}" for n in student))
    rows = [("bm25", report["bm25"]), ("teacher", report["teacher"])]
    rows += [(f"student, {k} steps", b["ndcg"]) for k, b in sorted(report["budgets"].items(), key=lambda kv: int(kv[0]))]
    print(f"\nnDCG@10 x 100, BM25 top {s1['eval_depth']} ({out_path}):")
    print(f"{'':>22}" + "".join(f"{n:>11}" for n in (*SETS, "nq")))
    for name, r in rows:
        print(f"{name:>22}" + "".join(f"{r[n]['nDCG@10']:>11.2f}" for n in (*SETS, "nq")))


if __name__ == "__main__":
    main()
