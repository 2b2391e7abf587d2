"""Candidate lists on disk: RankGPT's "hits" JSON, read with every bad entry named, and written atomically.

The format RankGPT and rank_llm read and write (``[{"query", "hits": [{"qid", "docid", "content", "score",
"rank"}]}]``, gzipped as ``*.gz``): what the data directory ships for TREC DL and what notebook 01 saves. Also
`DataError`, the error of every data file that is missing, incomplete or corrupt. It does not find the data
directory or load whole data sets (that is `data`).
"""
from __future__ import annotations

import gzip
import json
import math
import os
from pathlib import Path

from ..core import atomic, readers
from ..core.records import Candidates, Passage, Query


class DataError(RuntimeError):
    """The data directory is missing, incomplete or corrupt; the message says which files and what to do."""


def read_hits(path: Path) -> list[Candidates]:
    """Candidate lists in RankGPT's "hits" JSON ([{"query", "hits": [{"qid","docid","content","score","rank"}]}]).

    A bad entry is a DataError naming the file, the entry (0-based) and, inside it, the hit; so is a score that is
    not a finite number (Python's JSON reader takes ``NaN`` and ``Infinity``)."""
    items = readers.read_json(path)
    if not isinstance(items, list):
        raise DataError(f"{path}: not a list of {{'query', 'hits'}} entries (found a JSON {type(items).__name__})")
    out, seen_qids = [], {}
    for i, item in enumerate(items):
        where = f"{path}: entry {i}"
        try:
            hits = item.get("hits") or []
            if not hits:
                raise DataError(f"{where} (query {item.get('query')!r}) has an empty candidate list")
            qid = str(hits[0]["qid"])
            query = Query(qid, item["query"])
            texts: dict[str, str] = {}
            passages, scores = [], []
            for j, h in sorted(enumerate(hits), key=lambda jh: jh[1]["rank"]):
                where = f"{path}: entry {i}, hit {j}"
                docid = str(h["docid"])
                if str(h["qid"]) != qid:
                    raise ValueError(f"qid {h['qid']} in the candidate list of query {qid}")
                if docid in texts:
                    if texts[docid] != h["content"]:
                        raise DataError(f"{path}: query {qid}: docid {docid} appears twice with different text")
                    continue
                texts[docid] = h["content"]
                passages.append(Passage(docid, h["content"], h.get("title", "")))
                scores.append(float(h["score"]))
                if not math.isfinite(scores[-1]):
                    raise ValueError(f"docid {docid} has the score {h['score']!r}, not a finite number")
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise DataError(readers.bad_record(where, e, "a RankGPT hits entry")) from None
        if qid in seen_qids:
            raise DataError(f"{path}: entry {i}: query {qid} already has a candidate list (entry {seen_qids[qid]})")
        seen_qids[qid] = i
        out.append(Candidates(query, tuple(passages), tuple(scores)))
    if not out:
        raise DataError(f"{path}: no entries")
    return out


def write_hits(candidates: list[Candidates], path: str | os.PathLike) -> Path:
    """Save candidate lists in the "hits" JSON that `read_hits` (and RankGPT, rank_llm) read; gzipped if *.gz."""
    items = [{"query": c.query.text, "hits": [
        {"qid": c.query.qid, "docid": p.docid, "rank": r, "score": s, "content": p.text, **({"title": p.title} if p.title else {})}
        for r, (p, s) in enumerate(zip(c.passages, c.scores), 1)]} for c in candidates]
    text = json.dumps(items, ensure_ascii=False)
    if str(path).endswith(".gz"):
        return atomic.write_bytes(path, gzip.compress(text.encode(), mtime=0))
    return atomic.write_text(path, text)
