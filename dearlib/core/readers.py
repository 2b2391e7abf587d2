"""Read text, JSON and JSONL files (gzipped when the name ends in ``.gz``) so that a bad file names itself.

Every way a file can be unreadable (a broken gzip stream, bytes that are not UTF-8, text that is not JSON) becomes
a `ReadError` whose message starts ``<file>:<line>:``, the line where the reader stopped. What the records
*mean* is the caller's to check; `bad_record` words the message for a record that parses but lacks what the caller
needs, with the same file and line (or entry) in front. A missing file stays a FileNotFoundError (it names the
file already). Text is read as any editor may save it: a UTF-8 byte-order mark is dropped and CRLF line ends are
read as LF. Kept, the mark would become part of the first query id (a qrels file's first query would lose its
judgements) and the CR part of each line's last column (the pinned DL20 topics file has CRLF line ends).
Writing is `dearlib.core.atomic`'s job.
"""
from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path
from typing import Iterator


class ReadError(ValueError):
    """A file that cannot be read as what it should be; the message names the file and, where known, the line."""


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes, un-gzipped for ``*.gz``; a damaged gzip stream is a ReadError naming the file."""
    raw = Path(path).read_bytes()
    if not str(path).endswith(".gz"):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; a cut file ends early (EOFError)
        raise ReadError(f"{path}: not a complete gzip file ({e or type(e).__name__}): download or write it again") from None


def read_text(path: str | os.PathLike) -> str:
    """The file as UTF-8 text (un-gzipped for ``*.gz``), without a byte-order mark and with CRLF read as LF;
    bytes that are not UTF-8 are a ReadError naming the line."""
    raw = read_bytes(path)
    try:
        return raw.decode("utf-8-sig").replace("\r\n", "\n")  # utf-8-sig: utf-8 less a leading byte-order mark
    except UnicodeDecodeError as e:  # e.object is the bytes after the mark, if there was one
        line = e.object[: e.start].count(b"\n") + 1
        offset = e.start + len(raw) - len(e.object)
        raise ReadError(f"{path}:{line}: not UTF-8 text (byte {raw[offset]:#04x} at offset {offset})") from None


def read_json(path: str | os.PathLike):
    """One JSON document; invalid JSON is a ReadError naming the line and column where parsing stopped."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ReadError(f"{path}:{e.lineno}: not valid JSON ({e.msg}, column {e.colno})") from None


def read_jsonl(path: str | os.PathLike, cut_last: bool = False) -> Iterator[tuple[int, object]]:
    """(line number, record) for each non-blank line of a JSON-lines file; a line that is not JSON is a ReadError.

    `cut_last`: a last line without its newline that is not JSON is skipped, not an error (what an append-only
    cache holds after an interrupted write); any other bad line still is one.
    """
    text = read_text(path)
    lines = text.split("\n")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as e:
            if cut_last and n == len(lines):  # no newline after it: the write was interrupted
                return
            raise ReadError(f"{path}:{n}: not valid JSON ({e.msg}, column {e.colno})") from None


def bad_record(where: str, e: Exception, what: str) -> str:
    """The message for a record at `where` (``file:line`` or ``file: entry i``) that is not `what`, from the
    KeyError, TypeError or ValueError its reading raised."""
    why = f"no key {e}" if isinstance(e, KeyError) else str(e)
    return f"{where}: not {what} ({why})"
