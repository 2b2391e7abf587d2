"""Find the evaluation data, check it, and load it into `dearlib.core.records`.

The data directory is looked for in this order:
1. the environment variable ``DEAR_DATA_DIR``;
2. ``../shared/data`` beside the checkout (what CI and the `mini` profile use);
3. a user cache (``~/.cache/dear-kit/data``, or ``$XDG_CACHE_HOME/dear-kit/data``), filled by `download()` from
   the pinned upstream files below (or a mirror: ``DEAR_DATA_UPSTREAM``), each checked against its SHA-256 before
   it is kept. `ensure()` (``python -m dearlib.retrieval.data ensure``, the first step of ./run_all.sh and ./run_tests.sh)
   downloads there when no data directory is found.

The data files are public data sets (see the data README for licences) and are never committed to the kit.
This module loads NovelEval-2306, TREC DL19/DL20 (BM25 top-100 in RankGPT's "hits" JSON, qrels, topics) and the
NQ-open oracle file. The loaders (``load_*``) check each file they read against its pinned SHA-256 first, once per
process (`check_file` remembers a file by its resolved path, size and modification time): a DL19 qrels file cut
300 lines short would otherwise load without a word and score BM25 0.4970 instead of 0.5058. The readers
(``read_*``) parse files at any path, unchecked (a file not in the manifest, a test's own). It does not retrieve (that is `dearlib.retrieval.bm25`) and does not score (`dearlib.evaluation.metrics`).
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import http.client
import io
import os
import sys
import time
import urllib.error
import urllib.request
import warnings
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from ..core import atomic, readers
from ..core.records import Candidates, Dataset, Passage, Query
from ..core.schema import ROOT as REPO_ROOT
from .candidates import DataError, read_hits
from .trec import read_qrels

UPSTREAM = "https://raw.githubusercontent.com"
RANKGPT = "sunnweiwei/RankGPT/0d62bc3855c7c118048a7c47c18e719b938e291a"
RANK_LLM = "castorini/rank_llm/97f5fc162a4c6d664d14b1b930d56a6c759faf3a"
ANSERINI_TOOLS = "castorini/anserini-tools/5b819c1a45c8a0a3ec9426f476694f44a29dfaf3"
LOST_IN_THE_MIDDLE = "nelson-liu/lost-in-the-middle/29b8a6d042ce29abccee3db1a73171a107d7e6af"


@dataclass(frozen=True)
class DataFile:
    path: str  # where the file lies in a data directory
    source: str  # upstream "owner/repo/commit/path"; the commit pins the bytes
    sha256: str  # of the upstream bytes (for the .json.gz files: of the JSON before it is gzipped here)
    size: int  # of the upstream bytes, for the progress bar and to stop reading a wrong file early
    gzip: bool = False  # upstream serves plain JSON; the data directory keeps it gzipped


MANIFEST = (
    DataFile("noveleval/corpus.tsv", f"{RANKGPT}/NovelEval/corpus.tsv", "a62a5609a69ab2ec330d48c72bcd5a1bf3eb243ffcb2fa355013ab2512b1a99a", 385372),
    DataFile("noveleval/queries.tsv", f"{RANKGPT}/NovelEval/queries.tsv", "78ed1ab0c4cc42a9b2d3a774d85a751cb792b01a7dfd9c1fa1401278b4736519", 1096),
    DataFile("noveleval/qrels.txt", f"{RANKGPT}/NovelEval/qrels.txt", "39b0be49af40899346a32caa4e8c4aa79c15b03d7e8eef4cb0682db14109750f", 5270),
    DataFile("dl19/bm25_top100.json.gz", f"{RANK_LLM}/retrieve_results/BM25/retrieve_results_dl19.json", "4f3e4aba8bb68c1b38405da010f44537f31d3b5fff7088ef97c03caed1076674", 2306085, gzip=True),
    DataFile("dl19/qrels.txt", f"{ANSERINI_TOOLS}/qrels/qrels.dl19-passage.txt", "8a1f10d550732e4cd91d7fc49846a3784de4040972f583e69285a88f3c5fee92", 187092),
    DataFile("dl19/topics.tsv", f"{ANSERINI_TOOLS}/topics/topics.dl19-passage.txt", "518992da259fb61f64e4790791df91a7b42ea5773f374aed59220ebb51d58d90", 1764),
    DataFile("dl20/bm25_top100.json.gz", f"{RANK_LLM}/retrieve_results/BM25/retrieve_results_dl20.json", "68b0ea4515ea022de921d54d5a53b4e93ed2f2993d350323c3173e47f3cea9f0", 2912805, gzip=True),
    DataFile("dl20/qrels.txt", f"{ANSERINI_TOOLS}/qrels/qrels.dl20-passage.txt", "60d4c34561f9687f8f73e0a752ba80ab80159b3e9c1bedd0a351f747ed6f5684", 218617),
    DataFile("dl20/topics.tsv", f"{ANSERINI_TOOLS}/topics/topics.dl20.txt", "726cb4018b85a335fcbe09004df7f084ec1bf20531961d9af7b0c71dd609e69b", 8394),
    DataFile("nq/nq-open-oracle.jsonl.gz", f"{LOST_IN_THE_MIDDLE}/qa_data/nq-open-oracle.jsonl.gz", "6a7f72b846f663a133ef952244e5a4e43f06bcf190afe34e8fbe687ce0d1653e", 900334),
)
STALE_S = 600  # a partial download untouched this long was left by a killed run; a live one writes every 64 KiB
DATASETS = {"noveleval": "noveleval/", "dl19": "dl19/", "dl20": "dl20/", "nq": "nq/"}


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dear-kit" / "data"


def _how_to_get() -> str:
    return (
        "Set DEAR_DATA_DIR to a folder holding them, place the kit's shared data at ../shared/data beside the "
        f"checkout, or download them (network needed) with:  python -m dearlib.retrieval.data download  (into {cache_dir()})"
    )


def find_data_dir(datasets=tuple(DATASETS)) -> Path:
    """The first data directory that holds every file of `datasets`; a clear DataError otherwise."""
    env = os.environ.get("DEAR_DATA_DIR")
    places = [Path(env)] if env else [REPO_ROOT.parent / "shared" / "data", cache_dir()]
    for place in places:
        if place.is_dir() and not missing_files(place, datasets):
            return place
    place = next((p for p in places if p.is_dir()), None)
    if place is None:
        raise DataError(f"no data directory found (looked in: {', '.join(map(str, places))}). {_how_to_get()}")
    names = ", ".join(missing_files(place, datasets))
    raise DataError(f"data directory {place} is incomplete: missing {names}. {_how_to_get()}")


def _files(datasets) -> list[DataFile]:
    return [f for f in MANIFEST if f.path.startswith(tuple(DATASETS[d] for d in datasets))]


def missing_files(data_dir: Path, datasets=tuple(DATASETS)) -> list[str]:
    return [f.path for f in _files(datasets) if not (data_dir / f.path).is_file()]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(data_dir: Path, datasets=tuple(DATASETS)) -> None:
    """Check each file of `datasets` against the pinned checksum of its upstream bytes; DataError on mismatch."""
    for f in _files(datasets):
        verify_one(data_dir / f.path, f)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def download(target: Path | None = None, upstream: str | None = None, datasets=tuple(DATASETS)) -> Path:
    """Fetch the pinned files of `datasets` into `target` (default: the user cache), checking each checksum.

    Files already present and correct are kept, so a rerun fetches only what is missing or corrupt. Each file is
    streamed into a temporary file beside its destination and renamed only after its SHA-256 matches the pin: an
    interrupted or corrupt download leaves nothing behind (a temporary file left by a killed run is deleted, never
    trusted). `upstream` (or $DEAR_DATA_UPSTREAM) replaces the base URL, for a mirror with the same layout.
    On failure, one DataError lists every file not fetched, the base URL and what to do.
    """
    from tqdm import tqdm

    target = Path(target) if target else cache_dir()
    upstream = (upstream or os.environ.get("DEAR_DATA_UPSTREAM") or UPSTREAM).rstrip("/")
    files = _files(datasets)
    todo = [f for f in files if not _is_intact(target / f.path, f)]
    if not todo:
        print(f"Data: all {len(files)} files in {target} match their pinned SHA-256; nothing to fetch.", file=sys.stderr)
        return target
    print(f"Data: fetching {len(todo)} of {len(files)} files ({_mb(sum(f.size for f in todo))}) from {upstream} "
          f"into {target}", file=sys.stderr)
    failed: dict[str, list[str]] = {}  # reason -> files
    fetched = 0
    with tqdm(total=sum(f.size for f in todo), unit="B", unit_scale=True, file=sys.stderr, mininterval=1) as bar:
        for i, f in enumerate(todo):
            bar.set_description(f"[{i + 1}/{len(todo)}] {f.path}")
            try:
                fetched += _fetch(f"{upstream}/{f.source}", f, target / f.path, bar)
            except DataError as e:  # wrong bytes: this file only
                failed.setdefault(str(e), []).append(f.path)
            except urllib.error.HTTPError as e:  # the server answers but lacks this file
                failed.setdefault(f"HTTP {e.code} {e.reason}", []).append(f.path)
            except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as e:
                # the server cannot be reached: the files after this one would fail the same way
                failed.setdefault(f"not reachable ({getattr(e, 'reason', None) or e})", []).extend(g.path for g in todo[i:])
                break
    done = len(todo) - sum(map(len, failed.values()))
    if failed:
        lines = "\n".join(f"  {', '.join(paths)}: {reason}" for reason, paths in failed.items())
        raise DataError(
            f"could not fetch {len(todo) - done} of {len(files)} data files from {upstream}:\n{lines}\n"
            + (f"Kept in {target}: {done} files fetched now ({_mb(fetched)}), {len(files) - len(todo)} there before; "
               "nothing half-written." if done or len(files) > len(todo) else f"Nothing was written to {target}.")
            + " To go on, either set DEAR_DATA_DIR to a folder holding the kit's data, place it "
            f"at {REPO_ROOT.parent / 'shared' / 'data'}, or rerun with network access to {upstream} "
            f"({_mb(sum(f.size for f in files))} in all) or to a mirror with the same layout "
            "(DEAR_DATA_UPSTREAM=<base URL>). A rerun fetches only the files still missing.")
    print(f"Data: fetched {done} files ({_mb(fetched)}) into {target}; all {len(files)} match their pinned SHA-256.",
          file=sys.stderr)
    return target


def _fetch(url: str, f: DataFile, dest: Path, bar) -> int:
    """Stream `url` to a temporary file beside `dest` (gzipped if `f.gzip`), renamed to `dest` only if it matches."""
    for partial in dest.parent.glob(f".{dest.name}.*.tmp"):  # a killed run's is never trusted; another live run's is its own
        try:
            if time.time() - partial.stat().st_mtime > STALE_S:
                partial.unlink()
        except FileNotFoundError:  # its run finished (renamed it) or cleaned it meanwhile
            pass
    digest, n = hashlib.sha256(), 0
    with urllib.request.urlopen(url, timeout=60) as r, atomic.writing(dest) as out:
        sink = gzip.GzipFile(fileobj=out, mode="wb", mtime=0) if f.gzip else out
        while chunk := r.read(1 << 16):
            n += len(chunk)
            if n > f.size:  # larger than the pinned file: not it, whatever follows
                raise DataError(f"larger than the pinned {f.size} bytes: not the pinned file (from {url}); nothing was kept")
            digest.update(chunk)
            sink.write(chunk)
            bar.update(len(chunk))
        if f.gzip:
            sink.close()  # writes the gzip trailer; `out` stays open
        if digest.hexdigest() != f.sha256:
            raise DataError(f"checksum mismatch: expected sha256 {f.sha256}, got {digest.hexdigest()} (from {url}); "
                            "nothing was kept")
    return n


def _is_intact(path: Path, f: DataFile) -> bool:
    try:
        verify_one(path, f)
        return True
    except (DataError, FileNotFoundError):
        return False


def ensure(datasets=tuple(DATASETS)) -> Path:
    """The data directory, checked: the one `find_data_dir` finds, else the user cache, filled by `download`.

    What ./run_all.sh and ./run_tests.sh call first, so that a fresh machine needs no manual step. A folder named
    by DEAR_DATA_DIR is only checked, never written to.
    """
    try:
        found = find_data_dir(datasets)
    except DataError:
        if os.environ.get("DEAR_DATA_DIR"):
            raise
        found = None
    if found is None or found == cache_dir():
        return download(cache_dir(), datasets=datasets)  # checks what is there; fetches what is missing or corrupt
    verify(found, datasets)
    print(f"Data: using {found} (all {len(_files(datasets))} files match their pinned SHA-256)", file=sys.stderr)
    return found


def verify_one(path: Path, f: DataFile) -> None:
    """Hash `path` and compare with `f`'s pin; a DataError naming the file, both digests and how to mend it."""
    raw = path.read_bytes()
    try:
        found = _sha256(gzip.decompress(raw) if f.gzip else raw)
    except (OSError, EOFError, zlib.error):  # a truncated or non-gzip file
        found = "none (not a complete gzip file)"
    if found != f.sha256:
        data_dir = path.parents[f.path.count("/")]
        raise DataError(f"{path}: checksum mismatch: expected sha256 {f.sha256} (the upstream file {f.source}), found "
                        f"{found}; the file is corrupt or not the pinned version. Get an intact copy with:  python -m "
                        f"dearlib.retrieval.data download --to {data_dir}  (fetches only the files missing or corrupt; "
                        "network needed), or copy it from the kit's shared data")


_verified: set[tuple[str, int, int]] = set()  # (resolved path, size, mtime in ns) of each file that matched its pin


def check_file(data_dir: Path, path: str) -> Path:
    """``data_dir / path``, checked against the manifest's SHA-256 once per process (a changed size or mtime is
    checked again); a file the manifest does not pin is returned unchecked."""
    full = Path(data_dir) / path
    f = next((f for f in MANIFEST if f.path == path), None)
    if f is None:
        return full
    st = full.stat()
    key = (str(full.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        verify_one(full, f)
        _verified.add(key)
    return full


# ---------------------------------------------------------------------------------------------------- loaders


def _read_tsv(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, columns) of each non-empty row."""
    # NovelEval's corpus is CSV-quoted (doubled quotes, a passage containing tabs): a plain split corrupts 80 rows.
    csv.field_size_limit(sys.maxsize)
    reader = csv.reader(io.StringIO(readers.read_text(path), newline=""), delimiter="\t", strict=True)
    try:
        return [(reader.line_num, row) for row in reader if row]
    except csv.Error as e:
        raise DataError(f"{path}:{reader.line_num}: not a tab-separated row ({e})") from None


def _report_unranked(ds: Dataset, qrels_path: Path, candidates_path: Path) -> Dataset:
    """Judged queries without candidates are counted in the notes and said, never dropped without a word."""
    missing = ds.judged_without_candidates
    if missing:
        ds.notes["judged queries without candidates"] = missing
        warnings.warn(f"{ds.name}: {len(missing)} judged queries of {qrels_path} have no candidates in {candidates_path} "
                      f"(e.g. {missing[:10]}): nothing can rank their relevant passages; an evaluation over all of "
                      "the qrels scores them 0, one over the candidates' queries leaves them out")
    return ds


def _check_judged(name: str, qids: list[str], qrels: dict, qrels_path: Path) -> None:
    missing = [q for q in qids if q not in qrels]
    if missing:
        raise DataError(f"{name}: queries {missing[:10]} have no judgements in {qrels_path}")


def load_noveleval(data_dir: Path | None = None) -> Dataset:
    """NovelEval-2306: 21 queries, each with its own 20 candidates, in the corpus file's order (not BM25's).

    The candidates' scores are 0.0: this order is Google's, and BM25 must rank them (`dearlib.retrieval.bm25`).
    Each file is checked against its pinned SHA-256 first (`check_file`).
    """
    data_dir = data_dir or find_data_dir(("noveleval",))
    for f in _files(("noveleval",)):
        check_file(data_dir, f.path)
    return read_noveleval(data_dir / "noveleval")


def read_noveleval(d: Path) -> Dataset:
    """NovelEval from a folder holding queries.tsv, corpus.tsv and qrels.txt, unchecked (see `load_noveleval`)."""
    queries = {}
    for n, row in _read_tsv(d / "queries.tsv"):
        if len(row) != 2:
            raise DataError(f"{d / 'queries.tsv'}:{n}: expected 'qid<TAB>query', found {len(row)} columns")
        if row[0] in queries:
            raise DataError(f"{d / 'queries.tsv'}:{n}: query {row[0]} appears twice")
        try:
            queries[row[0]] = Query(row[0], row[1])
        except ValueError as e:
            raise DataError(f"{d / 'queries.tsv'}:{n}: {e}") from None
    passages: dict[str, list[Passage]] = {q: [] for q in queries}
    seen: dict[str, str] = {}
    for n, row in _read_tsv(d / "corpus.tsv"):
        if len(row) != 2:
            raise DataError(f"{d / 'corpus.tsv'}:{n}: expected 'docid<TAB>content', found {len(row)} columns")
        docid, text = row
        if docid in seen:
            if seen[docid] != text:
                raise DataError(f"{d / 'corpus.tsv'}:{n}: docid {docid} appears twice with different text")
            continue
        seen[docid] = text
        qid = docid.split("-")[0]
        if qid not in passages:
            raise DataError(f"{d / 'corpus.tsv'}:{n}: docid {docid} belongs to no query (query ids: 0..{len(queries) - 1})")
        passages[qid].append(Passage(docid, text))
    qrels = read_qrels(d / "qrels.txt")
    _check_judged("noveleval", list(queries), qrels, d / "qrels.txt")
    cands = []
    for qid, q in queries.items():
        if not passages[qid]:
            raise DataError(f"{d / 'corpus.tsv'}: query {qid} has no candidate passages")
        cands.append(Candidates(q, tuple(passages[qid]), tuple(0.0 for _ in passages[qid])))
    ds = Dataset("noveleval", cands, qrels, min_rel=1, notes={"first_stage": "corpus order (Google); rank with BM25"})
    return _report_unranked(ds, d / "qrels.txt", d / "corpus.tsv")


def read_topics(path: Path) -> dict[str, str]:
    topics = {}
    for n, line in enumerate(readers.read_text(path).split("\n"), 1):
        if not line.strip():
            continue
        qid, sep, text = line.partition("\t")
        if not sep:
            raise DataError(f"{path}:{n}: expected 'qid<TAB>query'")
        if not text.strip():
            raise DataError(f"{path}:{n}: query {qid}: the query text is empty")
        if qid in topics:
            raise DataError(f"{path}:{n}: query {qid} appears twice")
        topics[qid] = text
    return topics


def load_trec_dl(year: int, data_dir: Path | None = None, first_stage: str = "bm25") -> Dataset:
    """TREC DL 2019 or 2020 passage: the judged queries with their BM25 (or SPLADE++) top-100 from pyserini."""
    name = f"dl{year % 100}"
    if name not in ("dl19", "dl20"):
        raise ValueError(f"TREC DL year must be 2019 or 2020, not {year}")
    if first_stage not in ("bm25", "spladepp"):
        raise ValueError(f"first_stage must be 'bm25' or 'spladepp', not {first_stage!r}")
    data_dir = data_dir or find_data_dir((name,))
    d = data_dir / name
    qrels = read_qrels(check_file(data_dir, f"{name}/qrels.txt"))
    cands = read_hits(check_file(data_dir, f"{name}/{first_stage}_top100.json.gz"))  # SPLADE++'s is not pinned
    _check_judged(name, [c.query.qid for c in cands], qrels, d / "qrels.txt")
    ds = Dataset(name, cands, qrels, min_rel=2, notes={"first_stage": f"{first_stage} top-100 (pyserini, msmarco-v1-passage)"})
    return _report_unranked(ds, d / "qrels.txt", d / f"{first_stage}_top100.json.gz")


@dataclass(frozen=True)
class NQExample:
    """An NQ-open question with its answers and the gold Wikipedia passage (its docid in the passage pool)."""

    query: Query
    answers: tuple[str, ...]
    gold_docid: str


def evaluation_sets(data_dir: Path, candidates_dir: Path, beir_sets=()) -> dict[str, Dataset]:
    """DL19, DL20 and NovelEval (and the BEIR sets notebook 01 saved) with notebook 01's BM25 candidates (a
    profile's slice) and their qrels: what notebooks 02, 04 and 08 rerank."""
    from .beir import load_saved

    sets = {"dl19": load_trec_dl(2019, data_dir), "dl20": load_trec_dl(2020, data_dir), "noveleval": load_noveleval(data_dir)}
    for name, ds in sets.items():
        path = Path(candidates_dir) / f"{name}.bm25.json.gz"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run notebook 01 first (./run_all.sh runs the notebooks in order)")
        sets[name] = replace(ds, candidates=read_hits(path))
    for name in beir_sets:
        sets[name] = load_saved(name, candidates_dir)
    return sets


def load_nq(data_dir: Path | None = None) -> tuple[list[NQExample], dict[str, Passage]]:
    """The NQ-open oracle file: 2,655 questions and the pool of their gold passages (identical passages merged).

    Query ids are the line numbers (0-based) as strings; passage ids are ``nq-<n>`` in order of first appearance.
    The file is checked against its pinned SHA-256 first (`check_file`).
    """
    return read_nq(check_file(data_dir or find_data_dir(("nq",)), "nq/nq-open-oracle.jsonl.gz"))


def read_nq(path: Path) -> tuple[list[NQExample], dict[str, Passage]]:
    """The NQ-open oracle records of `path`, unchecked (see `load_nq`)."""
    examples, pool, by_content = [], {}, {}
    for n, rec in readers.read_jsonl(path):
        try:
            ctx = rec["ctxs"][0]
            key = (ctx["title"], ctx["text"])
            query, answers = Query(str(n - 1), rec["question"]), tuple(rec["answers"])
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise DataError(readers.bad_record(f"{path}:{n}", e, "an NQ-open oracle record")) from None
        if key not in by_content:
            docid = f"nq-{len(pool)}"
            by_content[key] = docid
            pool[docid] = Passage(docid, ctx["text"], ctx["title"])
        examples.append(NQExample(query, answers, by_content[key]))
    return examples, pool


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m dearlib.retrieval.data", description="Find, check or download the kit's data.")
    ap.add_argument("command", choices=["where", "verify", "download", "ensure"],
                    help="ensure: use the data directory found, or download into the user cache if there is none")
    ap.add_argument("--to", type=Path, help="download target (default: the user cache)")
    a = ap.parse_args(argv)
    try:
        if a.command == "download":
            print(download(a.to))
        elif a.command == "ensure":
            ensure()
        else:
            d = find_data_dir()
            if a.command == "verify":
                verify(d)
                print(f"{d}: all {len(MANIFEST)} files match their pinned checksums")
            else:
                print(d)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
