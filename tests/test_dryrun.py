"""The paper-profile dry run: parameter counts of the empty models against arithmetic on their config.json."""
import json

import pytest

from dearlib.core import dryrun


def arithmetic(arch: str, head: str, r: int | None) -> tuple[int, int]:
    """(trainable, total) from the config alone: embeddings, per-layer attention and MLP, norms, head, LoRA."""
    c = json.loads((dryrun.ARCH_DIR / f"{arch}.json").read_text())
    h, i, L, v = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"], c["vocab_size"]
    head_dim = c.get("head_dim", h // c["num_attention_heads"])
    q_out, kv_out = c["num_attention_heads"] * head_dim, c["num_key_value_heads"] * head_dim
    layer = h * q_out + 2 * h * kv_out + q_out * h + 3 * h * i + 2 * h
    base = v * h + L * layer + h
    if head == "seq-cls":
        head_params = h  # one output, no bias
    else:
        head_params = 0 if c["tie_word_embeddings"] else v * h
    lora = 0
    if r:
        shapes = {"q_proj": (h, q_out), "v_proj": (h, kv_out), "o_proj": (q_out, h), "gate_proj": (h, i),
                  "up_proj": (h, i), "down_proj": (i, h)}
        lora = L * sum(r * (a + b) for a, b in shapes.values())
    trainable = lora + (head_params if r and head == "seq-cls" else 0)  # peft trains the classification head too
    return trainable, base + head_params + lora


@pytest.fixture(scope="module")
def runs():
    return {d.name: d for d in dryrun.dry_run()}


@pytest.mark.parametrize("name", list(dryrun.PAPER_MODELS))
def test_counts_match_the_config_arithmetic(runs, name):
    arch, head, r = dryrun.PAPER_MODELS[name]
    assert (runs[name].trainable, runs[name].total) == arithmetic(arch, head, r)


def test_known_sizes(runs):
    # Published sizes: Llama-2-13B 13.0B (with its LM head), Llama-3.1-8B 8.03B, Llama-3.2-3B 3.21B.
    assert runs["teacher RankLLaMA-13B (frozen)"].total + 32000 * 5120 - 5120 == 13_015_864_320
    assert runs["listwise Llama-3.1-8B-Instruct + LoRA r16"].total - runs["listwise Llama-3.1-8B-Instruct + LoRA r16"].trainable == 8_030_261_248
    assert runs["teacher RankLLaMA-13B (frozen)"].trainable == 0


def test_memory_estimate_grows_with_batch_and_shrinks_with_gpus():
    cfg = dryrun.load_config("llama-3.1-8b")
    one = dryrun.memory_per_device(10**6, 8 * 10**9, cfg, n_gpus=1, batch=2, seq_len=232)
    assert dryrun.memory_per_device(10**6, 8 * 10**9, cfg, n_gpus=4, batch=2, seq_len=232) < one
    assert dryrun.memory_per_device(10**6, 8 * 10**9, cfg, n_gpus=1, batch=4, seq_len=232) > one
    assert one == pytest.approx((2 * 8e9 + 16e6 + 34 * 232 * 2 * 4096 * 32) / 2**30)


def test_hub_model_offline_gives_one_clear_message(monkeypatch, tmp_path):
    from dearlib.core import models
    from dearlib.core.offline import OfflineError

    monkeypatch.setenv("DEAR_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty hub cache
    with pytest.raises(OfflineError, match=r"meta-llama/Llama-3.1-8B.*network access.*Hugging Face token.*disk"):
        models.load_tokenizer("meta-llama/Llama-3.1-8B")
