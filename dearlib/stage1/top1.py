"""The first rank under a microscope: the queries where a reranker's top passage differs from BM25's.

nDCG@1 reads one passage per query, so a drop in it is a count of queries whose top passage got worse. `changes`
lists those queries with the judged grade of BM25's, the reranker's and (optionally) the teacher's top passage;
`summary` counts what the reranker did there: how often its new top passage is judged lower, higher or the same,
how often it is judged 0 or not judged at all, and how often the teacher put the same passage first. It reranks
nothing (`dearlib.stage1.rerank`) and computes no trec_eval measure (`dearlib.evaluation.metrics`).
"""
from __future__ import annotations

import pandas as pd

from ..core.records import Candidates, Qrels


def changes(bm25: list[Candidates], reranked: list[Candidates], qrels: Qrels, teacher: list[Candidates] | None = None) -> pd.DataFrame:
    """One row per query (of `reranked`) whose top passage is not BM25's: the query, both top docids and grades
    (None: not judged), and the teacher's top passage and grade when `teacher` is given."""
    first = lambda lists: {c.query.qid: c.passages[0] for c in lists}
    b, t = first(bm25), first(teacher) if teacher is not None else {}
    missing = [c.query.qid for c in reranked if c.query.qid not in b or (teacher is not None and c.query.qid not in t)]
    if missing:
        raise ValueError(f"queries {missing[:5]} of the reranked lists have no BM25 (or teacher) list")
    rows = []
    for c in reranked:
        q, top = c.query.qid, c.passages[0]
        if top.docid == b[q].docid:
            continue
        judged = qrels.get(q, {})
        row = {"qid": q, "query": c.query.text, "BM25 top": b[q].docid, "BM25 grade": judged.get(b[q].docid),
               "student top": top.docid, "student grade": judged.get(top.docid)}
        if teacher is not None:
            row.update({"teacher top": t[q].docid, "teacher grade": judged.get(t[q].docid)})
        rows.append(row)
    cols = ["qid", "query", "BM25 top", "BM25 grade", "student top", "student grade"]
    cols += ["teacher top", "teacher grade"] if teacher is not None else []
    return pd.DataFrame(rows, columns=cols).astype({c: "Int64" for c in cols if c.endswith("grade")})


def summary(table: pd.DataFrame, n_queries: int) -> dict[str, int]:
    """What the student's changed top passages are, from `changes`' table, over `n_queries` queries in all.

    An unjudged passage counts as neither lower nor higher (its grade is unknown), but is counted on its own."""
    s, b = table["student grade"], table["BM25 grade"]
    both = s.notna() & b.notna()
    out = {"queries": n_queries, "top passage changed": len(table),
           "judged lower than BM25's": int((both & (s < b)).sum()), "judged higher than BM25's": int((both & (s > b)).sum()),
           "judged the same": int((both & (s == b)).sum()), "student's top judged 0": int((s == 0).sum()),
           "BM25's top judged 0": int((b == 0).sum()), "student's top not judged": int(s.isna().sum())}
    if "teacher top" in table:
        out["teacher put the student's top first too"] = int((table["teacher top"] == table["student top"]).sum())
    return out
