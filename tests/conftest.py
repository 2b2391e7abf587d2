import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def data_dir():
    from dearlib.data import find_data_dir

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
