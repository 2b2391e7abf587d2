#!/usr/bin/env bash
# Run the kit's tests (pytest); sets up .venv first if needed, and downloads the data into the user cache if no
# data directory is found (python -m dearlib.data ensure). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup_env.sh
export PATH="$PWD/.venv/bin:$PATH"
# llama-cpp-python's OpenAI-compatible server, which tests/test_openai_server.py runs notebook 03's generator against.
# PyPI has only its source: the first install builds llama.cpp (minutes; the wheel is cached by pip after that).
# The one place that says what is installed: the hash-locked server packages (scripts/lock.sh writes the lock)
server_reqs=(-r requirements-server.lock --require-hashes)
# installed again (quick: nothing to build) when that file or the kit's environment changed
server_stamp=$({ echo "${server_reqs[*]}"; cat "${server_reqs[1]}" .venv/.setup-stamp; } | sha256sum | cut -c1-16)
if [ "$(cat .venv/.server-stamp 2>/dev/null)" != "$server_stamp" ]; then
  echo "Installing llama-cpp-python's server (${server_reqs[1]}); the first time this builds llama.cpp from source ..."
  # LLAVA_BUILD=OFF: the multimodal library is not built (the kit serves a text model), a shorter build
  CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}" python -m pip install -q "${server_reqs[@]}"
  echo "$server_stamp" > .venv/.server-stamp
fi
python -m dearlib.data ensure
exec python -m pytest "$@"
