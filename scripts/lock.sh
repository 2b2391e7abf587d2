#!/usr/bin/env bash
# Regenerate the lock files from requirements*.txt with uv (pip install uv==0.13.8). Run it after editing any
# requirements*.txt (tests/test_setup.py fails until you do). The locks are for CPython 3.11 on Linux x86_64.
# torch is the CPU build 2.13.0+cpu, which PyPI does not carry: uv reads it from a folder holding its wheel
# (/opt/wheels on the kit's machines; elsewhere first run
#  pip download torch==2.13.0+cpu --no-deps --index-url https://download.pytorch.org/whl/cpu -d wheels
#  and then TORCH_WHEELS=wheels scripts/lock.sh). The lock's sha256 names that one file, wherever it comes from.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-uv}
wheels=${TORCH_WHEELS:-/opt/wheels}
[ -d "$wheels" ] || { echo "lock.sh: no folder $wheels with the torch CPU wheel (see the comment above)" >&2; exit 1; }
lock() {  # lock <input> <output> [uv options]; the header records the input's sha256, which tests/test_setup.py checks
  local in=$1 out=$2; shift 2
  "$uv" pip compile "$in" --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
    --find-links "$wheels" --custom-compile-command scripts/lock.sh -q "$@" -o "$out.tmp"
  { echo "# input: $in sha256=$(sha256sum "$in" | cut -d' ' -f1)"
    ! grep -q '^torch==' "$out.tmp" || {
      echo "# torch 2.13.0+cpu is not on PyPI: install with --extra-index-url https://download.pytorch.org/whl/cpu"
      echo "# (or --find-links a folder holding its wheel, as scripts/setup_env.sh does with /opt/wheels)."; }
    cat "$out.tmp"; } > "$out"
  rm "$out.tmp"
}
lock requirements.txt requirements.lock
lock requirements-nodeps.txt requirements-nodeps.lock --no-deps  # installed --no-deps: only the listed packages
lock requirements-server.txt requirements-server.lock -c requirements.lock  # shared packages keep the main lock's versions
