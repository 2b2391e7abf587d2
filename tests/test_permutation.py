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


# ------------------------------------------------------------------------------------------------- issue 24's answers


def test_a_think_opened_by_the_chat_template_is_read_after_its_close():
    # the template put <think> in the prompt: the completion holds the reasoning and only the close
    p = parse("passage [3] seems best </think>\n[2] > [1] > [3]", 3)
    assert p.order == [1, 0, 2] and p.outcome == "ok"


def test_the_answer_follows_the_last_close_of_the_reasoning():
    # the reasoning closed twice; between the closes a longer chain that is no answer
    p = parse("<think>[1] first</think> wait, [1] > [2] > [3] > [1]? </think>\n[3] > [2] > [1]", 3)
    assert p.order == [2, 1, 0] and p.ok


@pytest.mark.parametrize("text, order, outcome", [
    ("Passage [3] best. Ranking: [1] > [2] > [3]", [0, 1, 2], "ok"),              # prose ids are not the ranking
    ("[1] > [2] > [3]. Passage [3] wins on dates.", [0, 1, 2], "ok"),
    ("[2] > [1] and [3] > [1] > [2]", [2, 0, 1], "ok"),                          # the longest chain
    ("[2] > [3] then [3] > [1]", [2, 0, 1], "missing identifiers"),              # equal chains: the last
    ("[2]>[3]  >\n[1]", [1, 2, 0], "ok"),                                        # spacing around '>' is free
    ("[2] [1] [3]", [1, 0, 2], "ok"),                                            # no '>' at all: every identifier
])
def test_the_ranking_is_the_chain_of_identifiers(text, order, outcome):
    p = parse(text, 3)
    assert (p.order, p.outcome) == (order, outcome)


@pytest.mark.parametrize("text", ["[２] > [1]", "[02] > [1]", "[٢] > [1]", "[ 2] > [1]", "[2.] > [1]", "[+2] > [1]"])
def test_an_identifier_the_grammar_cannot_write_is_not_read(text):
    p = parse(text, 2)  # only [1] is read: the answer names one of two passages
    assert p.order == [0, 1] and p.outcome == "missing identifiers" and p.found == 1


def test_an_unclosed_think_after_the_answer_leaves_no_answer():
    assert parse("<think>a</think>[2] > [1] <think> more", 2).outcome == "wrong format"
