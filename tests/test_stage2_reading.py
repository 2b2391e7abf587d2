"""What Stage 2 can read (`dearlib.stage2.reading`): the teacher's order of a top window from the words the prompt
shows, checked on a hand-made query whose nDCG@10 and Kendall tau are worked out by hand."""
import re

import pytest

from dearlib.core import models
from dearlib.core.config import load_config
from dearlib.core.records import Candidates, Passage, Query
from dearlib.stage2 import reading
from dearlib.stage2.prompt import Window, messages


class CountingTeacher:
    """Scores a passage by the words it is shown: +1 per "good", -1 per "bad"; remembers what it read."""

    def __init__(self):
        self.seen: list[str] = []

    def score(self, query, passages):
        self.seen += [p.contents for p in passages]
        return [float(p.contents.split().count("good") - p.contents.split().count("bad")) for p in passages]


# Stage 1's order p2, p3, p1, p4. In full: p1 3, p2 2, p3 -1. Cut to 3 words: p1 "x x x" 0, p2 "x good x" 1,
# p3 "good good x" 2: the exact reverse of the full order. Only p1 is relevant.
P = [Passage("p2", "x good x good"), Passage("p3", "good good x bad bad bad"), Passage("p1", "x x x good good good"),
     Passage("p4", "good good good good good")]
C = Candidates(Query("q", "which passage is good"), tuple(P), (4.0, 3.0, 2.0, 1.0))
QRELS = {"q": {"p1": 1, "p2": 0, "p3": 0, "p4": 0}}


def test_the_teacher_reads_each_passage_as_the_prompt_shows_it():
    teacher = CountingTeacher()
    teacher.score(C.query.text, reading.shown(C.passages[:3], 3))
    prompt = messages(Window("q", C.query, list(C.passages[:3])), 3)[-1]["content"]
    lines = [m.group(1) for m in re.finditer(r"^\[\d+\] (.*)$", prompt, re.M)]
    assert teacher.seen == lines == ["x good x", "good good x", "x x x"]
    assert reading.shown(C.passages, reading.ALL) == list(C.passages)


def test_teacher_order_sorts_the_top_and_keeps_the_rest_in_stage1_order():
    run = reading.teacher_order(C, [0.0, 1.0, 0.0], top=3)  # ties keep Stage 1's order
    assert sorted(run, key=run.get, reverse=True) == ["p3", "p2", "p1", "p4"]
    with pytest.raises(ValueError, match="query q: 2 scores for a top 3"):
        reading.teacher_order(C, [1.0, 2.0], top=3)


def test_table_by_hand():
    table, detail = reading.table({"toy": [C]}, {"toy": QRELS}, CountingTeacher(), top=3, words=[3, reading.ALL])
    rows = table.set_index("words")
    # Stage 1 has p1 at rank 3: 1 / log2(4) = 0.5. Cut to 3 words the teacher orders p3, p2, p1: p1 stays 3rd.
    # Reading whole passages it puts p1 first: 1.0. p4 (the teacher's favourite) is below the window and stays 4th.
    assert rows.loc[3, "Stage 1"] == pytest.approx(50.0) and rows.loc[3, "teacher's order"] == pytest.approx(50.0)
    assert rows.loc["all", "teacher's order"] == pytest.approx(100.0) and rows.loc["all", "minus Stage 1"] == pytest.approx(50.0)
    assert rows.loc[3, "tau vs full text"] == pytest.approx(-1.0) and rows.loc["all", "tau vs full text"] == pytest.approx(1.0)
    assert detail["toy"]["words"]["0"]["per_query"] == {"q": pytest.approx(1.0)}


def test_judged_queries_without_a_list_are_left_out_not_scored_0():
    qrels = {**QRELS, "other": {"d": 2}}  # judged, but Stage 1 has no list for it (a profile's slice of the queries)
    table, detail = reading.table({"toy": [C]}, {"toy": qrels}, CountingTeacher(), top=3, words=[reading.ALL])
    assert table.iloc[0]["Stage 1"] == pytest.approx(50.0) and table.iloc[0]["teacher's order"] == pytest.approx(100.0)
    assert detail["toy"]["queries"] == 1 and detail["toy"]["stage1"].keys() == {"q"}


def test_a_teacher_that_ties_everything_keeps_stage1_and_has_no_tau():
    table, _ = reading.table({"toy": [C]}, {"toy": QRELS}, ZeroTeacher(), top=3, words=[2])
    assert table.iloc[0]["tau vs full text"] is None and table.iloc[0]["minus Stage 1"] == 0.0


class ZeroTeacher:
    def score(self, query, passages):
        return [0.0] * len(passages)


def test_prompt_tokens_grow_with_the_words_shown():
    tok = models.load_tokenizer(load_config("smoke")["stage2"]["base"])
    count = reading.prompt_tokens(tok)
    assert count(C, 3, 1) < count(C, 3, 3) < count(C, 3, reading.ALL)
    assert count(C, 2, reading.ALL) < count(C, 3, reading.ALL)
