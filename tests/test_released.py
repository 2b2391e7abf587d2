"""Released checkpoints: a full model and a LoRA adapter (naming its base) load from folders exactly as saved, and
a hub id offline stops with one message. The tiny models stand in for the authors' 8B ones."""
import pytest
import torch
from peft import LoraConfig, TaskType, get_peft_model
from transformers import LlamaForSequenceClassification

from dearlib.core import models
from dearlib.core.offline import OfflineError
from dearlib.evaluation import released


@pytest.fixture(scope="module")
def tok():
    return models.load_tokenizer("tiny-llama")


def scores(model, tok):
    batch = tok(["query: flea life cycle document: fleas live a year", "query: x document: y"], return_tensors="pt", padding=True)
    with torch.inference_mode():
        return model.eval()(**batch).logits.squeeze(-1)


def tiny(tok):
    torch.manual_seed(0)
    cfg = models.tiny_llama_config(len(tok))
    cfg.num_labels, cfg.pad_token_id = 1, tok.pad_token_id
    return LlamaForSequenceClassification(cfg)


def test_full_checkpoint(tok, tmp_path):
    model = tiny(tok)
    model.save_pretrained(tmp_path / "full")
    tok.save_pretrained(tmp_path / "full")
    loaded, ltok = released.load_student(str(tmp_path / "full"))
    assert torch.allclose(scores(loaded, ltok), scores(model, tok))


def test_adapter_checkpoint_is_merged_into_its_base(tok, tmp_path):
    base = tiny(tok)
    base.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    peft = get_peft_model(tiny(tok), LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    for n, p in peft.named_parameters():
        if "lora_B" in n:
            torch.nn.init.normal_(p, std=0.5)  # a trained adapter changes the scores
    peft.peft_config["default"].base_model_name_or_path = str(tmp_path / "base")
    peft.save_pretrained(tmp_path / "adapter")
    loaded, ltok = released.load_student(str(tmp_path / "adapter"))
    assert not torch.allclose(scores(loaded, ltok), scores(base, tok))
    assert torch.allclose(scores(loaded, ltok), scores(peft, tok), atol=1e-5)


def test_hub_checkpoint_offline(monkeypatch):
    monkeypatch.setenv("DEAR_OFFLINE", "1")
    with pytest.raises(OfflineError, match="dear-8b-reranker-ce-v1.*cannot be reached.*Hugging Face token"):
        released.load_student(released.STUDENTS[0])


def test_the_released_reading_gives_the_released_loaders_pad_id(tok, tmp_path):
    """pointwise_reranker/modeling.py:138-139: a config without a pad id gets 0, so the head reads the last position of
    the fixed-length row; a config that names one keeps it. The kit's reading sets the tokenizer's pad instead."""
    torch.manual_seed(0)
    cfg = models.tiny_llama_config(len(tok))
    cfg.num_labels, cfg.pad_token_id = 1, None
    LlamaForSequenceClassification(cfg).save_pretrained(tmp_path / "nopad")
    tok.save_pretrained(tmp_path / "nopad")
    assert released.load_student(str(tmp_path / "nopad"), reading="released")[0].config.pad_token_id == 0
    assert released.load_student(str(tmp_path / "nopad"), reading="kit")[0].config.pad_token_id == tok.pad_token_id != 0
    tiny(tok).save_pretrained(tmp_path / "pad")
    tok.save_pretrained(tmp_path / "pad")
    assert released.load_student(str(tmp_path / "pad"), reading="released")[0].config.pad_token_id == tok.pad_token_id
    with pytest.raises(ValueError, match="released.reading must be one of kit, released"):
        released.load_student(str(tmp_path / "pad"), reading="paper")


def test_tiny_llama_stands_in_for_released_checkpoints():
    """The smoke profile's stand-ins: a random sequence classifier with the released pad id, and a causal LM."""
    student, stok = released.load_student("tiny-llama", reading="released")
    lm, ltok = released.load_listwise("tiny-llama")
    assert student.config.num_labels == 1 and student.config.pad_token_id == 0
    assert lm.config.vocab_size == len(ltok) and ltok.chat_template
