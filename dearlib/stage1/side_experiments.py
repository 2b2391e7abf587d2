"""Stage 1's side experiments: students trained the way notebook 02 trains its own, changing one thing at a time,
each over several seeds, measured once and kept in one JSON.

A *point* is one (training data, loss, seed, steps): ``nq`` is notebook 02's NQ groups, ``trec-crossfit`` the
in-domain control (`dearlib.stage1.crossfit`: the student evaluated on DL19 trains on DL20's judged candidates and
the reverse; NovelEval is the DL20-trained student's); the loss is any of `dearlib.stage1.losses.LOSSES` (the loss
ablation); the seed draws the new head and orders the groups (the NQ held-out split stays the profile's); the steps
are `max_steps`, each student with its own warm-up and decay. Everything else is the profile's `stage1` section.
Each student reranks the BM25 top `eval_depth` of DL19, DL20 and NovelEval (nDCG@1/5/10 by
`dearlib.evaluation.metrics`, and nDCG@10 per query, so that `budget_curve` can pair it with BM25 query by query);
the NQ student optionally also the held-out NQ questions, its training domain (notebook 06's split and measures).

`run` writes results/benchmarks/<profile>/stage1_budget.json after every point (atomically) and skips points
already there, so an interrupted run resumes; each write first takes in, under a lock, what other jobs wrote to the
same file, so jobs run side by side (say one per loss, ``OMP_NUM_THREADS=1``) can share one file; the file is kept while the profile's `stage1` and `retrieval`
sections and seed are unchanged (`budget_curve.resume_key`). Checkpoints live in
artifacts/<profile>/stage1/budget/<training data>/<loss>/seed<seed>/<steps>/ (the trainer resumes from them too).
It selects nothing: no setting of a profile is chosen from it. Reading and drawing the JSON is `budget_curve`'s.
"""
from __future__ import annotations

import fcntl
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from ..core import atomic, models, readers
from ..evaluation import results
from ..retrieval import candidates, data
from . import budget_curve, crossfit, training as stage1
from .pairs import PairEncoder
from .rerank import Scorer, evaluate_reranker
from .teacher import ScoreCache, from_config as teacher_from_config

SETS = ("dl19", "dl20", "noveleval")
SEEDS = (0, 1, 2)  # three students per setting: enough for a spread, affordable on 2 cores


def plan(s1: dict) -> list[dict]:
    """The side experiments of a profile's `stage1` section, as `run`'s keyword arguments: the student at the default
    budget (`max_steps`), the loss ablation (`ablation.losses` at `ablation.max_steps`, null: the default budget) and
    the in-domain control at the default budget; each over `SEEDS`."""
    ab = s1["ablation"]
    return [dict(training_data=["nq"], losses=[s1["loss"]], steps=[s1["max_steps"]]),
            dict(training_data=["nq"], losses=list(ab["losses"]), steps=[ab.get("max_steps") or s1["max_steps"]]),
            dict(training_data=["trec-crossfit"], losses=[s1["loss"]], steps=[s1["max_steps"]])]


def commands(cfg: dict) -> list[str]:
    """`plan` as command lines, from the repository root."""
    return [command(cfg["profile"], seeds=SEEDS, **p) for p in plan(cfg["stage1"])]


def _measure(reranker, evalsets: dict, depth: int) -> tuple[dict, dict]:
    """nDCG@1/5/10 x 100 per set, and nDCG@10 per query (0-1) per set, of `reranker` (None: BM25's order)."""
    means, per_query = {}, {}
    for name, ds in evalsets.items():
        ev = evaluate_reranker("side", reranker, ds.candidates, ds.qrels, ds.min_rel, depth, progress=False)[0]
        means[name], per_query[name] = ev.as_percent(), dict(sorted(ev.per_query["nDCG@10"].items()))
    return means, per_query


def _nq_heldout(reranker, nq: list, heldout: list, depth: int) -> dict[str, float]:
    """The training domain: nDCG@10 (gold passage relevant) and Top-1/5 x 100 over the held-out NQ questions."""
    ids = {e.query.qid for e in heldout}
    ev, _, _ = evaluate_reranker("side", reranker, [c for c in nq if c.query.qid in ids],
                                 {e.query.qid: {e.gold_docid: 1} for e in heldout}, 1, depth,
                                 answers={e.query.qid: e.answers for e in heldout}, progress=False)
    return ev.as_percent(("nDCG@10", "Top-1", "Top-5"))


def command(profile: str, training_data, losses, steps, seeds, nq_heldout: bool = False) -> str:
    """The script's command line that measures these points, from the repository root (recorded in the JSON)."""
    return (f".venv/bin/python scripts/stage1_budget.py --profile {profile} --training-data {' '.join(training_data)} "
            f"--losses {' '.join(losses)} --steps {' '.join(map(str, steps))} --seeds {' '.join(map(str, seeds))}"
            + (" --nq-heldout" if nq_heldout else ""))


@contextmanager
def _locked(path: Path):
    """An exclusive lock on ``<path>.lock``, held while one job reads, merges and writes `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _take_in(out_path: Path, report: dict) -> None:
    """Add to `report`, in place, what another job wrote to `out_path` since it was read: its points and their
    per-query rows, its rows of the baselines and its commands. A file of another format or configuration is
    ignored (it is overwritten, as `run` starts afresh). Call it holding `_locked(out_path)`."""
    disk = readers.read_json(out_path) if out_path.is_file() else {}
    if disk.get("format") != report["format"] or disk.get("resume_key") != report["resume_key"]:
        return
    for k in ("points", "per_query"):
        report[k] = {**disk.get(k, {}), **report[k]}
    for system in ("bm25", "teacher"):
        if system in disk:
            report[system] = {**disk[system], **report.get(system, {})}  # e.g. one job measured NQ's held-out rows
    report["commands"] = disk.get("commands", []) + [c for c in report["commands"] if c not in disk.get("commands", [])]


def _save(out_path: Path, report: dict) -> None:
    with _locked(out_path):
        _take_in(out_path, report)
        atomic.write_json(out_path, report)


def run(cfg: dict, work: str | Path, out_path: str | Path, *, training_data=("nq",), losses=None, seeds=(0, 1, 2),
        steps=None, nq_heldout: bool = False) -> dict:
    """Train and measure every (training data, loss, seed, steps) point not yet in `out_path`; returns the report.

    `cfg` is a loaded profile, `work` its artifacts folder (notebook 01's candidates in work/candidates; the teacher
    cache is notebook 02's). `losses` and `steps` default to the profile's `stage1.loss` and `stage1.max_steps`.
    """
    s1, split_seed, profile = cfg["stage1"], cfg["seed"], cfg["profile"]
    losses, steps = list(losses or [s1["loss"]]), list(steps or [s1["max_steps"]])
    for td in training_data:
        if td not in budget_curve.TRAINING_DATA:
            raise ValueError(f"training data {td!r}: not one of {', '.join(budget_curve.TRAINING_DATA)}")
    work, out_path = Path(work), Path(out_path)
    cand_dir = work / "candidates"
    if not (cand_dir / "nq.bm25.json.gz").is_file():
        raise FileNotFoundError(f"{cand_dir / 'nq.bm25.json.gz'} is missing: run notebook 01 first (./run_all.sh --profile {profile})")
    data_dir = data.find_data_dir()
    evalsets = {n: ds for n, ds in data.evaluation_sets(data_dir, cand_dir).items() if n in SETS}
    nq = candidates.read_hits(cand_dir / "nq.bm25.json.gz")
    key = budget_curve.resume_key(cfg)
    report = readers.read_json(out_path) if out_path.is_file() else {}
    if report and (report.get("format") != budget_curve.FORMAT or report.get("resume_key") != key):
        print(f"{out_path}: written by another format or another Stage-1/retrieval configuration; starting afresh")
        report = {}
    commands = report.get("commands", [])
    this = command(profile, training_data, losses, steps, seeds, nq_heldout)
    report.update(profile=profile, format=budget_curve.FORMAT, resume_key=key, resume_key_covers=budget_curve.RESUME_KEY_COVERS,
                  depth=s1["eval_depth"], nq_depth=cfg["retrieval"]["nq_depth"],
                  commands=commands + ([this] if this not in commands else []))
    report.setdefault("points", {})
    report.setdefault("per_query", {})

    teacher = teacher_from_config(s1, ScoreCache(work / "teacher_cache.sqlite"), split_seed)
    _, _, _, heldout = stage1.training_groups(s1, nq, data_dir, split_seed)
    nq_depth = cfg["retrieval"]["nq_depth"]
    for system, reranker in (("bm25", None), ("teacher", teacher)):
        if system not in report:
            report[system], report["per_query"][system] = _measure(reranker, evalsets, s1["eval_depth"])
        if nq_heldout and "nq" not in report[system]:
            report[system]["nq"] = _nq_heldout(reranker, nq, heldout, nq_depth)
    _save(out_path, report)
    tok = models.load_tokenizer(s1["student"]["backbone"])
    encoder = PairEncoder(tok, s1["q_max_len"], s1["p_max_len"])

    def train(groups, budget, seed, loss, out):
        """One student, as notebook 02 trains it; returns its scorer, seconds and final loss."""
        stage1.attach_teacher(groups, teacher, progress=False)
        torch.manual_seed(seed)  # a pretrained backbone's new head is drawn from the global generator, as notebook 02 seeds it
        t0 = time.time()
        trainer = stage1.train(stage1.new_student(s1, tok, seed), encoder, groups, budget, out, seed=seed, loss=loss)
        return (Scorer(trainer.model, encoder, s1["score_batch_size"], name="side"), time.time() - t0,
                trainer.state.log_history[-1].get("train_loss"))

    for td in training_data:
        for loss in losses:
            for n_steps in steps:
                for seed in seeds:
                    name = budget_curve.point_name(td, loss, seed, n_steps)
                    with _locked(out_path):  # another job sharing the file may have measured it meanwhile
                        _take_in(out_path, report)
                    done = report["points"].get(name)
                    if done and (td != "nq" or not nq_heldout or "nq" in done["ndcg"]):
                        print(f"{name}: already in {out_path}")
                        continue
                    budget = {**s1, "training_data": td, "max_steps": n_steps, "loss": loss}
                    out = work / "stage1" / "budget" / td / loss / f"seed{seed}" / str(n_steps)
                    student, per_query, trained_on, groups_n, seconds, final, pairs = {}, {}, {}, {}, 0.0, {}, {}
                    if td == "nq":
                        groups, _, _, _ = stage1.training_groups(budget, nq, data_dir, split_seed)
                        scorer, seconds, final["nq"] = train(groups, budget, seed, loss, out)
                        student, per_query = _measure(scorer, evalsets, s1["eval_depth"])
                        if nq_heldout:
                            student["nq"] = _nq_heldout(scorer, nq, heldout, nq_depth)
                        trained_on, groups_n["nq"] = {s: "nq" for s in student}, len(groups)
                        pairs["nq"] = sum(len(g.passages) for g in groups)
                    else:
                        for year in sorted(set(crossfit.TRAINED_ON.values())):  # one student per training year
                            evaluated = [s for s, y in crossfit.TRAINED_ON.items() if y == year]
                            groups, _, _ = crossfit.training_groups(budget, evalsets, evaluated[0])
                            scorer, secs, final[year] = train(groups, budget, seed, loss, out / year)
                            seconds += secs
                            m, pq = _measure(scorer, {s: evalsets[s] for s in evaluated}, s1["eval_depth"])
                            student.update(m)
                            per_query.update(pq)
                            trained_on.update({s: year for s in evaluated})
                            groups_n[year] = len(groups)
                            pairs[year] = sum(len(g.passages) for g in groups)
                    n_used = stage1.groups_used(budget)
                    report["points"][name] = {
                        "training_data": td, "loss": loss, "seed": seed, "steps": n_steps,
                        "git_commit": results.git_commit(), "device": results.device(),  # per point: a resumed run may span commits
                        "trained_on": trained_on, "distinct_groups": groups_n,
                        # pairs one student sees: the budget's groups (a year's repeated when it has fewer) x their mean size
                        "pairs_seen": round(n_used * sum(pairs.values()) / sum(groups_n.values())),
                        "train_seconds": round(seconds, 1), "final_loss": final, "ndcg": student, "per_query": per_query}
                    _save(out_path, report)
                    print(f"{name} ({seconds:.0f} s): " + ", ".join(f"{n} {student[n]['nDCG@10']:.2f}" for n in student), flush=True)
    return report
