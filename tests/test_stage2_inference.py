"""Stage 2's generation settings: the adapter merged and the Linear layers dynamically quantized to int8
(`stage2.inference.quantize`), checked against the unmerged float model, and the cascade started from notebook
02's saved Stage-1 lists (`dearlib.stage2.cascade_eval.reused_stage1`), checked against scoring them again."""
import copy
import json
import re

import pytest
import torch

from dearlib.core import models
from dearlib.core.config import load_config, override
from dearlib.core.schema import ConfigError
from dearlib.core.records import Candidates, Dataset, Passage, Query
from dearlib.retrieval import trec
from dearlib.stage1.rerank import rerank, save_rankings
from dearlib.stage2 import cot, listwise, training as stage2
from dearlib.stage2.cascade_eval import evaluate_cascade, reused_stage1

# ------------------------------------------------------------------------------------------------- int8


@pytest.fixture(scope="module")
def trained():
    """The smoke profile's tiny listwise model (reading b) with an adapter that does something: a fresh adapter's
    B is zero, so it is drawn at random, as training would move it."""
    cfg = load_config("smoke")
    s2 = {**cfg["stage2"], "reading": "separate"}
    tok = models.load_tokenizer(s2["base"])
    lm = stage2.new_listwise(s2, tok, 0)
    torch.manual_seed(1)
    for n, p in lm.named_parameters():
        if "lora_B" in n:
            p.data.normal_(0, 0.5)
    return cfg, s2, tok, lm.eval()


def logits(model, tok, text="[1] passage one [2] passage two: rank them"):
    with torch.inference_mode():
        return model(**tok(text, return_tensors="pt")).logits[0]


def test_the_merged_adapter_computes_what_the_unmerged_one_does(trained):
    _, s2, tok, lm = trained
    unmerged, merged = logits(lm, tok), logits(copy.deepcopy(lm).merge_and_unload(), tok)
    base = logits(stage2.listwise_base(s2, tok, 0), tok)
    assert (unmerged - base).abs().max() > 1.0  # the adapter matters here, so the comparison below can fail
    torch.testing.assert_close(merged, unmerged, atol=1e-4, rtol=1e-4)


def test_int8_backends_quantize_every_linear_and_differ_only_in_the_adapter(trained):
    cfg, s2, tok, lm = trained
    before = logits(lm, tok)
    inference = {**cfg["stage2"]["inference"], "quantize": "int8"}
    backend, zeroshot, how = listwise.listwise_backends(lm, tok, inference, 0)
    assert "int8" in how and "merged" in how
    dynamic = torch.ao.nn.quantized.dynamic.Linear
    for model in (backend.model, zeroshot.model):
        kinds = {type(m) for m in model.modules()}
        assert dynamic in kinds and torch.nn.Linear not in kinds  # lm_head included
        assert not any("lora" in n for n, _ in model.named_modules())  # merged in (dear-l) or left out (zero-shot)
    torch.testing.assert_close(logits(lm, tok), before, atol=0, rtol=0)  # the trained model itself is left as it was
    # the zero-shot model is the base quantized alike, exactly
    clean = listwise.quantize_linear(stage2.listwise_base(s2, tok, 0).eval(), "int8")
    torch.testing.assert_close(logits(zeroshot.model, tok), logits(clean, tok), atol=0, rtol=0)
    # DeAR-L's int8 model is near the float adapter's, far nearer than the base is (int8 rounding, not another model)
    q, base = logits(backend.model, tok), logits(stage2.listwise_base(s2, tok, 0), tok)
    assert (q - before).abs().mean() < 0.2 * (base - before).abs().mean()
    # and it generates: under the grammar every answer is a permutation of its window
    window = cot.Window("a", Query("a", "who won the nobel prize"), [Passage(f"d{i}", f"passage {i} on nobel prizes") for i in range(6)])
    prompts = [cot.messages(window, 20)] * 2
    for b in (backend, zeroshot):
        for text in b.generate(prompts, n_ids=[6, 6]):
            ids = [int(i) for i in re.findall(r"\[(\d+)\]", text.split("</think>")[-1])]
            assert sorted(ids) == list(range(1, 7)), text


def test_int8_backends_of_a_model_just_trained_run_their_own_weights(tmp_path):
    """Notebook 04's path: the adapter trained by `stage2.train`, then `listwise_backends` in the same process. trl
    leaves a forward on the trained model whose closure holds the original module; a deep copy kept calling it, so
    the "zero-shot base" ran the float adapter with its dropout on. Each int8 model must compute its own weights."""
    cfg = load_config("smoke")
    s2 = {**cfg["stage2"], "reading": "separate", "max_steps": 3, "save_steps": 3, "lr": 5e-2, "warmup": 0.0}
    tok = models.load_tokenizer(s2["base"])
    window = cot.Window("a", Query("a", "who won the nobel prize"), [Passage(f"d{i}", f"passage {i} on nobel prizes") for i in range(5)],
                        teacher=[0.1 * i for i in range(5)])
    data = [{"prompt": cot.messages(window, 20), "completion": [{"role": "assistant", "content": cot.TeacherGuidedGenerator().completion(window)}]}] * 4
    trainer = stage2.train(stage2.new_listwise(s2, tok, 0), tok, data, s2, tmp_path / "s2", resume=False)
    lm = trainer.model
    assert not lm.training and not any("forward" in m.__dict__ for m in lm.modules())  # released by `train`
    backend, zeroshot, _ = listwise.listwise_backends(lm, tok, {**cfg["stage2"]["inference"], "quantize": "int8"}, 0)
    clean = listwise.quantize_linear(stage2.listwise_base(s2, tok, 0).eval(), "int8")
    saved = stage2.load_listwise(s2, tmp_path / "s2" / "adapter", tok, 0)  # a fresh process's view of the adapter
    merged = listwise.quantize_linear(saved.merge_and_unload().eval(), "int8")
    assert (logits(merged, tok) - logits(clean, tok)).abs().max() > 0.1  # training moved the adapter: the checks can fail
    torch.testing.assert_close(logits(zeroshot.model, tok), logits(clean, tok), atol=0, rtol=0)
    torch.testing.assert_close(logits(backend.model, tok), logits(merged, tok), atol=0, rtol=0)


def test_a_trainer_patch_left_on_the_model_does_not_follow_its_copies(trained):
    """`listwise_backends` releases its copies itself, for a model trained elsewhere (not through `stage2.train`)."""
    import types

    cfg, s2, tok, lm = trained
    inner = lm.get_base_model()
    original = inner.forward

    def patched(self, *args, **kwargs):  # as trl's fused LM head: the original module's forward in a closure
        return original(*args, **kwargs)

    inner.forward = types.MethodType(patched, inner)
    try:
        _, zeroshot, _ = listwise.listwise_backends(lm, tok, {**cfg["stage2"]["inference"], "quantize": "int8"}, 0)
    finally:
        del inner.forward
    clean = listwise.quantize_linear(stage2.listwise_base(s2, tok, 0).eval(), "int8")
    torch.testing.assert_close(logits(zeroshot.model, tok), logits(clean, tok), atol=0, rtol=0)


def test_quantize_refuses_other_values_and_devices(trained):
    cfg, s2, tok, _ = trained
    base = stage2.listwise_base(s2, tok, 0)
    with pytest.raises(ValueError, match=r"quantize must be null or one of \('int8',\), not 'int4'"):
        listwise.quantize_linear(base, "int4")
    with pytest.raises(ValueError, match="quantizes for the CPU.*the model is on meta"):
        listwise.quantize_linear(base.to("meta"), "int8")
    assert listwise.quantize_linear(base, None) is base
    with pytest.raises(ConfigError, match="quantize"):  # the profile's value is checked before anything runs
        override(copy.deepcopy(cfg), "stage2", {"inference": {"quantize": "int4"}}, source="test")


def test_off_the_cpu_int8_is_skipped_and_said(trained):
    cfg, s2, tok, _ = trained
    on_meta = stage2.new_listwise(s2, tok, 0).to("meta")  # stands for a GPU: a device with no dynamic int8 kernels
    backend, zeroshot, how = listwise.listwise_backends(on_meta, tok, {**cfg["stage2"]["inference"], "quantize": "int8"}, 0)
    assert how.startswith("quantize 'int8' skipped") and "meta" in how
    assert backend.model is on_meta and zeroshot.inner is backend  # unmerged, the adapter switched off for zero-shot


# ------------------------------------------------------------------------------------------------- Stage-1 lists reused

QRELS = {"q1": {"q1-d0": 3, "q1-d2": 1}, "q2": {"q2-d1": 1, "q2-d4": 2}}
INFERENCE = {"stage1_depth": 4, "rank_end": 4, "window": 3, "step": 2, "passes": 1, "max_words": 20}


class ByNumber:
    """A stand-in Stage 1: the higher the passage number, the higher the score; counts its calls."""

    calls = 0

    def score_pairs(self, queries, passages, progress=False):
        ByNumber.calls += 1
        return [float(p.split()[1]) + 0.1 * i for i, p in enumerate(passages)]


def toy(n_passages=6) -> Dataset:
    cands = [Candidates(Query(q, f"question {q}"), tuple(Passage(f"{q}-d{i}", f"passage {i} of {q}") for i in range(n_passages)),
                        tuple(float(n_passages - i) for i in range(n_passages))) for q in QRELS]
    return Dataset("dl19", cands, QRELS, min_rel=1)


@pytest.fixture
def saved(tmp_path):
    """Notebook 02's side: a student folder, its lists of the toy set at depth 4 and its dear-p result file."""
    student = tmp_path / "student"
    student.mkdir()
    (student / "model.safetensors").write_bytes(b"weights of one student")
    ds = toy()
    save_rankings(tmp_path / "rankings", {"dl19": rerank(ByNumber(), ds.candidates, 4, progress=False)}, student, 4)
    (tmp_path / "results" / "toy" / "dl19").mkdir(parents=True)
    (tmp_path / "results" / "toy" / "dl19" / "dear-p.json").write_text(json.dumps({"provenance": {"seconds_per_query": 0.25}}))
    return tmp_path, student, ds


def test_reused_lists_give_what_scoring_again_gives(saved):
    tmp, student, ds = saved
    lists, why = reused_stage1(tmp / "rankings", student, 4, {"dl19": ds}, tmp / "results", "toy")
    assert lists is not None and "notebook 02" in why
    assert [c.passages for c in lists["dl19"][0]] == [c.passages for c in rerank(ByNumber(), ds.candidates, 4, progress=False)]
    systems, cfg = {"stage1": "dear-p", "stage2": "dear-l"}, {"profile": "toy", "seed": 0}
    from dearlib.stage2.window_walk import OracleBackend

    runs = {}
    for label, given in (("scored", None), ("reused", lists)):
        calls = ByNumber.calls
        ev = evaluate_cascade({"dl19": ds}, ByNumber(), OracleBackend(ds.candidates, QRELS, 20), INFERENCE, systems, cfg,
                              tmp / label, {"dear-l": {}, "dear-p": {}}, runs_dir=tmp / label / "runs", progress=False,
                              stage1_lists=given)
        assert (ByNumber.calls > calls) == (given is None)  # reused: Stage 1 is not asked again
        runs[label] = ev
    for system in ("dear-p", "dear-l"):
        assert runs["reused"].per_query[("dl19", system)] == runs["scored"].per_query[("dl19", system)]
        assert trec.read_run(tmp / "reused" / "runs" / f"dl19.{system}.run") == trec.read_run(tmp / "scored" / "runs" / f"dl19.{system}.run")
        a, b = (json.loads((tmp / label / "toy" / "dl19" / f"{system}.json").read_text()) for label in ("reused", "scored"))
        assert a["metrics"] == b["metrics"] and a["per_query"] == b["per_query"]
    # the seconds Stage 1 took are the ones recorded where the lists were scored
    prov = json.loads((tmp / "reused" / "toy" / "dl19" / "dear-l.json").read_text())["provenance"]
    assert prov["stage_seconds_per_query"]["stage1"] == 0.25


def test_lists_of_another_student_depth_or_candidates_are_refused_with_the_reason(saved):
    tmp, student, ds = saved
    other = tmp / "other"
    other.mkdir()
    (other / "model.safetensors").write_bytes(b"weights of another student")
    cases = [(tmp / "rankings", other, 4, {"dl19": ds}, "another student"),
             (tmp / "rankings", student, 5, {"dl19": ds}, "depth 4, not 5"),
             (tmp / "rankings", student, 4, {"dl19": toy(5)}, "not over notebook 01's candidates"),
             (tmp / "rankings", student, 4, {"dl19": ds, "dl20": ds}, "no lists of dl20"),
             (tmp / "nowhere", student, 4, {"dl19": ds}, "no .*rankings.json")]
    for folder, s, depth, sets, reason in cases:
        lists, why = reused_stage1(folder, s, depth, sets, tmp / "results", "toy")
        assert lists is None and re.search(reason, why), why
    (tmp / "results" / "toy" / "dl19" / "dear-p.json").unlink()
    lists, why = reused_stage1(tmp / "rankings", student, 4, {"dl19": ds}, tmp / "results", "toy")
    assert lists is None and "no seconds per query" in why


def test_also_sets_restrict_the_extra_systems(saved):
    tmp, _, ds = saved
    from dearlib.stage2.window_walk import OracleBackend

    sets = {"dl19": ds, "dl20": Dataset("dl20", ds.candidates, QRELS, 1)}
    ev = evaluate_cascade(sets, ByNumber(), OracleBackend(ds.candidates, QRELS, 20), INFERENCE, {"stage1": "dear-p", "stage2": "dear-l"},
                          {"profile": "toy", "seed": 0}, tmp / "r", {}, progress=False,
                          also={"zs": OracleBackend(ds.candidates, QRELS, 20)}, also_sets=["dl20"])
    assert sorted(ev.also_ledgers) == [("dl20", "zs")] and set(ev.table["dataset"][ev.table["system"] == "zs"]) == {"dl20"}
    with pytest.raises(ValueError, match=r"also_sets: \['nq'\] are not among the evaluation sets"):
        evaluate_cascade(sets, ByNumber(), None, INFERENCE, {"stage1": "dear-p"}, {"profile": "toy", "seed": 0}, tmp / "r", {},
                         also_sets=["nq"])
