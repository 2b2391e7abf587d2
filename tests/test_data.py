import gzip
import hashlib
import json
import os
import shutil
import time

import pytest

from dearlib.retrieval import candidates, data
from dearlib.retrieval.candidates import DataError


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
    with pytest.raises(DataError, match=r"no data directory found.*python -m dearlib.retrieval.data download"):
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
        data.read_noveleval(d / "noveleval")  # unchecked: load_noveleval refuses the changed file by its checksum


def test_query_missing_from_qrels(no_data_env, data_dir):
    d = copy_data(data_dir, no_data_env / "d")
    qrels = d / "noveleval" / "qrels.txt"
    qrels.write_text("".join(l for l in qrels.read_text().splitlines(True) if not l.startswith("7 ")))
    with pytest.raises(DataError, match=r"queries \['7'\] have no judgements"):
        data.read_noveleval(d / "noveleval")


def test_empty_candidate_list_names_the_entry(tmp_path):
    p = tmp_path / "hits.json"
    p.write_text(json.dumps([{"query": "a", "hits": [{"qid": 1, "docid": "d", "rank": 1, "score": 1.0, "content": "x"}]},
                             {"query": "why", "hits": []}]))
    with pytest.raises(DataError, match=r"entry 1 \(query 'why'\) has an empty candidate list"):
        candidates.read_hits(p)


def test_hits_round_trip(tmp_path, data_dir):
    cands = data.load_trec_dl(2019, data_dir).candidates[:3]
    p = candidates.write_hits(cands, tmp_path / "c.json.gz")
    assert candidates.read_hits(p) == cands


def upstream_mb(data_dir, files=data.MANIFEST):
    """The size of the upstream bytes of `files`, measured on the data directory (the JSON un-gzipped)."""
    n = sum(len(gzip.decompress((data_dir / f.path).read_bytes()) if f.gzip else (data_dir / f.path).read_bytes())
            for f in files)
    return f"{n / 1e6:.1f} MB"


def no_shared_data(no_data_env, monkeypatch):
    """As on a fresh machine: no DEAR_DATA_DIR, no ../shared/data beside the checkout, an empty cache."""
    monkeypatch.setattr(data, "REPO_ROOT", no_data_env / "checkout")


def temp_files(folder):
    return sorted(p.name for p in folder.rglob("*.tmp"))


def test_ensure_fills_an_empty_cache_once(no_data_env, data_dir, data_mirror, monkeypatch, capsys):
    no_shared_data(no_data_env, monkeypatch)
    monkeypatch.setenv("DEAR_DATA_UPSTREAM", data_mirror.url)
    target = data.ensure()
    assert target == data.cache_dir() and len(data_mirror.requests) == len(data.MANIFEST)
    data.verify(target)
    err = capsys.readouterr().err
    assert f"fetched 10 files ({upstream_mb(data_dir)}) into {target}" in err and data_mirror.url in err
    assert data.find_data_dir() == target and len(data.load_trec_dl(2019, target).candidates) == 43
    assert data.ensure() == target
    assert len(data_mirror.requests) == len(data.MANIFEST)  # the second run fetched nothing
    assert "nothing to fetch" in capsys.readouterr().err


def test_a_rerun_fetches_only_what_is_missing_or_corrupt(no_data_env, data_mirror):
    target = data.download(no_data_env / "dl", upstream=data_mirror.url)
    (target / "dl19" / "qrels.txt").unlink()
    killed = target / "dl19" / ".qrels.txt.x1y2.tmp"
    killed.write_text("19335 0 1017759 0\n")  # a killed run's partial file, untouched for an hour
    os.utime(killed, (time.time() - 3600,) * 2)
    live = target / "dl19" / ".qrels.txt.z9w8.tmp"
    live.write_text("19335 0 1017759 0\n")  # another run downloading right now: its file, not ours to delete
    with open(target / "noveleval" / "queries.tsv", "a") as f:
        f.write("21\tan extra query\n")
    data_mirror.requests.clear()
    data.download(target, upstream=data_mirror.url)
    fetched = {f.source for f in data.MANIFEST if f.path in ("dl19/qrels.txt", "noveleval/queries.tsv")}
    assert sorted(r.lstrip("/") for r in data_mirror.requests) == sorted(fetched)
    data.verify(target)
    assert temp_files(target) == [live.name]  # the killed run's partial file was deleted, not trusted


@pytest.mark.parametrize("served, reason", [(b"0 Q0 0-0 2\n", "checksum mismatch"),
                                            (None, "larger than the pinned 5270 bytes")])
def test_a_corrupt_file_is_rejected_by_name_and_nothing_is_kept(no_data_env, data_mirror, served, reason):
    f = next(f for f in data.MANIFEST if f.path == "noveleval/qrels.txt")
    mirrored = data_mirror.root / f.source
    mirrored.write_bytes(served or mirrored.read_bytes() + b"0 Q0 0-0 2\n")
    target = no_data_env / "dl"
    with pytest.raises(DataError, match=rf"could not fetch 1 of 10 data files from {data_mirror.url}:\n"
                                        rf"  noveleval/qrels\.txt: {reason}.*nothing was kept"):
        data.download(target, upstream=data_mirror.url)
    assert not (target / f.path).exists() and temp_files(target) == []
    for other in data.MANIFEST:
        if other is not f:
            data.verify_one(target / other.path, other)  # the other files were fetched and kept


def test_a_file_the_mirror_lacks_is_named_and_the_others_are_fetched(no_data_env, data_mirror):
    f = next(f for f in data.MANIFEST if f.path == "dl20/topics.tsv")
    (data_mirror.root / f.source).unlink()
    target = no_data_env / "dl"
    with pytest.raises(DataError, match=r"could not fetch 1 of 10 .*\n  dl20/topics\.tsv: HTTP 404 .*\nKept in .*: 9 files"):
        data.download(target, upstream=data_mirror.url)
    assert len(data_mirror.requests) == 10 and not (target / f.path).exists()


def test_offline_says_once_what_is_missing_and_writes_nothing(no_data_env, data_dir, offline_url, monkeypatch, capsys):
    no_shared_data(no_data_env, monkeypatch)
    monkeypatch.setenv("DEAR_DATA_UPSTREAM", offline_url)
    assert data.main(["ensure"]) == 1
    err = capsys.readouterr().err
    message = err[err.index("error: "):]
    assert message.count("error: ") == 1
    assert f"could not fetch 10 of 10 data files from {offline_url}" in message
    assert all(f.path in message for f in data.MANIFEST) and "refused" in message
    assert f"Nothing was written to {data.cache_dir()}" in message
    for what_to_do in ("DEAR_DATA_DIR", str(no_data_env / "shared" / "data"), "DEAR_DATA_UPSTREAM",
                       f"({upstream_mb(data_dir)} in all)"):
        assert what_to_do in message
    assert not [p for p in (no_data_env / "cache").rglob("*") if p.is_file()]


def test_ensure_only_checks_a_data_directory_it_finds(no_data_env, data_dir, offline_url, monkeypatch):
    monkeypatch.setenv("DEAR_DATA_UPSTREAM", offline_url)  # no download may be tried
    d = copy_data(data_dir, no_data_env / "d", tuple(data.DATASETS))
    monkeypatch.setenv("DEAR_DATA_DIR", str(d))
    assert data.ensure() == d
    with open(d / "dl20" / "topics.tsv", "a") as f:
        f.write("1\tan extra topic\n")
    with pytest.raises(DataError, match=r"dl20/topics\.tsv: checksum mismatch"):
        data.ensure()
    (d / "dl20" / "topics.tsv").unlink()
    with pytest.raises(DataError, match=r"incomplete: missing dl20/topics\.tsv"):
        data.ensure()  # the folder DEAR_DATA_DIR names is the user's: never filled from the network
    assert not (no_data_env / "cache").exists()


def test_topics_cover_the_judged_queries(data_dir):
    topics = data.read_topics(data_dir / "dl19" / "topics.tsv")
    ds = data.load_trec_dl(2019, data_dir)
    assert set(topics) == {q.qid for q in ds.queries} and all(topics[q.qid] == q.text for q in ds.queries)


def test_evaluation_sets_take_notebook_01s_candidates(data_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="dl19.bm25.json.gz is missing: run notebook 01"):
        data.evaluation_sets(data_dir, tmp_path)
    for name, ds in (("dl19", data.load_trec_dl(2019, data_dir)), ("dl20", data.load_trec_dl(2020, data_dir)),
                     ("noveleval", data.load_noveleval(data_dir))):
        candidates.write_hits([c.top(3) for c in ds.candidates[:2]], tmp_path / f"{name}.bm25.json.gz")  # a profile's slice
    sets = data.evaluation_sets(data_dir, tmp_path)
    assert list(sets) == ["dl19", "dl20", "noveleval"]
    assert [len(c) for c in sets["dl19"].candidates] == [3, 3] and len(sets["dl19"].qrels) == 43  # slice; all qrels


def cut(path, lines):
    """Drop the last `lines` lines of a text file, or, for a .gz, the last `lines` bytes (a cut download)."""
    raw = path.read_bytes()
    path.write_bytes(raw[:-lines] if path.suffix == ".gz" else b"".join(raw.splitlines(True)[:-lines]))


LOADERS = {"dl19": lambda: data.load_trec_dl(2019), "dl20": lambda: data.load_trec_dl(2020),
           "noveleval": data.load_noveleval, "nq": data.load_nq}


@pytest.mark.parametrize("damaged, lines", [("dl19/qrels.txt", 300), ("dl20/qrels.txt", 1), ("dl19/bm25_top100.json.gz", 20),
                                            ("noveleval/corpus.tsv", 1), ("noveleval/queries.tsv", 1),
                                            ("nq/nq-open-oracle.jsonl.gz", 1000)])
def test_a_loader_refuses_a_cut_data_file_naming_it_both_digests_and_the_mend(no_data_env, data_dir, monkeypatch,
                                                                               damaged, lines):
    # Before: DL19 qrels cut 300 lines short loaded without a word and scored BM25 nDCG@10 0.4970, not 0.5058.
    dataset = damaged.split("/")[0]
    d = copy_data(data_dir, no_data_env / "d", (dataset,))
    monkeypatch.setenv("DEAR_DATA_DIR", str(d))
    LOADERS[dataset]()  # the intact copy loads (and is remembered as checked)
    cut(d / damaged, lines)
    f = next(f for f in data.MANIFEST if f.path == damaged)
    found = "none (not a complete gzip file)" if f.gzip else hashlib.sha256((d / damaged).read_bytes()).hexdigest()
    with pytest.raises(DataError) as info:
        LOADERS[dataset]()
    assert str(info.value) == (
        f"{d / damaged}: checksum mismatch: expected sha256 {f.sha256} (the upstream file {f.source}), found {found}; "
        "the file is corrupt or not the pinned version. Get an intact copy with:  python -m dearlib.retrieval.data "
        f"download --to {d}  (fetches only the files missing or corrupt; network needed), or copy it from the kit's "
        "shared data")


def test_a_loader_hashes_each_file_once_per_process_until_it_changes(no_data_env, data_dir, monkeypatch):
    d = copy_data(data_dir, no_data_env / "d", ("dl19",))
    monkeypatch.setenv("DEAR_DATA_DIR", str(d))
    monkeypatch.setattr(data, "_verified", set())
    hashed = []
    monkeypatch.setattr(data, "_sha256", lambda raw: hashed.append(len(raw)) or hashlib.sha256(raw).hexdigest())
    for _ in range(5):
        assert len(data.load_trec_dl(2019).candidates) == 43
    assert len(hashed) == 2  # qrels and the BM25 candidates, once each; topics.tsv is not read
    os.utime(d / "dl19" / "qrels.txt", ns=(0, 0))  # touched: the same size, another mtime
    data.load_trec_dl(2019)
    assert len(hashed) == 3
    with open(d / "dl19" / "qrels.txt", "a") as f:  # changed: hashed again, and refused
        f.write("19335 0 1017759 0\n")
    with pytest.raises(DataError, match=r"dl19/qrels\.txt: checksum mismatch"):
        data.load_trec_dl(2019)
