"""The profiles' schema: bad profiles and overrides stop before any work, naming the file, line and key; secrets are
refused without being printed; path settings resolve against the repository root from any working directory."""
import json
import re

import pytest
import yaml

from conftest import ROOT
from dearlib.core import config, schema

SMOKE = (ROOT / "configs" / "smoke.yaml").read_text()
KEY = "sk-proj-Zq81distinctive0KEY4tests"


def load_edited(monkeypatch, tmp_path, old, new, count=1):
    """configs/smoke.yaml with `old` replaced by `new`, loaded from a folder of its own (DEAR_CONFIG_DIR)."""
    assert SMOKE.count(old) == count, old
    (tmp_path / "smoke.yaml").write_text(SMOKE.replace(old, new))
    monkeypatch.setenv("DEAR_CONFIG_DIR", str(tmp_path))
    return config.load_config("smoke")


def refused(monkeypatch, tmp_path, old, new, match):
    with pytest.raises(schema.ConfigError, match=match) as e:
        load_edited(monkeypatch, tmp_path, old, new)
    assert str(tmp_path / "smoke.yaml") in str(e.value)
    return str(e.value)


@pytest.mark.parametrize("profile", config.PROFILES)
def test_shipped_profiles_fit_the_schema(profile):
    text = (ROOT / "configs" / f"{profile}.yaml").read_text()
    schema.check(yaml.safe_load(text), profile, text)  # raises on any misfit


def test_an_unchanged_copy_loads_and_hashes_as_the_shipped_one(monkeypatch, tmp_path):
    assert config.config_hash(load_edited(monkeypatch, tmp_path, "seed: 0", "seed: 0")) == config.config_hash(
        yaml.safe_load(SMOKE))


def test_a_typo_names_file_line_path_and_the_nearest_key(monkeypatch, tmp_path):
    msg = refused(monkeypatch, tmp_path, "  max_steps: 6 ", "  max_step: 6 ", "unknown key stage1.max_step; did you mean stage1.max_steps")
    line = next(n for n, l in enumerate(SMOKE.splitlines(), 1) if l.startswith("  max_steps: 6 "))
    assert f"line {line}:" in msg


def test_an_unknown_top_level_section(monkeypatch, tmp_path):
    refused(monkeypatch, tmp_path, "seed: 0", "seed: 0\nstage_data: {}", "unknown key stage_data; did you mean stage2_data")


def test_a_wrong_type_names_expected_and_found(monkeypatch, tmp_path):
    refused(monkeypatch, tmp_path, "  batch_size: 4              # groups per step", "  batch_size: four  # groups per step",
            "stage1.batch_size has the wrong type: expected an integer, found a string")
    refused(monkeypatch, tmp_path, "    constrained: true ", "    constrained: 1 ",
            "stage2.inference.constrained has the wrong type: expected true or false, found an integer")


def test_a_null_where_none_is_allowed(monkeypatch, tmp_path):
    refused(monkeypatch, tmp_path, "  depth: 20 ", "  depth: null ", "retrieval.depth may not be null")


def test_a_missing_section_and_a_missing_key(monkeypatch, tmp_path):
    start, end = SMOKE.index("\nstage2:"), SMOKE.index("\nreleased:")
    (tmp_path / "smoke.yaml").write_text(SMOKE[:start] + SMOKE[end:])
    monkeypatch.setenv("DEAR_CONFIG_DIR", str(tmp_path))
    with pytest.raises(schema.ConfigError, match=r"smoke.yaml: stage2 is missing: a required section"):
        config.load_config("smoke")
    refused(monkeypatch, tmp_path, "    window: 6 ", "", "stage2.inference.window is missing: a required key")


def test_a_value_outside_its_choices_suggests_one_without_echoing_it(monkeypatch, tmp_path):
    msg = refused(monkeypatch, tmp_path, "generator: teacher-guided", "generator: opneai", "stage2_data.generator must be one of")
    assert "did you mean openai" in msg and "opneai" not in msg


def test_the_openai_generator_needs_its_settings(monkeypatch, tmp_path):
    refused(monkeypatch, tmp_path, "generator: teacher-guided", "generator: openai\n  model: gpt-4o",
            "stage2_data.base_url is missing: stage2_data.generator openai needs it")


@pytest.mark.parametrize("value", [KEY, "a8Fq0ZlLx93hfPq02nmvB7", "my-key-is-here"])
def test_api_key_env_holding_a_key_is_refused_without_printing_it(monkeypatch, tmp_path, value):
    msg = refused(monkeypatch, tmp_path, "generator: teacher-guided", f"generator: teacher-guided\n  api_key_env: {value}",
                  "stage2_data.api_key_env")
    assert value not in msg and "not shown" in msg


def test_a_key_anywhere_else_is_refused_without_printing_it(monkeypatch, tmp_path):
    url = f"https://llm.example/v1?api-key={KEY}"
    msg = refused(monkeypatch, tmp_path, "  base: tiny-llama ", f"  base: '{url}' ", "stage2.base holds what looks like an API key")
    assert KEY not in msg and "llm.example" not in msg


def test_a_path_setting_must_name_a_file(monkeypatch, tmp_path):
    refused(monkeypatch, tmp_path, "  score_batch_size: 16 ", "  score_batch_size: 16\n  deepspeed: configs/nothing.json",
            "stage1.deepspeed names no file: configs/nothing.json")


# ------------------------------------------------------------------------------------------------- overrides


def test_override_checks_like_the_file_and_changes_nothing_on_error():
    cfg = config.load_config("smoke")
    before = json.dumps(cfg, sort_keys=True)
    # what `papermill -y` parses, as YAML, into the notebook parameter sft_overrides
    for given, match in (("{epoch: 2}", r"sft_overrides \(over stage2 of profile smoke\): unknown key stage2.epoch; did you mean stage2.epochs"),
                         ("{epochs: two}", "stage2.epochs has the wrong type: expected a number, found a string"),
                         ("{inference: {windw: 4}}", "unknown key stage2.inference.windw; did you mean stage2.inference.window"),
                         ("{lora: null}", "stage2.lora may not be null"),
                         ("[epochs, 2]", "sft_overrides: must be a mapping of stage2 settings, found a list")):
        with pytest.raises(schema.ConfigError, match=match):
            config.override(cfg, "stage2", yaml.safe_load(given), source="sft_overrides")
    assert json.dumps(cfg, sort_keys=True) == before


def test_override_merges_a_nested_section():
    cfg = config.override(config.load_config("smoke"), "stage2", {"epochs": 2, "inference": {"window": 4}}, source="sft_overrides")
    assert cfg["stage2"]["epochs"] == 2 and cfg["stage2"]["inference"]["window"] == 4
    assert cfg["stage2"]["inference"]["step"] == 3  # the rest of the section kept


# ------------------------------------------------------------------------------------------------- the paper profile's paths


def test_paper_training_arguments_from_the_notebooks_folder_load_in_deepspeed(monkeypatch, tmp_path):
    """run_all.sh runs papermill with --cwd notebooks: the DeepSpeed file must still be found, and its "auto" values
    are the ones transformers fills from the training arguments (a fixed value that differs stops the Trainer)."""
    import torch

    from dearlib.stage1 import training as stage1

    monkeypatch.chdir(ROOT / "notebooks")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the GPU arguments, built on this machine
    cfg = config.load_config("paper")
    built = {name: stage1.training_arguments(cfg[name], tmp_path / name, 0, None) for name in ("stage1", "stage2")}
    for name, args in built.items():
        path = args["deepspeed"]
        assert path == str(ROOT / "configs" / "deepspeed_zero3.json"), name
        ds = json.loads(open(path).read())  # opened relative to notebooks/: works only because the path is absolute
        assert ds["zero_optimization"]["stage"] == 3 and ds["bf16"] == {"enabled": "auto"}
        assert all(ds[k] == "auto" for k in ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "train_batch_size", "gradient_clipping"))
        assert args["bf16"] is True and args["gradient_accumulation_steps"] == cfg[name]["gradient_accumulation"]
    monkeypatch.undo()
    pytest.importorskip("deepspeed", reason="deepspeed is not installed here (a GPU extra: requirements-paper.txt); "
                                            "the path and the JSON were checked above")
    from transformers import TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    for name, args in built.items():
        ds = HfTrainerDeepSpeedConfig(args["deepspeed"])
        # the CPU here cannot take bf16 or a DeepSpeed launch: the same batch settings without them
        ta = TrainingArguments(**{**args, "deepspeed": None, "bf16": False, "gradient_checkpointing": False, "use_cpu": True})
        ds.trainer_config_process(ta)
        assert ds.is_zero3() and ds.config["train_micro_batch_size_per_gpu"] == cfg[name]["batch_size"]
        assert ds.config["gradient_accumulation_steps"] == cfg[name]["gradient_accumulation"]
        assert ds.config["train_batch_size"] == ta.world_size * cfg[name]["batch_size"] * cfg[name]["gradient_accumulation"]


def test_the_paper_profiles_gpu_extras_are_pinned_apart():
    pins = dict(l.split("==") for l in (ROOT / "requirements-paper.txt").read_text().splitlines() if l and not l.startswith("#"))
    assert set(pins) == {"deepspeed", "vllm"} and all(re.fullmatch(r"\d+(\.\d+)+", v) for v in pins.values())
    paper = config.load_config("paper")  # what needs them
    assert paper["stage1"]["deepspeed"] and paper["stage2"]["deepspeed"] and paper["stage2"]["inference"]["backend"] == "vllm"
    base = (ROOT / "requirements.txt").read_text()
    assert "vllm" not in base  # the CPU kit never installs vLLM (deepspeed it does: pure Python, for the config test)
