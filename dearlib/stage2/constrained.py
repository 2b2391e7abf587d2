"""Constrained decoding for the listwise model: every answer is a full permutation by construction.

A small listwise model that has learned the answer's shape only roughly (`mini`'s 135M model after a few minutes of
SFT) often writes its ranking inside the reasoning, repeats identifiers, or never closes ``<think>``. This module
keeps the model's own choices and forbids only what could not end in a well-formed answer:

    <think> reasoning </think> [a] > [b] > ... > [z] <eos>

- ``<think>`` opens the completion; the reasoning is free (any token but end-of-sequence) for at most a budget of
  tokens, the budget being what `max_new_tokens` leaves after the longest answer; at the budget ``</think>`` is forced;
- after ``</think>`` (and at most a little whitespace), only tokens that keep the text a prefix of a ranking of
  *distinct* identifiers 1..n are allowed, and end-of-sequence only once all n are named.

Per row it records whether the constraint overrode the model's top token in the answer (`steered`; ending the
answer once all n identifiers are named is not counted, as free decoding's stopping rule does the same) and whether
the reasoning was cut at the budget (`reasoning_cut`): the ledger reports both, so a parse rate under constraint is
never mistaken for a model that writes permutations on its own. It is a transformers `LogitsProcessor` over greedy
or sampled decoding; "each identifier once" would take a regular expression or context-free grammar listing every
permutation, what structured-output libraries accept, hence the few lines here. It does not parse (`dearlib.stage2.permutation`) or batch (`dearlib.stage2.listwise`).
"""
from __future__ import annotations

from functools import lru_cache

OPEN, CLOSE = "<think>", "</think>"
_SEP = " > "
_LEAD = 3  # whitespace characters allowed between </think> and the first identifier
_DIGITS = "0123456789"
_ALPHABET = set(OPEN + CLOSE + "[] >\n" + _DIGITS)


def ranking_prefix(s: str, n: int) -> tuple[bool, bool]:
    """(s can be continued into a ranking of distinct identifiers 1..n, s is one already).

    A ranking is ``[a] > [b] > ... > [z]`` naming every identifier exactly once (ASCII digits, no leading zero: what
    `dearlib.stage2.permutation.parse` reads as one), after at most `_LEAD` whitespace characters; nothing may follow it.
    """
    body = s.lstrip(" \n")
    if len(s) - len(body) > _LEAD:
        return False, False
    seen: set[int] = set()
    i = 0
    while True:
        if i == len(body):
            return True, False
        if body[i] != "[":
            return False, False
        j = i + 1
        while j < len(body) and body[j] in _DIGITS:  # str.isdigit would take '２' and '¹' (int('¹') raises)
            j += 1
        digits = body[i + 1:j]
        if j == len(body):  # an identifier being written: some unused one must start with these digits
            return (not digits or any(str(k).startswith(digits) for k in range(1, n + 1) if k not in seen)), False
        if body[j] != "]" or not digits or digits != str(int(digits)) or not 1 <= int(digits) <= n or int(digits) in seen:
            return False, False
        seen.add(int(digits))
        i = j + 1
        if len(seen) == n:
            return i == len(body), i == len(body)
        rest = body[i:i + len(_SEP)]
        if rest != _SEP[:len(rest)]:
            return False, False
        if len(rest) < len(_SEP):
            return True, False
        i += len(_SEP)


def answer_reserve(n: int) -> int:
    """Tokens kept back from the reasoning for ``</think>``, a ranking of n and end-of-sequence.

    Every allowed token adds at least one character to a string of known longest length, so counting characters
    bounds the tokens whatever the model picks (its usual tokenisation takes about two thirds of that).
    """
    longest = _SEP.join(f"[{k}]" for k in range(n, 0, -1))
    return len(CLOSE) + _LEAD + len(longest) + 1


@lru_cache(maxsize=4)
def _alphabet_tokens(tokenizer) -> tuple[tuple[int, str], ...]:
    """(id, text) of the vocabulary's tokens written only with the answer's characters (a few hundred)."""
    out = []
    for i in range(len(tokenizer)):
        text = tokenizer.decode([i])
        if text and set(text) <= _ALPHABET:
            out.append((i, text))
    return tuple(out)


class PermutationGrammar:
    """A transformers logits processor: row r of the batch must answer with a permutation of 1..n_ids[r]."""

    def __init__(self, tokenizer, prompt_len: int, n_ids: list[int], max_new_tokens: int):
        self.tok, self.prompt_len, self.n = tokenizer, prompt_len, list(n_ids)
        self.eos = tokenizer.eos_token_id
        self.vocab = _alphabet_tokens(tokenizer)
        self.budget = [max_new_tokens - answer_reserve(k) for k in self.n]
        for k, b in zip(self.n, self.budget):
            if b < 1:
                raise ValueError(f"max_new_tokens={max_new_tokens} leaves no reasoning budget for a ranking of {k} "
                                 f"(it takes up to {answer_reserve(k)} tokens)")
        self.forced_at: list[int | None] = [None] * len(self.n)  # text offset where </think> was forced
        self.steered = [False] * len(self.n)
        self.reasoning_cut = [False] * len(self.n)
        self.own_answer: list[str | None] = [None] * len(self.n)  # the answer as the model wrote it up to its first steer
        self._answer_text: dict[int, str] = {}

    def _allowed(self, r: int, text: str, steps: int) -> tuple[str, list[int] | None]:
        """(phase, token ids row r may emit next): phases "open", "reason" (None: any token but end-of-sequence),
        "close" (the forced </think>), "answer" and "end" (the ranking is complete: end-of-sequence only)."""
        n = self.n[r]
        if not text.startswith(OPEN):
            return "open", [i for i, t in self.vocab if OPEN.startswith(text + t) or (text + t).startswith(OPEN)]
        if self.forced_at[r] is None:
            end = text.find(CLOSE, len(OPEN))
            if end >= 0:
                return self._answer(r, text[end + len(CLOSE):], n)
            if steps < self.budget[r]:
                return "reason", None
            self.forced_at[r], self.reasoning_cut[r] = len(text), True
        forced = text[self.forced_at[r]:]
        if len(forced) >= len(CLOSE):
            return self._answer(r, forced[len(CLOSE):], n)
        ok = []
        for i, t in self.vocab:
            s = forced + t
            if CLOSE.startswith(s) or s.startswith(CLOSE) and ranking_prefix(s[len(CLOSE):], n)[0]:
                ok.append(i)
        return "close", ok

    def _answer(self, r: int, answer: str, n: int) -> tuple[str, list[int]]:
        self._answer_text[r] = answer
        if ranking_prefix(answer, n)[1]:
            return "end", [self.eos]  # as free decoding's stopping rule: not counted as steering
        return "answer", [i for i, t in self.vocab if ranking_prefix(answer + t, n)[0]]

    def __call__(self, input_ids, scores):
        import torch

        gen = input_ids[:, self.prompt_len:]
        texts = self.tok.batch_decode(gen, skip_special_tokens=True)
        masked = torch.full_like(scores, float("-inf"))
        for r, text in enumerate(texts):
            if (gen[r] == self.eos).any():  # finished: generate pads it from here on
                masked[r, self.eos] = 0.0
                continue
            phase, allowed = self._allowed(r, text, gen.shape[1])
            if allowed is None:
                masked[r] = scores[r]
                masked[r, self.eos] = float("-inf")
                continue
            if not allowed:  # cannot happen from a well-formed state; fail loudly rather than emit garbage
                raise RuntimeError(f"constrained decoding: no token continues {text!r} into a ranking of {self.n[r]}")
            idx = torch.tensor(allowed, device=scores.device)
            masked[r, idx] = scores[r, idx]
            if phase in ("open", "answer") and int(scores[r].argmax()) not in allowed:
                if phase == "answer" and not self.steered[r]:
                    self.own_answer[r] = self._answer_text[r]
                self.steered[r] = True
        return masked
