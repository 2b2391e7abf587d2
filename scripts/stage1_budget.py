"""Stage-1 student quality against its training budget, over seeds, for the NQ student and the in-domain control.

Trains the student exactly as notebook 02 does (the profile's teacher, loss, learning rate, batch), changing only
`max_steps` (--steps), the training seed (--seeds: the new head's initialisation and the order of the groups; the
NQ held-out split stays the profile's) and the training data (--training-data): ``nq``, notebook 02's NQ groups,
or ``trec-crossfit``, the in-domain control (`dearlib.stage1.crossfit`: the student evaluated on DL19 trains on DL20's
judged candidates and the reverse; NovelEval is the DL20-trained student's). Each (training data, seed, steps)
is one *point*, each student with its own warm-up and linear decay, i.e. what notebook 02 gives with that
`max_steps` in the config. Each student reranks the BM25 top `eval_depth` of DL19, DL20 and NovelEval (nDCG@1/5/10
by `dearlib.evaluation.metrics`); the NQ student also the BM25 top `nq_depth` of the held-out NQ questions, its training
domain (notebook 06's split and measures; --no-nq-heldout skips it, ~200 s a point on 2 cores). BM25 and the
teacher are evaluated alongside, and each point is checked against notebook 02's targets (student >= BM25 + 10
and >= 95% of the teacher).

This is a measurement, not a selection: no setting of the profile is chosen from it. It writes
results/benchmarks/<profile>/stage1_budget.json after every point (atomically) and skips points already there,
so an interrupted run resumes; the file is kept while the profile's `stage1` and `retrieval` sections and seed
are unchanged (`budget_curve.resume_key`: a Stage-2 change keeps it). Checkpoints live in
artifacts/<profile>/stage1/budget/<training data>/seed<seed>/<steps>/ (the trainer resumes from them too).
Needs notebook 01's candidates; the teacher cache is notebook 02's.

    .venv/bin/python scripts/stage1_budget.py --profile mini --training-data nq trec-crossfit --seeds 0 1 2 --steps 150 300
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from dearlib.core import atomic, models, readers
from dearlib.core.config import load_config
from dearlib.retrieval import candidates, data
from dearlib.evaluation import results
from dearlib.stage1 import budget_curve, crossfit, training as stage1
from dearlib.stage1.pairs import PairEncoder
from dearlib.stage1.rerank import Scorer, evaluate_reranker
from dearlib.stage1.teacher import ScoreCache, from_config as teacher_from_config

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
            for n in SETS if n in student}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="mini")
    ap.add_argument("--steps", type=int, nargs="+", required=True, help="training budgets (max_steps)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds, one student each (>= 3 for a spread)")
    ap.add_argument("--training-data", nargs="+", default=list(budget_curve.TRAINING_DATA), choices=budget_curve.TRAINING_DATA)
    ap.add_argument("--nq-heldout", action=argparse.BooleanOptionalAction, default=True,
                    help="evaluate the NQ student on the held-out NQ questions too (~200 s a point on 2 cores)")
    ap.add_argument("--artifacts", default="artifacts")
    ap.add_argument("--results", default="results")
    a = ap.parse_args()
    cfg = load_config(a.profile)
    s1, split_seed = cfg["stage1"], cfg["seed"]
    work = Path(a.artifacts) / a.profile
    cand_dir = work / "candidates"
    if not (cand_dir / "nq.bm25.json.gz").is_file():
        raise SystemExit(f"{cand_dir / 'nq.bm25.json.gz'} is missing: run notebook 01 first (./run_all.sh --profile {a.profile})")
    data_dir = data.find_data_dir()
    evalsets = {n: ds for n, ds in data.evaluation_sets(data_dir, cand_dir).items() if n in SETS}
    nq = candidates.read_hits(cand_dir / "nq.bm25.json.gz")
    out_path = Path(a.results) / "benchmarks" / a.profile / "stage1_budget.json"
    key = budget_curve.resume_key(cfg)
    report = readers.read_json(out_path) if out_path.is_file() else {}
    if report and (report.get("format") != budget_curve.FORMAT or report.get("resume_key") != key):
        print(f"{out_path}: written by another format or another Stage-1/retrieval configuration; starting afresh")
        report = {}
    report.update(profile=a.profile, format=budget_curve.FORMAT, resume_key=key, resume_key_covers=budget_curve.RESUME_KEY_COVERS,
                  depth=s1["eval_depth"], nq_depth=cfg["retrieval"]["nq_depth"],
                  command=f"scripts/stage1_budget.py --profile {a.profile} --training-data {' '.join(a.training_data)} "
                          f"--seeds {' '.join(map(str, a.seeds))} --steps {' '.join(map(str, a.steps))}"
                          + ("" if a.nq_heldout else " --no-nq-heldout"))
    report.setdefault("points", {})

    teacher = teacher_from_config(s1, ScoreCache(work / "teacher_cache.sqlite"), split_seed)
    _, _, _, heldout = stage1.training_groups(s1, nq, data_dir, split_seed)
    nq_depth = cfg["retrieval"]["nq_depth"]
    for system, reranker in (("bm25", None), ("teacher", teacher)):
        if system not in report:
            report[system] = ndcg(reranker, evalsets, s1["eval_depth"])
        if a.nq_heldout and "nq" not in report[system]:
            report[system].update(nq_heldout(reranker, nq, heldout, nq_depth))
    tok = models.load_tokenizer(s1["student"]["backbone"])
    encoder = PairEncoder(tok, s1["q_max_len"], s1["p_max_len"])

    def train(groups, budget, seed, out):
        """One student, as notebook 02 trains it; returns its scorer, seconds and final loss."""
        stage1.attach_teacher(groups, teacher)
        torch.manual_seed(seed)  # a pretrained backbone's new head is drawn from the global generator, as notebook 02 seeds it
        t0 = time.time()
        trainer = stage1.train(stage1.new_student(s1, tok, seed), encoder, groups, budget, out, seed=seed)
        return (Scorer(trainer.model, encoder, s1["score_batch_size"], name="dear-p"), time.time() - t0,
                trainer.state.log_history[-1].get("train_loss"))

    for td in a.training_data:
        for seed in a.seeds:
            for steps in a.steps:
                name = budget_curve.point_name(td, seed, steps)
                if name in report["points"] and (td != "nq" or not a.nq_heldout or "nq" in report["points"][name]["ndcg"]):
                    print(f"{name}: already in {out_path}")
                    continue
                budget = {**s1, "training_data": td, "max_steps": steps}
                out = work / "stage1" / "budget" / td / f"seed{seed}" / str(steps)
                student, trained_on, groups_n, seconds, loss, pairs = {}, {}, {}, 0.0, {}, {}
                if td == "nq":
                    groups, _, _, _ = stage1.training_groups(budget, nq, data_dir, split_seed)
                    scorer, seconds, loss["nq"] = train(groups, budget, seed, out)
                    student = ndcg(scorer, evalsets, s1["eval_depth"])
                    if a.nq_heldout:
                        student.update(nq_heldout(scorer, nq, heldout, nq_depth))
                    trained_on, groups_n["nq"] = {s: "nq" for s in student}, len(groups)
                    pairs["nq"] = sum(len(g.passages) for g in groups)
                else:
                    for year in sorted(set(crossfit.TRAINED_ON.values())):  # one student per training year
                        groups, _, _ = crossfit.training_groups(budget, evalsets, next(s for s, y in crossfit.TRAINED_ON.items() if y == year))
                        scorer, secs, loss[year] = train(groups, budget, seed, out / year)
                        seconds += secs
                        targets = {s: ds for s, ds in evalsets.items() if crossfit.TRAINED_ON[s] == year}
                        student.update(ndcg(scorer, targets, s1["eval_depth"]))
                        trained_on.update({s: year for s in targets})
                        groups_n[year] = len(groups)
                        pairs[year] = sum(len(g.passages) for g in groups)
                n_used = stage1.groups_used(budget)
                report["points"][name] = {
                    "training_data": td, "seed": seed, "steps": steps,
                    "git_commit": results.git_commit(), "device": results.device(),  # per point: a resumed run may span commits
                    "trained_on": trained_on, "distinct_groups": groups_n,
                    # pairs one student sees: the budget's groups (a year's repeated when it has fewer) x their mean size
                    "pairs_seen": round(n_used * sum(pairs.values()) / sum(groups_n.values())),
                    "train_seconds": round(seconds, 1), "final_loss": loss, "ndcg": student,
                    "meets_targets": meets_targets(student, report["bm25"], report["teacher"])}
                atomic.write_json(out_path, report)
                print(f"{name} ({seconds:.0f} s): " + ", ".join(f"{n} {student[n]['nDCG@10']:.2f}" for n in student))
    print(f"\nnDCG@10 x 100, BM25 top {s1['eval_depth']} ({out_path}): mean, sd, min-max over seeds")
    print(budget_curve.summary(report).to_string())


if __name__ == "__main__":
    main()
