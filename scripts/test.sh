#!/usr/bin/env bash
# Set up a virtual environment from the project files and run the whole test suite: the linters
# (ruff check, ruff format --check, mypy), pytest on tests/ and nbval on every lecture notebook
# (this is what CI runs: .ci/run).
#   bash scripts/test.sh            everything (lint, all tests, both languages' lectures)
#   bash scripts/test.sh --fast     the maintainer's loop: lint and the tests not marked slow
#   bash scripts/test.sh ARGS...    pytest with ARGS (e.g. tests/engine/test_transforms.py -x -k grad)
# The install step is skipped when .venv was installed from the same pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# each phase's wall time and the load average after it, on stderr (CI's log)
t0=$SECONDS
since() {
  echo "[scripts/test.sh] $1: $((SECONDS - t0)) s, load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" >&2
  t0=$SECONDS
}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.installed-from
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! .venv/bin/python -c "import course, pytest" 2>/dev/null; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi
since install
export PATH="$PWD/.venv/bin:$PATH" JAX_PLATFORMS=cpu JAX_ENABLE_X64=1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONHASHSEED=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export IPYTHONDIR="$scratch/ipython" MPLCONFIGDIR="$scratch/mpl" JUPYTER_CONFIG_DIR="$scratch/jupyter" \
  JUPYTER_DATA_DIR="$scratch/jupyter-data" JUPYTER_RUNTIME_DIR="$scratch/jupyter-runtime"
lint() {
  .venv/bin/ruff check .
  .venv/bin/ruff format --check .
  .venv/bin/mypy  # the files and the baseline of unchecked modules: pyproject.toml [tool.mypy]
}
if [ "${1:-}" = "--fast" ]; then
  shift
  lint
  since lint
  export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-fast}"  # 5 examples per property (CI: 15)
  exec .venv/bin/python -m pytest -n 2 --dist loadgroup --no-loadscope-reorder -q -m "not slow" tests "$@"
fi
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest -q "$@"
fi
# an absolute path: a test that moved the working directory must not break the lectures' cells
nbval=(--nbval --nbval-current-env --nbval-sanitize-with "$PWD/lectures/sanitize.cfg")
status=0
lint || status=$?
since lint
# The tests in the environment above. Work units are files (tests/conftest.py's scheduler for
# --dist loadgroup; the files that share the graded LMS class are one unit), handed out longest
# first, so that each graded class (a module fixture) is built once, by one worker.
.venv/bin/python -m pytest -n 2 --dist loadgroup --no-loadscope-reorder -q tests || status=$?
since tests
# The English lectures in the same environment, where the notebooks were executed. nbval needs a
# notebook's cells in order on one worker: --dist loadfile (tests/conftest.py, which makes
# loadgroup keep a file on one worker, does not apply outside tests/)
.venv/bin/python -m pytest -n 2 --dist loadfile -q lectures/en/*.ipynb "${nbval[@]}" || status=$?
since "English lectures"
# The Russian lectures as a student's plain JupyterLab runs them on another CPU: none of the
# variables above that a notebook could lean on (x64, one BLAS thread, hash seed), two BLAS
# threads, and NumPy and XLA held to older instruction sets. A printed value that sits at
# round-off level differs here from the committed output, and nbval names the cell.
bash scripts/lecture_env.sh .venv/bin/python -m pytest -n 2 --dist loadfile -q \
  lectures/ru/*.ipynb "${nbval[@]}" || status=$?
since "Russian lectures"
echo "[scripts/test.sh] all: $SECONDS s" >&2
exit $status
