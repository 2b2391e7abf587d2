"""Stage 1: distil a frozen teacher into a student reranker over groups of (query, passages).

The data: each training *group* is one question, its positive passage first, then BM25 hard negatives, with the
teacher's score for every member (`make_groups`, `attach_teacher`; the in-domain control's groups from TREC DL
are `dearlib.stage1.crossfit`'s, trained by the same `train`). The student is a sequence-classification
model with one output (optionally wrapped in a peft LoRA adapter, `build_student`). Training runs on the
transformers `Trainer` (accelerate underneath, so the same entry point runs on one CPU, under
``accelerate launch`` with several processes, or with DeepSpeed), with `dearlib.stage1.losses.dear_loss` as the
objective, checkpoints, resume from the last complete checkpoint (when it was trained with the same settings) and
a logged loss curve. `save_model` writes a trained model to a temporary folder renamed into place
(`dearlib.core.atomic.folder`); `find_student` and `load_student` bring the saved student back for later
notebooks, never trusting a folder a kill left half-written (`incomplete`). Applying a trained student to candidate lists
is `dearlib.stage1.rerank`'s job.

Command line (what ``accelerate launch`` runs):
    python -m dearlib.stage1.training --profile smoke --groups groups.jsonl --output out/ [--loss ce+kl] [--max-steps N]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import shutil
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..core import atomic, readers
from ..core.records import Candidates, Query
from ..evaluation.answers import has_answer
from .losses import dear_loss
from .pairs import PairEncoder


@dataclass
class Group:
    qid: str
    query: str
    passages: list[str]  # the positive first, then the negatives
    teacher: list[float] | None = None  # the teacher's score of each passage


# ------------------------------------------------------------------------------------------------- data


def nq_split(examples: list, n_heldout: int, seed: int) -> tuple[list, list]:
    """A fixed split of NQ-open into training questions and a held-out set (the QA evaluation's)."""
    if not 0 < n_heldout < len(examples):
        raise ValueError(f"n_heldout must be between 1 and {len(examples) - 1}, not {n_heldout}")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    held = set(order[:n_heldout])
    return [e for i, e in enumerate(examples) if i not in held], [e for i, e in enumerate(examples) if i in held]


def _check_group_size(group_size) -> None:
    # a group is the positive and at least one negative; below 2, `len(negatives) == group_size - 1` never holds
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 2:
        raise ValueError(f"stage1.group_size must be an integer of at least 2 (the positive and a negative), not {group_size!r}")


def make_groups(examples: list, candidates: dict[str, Candidates], pool: dict, group_size: int) -> tuple[list[Group], Counter]:
    """One group per question: its gold passage, then the highest-ranked BM25 negatives.

    A negative that contains an answer string is dropped (likely a false negative). A question whose gold passage
    contains no answer string has no trustworthy positive: it is skipped and counted, as is one without negatives.
    Returns the groups and a ledger of what was kept and skipped.
    """
    _check_group_size(group_size)
    groups, ledger = [], Counter()
    for e in examples:
        positive = pool[e.gold_docid]
        if not has_answer(positive.contents, e.answers):
            ledger["skipped: no positive"] += 1
            continue
        negatives = []
        for p in candidates[e.query.qid].passages if e.query.qid in candidates else ():
            if p.docid == e.gold_docid:
                continue
            if has_answer(p.contents, e.answers):
                ledger["negatives dropped: contain an answer"] += 1
                continue
            negatives.append(p.contents)
            if len(negatives) == group_size - 1:
                break
        if not negatives:
            ledger["skipped: no negative"] += 1
            continue
        ledger["groups"] += 1
        ledger[f"groups with {len(negatives) + 1} passages"] += 1
        groups.append(Group(e.query.qid, e.query.text, [positive.contents, *negatives]))
    return groups, ledger


def tevatron_groups(rows, group_size: int, limit: int | None = None, seed: int = 0) -> tuple[list[Group], Counter]:
    """Groups from rows in Tevatron's format (``query_id``, ``query``, ``positive_passages`` and
    ``negative_passages``, each passage with ``docid``, ``title``, ``text``): the first positive, then
    `group_size` - 1 negatives drawn with `seed` (the released code samples hard negatives per epoch; one draw here).
    A row without a positive or a negative is skipped and counted."""
    _check_group_size(group_size)
    rng = random.Random(seed)
    groups, ledger = [], Counter()
    for row in rows:
        if limit is not None and len(groups) >= limit:
            break
        pos, neg = row.get("positive_passages") or [], row.get("negative_passages") or []
        if not pos or not neg:
            ledger["skipped: no positive" if not pos else "skipped: no negative"] += 1
            continue
        text = lambda p: f"{p.get('title', '')} {p['text']}".strip()
        negatives = rng.sample(neg, min(group_size - 1, len(neg)))
        query = Query(str(row["query_id"]), row["query"])  # an empty query is an error naming its id
        groups.append(Group(query.qid, query.text, [text(pos[0]), *map(text, negatives)]))
        ledger["groups"] += 1
    return groups, ledger


def msmarco_groups(name: str, group_size: int, limit: int | None = None, seed: int = 0) -> tuple[list[Group], Counter]:
    """The paper's training groups from the hub data set `name` (``Tevatron/msmarco-passage``): network needed."""
    from datasets import load_dataset

    from ..core.offline import require_network

    require_network(f"the training data set {name!r}", "about 2 GB of disk")
    return tevatron_groups(load_dataset(name, split="train"), group_size, limit, seed)


def groups_used(cfg: dict) -> int | None:
    """How many groups training reaches, per process: max_steps x batch_size x gradient_accumulation; None (all)
    when the epochs decide. The teacher need score no more."""
    if not cfg.get("max_steps"):
        return None
    return cfg["max_steps"] * cfg["batch_size"] * cfg.get("gradient_accumulation", 1)


def training_groups(s1: dict, nq_candidates: list[Candidates], data_dir=None, seed: int = 0) -> tuple[list[Group], Counter, list, list]:
    """The groups a profile's `stage1` section `s1` trains on, cut to those training reaches (`groups_used`).

    The paper profile (``train_data``): MS MARCO groups from the hub, as the released code trains. Otherwise NQ-open:
    the fixed split (`nq_split`, ``nq_heldout`` questions kept for the QA evaluation), one group per training
    question from `nq_candidates` (notebook 01's BM25 lists). Returns the groups (teacher scores not yet attached),
    their ledger, the training and the held-out NQ questions.
    """
    from ..retrieval import data

    examples, pool = data.load_nq(data_dir)
    if s1.get("nq_questions"):
        examples = examples[: s1["nq_questions"]]
    train_q, heldout_q = nq_split(examples, s1["nq_heldout"], seed)
    n_used = groups_used(s1)
    if s1.get("train_data"):
        groups, ledger = msmarco_groups(s1["train_data"], s1["group_size"], n_used, seed)
    else:
        groups, ledger = make_groups(train_q, {c.query.qid: c for c in nq_candidates}, pool, s1["group_size"])
    return groups[:n_used], ledger, train_q, heldout_q


def attach_teacher(groups: list[Group], teacher, progress: bool = True) -> list[Group]:
    """Fill each group's teacher scores (the teacher's cache makes a rerun free)."""
    qs = [g.query for g in groups for _ in g.passages]
    ps = [p for g in groups for p in g.passages]
    scores = iter(teacher.score_pairs(qs, ps, progress=progress))
    for g in groups:
        g.teacher = [next(scores) for _ in g.passages]
    return groups


def easiness(groups: list[Group], temperature: float = 1.0) -> dict[str, float]:
    """How easy the groups are for the teacher: the share of groups whose positive it scores above every negative,
    the mean margin (positive minus the best negative, in the teacher's logits) and the mean share of the
    positive in softmax(teacher / `temperature`), the soft target the KL term trains towards. Groups with a share
    near 1 teach the student little beyond "the positive first"."""
    if not groups or any(g.teacher is None or len(g.teacher) < 2 for g in groups):
        raise ValueError("easiness needs groups of two or more passages with teacher scores (attach_teacher first)")
    first = margin = share = 0.0
    for g in groups:
        t = [v / temperature for v in g.teacher]
        top = max(t)
        first += g.teacher[0] > max(g.teacher[1:])
        margin += g.teacher[0] - max(g.teacher[1:])
        share += math.exp(t[0] - top) / math.fsum(math.exp(v - top) for v in t)
    n = len(groups)
    return {"groups": n, "positive first": first / n, "mean margin": margin / n, f"positive's share at T={temperature:g}": share / n}


def save_groups(groups: list[Group], path: str | Path) -> Path:
    return atomic.write_text(path, "".join(json.dumps(asdict(g), ensure_ascii=False) + "\n" for g in groups))


def load_groups(path: str | Path) -> list[Group]:
    """The groups `save_groups` wrote; a bad line names the file and line."""
    groups = []
    for n, rec in readers.read_jsonl(path):
        try:
            g = Group(**rec)
            Query(g.qid, g.query)  # an empty query is an error naming its id
            if not isinstance(g.passages, list) or len(g.passages) < 2 or not all(isinstance(p, str) for p in g.passages):
                raise ValueError("'passages' must list the positive and at least one negative, as strings")
            if g.teacher is not None and len(g.teacher) != len(g.passages):
                raise ValueError(f"{len(g.teacher)} teacher scores for {len(g.passages)} passages")
            if g.teacher is not None and not all(isinstance(t, (int, float)) and math.isfinite(t) for t in g.teacher):
                raise ValueError(f"teacher scores must be finite numbers, not {g.teacher}")
        except (TypeError, ValueError) as e:
            raise ValueError(readers.bad_record(f"{path}:{n}", e, "a training group")) from None
        groups.append(g)
    if not groups:
        raise ValueError(f"{path}: no training groups")
    return groups


class GroupCollator:
    """Flattens a batch of groups into (batch x group) pairs; ragged groups are padded and masked."""

    def __init__(self, encoder: PairEncoder):
        self.encoder = encoder

    def __call__(self, groups: list[Group]) -> dict:
        size = max(len(g.passages) for g in groups)
        rows, mask, teacher = [], torch.zeros(len(groups), size, dtype=torch.bool), torch.zeros(len(groups), size)
        for i, g in enumerate(groups):
            for j in range(size):
                if j < len(g.passages):
                    rows.append(self.encoder.ids(g.query, g.passages[j]))
                    mask[i, j] = True
                    teacher[i, j] = g.teacher[j] if g.teacher else 0.0
                else:
                    rows.append(self.encoder.ids(g.query, ""))  # a placeholder, masked out of every loss
        batch = self.encoder.pad(rows)
        batch.update(group_mask=mask, teacher_scores=teacher, has_teacher=torch.tensor(all(g.teacher for g in groups)))
        return batch


# ------------------------------------------------------------------------------------------------- model


def build_student(model, lora: dict | None):
    """Wrap `model` in a peft LoRA adapter (`lora`: r, alpha, dropout, target_modules), or train it fully (None)."""
    if not lora:
        return model
    from peft import LoraConfig, TaskType, get_peft_model

    cfg = LoraConfig(task_type=TaskType.SEQ_CLS, r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                     target_modules=lora["target_modules"])
    return get_peft_model(model, cfg)


def student_base(s1: dict, tokenizer, seed: int = 0):
    """The student's backbone with a one-output head, before any LoRA (random tiny weights drawn with `seed`)."""
    from ..core.models import load_sequence_classifier

    s = s1["student"]
    return load_sequence_classifier(s["backbone"], tokenizer, layers=s.get("layers"), seed=seed)


def new_student(s1: dict, tokenizer, seed: int = 0):
    """A fresh student as a profile's `stage1.student` section describes it (backbone, layers, LoRA or not)."""
    torch.manual_seed(seed)
    return build_student(student_base(s1, tokenizer, seed), s1["student"].get("lora"))


def load_student(s1: dict, path: str | Path, tokenizer, seed: int = 0):
    """The student saved by ``Trainer.save_model`` (notebook 02) at `path`, in evaluation mode.

    With LoRA in the profile (`stage1.student.lora`) the folder holds the adapter and the head only: the base is
    rebuilt as `new_student` builds it (hub weights, or the seeded random tiny model of `smoke`, hence `seed`)
    and the adapter loaded over it. Without LoRA the folder is a full transformers model.
    """
    from ..core.models import ensure_pad

    path = Path(path)
    s = s1["student"]
    if s.get("lora"):
        if not (path / "adapter_config.json").is_file():
            raise FileNotFoundError(f"{path} holds no LoRA adapter (adapter_config.json), yet the profile trains "
                                    "the student with LoRA: was it saved under another profile?")
        from peft import PeftModel

        model = PeftModel.from_pretrained(student_base(s1, tokenizer, seed), str(path))
    else:
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} holds no full model (config.json)" +
                                    (": it is a LoRA adapter, yet the profile trains fully" if (path / "adapter_config.json").is_file() else ""))
        from transformers import AutoModelForSequenceClassification

        model = ensure_pad(AutoModelForSequenceClassification.from_pretrained(str(path)), tokenizer)
    return model.eval()


def save_model(trainer, path: str | Path) -> Path:
    """``trainer.save_model`` into a temporary folder beside `path`, renamed to `path` once whole: a kill during the
    save leaves the old folder (or none), never a half one."""
    with atomic.folder(path) as tmp:
        trainer.save_model(str(tmp))
    return Path(path)


def incomplete(folder: str | Path, checkpoint: bool = False) -> str:
    """Why the saved model `folder` cannot be trusted ("" when it can): missing, no configuration, no weights, a
    weights file cut short (safetensors checks its header against the file's length). A Trainer `checkpoint` also
    needs its trainer_state.json, which the Trainer writes last, readable."""
    from safetensors import safe_open

    folder = Path(folder)
    if not folder.is_dir():
        return f"{folder} is no folder"
    if checkpoint:
        try:
            json.loads((folder / "trainer_state.json").read_text())
        except (OSError, ValueError):
            return f"{folder}: its trainer_state.json, written last, is missing or cut short"
    elif not any(folder.rglob("config.json")) and not any(folder.rglob("adapter_config.json")):
        return f"{folder}: no config.json or adapter_config.json"
    weights = list(folder.rglob("*.safetensors")) + list(folder.rglob("*.bin"))
    if not weights and not checkpoint:
        return f"{folder}: no weights (*.safetensors, *.bin)"
    for f in weights:
        if f.suffix == ".safetensors":
            try:
                with safe_open(str(f), "pt"):
                    pass
            except Exception as e:  # safetensors raises its own error type for a cut file
                return f"{f}: not whole ({e})"
    return ""


def last_checkpoint(output_dir: str | Path) -> tuple[str | None, list[tuple[Path, str]]]:
    """The highest-numbered complete ``checkpoint-N`` in `output_dir` (None: none), and each later one with why it
    is not."""
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    found = sorted((int(p.name.split("-")[1]), p) for p in Path(output_dir).glob(f"{PREFIX_CHECKPOINT_DIR}-*")
                   if p.name.split("-")[1].isdigit())
    skipped = []
    for _, p in reversed(found):
        why = incomplete(p, checkpoint=True)
        if not why:
            return str(p), skipped
        skipped.append((p, why))
    return None, skipped


def find_student(stage1_dir: str | Path, loss: str) -> tuple[Path, str]:
    """Where the trained student is: ``<stage1_dir>/student`` (notebook 02 saves it there after training) when it
    is whole, else the last complete Trainer checkpoint of ``<stage1_dir>/<loss>/`` (the Trainer always checkpoints
    the final step). Returns the folder and a sentence saying which it is."""
    stage1_dir = Path(stage1_dir)
    final = stage1_dir / "student"
    why = incomplete(final)
    if not why:
        return final, f"the final student saved by notebook 02: {final}"
    run = stage1_dir / loss
    last, skipped = last_checkpoint(run) if run.is_dir() else (None, [])
    if last:
        return Path(last), f"{why}: using the last complete training checkpoint {last} (the final step)"
    whys = "; ".join([why] + [w for _, w in skipped])
    raise FileNotFoundError(f"no trained student under {stage1_dir} (neither a whole student/ nor a complete checkpoint in "
                            f"{loss}/: {whys}): run notebook 02 (02_stage1_distillation.ipynb) first")


def trainable_parameters(model) -> tuple[int, int]:
    return sum(p.numel() for p in model.parameters() if p.requires_grad), sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------------------------------------- training


def _trainer_class():
    from transformers import Trainer

    class DistillTrainer(Trainer):
        """The Trainer with DeAR's group loss; a non-finite loss stops training and names the step."""

        def __init__(self, *a, loss: str, alpha: float, temperature: float, **kw):
            super().__init__(*a, **kw)
            self.dear = dict(loss=loss, alpha=alpha, temperature=temperature)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            mask = inputs.pop("group_mask")
            teacher = inputs.pop("teacher_scores")
            has_teacher = bool(inputs.pop("has_teacher"))
            outputs = model(**inputs)
            student = outputs.logits.view(mask.shape).float()
            loss = dear_loss(student, teacher if has_teacher else None, mask=mask, **self.dear)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite Stage-1 loss ({loss.item()}) at training step {self.state.global_step + 1}")
            return (loss, outputs) if return_outputs else loss

    return DistillTrainer


def train(model, encoder: PairEncoder, groups: list[Group], cfg: dict, output_dir: str | Path, seed: int = 0,
          loss: str | None = None, max_steps: int | None = None, resume: bool = True, callbacks=None):
    """Train the student on `groups` with the `stage1` section `cfg` of a profile; resumes from the last checkpoint.

    Returns the trainer (its `state.log_history` is the loss curve, also saved as ``loss_curve.json``).
    """
    from transformers import TrainingArguments

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    args = TrainingArguments(**training_arguments(cfg, output_dir, seed, max_steps), warmup_steps=cfg.get("warmup_ratio", cfg.get("warmup_steps", 0)),
                             lr_scheduler_type="linear", remove_unused_columns=False)
    trainer = _trainer_class()(model=model, args=args, train_dataset=groups, data_collator=GroupCollator(encoder),
                               callbacks=callbacks, loss=loss or cfg["loss"], alpha=cfg["alpha"],
                               temperature=cfg["temperature"])
    settings = {**cfg, "loss": loss or cfg["loss"], "seed": seed, "max_steps": args.max_steps,
                "groups": fingerprint(asdict(g) for g in groups)}
    return train_and_log(trainer, output_dir, resume, settings)


def training_arguments(cfg: dict, output_dir: Path, seed: int, max_steps: int | None) -> dict:
    """The Trainer settings both stages share, from a profile's `stage1` or `stage2` section."""
    from ..core.config import repo_path

    cpu = not torch.cuda.is_available()
    return dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=cfg["batch_size"],
        gradient_accumulation_steps=cfg.get("gradient_accumulation", 1),
        learning_rate=cfg["lr"],
        num_train_epochs=cfg["epochs"],
        max_steps=max_steps or cfg.get("max_steps") or -1,
        logging_steps=cfg.get("logging_steps", 10),
        save_strategy="steps",
        save_steps=cfg.get("save_steps", 100),
        save_total_limit=1,
        seed=seed,
        bf16=cfg.get("bf16", False) and not cpu,  # bf16 on a CPU is ~17x slower here
        gradient_checkpointing=cfg.get("gradient_checkpointing", False) and not cpu,  # trl's default, slow on a CPU
        use_cpu=cpu,
        dataloader_num_workers=0,
        report_to=[],
        deepspeed=repo_path(cfg.get("deepspeed")) if not cpu else None,  # notebooks run in notebooks/: read from the root
        disable_tqdm=False,
    )


# Config keys that do not change what training produces: changing them keeps a run's checkpoints valid.
NOT_TRAINING = ("ablation", "inference", "heldout", "eval_depth", "score_batch_size", "logging_steps", "save_steps")


def fingerprint(items) -> str:
    """A hash of JSON-able training items (groups, examples), computed one item at a time."""
    h = hashlib.sha256()
    for item in items:
        h.update(json.dumps(item, sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def _finished(trainer, checkpoint: str) -> bool:
    """Whether `checkpoint` is the last step of the run `trainer` is set up for (a DeepSpeed run resumes as usual:
    its weights load inside `train`)."""
    from transformers import TrainerState

    steps = trainer.args.max_steps
    state = TrainerState.load_from_json(str(Path(checkpoint) / "trainer_state.json"))
    return steps > 0 and state.global_step >= steps and not trainer.is_deepspeed_enabled


def train_and_log(trainer, output_dir: Path, resume: bool, settings: dict):
    """Train from the last checkpoint in `output_dir` (when `resume`), then save the loss curve there.

    `settings` (the stage's config, loss, seed and a fingerprint of its data) are saved beside the checkpoints. A
    checkpoint trained with other settings is stale: resuming it would finish the old run, not the one asked
    for, so it is removed and training starts afresh, saying what changed.
    """
    from transformers import TrainerState

    settings = json.loads(json.dumps({k: v for k, v in settings.items() if k not in NOT_TRAINING}, sort_keys=True, default=str))
    saved_path = output_dir / "settings.json"
    last, skipped = last_checkpoint(output_dir) if resume else (None, [])
    if skipped and trainer.is_world_process_zero():  # a kill mid-save left them: the Trainer would save into them again
        for p, why in skipped:
            print(f"removing an incomplete checkpoint, resuming before it: {why}")
            shutil.rmtree(p)
    saved = readers.read_json(saved_path) if saved_path.is_file() else None
    if last and saved != settings:
        changed = sorted(k for k in settings.keys() | (saved or {}).keys() if settings.get(k) != (saved or {}).get(k))
        print(f"{output_dir}: its checkpoints were trained with other settings (changed: {', '.join(changed) or 'unknown'}); "
              "training from scratch")
        last = None
        if trainer.is_world_process_zero():  # removed before the new settings are written: other ranks see one or the other
            for old in output_dir.glob("checkpoint-*"):
                shutil.rmtree(old)
    if trainer.is_world_process_zero():
        atomic.write_json(saved_path, settings)
    if last and _finished(trainer, last):
        # transformers (5.24) resuming a run that stopped at max_steps mid-epoch trains one step more than asked:
        # a finished run is loaded as it is instead, so a rerun gives the same model
        trainer._load_from_checkpoint(last)
        trainer.state = TrainerState.load_from_json(str(Path(last) / "trainer_state.json"))
    else:
        trainer.train(resume_from_checkpoint=last)
    if trainer.is_world_process_zero():
        atomic.write_json(output_dir / "loss_curve.json", [h for h in trainer.state.log_history if "loss" in h])
    return trainer


# ------------------------------------------------------------------------------------------------- command line


def main(argv=None) -> int:
    from ..core.config import load_config
    from ..core.models import load_tokenizer

    ap = argparse.ArgumentParser(prog="python -m dearlib.stage1.training", description="Train the Stage-1 student on saved groups.")
    ap.add_argument("--profile", required=True)
    ap.add_argument("--groups", required=True, help="JSONL of training groups with teacher scores (notebook 02 writes it)")
    ap.add_argument("--output", required=True)
    ap.add_argument("--loss", default=None)
    ap.add_argument("--max-steps", type=int, default=None)
    a = ap.parse_args(argv)
    cfg = load_config(a.profile)
    s1 = cfg["stage1"]
    tok = load_tokenizer(s1["student"]["backbone"])
    trainer = train(new_student(s1, tok, cfg["seed"]), PairEncoder(tok, s1["q_max_len"], s1["p_max_len"]), load_groups(a.groups), s1, a.output,
                    seed=cfg["seed"], loss=a.loss, max_steps=a.max_steps)
    if trainer.is_world_process_zero():
        save_model(trainer, Path(a.output) / "final")
        print(f"trained {trainer.state.global_step} steps on {trainer.args.world_size} process(es); "
              f"final loss {trainer.state.log_history[-1].get('train_loss', math.nan):.4f}")
    # leave the launcher's process group before exit: a gloo group left to the exit once aborted a process after
    # its last step ("terminate called without an active exception")
    trainer.accelerator.wait_for_everyone()
    trainer.accelerator.end_training()
    return 0


if __name__ == "__main__":
    sys.exit(main())
