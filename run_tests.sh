#!/usr/bin/env bash
# Run the kit's tests (pytest); sets up .venv first if needed, and downloads the data into the user cache if no
# data directory is found (python -m dearlib.data ensure). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup_env.sh
export PATH="$PWD/.venv/bin:$PATH"
python -m dearlib.data ensure
exec python -m pytest "$@"
