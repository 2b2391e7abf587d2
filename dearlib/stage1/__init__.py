"""Stage 1 (notebooks 02 and 06): distilling a frozen teacher into a pointwise student, and reranking with it.

- `pairs`: (query, passage) inputs, each model with its own tokenizer;
- `teacher`: the frozen Stage-1 teacher and its on-disk score cache;
- `losses`: the Stage-1 losses (CE, RankNet, ListNet, LambdaRank, KL distillation, DeAR's combination), and a toy group;
- `training`: training groups from NQ (or MS MARCO) and the distillation trainer (transformers Trainer / accelerate);
  ``python -m dearlib.stage1.training`` trains a student from saved groups;
- `crossfit`: the in-domain control's groups: each TREC DL year's judged candidates, evaluated on the other year;
- `rerank`: a pointwise scorer (student or teacher) applied to candidate lists, and evaluated in one call;
- `top1`: the queries where a reranker's top passage differs from BM25's, with grades (the nDCG@1 drop);
- `budget_curve`: the student against its training budget and seeds (scripts/stage1_budget.py's JSON), drawn.

The listwise stage is `stage2`; the tables built from Stage 1's result files are `evaluation`.
"""
