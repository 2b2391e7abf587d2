"""Evaluation (notebooks 05-08): measures, the results contract, tables, the paper's figures and its checkpoints.

- `metrics`: trec_eval measures (nDCG@1/5/10) through ir_measures;
- `answers`: DPR's answer-string match; `qa`: Top-k answer accuracy for open-domain QA (NQ);
- `results`: the results contract (results/<profile>/<dataset>/<system>.json) with provenance;
- `systems`: the registry, one record per system (its id, stage, notebook, display name, colour, what it is);
- `tables`: tables from result files only: nDCG, per-query wins/losses, paired tests, efficiency, flags
  (``python -m dearlib.evaluation.tables compare A B``);
- `report`: the experiment table, and every figure the paper reports (`reported.yaml`) against ours, with a status
  and the check that fails a run when a comparable figure differs (``python -m dearlib.evaluation.report``);
- `figures`: the paper's figures redrawn from result files, and per-query figures with bootstrap intervals;
- `released`: the authors' released checkpoints, loaded for the kit's evaluation.

`metrics`, `answers`, `qa` and `results` are what the stages use to write their result files; the rest only reads
those files. Nothing here trains or reranks.
"""
