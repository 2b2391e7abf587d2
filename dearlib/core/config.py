"""Load a profile's configuration (`configs/<profile>.yaml`) as plain data, checked against its schema, and hash it.

A profile is one YAML file with a comment on each value. `load_config` reads it refusing a key given twice and
naming the line of a syntax error (`read_yaml`), then checks it against `dearlib.core.schema` before any work
(unknown keys, types, ranges, required keys, secrets), and `override` applies and checks a notebook's overrides
the same way. Nothing here interprets the values: each notebook reads the section it needs; `repo_path` resolves a
path-valued setting (the DeepSpeed file) against the repository root, whatever the working directory. The hash is
over the canonical JSON of the whole file, so any change of any value marks results computed under the old
configuration. ``DEAR_CONFIG_DIR`` points at another folder of profiles (a test's, a user's own copies).
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path

import yaml

from . import schema

ROOT = schema.ROOT
CONFIG_DIR = ROOT / "configs"
PROFILES = ("smoke", "mini", "paper")


def config_dir() -> Path:
    return Path(os.environ.get("DEAR_CONFIG_DIR") or CONFIG_DIR)


def load_config(profile: str) -> dict:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")
    path = config_dir() / f"{profile}.yaml"
    text = path.read_text()
    cfg = read_yaml(text, str(path))
    schema.check(cfg, str(path), text)
    if cfg["profile"] != profile:
        raise schema.ConfigError(f"{path}: its 'profile' value is {cfg['profile']!r}, expected {profile!r}")
    return cfg


class _UniqueKeys(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last, silently)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                shown = key if isinstance(key, str) and schema._NAME.fullmatch(key) else "a key (not shown)"
                raise yaml.constructor.ConstructorError(
                    None, None, f"{shown} is given twice (first on line {seen[key]}): one value would silently win", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def read_yaml(text: str, source: str):
    """The YAML `text` as data; a syntax error or a key given twice in a mapping raises `schema.ConfigError` naming
    `source` and the line, never a bare parser traceback."""
    try:
        return yaml.load(text, Loader=_UniqueKeys)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise schema.ConfigError(f"{source}{where}: not valid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise schema.ConfigError(f"{source}: not valid YAML: {e}") from None


def override(cfg: dict, section: str, overrides: dict, source: str) -> dict:
    """Apply `overrides` (a notebook parameter, e.g. ``sft_overrides``) to `cfg[section]`, checked by the schema as
    the file is: nothing changes unless all fit. A nested section is merged key by key. Returns `cfg`."""
    if not isinstance(overrides, dict):
        raise schema.ConfigError(f"{source}: must be a mapping of {section} settings, found {schema.type_name(overrides)}")
    merged = _merge(copy.deepcopy(cfg[section]), overrides)
    schema.check(merged, f"{source} (over {section} of profile {cfg.get('profile')})", None, schema.SCHEMA[section].type, f"{section}.")
    cfg[section] = merged
    return cfg


def _merge(base: dict, new: dict) -> dict:
    for k, v in new.items():
        base[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else copy.deepcopy(v)
    return base


def repo_path(value: str | None) -> str | None:
    """A path-valued setting as an absolute path: relative ones are read from the repository root."""
    return None if value is None else str(ROOT / value)


def config_hash(cfg: dict) -> str:
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]
