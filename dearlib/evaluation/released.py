"""The authors' released checkpoints, loaded for the kit's own evaluation code (no training).

A user with a GPU and hub access reproduces the reported numbers with notebook 08, which takes the checkpoints of
the profile's `released` section (or its `released_student` / `released_listwise` parameters) and evaluates them as
systems ``dear-p-released`` (Stage 1) and ``dear-l-released`` (the cascade) through the code of notebooks 02 and
04. A checkpoint is either a full model or a peft LoRA adapter; an adapter's folder names its base
(``base_model_name_or_path``), which is loaded first and the adapter merged into it. A local folder works the same
way as a hub id (the tests use one), and so does the kit's ``tiny-llama`` (a random tiny LLaMA with the smoke
tokenizer: the `smoke` profile runs notebook 08's whole path on it). Offline, a hub id stops with one message
naming what is needed.

`READING` says how a released checkpoint's input is built, prompted, decoded and parsed: ``released``, as the
authors' released code runs it (`dearlib.stage1.pairs.ReleasedPairEncoder`, `dearlib.stage2.prompt.released_messages`
and `render_released`, `dearlib.stage2.listwise.RELEASED_DECODING`, `dearlib.stage2.permutation.parse_released`),
or ``kit``, the kit's own format. A Stage-1 checkpoint loaded for the released reading gets the released loader's
config pad id (`dearlib.core.models.released_pad`), so its head reads the last position of the fixed-length row.
It does not train and does not evaluate.
"""
from __future__ import annotations

from pathlib import Path

from ..core import readers

READING = ("kit", "released")  # the profile's `released.reading`
KIT_MODELS = ("tiny-llama",)  # kit model names that load as stand-ins for a released checkpoint
# the released checkpoints, as DataScienceUIBK/DeAR-Reranking's README.md lists them
STUDENTS = ("abdoelsayed/dear-8b-reranker-ce-v1", "abdoelsayed/dear-8b-reranker-ce-lora-v1",
            "abdoelsayed/dear-8b-reranker-ranknet-v1", "abdoelsayed/dear-8b-reranker-ranknet-lora-v1",
            "abdoelsayed/dear-3b-reranker-ce-v1", "abdoelsayed/dear-3b-reranker-ce-lora-v1",
            "abdoelsayed/dear-3b-reranker-ranknet-v1", "abdoelsayed/dear-3b-reranker-ranknet-lora-v1")
LISTWISE = ("abdoelsayed/dear-8b-reranker-listwise-v1", "abdoelsayed/dear-8b-reranker-listwise-lora-v1")
NEEDS = "a Hugging Face token with access to the gated LLaMA weights, and about 16 GB of disk per 8B model"


def _adapter_config(name: str) -> dict | None:
    """The checkpoint's adapter_config.json, or None for a full model."""
    if Path(name).is_dir():
        f = Path(name) / "adapter_config.json"
        return readers.read_json(f) if f.is_file() else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    from ..core.offline import require_network

    require_network(f"the released checkpoint {name!r}", NEEDS)
    try:
        return readers.read_json(hf_hub_download(name, "adapter_config.json"))
    except EntryNotFoundError:
        return None


def _load(cls, name: str, dtype, pad=None, **kw):
    """A full model, or an adapter merged into its base; with the tokenizer that goes with it. `pad`: a rule for the
    config's pad id applied before the kit's `ensure_pad` (the released reading's `released_pad`)."""
    from transformers import AutoTokenizer

    from ..core.models import _from_hub, ensure_pad

    adapter = _adapter_config(name)
    base = adapter["base_model_name_or_path"] if adapter else name
    model = cls.from_pretrained(base, dtype=dtype, **kw) if Path(base).is_dir() else _from_hub(cls, base, dtype=dtype, **kw)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, name).merge_and_unload()
    tok = AutoTokenizer.from_pretrained(name if Path(name, "tokenizer_config.json").is_file() or not adapter else base)
    if pad is not None:
        pad(model)
    return ensure_pad(model, tok).eval(), tok


def _check(reading: str):
    if reading not in READING:
        raise ValueError(f"released.reading must be one of {', '.join(READING)}, not {reading!r}")


def load_student(name: str, dtype=None, reading: str = "kit", seed: int = 0):
    """A released Stage-1 reranker (a one-output sequence-classification model) and its tokenizer."""
    from transformers import AutoModelForSequenceClassification

    from ..core import models

    _check(reading)
    if name in KIT_MODELS:
        tok = models.load_tokenizer(name)
        return models.load_sequence_classifier(name, tok, seed=seed, reading=reading).eval(), tok
    pad = models.released_pad if reading == "released" else None
    return _load(AutoModelForSequenceClassification, name, dtype, pad, num_labels=1)


def load_listwise(name: str, dtype=None, seed: int = 0):
    """A released Stage-2 listwise model (a causal LM) and its tokenizer."""
    from transformers import AutoModelForCausalLM

    from ..core import models

    if name in KIT_MODELS:
        import torch
        from transformers import LlamaForCausalLM

        tok = models.load_tokenizer(name)
        torch.manual_seed(seed)
        return models.ensure_pad(LlamaForCausalLM(models.tiny_llama_config(len(tok))), tok).eval(), tok
    return _load(AutoModelForCausalLM, name, dtype)
