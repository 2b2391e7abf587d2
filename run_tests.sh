#!/usr/bin/env bash
# Run the kit's tests (pytest); sets up .venv first if needed, and downloads the data into the user cache if no
# data directory is found (python -m dearlib.retrieval.data ensure). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup_env.sh
export PATH="$PWD/.venv/bin:$PATH"
# llama-cpp-python's OpenAI-compatible server, which tests/test_openai_server.py runs notebook 03's generator against.
# PyPI has only its source: the first install builds llama.cpp (minutes). The one place that says what is installed:
# the hash-locked server packages (scripts/lock.sh writes the lock) and the build flags below.
server_reqs=(-r requirements-server.lock --require-hashes)
# Built for a portable x86-64 instruction set (AVX2, FMA, F16C, BMI2), never llama.cpp's default `native`: a native
# build on an Intel host with AMX emits AMX tile loads that fault (SIGILL) on that host's first completion, and a
# wheel built on an AVX-512 host crashes on an AVX2-only one. AVX-512 and AMX stay off; LLAVA_BUILD=OFF: no
# multimodal library (the kit serves a text model), a shorter build. On ARM the x86 switches are ignored.
server_cmake="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF"
# installed again (quick when the wheel is cached) when the lock, the flags or the kit's environment changed
server_stamp=$({ echo "${server_reqs[*]} $server_cmake"; cat "${server_reqs[1]}" .venv/.setup-stamp; } | sha256sum | cut -c1-16)
if [ "$(cat .venv/.server-stamp 2>/dev/null)" != "$server_stamp" ]; then
  echo "Installing llama-cpp-python's server (${server_reqs[1]}); the first time this builds llama.cpp from source ..."
  # pip caches a built wheel under the sdist's name alone, whatever the flags: a cache of the kit's own, named after
  # the flags, so that a wheel built with other flags (an earlier native build) is never reused
  wheels_key=$(echo "$server_cmake" | sha256sum | cut -c1-12)
  PIP_CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/dear-kit/pip-llama-cpp-$wheels_key" CMAKE_ARGS="$server_cmake" \
    python -m pip install -q "${server_reqs[@]}"
  echo "$server_stamp" > .venv/.server-stamp
fi
python -m dearlib.retrieval.data ensure
exec python -m pytest "$@"
