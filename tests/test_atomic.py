"""All-or-nothing writes: a folder written through `atomic.folder` is the old one or the complete new one, and the
temporary files a killed writer leaves are recognised by their process and removed by the next write."""
import os
import signal
import subprocess
import sys

import pytest

from conftest import ROOT
from dearlib.core import atomic


def test_a_folder_appears_whole_and_replaces_the_old_one(tmp_path):
    with atomic.folder(tmp_path / "model") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(f".model.{os.getpid()}.") and tmp.name.endswith(".tmp")
        (tmp / "a.bin").write_bytes(b"old")
        assert not (tmp_path / "model").exists()  # nothing at the name while it is being written
    with atomic.folder(tmp_path / "model") as tmp:
        (tmp / "b.bin").write_bytes(b"new")
    assert [p.name for p in (tmp_path / "model").iterdir()] == ["b.bin"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # the old folder went, no temporary name is left


def test_a_folder_whose_writer_raises_leaves_the_old_one(tmp_path):
    with atomic.folder(tmp_path / "model") as tmp:
        (tmp / "a.bin").write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic.folder(tmp_path / "model") as tmp:
            (tmp / "a.bin").write_bytes(b"ne")
            raise RuntimeError("disk full")
    assert (tmp_path / "model" / "a.bin").read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["model"]


KILLED_WRITER = """
import sys, time
from dearlib.core import atomic
with atomic.{how}(sys.argv[1]) as f:
    {fill}
    print("writing", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("how, fill", [("writing", "f.write(b'half')"), ("folder", "(f / 'half.bin').write_bytes(b'half')")])
def test_what_a_killed_writer_leaves_is_removed_by_the_next_write(tmp_path, how, fill):
    target = tmp_path / "run.json"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER.format(how=how, fill=fill), str(target)], cwd=ROOT,
                            stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
    assert proc.stdout.readline() == "writing\n"
    proc.send_signal(signal.SIGKILL)  # no cleanup runs: what a kill, an OOM or a power cut leaves
    proc.wait()
    [orphan] = tmp_path.iterdir()
    assert orphan.name.startswith(f".run.json.{proc.pid}.") and orphan.name.endswith(".tmp") and not target.exists()
    # a live writer's temporary file is not touched (this test's own process stands in for one)
    live = tmp_path / f".run.json.{os.getppid()}.abcd1234.tmp"
    live.write_bytes(b"in progress")
    atomic.write_json(target, {"ok": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "run.json"])


def test_a_temporary_name_of_another_target_is_not_touched(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    other = tmp_path / f".run.json.{dead}.{dead}.x.tmp"  # .<name>.<pid>.<random>.tmp of a target named "run.json.<dead>"
    other.write_bytes(b"x")
    mine = tmp_path / f".run.json.{dead}.zz.tmp"
    mine.write_bytes(b"x")
    atomic.write_text(tmp_path / "run.json", "{}")
    assert other.exists() and not mine.exists()


def test_a_cut_or_empty_stage2_adapter_is_refused_by_name_before_any_model_loads(tmp_path):
    import torch
    from safetensors.torch import save_file

    from dearlib.stage2 import training as stage2

    (tmp_path / "adapter").mkdir()  # what an in-place save killed at once leaves
    with pytest.raises(FileNotFoundError, match=r"no whole Stage-2 adapter: .*adapter: no config.json or adapter_config.json"):
        stage2.load_listwise({}, tmp_path / "adapter", tokenizer=None)
    sub = tmp_path / "adapter" / "stage2"  # peft's folder for the named adapter
    sub.mkdir()
    (sub / "adapter_config.json").write_text("{}")
    save_file({"lora_A": torch.zeros(8, 8)}, str(sub / "adapter_model.safetensors"))
    data = (sub / "adapter_model.safetensors").read_bytes()
    (sub / "adapter_model.safetensors").write_bytes(data[:-16])
    with pytest.raises(FileNotFoundError, match=r"adapter_model.safetensors: not whole .*train it again \(notebook 04\)"):
        stage2.load_listwise({}, tmp_path / "adapter", tokenizer=None)
