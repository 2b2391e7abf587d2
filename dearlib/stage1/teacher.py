"""The frozen Stage-1 teacher: relevance scores for (query, passage) pairs, computed once and cached on disk.

Two kinds of teacher share one interface, `Teacher.score(query, passages) -> list[float]`:
- `CrossEncoderTeacher`: a sequence-classification model with one output reading the pair together, like the
  paper's RankLLaMA-13B (``query: {q}`` / ``document: {title} {text}``); the `smoke` profile's tiny LLaMA too. Its
  `stage1.teacher.reading` picks the pair format (`dearlib.stage1.pairs.encoder_for`): the kit's, or the released
  training code's (``paper``); a released-reading teacher keeps its own cache entries.
- `BiEncoderTeacher`: a sentence-transformers embedding model, scoring by the cosine of mean-pooled embeddings
  times a logit scale; the `mini` profile's all-MiniLM-L6-v2, a real relevance model that runs on a CPU.
  Why the scale: the distillation losses read teacher scores as logits (KL at temperature T, RankNet's soft
  targets sigmoid(t_i - t_j)), and a cosine in [-1, 1] makes both nearly uniform: cosines 0.6 vs 0.3 give a
  soft target of 0.57. The scale the model was trained with (sentence-transformers' MultipleNegativesRankingLoss,
  scale 20) turns its cosines back into the logits its training softmax saw: 0.6 vs 0.3 then give 0.998.

`ScoreCache` keeps every score in SQLite, keyed by the teacher's identity and the exact texts, so a teacher runs
once per pair across notebooks and reruns. Teachers are never trained here.
"""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..core.readers import ReadError
from ..core.records import Passage


class ScoreCache:
    """{(teacher id, query, passage): score} in one SQLite file; a write is committed per batch, atomically."""

    def __init__(self, path: str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path))
        try:
            self.db.execute("CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, score REAL NOT NULL)")
            columns = [row[1] for row in self.db.execute("PRAGMA table_info(scores)")]
            self.db.execute("SELECT COUNT(*) FROM scores").fetchone()  # reads the table: a damaged file fails here
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise ReadError(f"{path}: not a teacher score cache (SQLite: {e}); delete it and the teacher's scores "
                            "are computed again") from None
        if columns != ["key", "score"]:
            self.db.close()
            raise ReadError(f"{path}: its table 'scores' has columns {columns}, not ['key', 'score']: not a teacher "
                            "score cache; delete it and the teacher's scores are computed again")

    @staticmethod
    def key(teacher_id: str, query: str, passage: str) -> str:
        return hashlib.sha256("\0".join((teacher_id, query, passage)).encode()).hexdigest()

    def get(self, keys: list[str]) -> dict[str, float]:
        out = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            rows = self.db.execute(f"SELECT key, score FROM scores WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            out.update(rows.fetchall())
        return out

    def put(self, items: dict[str, float]) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?)", items.items())

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM scores").fetchone()[0]


class Teacher:
    """Base class: subclasses set `identity` (what the cache keys on) and implement `_score_pairs` for the pairs
    the cache does not hold."""

    identity: str

    def __init__(self, cache: ScoreCache | None = None, batch_size: int = 32, chunk: int = 2048):
        self.cache = cache
        self.batch_size = batch_size
        self.chunk = chunk
        self.calls = 0  # pairs actually computed (not served from the cache)

    def _score_pairs(self, queries: list[str], passages: list[str], progress: bool) -> list[float]:
        raise NotImplementedError

    def score_pairs(self, queries: list[str], passages: list[str], progress: bool = False) -> list[float]:
        keys = [ScoreCache.key(self.identity, q, p) for q, p in zip(queries, passages)]
        known = self.cache.get(keys) if self.cache is not None else {}
        todo = [i for i, k in enumerate(keys) if k not in known]
        # In chunks, each committed to the cache: an interrupted run loses at most one chunk.
        for s in tqdm(range(0, len(todo), self.chunk), desc=f"teacher {self.identity}", disable=not progress or len(todo) <= self.chunk):
            idx = todo[s:s + self.chunk]
            scores = self._score_pairs([queries[i] for i in idx], [passages[i] for i in idx], progress and len(todo) <= self.chunk)
            new = {keys[i]: float(v) for i, v in zip(idx, scores)}
            self.calls += len(idx)
            if self.cache is not None:
                self.cache.put(new)
            known.update(new)
        return [known[k] for k in keys]

    def score(self, query: str, passages: list[Passage]) -> list[float]:
        return self.score_pairs([query] * len(passages), [p.contents for p in passages])


class BiEncoderTeacher(Teacher):
    """`scale` x the cosine similarity of mean-pooled sentence embeddings (sentence-transformers)."""

    def __init__(self, model_dir: str | Path, identity: str, max_length: int = 256, scale: float = 1.0, **kw):
        super().__init__(**kw)
        from sentence_transformers import SentenceTransformer

        self.identity, self.scale = identity, scale
        self.model = SentenceTransformer(str(model_dir), device="cpu" if not torch.cuda.is_available() else None)
        self.model.max_seq_length = max_length
        self._emb: dict[str, torch.Tensor] = {}

    def _score_pairs(self, queries, passages, progress):
        # A bi-encoder embeds each distinct text once (kept in memory), however many pairs it appears in.
        new = [t for t in dict.fromkeys([*queries, *passages]) if t not in self._emb]
        if new:
            emb = self.model.encode(new, batch_size=self.batch_size, normalize_embeddings=True, convert_to_tensor=True,
                                    show_progress_bar=progress)
            self._emb.update(zip(new, emb))
        q = torch.stack([self._emb[t] for t in queries])
        p = torch.stack([self._emb[t] for t in passages])
        return (self.scale * (q * p).sum(-1)).tolist()


class CrossEncoderTeacher(Teacher):
    """A sequence-classification model with one output over ``query: {q}`` + ``document: {p}`` (RankLLaMA's format)."""

    def __init__(self, model, tokenizer, identity: str, q_max_len: int = 32, p_max_len: int = 196, reading: str = "kit", **kw):
        super().__init__(**kw)
        from .pairs import encoder_for

        self.identity = identity
        self.model = model.eval().to("cuda" if torch.cuda.is_available() else "cpu")
        self.encoder = encoder_for(reading, tokenizer, q_max_len, p_max_len)  # "released": as the released code reads it

    def _score_pairs(self, queries, passages, progress):
        from .rerank import Scorer

        return Scorer(self.model, self.encoder, self.batch_size, self.identity).score_pairs(queries, passages, progress)


def from_config(s1: dict, cache: ScoreCache | None, seed: int = 0) -> Teacher:
    """The teacher a profile's `stage1` section names (its random tiny models are drawn with seed + 1)."""
    from ..core import models

    t = s1["teacher"]
    if t["kind"] == "bi-encoder":
        scale = t["scale"]
        return BiEncoderTeacher(models.package_dir(t["model"]), identity=f"{t['model']}@{t['max_length']}x{scale:g}",
                                max_length=t["max_length"], scale=scale, cache=cache, batch_size=s1["score_batch_size"])
    if t["kind"] != "cross-encoder":
        raise ValueError(f"unknown teacher kind {t['kind']!r}: bi-encoder or cross-encoder")
    tok = models.load_tokenizer(t["model"])
    reading = t.get("reading", "kit")
    model = models.load_sequence_classifier(t["model"], tok, layers=t.get("layers"), seed=seed + 1, reading=reading)
    identity = f"{t['model']}:{t.get('layers')}:{seed + 1}" + (":released" if reading == "released" else "")  # its own cache entries
    return CrossEncoderTeacher(model, tok, identity=identity, q_max_len=s1["q_max_len"], p_max_len=s1["p_max_len"],
                               reading=reading, cache=cache, batch_size=s1["score_batch_size"])
