#!/usr/bin/env bash
# HIPS autograd 1.7.0's own tests, run against reference_impl through the alias package in
# scripts/peer/ (autograd -> reference_impl, autograd.numpy -> reference_impl.numpy, ...).
# Outside CI: it downloads the autograd sdist (its tests/ folder) into a temporary directory;
# nothing of autograd is kept in this repository. Prints pass/fail/skip counts.
#   bash scripts/peer_tests.sh [extra pytest args, e.g. -k einsum]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PY" -m pip download --quiet --no-deps --no-binary autograd autograd==1.7.0 -d "$TMP"
tar xzf "$TMP"/autograd-1.7.0.tar.gz -C "$TMP"
TESTS="$TMP/autograd-1.7.0/tests"
FILES=(test_numpy.py test_scalar_ops.py test_binary_ops.py test_linalg.py test_systematic.py
       test_jacobian.py test_truediv.py test_fft.py)
cd "$TESTS"
rm -f conftest.py  # autograd's own pytest configuration is not needed
export PYTHONPATH="$ROOT/scripts/peer:$ROOT:$TESTS" OPENBLAS_NUM_THREADS=1
set +e
"$PY" -m pytest -q -p peer_plugin -p no:cacheprovider --color=no -rs --tb=line "${FILES[@]}" "$@" \
    | tee "$TMP/log.txt"
set -e
echo
echo "reference_impl vs HIPS autograd 1.7.0 tests ($(date -u +%F)):"
tail -n 1 "$TMP/log.txt"
