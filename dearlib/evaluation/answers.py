"""Does a passage contain an answer? DPR's answer-string match, used for NQ.

Text and answers are Unicode-normalised (NFD), lower-cased and split into word and punctuation tokens (DPR's
SimpleTokenizer pattern); a passage has an answer when an answer's token sequence occurs in it. Stage 1 uses it to
drop likely false negatives from training groups; the QA evaluation uses it for Top-k accuracy.
"""
from __future__ import annotations

import re
import unicodedata

# DPR's pattern is [\p{L}\p{N}\p{M}]+ | [^\p{Z}\p{C}] (the `regex` module); `re`'s \w+ | [^\w\s] splits
# combining marks off as their own tokens, identically in passage and answer, so matches are unchanged.
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFD", text).lower())


def has_answer(text: str, answers) -> bool:
    words = tokens(text)
    for answer in answers:
        a = tokens(answer)
        if a and any(words[i:i + len(a)] == a for i in range(len(words) - len(a) + 1)):
            return True
    return False
