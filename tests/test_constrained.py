"""Constrained decoding: the ranking grammar against a brute-force reference, the logits processor step by step,
and a random model that can only answer with permutations under it (and almost never without)."""
import itertools
import math
import random

import pytest
import torch

from dearlib.core import models
from dearlib.core.config import load_config
from dearlib.stage2 import listwise, training as stage2
from dearlib.stage2.constrained import CLOSE, OPEN, PermutationGrammar, answer_reserve, ranking_prefix
from dearlib.stage2.permutation import parse, ranking_text


def reference(n: int) -> tuple[set[str], set[str]]:
    """Every complete ranking of 1..n (with 0-3 leading whitespace characters) and every prefix of one."""
    full = set()
    for perm in itertools.permutations(range(n)):
        for lead in ("".join(w) for k in range(4) for w in itertools.product(" \n", repeat=k)):
            full.add(lead + ranking_text(list(perm)))
    prefixes = {s[:i] for s in full for i in range(len(s) + 1)}
    return full, prefixes


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_ranking_prefix_agrees_with_brute_force(n):
    full, prefixes = reference(n)
    alphabet = "[]0123456789 >\n"
    rng = random.Random(n)
    probes = set(prefixes)
    probes |= {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(20000)}
    probes |= {p + c for p in list(prefixes) for c in alphabet}  # one character past every valid prefix
    # the loop below meets every ranking (n! orders, each after 15 leads: 0-3 characters of " " or "\n") and
    # strings that are no prefix of one
    assert len(full) == 15 * math.factorial(n) and full <= probes and probes - prefixes
    for s in probes:
        assert ranking_prefix(s, n) == (s in prefixes, s in full), s


def test_two_digit_identifiers():
    ok = ranking_text([9, 10, 0, 1, 2, 3, 4, 5, 6, 7, 8])  # [10] > [11] > [1] > ...
    assert ranking_prefix(ok, 11) == (True, True)
    assert ranking_prefix("[1", 11) == (True, False)  # [1], [10] or [11] to come
    assert ranking_prefix("[10] > [11] > [1", 11) == (True, False)  # only [1] is left that starts with 1
    assert ranking_prefix("[1] > [10] > [11] > [1", 11) == (False, False)  # and it is used
    assert ranking_prefix("[12", 11) == (False, False)
    assert ranking_prefix("[01]", 11) == (False, False)


@pytest.fixture(scope="module")
def tok():
    return models.load_tokenizer("tiny-llama")  # SmolLM2's tokenizer


def step(grammar, tok, text, scores):
    """One call of the processor after the model wrote `text` (the prompt is one token)."""
    ids = [tok.bos_token_id or 0] + tok(text, add_special_tokens=False)["input_ids"]
    return grammar(torch.tensor([ids]), scores.clone())


def test_processor_keeps_a_valid_choice_and_masks_the_rest(tok):
    g = PermutationGrammar(tok, 1, [3], max_new_tokens=60)
    scores = torch.zeros(1, len(tok))
    want = tok(" >", add_special_tokens=False)["input_ids"][0]
    scores[0, want] = 5.0
    out = step(g, tok, f"{OPEN}thinking{CLOSE}\n[2]", scores)
    assert int(out.argmax()) == want and not g.steered[0]
    assert torch.isinf(out[0, tok.eos_token_id])  # not finished: no end of sequence
    allowed = [i for i in range(len(tok)) if out[0, i] > float("-inf")]
    # exactly the tokens the grammar's reference accepts after "[2]", from the whole vocabulary: " " and " >"
    assert allowed == [i for i in range(len(tok)) if ranking_prefix("[2]" + tok.decode([i]), 3)[0]]
    assert sorted(tok.decode([i]) for i in allowed) == [" ", " >"]


def test_processor_steers_a_repeated_identifier_and_ends_a_full_ranking(tok):
    g = PermutationGrammar(tok, 1, [3], max_new_tokens=60)
    scores = torch.zeros(1, len(tok))
    two = tok("2", add_special_tokens=False)["input_ids"][0]
    scores[0, two] = 5.0  # the model wants [2] again
    out = step(g, tok, f"{OPEN}x{CLOSE}\n[2] > [", scores)
    assert out[0, two] == float("-inf") and g.steered[0]
    assert g.own_answer[0] == "\n[2] > ["  # what the model wrote of its answer before the first steer
    allowed = {tok.decode([i]) for i in range(len(tok)) if out[0, i] > float("-inf")}
    assert allowed == {"1", "3"}  # the unused identifiers (SmolLM2 writes one digit per token)
    scores[0, two], scores[0, tok("3", add_special_tokens=False)["input_ids"][0]] = 0.0, 5.0
    step(g, tok, f"{OPEN}x{CLOSE}\n[2] > [1] > [", scores)  # a later step: the first steer's prefix stays
    assert g.own_answer[0] == "\n[2] > ["
    g = PermutationGrammar(tok, 1, [3], 60)
    scores[0, tok(" >", add_special_tokens=False)["input_ids"][0]] = 9.0  # the model would run on past the ranking
    out = step(g, tok, f"{OPEN}x{CLOSE}\n[2] > [3] > [1]", scores)
    assert [i for i in range(len(tok)) if out[0, i] > float("-inf")] == [tok.eos_token_id]
    assert not g.steered[0]  # ending a complete ranking is what free decoding's stopping rule does too


def test_reasoning_is_free_until_the_budget_then_think_closes(tok):
    g = PermutationGrammar(tok, 1, [3], max_new_tokens=answer_reserve(3) + 5)
    scores = torch.randn(1, len(tok))
    out = step(g, tok, f"{OPEN}a", scores)  # within the budget: the model's scores, end of sequence excepted
    keep = torch.ones(len(tok), dtype=torch.bool)
    keep[tok.eos_token_id] = False
    assert torch.equal(out[0, keep], scores[0, keep]) and torch.isinf(out[0, tok.eos_token_id])
    out = step(g, tok, f"{OPEN}a b c d e f g", scores)  # past the budget: only the way to </think>
    assert g.reasoning_cut[0] and not g.steered[0]  # forcing the close is counted apart from steering
    allowed = [tok.decode([i]) for i in range(len(tok)) if out[0, i] > float("-inf")]
    assert sorted(allowed) == ["<", "</"]  # SmolLM2's tokens that begin </think> (it has no token for all of it)


def test_too_small_a_budget_is_an_error(tok):
    with pytest.raises(ValueError, match="max_new_tokens=60 leaves no reasoning budget for a ranking of 10"):
        PermutationGrammar(tok, 1, [10], max_new_tokens=60)


def test_a_random_model_answers_permutations_only_when_constrained():
    cfg = load_config("smoke")
    tok = models.load_tokenizer(cfg["stage2"]["base"])
    lm = stage2.new_listwise({**cfg["stage2"], "reading": "separate"}, tok, 0)
    prompts = [[{"role": "user", "content": f"rank {k} passages, query {k}"}] for k in (2, 3, 5, 7, 10, 11)]
    n_ids = [2, 3, 5, 7, 10, 11]
    free = listwise.TransformersBackend(lm, tok, max_new_tokens=80, batch_size=3).generate(prompts, n_ids)
    assert sum(parse(t, n).ok for t, n in zip(free, n_ids)) == 0  # random weights: never a permutation on its own
    backend = listwise.TransformersBackend(lm, tok, max_new_tokens=90, batch_size=3, constrained=True)
    texts = backend.generate(prompts, n_ids)
    assert len(free) == len(texts) == len(prompts)  # an answer per prompt: the loop below checks all six
    for text, n in zip(texts, n_ids):
        assert text.startswith(OPEN) and CLOSE in text
        assert parse(text, n).ok, text
    assert len(backend.steering) == len(prompts) and all(steered for steered, _ in backend.steering)
    assert backend.generate(prompts, n_ids) == texts  # greedy: deterministic


def test_the_reranker_ledger_counts_what_the_grammar_did():
    from dearlib.core.records import Candidates, Passage, Query
    from dearlib.stage2.listwise import ListwiseReranker

    cfg = load_config("smoke")
    tok = models.load_tokenizer(cfg["stage2"]["base"])
    lm = stage2.new_listwise({**cfg["stage2"], "reading": "separate"}, tok, 0)
    lists = [Candidates(Query(q, f"query {q}"), tuple(Passage(f"{q}-d{i}", f"passage {i}") for i in range(8)), tuple(range(8, 0, -1)))
             for q in ("a", "b", "c")]
    free = ListwiseReranker(listwise.TransformersBackend(lm, tok, max_new_tokens=60, batch_size=2), 6, 3, 8, name="t")
    free.rerank(lists, progress=False)
    assert free.ledger["ok"] == 0 and free.ledger["answers steered"] == 0  # a random model, nothing to steer with
    rr = ListwiseReranker(listwise.TransformersBackend(lm, tok, max_new_tokens=60, batch_size=2, constrained=True), 6, 3, 8, name="t")
    out = rr.rerank(lists, progress=False)
    windows = 3 * 2  # (2, 8) and (0, 6) per query
    assert rr.ledger["ok"] == windows and rr.ledger.rate() == 1.0
    assert rr.ledger["answers steered"] == sum(r.steered for r in rr.records) == windows  # a random model needs steering
    assert rr.ledger["reasoning cut"] == sum(r.reasoning_cut for r in rr.records)
    assert [o.query.qid for o in out] == ["a", "b", "c"]  # a list per query, in order: the loop checks all three
    for c, o in zip(lists, out):  # each list a permutation of its input, ranks 8+ untouched (none here)
        assert sorted(p.docid for p in o.passages) == sorted(p.docid for p in c.passages)
