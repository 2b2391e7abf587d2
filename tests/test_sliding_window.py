"""The sliding window: never an empty, one-passage or negative window, the top always read, the reranker never losing
or duplicating a passage; compared with RankGPT's and rank_llm's loops, written out here from reading them."""
import itertools
import random

import pytest

from dearlib.core.records import Candidates, Passage, Query
from dearlib.stage2.listwise import ListwiseReranker, sliding_windows
from dearlib.stage2.permutation import ranking_text


def rankgpt_windows(rank_start, rank_end, window_size, step):
    """sunnweiwei/RankGPT, rank_gpt.py, `sliding_windows`: the (start, end) it hands to `permutation_pipeline`."""
    out, end_pos, start_pos = [], rank_end, rank_end - window_size
    while start_pos >= rank_start:
        start_pos = max(start_pos, rank_start)
        out.append((start_pos, end_pos))
        end_pos, start_pos = end_pos - step, start_pos - step
    return out


def rank_llm_windows(rank_start, rank_end, window_size, step):
    """castorini/rank_llm, rerank/listwise/listwise_rankllm.py, `sliding_windows`: the windows it reranks."""
    out, end_pos, start_pos = [], rank_end, rank_end - window_size
    while end_pos > rank_start and start_pos + step != rank_start:
        start_pos = max(start_pos, rank_start)
        out.append((start_pos, end_pos))
        end_pos, start_pos = end_pos - step, start_pos - step
    return out


@pytest.mark.parametrize("args, expected", [
    ((11, 5, 5, 0, 11), [(6, 11), (1, 6), (0, 2)]),   # step = window, one rank left at the top: a window of two, not (0, 1)
    ((21, 4, 4, 0, 21), [(17, 21), (13, 17), (9, 13), (5, 9), (1, 5), (0, 2)]),
    ((12, 5, 3, 2, 12), [(7, 12), (4, 9), (2, 6)]),    # rank_start 2: ranks 0 and 1 are never touched
    ((3, 5, 3, 2, 12), []),                            # one passage in [2, 3): nothing to reorder
    ((5, 5, 3, 0, 0), []),                             # an empty range
])
def test_windows_by_hand(args, expected):
    assert sliding_windows(*args) == expected


@pytest.mark.parametrize("args, message", [
    ((20, 5, 7, 0, 20), r"step \(7\) must not exceed the window \(5\)"),   # was (15,20) (8,13) (1,6) (0,-1): 19 passages lost
    ((30, 5, 10, 0, 30), r"step \(10\) must not exceed the window \(5\)"),  # was ... (5,10) (0,0): an empty window
    ((10, 5, 3, -1, 10), r"rank_start must be at least 0 \(got -1\)"),
    ((10, 5, -2, 0, 10), r"step at least 1 \(got window=5, step=-2\)"),
])
def test_bad_settings_are_refused_by_name(args, message):
    with pytest.raises(ValueError, match=message):
        sliding_windows(*args)


GRID = [(n, w, s, rs, re_) for n in (0, 1, 2, 3, 7, 11, 20, 31) for w in (2, 3, 5, 8) for s in range(1, w + 1)
        for rs in (0, 1, 3) for re_ in (None, 6, 13, 30)]


def windows_hold(n, window, step, rank_start, rank_end):
    wins = sliding_windows(n, window, step, rank_start, rank_end)
    end = min(n, n if rank_end is None else rank_end)
    assert all(2 <= e - s <= window and rank_start <= s < e <= end for s, e in wins)
    if end - rank_start < 2:
        assert wins == []
        return
    assert wins[0][1] == end and wins[-1][0] == rank_start  # bottom first, the top last
    assert set().union(*(range(s, e) for s, e in wins)) == set(range(rank_start, end))
    assert all(b[0] < a[0] for a, b in zip(wins, wins[1:]))  # each window higher than the last: no window twice
    if end - rank_start >= window:  # RankGPT reads a range shorter than one window not at all
        rankgpt = rankgpt_windows(rank_start, end, window, step)
        # RankGPT's windows, then at most one more pinned to the top where its loop stopped short of it
        assert wins[:len(rankgpt)] == rankgpt and len(wins) - len(rankgpt) == (rankgpt[-1][0] != rank_start)
        # rank_llm pins to the top as well, but may end on a window of one passage; here it holds two
        rank_llm = rank_llm_windows(rank_start, end, window, step)
        if rank_llm[-1][1] - rank_llm[-1][0] == 1:
            rank_llm[-1] = (rank_start, rank_start + 2)
        assert wins == rank_llm


def test_every_window_holds_two_to_window_passages_inside_the_range_and_the_top_is_read():
    for args in GRID:  # one test over the grid (1,700 settings), the failing settings named
        try:
            windows_hold(*args)
        except AssertionError as e:
            raise AssertionError(f"sliding_windows{args} = {sliding_windows(*args)}") from e


class ShuffleBackend:
    """A listwise 'model' answering each window with a seeded random permutation of it."""

    def __init__(self, seed):
        self.rng, self.context, self.max_new_tokens, self.calls = random.Random(seed), 100_000, 0, []

    def count(self, messages):
        return sum(len(m["content"].split()) for m in messages)

    def generate(self, prompts, n_ids=None):
        self.calls += n_ids
        return [ranking_text(self.rng.sample(range(k), k)) for k in n_ids]


SWEEPS = [(n, w, s, e) for n, w, s, e in itertools.product((1, 2, 5, 11, 20), (2, 4, 5), (1, 2, 4, 5), (3, 11, 30)) if s <= w]


def test_a_sweep_never_loses_or_duplicates_a_passage():
    for n, window, step, rank_end in SWEEPS:  # two passes of seeded random answers through the real reranker
        c = Candidates(Query("q", "fleas"), tuple(Passage(f"d{i}", f"text {i}") for i in range(n)), tuple(float(n - i) for i in range(n)))
        backend = ShuffleBackend(seed=n * 100 + window * 10 + step)
        rr = ListwiseReranker(backend, window=window, step=step, rank_end=rank_end, passes=2)
        [out] = rr.rerank([c], progress=False)
        got, setting = [p.docid for p in out.passages], f"n={n} window={window} step={step} rank_end={rank_end}"
        assert sorted(got) == sorted(p.docid for p in c.passages) and len(set(got)) == n, setting
        top = min(n, rank_end)
        assert got[top:] == [f"d{i}" for i in range(top, n)], setting  # below rank_end nothing moves
        wins = sliding_windows(n, window, step, 0, rank_end)
        assert backend.calls == [e - s for s, e in wins] * 2 and all(k >= 2 for k in backend.calls), setting
        assert rr.ledger["ok"] == len(backend.calls), setting


def test_a_step_larger_than_the_window_is_refused_before_any_model_call():
    backend = ShuffleBackend(0)
    c = Candidates(Query("q", "fleas"), tuple(Passage(f"d{i}", "x") for i in range(20)), tuple(float(20 - i) for i in range(20)))
    with pytest.raises(ValueError, match="must not exceed the window"):
        ListwiseReranker(backend, window=5, step=7, rank_end=20).rerank([c], progress=False)
    assert backend.calls == []
