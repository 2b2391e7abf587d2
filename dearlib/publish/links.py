"""Relative links in Markdown (pages and notebook markdown cells): found, rewritten for a new folder, checked.

`targets` lists each link and image target of a Markdown text (``[text](target)``, ``![alt](target)``,
``<img src="target">``), leaving out fenced and inline code; `rewrite` maps every relative target through a
function (`dearlib.publish.reference_run` uses it to move notebooks/ links to docs/reference-run/); `broken` says which
relative targets of a file do not resolve from the file's own folder (or from the folder it is to be published
in, so a copy is checked without writing into the checkout), a ``#heading`` into a Markdown page included
(GitHub's anchors). Absolute URLs (``https:``, ``mailto:``), ``attachment:`` images and pure ``#anchor``
links within a notebook are not checked; it never touches the network.
"""
from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from typing import Callable

# ](target) or ](target "title"), and <img ... src="target">; group "t" is the target
_LINK = re.compile(r"(?<=\]\()(?P<t>[^)\s]+)|(?<=src=\")(?P<s>[^\"]+)(?=\")")
_FENCE = re.compile(r"```.*?```", re.S)
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)  # fenced blocks and inline code: text, not links
_SCHEME = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|#|/)", re.I)  # a URL, an anchor on the same page, an absolute path


def _spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _CODE.finditer(text)]


def _links(text: str):
    code = _spans(text)
    for m in _LINK.finditer(text):
        if not any(a <= m.start() < b for a, b in code):
            yield m


def targets(text: str) -> list[str]:
    """Every link and image target of a Markdown text, in order (code spans left out)."""
    return [m.group("t") or m.group("s") for m in _links(text)]


def rewrite(text: str, fn: Callable[[str], str]) -> str:
    """The text with each relative target replaced by fn(target) (URLs, anchors and code untouched)."""
    out, last = [], 0
    for m in _links(text):
        target = m.group("t") or m.group("s")
        if not _SCHEME.match(target):
            out += [text[last:m.start()], fn(target)]
            last = m.end()
    return "".join(out) + text[last:]


def moved(target: str, src_dir: str, dest_dir: str) -> str:
    """A relative target written in `src_dir`, as it must read from `dest_dir` (both relative to one root)."""
    path, sep, anchor = target.partition("#")
    if not path:
        return target
    return posixpath.relpath(posixpath.normpath(posixpath.join(src_dir, path)), dest_dir) + sep + anchor


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def markdown_of(path: str | Path) -> str:
    """A Markdown page's text, or a notebook's markdown cells joined."""
    path = Path(path)
    if path.suffix != ".ipynb":
        return path.read_text()
    cells = json.loads(path.read_text())["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def anchors(path: str | Path) -> set[str]:
    text = _FENCE.sub("", markdown_of(path))  # a "# comment" in a code block is no heading
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M)}


def broken(path: str | Path, folder: str | Path | None = None) -> list[str]:
    """The relative targets of a page or notebook that resolve to nothing from `folder` (default: the file's own,
    or where it is to be published: a copy checked before it is written there), each with why."""
    path = Path(path)
    base = Path(folder) if folder is not None else path.parent
    out = []
    for target in targets(markdown_of(path)):
        if _SCHEME.match(target):
            continue
        file, _, anchor = target.partition("#")
        dest = (base / file).resolve()
        if not dest.exists():
            out.append(f"{path}: {target} (no {dest})")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            out.append(f"{path}: {target} (no heading #{anchor} in {dest.name})")
    return out
