"""DeAR on anyone's candidates: rerank a TREC run over a collection with Stage 1 (and Stage 2), resumably.

Command line:
    python -m dearlib.stage2.rerank_run --run bm25.trec --collection passages.tsv|.jsonl [--topics topics.tsv]
        --model <trained student folder | released id> [--listwise <adapter folder | released id>]
        --output reranked.trec [--profile mini] [--depth N]

It reads the run (`dearlib.retrieval.trec.read_run`), the query texts (`dearlib.retrieval.data.read_topics`; without
``--topics``, the TREC DL 2019 and 2020 topics of the kit's data directory) and, streaming, only the passages the run
names from the collection: TSV ``docid<TAB>text`` or ``docid<TAB>title<TAB>text`` (MS MARCO's collection.tsv), or
JSON lines with ``id``/``_id``/``docid`` and ``contents``/``text`` (and ``title``): pyserini's and BEIR's corpora.
A query missing from the topics or a docid missing from the collection is refused before any scoring, with the
ids and the file. Stage 1 is `dearlib.stage1.rerank` (the `Scorer` over a `PairEncoder`), Stage 2 the
`dearlib.stage2.listwise` cascade, both with the profile's settings (lengths, depth, window, decoding).

Resumable per query: queries are reranked a chunk at a time (the profile's listwise batch, so windows are still
generated together) and each finished chunk is written atomically to ``<output>.parts/``; a rerun after a kill
skips the queries written there and refuses parts made with other inputs or settings. The finished run is written
atomically (tag ``dear-p`` or ``dear-l``), with, for Stage 2, the parse ledger in ``<output>.ledger.json`` and one
line per window in ``<output>.windows.csv``; then the parts are removed.

`Reranker.rerank(query, passages)` does the same for one query and a list of passages in Python (notebook 09).
It trains nothing and computes no measure (`dearlib.evaluation.metrics` scores the run against qrels).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from ..core import atomic, readers
from ..core.records import Candidates, Passage, Query, to_run
from ..retrieval import trec
from ..retrieval.data import DataError, find_data_dir, read_topics
from ..stage1.rerank import rerank as stage1_rerank
from .listwise import ListwiseReranker
from .permutation import Ledger

TAGS = {False: "dear-p", True: "dear-l"}  # the run's tag: Stage 1 alone, or the cascade


# ------------------------------------------------------------------------------------------------- reading inputs


def _open(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def _passage(path: Path, n: int, line: str) -> Passage:
    """One collection line as a Passage; a line that is neither layout names the file and line."""
    if ".jsonl" in path.name:
        try:
            rec = json.loads(line)
            docid = next(str(rec[k]) for k in ("id", "_id", "docid") if k in rec)
            text = next(rec[k] for k in ("contents", "text") if k in rec)
        except (json.JSONDecodeError, StopIteration, TypeError) as e:
            raise DataError(f"{path}:{n}: not a passage (JSON with id/_id/docid and contents/text): {e or 'a key is missing'}") from None
        return Passage(docid, text, rec.get("title") or "")
    cols = line.rstrip("\n").split("\t")
    if len(cols) == 2:
        return Passage(cols[0], cols[1])
    if len(cols) == 3:
        return Passage(cols[0], cols[2], cols[1])
    raise DataError(f"{path}:{n}: expected 'docid<TAB>text' or 'docid<TAB>title<TAB>text', found {len(cols)} columns")


def read_collection(path: str | Path, wanted: set[str]) -> dict[str, Passage]:
    """The passages of `wanted` docids, streamed from a TSV or JSONL collection (``.gz`` too): a collection of
    millions of passages is never held whole. Docids of `wanted` the file lacks are refused, named."""
    path = Path(path)
    found: dict[str, Passage] = {}
    with _open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            if ".jsonl" not in path.name and line.split("\t", 1)[0] not in wanted:
                continue  # most lines of a large TSV are not candidates: skip them before building a record
            p = _passage(path, n, line)
            if p.docid not in wanted:
                continue
            if p.docid in found and found[p.docid] != p:
                raise DataError(f"{path}:{n}: docid {p.docid} appears twice with different text")
            found[p.docid] = p
    missing = sorted(wanted - set(found))
    if missing:
        raise DataError(f"{path}: {len(missing)} docids of the run are not in the collection, e.g. {missing[:10]}")
    return found


def read_queries(qids: list[str], topics: str | Path | None) -> dict[str, str]:
    """The text of each of `qids`: from `topics` (``qid<TAB>query``), else from the kit's TREC DL 2019 and 2020 topics.
    Queries the topics lack are refused, named."""
    if topics is not None:
        files = [Path(topics)]
    else:
        d = find_data_dir(("dl19", "dl20"))
        files = [d / "dl19" / "topics.tsv", d / "dl20" / "topics.tsv"]
    texts: dict[str, str] = {}
    for f in files:
        texts.update(read_topics(f))
    missing = [q for q in qids if q not in texts]
    if missing:
        raise DataError(f"{len(missing)} queries of the run are not in {', '.join(map(str, files))}, e.g. {missing[:10]}"
                        + ("" if topics else ": pass their texts with --topics"))
    return {q: texts[q] for q in qids}


def read_candidates(run: str | Path, collection: str | Path, topics: str | Path | None = None) -> list[Candidates]:
    """Each query of the TREC `run` as Candidates in the run's order (by score), with its text and passages."""
    ranked = trec.read_run(run)
    queries = read_queries(list(ranked), topics)
    passages = read_collection(collection, {d for docs in ranked.values() for d in docs})
    out = []
    for qid, docs in ranked.items():
        order = sorted(docs.items(), key=lambda kv: -kv[1])  # stable: ties keep the file's order
        out.append(Candidates(Query(qid, queries[qid]), tuple(passages[d] for d, _ in order), tuple(s for _, s in order)))
    return out


# ------------------------------------------------------------------------------------------------- the reranker


def _self_contained(name: str) -> bool:
    """A released checkpoint (a hub id, or a folder with its own tokenizer), not a folder the kit trained: the kit's
    students and adapters hold no tokenizer (the profile names it), the released ones ship theirs."""
    return not Path(name).is_dir() or (Path(name) / "tokenizer_config.json").is_file()


@dataclass
class Reranker:
    """Stage 1 (a pointwise scorer over the top `depth`), and optionally Stage 2 (a `ListwiseReranker`) after it."""

    stage1: object  # anything with score_pairs (`dearlib.stage1.rerank.Scorer`, a teacher)
    depth: int
    stage2: ListwiseReranker | None = None
    settings: dict | None = None  # what loaded it (models, profile): the parts' and the ledger's provenance

    @classmethod
    def load(cls, model: str, listwise: str | None = None, profile: str = "mini", depth: int | None = None,
             seed: int = 0, device: str | None = None) -> "Reranker":
        """Load a trained student folder (notebook 02's ``artifacts/<profile>/stage1/student``, read with the
        profile's settings) or a released checkpoint (`dearlib.evaluation.released`), and optionally a listwise
        adapter the same way (notebook 04's ``artifacts/<profile>/stage2/adapter``, or a released id)."""
        import torch

        from ..core.config import load_config
        from ..core.models import load_tokenizer
        from ..evaluation import released
        from ..stage1.pairs import PairEncoder
        from ..stage1.rerank import Scorer
        from ..stage1.training import load_student
        from .listwise import TransformersBackend
        from .training import load_listwise

        cfg = load_config(profile)
        S1, S2 = cfg["stage1"], cfg["stage2"]
        I = S2["inference"]
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if device == "cuda" else None
        if _self_contained(model):
            student, tok = released.load_student(model, dtype)
        else:
            tok = load_tokenizer(S1["student"]["backbone"])
            student = load_student(S1, model, tok, seed)
        # The pair reading is chosen here: the kit's `PairEncoder`, with the profile's lengths. When the profile
        # names the released reading of the pointwise input (issue 25, item 1), build that encoder here instead.
        scorer = Scorer(student.to(device), PairEncoder(tok, S1["q_max_len"], S1["p_max_len"]), S1["score_batch_size"],
                        name=TAGS[False])
        stage2 = None
        if listwise:
            # The prompt and decoding are `ListwiseReranker`'s (dearlib.stage2.prompt): when the profile names the
            # released listwise reading (issue 25, item 1), it is chosen here too.
            if _self_contained(listwise):
                lm, ltok = released.load_listwise(listwise, dtype)
                backend = TransformersBackend(lm.to(device), ltok, I["max_new_tokens"], I["temperature"], I["batch_size"], seed)
            else:
                ltok = load_tokenizer(S2["base"])
                lm = load_listwise(S2, listwise, ltok, seed, student if S2["reading"] == "stage1-backbone" else None)
                backend = TransformersBackend(lm.to(device), ltok, I["max_new_tokens"], I["temperature"], I["batch_size"], seed,
                                              I["constrained"])
            stage2 = ListwiseReranker(backend, I["window"], I["step"], I["rank_end"], I["max_words"], name=TAGS[True],
                                      passes=I["passes"])
        settings = {"model": str(model), "listwise": listwise and str(listwise), "profile": profile, "seed": seed,
                    "stage1": {k: S1[k] for k in ("q_max_len", "p_max_len")},
                    "stage2": {**I, "constrained": backend.constrained} if listwise else None}  # released: never constrained
        return cls(scorer, depth or I["stage1_depth"], stage2, settings)

    def rerank_lists(self, candidates: list[Candidates], progress: bool = False) -> list[Candidates]:
        """Stage 1 over each list's top `depth`, then Stage 2 (when loaded) over Stage 1's order."""
        lists = stage1_rerank(self.stage1, candidates, self.depth, progress=progress)
        return self.stage2.rerank(lists, progress=progress) if self.stage2 is not None else lists

    def rerank(self, query: str, passages: list) -> list[Passage]:
        """One query's passages (texts, numbered "1", "2", ... in the given order, or `Passage`s), reranked, best first."""
        ps = tuple(p if isinstance(p, Passage) else Passage(str(i), str(p)) for i, p in enumerate(passages, 1))
        [ranked] = self.rerank_lists([Candidates(Query("query", query), ps, tuple(float(-i) for i in range(len(ps))))])
        return list(ranked.passages)


# ------------------------------------------------------------------------------------------------- the resumable run


def _fingerprint(run: Path, collection: Path, topics: Path | None, reranker: Reranker) -> dict:
    """What the parts of a run depend on: the inputs' contents (run, topics) and size (the collection), and the models."""
    sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    return {"run": sha(run), "collection": f"{collection.resolve()} ({collection.stat().st_size} bytes)",
            "topics": sha(topics) if topics else "TREC DL 2019 and 2020", "depth": reranker.depth, **(reranker.settings or {})}


def rerank_run(reranker: Reranker, run: str | Path, collection: str | Path, output: str | Path, topics: str | Path | None = None,
               chunk: int | None = None, progress: bool = True) -> Path:
    """Rerank every query of `run` with `reranker` and write the TREC run `output` (see the module's docstring).

    `chunk`: queries reranked (and saved) together (default: the listwise batch, else 16). Returns `output`.
    """
    run, collection, output = Path(run), Path(collection), Path(output)
    topics = Path(topics) if topics is not None else None
    candidates = read_candidates(run, collection, topics)
    parts = output.with_name(output.name + ".parts")
    settings = json.loads(json.dumps(_fingerprint(run, collection, topics, reranker)))  # as it reads back from JSON
    if (parts / "settings.json").is_file():
        old = readers.read_json(parts / "settings.json")
        if old != settings:
            changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
            raise ValueError(f"{parts} holds queries reranked with other inputs or settings ({', '.join(changed)}): "
                             f"delete it to start again, or choose another --output")
    else:
        atomic.write_json(parts / "settings.json", settings)
    done = {}
    for f in sorted(parts.glob("chunk-*.json")):
        for q in readers.read_json(f)["queries"]:
            done[q["qid"]] = q
    todo = [c for c in candidates if c.query.qid not in done]
    listwise = reranker.stage2 is not None
    chunk = chunk or (reranker.stage2.backend.batch_size if listwise and hasattr(reranker.stage2.backend, "batch_size") else 16)
    n_parts = len(list(parts.glob("chunk-*.json")))
    with tqdm(total=len(candidates), initial=len(candidates) - len(todo), desc=f"{TAGS[listwise]} queries",
              disable=not progress) as bar:
        for s in range(0, len(todo), chunk):
            batch = todo[s:s + chunk]
            if listwise:  # this chunk's windows only: the ledger of the whole run is the sum of the chunks'
                reranker.stage2.ledger, reranker.stage2.records = Ledger(), []
            ranked = reranker.rerank_lists(batch)
            queries = [{"qid": c.query.qid, "docids": [p.docid for p in c.passages]} for c in ranked]
            record = {"queries": queries}
            if listwise:
                record["ledger"] = dict(reranker.stage2.ledger)
                record["windows"] = [{k: v for k, v in asdict(r).items() if k not in ("completion", "prompt")}
                                     for r in reranker.stage2.records]
            atomic.write_json(parts / f"chunk-{n_parts:06d}.json", record)
            n_parts += 1
            done.update({q["qid"]: q for q in queries})
            bar.update(len(batch))
    order = [done[c.query.qid]["docids"] for c in candidates]
    final = to_run([Candidates(c.query, tuple(Passage(d, "") for d in docids), (0.0,) * len(docids))
                    for c, docids in zip(candidates, order)])
    trec.write_run(final, output, TAGS[listwise])
    if listwise:
        chunks = [readers.read_json(f) for f in sorted(parts.glob("chunk-*.json"))]
        ledger = Ledger()
        for c in chunks:  # update, not +: a Counter sum drops the outcomes counted 0, and a 0 is worth reading
            ledger.update(c.get("ledger", {}))
        atomic.write_json(output.with_name(output.name + ".ledger.json"),
                          {"parse_ledger": dict(ledger), "queries": len(candidates), "settings": settings})
        windows = pd.DataFrame([w for c in chunks for w in c.get("windows", [])])
        atomic.write_text(output.with_name(output.name + ".windows.csv"), windows.to_csv(index=False))
    shutil.rmtree(parts)
    return output


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dearlib.stage2.rerank_run", description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, help="a TREC run (qid Q0 docid rank score tag): the candidates, e.g. BM25's")
    ap.add_argument("--collection", required=True, help="passages: TSV (docid, [title,] text) or JSONL (id, contents)")
    ap.add_argument("--topics", help="qid<TAB>query (default: the kit's TREC DL 2019 and 2020 topics)")
    ap.add_argument("--model", required=True, help="a trained student folder (notebook 02) or a released Stage-1 id")
    ap.add_argument("--listwise", help="a Stage-2 adapter folder (notebook 04) or a released listwise id (none: Stage 1 only)")
    ap.add_argument("--output", required=True, help="the reranked TREC run to write")
    ap.add_argument("--profile", default="mini", help="the settings (lengths, depth, window, decoding) and how a kit folder is read")
    ap.add_argument("--depth", type=int, help="candidates Stage 1 reranks per query (default: the profile's stage1_depth)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    reranker = Reranker.load(a.model, a.listwise, a.profile, a.depth, a.seed)
    out = rerank_run(reranker, a.run, a.collection, a.output, a.topics)
    print(f"wrote {out}" + (f" and {out.name}.ledger.json, {out.name}.windows.csv" if a.listwise else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
