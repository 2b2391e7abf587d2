import gzip
import http.server
import json
import shutil
import threading
from functools import partial

import pytest

from dearlib import data
from dearlib.data import DataError


def test_noveleval_loads_all_passages_intact(data_dir):
    ds = data.load_noveleval(data_dir)
    assert [q.qid for q in ds.queries] == [str(i) for i in range(21)]
    assert all(len(c) == 20 for c in ds.candidates)
    doc = {p.docid: p for c in ds.candidates for p in c.passages}["14-17"]
    assert "\t" in doc.text  # the CSV-quoted passage with tabs survives; a plain split would cut it
    assert sum(len(v) for v in ds.qrels.values()) == 420


def test_trec_dl_loads_judged_queries_with_top100(data_dir):
    for year, n in ((2019, 43), (2020, 54)):
        ds = data.load_trec_dl(year, data_dir)
        assert len(ds.candidates) == n and all(len(c) == 100 for c in ds.candidates)
        assert ds.min_rel == 2 and set(ds.qrels) >= {q.qid for q in ds.queries}


def test_nq_pool_merges_identical_gold_passages(data_dir):
    examples, pool = data.load_nq(data_dir)
    assert len(examples) == 2655
    assert len(pool) < len(examples)  # some questions share a gold passage
    assert all(e.gold_docid in pool for e in examples)
    assert len({(p.title, p.text) for p in pool.values()}) == len(pool)


def copy_data(data_dir, dst, datasets=("noveleval",)):
    for f in data.MANIFEST:
        if f.path.split("/")[0] in datasets:
            (dst / f.path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(data_dir / f.path, dst / f.path)
    return dst


def test_lookup_order_env_then_shared(no_data_env, data_dir, monkeypatch):
    d = copy_data(data_dir, no_data_env / "d")
    monkeypatch.setenv("DEAR_DATA_DIR", str(d))
    assert data.find_data_dir(("noveleval",)) == d
    monkeypatch.delenv("DEAR_DATA_DIR")
    assert data.find_data_dir() == data.REPO_ROOT.parent / "shared" / "data"


def test_missing_data_directory_says_how_to_get_it(no_data_env, monkeypatch):
    monkeypatch.setenv("DEAR_DATA_DIR", str(no_data_env / "nowhere"))
    with pytest.raises(DataError, match=r"no data directory found.*python -m dearlib.data download"):
        data.find_data_dir()


def test_incomplete_data_directory_names_missing_files(no_data_env, data_dir, monkeypatch):
    d = copy_data(data_dir, no_data_env / "d")
    (d / "noveleval" / "qrels.txt").unlink()
    monkeypatch.setenv("DEAR_DATA_DIR", str(d))
    with pytest.raises(DataError, match=r"incomplete: missing noveleval/qrels\.txt"):
        data.find_data_dir(("noveleval",))


def test_checksum_mismatch_is_detected(no_data_env, data_dir):
    d = copy_data(data_dir, no_data_env / "d")
    with open(d / "noveleval" / "queries.tsv", "a") as f:
        f.write("21\tan extra query\n")
    with pytest.raises(DataError, match=r"queries\.tsv: checksum mismatch"):
        data.verify(d, ("noveleval",))


def test_duplicate_docid_with_different_text(no_data_env, data_dir):
    d = copy_data(data_dir, no_data_env / "d")
    with open(d / "noveleval" / "corpus.tsv", "a") as f:
        f.write("3-1\tsomething else entirely\n")
    with pytest.raises(DataError, match=r"corpus\.tsv:\d+: docid 3-1 appears twice with different text"):
        data.load_noveleval(d)


def test_query_missing_from_qrels(no_data_env, data_dir):
    d = copy_data(data_dir, no_data_env / "d")
    qrels = d / "noveleval" / "qrels.txt"
    qrels.write_text("".join(l for l in qrels.read_text().splitlines(True) if not l.startswith("7 ")))
    with pytest.raises(DataError, match=r"queries \['7'\] have no judgements"):
        data.load_noveleval(d)


def test_empty_candidate_list_names_the_entry(tmp_path):
    p = tmp_path / "hits.json"
    p.write_text(json.dumps([{"query": "a", "hits": [{"qid": 1, "docid": "d", "rank": 1, "score": 1.0, "content": "x"}]},
                             {"query": "why", "hits": []}]))
    with pytest.raises(DataError, match=r"entry 1 \(query 'why'\) has an empty candidate list"):
        data.read_hits(p)


def test_hits_round_trip(tmp_path, data_dir):
    cands = data.load_trec_dl(2019, data_dir).candidates[:3]
    p = data.write_hits(cands, tmp_path / "c.json.gz")
    assert data.read_hits(p) == cands


@pytest.fixture
def mirror(tmp_path, data_dir):
    """A loopback HTTP server laid out like the upstream (owner/repo/commit/path), serving the pinned bytes."""
    root = tmp_path / "mirror"
    for f in data.MANIFEST:
        if f.path.startswith(("noveleval/", "dl19/")):
            dst = root / f.source
            dst.parent.mkdir(parents=True, exist_ok=True)
            raw = (data_dir / f.path).read_bytes()
            dst.write_bytes(gzip.decompress(raw) if f.gzip else raw)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_checks_and_fills_the_cache(no_data_env, mirror, monkeypatch):
    _, url = mirror
    target = data.download(upstream=url, datasets=("noveleval", "dl19"))
    assert target == data.cache_dir()
    data.verify(target, ("noveleval", "dl19"))
    # with no DEAR_DATA_DIR and no ../shared/data beside the checkout, the cache is where the data is found
    monkeypatch.setattr(data, "REPO_ROOT", no_data_env / "checkout")
    assert data.find_data_dir(("noveleval", "dl19")) == target
    assert len(data.load_trec_dl(2019, target).candidates) == 43


def test_download_with_checksum_mismatch_writes_nothing(no_data_env, mirror):
    root, url = mirror
    f = next(f for f in data.MANIFEST if f.path == "noveleval/qrels.txt")
    (root / f.source).write_text("0 Q0 0-0 2\n")
    with pytest.raises(DataError, match=r"checksum mismatch for .*qrels\.txt.*nothing was written"):
        data.download(no_data_env / "dl", upstream=url, datasets=("noveleval",))
    assert not (no_data_env / "dl" / "noveleval" / "qrels.txt").exists()


def test_topics_cover_the_judged_queries(data_dir):
    topics = data.read_topics(data_dir / "dl19" / "topics.tsv")
    ds = data.load_trec_dl(2019, data_dir)
    assert set(topics) == {q.qid for q in ds.queries} and all(topics[q.qid] == q.text for q in ds.queries)


def test_evaluation_sets_take_notebook_01s_candidates(data_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="dl19.bm25.json.gz is missing: run notebook 01"):
        data.evaluation_sets(data_dir, tmp_path)
    for name, ds in (("dl19", data.load_trec_dl(2019, data_dir)), ("dl20", data.load_trec_dl(2020, data_dir)),
                     ("noveleval", data.load_noveleval(data_dir))):
        data.write_hits([c.top(3) for c in ds.candidates[:2]], tmp_path / f"{name}.bm25.json.gz")  # a profile's slice
    sets = data.evaluation_sets(data_dir, tmp_path)
    assert list(sets) == ["dl19", "dl20", "noveleval"]
    assert [len(c) for c in sets["dl19"].candidates] == [3, 3] and len(sets["dl19"].qrels) == 43  # slice; all qrels
