"""Load a profile's configuration (`configs/<profile>.yaml`) as plain data, and hash it for provenance.

A profile is one YAML file with a comment on each value. Nothing here interprets the values: each notebook
reads the section it needs. The hash is over the canonical JSON of the whole file, so any change of any value
marks results computed under the old configuration.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
PROFILES = ("smoke", "mini", "paper")


def load_config(profile: str) -> dict:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")
    path = CONFIG_DIR / f"{profile}.yaml"
    cfg = yaml.safe_load(path.read_text())
    if cfg.get("profile") != profile:
        raise ValueError(f"{path}: its 'profile' value is {cfg.get('profile')!r}, expected {profile!r}")
    return cfg


def config_hash(cfg: dict) -> str:
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]
