"""Stage 2 (notebooks 03, 04 and 09): a second LoRA adapter that reasons over a sliding window and outputs a permutation.

- `prompt`: a window of candidates and the listwise chat messages that ask for its ranking;
- `cot`: the chain-of-thought training data: windows, the generators (teacher-guided, OpenAI-compatible, local), export;
- `permutation`: the one parser of listwise rankings ("[3] > [1] > ..."), with its ledger of outcomes;
- `constrained`: constrained decoding (the kit's addition): a grammar that lets the model write only a permutation;
- `training`: the adapter trained with trl's SFTTrainer on the chain-of-thought data
  (``python -m dearlib.stage2.training``);
- `listwise`: inference: the sliding window (one pass or more), the backends (and the zero-shot base, the adapter
  off), the BM25 -> Stage 1 -> Stage 2 cascade;
- `window_walk`: the sliding windows drawn, and one query walked through the real loop by a qrels oracle;
- `reading`: what Stage 2 can read: the teacher's order of the top window from the words the prompt shows of each
  passage (`max_words`), against Stage 1;
- `cascade_eval`: the cascade evaluated on every set in one call (runs, metrics, result files, parse ledger);
- `rerank_run`: DeAR on anyone's candidates: a TREC run and a collection reranked by Stage 1 (and Stage 2), resumable
  per query (``python -m dearlib.stage2.rerank_run``), and one query's passages reranked in Python (notebook 09).

Stage 1's student, whose order Stage 2 starts from, is `stage1`.
"""
