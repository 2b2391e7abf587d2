"""The eight BEIR sets of the paper, for the `paper` profile: BM25 top-k from pyserini's prebuilt flat indexes.

DeAR (like RankGPT) reranks BM25's top 100 on TREC-COVID, NFCorpus, Touche, DBPedia, SciFact, TREC-News, Robust04
and Signal-1M, judged by the `beir-v1.0.0-<name>-test` qrels. pyserini downloads the index, topics and qrels on
first use (network, 1-20 GB of disk per set); offline, `load_beir` stops with one message saying so. Passages carry
the index's title and text, which `Passage.contents` joins as DeAR shows them to its models. It does not rerank or
evaluate (the notebooks do, with `dearlib.stage1.rerank`, `dearlib.stage2.listwise` and `dearlib.evaluation.metrics`).
"""
from __future__ import annotations

from ..core.records import Dataset, Query

# pyserini's name (also the result files' dataset name) -> the paper's column
SETS = {"trec-covid": "Covid", "nfcorpus": "NFCorpus", "webis-touche2020": "Touche", "dbpedia-entity": "DBPedia",
        "scifact": "SciFact", "trec-news": "News", "robust04": "Robust04", "signal1m": "Signal"}


def topics_and_qrels(name: str) -> tuple[list[Query], dict[str, dict[str, int]]]:
    """A set's test queries (only those with judgements, in qid order) and its qrels, as the kit's records."""
    from pyserini.search import get_qrels, get_topics

    key = f"beir-v1.0.0-{name}-test"
    topics, qrels = get_topics(key), get_qrels(key)
    qrels = {str(q): {str(d): int(g) for d, g in docs.items()} for q, docs in qrels.items()}
    queries = [Query(str(q), t["title"]) for q, t in topics.items() if str(q) in qrels]
    if not queries:
        raise ValueError(f"BEIR {name}: no topic of {key} has judgements")
    return sorted(queries, key=lambda q: q.qid), qrels


def load_beir(name: str, depth: int = 100, k1: float = 0.9, b: float = 0.4, threads: int = 1,
              n_queries: int | None = None) -> Dataset:
    """BM25's top `depth` from the set's prebuilt flat index, with its qrels (needs the network the first time)."""
    if name not in SETS:
        raise ValueError(f"unknown BEIR set {name!r}: the paper's are {', '.join(SETS)}")
    from .bm25 import BM25, start_jvm
    from ..core.offline import require_network

    require_network(f"BEIR {name} (pyserini's prebuilt index, topics and qrels)", "1-20 GB of disk per set")
    start_jvm()
    queries, qrels = topics_and_qrels(name)
    queries = queries[:n_queries] if n_queries else queries
    searcher = BM25.prebuilt(f"beir-v1.0.0-{name}.flat", k1=k1, b=b)
    cands = searcher.retrieve(queries, depth, threads)
    kept = {q.qid for q in queries}
    return Dataset(name, cands, {q: r for q, r in qrels.items() if q in kept}, notes={"first_stage": "bm25 (pyserini flat)"})


def save(ds: Dataset, folder) -> None:
    """Notebook 01 keeps a set's candidates and qrels, so the later notebooks need no network."""
    from pathlib import Path

    from .candidates import write_hits
    from .trec import write_qrels

    write_hits(ds.candidates, Path(folder) / f"{ds.name}.bm25.json.gz")
    write_qrels(ds.qrels, Path(folder) / f"{ds.name}.qrels.txt")


def load_saved(name: str, folder) -> Dataset:
    """A set as notebook 01 saved it; a missing file names the notebook to run."""
    from pathlib import Path

    from .candidates import read_hits
    from .trec import read_qrels

    hits, qrels = Path(folder) / f"{name}.bm25.json.gz", Path(folder) / f"{name}.qrels.txt"
    for f in (hits, qrels):
        if not f.is_file():
            raise FileNotFoundError(f"{f} is missing: notebook 01 retrieves BEIR {name} in the paper profile")
    return Dataset(name, read_hits(hits), read_qrels(qrels), notes={"first_stage": "bm25 (pyserini flat)"})
