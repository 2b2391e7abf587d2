"""Stage 1 (notebooks 02 and 06): distilling a frozen teacher into a pointwise student, and reranking with it.

- `pairs`: (query, passage) inputs, each model with its own tokenizer;
- `teacher`: the frozen Stage-1 teacher and its on-disk score cache;
- `losses`: the Stage-1 losses (CE, RankNet, ListNet, LambdaRank, KL distillation, DeAR's combination), and a toy group;
- `training`: training groups from NQ (or MS MARCO) and the distillation trainer (transformers Trainer / accelerate);
  ``python -m dearlib.stage1.training`` trains a student from saved groups;
- `crossfit`: the in-domain control's groups: each TREC DL year's judged candidates, evaluated on the other year;
- `rerank`: a pointwise scorer (student or teacher) applied to candidate lists, and evaluated in one call;
- `top1`: the queries where a reranker's top passage differs from BM25's, with grades (the nDCG@1 drop);
- `side_experiments`: students trained as notebook 02's, one setting changed at a time (budget, loss, training
  data), over seeds, measured into one JSON (scripts/stage1_budget.py, or notebook 02's `side_experiments`);
- `budget_curve`: that JSON read back: means and spread over seeds, paired intervals against BM25, the loss
  ablation's table and the budget figure.

The listwise stage is `stage2`; the tables built from Stage 1's result files are `evaluation`.
"""
