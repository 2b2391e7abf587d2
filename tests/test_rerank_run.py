"""The reranking command on files the test writes: a TREC run, a collection, topics and qrels in; a reranked run out.

Scored with nDCG against the test's qrels (ir_measures through `dearlib.evaluation.metrics`, and by hand), resumed
after a kill with nothing lost or repeated, and refusing ids the collection or the topics lack, by name.
"""
import json
import math

import pytest
from conftest import save_tiny_checkpoints

from dearlib.core import models
from dearlib.core.config import load_config
from dearlib.core.records import Passage
from dearlib.evaluation import metrics
from dearlib.retrieval import trec
from dearlib.retrieval.data import DataError
from dearlib.stage1.training import new_student
from dearlib.stage2 import rerank_run
from dearlib.stage2.listwise import ListwiseReranker
from dearlib.stage2.permutation import OUTCOMES, parse
from dearlib.stage2.rerank_run import Reranker
from dearlib.stage2.training import new_listwise
from dearlib.stage2.window_walk import OracleBackend

QUERIES = {"q1": "what colour is the sky", "q2": "how tall is everest", "q3": "who wrote hamlet",
           "q4": "where is paris", "q5": "when did rome fall"}
N_DOCS = 6  # candidates per query; the relevant passage sits last in BM25's order


def text(qid: str, i: int) -> str:
    return f"{QUERIES[qid]} answer" if i == N_DOCS - 1 else f"passage {i} about something else for {qid}"


class KeywordScorer:
    """Scores 1 for a passage holding the word "answer", else 0: a Stage 1 whose order we know."""

    identity = "keyword"

    def __init__(self, fail_after: int | None = None):
        self.fail_after, self.queries = fail_after, []  # queries scored, in order

    def score_pairs(self, queries, passages, progress=False):
        for q in dict.fromkeys(queries):
            if self.fail_after is not None and len(self.queries) == self.fail_after:
                raise KeyboardInterrupt("killed")  # what a kill does mid-run
            self.queries.append(q)
        return [float("answer" in p.split()) for p in passages]


class ReverseScorer:
    """The relevant passage first, then the others in reverse BM25 order (passage 4, 3, ..., 0)."""

    def score_pairs(self, queries, passages, progress=False):
        return [100.0 if "answer" in p.split() else float(p.split()[1]) for p in passages]


@pytest.fixture
def files(tmp_path):
    """A BM25-like run (the relevant passage last), a TSV collection with one passage the run never names, topics, qrels."""
    run = {q: {f"{q}-d{i}": float(10 - i) for i in range(N_DOCS)} for q in QUERIES}
    trec.write_run(run, tmp_path / "bm25.trec", "bm25")
    lines = [f"{q}-d{i}\t{text(q, i)}" for q in QUERIES for i in range(N_DOCS)] + ["unused\tnever a candidate"]
    (tmp_path / "collection.tsv").write_text("\n".join(lines) + "\n")
    (tmp_path / "topics.tsv").write_text("".join(f"{q}\t{t}\n" for q, t in QUERIES.items()))
    qrels = {q: {f"{q}-d{N_DOCS - 1}": 2, f"{q}-d0": 1} for q in QUERIES}
    trec.write_qrels(qrels, tmp_path / "qrels.txt")
    return tmp_path


def run_it(files, reranker, name="out.trec", **kw):
    return rerank_run.rerank_run(reranker, files / "bm25.trec", files / "collection.tsv", files / name,
                                 topics=files / "topics.tsv", progress=False, **kw)


def ndcg10_by_hand(ranking: list[str], judged: dict[str, int]) -> float:
    dcg = sum(judged.get(d, 0) / math.log2(r + 2) for r, d in enumerate(ranking[:10]))
    ideal = sum(g / math.log2(r + 2) for r, g in enumerate(sorted(judged.values(), reverse=True)[:10]))
    return dcg / ideal


def test_stage1_reranks_the_run_and_its_ndcg_is_measured(files):
    out = run_it(files, Reranker(KeywordScorer(), depth=N_DOCS))
    ranked = trec.read_run(out)
    qrels = trec.read_qrels(files / "qrels.txt")
    for q in QUERIES:  # the relevant passage climbs from last to first; the rest keep BM25's order beneath it
        order = sorted(ranked[q], key=lambda d: -ranked[q][d])
        assert order == [f"{q}-d{N_DOCS - 1}"] + [f"{q}-d{i}" for i in range(N_DOCS - 1)]
    ev = metrics.evaluate(ranked, qrels, metrics.NDCG)
    before = metrics.evaluate(trec.read_run(files / "bm25.trec"), qrels, metrics.NDCG)
    # grades 2 at rank 1, 1 at rank 2 against the ideal order 2, 1: nDCG@10 = 1.0; BM25 has them at ranks 6 and 1
    assert ev.metrics["nDCG@10"] == pytest.approx(1.0)
    assert before.metrics["nDCG@10"] == pytest.approx(ndcg10_by_hand([f"q1-d{i}" for i in range(N_DOCS)], qrels["q1"]))
    assert before.metrics["nDCG@10"] == pytest.approx((1 + 2 / math.log2(7)) / (2 + 1 / math.log2(3)))
    assert out.read_text().split("\n")[0].split()[-1] == "dear-p"  # the run's tag
    assert not (files / "out.trec.parts").exists()  # the parts go once the run is written


def test_the_cascade_writes_the_parse_ledger_beside_the_run(files):
    candidates = rerank_run.read_candidates(files / "bm25.trec", files / "collection.tsv", files / "topics.tsv")
    qrels = trec.read_qrels(files / "qrels.txt")
    # Stage 1 puts the grade-1 passage d0 last (a bad Stage 1); the oracle Stage 2, over windows of 4, lifts it second
    stage1 = ReverseScorer()
    stage2 = ListwiseReranker(OracleBackend(candidates, qrels, max_words=50), window=4, step=2, rank_end=6, max_words=50)
    out = run_it(files, Reranker(stage1, N_DOCS, stage2), chunk=2)
    ranked = trec.read_run(out)
    assert sorted(ranked["q2"], key=lambda d: -ranked["q2"][d]) == [f"q2-d{i}" for i in (5, 0, 4, 3, 2, 1)]
    assert metrics.evaluate(ranked, qrels, metrics.NDCG).metrics["nDCG@10"] == pytest.approx(1.0)
    ledger = json.loads((files / "out.trec.ledger.json").read_text())
    # the chunks' ledgers summed equal one reranker's over every query at once, zero counts included
    at_once = ListwiseReranker(OracleBackend(candidates, qrels, max_words=50), window=4, step=2, rank_end=6, max_words=50)
    at_once.rerank(rerank_run.stage1_rerank(ReverseScorer(), candidates, N_DOCS, progress=False), progress=False)
    assert ledger["parse_ledger"] == dict(at_once.ledger) and ledger["parse_ledger"]["input order kept"] == 0
    windows_per_query = 2  # ranks (2, 6) then (0, 4): the last window pinned to the top
    assert ledger["parse_ledger"]["ok"] == windows_per_query * len(QUERIES) and ledger["queries"] == len(QUERIES)
    assert len((files / "out.trec.windows.csv").read_text().strip().split("\n")) == 1 + windows_per_query * len(QUERIES)
    assert out.read_text().split("\n")[0].split()[-1] == "dear-l"


def test_a_killed_run_resumes_with_nothing_lost_or_repeated(files):
    straight = run_it(files, Reranker(KeywordScorer(), depth=3), name="straight.trec", chunk=1).read_text()
    killed = KeywordScorer(fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        run_it(files, Reranker(killed, depth=3), chunk=1)
    assert not (files / "out.trec").exists()  # nothing half-written
    assert len(list((files / "out.trec.parts").glob("chunk-*.json"))) == 2
    again = KeywordScorer()
    out = run_it(files, Reranker(again, depth=3), chunk=1)
    assert sorted(killed.queries + again.queries) == sorted(QUERIES.values())  # every query scored exactly once
    assert len(again.queries) == len(QUERIES) - 2
    assert out.read_text() == straight


def test_parts_of_other_settings_are_refused(files):
    with pytest.raises(KeyboardInterrupt):
        run_it(files, Reranker(KeywordScorer(fail_after=1), depth=3), chunk=1)
    with pytest.raises(ValueError, match=r"out\.trec\.parts holds queries reranked with other inputs or settings \(depth\)"):
        run_it(files, Reranker(KeywordScorer(), depth=4), chunk=1)


def test_ids_missing_from_the_collection_or_the_topics_are_refused_by_name(files):
    with open(files / "bm25.trec", "a") as f:
        f.write("q1 Q0 ghost-7 7 0.5 bm25\nq9 Q0 q1-d0 1 1.0 bm25\n")
    with pytest.raises(DataError, match=r"topics\.tsv, e\.g\. \['q9'\]"):
        run_it(files, Reranker(KeywordScorer(), depth=3))
    (files / "topics.tsv").write_text((files / "topics.tsv").read_text() + "q9\tan extra query\n")
    with pytest.raises(DataError, match=r"collection\.tsv: 1 docids of the run are not in the collection, e\.g\. \['ghost-7'\]"):
        run_it(files, Reranker(KeywordScorer(), depth=3))
    assert not (files / "out.trec").exists() and not (files / "out.trec.parts").exists()


def test_a_jsonl_collection_with_titles_and_a_bad_line(tmp_path):
    rows = [{"_id": "a", "title": "Sky", "text": "blue"}, {"id": "b", "contents": "green grass"}]
    (tmp_path / "c.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\n")
    got = rerank_run.read_collection(tmp_path / "c.jsonl", {"a", "b"})
    assert got == {"a": Passage("a", "blue", "Sky"), "b": Passage("b", "green grass")}
    (tmp_path / "c.jsonl").write_text(json.dumps(rows[0]) + "\n" + json.dumps({"id": "b"}) + "\n")
    with pytest.raises(DataError, match=r"c\.jsonl:2: not a passage"):
        rerank_run.read_collection(tmp_path / "c.jsonl", {"a", "b"})


def test_one_query_in_python():
    reranked = Reranker(KeywordScorer(), depth=10).rerank("who wrote hamlet", ["a play", "the answer is Shakespeare", "other"])
    assert [p.docid for p in reranked] == ["2", "1", "3"] and reranked[0].text == "the answer is Shakespeare"


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """A smoke student (tiny random LLaMA with LoRA) and a listwise adapter on its backbone, saved as notebooks 02
    and 04 save them."""
    d = tmp_path_factory.mktemp("models")
    cfg = load_config("smoke")
    tok = models.load_tokenizer(cfg["stage1"]["student"]["backbone"])
    student = new_student(cfg["stage1"], tok, seed=0)
    student.save_pretrained(d / "student")
    new_listwise(cfg["stage2"], models.load_tokenizer(cfg["stage2"]["base"]), 0, stage1_student=student).save_pretrained(d / "adapter")
    return d


def test_the_command_on_tiny_models_end_to_end(files, tiny_models, capsys):
    argv = ["--run", str(files / "bm25.trec"), "--collection", str(files / "collection.tsv"), "--topics",
            str(files / "topics.tsv"), "--model", str(tiny_models / "student"), "--listwise", str(tiny_models / "adapter"),
            "--output", str(files / "dear-l.trec"), "--profile", "smoke"]
    assert rerank_run.main(argv) == 0
    ranked, bm25 = trec.read_run(files / "dear-l.trec"), trec.read_run(files / "bm25.trec")
    assert {q: set(d) for q, d in ranked.items()} == {q: set(d) for q, d in bm25.items()}  # the same candidates, reordered
    qrels = trec.read_qrels(files / "qrels.txt")
    ev = metrics.evaluate(ranked, qrels, metrics.NDCG)
    for q in QUERIES:  # ir_measures' nDCG@10 of the random models' order, against the hand computation
        assert ev.per_query["nDCG@10"][q] == pytest.approx(ndcg10_by_hand(sorted(ranked[q], key=lambda d: -ranked[q][d]), qrels[q]))
    ledger = json.loads((files / "dear-l.trec.ledger.json").read_text())
    inference = load_config("smoke")["stage2"]["inference"]
    assert ledger["settings"]["profile"] == "smoke" and ledger["settings"]["depth"] == inference["stage1_depth"]
    # smoke's window 6 over 6 candidates: one window per query, each answer counted under one outcome
    assert sum(ledger["parse_ledger"].get(o, 0) for o in OUTCOMES) == len(QUERIES)


def test_a_folder_with_its_own_tokenizer_loads_as_a_released_checkpoint(files, tmp_path):
    """A released checkpoint ships its tokenizer (`dearlib.evaluation.released` loads it); the kit's folders do not
    (the profile names theirs): the same full model without its tokenizer is read as a kit student, and refused
    under a LoRA profile."""
    import torch
    from transformers import LlamaForSequenceClassification

    from dearlib.stage1.pairs import PairEncoder

    save_tiny_checkpoints(tmp_path)
    tok = models.load_tokenizer("tiny-llama")  # the tokenizer saved with the stand-ins
    reranker = Reranker.load(str(tmp_path / "student"), str(tmp_path / "listwise"), "smoke")
    out = run_it(files, reranker, name="released.trec", chunk=len(QUERIES))  # one chunk: its window records stay
    # Stage 1's order, by the saved model's own scores (loaded here by transformers alone), then Stage 2 over it
    model = LlamaForSequenceClassification.from_pretrained(tmp_path / "student").eval()
    enc = PairEncoder(tok, load_config("smoke")["stage1"]["q_max_len"], load_config("smoke")["stage1"]["p_max_len"])
    with torch.no_grad():
        scores = [model(**enc.batch([QUERIES["q1"]], [text("q1", i)])).logits.item() for i in range(N_DOCS)]
    stage1_order = [f"q1-d{i}" for i in sorted(range(N_DOCS), key=lambda i: -scores[i])]
    windows = [r for r in reranker.stage2.records if r.qid == "q1"]
    assert len(windows) == 1 and (windows[0].start, windows[0].end) == (0, N_DOCS)
    ranked = trec.read_run(out)["q1"]
    assert sorted(ranked, key=lambda d: -ranked[d]) == [stage1_order[i] for i in parse(windows[0].completion, N_DOCS).order]
    settings = json.loads((files / "released.trec.ledger.json").read_text())["settings"]
    assert settings["stage2"]["constrained"] is False and load_config("smoke")["stage2"]["inference"]["constrained"] is True
    (tmp_path / "student" / "tokenizer_config.json").unlink()
    with pytest.raises(FileNotFoundError, match="holds no LoRA adapter"):
        Reranker.load(str(tmp_path / "student"), profile="smoke")
