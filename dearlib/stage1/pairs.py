"""Turn (query, passage) pairs into model inputs, the way each reranker reads them.

Every model tokenises its own input with its own tokenizer (teacher and student may differ). Two readings:

- ``kit`` (`PairEncoder`), what the kit trains and scores its own models with. The query is cut to `q_max_len`
  tokens and the passage to `p_max_len` before they are joined, so a long passage never pushes the query out (DeAR:
  32 and 196). Encoders with a separator (BERT, MiniLM) get ``[CLS] q [SEP] p [SEP]``; decoder LLMs (LLaMA) get
  ``<s> query: q document: p </s>``, RankLLaMA's format, scored at the last real token (rows padded to the batch's
  longest, on the right).
- ``released`` (`ReleasedPairEncoder`), the authors' released inference as it runs (DataScienceUIBK/DeAR-Reranking,
  `pointwise_reranker/data.py`: `RerankerInferencePreProcessor`, `RerankerInferenceDataset`; `inference.py`), for
  their checkpoints: ``query: {q}`` cut to `q_max_len` tokens and ``document: {title} {text}`` to `p_max_len - 3`,
  each tokenised without special tokens, a BOS put before each part, so ``[BOS] query: q [BOS] document: d``, padded
  on the right to exactly `q_max_len + p_max_len` tokens with the tokenizer's pad token (its EOS only when it has
  none). Under the transformers 4 `prepare_for_model` the released code calls, LLaMA 3's `PreTrainedTokenizerFast`
  adds nothing more, a LLaMA-2 tokenizer class adds its own BOS before each part (RankLLaMA reads two), and the
  special tokens the tokenizer's pair template counts are held against the length, so a pair at both limits loses
  its document's last tokens. Every row has the same length, so a pair's score never depends on what it is batched
  with; the model (config pad id 0, `dearlib.core.models.released_pad`) reads the last position, as the
  checkpoints were trained.

`encoder_for(reading, ...)` picks one. Neither loads or runs a model.
"""
from __future__ import annotations

import torch

from ..core.records import Passage

READINGS = ("kit", "released")


def _text(passage) -> str:
    return passage.contents if isinstance(passage, Passage) else passage


class PairEncoder:
    def __init__(self, tokenizer, q_max_len: int = 32, p_max_len: int = 196):
        self.tok = tokenizer
        self.q_max_len, self.p_max_len = q_max_len, p_max_len
        self.has_sep = tokenizer.sep_token_id is not None and tokenizer.cls_token_id is not None
        if tokenizer.pad_token_id is None:  # LLaMA tokenizers have no pad token; padding is masked anyway
            tokenizer.pad_token = tokenizer.eos_token

    def ids(self, query: str, passage: str | Passage) -> list[int]:
        passage = _text(passage)
        if self.has_sep:
            q = self.tok(query, add_special_tokens=False, truncation=True, max_length=self.q_max_len)["input_ids"]
            p = self.tok(passage, add_special_tokens=False, truncation=True, max_length=self.p_max_len)["input_ids"]
            return [self.tok.cls_token_id, *q, self.tok.sep_token_id, *p, self.tok.sep_token_id]
        q = self.tok(f"query: {query}", add_special_tokens=False, truncation=True, max_length=self.q_max_len)["input_ids"]
        p = self.tok(f" document: {passage}", add_special_tokens=False, truncation=True, max_length=self.p_max_len)["input_ids"]
        bos = [self.tok.bos_token_id] if self.tok.bos_token_id is not None else []
        return [*bos, *q, *p, self.tok.eos_token_id]

    def pad(self, rows: list[list[int]]) -> dict[str, torch.Tensor]:
        return _pad_right(rows, max(map(len, rows)), self.tok.pad_token_id)

    def batch(self, queries: list[str], passages: list[str]):
        from transformers import BatchEncoding

        return BatchEncoding(self.pad([self.ids(q, p) for q, p in zip(queries, passages)]))


def _pad_right(rows: list[list[int]], n: int, pad_id: int) -> dict[str, torch.Tensor]:
    ids = torch.full((len(rows), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    for i, r in enumerate(rows):  # right padding: sequence-classification heads read from the right end
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return {"input_ids": ids, "attention_mask": mask}


class ReleasedPairEncoder:
    """The released inference's pair input (see the module docstring); same interface as `PairEncoder`.

    A `Passage` gives its title and text apart (``document: {title} {text}``); a plain string is the text of an
    untitled passage, which the released code turns into ``document:  {text}`` (its empty title, then the
    separator: two spaces).
    """

    SEPARATOR = " "  # pointwise_reranker/arguments.py: passage_field_separator

    def __init__(self, tokenizer, q_max_len: int = 32, p_max_len: int = 196):
        if tokenizer.bos_token_id is None:  # the released code would put None in the ids and fail
            raise ValueError(f"the released reading puts a BOS token before the query and before the document "
                             f"(pointwise_reranker/data.py, RerankerInferenceDataset); the tokenizer "
                             f"{getattr(tokenizer, 'name_or_path', '') or type(tokenizer).__name__!r} has none")
        if tokenizer.pad_token_id is None:  # pointwise_reranker/inference.py: the EOS pads when there is no pad token
            tokenizer.pad_token = tokenizer.eos_token
        self.tok = tokenizer
        self.q_max_len, self.p_max_len = q_max_len, p_max_len
        self.length = q_max_len + p_max_len  # every row, padded
        # transformers 4's prepare_for_model counts the special tokens the tokenizer's pair template would add
        # (LLaMA 3: two BOS) against max_length, though it adds none, and cuts the document by the excess
        backend = getattr(tokenizer, "backend_tokenizer", None)
        self.template_specials = backend.num_special_tokens_to_add(True) if backend is not None else 0
        # ... while transformers 4's LLaMA-2 tokenizer classes (RankLLaMA's) do add their BOS (and EOS, when set)
        # around each part there: [BOS] [BOS] query: q [BOS] [BOS] document: d
        llama2 = type(tokenizer).__name__.startswith(("LlamaTokenizer", "CodeLlamaTokenizer"))
        self.part_prefix = [tokenizer.bos_token_id] if llama2 and getattr(tokenizer, "add_bos_token", False) else []
        self.part_suffix = [tokenizer.eos_token_id] if llama2 and getattr(tokenizer, "add_eos_token", False) else []

    def ids(self, query: str, passage: str | Passage) -> list[int]:
        title, text = (passage.title, passage.text) if isinstance(passage, Passage) else ("", passage)
        q = self.tok(f"query: {query}", add_special_tokens=False, truncation=True, max_length=self.q_max_len)["input_ids"]
        d = self.tok(f"document: {title}{self.SEPARATOR}{text}", add_special_tokens=False, truncation=True,
                     max_length=self.p_max_len - 3)["input_ids"]
        excess = 2 + len(q) + len(d) + self.template_specials - self.length
        if excess > 0:  # truncation="only_second": the document's tail goes
            d = d[:len(d) - excess]
        pre, post = self.part_prefix, self.part_suffix
        return [*pre, self.tok.bos_token_id, *q, *post, *pre, self.tok.bos_token_id, *d, *post]

    def pad(self, rows: list[list[int]]) -> dict[str, torch.Tensor]:
        return _pad_right(rows, self.length, self.tok.pad_token_id)

    def batch(self, queries: list[str], passages: list[str]):
        from transformers import BatchEncoding

        return BatchEncoding(self.pad([self.ids(q, p) for q, p in zip(queries, passages)]))


def encoder_for(reading: str, tokenizer, q_max_len: int = 32, p_max_len: int = 196):
    """The pair encoder of a reading: "kit" (`PairEncoder`) or "released" (`ReleasedPairEncoder`)."""
    if reading not in READINGS:
        raise ValueError(f"reading must be one of {', '.join(READINGS)}, not {reading!r}")
    return (ReleasedPairEncoder if reading == "released" else PairEncoder)(tokenizer, q_max_len, p_max_len)
