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
