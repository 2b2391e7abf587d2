"""Write files and folders all-or-nothing: to a temporary name beside the target, then an atomic rename.

A reader (or a rerun after a crash) therefore sees either the old file or the complete new one, never a
half-written result. `writing` does the same for a file written piece by piece (a download); `folder` for a
folder a library fills (a saved model: `Trainer.save_model`, peft's `save_pretrained`).

A temporary name is ``.<name>.<pid>.<random>.tmp`` beside the target: a process killed while writing leaves one,
and the next write of the same target removes those whose process is gone (`_clean`); readers never look at
them. This module does not lock: two writers of the same path race, and the last rename wins. Replacing an existing
folder takes two renames (the old one aside, the new one in): a kill between them leaves no folder at the name,
never a half one.
"""
from __future__ import annotations

import glob
import json
import os
import re
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator


def umask() -> int:
    """The process's umask (reading it means setting it: set it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _clean(path: Path) -> list[Path]:
    """Remove the temporary files and folders of `path` left by processes that are gone (killed mid-write).
    Returns what was removed."""
    gone, mine = [], re.compile(rf"\.{re.escape(path.name)}\.([0-9]+)\.[A-Za-z0-9_]+\.tmp")
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        m = mine.fullmatch(stale.name)  # not another target's: ".a.json.5.<pid>.x.tmp" is "a.json.5"'s
        if m and int(m[1]) != os.getpid() and not _alive(int(m[1])):
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
            gone.append(stale)
    return gone


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to fill in the block; it becomes `path` when the block ends, and is deleted if it raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clean(path)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~umask())  # mkstemp makes the file private; give it the usual permissions
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def folder(path: str | os.PathLike) -> Iterator[Path]:
    """An empty folder to fill in the block; it becomes `path` (replacing any folder there) when the block ends, and
    is deleted if it raises: `path` holds the old folder or the complete new one, never a half one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clean(path)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes the folder private; give it the usual permissions
        yield tmp
        for f in tmp.rglob("*"):
            if f.is_file():  # on disk before the rename makes the folder visible
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        old = path.with_name(f"{_prefix(path)}{secrets.token_hex(4)}.tmp")
        if path.exists() or path.is_symlink():
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old.is_dir():
        shutil.rmtree(old)
    elif old.exists() or old.is_symlink():
        old.unlink()


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with writing(path) as f:
        f.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False) + "\n")
