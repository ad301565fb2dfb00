#!/usr/bin/env bash
# Run a command as a student's plain JupyterLab would run a lecture on another CPU: no JAX x64
# flag, no BLAS thread pinning, no hash seed; two BLAS threads; NumPy's dispatch held to
# X86-64-v2 and XLA to AVX. Usage: bash scripts/lecture_env.sh CMD [ARGS...]
# Example: bash scripts/lecture_env.sh .venv/bin/python -m pytest --nbval --nbval-current-env \
#            --nbval-sanitize-with lectures/sanitize.cfg lectures/ru/05_second_order_and_memory.ipynb
set -euo pipefail
unset JAX_ENABLE_X64 OMP_NUM_THREADS MKL_NUM_THREADS PYTHONHASHSEED
export OPENBLAS_NUM_THREADS=2 JAX_PLATFORMS=cpu
export NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL AVX512_SPR"
export XLA_FLAGS="--xla_cpu_max_isa=AVX"
exec "$@"
