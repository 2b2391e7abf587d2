"""What notebook 03 takes from dearlib.stage2.cot besides the generators themselves: the choice of generator from a
profile's stage2_data section, and the hand-written example in the paper's reasoning format."""
import re

import pytest

from dearlib.core.config import load_config
from dearlib.core.records import Passage, Query
from dearlib.retrieval import data
from dearlib.stage2 import cot
from dearlib.stage2.permutation import Parsed, parse


def test_every_profile_names_a_generator_the_choice_knows():
    for profile in ("smoke", "mini", "paper"):
        assert load_config(profile)["stage2_data"]["generator"] in cot.GENERATORS


def test_teacher_guided_from_config():
    assert isinstance(cot.generator_from_config(load_config("mini")["stage2_data"], 0, "unused"), cot.TeacherGuidedGenerator)


def test_an_unknown_generator_names_the_file_the_key_and_the_choices():
    D = dict(load_config("smoke")["stage2_data"], generator="gpt4")
    with pytest.raises(ValueError) as e:
        cot.generator_from_config(D, 0, "unused", source="configs/smoke.yaml")
    assert str(e.value) == ("configs/smoke.yaml: stage2_data.generator is 'gpt4'; "
                            "choose one of teacher-guided, openai, local")


def test_openai_without_a_model_or_a_key_fails_before_any_request(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="stage2_data.generator 'openai' needs stage2_data.model"):
        cot.generator_from_config({"generator": "openai", "max_words": 300}, 0, tmp_path)
    monkeypatch.delenv("KIT_TEST_KEY", raising=False)
    with pytest.raises(cot.MissingAPIKey, match="KIT_TEST_KEY"):
        cot.generator_from_config({"generator": "openai", "model": "m", "api_key_env": "KIT_TEST_KEY", "max_words": 300},
                                  0, tmp_path)


def test_openai_takes_the_configs_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("KIT_TEST_KEY", "sk-not-used")
    D = dict(load_config("paper")["stage2_data"], api_key_env="KIT_TEST_KEY", base_url="http://127.0.0.1:9/v1")
    g = cot.generator_from_config(D, 0, tmp_path)  # builds the client; sends nothing
    assert isinstance(g, cot.OpenAIChatGenerator) and g.name == "openai:gpt-4o" and g.synthetic is False
    assert g.cache_path == tmp_path / "completions.jsonl"
    assert (g.max_concurrency, g.max_words, g.temperature) == (8, 300, 0.0)  # configs/paper.yaml
    assert str(g.client.base_url).startswith("http://127.0.0.1:9/v1") and g.client.max_retries == 6


def test_local_builds_a_chat_model_whose_output_validation_reads():
    D = {"generator": "local", "model": "tiny-llama", "max_new_tokens": 6, "batch_size": 1, "max_words": 10}
    g = cot.generator_from_config(D, 0, "unused")
    assert isinstance(g, cot.LocalGenerator) and g.name == "local:tiny-llama"
    assert g.backend.max_new_tokens == 6 and g.backend.batch_size == 1
    w = cot.Window("w", Query("q", "who won"), [Passage(f"d{i}", f"text {i} " + "word " * 20) for i in range(3)])
    [text] = g.generate([w])
    # what the built model writes, derived here with transformers alone: greedy, 6 new tokens, the window's chat
    # prompt with max_words 10 (so the generator passed the profile's settings and the window's own prompt)
    import torch

    tok, lm = g.backend.tok, g.backend.model
    ids = tok.apply_chat_template(cot.messages(w, 10), add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        out = lm.generate(**ids.to(lm.device), max_new_tokens=6, do_sample=False, pad_token_id=tok.eos_token_id)
    assert out.shape[1] - ids["input_ids"].shape[1] == 6  # a random model never stops early: six tokens
    assert text == tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    # and validation reads it: a random model's six tokens name no identifier, so the outcome is "wrong format", the
    # window kept in input order, nothing found (had it named one, the ledger test in test_cot.py covers the rest)
    assert not re.search(r"\[\d+\]", text), text
    assert parse(text, 3) == Parsed([0, 1, 2], "wrong format", 0)


def test_the_hand_written_example_is_a_valid_ranking_with_the_three_steps():
    ex = cot.HAND_WRITTEN
    p = parse(ex.completion, len(ex.docids))
    assert p.ok and sorted(p.order) == list(range(10)) and p.found == 10
    think, answer = cot.split_think(ex.completion)
    assert answer.startswith("[1] > [2] > [3] > [4] > [7]")
    assert [line[:4] for line in think.splitlines()] == ["(1) ", "(2) ", "(3) "]
    assert len(ex.passages) == len(ex.docids) == len(set(ex.docids))


def test_the_hand_written_example_is_over_a_real_window(data_dir):
    """Its question is NQ's, and every piece of each shortened passage is in the full passage of that id."""
    examples, pool = data.load_nq(data_dir)
    assert next(e for e in examples if e.query.qid == cot.HAND_WRITTEN.qid).query.text == cot.HAND_WRITTEN.query
    w = cot.hand_written_window(pool)
    assert w.query.text == cot.HAND_WRITTEN.query and [p.docid for p in w.passages] == list(cot.HAND_WRITTEN.docids)
    for full, short in zip(w.passages, cot.HAND_WRITTEN.passages):
        for piece in filter(None, (s.strip() for s in short.split("..."))):
            assert piece in full.contents, (full.docid, piece)
    with pytest.raises(KeyError, match="nq-2254"):
        cot.hand_written_window({k: v for k, v in pool.items() if k != "nq-2254"})
