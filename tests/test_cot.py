"""Stage-2 data: the teacher-guided generator, exports, and the OpenAI-compatible client against a real
HTTP server on loopback that answers with canned completions, 429s and 500s."""
import http.server
import json
import re
import threading
from collections import Counter

import pytest

from dearlib.core.records import Passage, Query
from dearlib.stage2 import cot
from dearlib.stage2.permutation import parse

KEY = "sk-test-secret-0123456789"


def window(i, n=3):
    ps = [Passage(f"d{i}-{j}", f"passage {j} about topic {i}" + (" nobel physics" if j == 1 else "")) for j in range(n)]
    return cot.Window(f"w{i}", Query(f"q{i}", "who won the nobel prize in physics"), ps, teacher=[0.1, 0.9, 0.1][:n],
                      labels=[0, 1, 1][:n])


def by_the_rules(text: str, n: int) -> tuple[str, list[int]]:
    """(outcome, order) of an answer by the rules dearlib.stage2.permutation's docstring states, re-derived here apart
    from its code: the answer is what follows the last </think> (nothing while a <think> is left open); identifiers
    are bracketed ASCII numbers without a leading zero; the ranking is the longest run of identifiers separated by
    nothing but `>` (the last of equal ones), or every identifier when no two are so joined; out of range beats
    repetition beats missing; kept ones first, missing ones after in input order."""
    _, closed, after = (text or "").rpartition("</think>")
    answer = after if closed else (text or "")
    if "<think>" in answer:
        answer = ""
    parts = re.split(r"\[(0|[1-9][0-9]*)\]", answer)  # text, id, text, id, ..., text
    ids, between = [int(k) for k in parts[1::2]], parts[2:-1:2]  # between[i]: the text after ids[i], before ids[i + 1]
    runs, run = [], ids[:1]
    for k, sep in zip(ids[1:], between):
        if sep.strip() == ">":
            run.append(k)
        else:
            runs.append(run)
            run = [k]
    runs.append(run)
    longest = max(reversed(runs), key=len)
    numbers = longest if len(longest) >= 2 else ids
    if not numbers:
        return "wrong format", list(range(n))
    kept = list(dict.fromkeys(k - 1 for k in numbers if 1 <= k <= n))
    outcome = ("out of range" if any(not 1 <= k <= n for k in numbers) else
               "repetition" if len(set(numbers)) < len(numbers) else "missing identifiers" if len(kept) < n else "ok")
    return outcome, kept + [i for i in range(n) if i not in kept]


def test_teacher_guided_orders_by_teacher_then_label_and_parses():
    g = cot.TeacherGuidedGenerator()
    [text] = g.generate([window(0)])
    assert parse(text, 3).order == [1, 2, 0]  # teacher 0.9 first; the 0.1 tie broken by label (2 before 0)
    assert parse(text, 3).ok
    think, answer = cot.split_think(text)
    assert "won, nobel, prize, physics" in think and "Covered: [2] 2/4, [3] 0/4. Best: [2]." in think  # by hand
    assert answer == "[2] > [3] > [1]"
    assert g.generate([window(0)]) == [text]  # deterministic


def test_exports(tmp_path):
    w = window(0)
    e = cot.make_example(w, cot.TeacherGuidedGenerator().completion(w), "teacher-guided", True, max_words=300)
    lines = cot.write_chat_jsonl([e], tmp_path / "chat.jsonl").read_text().splitlines()
    rec = json.loads(lines[0])
    assert [m["role"] for m in rec["messages"]] == ["system", "user", "assistant"] and rec["synthetic"] is True
    assert "[1] passage 0" in rec["messages"][1]["content"] and "Search Query:" in rec["messages"][1]["content"]
    info = cot.write_llamafactory([e], tmp_path / "lf")
    for entry in info.values():
        data = json.loads((tmp_path / "lf" / entry["file_name"]).read_text())
        assert len(data) == 1
    assert json.loads((tmp_path / "lf" / "dataset_info.json").read_text())["dear_cot_sharegpt"]["formatting"] == "sharegpt"


class Server:
    """Loopback chat-completions server: pops a scripted status per request (200 when the script is empty)."""

    def __init__(self):
        self.script, self.requests, self.auth = [], [], set()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                outer.auth.add(self.headers.get("Authorization"))
                status = outer.script.pop(0) if outer.script else 200
                if status != 200:  # "echo": a 400 whose message repeats the request's Authorization header
                    message = f"bad request with {self.headers.get('Authorization')}" if status == "echo" else "try later"
                    self.send_response(400 if status == "echo" else status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("retry-after-ms", "5")
                    self.end_headers()
                    self.wfile.write(json.dumps({"error": {"message": message, "type": "server_error"}}).encode())
                    return
                n = len(re.findall(r"^\[\d+\]", body["messages"][1]["content"], re.M))
                text = "<think>reasons</think>\n" + " > ".join(f"[{i}]" for i in range(n, 0, -1))
                reply = {"id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()


def test_missing_key_fails_before_any_request(server, monkeypatch, tmp_path):
    monkeypatch.delenv("MY_LLM_KEY", raising=False)
    with pytest.raises(cot.MissingAPIKey, match="set the environment variable MY_LLM_KEY"):
        cot.OpenAIChatGenerator("gpt-4o", tmp_path / "c.jsonl", base_url=server.url, api_key_env="MY_LLM_KEY")
    assert server.requests == []


@pytest.mark.parametrize("value", [KEY, "my key", "openai_api_key"])
def test_api_key_env_that_is_no_variable_name_is_refused_without_printing_it(server, monkeypatch, tmp_path, value):
    monkeypatch.setenv("MY_LLM_KEY", KEY)
    with pytest.raises(ValueError, match="api_key_env must name an environment variable") as e:
        cot.OpenAIChatGenerator("gpt-4o", tmp_path / "c.jsonl", base_url=server.url, api_key_env=value)
    assert value not in str(e.value) and KEY not in str(e.value) and server.requests == []


def test_an_error_that_echoes_the_key_is_recorded_without_it(server, monkeypatch, tmp_path):
    monkeypatch.setenv("MY_LLM_KEY", KEY)
    server.script = ["echo"]
    g = cot.OpenAIChatGenerator("m", tmp_path / "c.jsonl", base_url=server.url, api_key_env="MY_LLM_KEY", max_concurrency=1)
    assert g.generate([window(0)]) == [None]
    assert "bad request with Bearer <API key>" in g.errors["w0"] and KEY not in g.errors["w0"]


def test_retries_429_and_500_then_succeeds(server, monkeypatch, tmp_path):
    monkeypatch.setenv("MY_LLM_KEY", KEY)
    server.script = [429, 500]
    g = cot.OpenAIChatGenerator("gpt-4o", tmp_path / "c.jsonl", base_url=server.url, api_key_env="MY_LLM_KEY", max_concurrency=1)
    [text] = g.generate([window(0)])
    assert parse(text, 3).order == [2, 1, 0] and len(server.requests) == 3
    assert server.auth == {f"Bearer {KEY}"}
    assert KEY not in (tmp_path / "c.jsonl").read_text()


def test_interrupted_run_resumes_without_duplicates_or_losses(server, monkeypatch, tmp_path):
    monkeypatch.setenv("MY_LLM_KEY", KEY)
    windows = [window(i) for i in range(6)]
    cache = tmp_path / "c.jsonl"
    # the first run: the endpoint fails for good on w1 and w3 (a 500, and a 500 again on the one retry)
    server.script = [200, 500, 500, 200, 500, 500]
    g = cot.OpenAIChatGenerator("m", cache, base_url=server.url, api_key_env="MY_LLM_KEY", max_concurrency=1, max_retries=1)
    first = g.generate(windows)
    assert [t is not None for t in first] == [True, False, True, False, True, True] and sorted(g.errors) == ["w1", "w3"]
    assert KEY not in json.dumps(g.errors)
    with open(cache, "a") as f:
        f.write('{"id": "w9", "compl')  # a line cut by a kill
    n_before = len(server.requests)
    g2 = cot.OpenAIChatGenerator("m", cache, base_url=server.url, api_key_env="MY_LLM_KEY", max_concurrency=3)
    second = g2.generate(windows)
    assert all(t is not None for t in second) and len(server.requests) - n_before == 2  # only the missing ones
    ids = [json.loads(l)["id"] for l in cache.read_text().splitlines() if l.startswith('{"id": "w') and l.endswith("}")]
    assert sorted(ids) == [f"w{i}" for i in range(6)]  # each window once


def test_local_generator_output_never_crashes_validation():
    import torch
    from transformers import LlamaForCausalLM

    from dearlib.core import models
    from dearlib.stage2 import listwise
    from dearlib.stage2.permutation import Ledger

    tok = models.load_tokenizer("tiny-llama")
    torch.manual_seed(0)
    lm = LlamaForCausalLM(models.tiny_llama_config(len(tok)))
    windows = [window(0), window(1), window(2)]
    g = cot.LocalGenerator(listwise.TransformersBackend(lm, tok, max_new_tokens=8, batch_size=2), "tiny", max_words=10)
    texts = g.generate(windows)
    assert texts == g.generate(windows)  # greedy: deterministic
    # each completion is the model's answer to that window's own prompt: batching neither mixes nor drops windows
    alone = listwise.TransformersBackend(lm, tok, max_new_tokens=8, batch_size=1)
    assert texts == [alone.generate([cot.messages(w, 10)])[0] for w in windows]
    assert all(isinstance(t, str) and t.strip() for t in texts)
    ledger = Ledger()
    parsed = [ledger.add(parse(t, 3)) for t in texts]
    # what the ledger counts and the orders it keeps are those the parser's rules give these texts, read apart
    assert ledger == Counter(by_the_rules(t, 3)[0] for t in texts), (texts, ledger)
    assert [p.order for p in parsed] == [by_the_rules(t, 3)[1] for t in texts]

    # what a local model may write, each with the outcome (and repaired order) validation must give it, by hand
    answers = {"": ("wrong format", [0, 1, 2]), "<think>[2] first": ("wrong format", [0, 1, 2]),
               "[3] > [1] > [2]": ("ok", [2, 0, 1]), "[1] > [9]": ("out of range", [0, 1, 2]),
               "[2] > [2] > [1]": ("repetition", [1, 0, 2])}

    class Scripted:  # answers window i (its passages say "topic i") with the i-th text, in batches of two
        batch_size = 2

        def generate(self, prompts):
            assert len(prompts) <= 2
            return [list(answers)[int(re.search(r"topic (\d+)", p[-1]["content"]).group(1))] for p in prompts]

    texts = cot.LocalGenerator(Scripted(), "scripted").generate([window(i) for i in range(5)])
    assert texts == list(answers)
    assert [(parse(t, 3).outcome, parse(t, 3).order) for t in texts] == list(answers.values())
    assert [by_the_rules(t, 3) for t in texts] == [(o, order) for o, order in answers.values()]  # the reference agrees
    ledger = Ledger()
    for t in texts:
        ledger.add(parse(t, 3))
    assert ledger == {"wrong format": 2, "ok": 1, "out of range": 1, "repetition": 1}  # counted from the table by hand
    assert ledger.rate() == 1 / 5 and ledger.rate("wrong format") == 2 / 5


@pytest.mark.parametrize("text, expected", [
    ("passage [3] seems best </think>\n[2] > [1] > [3]", ("ok", [1, 0, 2])),  # a <think> the chat template opened
    ("Passage [3] best. Ranking: [1] > [2] > [3]", ("ok", [0, 1, 2])),  # prose ids beside the ranking
    ("[2] [3] [1]", ("ok", [1, 2, 0])),  # no `>`: id by id
    ("[02] > [1] > [3]", ("missing identifiers", [0, 2, 1])),  # [02] is no identifier the grammar can write
    ("[２] > [1] > [3]", ("missing identifiers", [0, 2, 1])),  # nor a full-width digit
])
def test_the_reference_rules_agree_with_the_parser_on_the_issues_answers(text, expected):
    """By hand, each answer's outcome and order; the parser and the re-derived rules must both give it."""
    assert by_the_rules(text, 3) == expected
    assert (parse(text, 3).outcome, parse(text, 3).order) == expected
