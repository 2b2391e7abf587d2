"""The permutation parser and the constrained grammar agree on what a ranking is: over a list of answers written
with the grammar's separator, the grammar finds a complete ranking exactly where the parser reads one as ok,
with the same order (identifiers: ASCII digits, no leading zero)."""
import pytest

from dearlib.stage2.constrained import ranking_prefix
from dearlib.stage2.permutation import parse

ANSWERS = [
    "[1] > [2] > [3]", "[3] > [1] > [2]", "\n[2] > [3] > [1]", "[1] > [2]", "[1] > [1] > [2]", "[1] > [2] > [4]",
    "[0] > [1] > [2]", "[01] > [2] > [3]", "[1] > [02] > [3]", "[１] > [2] > [3]", "[1] > [٢] > [3]",
    "[¹] > [2] > [3]", "[1] > [2] > [3] > [1]", "[10] > [2] > [3]", "[3] > [2] > [1",
]


@pytest.mark.parametrize("answer", ANSWERS)
def test_the_grammar_completes_exactly_the_rankings_the_parser_reads_as_ok(answer):
    complete = ranking_prefix(answer, 3)[1]
    p = parse("<think>why</think>" + answer, 3)
    assert complete == p.ok
    if complete:
        assert p.order == [int(x) - 1 for x in answer.replace("[", "").replace("]", "").split(">")]


def test_the_grammar_refuses_a_non_ascii_digit_without_crashing():
    # str.isdigit takes '¹' and int('¹') raises: the grammar read it as a digit before
    assert ranking_prefix("[¹", 3) == (False, False) and ranking_prefix("[２", 3) == (False, False)
