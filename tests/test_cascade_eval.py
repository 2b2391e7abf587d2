"""The cascade's evaluation in one call: a stand-in Stage 1 and the qrels oracle as Stage 2 on a toy set, the
rankings and nDCG@10 checked against lists worked out by hand and scored by ir_measures directly."""
import csv
import json

import ir_measures
import pytest

from dearlib.core.records import Candidates, Dataset, Passage, Query
from dearlib.retrieval import trec
from dearlib.stage2.cascade_eval import evaluate_cascade
from dearlib.stage2.window_walk import OracleBackend

QRELS = {"q1": {"q1-d0": 3, "q1-d2": 1}, "q2": {"q2-d1": 1, "q2-d4": 2}}
INFERENCE = {"stage1_depth": 4, "rank_end": 4, "window": 3, "step": 2, "passes": 1, "max_words": 20}  # windows (1, 4), (0, 2)
CFG = {"profile": "toy", "seed": 0}
# by hand: Stage 1 puts the top 4 in reverse (d3 d2 d1 d0 d4 d5); the oracle sorts window (1, 4) by grade, then (0, 2)
BY_HAND = {"stage1": {"q1": [3, 2, 1, 0, 4, 5], "q2": [3, 2, 1, 0, 4, 5]},
           "stage2": {"q1": [0, 3, 2, 1, 4, 5], "q2": [1, 3, 2, 0, 4, 5]}}


class ByNumber:
    """A stand-in pointwise Stage 1: the higher the passage number, the higher the score."""

    def score_pairs(self, queries, passages, progress=False):
        return [float(p.split()[1]) for p in passages]


def toy() -> Dataset:
    cands = [Candidates(Query(q, f"question {q}"), tuple(Passage(f"{q}-d{i}", f"passage {i} of {q}") for i in range(6)),
                        tuple(float(6 - i) for i in range(6))) for q in QRELS]
    return Dataset("dl19", cands, QRELS, min_rel=1)


def ndcg10(lists: dict[str, list[int]]) -> dict[str, float]:
    run = {q: {f"{q}-d{i}": float(6 - r) for r, i in enumerate(order)} for q, order in lists.items()}
    return {m.query_id: m.value for m in ir_measures.iter_calc([ir_measures.nDCG @ 10], QRELS, run)}


def test_evaluate_cascade_scores_writes_and_counts_each_stage(tmp_path):
    ds = toy()
    ev = evaluate_cascade({"dl19": ds}, ByNumber(), OracleBackend(ds.candidates, QRELS, 20), INFERENCE,
                          {"bm25": "bm25", "stage1": "dear-p", "stage2": "dear-l"}, CFG, tmp_path / "results",
                          {"dear-l": {"sft_steps": 3}}, runs_dir=tmp_path / "runs", progress=False)
    assert list(ev.table["system"]) == ["bm25", "dear-p", "dear-l"] and ev.table["s/query"][0] == 0
    for stage, system in (("stage1", "dear-p"), ("stage2", "dear-l")):
        want = ndcg10(BY_HAND[stage])
        assert ev.per_query[("dl19", system)] == pytest.approx(want)
        row = ev.table[ev.table["system"] == system].iloc[0]
        assert row["nDCG@10"] == round(100 * sum(want.values()) / 2, 2)
        run = trec.read_run(tmp_path / "runs" / f"dl19.{system}.run")
        assert {q: sorted(d, key=lambda x: -d[x]) for q, d in run.items()} == {
            q: [f"{q}-d{i}" for i in order] for q, order in BY_HAND[stage].items()}
    out = tmp_path / "results" / "toy" / "dl19"
    assert sorted(p.name for p in out.iterdir()) == ["dear-l.json", "dear-l.windows.csv"]  # only what `written` names
    rec = json.loads((out / "dear-l.json").read_text())
    assert rec["metrics"]["nDCG@10"] == pytest.approx(sum(ndcg10(BY_HAND["stage2"]).values()) / 2)
    prov = rec["provenance"]
    assert (prov["depth"], prov["rank_end"], prov["window"], prov["step"], prov["sft_steps"]) == (4, 4, 3, 2, 3)
    assert set(prov["stage_seconds_per_query"]) == {"stage1", "stage2"}
    assert prov["seconds_per_query"] == pytest.approx(sum(prov["stage_seconds_per_query"].values()))
    assert prov["parse_ledger"]["ok"] == 4 and ev.ledgers["dl19"] == prov["parse_ledger"]
    assert prov["reading"] == "kit"  # the oracle backend reads the kit's prompt
    windows = list(csv.DictReader(open(out / "dear-l.windows.csv")))
    assert [(w["qid"], w["start"], w["end"]) for w in windows] == [("q1", "1", "4"), ("q2", "1", "4"), ("q1", "0", "2"), ("q2", "0", "2")]
    assert "completion" not in windows[0]


def test_without_a_backend_only_stage_1_is_evaluated(tmp_path):
    ev = evaluate_cascade({"dl19": toy()}, ByNumber(), None, INFERENCE, {"stage1": "dear-p-released", "stage2": "dear-l-released"},
                          CFG, tmp_path, {"dear-p-released": {"checkpoint": "folder"}}, progress=False)
    assert list(ev.table["system"]) == ["dear-p-released"] and ev.ledgers == {}
    rec = json.loads((tmp_path / "toy" / "dl19" / "dear-p-released.json").read_text())
    assert rec["provenance"]["checkpoint"] == "folder" and "parse_ledger" not in rec["provenance"]
    with pytest.raises(ValueError, match=r"\['stage3'\] are not stages of the cascade"):
        evaluate_cascade({}, ByNumber(), None, INFERENCE, {"stage3": "x"}, CFG, tmp_path, {})


class KeepOrder(OracleBackend):
    """A Stage-2 'model' that answers every window in its input order (what a model that copies its input does)."""

    def answer(self, prompt: str) -> str:
        return "<think>as given</think>\n" + " > ".join(f"[{i + 1}]" for i in range(len(self.window_grades(prompt))))


def test_also_reranks_the_same_stage1_lists_with_another_stage2_model(tmp_path):
    ds = toy()
    ev = evaluate_cascade({"dl19": ds}, ByNumber(), OracleBackend(ds.candidates, QRELS, 20), INFERENCE,
                          {"stage1": "dear-p", "stage2": "dear-l"}, CFG, tmp_path / "results",
                          {"dear-l": {}, "listwise-zeroshot": {"stage2_adapter": None}}, runs_dir=tmp_path / "runs", progress=False,
                          also={"listwise-zeroshot": KeepOrder(ds.candidates, QRELS, 20)})
    assert list(ev.table["system"]) == ["dear-p", "dear-l", "listwise-zeroshot"]
    # keeping every window's order leaves Stage 1's lists as they were; the oracle's run is unchanged by the extra system
    assert ev.per_query[("dl19", "listwise-zeroshot")] == pytest.approx(ndcg10(BY_HAND["stage1"]))
    assert ev.per_query[("dl19", "dear-l")] == pytest.approx(ndcg10(BY_HAND["stage2"]))
    run = trec.read_run(tmp_path / "runs" / "dl19.listwise-zeroshot.run")
    assert {q: sorted(d, key=lambda x: -d[x]) for q, d in run.items()} == {q: [f"{q}-d{i}" for i in o] for q, o in BY_HAND["stage1"].items()}
    assert ev.also_ledgers[("dl19", "listwise-zeroshot")]["input order kept"] == 4 and "dl19" in ev.ledgers
    out = tmp_path / "results" / "toy" / "dl19"
    rec = json.loads((out / "listwise-zeroshot.json").read_text())
    prov = rec["provenance"]
    assert prov["parse_ledger"] == ev.also_ledgers[("dl19", "listwise-zeroshot")] and prov["stage2_adapter"] is None
    assert (prov["rank_end"], prov["window"], prov["step"], prov["passes"]) == (4, 3, 2, 1)
    assert prov["seconds_per_query"] == pytest.approx(sum(prov["stage_seconds_per_query"].values()))
    assert len(list(csv.DictReader(open(out / "listwise-zeroshot.windows.csv")))) == 4
    assert [r.completion.startswith("<think>as given") for r in ev.records[("dl19", "listwise-zeroshot")]] == [True] * 4
    with pytest.raises(ValueError, match=r"also: \['dear-l'\] already name a stage"):
        evaluate_cascade({}, ByNumber(), None, INFERENCE, {"stage2": "dear-l"}, CFG, tmp_path, {}, also={"dear-l": KeepOrder([], {})})


class ReleasedReverser:
    """A Stage-2 backend in the released reading: it checks it is shown the released conversation and answers each
    window reversed in bare numbers ("3 2 1"), which only the released parser reads as a ranking."""

    reading, max_new_tokens, context = "released", 0, 10 ** 9

    def count(self, messages):
        return sum(len(m["content"].split()) for m in messages)

    def generate(self, prompts, n_ids=None):
        from dearlib.stage2 import prompt

        out = []
        for msgs in prompts:
            assert msgs[0]["content"] == prompt.RELEASED_SYSTEM and msgs[-1]["content"].endswith("no explanations.")
            n = sum(m["role"] == "user" and m["content"].startswith("[") for m in msgs)
            out.append(" ".join(str(i) for i in range(n, 0, -1)))
        return out


def test_a_released_backend_is_prompted_and_parsed_as_released(tmp_path):
    ds = toy()
    ev = evaluate_cascade({"dl19": ds}, ByNumber(), ReleasedReverser(), INFERENCE, {"stage2": "dear-l-released"}, CFG,
                          tmp_path, {"dear-l-released": {"reading": "released"}}, progress=False)  # as notebook 08 passes it
    # by hand: Stage 1 gives d3 d2 d1 d0 d4 d5; window (1, 4) reversed: d3 d0 d1 d2; then window (0, 2): d0 d3 d1 d2
    want = {q: [0, 3, 1, 2, 4, 5] for q in QRELS}
    assert ev.per_query[("dl19", "dear-l-released")] == pytest.approx(ndcg10(want))
    rec = json.loads((tmp_path / "toy" / "dl19" / "dear-l-released.json").read_text())
    assert rec["provenance"]["reading"] == "released" and rec["provenance"]["parse_ledger"]["ok"] == 4


def test_a_released_pair_encoder_is_recorded_as_the_released_reading(tmp_path):
    from types import SimpleNamespace

    from dearlib.stage1.pairs import ReleasedPairEncoder

    class ReleasedByNumber(ByNumber):
        encoder = ReleasedPairEncoder(SimpleNamespace(bos_token_id=1, pad_token_id=0, backend_tokenizer=None), 4, 8)

    for stage1, want in ((ByNumber(), "kit"), (ReleasedByNumber(), "released")):
        evaluate_cascade({"dl19": toy()}, stage1, None, INFERENCE, {"stage1": "dear-p-released"}, CFG, tmp_path / want,
                         {"dear-p-released": {}}, progress=False)
        rec = json.loads((tmp_path / want / "toy" / "dl19" / "dear-p-released.json").read_text())
        assert rec["provenance"]["reading"] == want
