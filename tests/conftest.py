import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def data_dir():
    from dearlib.retrieval.data import find_data_dir

    return find_data_dir()


@pytest.fixture
def no_data_env(monkeypatch, tmp_path):
    """No DEAR_DATA_DIR, an empty cache: only what a test places is found."""
    monkeypatch.delenv("DEAR_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def training_callbacks():
    """(Interrupt, StepsSeen): a Trainer callback that kills training after step 3, and one that records the steps
    a run trains (the resume tests of both stages)."""
    from transformers import TrainerCallback

    class Interrupt(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 3:
                raise KeyboardInterrupt("killed mid-training")

    class StepsSeen(TrainerCallback):
        def __init__(self):
            self.steps = []

        def on_step_end(self, args, state, control, **kw):
            self.steps.append(state.global_step)

    return Interrupt, StepsSeen


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: runs for minutes (a nested ./run_all.sh); part of the default run")


@pytest.fixture
def data_mirror(tmp_path, data_dir):
    """A loopback HTTP server laid out like the data's upstream (owner/repo/commit/path), serving the pinned bytes
    of every file of the manifest, built from `data_dir` (the .json.gz entries un-gzipped: upstream serves JSON).

    Yields its folder (`root`), its base URL (`url`) and the paths it was asked for (`requests`, to count fetches).
    """
    import gzip
    import http.server
    import threading
    from types import SimpleNamespace

    from dearlib.retrieval.data import MANIFEST

    root = tmp_path / "mirror"
    for f in MANIFEST:
        raw = (data_dir / f.path).read_bytes()
        (root / f.source).parent.mkdir(parents=True, exist_ok=True)
        (root / f.source).write_bytes(gzip.decompress(raw) if f.gzip else raw)
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # loopback only
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield SimpleNamespace(root=root, url=f"http://127.0.0.1:{server.server_address[1]}", requests=requests)
    server.shutdown()
    server.server_close()


@pytest.fixture
def offline_url():
    """A loopback URL where nothing listens (a port bound, then freed): every request is refused, as offline."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def save_tiny_checkpoints(folder: Path) -> tuple[Path, Path]:
    """Tiny full LLaMA models saved as folders with their tokenizer, standing in for the authors' hub checkpoints:
    (folder/student, a sequence classifier; folder/listwise, a causal LM)."""
    import torch
    from transformers import LlamaForCausalLM, LlamaForSequenceClassification

    from dearlib.core import models

    tok = models.load_tokenizer("tiny-llama")
    torch.manual_seed(0)
    cfg = models.tiny_llama_config(len(tok))
    cfg.num_labels, cfg.pad_token_id = 1, tok.pad_token_id
    for cls, name in ((LlamaForSequenceClassification, "student"), (LlamaForCausalLM, "listwise")):
        cls(cfg).save_pretrained(folder / name)
        tok.save_pretrained(folder / name)
    return folder / "student", folder / "listwise"
