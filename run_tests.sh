#!/usr/bin/env bash
# Run the kit's tests (pytest); sets up .venv first if needed. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup_env.sh
export PATH="$PWD/.venv/bin:$PATH"
exec python -m pytest "$@"
