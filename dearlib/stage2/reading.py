"""What Stage 2 can read: the teacher's order of Stage 1's top window when the teacher reads each passage only as far
as Stage 2's prompt shows it.

Stage 2 ranks from its prompt, where each passage is cut to its first `max_words` words (`prompt.truncate_words`;
the paper: 300, `mini`: 12). Stage 1 reads far more (`mini`: 128 tokens). On `mini` Stage 2 learns to write the
teacher's order (notebook 03's teacher-guided data), so a fair question before blaming the model is how good that
order is when it comes from the same words. `teacher_order` reorders each query's top `top` passages (one window: the
last window of the loop covers ranks 1 to `window`) by the teacher's scores of the cut passages, the ranks below in
Stage 1's order; `table` scores it for several cuts
against the lists it started from: nDCG@10, paired per query (`figures.paired_interval`), the Kendall tau between the
cut and the full-text teacher orders, and the prompt's length in tokens (what SFT and generation pay for).

It is a yardstick, not a bound: a model trained on the teacher's full-text orders may guess better from the same
words than the teacher does. It sorts one window at once; where `rank_end` exceeds `window` the cascade's loop also
carries passages up from below, which this does not (`listwise.ListwiseReranker` does). It trains and generates nothing.
"""
from __future__ import annotations

from typing import Callable

import pandas as pd
from scipy.stats import kendalltau

from ..core.records import Candidates, Passage, Qrels, Run, to_run
from ..evaluation import figures
from ..evaluation.metrics import evaluate
from .prompt import Window, chat_ids, messages, truncate_words

ALL = 0  # `words` value: the whole passage


def shown(passages, words: int) -> list[Passage]:
    """The passages as a prompt of `words` words per passage shows them (title and text, as `prompt` joins them;
    ALL: the passages themselves)."""
    return list(passages) if words == ALL else [Passage(p.docid, truncate_words(p.contents, words)) for p in passages]


def teacher_order(c: Candidates, scores: list[float], top: int) -> dict[str, float]:
    """One query's run: its first `top` passages ordered by `scores` (one each; ties keep Stage 1's order), the
    rest in Stage 1's order; scored by rank, as `to_run` does."""
    if len(scores) != min(top, len(c.passages)):
        raise ValueError(f"query {c.query.qid}: {len(scores)} scores for a top {min(top, len(c.passages))}")
    best_first = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    order = [c.passages[i] for i in best_first] + list(c.passages[len(scores):])
    return {p.docid: float(len(order) - r) for r, p in enumerate(order)}


def prompt_tokens(tokenizer) -> Callable[[Candidates, int, int], int]:
    """A counter of the Stage-2 prompt's tokens (chat template included) for a query's top window at a cut."""
    def count(c: Candidates, top: int, words: int) -> int:
        w = Window(c.query.qid, c.query, list(c.passages[:top]))
        msgs = messages(w, words if words != ALL else 10 ** 9)
        return len(chat_ids(msgs, tokenizer))
    return count


def table(lists: dict[str, list[Candidates]], qrels: dict[str, Qrels], teacher, top: int, words: list[int],
          count_tokens: Callable | None = None) -> tuple[pd.DataFrame, dict]:
    """For each set and cut: Stage 1's nDCG@10 and the teacher's order of its first `top` passages reading them cut,
    paired per query. Returns the table (x 100) and, per set, Stage 1's and each cut's per-query nDCG@10 with the
    paired comparison (what a measurement file keeps)."""
    rows, detail = [], {}
    for name, cands in lists.items():
        cands = [c for c in cands if c.query.qid in qrels[name]]
        judged = {c.query.qid: qrels[name][c.query.qid] for c in cands}  # the lists' queries only: no query scored 0 for lack of a list
        stage1 = evaluate(to_run(cands), judged, ["nDCG@10"]).per_query["nDCG@10"]
        full = {c.query.qid: teacher.score(c.query.text, list(c.passages[:top])) for c in cands}
        D = detail[name] = {"queries": len(cands), "stage1": stage1, "words": {}}
        for n in words:
            run: Run = {}
            taus, ntok = [], []
            for c in cands:
                s = teacher.score(c.query.text, shown(c.passages[:top], n))
                run[c.query.qid] = teacher_order(c, s, top)
                if len(set(full[c.query.qid])) > 1 and len(set(s)) > 1:
                    taus.append(kendalltau(s, full[c.query.qid]).statistic)
                if count_tokens:
                    ntok.append(count_tokens(c, top, n))
            pq = evaluate(run, judged, ["nDCG@10"]).per_query["nDCG@10"]
            p = figures.paired_interval(pq, stage1)
            tau = sum(taus) / len(taus) if taus else None
            tokens = sum(ntok) / len(ntok) if ntok else None
            D["words"][str(n)] = {"per_query": pq, "kendall_tau_vs_full_text": tau, "prompt_tokens_mean": tokens,
                                  "paired_vs_stage1": p}
            rows.append({"set": name, "words": n or "all", "prompt tokens": tokens, "tau vs full text": tau,
                         "Stage 1": 100 * p["mean_b"], "teacher's order": 100 * p["mean_a"],
                         "minus Stage 1": 100 * p["mean_diff"], "95% CI": f"[{100 * p['ci_low']:+.2f}, {100 * p['ci_high']:+.2f}]",
                         "w/t/l": f"{p['wins']}/{p['ties']}/{p['losses']}"})
    return pd.DataFrame(rows), detail
