"""Read and write the TREC run and qrels text formats.

qrels: ``qid 0 docid grade`` (the second column is ignored, usually ``0`` or ``Q0``), grade an integer.
run:   ``qid Q0 docid rank score tag``.
Every malformed line is reported with its file and line number; writing is atomic. Scoring a run is
`dearlib.evaluation.metrics`'s job, not this module's.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

from ..core import atomic, readers
from ..core.records import Qrels, Run


class FormatError(ValueError):
    """A line of a TREC file that does not parse; the message names the file and line."""


def _lines(path, layout: str):
    """(line number, columns) of each non-blank line, every line holding the columns of `layout`."""
    want = len(layout.split())
    for n, line in enumerate(readers.read_text(path).split("\n"), 1):
        if not line.strip():
            continue
        cols = line.split()
        if len(cols) != want:
            raise FormatError(f"{path}:{n}: a line needs {want} columns ({layout}), found {len(cols)}: {line.strip()[:80]!r}")
        yield n, cols


def _number(path, n: int, what: str, text: str, kind=float):
    try:
        return kind(text)
    except ValueError:
        raise FormatError(f"{path}:{n}: {what} {text!r} is not {'an integer' if kind is int else 'a number'}") from None


def read_qrels(path: str | os.PathLike) -> Qrels:
    qrels: Qrels = {}
    for n, (qid, _, docid, grade) in _lines(path, "qid iter docid grade"):
        g = _number(path, n, "relevance grade", grade, int)
        old = qrels.setdefault(qid, {}).get(docid)
        if old is not None and old != g:
            raise FormatError(f"{path}:{n}: query {qid} judges docid {docid} twice, as {old} and {g}")
        qrels[qid][docid] = g
    if not qrels:
        raise FormatError(f"{path}: no judgements in the file")
    return qrels


def read_run(path: str | os.PathLike) -> Run:
    run: Run = {}
    for n, (qid, _, docid, _rank, score, _tag) in _lines(path, "qid Q0 docid rank score tag"):
        s = _number(path, n, "score", score)
        if not math.isfinite(s):
            raise FormatError(f"{path}:{n}: score {score!r} is not finite: no rank can be read from it")
        if docid in run.setdefault(qid, {}):
            raise FormatError(f"{path}:{n}: query {qid} lists docid {docid} twice")
        run[qid][docid] = s
    if not run:
        raise FormatError(f"{path}: no lines in the run")
    return run


def format_run(run: Run, tag: str) -> str:
    """The run as TREC text; a score that is not a finite number is a ValueError naming the query and docid (it
    would be written as ``nan``, which no reader, this module's included, takes back)."""
    lines = []
    for qid, docs in run.items():
        bad = next((d for d, s in docs.items() if not math.isfinite(s)), None)
        if bad is not None:
            raise ValueError(f"query {qid}: docid {bad} has the score {docs[bad]}, not a finite number: not written")
        ranked = sorted(docs.items(), key=lambda kv: -kv[1])
        lines += [f"{qid} Q0 {d} {r} {s:.6f} {tag}" for r, (d, s) in enumerate(ranked, 1)]
    return "\n".join(lines) + "\n"


def write_run(run: Run, path: str | os.PathLike, tag: str) -> Path:
    return atomic.write_text(path, format_run(run, tag))


def write_qrels(qrels: Qrels, path: str | os.PathLike) -> Path:
    text = "".join(f"{q} 0 {d} {g}\n" for q, docs in qrels.items() for d, g in docs.items())
    return atomic.write_text(path, text)
