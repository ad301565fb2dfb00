#!/usr/bin/env bash
# Set up a virtual environment from the project files and run the course's main job.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[jax]'
export PATH="$PWD/.venv/bin:$PATH" JAX_PLATFORMS=cpu
.venv/bin/python -m reference_impl.demo "$@"
