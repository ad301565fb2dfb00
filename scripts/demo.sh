#!/usr/bin/env bash
# Set up a virtual environment from the project files and run the course's main job:
# the engine demo on the lecture's example, then the TA workflow on a synthetic class
# (release, parallel sandboxed autograding, grade table, feedback, report).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[course]'
export PATH="$PWD/.venv/bin:$PATH" JAX_PLATFORMS=cpu
.venv/bin/python -m reference_impl.demo
.venv/bin/course demo "$@"
