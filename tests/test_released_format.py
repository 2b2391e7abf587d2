"""The released reading: token ids, rendered prompts, decoding settings and parsing against an independent
re-derivation of the authors' released code (DataScienceUIBK/DeAR-Reranking at c31c739), written here from reading
it (file:line in the comments), on character-level tokenizers built in memory, so that one changed character of the
released format changes the ids."""
import re
import string
from types import SimpleNamespace

import pytest
import torch
from tokenizers import Regex, Tokenizer, models as tk_models, pre_tokenizers, processors
from transformers import LlamaForSequenceClassification, PreTrainedTokenizerFast

from dearlib.core import models
from dearlib.core.records import Passage, Query
from dearlib.stage1.pairs import PairEncoder, ReleasedPairEncoder, encoder_for
from dearlib.stage1.rerank import Scorer
from dearlib.stage2 import prompt
from dearlib.stage2.listwise import RELEASED_DECODING, ListwiseReranker, TransformersBackend
from dearlib.stage2.permutation import Ledger, parse, parse_released

CHARS = string.printable[:-2]  # letters, digits, punctuation, space, \t, \n, \r (not \x0b\x0c)
LLAMA3_CHAT = ("{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
               "{{ m['content'] }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}"
               "<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}")


def char_tokenizer(specials: dict, chat_template: str | None = None, pair_template: bool = False):
    """One token per character; `specials` {"bos_token": "<...>", ...} are added tokens. With `pair_template`, the
    post-processor puts a BOS before each part, as LLaMA 3's tokenizer.json does."""
    vocab = {c: i for i, c in enumerate(CHARS)}
    for t in specials.values():
        vocab[t] = len(vocab)
    for t in ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"):
        vocab[t] = len(vocab)
    raw = Tokenizer(tk_models.WordLevel(vocab, unk_token=specials.get("unk_token", "?")))
    raw.pre_tokenizer = pre_tokenizers.Split(Regex("."), "isolated")
    bos = specials.get("bos_token")
    if pair_template:
        raw.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos}:1 $B:1",
                                                           special_tokens=[(bos, vocab[bos])])
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, **specials,
                                  additional_special_tokens=["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"])
    tok.chat_template = chat_template
    return tok, vocab


@pytest.fixture
def llama3():
    """A LLaMA 3-like tokenizer: a BOS, an EOS, no pad token, a chat template beginning with the BOS."""
    return char_tokenizer({"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}, LLAMA3_CHAT, pair_template=True)


@pytest.fixture
def no_bos():
    """A tokenizer without a BOS token (and without a chat template), with a pad token of its own."""
    return char_tokenizer({"eos_token": "</s>", "pad_token": "<pad>"})


# ------------------------------------------------------------------ the re-derivation of the released pointwise input
def released_pair(vocab, bos, pad, query, title, text, q_max, p_max, template_specials):
    """pointwise_reranker/data.py, re-derived for a one-token-per-character tokenizer."""
    q = [vocab[c] for c in "query: " + query][:q_max]  # data.py:218, 221-224 (truncation to query_max_length)
    d = [vocab[c] for c in "document: " + title + " " + text][:p_max - 3]  # data.py:219 (separator ' ', arguments.py:31), 230-233
    # data.py:266-273: prepare_for_model([bos] + q, [bos] + d, truncation='only_second', padding='max_length',
    # max_length=q_max + p_max); transformers 4 counts the pair template's special tokens against max_length
    ids, pair = [bos] + q, [bos] + d
    excess = len(ids) + len(pair) + template_specials - (q_max + p_max)
    if excess > 0:
        pair = pair[:len(pair) - excess]
    row = ids + pair
    return row + [pad] * (q_max + p_max - len(row)), [1] * len(row) + [0] * (q_max + p_max - len(row))


def test_pair_ids_are_the_released_ones(llama3):
    tok, vocab = llama3
    enc = ReleasedPairEncoder(tok, q_max_len=12, p_max_len=30)
    bos, eos = vocab["<|begin_of_text|>"], vocab["<|end_of_text|>"]
    assert tok.pad_token_id == eos  # inference.py:55-56: the EOS pads when there is no pad token
    cases = [("flea life", "", "fleas live a year"),  # an untitled passage: "document:  fleas" (two spaces)
             ("what is the life cycle of a flea", "Fleas", "Adult fleas lay eggs on the host, and the eggs fall off."),
             ("x", "T", "y" * 200)]  # a long document, cut to p_max - 3 and then by the template's two specials
    passages = [Passage("d", text, title) for _, title, text in cases]
    batch = enc.pad([enc.ids(q, p) for (q, _, _), p in zip(cases, passages)])
    for row, mask, (q, title, text) in zip(batch["input_ids"].tolist(), batch["attention_mask"].tolist(), cases):
        want, want_mask = released_pair(vocab, bos, eos, q, title, text, 12, 30, template_specials=2)
        assert (row, mask) == (want, want_mask)
    assert batch["input_ids"].shape == (3, 42)  # q_max_len + p_max_len, whatever the batch
    # a plain string is the text of an untitled passage
    assert enc.ids("flea life", "fleas live a year") == enc.ids("flea life", passages[0])


def test_pad_token_of_its_own_pads_and_no_bos_is_refused(llama3, no_bos):
    tok, vocab = llama3
    tok.pad_token = "<|end_of_text|>"
    own, own_vocab = char_tokenizer({"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"})
    enc = ReleasedPairEncoder(own, 8, 16)
    assert enc.pad([enc.ids("q", "d")])["input_ids"][0, -1].item() == own_vocab["<pad>"]  # not the EOS
    with pytest.raises(ValueError, match="BOS token before the query"):
        ReleasedPairEncoder(no_bos[0], 8, 16)
    assert isinstance(encoder_for("kit", tok), PairEncoder) and isinstance(encoder_for("released", tok), ReleasedPairEncoder)
    with pytest.raises(ValueError, match="reading must be"):
        encoder_for("paper", tok)


def test_a_llama2_tokenizer_class_adds_its_own_bos_to_each_part():
    """transformers 4's LlamaTokenizer(Fast).build_inputs_with_special_tokens, which prepare_for_model calls
    (data.py:266-273): bos + ids_0 (+ eos) + bos + ids_1 (+ eos), with add_bos_token as RankLLaMA's tokenizer sets it."""
    from transformers import LlamaTokenizer

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{c: 3 + i for i, c in enumerate("▁abcdefghijklmnopqrstuvwxyz:")}}
    tok = LlamaTokenizer(vocab=vocab, merges=[], add_bos_token=True)
    enc = ReleasedPairEncoder(tok, 8, 12)
    q = [vocab[c] for c in "▁query:▁ab"][:8]  # SentencePiece's prefix space and ▁ for each space
    d = [vocab[c] for c in "▁document:▁▁xyz"][:9]
    assert enc.ids("ab", "xyz") == [1, 1, *q, 1, 1, *d][:20]
    # 1 + 1 + 8 + 1 + 1 + 9 = 21 > 20: the document loses its last token (the class's two BOS count against max_length)
    assert len(enc.ids("ab", "xyz")) == 20 and enc.pad([enc.ids("ab", "xyz")])["input_ids"].shape == (1, 20)


def test_the_kit_reading_differs_from_the_released_one(llama3):
    """The kit's format (one BOS, " document:", an EOS at the end, no fixed length) is not what the checkpoints read."""
    tok, vocab = llama3
    kit = PairEncoder(tok, 12, 30).ids("flea", "fleas live")
    released = ReleasedPairEncoder(tok, 12, 30).ids("flea", "fleas live")
    assert kit != released and released.count(vocab["<|begin_of_text|>"]) == 2 and kit.count(vocab["<|begin_of_text|>"]) == 1


def test_a_pairs_score_does_not_depend_on_its_batch(llama3):
    """Rows are padded to q_max_len + p_max_len and the head reads the last position (config pad id 0, as the released
    loader sets it): a short pair scores the same alone and beside a longer one."""
    tok, _ = llama3
    torch.manual_seed(0)
    cfg = models.tiny_llama_config(len(tok))
    cfg.num_labels = 1
    model = models.ensure_pad(models.released_pad(LlamaForSequenceClassification(cfg)), tok).eval()
    assert model.config.pad_token_id == 0
    scorer = Scorer(model, ReleasedPairEncoder(tok, 12, 30), batch_size=8)
    alone = scorer.score_pairs(["flea"], ["fleas live"])
    together = scorer.score_pairs(["flea", "what is the life cycle of a flea"], ["fleas live", "adult fleas lay eggs " * 5])
    assert alone[0] == pytest.approx(together[0], abs=1e-5)
    assert together[0] != pytest.approx(together[1], abs=1e-3)  # the scores are not all equal


# ------------------------------------------------------------------ the re-derivation of the released listwise prompt
def released_plain_prompt(query, passages, max_words=300):
    """listwise_rerank/prompts.py:5-34 (messages) rendered as clients.py:179-188 (no chat template)."""
    lines = ["[SYSTEM] You are RankLLM, an assistant that ranks passages by relevance to the query.",  # prompts.py:5
             f"[USER] I will provide you with {len(passages)} passages, each indicated by number identifier [].\n"
             f"Rank the passages based on their relevance to query: {query}.",  # prompts.py:10
             "[ASSISTANT] Okay, please provide the passages."]  # prompts.py:11
    for i, text in enumerate(passages, 1):  # prompts.py:28-32
        snippet = " ".join(text.replace("Title: Content: ", "").strip().split()[:max_words])
        lines += [f"[USER] [{i}] {snippet}", f"[ASSISTANT] Received passage [{i}]."]
    lines.append(f"[USER] Search Query: {query}.\n"  # prompts.py:14-24
                 f"Rank the {len(passages)} passages above based on their relevance to the search query. "
                 "The passages should be listed in descending order using identifiers.\n"
                 "Please follow the steps below:\n"
                 "Step 1. List the information requirements to answer the query.\n"
                 "Step 2. For each requirement, find the passages containing that information.\n"
                 "Step 3. Rank passages that best cover clear and diverse information. Include all passages.\n"
                 "Output format strictly: [2] > [1] > [3] ... Only output the ranking using identifiers; no explanations.")
    return "\n".join(lines)


def window():
    return prompt.Window("q1:0-2", Query("q1", "flea life"),
                         [Passage("a", "fleas  live\na year"), Passage("b", "Adult fleas lay eggs", "Fleas"),
                          Passage("c", "eggs hatch", " ")])  # a blank title: "Title:  Content: " before the collapse


def test_released_prompt_renders_as_the_released_client(no_bos):
    tok, vocab = no_bos
    msgs = prompt.released_messages(window(), max_words=3)
    # the hits' content: "Title: {title} Content: {text}" for a titled passage (convert_trec_to_json.py:102-107)
    want = released_plain_prompt("flea life", [" ".join(t.split()) for t in ("fleas live a year",
                                 "Title: Fleas Content: Adult fleas lay eggs", "Title:   Content: eggs hatch")], 3)
    assert prompt.render_released(msgs, tok) == want
    assert prompt.released_ids(msgs, tok) == [vocab[c] for c in want]  # no template: no special tokens added


def test_released_prompt_through_a_chat_template_reads_two_bos(llama3):
    tok, vocab = llama3
    msgs = prompt.released_messages(window(), max_words=300)
    bos = "<|begin_of_text|>"
    # clients.py:172-175: apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    want = bos + "".join(f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content']}<|eot_id|>" for m in msgs) \
        + "<|start_header_id|>assistant<|end_header_id|>\n\n"
    assert prompt.render_released(msgs, tok) == want
    ids = prompt.released_ids(msgs, tok)  # clients.py:193: tokenizer(prompt): the post-processor adds a BOS
    assert ids[:2] == [vocab[bos]] * 2 and len(ids) == len(tok(want, add_special_tokens=False)["input_ids"]) + 1
    assert "no explanations." in msgs[-1]["content"] and "<think>" not in "".join(m["content"] for m in msgs)


# ------------------------------------------------------------------ the re-derivation of the released parser
def released_order(text, n):
    """listwise_rerank/prompts.py:36-61: extract_after_think, then parse_ranking_to_indices."""
    m = re.search(r"</think>\s*(.*)", text, flags=re.DOTALL | re.IGNORECASE)
    text = m.group(1).strip() if m else text.strip()
    cleaned = "".join(ch if ch.isdigit() else " " for ch in text).strip()
    if not cleaned:
        return list(range(n))
    seen, out = set(), []
    for idx in (int(x) - 1 for x in cleaned.split()):
        if 0 <= idx < n and idx not in seen:
            seen.add(idx)
            out.append(idx)
    return out + [i for i in range(n) if i not in seen]


@pytest.mark.parametrize("text, n, outcome", [
    ("[3] > [1] > [2]", 3, "ok"),
    ("3 1 2", 3, "ok"),  # bare numbers count (the kit's parser finds no identifier)
    ("<think>[1] > [2] > [3]</think>\n[2] > [3] > [1]", 3, "ok"),
    ("<THINK>1 2 3</THINK> 3, 2, 1", 3, "ok"),
    ("<think>passage 3 is best", 3, "missing identifiers"),  # no </think>: the reasoning's numbers count
    ("[2] > [9] > [1]", 3, "out of range"),
    ("[2] > [2] > [1] > [3]", 3, "repetition"),
    ("[2]", 3, "missing identifiers"),
    ("no ranking", 3, "wrong format"),
    ("", 4, "wrong format"),
])
def test_released_parse(text, n, outcome):
    got = parse_released(text, n)
    assert (got.order, got.outcome) == (released_order(text, n), outcome)


# ------------------------------------------------------------------ decoding and the reranker, released
class FakeLM:
    """Records generate()'s arguments and answers with fixed token ids."""

    def __init__(self, answer_ids):
        self.config = SimpleNamespace(max_position_embeddings=100_000)
        self.device, self.answer, self.calls = torch.device("cpu"), answer_ids, []

    def eval(self):
        return self

    def generate(self, input_ids, attention_mask, **kw):
        self.calls.append({"input_ids": input_ids, **kw})
        return torch.cat([input_ids, torch.tensor([self.answer] * len(input_ids))], dim=1)


def test_released_backend_decodes_and_reranks_as_released(llama3):
    tok, vocab = llama3
    lm = FakeLM([vocab[c] for c in "2 1"])
    d = RELEASED_DECODING

    class Recording(TransformersBackend):
        def _texts(self, prompts):
            self.shown = super()._texts(prompts)
            return self.shown

    backend = Recording(lm, tok, max_new_tokens=64, temperature=d["temperature"], top_p=d["top_p"], reading="released")
    assert d == {"temperature": 0.5, "top_p": 0.9}  # run_listwise.sh:34, clients.py:197-205
    from dearlib.core.records import Candidates

    c = Candidates(Query("q1", "flea life"), (Passage("a", "fleas live"), Passage("b", "adult fleas", "Fleas")), (2.0, 1.0))
    rr = ListwiseReranker(backend, window=2, step=1, rank_end=2, max_words=300)
    out = rr.rerank([c], progress=False)
    call = lm.calls[0]
    assert (call["do_sample"], call["temperature"], call["top_p"], call["stopping_criteria"]) == (True, 0.5, 0.9, None)
    assert call["eos_token_id"] == vocab["<|end_of_text|>"]
    assert call["input_ids"][0, :2].tolist() == [vocab["<|begin_of_text|>"]] * 2
    assert [p.docid for p in out[0].passages] == ["b", "a"]  # "2 1": bare numbers, read as the released code reads them
    assert rr.ledger["ok"] == 1 and rr.records[0].prompt.endswith("no explanations.")
    assert "[2] Title: Fleas Content: adult fleas<|eot_id|>" in backend.shown[0]  # the title shown apart
    assert parse("2 1", 2).outcome == "wrong format"  # the kit's parser would have kept the input order


def test_ledger_counts_released_outcomes():
    ledger = Ledger()
    for text in ("2 1", "[3]", "nothing"):
        ledger.add(parse_released(text, 2))
    assert dict(ledger) == {"ok": 1, "out of range": 1, "wrong format": 1}
