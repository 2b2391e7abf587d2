"""Stage 2: the sliding window, prompt fitting, the listwise reranker's handling of bad answers, SFT on the answer
tokens only, both readings of the second adapter, resume, and the distributed entry point."""
import json
import os
import re
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, training_callbacks
from dearlib.core import models
from dearlib.core.config import load_config
from dearlib.core.records import Candidates, Passage, Query
from dearlib.stage1 import training as stage1
from dearlib.stage2 import cot, listwise, training as stage2
from dearlib.stage2.listwise import ListwiseReranker, sliding_windows
from dearlib.stage2.permutation import ranking_text

# ------------------------------------------------------------------------------------------------- sliding window


@pytest.mark.parametrize("n, window, step, rank_end, expected", [
    (30, 20, 10, 30, [(10, 30), (0, 20)]),            # the released code's setting: two windows, bottom up
    (100, 20, 10, 30, [(10, 30), (0, 20)]),           # only ranks 1-30 of a deeper list
    (25, 20, 10, 25, [(5, 25), (0, 15)]),             # uneven: the last window is pinned to the top
    (10, 20, 10, 30, [(0, 10)]),                      # fewer candidates than one window
    (10, 6, 3, 10, [(4, 10), (1, 7), (0, 4)]),        # the smoke profile's: the last window, pinned, is shorter
    (40, 20, 20, 40, [(20, 40), (0, 20)]),            # step = window: disjoint windows
    (1, 20, 10, 30, []),                              # nothing to reorder
])
def test_sliding_windows_by_hand(n, window, step, rank_end, expected):
    assert sliding_windows(n, window, step, 0, rank_end) == expected


@pytest.mark.parametrize("n", range(2, 40))
@pytest.mark.parametrize("window, step", [(20, 10), (10, 5), (7, 3), (5, 5), (4, 1)])
def test_sliding_windows_cover_the_range_bottom_up(n, window, step):
    wins = sliding_windows(n, window, step, 0, 30)
    end = min(n, 30)
    assert wins[0][1] == end and wins[-1][0] == 0  # starts at the bottom, ends at the top
    assert set().union(*(range(s, e) for s, e in wins)) == set(range(end))
    assert all(e - s == min(window, end) or s == 0 for s, e in wins)
    assert all(b[1] == max(a[1] - step, 2) for a, b in zip(wins, wins[1:]))  # the top window holds at least two


def test_sliding_windows_reject_bad_settings():
    with pytest.raises(ValueError, match="window must be at least 2"):
        sliding_windows(10, 1, 1)
    with pytest.raises(ValueError, match="step at least 1"):
        sliding_windows(10, 5, 0)


# ------------------------------------------------------------------------------------------------- the reranker


def cands(qid: str, n: int, words: int = 5) -> Candidates:
    ps = tuple(Passage(f"{qid}-d{i}", " ".join([f"w{i}"] * words)) for i in range(n))
    return Candidates(Query(qid, f"query {qid}"), ps, tuple(float(n - i) for i in range(n)))


class ScriptedBackend:
    """A listwise 'model' for tests: answers by a rule over the passages it is shown, and records its batches."""

    def __init__(self, answer, context=100_000):
        self.answer, self.context, self.batches, self.max_new_tokens = answer, context, [], 0

    def count(self, messages):  # whitespace tokens stand in for a tokenizer
        return sum(len(m["content"].split()) for m in messages)

    def generate(self, prompts, n_ids=None):
        assert n_ids == [len(shown(p[-1]["content"])) for p in prompts]  # the reranker tells each window's size
        self.batches.append(len(prompts))
        return [self.answer(p[-1]["content"]) for p in prompts]


def shown(prompt: str) -> list[int]:
    """The passage numbers w<i> shown in a prompt, in the prompt's order."""
    return [int(line.split()[1][1:]) for line in prompt.splitlines() if line.startswith("[") and "] w" in line]


def oracle(prompt: str) -> str:
    """Ranks by the true relevance of these tests: the higher the passage number, the more relevant."""
    ids = shown(prompt)
    return "<think>by number</think>\n" + ranking_text(sorted(range(len(ids)), key=lambda i: -ids[i]))


def test_sliding_window_lifts_the_bottom_passage_to_the_top_and_batches_queries():
    backend = ScriptedBackend(oracle)
    rr = ListwiseReranker(backend, window=4, step=2, rank_end=8)
    out = rr.rerank([cands("a", 10), cands("b", 6)], progress=False)
    # by hand: windows (4,8) -> 0 1 2 3 7 6 5 4, (2,6) -> 0 1 7 6 3 2 5 4, (0,4) -> 7 6 1 0 3 2 5 4: one pass carries
    # the best of ranks 0-7 (d7) to the top, without sorting the rest; below rank_end nothing moves
    assert [p.docid for p in out[0].passages] == [f"a-d{i}" for i in (7, 6, 1, 0, 3, 2, 5, 4, 8, 9)]
    assert [p.docid for p in out[1].passages] == [f"b-d{i}" for i in (5, 4, 1, 0, 3, 2)]
    assert backend.batches == [2, 2, 1]  # the k-th window of every query together (b has (2,6) and (0,4) only)
    assert rr.ledger["ok"] == 5 and rr.ledger.rate() == 1.0


@pytest.mark.parametrize("answer, outcome, order", [
    ("", "wrong format", [0, 1, 2, 3]),
    ("I think the first passage is the most relevant one.", "wrong format", [0, 1, 2, 3]),
    ("[3] > [3] > [3] > [3]", "repetition", [2, 0, 1, 3]),
    ("[2] > [9] > [1]", "out of range", [1, 0, 2, 3]),
    ("<think>[4] looks good, then", "wrong format", [0, 1, 2, 3]),  # cut off inside the reasoning
])
def test_bad_answers_never_crash_and_are_counted(answer, outcome, order):
    rr = ListwiseReranker(ScriptedBackend(lambda p: answer), window=4, step=2, rank_end=4)
    [out] = rr.rerank([cands("q", 6)], progress=False)
    assert [p.docid for p in out.passages] == [f"q-d{i}" for i in order] + ["q-d4", "q-d5"]
    assert rr.ledger[outcome] == 1 and rr.records[0].outcome == outcome


def test_a_long_prompt_is_cut_passage_by_passage_never_an_identifier():
    c = Candidates(Query("q", "query q"), tuple(Passage(f"d{i}", " ".join([f"w{i}"] * (50 if i == 2 else 5))) for i in range(4)),
                   (4.0, 3.0, 2.0, 1.0))
    backend = ScriptedBackend(oracle)
    full = backend.count(cot.messages(cot.Window("x", c.query, list(c.passages)), 300))
    rr = ListwiseReranker(backend, window=4, step=2, rank_end=4, max_prompt_tokens=full - 20)
    rr.rerank([c], progress=False)
    rec = rr.records[0]
    assert rec.prompt_tokens <= full - 20 and rec.truncated_words >= 20 and rr.ledger["prompts truncated"] == 1
    msgs, n, cut = listwise.fit_prompt(cot.Window("x", c.query, list(c.passages)), 300, backend.count, full - 20)
    body = msgs[-1]["content"]
    assert all(f"[{i}] w{i - 1}" in body for i in range(1, 5))  # every identifier and passage kept
    assert body.count("w1") == 5 and body.count("w2") == 50 - cut  # only the longest passage was cut
    with pytest.raises(ValueError, match="every passage empty"):
        listwise.fit_prompt(cot.Window("x", c.query, list(c.passages)), 300, backend.count, 10)


def test_cascade_saves_each_stage():
    class Lexical:  # a pointwise scorer: prefers high passage numbers, as the oracle
        def score_pairs(self, qs, ps, progress=False):
            return [float(p.split()[0][1:]) for p in ps]

    lists = [cands("a", 8)]
    out = listwise.cascade(lists, Lexical(), 4, ListwiseReranker(ScriptedBackend(lambda p: "[2] > [1]"), 2, 1, 2), progress=False)
    assert out["bm25"] is lists
    assert [p.docid for p in out["stage1"][0].passages][:4] == ["a-d3", "a-d2", "a-d1", "a-d0"]
    assert [p.docid for p in out["stage2"][0].passages][:4] == ["a-d2", "a-d3", "a-d1", "a-d0"]
    assert set(out["seconds"]) == {"stage1", "stage2"}


# ------------------------------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def smoke():
    cfg = load_config("smoke")
    tok = models.load_tokenizer(cfg["stage2"]["base"])
    return cfg, tok


def examples(n=4):
    out = []
    for i in range(n):
        w = cot.Window(f"w{i}", Query(f"q{i}", "who won the nobel prize in physics"),
                       [Passage(f"d{j}", f"passage {j} of window {i} on nobel physics") for j in range(5)],
                       teacher=[0.1 * ((j * 7 + i) % 5) for j in range(5)])
        out.append({"prompt": cot.messages(w, 20), "completion": [{"role": "assistant", "content": cot.TeacherGuidedGenerator().completion(w)}]})
    return out


def test_load_examples_names_the_bad_line(tmp_path):
    p = tmp_path / "chat.jsonl"
    good = {"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "[1] > [2]"}]}
    p.write_text(json.dumps(good) + "\n" + json.dumps({"messages": [{"role": "user", "content": "u"}]}) + "\n")
    with pytest.raises(ValueError, match=r"chat.jsonl:2: not a chat example"):
        stage2.load_examples(p)
    p.write_text(json.dumps(good) + "\n")
    assert stage2.load_examples(p) == [{"prompt": good["messages"][:1], "completion": good["messages"][1:]}]


def test_held_out_windows_are_the_last_whatever_the_training_budget(tmp_path):
    p = tmp_path / "chat.jsonl"
    p.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"u{i}"}, {"role": "assistant", "content": "[1]"}]}) + "\n"
                         for i in range(10)))
    user = lambda examples: [e["prompt"][0]["content"] for e in examples]
    for n_train, trained in ((3, ["u0", "u1", "u2"]), (7, [f"u{i}" for i in range(7)]), (9, [f"u{i}" for i in range(7)]),
                             (None, [f"u{i}" for i in range(7)])):
        train, held = stage2.split_examples(p, n_train, 3)
        assert (user(train), user(held)) == (trained, ["u7", "u8", "u9"])
    assert user(stage2.split_examples(p, None, 0)[1]) == []
    with pytest.raises(ValueError, match="10 examples leave none to train on after holding out 10"):
        stage2.split_examples(p, 4, 10)


def test_reading_a_shares_the_stage1_base_and_trains_on_answers_only(smoke, tmp_path):
    cfg, tok = smoke
    s2 = {**cfg["stage2"], "max_steps": 2, "save_steps": 2}
    student = stage1.new_student(cfg["stage1"], tok, 0).eval()
    base_q = student.get_base_model().model.layers[0].self_attn.q_proj.base_layer.weight.detach().clone()
    pair = ["query: who won", "document: passage 1"]
    enc = stage1.PairEncoder(tok, 16, 16).pad([stage1.PairEncoder(tok, 16, 16).ids(*pair)])
    before = student(**enc).logits.item()

    lm = stage2.new_listwise(s2, tok, 0, student)
    assert lm.active_adapter == "stage2"
    assert torch.equal(lm.get_base_model().model.layers[0].self_attn.q_proj.base_layer.weight, base_q)  # the same base
    data = examples()
    trainer = stage2.train(lm, tok, data, s2, tmp_path / "s2")
    batch = trainer.data_collator([trainer.train_dataset[0]])
    answer = tok.decode(batch["input_ids"][0][batch["labels"][0] != -100])
    assert answer.startswith(data[0]["completion"][0]["content"]) and "Search Query" not in answer  # loss on the answer only
    assert student(**enc).logits.item() == before  # Stage 1 and its adapter untouched
    assert (tmp_path / "s2" / "adapter" / "stage2" / "adapter_config.json").is_file()
    curve = json.loads((tmp_path / "s2" / "loss_curve.json").read_text())
    assert [h["step"] for h in curve] == [1, 2]

    again = stage2.load_listwise(s2, tmp_path / "s2" / "adapter", tok, 0, student)  # the saved adapter reloads
    trained = dict(trainer.model.named_parameters())
    for name, p in again.named_parameters():
        if "lora_B" in name:
            assert torch.equal(p, trained[name]), name


Interrupt, StepsSeen = training_callbacks()


def adapter_weights(model) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}


def test_reading_b_separate_base_and_resume_gives_the_same_adapter(smoke, tmp_path):
    cfg, tok = smoke
    s2 = {**cfg["stage2"], "reading": "separate", "max_steps": 4, "save_steps": 2, "lr": 1e-2}
    initial = adapter_weights(stage2.new_listwise(s2, tok, 0))
    # the loops below compare these tensors one by one: there must be A and B of q_proj and v_proj (smoke's
    # target_modules) in each of tiny-llama's 2 layers, 8 tensors, or they would pass over nothing
    assert sorted(initial) == sorted(f"base_model.model.model.layers.{layer}.self_attn.{m}.lora_{ab}.stage2.weight"
                                     for layer in (0, 1) for m in ("q_proj", "v_proj") for ab in "AB")
    straight = adapter_weights(stage2.train(stage2.new_listwise(s2, tok, 0), tok, examples(), s2, tmp_path / "a", resume=False).model)
    assert straight.keys() == initial.keys()
    assert any(not torch.equal(straight[n], initial[n]) for n in initial)  # training moved the adapter
    with pytest.raises(KeyboardInterrupt):
        stage2.train(stage2.new_listwise(s2, tok, 0), tok, examples(), s2, tmp_path / "b", callbacks=[Interrupt()])
    assert (tmp_path / "b" / "checkpoint-2").is_dir() and not (tmp_path / "b" / "checkpoint-4").exists()
    # started again with the same settings, it resumes from checkpoint-2: steps 3 and 4 only, to the same adapter
    seen = StepsSeen()
    trainer = stage2.train(stage2.new_listwise(s2, tok, 0), tok, examples(), s2, tmp_path / "b", callbacks=[seen])
    assert seen.steps == [3, 4] and trainer.state.global_step == 4
    assert [h["step"] for h in json.loads((tmp_path / "b" / "loss_curve.json").read_text())] == [1, 2, 3, 4]
    resumed = adapter_weights(trainer.model)
    assert resumed.keys() == straight.keys() and straight
    for name, w in straight.items():
        assert torch.allclose(resumed[name], w, atol=1e-6), name
    # once more: the run is finished, so nothing trains and the adapter is the finished one (from a fresh model)
    seen = StepsSeen()
    again = stage2.train(stage2.new_listwise(s2, tok, 0), tok, examples(), s2, tmp_path / "b", callbacks=[seen])
    assert seen.steps == [] and again.state.global_step == 4
    finished = adapter_weights(again.model)
    assert finished.keys() == straight.keys()
    assert all(torch.allclose(w, straight[n], atol=1e-6) for n, w in finished.items())
    with pytest.raises(ValueError, match="needs the Stage-1 student"):
        stage2.new_listwise(cfg["stage2"], tok, 0)


def test_fit_drops_long_examples_and_counts_them(smoke):
    _, tok = smoke
    data = examples(3)
    n = len(tok.apply_chat_template(data[0]["prompt"] + data[0]["completion"], tokenize=True, return_dict=True)["input_ids"])
    kept, ledger = stage2.fit(data, tok, n - 1)
    assert kept == [] and ledger[f"dropped: over {n - 1} tokens"] == 3
    assert stage2.fit(data, tok, n + 50)[1]["kept"] == 3


def test_greedy_generation_is_deterministic_and_parsed(smoke):
    cfg, tok = smoke
    lm = stage2.new_listwise({**cfg["stage2"], "reading": "separate"}, tok, 0)
    # constrained: a random model's answer is a permutation by construction, so the order it names is readable
    backend = listwise.TransformersBackend(lm, tok, max_new_tokens=60, batch_size=2, constrained=True)
    lists = [cands("a", 6), cands("b", 6), cands("c", 6)]
    first_rr = ListwiseReranker(backend, 6, 3, 6, name="t")
    first = first_rr.rerank(lists, progress=False)
    second = ListwiseReranker(backend, 6, 3, 6, name="t").rerank(lists, progress=False)
    assert [c.passages for c in first] == [c.passages for c in second]
    orders = []
    for c, out, rec in zip(lists, first, first_rr.records):  # one window per list: its answer is the new order
        ids = [int(i) - 1 for i in re.findall(r"\[(\d+)\]", rec.completion.split("</think>")[-1])]
        assert sorted(ids) == list(range(6)) and rec.outcome == "ok", rec.completion
        assert [p.docid for p in out.passages] == [c.passages[i].docid for i in ids]
        orders.append(ids)
    assert any(o != list(range(6)) for o in orders)  # some answer moved a passage: the order came from the answer


@pytest.mark.parametrize("constrained", [False, True])
def test_without_adapter_is_the_base_models_own_greedy_output(smoke, constrained):
    cfg, tok = smoke
    s2 = {**cfg["stage2"], "reading": "separate"}
    lm = stage2.new_listwise(s2, tok, 0)
    torch.manual_seed(1)
    for n, p in lm.named_parameters():  # a fresh adapter's B is zero (no effect); give it one, as training would
        if "lora_B" in n:
            p.data.normal_(0, 0.5)
    prompts = [cot.messages(cot.Window(q, c.query, list(c.passages)), 20) for q, c in (("a", cands("a", 6)), ("b", cands("b", 6)))]
    n_ids = [6, 6] if constrained else None
    with_adapter = listwise.TransformersBackend(lm, tok, max_new_tokens=60, batch_size=2, constrained=constrained)
    zeroshot = listwise.without_adapter(with_adapter)
    clean_base = listwise.TransformersBackend(stage2.listwise_base(s2, tok, 0), tok, max_new_tokens=60, batch_size=2, constrained=constrained)
    got, base = zeroshot.generate(prompts, n_ids), clean_base.generate(prompts, n_ids)
    assert got == base  # the adapter switched off is the base model, token for token
    assert with_adapter.generate(prompts, n_ids) != base  # ... and the adapter, on again, changes what it writes
    assert zeroshot.generate(prompts, n_ids) == base
    # what the reranker reads of it is the base model's: tiny-llama's 1024 positions (its config) and the 60 new
    # tokens it was given, so the prompt budget is 1024 - 60
    assert (zeroshot.context, zeroshot.max_new_tokens) == (1024, 60) and ListwiseReranker(zeroshot, 6, 3, 6).budget == 964
    with pytest.raises(TypeError, match="needs a peft model"):
        listwise.without_adapter(clean_base)


def test_accelerate_launch_two_cpu_processes(tmp_path):
    # as for Stage 1: two gloo processes on a CPU come from the multi-process launcher with ACCELERATE_USE_CPU=1
    data = tmp_path / "chat.jsonl"
    data.write_text("".join(json.dumps({"messages": e["prompt"] + e["completion"]}) + "\n" for e in examples(8)))
    cfg = load_config("smoke")
    student_dir = tmp_path / "student"
    stage1.new_student(cfg["stage1"], models.load_tokenizer("tiny-llama"), 0).save_pretrained(student_dir)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ACCELERATE_USE_CPU": "1"}
    r = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                        "-m", "dearlib.stage2.training", "--profile", "smoke", "--data", str(data), "--output", str(tmp_path / "ddp"),
                        "--stage1", str(student_dir), "--max-steps", "2"], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "on 2 process(es)" in r.stdout
    assert (tmp_path / "ddp" / "adapter" / "stage2" / "adapter_config.json").is_file()


def test_generation_stops_once_the_ranking_is_complete(smoke):
    _, tok = smoke
    texts = ["<think>[1] and [2] look close</think>", "<think>ok</think>[2] > [1]", "[1] > [1] > [1]", "[1] > [1] > [1] > [1]"]
    prompt = tok("prompt", return_tensors="pt")["input_ids"]
    rows = [torch.cat([prompt[0], tok(t, return_tensors="pt", add_special_tokens=False)["input_ids"][0]]) for t in texts]
    width = max(len(r) for r in rows)
    batch = torch.stack([torch.cat([torch.full((width - len(r),), tok.pad_token_id), r]) for r in rows])
    stop = listwise._RankingComplete(tok, 0, [2, 2, 2, 2])  # from position 0: the prompt and padding name no ids
    assert stop(batch, None).tolist() == [False, True, False, True]  # ids in the reasoning do not count; n + 2 ends a loop


def test_make_backend_by_name():
    b = listwise.make_backend("tiny-llama", max_new_tokens=4, batch_size=2)
    assert isinstance(b, listwise.TransformersBackend) and b.max_new_tokens == 4
    with pytest.raises(ValueError, match="'transformers' or 'vllm'"):
        listwise.make_backend("tiny-llama", "ollama")
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install vllm"):
            listwise.make_backend("tiny-llama", "vllm")


def test_vllm_backend_stops_where_the_transformers_rule_does(smoke, monkeypatch):
    """A stand-in with vLLM's offline interface (LLM.chat -> RequestOutput-shaped objects, outputs[0].text), some
    completions running on past a complete ranking, as a sampled model does."""
    import types

    from dearlib.stage2.permutation import parse

    _, tok = smoke
    completions = ["<think>[3] or [1]?</think>[3] > [1] > [2] > [3] > [1] and so on",  # runs on past the full ranking
                   "[2] > [1] > [2] > [1] > [2] > [1] > [2] > [1]",  # a loop: cut at n + 2 identifiers
                   "<think>[1] [2] [3] never closed",  # no answer yet: nothing to cut
                   "[1] > [2]"]  # short: kept whole
    calls = []

    class LLM:
        def __init__(self, model, enable_lora, max_model_len, seed):
            calls.append(("init", model, enable_lora))

        def get_tokenizer(self):
            return tok

        def chat(self, messages, sampling_params, lora_request=None, use_tqdm=True):
            calls.append(("chat", len(messages), sampling_params.kw, lora_request))
            return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text=t)]) for t in completions[:len(messages)]]

    vllm = types.ModuleType("vllm")
    vllm.LLM, vllm.SamplingParams = LLM, lambda **kw: types.SimpleNamespace(kw=kw)
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = lambda *a: a
    for name, mod in (("vllm", vllm), ("vllm.lora", types.ModuleType("vllm.lora")), ("vllm.lora.request", request)):
        monkeypatch.setitem(sys.modules, name, mod)

    backend = listwise.VLLMBackend("base", max_new_tokens=64, temperature=0.5, seed=1, lora_path="adapter")
    prompt = [{"role": "user", "content": "rank [1] [2] [3]"}]
    out = backend.generate([prompt] * 4, n_ids=[3] * 4)
    assert out == ["<think>[3] or [1]?</think>[3] > [1] > [2]", "[2] > [1] > [2] > [1] > [2]", completions[2], completions[3]]
    assert [parse(c, 3).outcome for c in completions[:2]] == ["repetition", "repetition"]  # uncut, as vLLM wrote them
    assert parse(out[0], 3).outcome == "ok"  # cut: the ranking the model completed
    assert backend.generate([prompt] * 4) == completions  # no n_ids: no rule
    assert calls[1] == ("chat", 4, {"temperature": 0.5, "max_tokens": 64, "seed": 1}, ("stage2", 1, "adapter"))
    # the zero-shot base: the same engine (no second load), asked without the LoRA request
    zeroshot = listwise.without_adapter(backend)
    assert zeroshot.generate([prompt], n_ids=[3]) == out[:1] and calls[-1][3] is None and backend.lora is not None
    assert [c[0] for c in calls].count("init") == 1
    # the same rule as transformers' stopping criterion, which ends generation where the cut is
    stop = listwise._RankingComplete(tok, 0, [3])
    for text, cut in zip(completions, out):
        ids = tok(cut, return_tensors="pt", add_special_tokens=False)["input_ids"]
        assert stop(ids, None).item() == (cut != text or listwise.ranking_complete(text, 3))
    # the prompt's length in tokens, as the chat template renders it
    assert backend.count(prompt) == len(tok(tok.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False),
                                            add_special_tokens=False)["input_ids"]) > 2


def test_heldout_check_counts_against_the_examples_answers(smoke):
    cfg, tok = smoke
    held = examples(4)

    class Echo:  # answers each prompt with its example's own answer: everything ok, tau 1
        steering = []

        def generate(self, prompts, n_ids=None):
            assert n_ids == [5] * 4
            return [next(e["completion"][0]["content"] for e in held if e["prompt"] == p) for p in prompts]

    assert listwise.heldout_check(Echo(), held) == {"windows": 4, "ok": 4, "ok on its own": 4, "input order kept": 0, "kendall tau": 1.0}
    lm = stage2.new_listwise({**cfg["stage2"], "reading": "separate"}, tok, 0)
    check = listwise.heldout_check(listwise.TransformersBackend(lm, tok, max_new_tokens=60, batch_size=2, constrained=True), held)
    assert check["windows"] == check["ok"] == 4 and check["ok on its own"] == 0  # a random model: all steered
