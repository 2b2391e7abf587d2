"""A dry run of the `paper` profile's models that needs no weights and no network.

It builds each architecture of the paper from its public ``config.json`` (kept in ``configs/architectures/``) with
empty weights (accelerate's `init_empty_weights`: no memory is allocated), attaches the paper's LoRA adapters with
peft, and reports trainable and total parameters and a rough estimate of GPU memory per device. It trains and
scores nothing.

Memory estimate (bytes, per device, ZeRO-3 sharding frozen and trainable state over `n_gpus`):
- weights: 2 x total parameters (bf16) / n_gpus;
- trainable state: 16 x trainable parameters (fp32 master weight, gradient, Adam m and v) / n_gpus;
- activations: 34 x s x b x h per layer, bf16, without recomputation (Korthikanti et al. 2022, their eq. 1 without
  the attention-score term, which FlashAttention does not store), for `batch` sequences of `seq_len` tokens.
It is an order of magnitude to plan hardware with, not a measurement.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from .schema import ROOT

ARCH_DIR = ROOT / "configs" / "architectures"

# The paper's models: (architecture file, head, LoRA or None). Sources in configs/paper.yaml.
PAPER_MODELS = {
    "teacher RankLLaMA-13B (frozen)": ("llama-2-13b", "seq-cls", None),
    "student Llama-3.1-8B + LoRA r32": ("llama-3.1-8b", "seq-cls", 32),
    "student Llama-3.2-3B + LoRA r32": ("llama-3.2-3b", "seq-cls", 32),
    "listwise Llama-3.1-8B-Instruct + LoRA r16": ("llama-3.1-8b", "causal-lm", 16),
}
LORA_TARGETS = ["q_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]  # the released Stage-1 code


def load_config(name: str):
    from transformers import LlamaConfig

    raw = {k: v for k, v in json.loads((ARCH_DIR / f"{name}.json").read_text()).items() if not k.startswith("_")}
    return LlamaConfig(**raw)


def empty_model(name: str, head: str):
    from accelerate import init_empty_weights
    from transformers import LlamaForCausalLM, LlamaForSequenceClassification

    cfg = load_config(name)
    with init_empty_weights():
        if head == "seq-cls":
            cfg.num_labels = 1
            return LlamaForSequenceClassification(cfg)
        return LlamaForCausalLM(cfg)


def with_lora(model, r: int, head: str):
    from peft import LoraConfig, TaskType, get_peft_model

    task = TaskType.SEQ_CLS if head == "seq-cls" else TaskType.CAUSAL_LM
    return get_peft_model(model, LoraConfig(task_type=task, r=r, lora_alpha=2 * r, lora_dropout=0.1, target_modules=LORA_TARGETS))


@dataclass
class DryRun:
    name: str
    trainable: int
    total: int
    gib_per_device: float

    def row(self) -> dict:
        return {"model": self.name, "trainable": f"{self.trainable:,}", "total": f"{self.total:,}",
                "trainable %": round(100 * self.trainable / self.total, 3), "GiB per device (est.)": round(self.gib_per_device, 1)}


def memory_per_device(trainable: int, total: int, cfg, n_gpus: int, batch: int, seq_len: int) -> float:
    weights = 2 * total / n_gpus
    state = 16 * trainable / n_gpus
    activations = 34 * seq_len * batch * cfg.hidden_size * cfg.num_hidden_layers
    return (weights + state + activations) / 2 ** 30


def dry_run(n_gpus: int = 4, batch: int = 2, seq_len: int = 232) -> list[DryRun]:
    """Every model of the paper, empty. Defaults: 4 GPUs, 2 sequences of 32 + 196 + 4 tokens (Stage 1)."""
    out = []
    for name, (arch, head, r) in PAPER_MODELS.items():
        model = empty_model(arch, head)
        if r:
            model = with_lora(model, r, head)
        else:
            model.requires_grad_(False)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for n, p in model.named_parameters() if ".original_module." not in n)
        out.append(DryRun(name, trainable, total, memory_per_device(trainable, total, load_config(arch), n_gpus, batch, seq_len)))
    return out


if __name__ == "__main__":
    import pandas as pd

    print(pd.DataFrame([d.row() for d in dry_run()]).to_string(index=False))
