"""Shared benchmark helpers: thread pinning, timing, a printed table and a JSON record.

Import this module *before* NumPy or JAX in every benchmark: with two BLAS threads on a 2-core
machine timings swing several-fold, so BLAS, OpenMP and XLA are pinned to one thread.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "")
    + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

RESULTS = Path(__file__).resolve().parent / "results"


def timeit(fn: Callable[[], Any], repeat: int = 7, number: int = 1, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs of ``number`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    times.sort()
    return times[len(times) // 2]


def table(rows: Sequence[dict[str, Any]], title: str = "") -> str:
    """Format rows (dicts with the same keys) as a fixed-width text table."""
    if not rows:
        return title
    keys = list(rows[0])

    def fmt(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    widths = [max(len(k), *(len(fmt(r[k])) for r in rows)) for k in keys]
    lines = [title] if title else []
    lines.append("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(fmt(r[k]).ljust(w) for k, w in zip(keys, widths, strict=True)) for r in rows
    ]
    return "\n".join(lines)


def save(name: str, payload: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` with the machine description next to the figures."""
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "benchmark": name,
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "threads": 1,
        **payload,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return path


def matmul_flops(fn: Callable[[], Any]) -> float | None:
    """2·m·k·n summed over the reference_impl matmuls one call of ``fn`` performs (None when
    the engine has no matmul primitive to count). NumPy is imported here, not at the top: this
    module pins the BLAS threads before NumPy loads."""
    import numpy as np

    from reference_impl.core import Primitive
    from reference_impl.numpy import contractions

    prim = getattr(contractions, "matmul", None)
    if not isinstance(prim, Primitive):
        return None
    impl, total = prim.impl, [0.0]

    def counting(a: np.ndarray, b: np.ndarray, *args: Any, **kw: Any) -> np.ndarray:
        out = impl(a, b, *args, **kw)
        total[0] += 2.0 * np.size(out) * np.shape(a)[-1]
        return out

    prim.impl = counting
    try:
        fn()
    finally:
        prim.impl = impl
    return total[0]
