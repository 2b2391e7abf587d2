"""dearlib: the helper package of the DeAR reproducibility kit.

The notebooks in ``notebooks/`` tell the story of the method; this package holds the code they call, one
subpackage per part of the pipeline (each one's ``__init__`` lists its modules and what does not live there):

- `retrieval` (notebook 01): the data sets, BM25 candidates, TREC and RankGPT files;
- `stage1` (notebooks 02, 06): the teacher, the student's pairs and losses, distillation, pointwise reranking;
- `stage2` (notebooks 03, 04, 09): the CoT data and its prompt, the permutation parser, the sliding window, the
  listwise adapter, the cascade DeAR-L and the reranking command for anyone's run;
- `evaluation` (notebooks 05-08): measures, the results contract, the registry of systems, tables, the paper's
  reported figures and its figures redrawn, the released checkpoints;
- `core`: what every part stands on (records, profiles and their schema, readers, atomic writes, models);
- `publish`: the reference run, the reproduction log, the pipeline picture, links.

Imports run one way, down this ladder: publish -> stage2 -> stage1 -> evaluation -> retrieval -> core (a module
imports from its own subpackage or from one below it; `tests/test_layout.py` checks it, and that no two modules
import each other, directly or through others).
"""
