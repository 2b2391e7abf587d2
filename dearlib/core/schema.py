"""The profiles' schema: every key of ``configs/<profile>.yaml`` with its type, whether it is required, and its meaning.

`check` runs inside `dearlib.core.config.load_config`, before any notebook reads a value, and on a notebook's
overrides (`dearlib.core.config.override`). It stops at the first problem with the file (and line), the key's dotted
path and what is wrong: an unknown key (with the nearest valid one), a wrong type (expected and found), a value
outside its choices or its range (`Key.bounds`, an interval, its reason in the key's meaning; NaN and infinity
never), a value above another's (`NOT_ABOVE`: a window's step above the window), a missing required key or
section, a path that names no file. It never prints a value it
refuses: a value may be a secret pasted in the wrong place. API keys live in environment variables only;
``api_key_env`` holds a variable's name, and a value that looks like a key or token is refused anywhere.

It does not interpret the values (each notebook reads its section) and does not resolve paths (`config.repo_path`).
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout: dearlib/core/schema.py is two folders down


@dataclass(frozen=True)
class Key:
    """One setting. `type`: "str", "int", "number" (int or float), "bool", "list[str]", "path" (a file, relative
    to the repository root), "env-var" (an environment variable's name), or a dict of Keys (a section)."""

    type: str | dict
    meaning: str
    required: bool = True
    null: bool = False  # null (None) allowed
    choices: tuple = ()
    bounds: str = ""  # a number's allowed range as an interval: "[1, )" at least 1, "(0, 1)" above 0 and below 1


LORA = {
    "r": Key("int", "LoRA rank", bounds="[1, )"),
    "alpha": Key("number", "LoRA scaling alpha", bounds="(0, )"),
    "dropout": Key("number", "dropout on the LoRA branch", bounds="[0, 1)"),
    "target_modules": Key("list[str]", "the linear layers that get an adapter"),
}

# the Trainer's settings both stages take (dearlib.stage1.training.training_arguments builds them for either)
TRAINER = {
    "bf16": Key("bool", "bf16 on a GPU", required=False),
    "gradient_checkpointing": Key("bool", "gradient checkpointing on a GPU", required=False),
    "deepspeed": Key("path", "a DeepSpeed configuration file (GPU)", required=False, null=True),
    "logging_steps": Key("int", "steps between loss-curve points", bounds="[1, )", required=False),
    "save_steps": Key("int", "steps between checkpoints", bounds="[1, )", required=False),
}

SCHEMA = {
    "profile": Key("str", "the name results are filed under: results/<profile>/", choices=("smoke", "mini", "paper")),
    "seed": Key("int", "one seed for sampling, shuffling and model initialisation (numpy takes 0 to 2^32 - 1)", bounds="[0, 4294967295]"),
    "retrieval": Key({
        "dl_first_stage": Key("str", "DL19/DL20 candidates: the data directory's BM25 top-100, or retrieved", choices=("shared", "prebuilt")),
        "prebuilt_index": Key("str", "pyserini's prebuilt index for DL19/DL20 (dl_first_stage: prebuilt)", required=False),
        "n_queries": Key("int", "queries kept per evaluation set (null: all) (0 would keep every query)", bounds="[1, )", null=True),
        "depth": Key("int", "BM25 candidates kept per query (0 would keep every candidate)", bounds="[1, )"),
        "nq_questions": Key("int", "NQ questions whose gold passages form the pool (null: all)", bounds="[1, )", null=True),
        "nq_depth": Key("int", "BM25 candidates per NQ question", bounds="[1, )"),
        "bm25": Key({"k1": Key("number", "BM25 term saturation", bounds="[0, )"),
                     "b": Key("number", "BM25 length normalisation", bounds="[0, 1]")}, "BM25 parameters"),
        "threads": Key("int", "Lucene search threads", bounds="[1, )"),
        "beir": Key("list[str]", "BEIR sets retrieved with pyserini's prebuilt indexes", required=False),
    }, "notebook 01: candidate retrieval and the BM25 baseline"),
    "stage1": Key({
        "teacher": Key({
            "kind": Key("str", "how the teacher reads a pair", choices=("cross-encoder", "bi-encoder")),
            "model": Key("str", "the teacher model: a kit model name or hub id"),
            "layers": Key("int", "its depth (null: all layers)", bounds="[1, )", required=False, null=True),
            "max_length": Key("int", "teacher tokens per text (bi-encoder)", bounds="[1, )", required=False),
            "scale": Key("number", "logits = scale x cosine (bi-encoder)", bounds="(0, )", required=False),
            "reading": Key("str", "how a cross-encoder teacher's pair input is built: the kit's format, or the authors' released "
                           "code's (dearlib.stage1.pairs)", required=False, choices=("kit", "released")),
        }, "the frozen teacher"),
        "student": Key({
            "backbone": Key("str", "the student model: a kit model name or hub id"),
            "layers": Key("int", "its depth (null: all layers)", bounds="[1, )", required=False, null=True),
            "lora": Key(LORA, "its LoRA adapter (null: full fine-tuning)", required=False, null=True),
        }, "the student"),
        "q_max_len": Key("int", "query tokens", bounds="[1, )"),
        "p_max_len": Key("int", "passage tokens", bounds="[1, )"),
        "nq_questions": Key("int", "NQ questions used (null: all)", bounds="[1, )", null=True),
        "nq_heldout": Key("int", "NQ questions held out for the QA evaluation", bounds="[0, )"),
        "train_data": Key("str", "a hub data set of training groups instead of NQ", required=False),
        "training_data": Key("str", "what the Stage-1 student trains on: NQ groups (notebook 02's dear-p), or the in-domain "
                             "control, each TREC DL year's student trained on the other year (dearlib.stage1.crossfit)",
                             required=False, choices=("nq", "trec-crossfit")),
        "group_size": Key("int", "passages per group: 1 positive + hard negatives", bounds="[2, )"),
        "batch_size": Key("int", "groups per step and device", bounds="[1, )"),
        "gradient_accumulation": Key("int", "steps per optimiser update", bounds="[1, )", required=False),
        "epochs": Key("number", "passes over the training groups", bounds="(0, )"),
        "max_steps": Key("int", "stop after this many steps (null: the epochs decide)", bounds="[1, )", null=True),
        "warmup_steps": Key("int", "linear warm-up steps", bounds="[0, )", required=False),
        "warmup_ratio": Key("number", "linear warm-up over this fraction of the training steps (the released code's 0.1)",
                            bounds="[0, 1)", required=False),
        "lr": Key("number", "learning rate", bounds="(0, 1)"),
        "loss": Key("str", "the training loss (dearlib.stage1.losses.LOSSES)"),
        "alpha": Key("number", "weight of the KL distillation term (the loss is (1 - alpha) main + alpha KL)", bounds="[0, 1]"),
        "temperature": Key("number", "distillation temperature (the logits are divided by it)", bounds="(0, )"),
        **TRAINER,
        "eval_depth": Key("int", "BM25 candidates reranked per query", bounds="[1, )"),
        "score_batch_size": Key("int", "pairs per scoring batch", bounds="[1, )"),
        "ablation": Key({
            "losses": Key("list[str]", "one student per loss and seed (dearlib.stage1.losses.LOSSES)"),
            "max_steps": Key("int", "training steps per student (null: the default budget, stage1.max_steps)", bounds="[1, )", null=True),
        }, "the loss ablation"),
    }, "notebook 02: distil the teacher into the student"),
    "stage2_data": Key({
        "generator": Key("str", "who writes the permutations", choices=("teacher-guided", "openai", "local")),
        "model": Key("str", "the chat model (openai, local)", required=False),
        "base_url": Key("str", "the endpoint's /v1 URL (null: api.openai.com)", required=False, null=True),
        "api_key_env": Key("env-var", "the environment variable holding the API key (never the key)", required=False),
        "max_concurrency": Key("int", "requests in flight", bounds="[1, )", required=False),
        "max_retries": Key("int", "the client's retries on 429 and 5xx", bounds="[0, )", required=False),
        "timeout": Key("number", "seconds one request may take, then it is retried or counted failed (openai)", bounds="(0, )", required=False),
        "temperature": Key("number", "sampling temperature of the generator (the OpenAI API takes 0 to 2)", bounds="[0, 2]", required=False),
        "backend": Key("str", "the local generator's backend", required=False, choices=("transformers", "vllm")),
        "max_new_tokens": Key("int", "completion tokens per window (local, openai)", bounds="[1, )", required=False),
        "batch_size": Key("int", "the local generator's prompts per batch", bounds="[1, )", required=False),
        "windows": Key("int", "windows generated", bounds="[1, )"),
        "window_size": Key("int", "candidates per window (one passage cannot be reordered; 100: 5 times the paper's 20)",
                           bounds="[2, 100]"),
        "max_words": Key("int", "words kept per passage in the prompt", bounds="[1, )"),
    }, "notebook 03: chain-of-thought listwise permutations"),
    "stage2": Key({
        "reading": Key("str", "where the second adapter sits", choices=("stage1-backbone", "separate")),
        "base": Key("str", "the listwise base model (and tokenizer): a kit model name or hub id"),
        "layers": Key("int", "depth of a tiny random base (null: all layers)", bounds="[1, )", required=False, null=True),
        "lora": Key(LORA, "the listwise LoRA adapter"),
        "examples": Key("int", "SFT examples (null: all)", bounds="[1, )", null=True),
        "heldout": Key("int", "notebook 03's last windows, never trained on", bounds="[0, )"),
        "max_length": Key("int", "prompt + answer tokens (at most Llama 3.1's context, the longest of the kit's models)",
                          bounds="[1, 131072]"),
        "batch_size": Key("int", "examples per step and device", bounds="[1, )"),
        "gradient_accumulation": Key("int", "steps per optimiser update", bounds="[1, )", required=False),
        "epochs": Key("number", "passes over the examples", bounds="(0, )"),
        "max_steps": Key("int", "stop after this many steps (null: the epochs decide)", bounds="[1, )", null=True),
        "lr": Key("number", "learning rate", bounds="(0, 1)"),
        "scheduler": Key("str", "learning-rate schedule (transformers' names)", required=False),
        "warmup": Key("number", "warm-up: a fraction of the steps below 1", bounds="[0, 1)", required=False),
        **TRAINER,
        "inference": Key({
            "stage1_depth": Key("int", "BM25 candidates Stage 1 reranks", bounds="[1, )"),
            "rank_end": Key("int", "Stage 2 reorders Stage 1's top rank_end (one passage cannot be reordered)", bounds="[2, )"),
            "window": Key("int", "candidates per window (one passage cannot be reordered; 100: 5 times the paper's 20)",
                          bounds="[2, 100]"),
            "step": Key("int", "window stride (at most the window: a larger step leaves ranks between two windows unread)",
                        bounds="[1, )"),
            "passes": Key("int", "sweeps of the sliding window, each from rank_end up to the top over the last one's order",
                          bounds="[1, )"),
            "max_words": Key("int", "words kept per passage", bounds="[1, )"),
            "max_new_tokens": Key("int", "completion tokens per window", bounds="[1, )"),
            "temperature": Key("number", "sampling temperature (0: greedy)", bounds="[0, )"),
            "top_p": Key("number", "nucleus sampling's top_p when sampling (null: off)", bounds="(0, 1]", required=False, null=True),
            "constrained": Key("bool", "decode under the permutation grammar (transformers)"),
            "batch_size": Key("int", "windows generated together", bounds="[1, )"),
            "backend": Key("str", "the generation backend", choices=("transformers", "vllm")),
            "quantize": Key("str", "generate on the CPU from the merged adapter with int8 dynamic Linear layers (null: float, unmerged)",
                            required=False, null=True, choices=("int8",)),
            "zeroshot_sets": Key("list[str]", "the evaluation sets the zero-shot base reranks (null: all)", required=False, null=True),
        }, "the listwise reranker over Stage 1's output"),
    }, "notebook 04: the listwise adapter and the cascade"),
    "released": Key({
        "student": Key("str", "a released Stage-1 model: hub id or folder", null=True),
        "listwise": Key("str", "a released listwise model: hub id or folder", null=True),
        "reading": Key("str", "how the released checkpoints are read: the authors' released input, prompt, decoding and parser, "
                       "or the kit's own (dearlib.evaluation.released.READING)", required=False, choices=("kit", "released")),
    }, "notebook 08: the authors' checkpoints", required=False),
}

# Keys whose value may not exceed another's in the same section: (section, key, the key it may not exceed, why).
NOT_ABOVE = (
    ("stage2.inference", "step", "window", "a larger step leaves ranks between two windows unread"),
)

# Keys a value of another key makes required: (section, key, value, the keys it needs).
REQUIRED_WHEN = (
    ("retrieval", "dl_first_stage", "prebuilt", ("prebuilt_index",)),
    ("stage1.teacher", "kind", "bi-encoder", ("max_length", "scale")),
    ("stage2_data", "generator", "openai", ("model", "base_url", "api_key_env", "max_concurrency", "max_retries", "temperature")),
    ("stage2_data", "generator", "local", ("model",)),
)

ENV_VAR = re.compile(r"[A-Z_][A-Z0-9_]*")
# API keys and tokens by their published prefixes (OpenAI, Anthropic, Hugging Face, GitHub, Slack, AWS)
SECRET = re.compile(r"(?<![A-Za-z0-9])(sk-|sk_|hf_|ghp_|gho_|github_pat_|xox[abps]-|AKIA)[A-Za-z0-9_\-]{12,}")
_INTERVAL = re.compile(r"([\[(])(-?[0-9.]*), ?(-?[0-9.]*)([\])])")
_YAML11_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+")  # 1e-4: a float to YAML 1.2, a string to PyYAML
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")  # what a setting's name looks like: printed in errors, other keys are not
TYPE_WORDS = {"str": "a string", "int": "an integer", "number": "a number", "bool": "true or false", "list[str]": "a list of strings",
              "path": "a file path (a string)", "env-var": "an environment variable's name (a string)"}


class ConfigError(ValueError):
    """A profile or an override that does not fit the schema; the message names the file, line and key."""


def type_name(value) -> str:
    return {type(None): "null", bool: "true/false", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a section (mapping)"}.get(type(value), type(value).__name__)


def _fits(kind: str, value) -> bool:
    if kind in ("str", "path", "env-var"):
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    raise AssertionError(f"schema type {kind!r}")


def within(bounds: str, value) -> bool:
    """`value` lies in the interval `bounds`: "[a, b]" closed, "(a, b)" open, either end open-ended when empty."""
    m = _INTERVAL.fullmatch(bounds)
    if not m:
        raise AssertionError(f"schema bounds {bounds!r}")
    left, low, high, right = m.groups()
    if low and (value < float(low) or left == "(" and value == float(low)):
        return False
    return not (high and (value > float(high) or right == ")" and value == float(high)))


def line_of(text: str, dotted: str) -> int | None:
    """The 1-based line of the key `dotted` (or of its nearest existing parent) in the YAML `text`."""
    import yaml

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in dotted.split("."):
        if not isinstance(node, yaml.MappingNode):
            break
        hit = next(((k, v) for k, v in node.value if k.value == part), None)
        if hit is None:
            break
        line, node = hit[0].start_mark.line + 1, hit[1]
    return line


def check(cfg, source: str, text: str | None = None, schema: dict = SCHEMA, prefix: str = "") -> None:
    """Raise `ConfigError` at the first key of `cfg` that does not fit `schema`. `source` names the file (or the
    notebook parameter); `text`, the file's YAML, gives the line; `prefix` is the dotted path of `cfg` itself."""

    def fail(path: str, what: str):
        raise ConfigError(f"{source}{_line(text, path)}: {path} {what}")

    if not isinstance(cfg, dict):
        fail(prefix or "the file", f"must be a section (mapping), found {type_name(cfg)}")
    for name, value in cfg.items():
        path = f"{prefix}{name}"
        if name not in schema:
            shown = path if isinstance(name, str) and _NAME.fullmatch(name) else f"{prefix}<a key that is not shown>"
            near = difflib.get_close_matches(str(name), list(schema), n=1)
            hint = f"did you mean {prefix}{near[0]}?" if near else f"the keys here: {', '.join(schema)}"
            raise ConfigError(f"{source}{_line(text, path)}: unknown key {shown}; {hint}")
        _check_value(schema[name], value, path, fail, source, text)
    for name, key in schema.items():
        if key.required and name not in cfg:
            fail(f"{prefix}{name}", f"is missing: {'a required section' if isinstance(key.type, dict) else 'a required key'} ({key.meaning})")
    section = prefix.rstrip(".")
    for where, name, other, why in NOT_ABOVE:
        if where == section and _fits("number", cfg.get(name)) and _fits("number", cfg.get(other)) and cfg[name] > cfg[other]:
            fail(f"{prefix}{name}", f"may not exceed {prefix}{other} ({cfg[other]}): {why}")
    for where, name, value, needs in REQUIRED_WHEN:
        if where == section and cfg.get(name) == value:
            for need in needs:
                if need not in cfg:
                    fail(f"{prefix}{need}", f"is missing: {prefix}{name} {value} needs it ({schema[need].meaning})")


def _line(text: str | None, path: str) -> str:
    line = line_of(text, path) if text else None
    return f", line {line}" if line else ""


def _check_value(key: Key, value, path: str, fail, source: str, text: str | None) -> None:
    if any(isinstance(v, str) and SECRET.search(v) for v in (value if isinstance(value, list) else [value])):  # a key in a URL too
        fail(path, "holds what looks like an API key or token (the value is not shown): keys belong in an environment "
                   "variable, whose name goes in stage2_data.api_key_env")
    if value is None:
        if not key.null:
            fail(path, f"may not be null: expected {'a section' if isinstance(key.type, dict) else TYPE_WORDS[key.type]}")
        return
    if isinstance(key.type, dict):
        check(value, source, text, key.type, f"{path}.")
        return
    if not _fits(key.type, value):
        hint = ""
        if key.type in ("int", "number") and isinstance(value, str) and _YAML11_FLOAT.fullmatch(value):
            hint = " (PyYAML reads 1e-4 as a string: write a dot and a signed exponent, 1.0e-4)"
        fail(path, f"has the wrong type: expected {TYPE_WORDS[key.type]}{' or null' if key.null else ''}, found {type_name(value)}{hint}")
    if key.type == "number" and not math.isfinite(value):
        fail(path, "must be a finite number, not .nan or .inf")
    if key.bounds and not within(key.bounds, value):
        fail(path, f"must lie in {key.bounds} (the value is not shown): {key.meaning}")
    if key.choices and value not in key.choices:
        near = difflib.get_close_matches(value, key.choices, n=1)
        fail(path, f"must be one of {', '.join(key.choices)} (the value is not shown){f'; did you mean {near[0]}?' if near else ''}")
    if key.type == "env-var" and not ENV_VAR.fullmatch(value):
        fail(path, "must name an environment variable: capital letters, digits and underscores, e.g. OPENAI_API_KEY. "
                   "Its value is not one and is not shown, in case it is the key itself: put the key in the variable, "
                   "never in a file")
    if key.type == "path" and not (ROOT / value).is_file():
        fail(path, f"names no file: {value} (a relative path is read from the repository root, {ROOT})")
