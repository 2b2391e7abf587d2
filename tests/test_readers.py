"""Every file the kit reads names itself when it is wrong: one case per bad input, each error checked for the file
and the line, entry or id. Also: the one behaviour of each odd input (empty query, qrels without candidates,
group_size below 2, a comparison of nothing)."""
import gzip
import json
import sqlite3

import pytest

from dearlib.core import readers
from dearlib.core.readers import ReadError
from dearlib.core.records import Candidates, Passage, Query
from dearlib.retrieval import candidates, data, trec
from dearlib.evaluation import released, tables
from dearlib.evaluation.results import read_result
from dearlib.stage1 import training as stage1
from dearlib.stage1.teacher import ScoreCache
from dearlib.stage2 import cot, training as stage2


def raises_naming(exc, fn, path, *where):
    """Call fn, expect `exc` whose message starts with the file's path and contains each of `where`."""
    with pytest.raises(exc) as info:
        fn()
    msg = str(info.value)
    assert msg.startswith(str(path)), msg
    for w in where:
        assert w in msg, msg
    return msg


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


# ------------------------------------------------------------------------------------------------- candidate lists


def hit(qid="1", docid="d", rank=1, **kw):
    return {"qid": qid, "docid": docid, "rank": rank, "score": 1.0, "content": f"text {docid}", **kw}


GOOD_ENTRY = {"query": "a question", "hits": [hit(docid="a", rank=1), hit(docid="b", rank=2)]}
HITS_CASES = {
    "not JSON": ('[{"query": "a",\n "hits": [', ReadError, ":2: not valid JSON"),
    "not UTF-8": (b'[{"query": "caf\xe9", "hits": []}]', ReadError, ":1: not UTF-8"),
    "an object, not a list": (json.dumps(GOOD_ENTRY), data.DataError, "not a list of"),
    "no entries": ("[]", data.DataError, "no entries"),
    "an entry that is not an object": (json.dumps([GOOD_ENTRY, "oops"]), data.DataError, "entry 1: not a RankGPT hits entry"),
    "no query": (json.dumps([{"hits": [hit()]}]), data.DataError, "entry 0: not a RankGPT hits entry (no key 'query')"),
    "empty query": (json.dumps([{"query": " ", "hits": [hit()]}]), data.DataError, "entry 0", "query 1: the query text is empty"),
    "a hit without docid": (json.dumps([{"query": "q", "hits": [hit(), {"qid": "1", "rank": 2, "score": 0.5, "content": "x"}]}]),
                            data.DataError, "entry 0, hit 1", "no key 'docid'"),
    "a hit without rank": (json.dumps([{"query": "q", "hits": [{"qid": "1", "docid": "d", "score": 0.5, "content": "x"}]}]),
                           data.DataError, "entry 0", "no key 'rank'"),
    "a score that is not a number": (json.dumps([{"query": "q", "hits": [hit(), hit(docid="e", rank=2, score="high")]}]),
                                     data.DataError, "entry 0, hit 1", "'high'"),
    "a hit of another query": (json.dumps([{"query": "q", "hits": [hit(), hit(qid="2", docid="e", rank=2)]}]),
                               data.DataError, "entry 0, hit 1", "qid 2 in the candidate list of query 1"),
    "a query listed twice": (json.dumps([GOOD_ENTRY, GOOD_ENTRY]), data.DataError, "entry 1: query 1 already has a candidate list (entry 0)"),
    # Python's JSON reader takes NaN and Infinity (and float() the text "nan"): each would rank as it happens to compare
    "a NaN score": (json.dumps([GOOD_ENTRY, {"query": "q", "hits": [hit("2"), hit("2", docid="e", rank=2, score=float("nan"))]}]),
                    data.DataError, "entry 1, hit 1", "docid e has the score nan, not a finite number"),
    "an infinite score": (json.dumps([{"query": "q", "hits": [hit(score=float("-inf"))]}]),
                          data.DataError, "entry 0, hit 0", "docid d has the score -inf, not a finite number"),
    "a score 'NaN' as text": (json.dumps([{"query": "q", "hits": [hit(), hit(docid="e", rank=2, score="NaN")]}]),
                              data.DataError, "entry 0, hit 1", "docid e has the score 'NaN', not a finite number"),
}


@pytest.mark.parametrize("case", HITS_CASES)
def test_bad_hits_file_names_file_and_entry(tmp_path, case):
    content, exc, *where = HITS_CASES[case]
    p = write(tmp_path / "hits.json", content)
    raises_naming(exc, lambda: candidates.read_hits(p), p, *where)


@pytest.mark.parametrize("damage", ["plain bytes", "cut short"])
def test_damaged_gzip_names_the_file(tmp_path, damage):
    good = gzip.compress(json.dumps([GOOD_ENTRY]).encode(), mtime=0)
    p = write(tmp_path / "hits.json.gz", json.dumps([GOOD_ENTRY]).encode() if damage == "plain bytes" else good[:-12])
    raises_naming(ReadError, lambda: candidates.read_hits(p), p, "not a complete gzip file")
    assert len(candidates.read_hits(write(tmp_path / "ok.json.gz", good))[0]) == 2  # the intact file reads


# ------------------------------------------------------------------------------------------------- result files


def result(**change):
    rec = {"dataset": "dl19", "system": "bm25", "profile": "smoke", "metrics": {"nDCG@10": 0.5},
           "per_query": {"nDCG@10": {"q": 0.5}}, "provenance": {}}
    rec.update(change)
    return json.dumps({k: v for k, v in rec.items() if v is not None}, indent=2)


RESULT_CASES = {
    "empty file": ("", ReadError, ":1: not valid JSON"),
    "cut off": (result()[:40], ReadError, ":3: not valid JSON"),
    "a list": ("[1, 2]", ValueError, "a JSON list, not an object"),
    "no metrics": (result(metrics=None), ValueError, "no 'metrics'"),
    "metrics a list": (result(metrics=[0.5]), ValueError, "'metrics' is a JSON list"),
    "a metric that is text": (result(metrics={"nDCG@10": "0.5"}), ValueError, "metric 'nDCG@10' is '0.5'"),
    "per-query values a list": (result(per_query={"nDCG@10": [0.5]}), ValueError, "per_query['nDCG@10']"),
    "a per-query value that is text": (result(per_query={"nDCG@10": {"q": "0.5"}}), ValueError,
                                       "per_query['nDCG@10']['q'] is '0.5', not a finite number"),
    "a per-query value that is true": (result(per_query={"nDCG@10": {"q": True}}), ValueError,
                                       "per_query['nDCG@10']['q'] is True, not a finite number"),
    # json.dumps writes NaN and Infinity as bare words, which Python's json reads back as floats
    "a metric that is NaN": (result(metrics={"nDCG@10": float("nan")}), ValueError, "metric 'nDCG@10' is nan"),
    "a per-query value that is infinite": (result(per_query={"nDCG@10": {"q": float("inf")}}), ValueError,
                                           "per_query['nDCG@10']['q'] is inf, not a finite number"),
}


@pytest.mark.parametrize("case", RESULT_CASES)
def test_bad_result_file_names_itself(tmp_path, case):
    content, exc, where = RESULT_CASES[case]
    p = write(tmp_path / "smoke" / "dl19" / "bm25.json", content)
    raises_naming(exc, lambda: read_result(p), p, where)


@pytest.mark.parametrize("content, where", [("{", ":1: not valid JSON"),
                                            (result(per_query={"nDCG@10": {"q": "0.5"}}), ": per_query['nDCG@10']['q'] is '0.5'")])
def test_compare_with_a_bad_result_file_names_it(tmp_path, capsys, content, where):
    p = write(tmp_path / "a" / "smoke" / "dl19" / "bm25.json", content)
    write(tmp_path / "b" / "smoke" / "dl19" / "bm25.json", result())
    assert tables.main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--profile", "smoke"]) == 2
    assert f"error: {p}{where}" in capsys.readouterr().err


def test_compare_of_nothing_is_an_error_saying_where_it_looked(tmp_path, capsys):
    # one level too deep: results/smoke given as the results folder
    write(tmp_path / "a" / "smoke" / "dl19" / "bm25.json", result())
    write(tmp_path / "b" / "smoke" / "dl19" / "bm25.json", result())
    a, b = tmp_path / "a" / "smoke", tmp_path / "b" / "smoke"
    with pytest.raises(FileNotFoundError, match="no result file of profile 'smoke' in either folder"):
        tables.compare_runs(a, b, "smoke")
    assert tables.main(["compare", str(a), str(b), "--profile", "smoke"]) == 2
    captured = capsys.readouterr()
    assert f"looked in {a / 'smoke'}/<dataset>/*.json and {b / 'smoke'}/<dataset>/*.json" in captured.err
    assert "identical" not in captured.out


# ------------------------------------------------------------------------------------------------- JSONL files


GROUP = {"qid": "1", "query": "q", "passages": ["pos", "neg"], "teacher": [1.0, 0.0]}
GROUP_CASES = {
    "not JSON": ('{"qid": "1", "query": "q", "passages": ["pos", "ne', ReadError, ":2: not valid JSON"),
    "a list": ('["1", "q", ["pos", "neg"]]', ValueError, ":2: not a training group"),
    "an unknown key": (json.dumps({**GROUP, "label": 1}), ValueError, ":2: not a training group", "'label'"),
    "no passages": (json.dumps({"qid": "1", "query": "q"}), ValueError, ":2: not a training group", "passages"),
    "one passage": (json.dumps({**GROUP, "passages": ["pos"], "teacher": None}), ValueError, ":2:", "at least one negative"),
    "teacher scores miscounted": (json.dumps({**GROUP, "teacher": [1.0]}), ValueError, ":2:", "1 teacher scores for 2 passages"),
    "an empty query": (json.dumps({**GROUP, "query": ""}), ValueError, ":2:", "query 1: the query text is empty"),
    "a NaN teacher score": (json.dumps({**GROUP, "teacher": [float("nan"), 0.0]}), ValueError, ":2:", "finite numbers"),
}


@pytest.mark.parametrize("case", GROUP_CASES)
def test_bad_training_group_names_file_and_line(tmp_path, case):
    line, exc, *where = GROUP_CASES[case]
    p = write(tmp_path / "groups.jsonl", json.dumps(GROUP) + "\n" + line + "\n")
    raises_naming(exc, lambda: stage1.load_groups(p), p, *where)


def test_empty_groups_file(tmp_path):
    p = write(tmp_path / "groups.jsonl", "\n")
    raises_naming(ValueError, lambda: stage1.load_groups(p), p, "no training groups")


CHAT = {"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "[1] > [2]"}]}
CHAT_CASES = {
    "not JSON": ('{"messages": [', ReadError, ":2: not valid JSON"),
    "no messages": (json.dumps({"id": "w1"}), ValueError, ":2: not a chat example (no key 'messages')"),
    "no message at all": (json.dumps({"messages": []}), ValueError, ":2: not a chat example"),
    "an empty answer": (json.dumps({"messages": [CHAT["messages"][0], {"role": "assistant", "content": " "}]}),
                        ValueError, ":2: not a chat example", "non-empty assistant answer"),
    "a message without content": (json.dumps({"messages": [{"role": "user"}, CHAT["messages"][1]]}),
                                  ValueError, ":2: not a chat example (no key 'content')"),
    "content that is not text": (json.dumps({"messages": [{"role": "user", "content": 7}, CHAT["messages"][1]]}),
                                 ValueError, ":2: not a chat example", "not text"),
}


@pytest.mark.parametrize("case", CHAT_CASES)
def test_bad_stage2_example_names_file_and_line(tmp_path, case):
    line, exc, *where = CHAT_CASES[case]
    p = write(tmp_path / "chat.jsonl", json.dumps(CHAT) + "\n" + line + "\n")
    raises_naming(exc, lambda: stage2.load_examples(p), p, *where)


NQ = {"question": "who wrote hamlet", "answers": ["Shakespeare"], "ctxs": [{"title": "Hamlet", "text": "by Shakespeare"}]}
NQ_CASES = {
    "not JSON": ("{'question': 'x'}", ReadError, ":2: not valid JSON"),
    "no passage": (json.dumps({**NQ, "ctxs": []}), data.DataError, ":2: not an NQ-open oracle record"),
    "no answers": (json.dumps({k: v for k, v in NQ.items() if k != "answers"}), data.DataError, ":2:", "no key 'answers'"),
    "empty question": (json.dumps({**NQ, "question": ""}), data.DataError, ":2:", "query 1: the query text is empty"),
}


@pytest.mark.parametrize("case", NQ_CASES)
def test_bad_nq_record_names_file_and_line(tmp_path, case):
    line, exc, *where = NQ_CASES[case]
    p = write(tmp_path / "nq" / "nq-open-oracle.jsonl.gz", gzip.compress((json.dumps(NQ) + "\n" + line + "\n").encode()))
    raises_naming(exc, lambda: data.read_nq(p), p, *where)


# ------------------------------------------------------------------------------------------------- caches


def test_completion_cache_skips_a_cut_last_line_and_rewrites_it(tmp_path, monkeypatch):
    monkeypatch.setenv("K", "x")
    p = write(tmp_path / "c.jsonl", json.dumps({"id": "w0", "completion": "[1]"}) + '\n{"id": "w1", "compl')
    g = cot.OpenAIChatGenerator("m", p, base_url="http://127.0.0.1:9", api_key_env="K")
    assert g.cached() == {"w0": "[1]"}
    assert g.generate([]) == [] and p.read_text() == json.dumps({"id": "w0", "completion": "[1]"}) + "\n"


@pytest.mark.parametrize("bad, where", [
    ('{"id": "w1", "compl', ":2: not valid JSON"),  # cut, but not the last line: damage
    (json.dumps({"id": "w1"}), ":2: not a cached completion (no key 'completion')"),
    (json.dumps({"id": 1, "completion": "[1]"}), ":2: not a cached completion"),
])
def test_damaged_completion_cache_names_file_and_line(tmp_path, monkeypatch, bad, where):
    monkeypatch.setenv("K", "x")
    p = write(tmp_path / "c.jsonl", "\n".join([json.dumps({"id": "w0", "completion": "[1]"}), bad,
                                               json.dumps({"id": "w2", "completion": "[1]"})]) + "\n")
    g = cot.OpenAIChatGenerator("m", p, base_url="http://127.0.0.1:9", api_key_env="K")
    raises_naming(ReadError, g.cached, p, where)


def test_corrupt_teacher_cache_names_the_file(tmp_path):
    p = write(tmp_path / "teacher_cache.sqlite", b"this is not a database, just bytes " * 200)
    raises_naming(ReadError, lambda: ScoreCache(p), p, "not a teacher score cache", "delete it")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE scores (qid TEXT, docid TEXT, value REAL)")
    raises_naming(ReadError, lambda: ScoreCache(other), other, "columns ['qid', 'docid', 'value']")
    cache = ScoreCache(tmp_path / "fresh.sqlite")  # a good one works
    cache.put({"k": 1.5})
    assert cache.get(["k"]) == {"k": 1.5}


def test_corrupt_training_settings_name_the_file(tmp_path):
    p = write(tmp_path / "settings.json", '{"lr": 0.001,')
    raises_naming(ReadError, lambda: stage1.train_and_log(None, tmp_path, True, {"lr": 0.001}), p, ":1: not valid JSON")


def test_corrupt_adapter_config_names_the_file(tmp_path):
    p = write(tmp_path / "ckpt" / "adapter_config.json", "{'r': 8}")
    raises_naming(ReadError, lambda: released._adapter_config(str(tmp_path / "ckpt")), p, ":1: not valid JSON")


# ------------------------------------------------------------------------------------------------- TSV and TREC text


def noveleval_dir(tmp_path, queries="0\tfirst query\n1\tsecond query\n", corpus="0-0\tpassage a\n1-0\tpassage b\n",
                  qrels="0 0 0-0 1\n1 0 1-0 2\n"):
    d = tmp_path / "nv"
    write(d / "noveleval" / "queries.tsv", queries)
    write(d / "noveleval" / "corpus.tsv", corpus)
    write(d / "noveleval" / "qrels.txt", qrels)
    return d


NOVELEVAL_CASES = {
    "an empty query": ({"queries": "0\tfirst query\n1\t \n"}, "queries.tsv:2: query 1: the query text is empty"),
    "a query listed twice": ({"queries": "0\tfirst query\n0\tagain\n"}, "queries.tsv:2: query 0 appears twice"),
    "three columns": ({"queries": "0\tfirst query\n1\tsecond\textra\n"}, "queries.tsv:2: expected 'qid<TAB>query'"),
    "a stray quote": ({"corpus": '0-0\tpassage a\n1-0\t"quoted" then more\n'}, "corpus.tsv:2: not a tab-separated row"),
    "bytes that are not UTF-8": ({"corpus": "0-0\tpassage a\n1-0\tcaf\udce9\n".encode("utf-8", "surrogateescape")}, "corpus.tsv:2: not UTF-8"),
    "a passage of no query": ({"corpus": "0-0\tpassage a\n1-0\tpassage b\n7-0\tpassage c\n"}, "corpus.tsv:3: docid 7-0 belongs to no query"),
}


@pytest.mark.parametrize("case", NOVELEVAL_CASES)
def test_bad_noveleval_file_names_file_and_line(tmp_path, case):
    change, where = NOVELEVAL_CASES[case]
    d = noveleval_dir(tmp_path, **{k: v for k, v in change.items() if isinstance(v, str)})
    for k, v in change.items():
        if isinstance(v, bytes):
            write(d / "noveleval" / f"{k}.tsv", v)
    path = d / "noveleval" / where.split(":")[0]
    raises_naming((data.DataError, ReadError), lambda: data.read_noveleval(d / "noveleval"), path, where.split(":", 1)[1])


@pytest.mark.parametrize("content, where", [
    ("1\tfirst\n2 second\n", ":2: expected 'qid<TAB>query'"),
    ("1\tfirst\n2\t\n", ":2: query 2: the query text is empty"),
    ("1\tfirst\n1\tagain\n", ":2: query 1 appears twice"),
])
def test_bad_topics_file_names_file_and_line(tmp_path, content, where):
    p = write(tmp_path / "topics.tsv", content)
    raises_naming(data.DataError, lambda: data.read_topics(p), p, where)


@pytest.mark.parametrize("reader, content, where", [
    (trec.read_qrels, b"1 0 d1 1\n1 0 d\xff 1\n", ":2: not UTF-8"),
    (trec.read_qrels, "\n\n", ": no judgements in the file"),
    (trec.read_run, "q1 Q0 a 1 inf t\n", ":1: score 'inf' is not finite"),
    (trec.read_run, "q1 Q0 a 1 2.0 t\nq1 Q0 b 2 nan t\n", ":2: score 'nan' is not finite"),
    (trec.read_run, "q1 Q0 a 1 2.0 t\nq1 Q0 a 2 1.0 t\n", ":2: query q1 lists docid a twice"),
    (trec.read_run, "", ": no lines in the run"),
])
def test_bad_trec_file_names_file_and_line(tmp_path, reader, content, where):
    p = write(tmp_path / "f.txt", content)
    raises_naming((trec.FormatError, ReadError), lambda: reader(p), p, where)


# ------------------------------------------------------------------------------------------------- byte-order marks, CRLF

BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("reader, text, want", [
    (trec.read_qrels, "1 0 d1 2\n1 0 d2 0\n2 0 d3 1\n", {"1": {"d1": 2, "d2": 0}, "2": {"d3": 1}}),
    (trec.read_run, "1 Q0 d1 1 2.5 t\n2 Q0 d3 1 1.0 t\n", {"1": {"d1": 2.5}, "2": {"d3": 1.0}}),
    (data.read_topics, "1\tfirst query\n2\tsecond query\n", {"1": "first query", "2": "second query"}),
    (lambda p: [(c.query.qid, c.query.text, c.passages[0].text) for c in candidates.read_hits(p)],
     json.dumps([GOOD_ENTRY], indent=1), [("1", "a question", "text a")]),
    (lambda p: list(readers.read_jsonl(p)), '{"a": 1}\n{"a": 2}\n', [(1, {"a": 1}), (2, {"a": 2})]),
])
def test_a_byte_order_mark_is_dropped(tmp_path, reader, text, want):
    # Before: the mark stayed in the first qid ("\ufeff1": that query silently lost its judgements); JSON refused it
    assert reader(write(tmp_path / "f.txt", BOM + text.encode())) == want


def test_noveleval_files_saved_with_a_byte_order_mark_read_as_the_plain_ones(tmp_path):
    plain = data.read_noveleval(noveleval_dir(tmp_path / "plain") / "noveleval")
    d = noveleval_dir(tmp_path / "saved")
    for f in (d / "noveleval").iterdir():
        f.write_bytes(BOM + f.read_bytes())
    assert data.read_noveleval(d / "noveleval") == plain


@pytest.mark.parametrize("bom", [b"", BOM])
def test_crlf_line_ends_are_read_as_lf(tmp_path, bom):
    # the last column of a line is where the CR stays: a topics file's query text (qrels and runs split on spaces)
    p = write(tmp_path / "topics.tsv", bom + b"1\tfirst query\r\n2\tsecond query\r\n")
    assert data.read_topics(p) == {"1": "first query", "2": "second query"}


def test_a_byte_not_utf8_after_a_bom_is_named_at_its_line_and_offset(tmp_path):
    p = write(tmp_path / "q.txt", BOM + b"1 0 d1 1\n1 0 d\xff 1\n")
    raises_naming(ReadError, lambda: trec.read_qrels(p), p, ":2: not UTF-8 text (byte 0xff at offset 17)")


def test_the_real_dl20_topics_have_crlf_line_ends_and_read_without_cr(data_dir):
    p = data_dir / "dl20" / "topics.tsv"
    assert p.read_bytes().count(b"\r\n") == 200  # upstream's bytes, pinned by their SHA-256
    topics = data.read_topics(p)
    assert len(topics) == 200 and not [q for q, t in topics.items() if "\r" in q + t]


# ------------------------------------------------------------------------------------------------- odd inputs, one behaviour each


def test_judged_queries_without_candidates_are_counted_and_said(tmp_path):
    d = noveleval_dir(tmp_path, qrels="0 0 0-0 1\n1 0 1-0 2\n5 0 5-0 1\n9 0 9-3 2\n")
    with pytest.warns(UserWarning, match=r"2 judged queries of .*qrels.txt have no candidates .*\['5', '9'\]"):
        ds = data.read_noveleval(d / "noveleval")
    assert ds.judged_without_candidates == ["5", "9"] and ds.notes["judged queries without candidates"] == ["5", "9"]
    assert ds.subset(1).judged_without_candidates == []  # a profile's slice keeps the qrels of its queries only


@pytest.mark.parametrize("group_size", [1, 0, 2.5])
def test_group_size_below_two_is_refused(group_size):
    pool = {"g": Passage("g", "Paris is the capital"), "n": Passage("n", "Lyon")}
    from dearlib.retrieval.data import NQExample

    ex = [NQExample(Query("1", "capital of france?"), ("Paris",), "g")]
    with pytest.raises(ValueError, match=f"group_size must be an integer of at least 2 .*not {group_size}"):
        stage1.make_groups(ex, {"1": Candidates(Query("1", "q"), tuple(pool.values()), (2.0, 1.0))}, pool, group_size)
    with pytest.raises(ValueError, match="group_size must be an integer of at least 2"):
        stage1.tevatron_groups([], group_size)
    assert stage1.make_groups(ex, {"1": Candidates(Query("1", "q"), tuple(pool.values()), (2.0, 1.0))}, pool, 2)[1]["groups"] == 1


def test_readers_helper_reads_what_it_should(tmp_path):
    p = write(tmp_path / "x.jsonl.gz", gzip.compress(b'{"a": 1}\n\n{"a": 2}\n'))
    assert list(readers.read_jsonl(p)) == [(1, {"a": 1}), (3, {"a": 2})]  # line numbers of the file, blanks skipped
    assert readers.read_json(write(tmp_path / "y.json", '{"b": [1, 2]}')) == {"b": [1, 2]}


def test_an_empty_training_query_is_named():
    row = {"query_id": "17", "query": " ", "positive_passages": [{"docid": "p", "text": "pos"}],
           "negative_passages": [{"docid": "n", "text": "neg"}]}
    with pytest.raises(ValueError, match="query 17: the query text is empty"):
        stage1.tevatron_groups([row], 2)
