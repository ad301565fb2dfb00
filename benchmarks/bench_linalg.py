"""Backward / forward time of solve and SVD (lecture topics 10 and 11), one thread.

solve: x = A⁻¹ b with k = 1 or k = n right-hand sides. Forward = one LU factorisation
(⅔n³ flops) + the triangular solves (2n²k). The backward pass b̄ = A⁻ᵀ x̄, Ā = −b̄ xᵀ costs
2n²k + 2n²k when it reuses the forward's LU factors (what ``rnp.linalg.solve`` does), and
another ⅔n³ on top when it factorises Aᵀ again (the "refactorising" variant defined here, whose
VJP calls ``np.linalg.solve(A.T, x̄)``). The lecture says the backward costs about the forward:
that is the refactorising variant, or k ≈ n; with the factors kept and k = 1 it is far cheaper.
The lu_factor column counts factorisations in one forward + backward pass. Read bwd/fwd
(the backward pass alone, tape kept); (fwd+bwd)/fwd times a fresh ``vjp`` + backward each
time and also pays the allocator for fresh pages (~0.5 ms per new 300×300 array here).

SVD: forward = ``np.linalg.svd`` (thin); backward for a loss of s alone (U diag(s̄) Vᵀ: two
matrix products) and for a loss of U, s and V (Townsend's formula: a few more products).

Run: ``python benchmarks/bench_linalg.py [--quick]``; prints the table, saves
``results/bench_linalg.json``.
"""

from __future__ import annotations

import _common  # noqa: F401  (first: pins BLAS and XLA to one thread)

# isort: split
import argparse
import sys
from typing import Any

import numpy as np
import scipy.linalg
from _common import save, table, timeit

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.core import primitive


# --- the refactorising baseline: same rule, but the transposed solve factorises Aᵀ again -----
def _refactor_vjp(ct: Any, x: Any, a: Any, b: Any) -> list[Any]:
    b_bar = refactor_solve_p(rnp.swapaxes(a, -1, -2), ct)  # a fresh LU of Aᵀ
    return [-(b_bar @ rnp.swapaxes(x, -1, -2)), b_bar]


def _counted_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return scipy.linalg.lu_solve(
        scipy.linalg.lu_factor(a, check_finite=False), b, check_finite=False
    )


refactor_solve_p = primitive("solve_refactorising", _counted_solve)
refactor_solve_p.vjp_full = _refactor_vjp


class _CountLU:
    """Counts scipy.linalg.lu_factor calls inside a ``with`` block."""

    def __enter__(self) -> _CountLU:
        self.calls, self._orig = 0, scipy.linalg.lu_factor

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return self._orig(*args, **kwargs)

        scipy.linalg.lu_factor = counted
        return self

    def __exit__(self, *exc: Any) -> None:
        scipy.linalg.lu_factor = self._orig


def bench_solve(n: int, k: int, repeat: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)) + n**0.5 * np.eye(n)
    b, ct = rng.standard_normal((n, k)), rng.standard_normal((n, k))
    t_numpy = timeit(lambda: np.linalg.solve(a, b), repeat=repeat)
    rows = []
    for name, solve in (("LU reused", rnp.linalg.solve), ("refactorising", refactor_solve_p)):
        t_fwd = timeit(lambda solve=solve: solve(a, b), repeat=repeat)
        _, vjp_fn = ri.vjp(solve, a, b)
        t_bwd = timeit(lambda vjp_fn=vjp_fn: vjp_fn(ct), repeat=repeat)
        t_grad = timeit(lambda solve=solve: ri.vjp(solve, a, b)[1](ct), repeat=repeat)
        with _CountLU() as count:
            ri.vjp(solve, a, b)[1](ct)
        rows.append(
            {
                "op": f"solve k={k}",
                "n": n,
                "variant": name,
                "numpy_ms": 1e3 * t_numpy,
                "fwd_ms": 1e3 * t_fwd,
                "bwd_ms": 1e3 * t_bwd,
                "bwd/fwd": t_bwd / t_fwd,
                "(fwd+bwd)/fwd": t_grad / t_fwd,
                "lu_factor": count.calls,
            }
        )
    return rows


def bench_svd(n: int, repeat: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n))
    t_numpy = timeit(lambda: np.linalg.svd(a, full_matrices=False), repeat=repeat)
    rows = []
    cases = {
        "loss of s": (lambda a: rnp.linalg.svd(a, compute_uv=False), rng.standard_normal(n)),
        "loss of U, s, V": (
            lambda a: tuple(rnp.linalg.svd(a, full_matrices=False)),
            (rng.standard_normal((n, n)), rng.standard_normal(n), rng.standard_normal((n, n))),
        ),
    }
    for name, (f, ct) in cases.items():
        t_fwd = timeit(lambda f=f: f(a), repeat=repeat)
        _, vjp_fn = ri.vjp(f, a)
        t_bwd = timeit(lambda vjp_fn=vjp_fn, ct=ct: vjp_fn(ct), repeat=repeat)
        t_grad = timeit(lambda f=f, ct=ct: ri.vjp(f, a)[1](ct), repeat=repeat)
        rows.append(
            {
                "op": "svd",
                "n": n,
                "variant": name,
                "numpy_ms": 1e3 * t_numpy,
                "fwd_ms": 1e3 * t_fwd,
                "bwd_ms": 1e3 * t_bwd,
                "bwd/fwd": t_bwd / t_fwd,
                "(fwd+bwd)/fwd": t_grad / t_fwd,
                "lu_factor": 0,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 100 only, 3 repeats")
    args = parser.parse_args(argv)
    sizes, repeat = ((100,), 3) if args.quick else ((100, 300), 15)
    rows: list[dict[str, Any]] = []
    for n in sizes:
        for k in (1, n):
            rows += bench_solve(n, k, repeat)
        rows += bench_svd(n, repeat)
    print(table(rows, "solve and SVD: backward / forward (median wall time, one thread)"))
    path = save("bench_linalg" + ("_quick" if args.quick else ""), {"rows": rows})
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
