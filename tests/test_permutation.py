"""The permutation parser on well-formed and adversarial model outputs."""
import pytest

from dearlib.stage2.permutation import Ledger, parse, ranking_text


def test_full_ranking_is_ok():
    p = parse("[3] > [1] > [2]", 3)
    assert p.order == [2, 0, 1] and p.outcome == "ok" and p.ok


def test_reasoning_in_think_is_ignored():
    text = "<think>[1] covers the date, [2] does not, [1] again</think>\\nRanking: [2] > [3] > [1]"
    assert parse(text, 3).order == [1, 2, 0]
    assert parse(text, 3).ok


@pytest.mark.parametrize("text", ["", "   ", "I cannot rank these passages.", None])
def test_empty_or_prose_keeps_input_order(text):
    p = parse(text, 4)
    assert p.order == [0, 1, 2, 3] and p.outcome == "wrong format"


def test_repeated_ids_dropped_after_first_and_missing_appended():
    p = parse("[2] > [2] > [1] > [2]", 4)
    assert p.order == [1, 0, 2, 3] and p.outcome == "repetition"


def test_out_of_range_rejected():
    p = parse("[5] > [1] > [7] > [2]", 3)
    assert p.order == [0, 1, 2] and p.outcome == "out of range"


def test_ranking_cut_off_half_way():
    p = parse("[4] > [2] > [", 5)
    assert p.order == [3, 1, 0, 2, 4] and p.outcome == "missing identifiers"


def test_unclosed_think_block_has_no_answer():
    p = parse("<think>first [2] then [1] and", 2)
    assert p.order == [0, 1] and p.outcome == "wrong format"


def test_zero_based_ids_are_out_of_range_not_shifted():
    # The prompt numbers passages from 1; [0] is not one of them, and guessing a shift could invert a ranking.
    p = parse("[0] > [2] > [1]", 3)
    assert p.order == [1, 0, 2] and p.outcome == "out of range"


def test_round_trip_and_ledger():
    ledger = Ledger()
    for order in ([2, 0, 1], [0, 1, 2]):
        assert ledger.add(parse(ranking_text(order), 3)).order == order
    ledger.add(parse("nothing", 3))
    assert ledger["ok"] == 2 and ledger["wrong format"] == 1 and ledger.rate() == pytest.approx(2 / 3)
