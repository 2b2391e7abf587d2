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


def test_the_hash_follows_every_value_and_no_comment(monkeypatch, tmp_path):
    shipped = config.config_hash(yaml.safe_load(SMOKE))
    # a comment, a blank line and a different spelling of the same values: the same configuration, the same hash
    same = load_edited(monkeypatch, tmp_path, "seed: 0                      # one seed", "seed: 0x0    # the seed, in hex; one seed")
    assert same == yaml.safe_load(SMOKE) and config.config_hash(same) == shipped
    # any value changed, at the top or three levels down: results computed under the old one are marked
    hashes = {shipped}
    for old, new in (("seed: 0 ", "seed: 1 "), ("    window: 6 ", "    window: 5 "), ("bm25: {k1: 0.9,", "bm25: {k1: 0.91,")):
        cfg = load_edited(monkeypatch, tmp_path, old, new)
        assert cfg != yaml.safe_load(SMOKE)
        hashes.add(config.config_hash(cfg))
    assert len(hashes) == 4


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


# ------------------------------------------------------------------------------------------------- ranges, YAML


@pytest.mark.parametrize("old, new, match", [
    ("  depth: 20 ", "  depth: 0 ", r"retrieval.depth must lie in \[1, \) .*0 would keep every candidate"),
    ("  depth: 20 ", "  depth: -5 ", r"retrieval.depth must lie in \[1, \)"),
    ("  n_queries: 4 ", "  n_queries: 0 ", r"retrieval.n_queries must lie in \[1, \) .*0 would keep every query"),
    ("  n_queries: 4 ", "  n_queries: -1 ", r"retrieval.n_queries must lie in \[1, \)"),
    ("    window: 6 ", "    window: 600 ", r"stage2.inference.window must lie in \[2, 100\]"),
    ("    window: 6 ", "    window: 1 ", r"stage2.inference.window must lie in \[2, 100\]"),
    ("    step: 3 ", "    step: -2 ", r"stage2.inference.step must lie in \[1, \)"),
    ("    step: 3 ", "    step: 7 ", r"stage2.inference.step may not exceed stage2.inference.window \(6\): a larger step leaves ranks"),
    ("    rank_end: 10 ", "    rank_end: 1 ", r"stage2.inference.rank_end must lie in \[2, \)"),
    ("  max_length: 1024 ", "  max_length: 1000000000000 ", r"stage2.max_length must lie in \[1, 131072\]"),
    ("  alpha: 0.1 ", "  alpha: 1.5 ", r"stage1.alpha must lie in \[0, 1\] .*\(1 - alpha\) main \+ alpha KL"),
    ("  group_size: 4 ", "  group_size: 1 ", r"stage1.group_size must lie in \[2, \)"),
    ("seed: 0 ", "seed: -1 ", r"seed must lie in \[0, 4294967295\]"),
    ("    temperature: 0.0 ", "    temperature: -0.5 ", r"stage2.inference.temperature must lie in \[0, \)"),
    ("  warmup: 0.0 ", "  warmup: 1.0 ", r"stage2.warmup must lie in \[0, 1\)"),
    ("bm25: {k1: 0.9, b: 0.4}", "bm25: {k1: 0.9, b: 1.5}", r"retrieval.bm25.b must lie in \[0, 1\]"),
    ("lora: {r: 8, alpha: 16, dropout: 0.0", "lora: {r: 8, alpha: 16, dropout: 1.0", r"stage2.lora.dropout must lie in \[0, 1\)"),
    ("  heldout: 4 ", "  heldout: -4 ", r"stage2.heldout must lie in \[0, \)"),
    ("  window_size: 10 ", "  window_size: 600 ", r"stage2_data.window_size must lie in \[2, 100\]"),
])
def test_a_value_outside_its_range_names_the_key_and_file(monkeypatch, tmp_path, old, new, match):
    msg = refused(monkeypatch, tmp_path, old, new, match)
    line = next(n for n, l in enumerate(SMOKE.splitlines(), 1) if old in l)
    assert f"line {line}:" in msg


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "0", "1.5"])
def test_a_learning_rate_must_be_a_finite_rate(monkeypatch, tmp_path, value):
    (tmp_path / "smoke.yaml").write_text(SMOKE.replace("  lr: 1.0e-3                 # learning rate\n  scheduler", f"  lr: {value}\n  scheduler"))
    monkeypatch.setenv("DEAR_CONFIG_DIR", str(tmp_path))
    with pytest.raises(schema.ConfigError, match=r"smoke.yaml, line \d+: stage2.lr must (be a finite number|lie in \(0, 1\))"):
        config.load_config("smoke")


def test_an_exponent_pyyaml_reads_as_a_string_gets_a_hint(monkeypatch, tmp_path):
    msg = refused(monkeypatch, tmp_path, "  max_length: 1024 ", "  max_length: 1e12 ",
                  r"stage2.max_length has the wrong type: expected an integer, found a string \(PyYAML reads 1e-4 as a string")
    assert "1e12" not in msg  # the value is never printed


@pytest.mark.parametrize("old, new, first, second, key", [
    ("  lr: 1.0e-3                 # learning rate\n  loss:", "  lr: 1.0e-3\n  lr: 5.0e-3\n  loss:", 35, 36, "lr"),
    ("seed: 0 ", "seed: 0\nseed: 1 ", 4, 5, "seed"),
    ("    window: 6 ", "    window: 6\n    window: 8 ", 72, 73, "window"),
    ("bm25: {k1: 0.9, b: 0.4}", "bm25: {k1: 0.9, b: 0.4, k1: 1.2}", 12, 12, "k1"),  # in a flow mapping
])
def test_a_key_given_twice_is_refused_naming_it_and_both_lines(monkeypatch, tmp_path, old, new, first, second, key):
    refused(monkeypatch, tmp_path, old, new,
            rf"smoke.yaml, line {second}, column \d+: not valid YAML: {key} is given twice \(first on line {first}\): one value would silently win")


@pytest.mark.parametrize("old, new, line", [
    ("  depth: 20 ", "  depth: [20 ", 10),            # an unclosed list: the parser notices on the next line
    ("  depth: 20 ", "   depth: 20 ", 9),             # an indentation that fits no mapping
    ("  depth: 20 ", "\tdepth: 20 ", 9),              # a tab
    ("seed: 0 ", "seed: 0 \n  : x ", 5),
])
def test_a_yaml_syntax_error_names_the_file_and_line_not_a_traceback(monkeypatch, tmp_path, old, new, line):
    msg = refused(monkeypatch, tmp_path, old, new, rf"smoke.yaml, line {line}, column \d+: not valid YAML: ")
    assert "Traceback" not in msg and "<unicode string>" not in msg


def test_every_number_in_the_schema_has_a_range_and_every_range_parses():
    def keys(section, prefix=""):
        for name, key in section.items():
            yield from keys(key.type, f"{prefix}{name}.") if isinstance(key.type, dict) else [(f"{prefix}{name}", key)]
    numbers = [(path, key) for path, key in keys(schema.SCHEMA) if key.type in ("int", "number")]
    assert len(numbers) > 50 and [path for path, key in numbers if not key.bounds] == []
    for path, key in numbers:
        schema.within(key.bounds, 0)  # raises on a malformed interval
    assert [schema.within("(0, 1)", v) for v in (0, 1e-9, 0.5, 1)] == [False, True, True, False]
    assert [schema.within("[2, 100]", v) for v in (1, 2, 100, 101)] == [False, True, True, False]
    assert [schema.within("[0, )", v) for v in (-1, 0, 10 ** 12)] == [False, True, True]


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


def test_an_override_is_range_checked_against_the_merged_section():
    cfg = config.load_config("smoke")
    with pytest.raises(schema.ConfigError, match=r"stage2_overrides \(over stage2 of profile smoke\): "
                                                 r"stage2.inference.step may not exceed stage2.inference.window \(6\)"):
        config.override(cfg, "stage2", {"inference": {"step": 9}}, "stage2_overrides")
    with pytest.raises(schema.ConfigError, match=r"stage2.inference.step may not exceed stage2.inference.window \(2\)"):
        config.override(cfg, "stage2", {"inference": {"window": 2}}, "stage2_overrides")  # the step (3) fitted the old window
    assert cfg["stage2"]["inference"]["window"] == 6 and cfg["stage2"]["inference"]["step"] == 3
