"""Watching the window loop: the oracle answers by grade through the real ListwiseReranker, the walk records each
window by hand-checked positions, and on smoke's slice of DL19 a relevant passage visibly climbs."""
import pytest

from dearlib.core.config import load_config
from dearlib.core.records import Candidates, Dataset, Passage, Query
from dearlib.retrieval import data
from dearlib.stage2 import cot, window_walk
from dearlib.stage2.listwise import ListwiseReranker, sliding_windows

# grades by passage number; d8 lies below rank_end (8) and must not move; unjudged passages count as 0
GRADES = {"d1": 1, "d5": 2, "d7": 3, "d8": 3}


def hand_case() -> Candidates:
    return Candidates(Query("q1", "what do fleas eat"), tuple(Passage(f"d{i}", f"passage {i} about fleas") for i in range(10)),
                      tuple(float(10 - i) for i in range(10)))


def test_oracle_orders_each_window_by_grade_through_the_real_loop():
    c = hand_case()
    backend = window_walk.OracleBackend([c], {"q1": GRADES})
    rr = ListwiseReranker(backend, window=4, step=2, rank_end=8)
    [out] = rr.rerank([c], progress=False)
    # by hand, windows bottom up, each sorted by grade with ties in input order:
    # (4,8) d4 d5 d6 d7 -> d7 d5 d4 d6; (2,6) d2 d3 d7 d5 -> d7 d5 d2 d3; (0,4) d0 d1 d7 d5 -> d7 d5 d1 d0
    assert [p.docid for p in out.passages] == ["d7", "d5", "d1", "d0", "d2", "d3", "d4", "d6", "d8", "d9"]
    # the top window ends sorted by grade; one pass is no full sort (d4, d6 stay where the first window left them)
    assert [GRADES.get(p.docid, 0) for p in out.passages[:4]] == [3, 2, 1, 0]
    assert rr.ledger["ok"] == 3 and len(backend.answers) == 3
    assert backend.answers[0] == "<think>grades from the qrels: [1] 0, [2] 2, [3] 0, [4] 3</think>\n[4] > [2] > [1] > [3]"


def test_walk_records_each_window_as_computed_by_hand():
    table = window_walk.walk(hand_case(), GRADES, rank_end=8, window=4, step=2, min_grade=1)
    assert list(table["ranks"]) == ["before", "5-8", "3-6", "1-4"]
    assert table.drop(columns=["window", "ranks"]).to_dict("list") == {
        "d1 (grade 1)": [2, 2, 2, 3], "d5 (grade 2)": [6, 6, 4, 2], "d7 (grade 3)": [8, 5, 3, 1]}
    assert window_walk.climb(table) == 7


def test_oracle_refuses_a_prompt_cut_to_fit():
    c = Candidates(Query("q1", "fleas"), tuple(Passage(f"d{i}", " ".join([f"w{i}"] * 30)) for i in range(4)), (4.0, 3.0, 2.0, 1.0))
    backend = window_walk.OracleBackend([c], {"q1": {"d3": 1}})
    full = backend.count(cot.messages(cot.Window("x", c.query, list(c.passages)), 300))
    with pytest.raises(ValueError, match=r"passage \[1\] of query 'fleas' is not one of its candidates"):
        ListwiseReranker(backend, window=4, step=2, rank_end=4, max_prompt_tokens=full - 10).rerank([c], progress=False)


def test_on_smokes_slice_a_relevant_passage_climbs_window_by_window(data_dir):
    r = load_config("smoke")["retrieval"]
    ds = data.load_trec_dl(2019, data_dir).subset(r["n_queries"], r["depth"])  # notebook 01's smoke slice
    c = window_walk.pick_query(ds, rank_end=20, window=8, step=4)
    table = window_walk.walk(c, ds.qrels[c.query.qid], rank_end=20, window=8, step=4, min_grade=ds.min_rel)
    assert len(table) - 1 >= 2  # windows, after the "before" row
    ranks = [list(table[col]) for col in table.columns[2:]]
    assert any(all(b < a for a, b in zip(r, r[1:])) for r in ranks)  # one relevant passage rises at every window
    assert any(r[0] > 8 for r in ranks)  # ... one started below the top window


def test_pick_query_says_when_no_passage_can_climb():
    ds = Dataset("toy", [hand_case()], {"q1": {"d0": 2}}, min_rel=2)  # the only relevant passage already first
    with pytest.raises(ValueError, match="toy: no query has a passage of grade >= 2 between ranks 5 and 8"):
        window_walk.pick_query(ds, rank_end=8, window=4, step=2)


def test_draw_windows_draws_one_bar_per_window():
    settings = {"paper": (30, 20, 10), "mini": (10, 10, 5), "walk": (20, 8, 4)}
    fig = window_walk.draw_windows(settings)
    for ax, (rank_end, window, step) in zip(fig.axes, settings.values()):
        bars = [(round(b.get_y() - 0.5), round(b.get_y() - 0.5 + b.get_height())) for b in ax.patches]
        assert bars == sliding_windows(rank_end, window, step, 0, rank_end)


def test_a_second_pass_lifts_what_one_pass_leaves_below_and_one_pass_is_unchanged():
    # e4 and e5 (grade 2) and e3 (grade 1) at the bottom of 6; windows of 3, step 2: (3,6), (1,4), (0,2). By hand:
    # pass 1: (3,6) e3 e4 e5 -> e4 e5 e3; (1,4) e1 e2 e4 -> e4 e1 e2; (0,2) e0 e4 -> e4 e0: e4 e0 e1 e2 e5 e3, so
    # e5, pushed below the next window by e4, stays at rank 5. Pass 2 over that order: (3,6) e2 e5 e3 -> e5 e3 e2;
    # (1,4) e0 e1 e5 -> e5 e0 e1; (0,2) e4 e5 unchanged: e4 e5 e0 e1 e3 e2
    grades = {"e3": 1, "e4": 2, "e5": 2}
    c = Candidates(Query("q1", "what do fleas eat"), tuple(Passage(f"e{i}", f"passage {i} about fleas") for i in range(6)),
                   tuple(float(6 - i) for i in range(6)))
    orders = {}
    for passes in (None, 1, 2):
        rr = ListwiseReranker(window_walk.OracleBackend([c], {"q1": grades}), window=3, step=2, rank_end=6,
                              **({} if passes is None else {"passes": passes}))
        [out] = rr.rerank([c], progress=False)
        orders[passes] = [p.docid for p in out.passages]
    assert orders[None] == orders[1] == ["e4", "e0", "e1", "e2", "e5", "e3"]
    assert orders[2] == ["e4", "e5", "e0", "e1", "e3", "e2"]
    assert [(r.pass_number, r.start, r.end) for r in rr.records] == [(p, s, e) for p in (1, 2) for s, e in ((3, 6), (1, 4), (0, 2))]
    table = window_walk.walk(c, grades, rank_end=6, window=3, step=2, min_grade=1, passes=2)
    assert window_walk.by_pass(table).to_dict("list") == {"before": [4, 5, 6], "after pass 1": [6, 1, 5], "after pass 2": [5, 1, 2]}
    assert window_walk.climb(table, last_pass=True) == 3 and window_walk.climb(table) == 4
    # over a set: q1's second pass moves e5; q2's best passage starts first and no pass moves it
    top = Candidates(Query("q2", "flea bites"), tuple(Passage(f"f{i}", f"text {i} on bites") for i in range(6)), tuple(float(6 - i) for i in range(6)))
    ds = Dataset("dl19", [c, top], {"q1": grades, "q2": {"f0": 2}}, min_rel=1)
    assert window_walk.moved_by_last_pass(ds, rank_end=6, window=3, step=2) == ["q1"]
    with pytest.raises(ValueError, match="passes must be at least 1"):
        ListwiseReranker(window_walk.OracleBackend([c], {"q1": grades}), window=3, step=2, rank_end=6, passes=0)
