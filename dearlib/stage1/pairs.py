"""Turn (query, passage) pairs into model inputs, the way each reranker reads them.

Every model tokenises its own input with its own tokenizer (teacher and student may differ). The query is cut
to `q_max_len` tokens and the passage to `p_max_len` before they are joined, so a long passage never pushes the
query out (DeAR: 32 and 196). Encoders with a separator (BERT, MiniLM) get ``[CLS] q [SEP] p [SEP]``; decoder
LLMs (LLaMA) get ``<s> query: q document: p </s>``, RankLLaMA's format, scored at the last token.
"""
from __future__ import annotations

import torch


class PairEncoder:
    def __init__(self, tokenizer, q_max_len: int = 32, p_max_len: int = 196):
        self.tok = tokenizer
        self.q_max_len, self.p_max_len = q_max_len, p_max_len
        self.has_sep = tokenizer.sep_token_id is not None and tokenizer.cls_token_id is not None
        if tokenizer.pad_token_id is None:  # LLaMA tokenizers have no pad token; padding is masked anyway
            tokenizer.pad_token = tokenizer.eos_token

    def ids(self, query: str, passage: str) -> list[int]:
        if self.has_sep:
            q = self.tok(query, add_special_tokens=False, truncation=True, max_length=self.q_max_len)["input_ids"]
            p = self.tok(passage, add_special_tokens=False, truncation=True, max_length=self.p_max_len)["input_ids"]
            return [self.tok.cls_token_id, *q, self.tok.sep_token_id, *p, self.tok.sep_token_id]
        q = self.tok(f"query: {query}", add_special_tokens=False, truncation=True, max_length=self.q_max_len)["input_ids"]
        p = self.tok(f" document: {passage}", add_special_tokens=False, truncation=True, max_length=self.p_max_len)["input_ids"]
        bos = [self.tok.bos_token_id] if self.tok.bos_token_id is not None else []
        return [*bos, *q, *p, self.tok.eos_token_id]

    def pad(self, rows: list[list[int]]) -> dict[str, torch.Tensor]:
        n = max(map(len, rows))
        ids = torch.full((len(rows), n), self.tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), n), dtype=torch.long)
        for i, r in enumerate(rows):  # right padding: sequence-classification heads read the last real token
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        return {"input_ids": ids, "attention_mask": mask}

    def batch(self, queries: list[str], passages: list[str]):
        from transformers import BatchEncoding

        return BatchEncoding(self.pad([self.ids(q, p) for q, p in zip(queries, passages)]))
