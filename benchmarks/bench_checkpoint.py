"""Activation checkpointing: memory and time of a deep tanh chain, plain tape vs √n vs revolve.

x_{k+1} = tanh(x_k @ W_k), k = 0 … n−1, n ∈ {16, 64, 256}, batch 64, float64; the gradient is
taken with respect to x_0 and every W_k (as in training). For each policy of
``checkpoint_chain``: the peak number and bytes of residuals measured by ``ResidualMeter``
during a real ``grad`` call (weights and inputs, alive anyway, are not counted), the step
evaluations, and the gradient time (median of 5 runs taken round robin over the policies, so
that a change of load on the shared machine hits all of them alike).

Width 512 rather than the issue's 1024: at 1024 one layer takes ~9 ms here (one thread, shared
machine), and the binomial runs at n = 256 alone would take minutes; the ratios do not depend on
the width (every array on the tape is a batch × width activation).

Targets at n = 256: √n keeps ≤ 2.2·√n/n of the plain tape's residual bytes at ≤ 1.5× its
gradient time (Chen et al. 2016, arXiv:1604.06174: one extra forward pass); binomial's advanced
steps equal revolve's p(l, s) = t·l − β(s+1, t−1) (Griewank & Walther 2000, TOMS Alg. 799), e.g.
5.20 forward steps per step for s = 4. Convention: p counts the initial forward sweep and not
the n taped steps of the turns; one gradient evaluates p + n steps in all.

Run: ``python benchmarks/bench_checkpoint.py [--quick]``; one thread everywhere.
"""

from __future__ import annotations

import _common  # noqa: F401  (first: pins BLAS and XLA to one thread)

# isort: split
import argparse
import math
from typing import Any

import numpy as np
from _common import save, table, timeit

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.checkpoint import ResidualMeter, checkpoint_chain
from reference_impl.revolve import optimal_forward_steps

BATCH = 64


def layer(x: Any, W: Any) -> Any:
    return rnp.tanh(x @ W)


def make_grad(policy: str, s: int | None) -> Any:
    def loss(x0: Any, Ws: list[Any], c: np.ndarray) -> Any:
        out = checkpoint_chain([layer] * len(Ws), x0, Ws, policy=policy, num_checkpoints=s)
        return rnp.sum(out * c)

    return ri.grad(loss, argnums=(0, 1))


def run(n: int, width: int, repeat: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(n)
    Ws = [rng.normal(size=(width, width)) / math.sqrt(width) for _ in range(n)]
    x0, c = rng.normal(size=(BATCH, width)), rng.normal(size=(BATCH, width))
    configs = [("none", None), ("sqrt", math.isqrt(n - 1) + 1)]
    configs += [("binomial", s) for s in (4, 16, 32) if s < n]
    grads = [make_grad(policy, s) for policy, s in configs]
    meters, results = [], []
    for grad in grads:  # one measured call each, which is also the warm-up
        with ResidualMeter() as m:
            results.append(grad(x0, Ws, c))
        meters.append(m)
    # round robin, so that a change of load on the shared machine hits every policy alike
    times: list[list[float]] = [[] for _ in configs]
    for _ in range(repeat):
        for k, grad in enumerate(grads):
            times[k].append(timeit(lambda grad=grad: grad(x0, Ws, c), repeat=1, warmup=0))
    rows: list[dict[str, Any]] = []
    base_bytes, base_time = meters[0].peak_bytes, float(np.median(times[0]))
    for (policy, s), m, g, ts in zip(configs, meters, results, times, strict=True):
        same = np.array_equal(g[0], results[0][0]) and all(
            np.array_equal(a, b) for a, b in zip(g[1], results[0][1], strict=True)
        )
        p = optimal_forward_steps(n, s) if policy == "binomial" else None
        seconds = float(np.median(ts))
        rows.append(
            {
                "n": n,
                "policy": policy,
                "s": "-" if s is None else s,
                "peak_arrays": m.peak_count,
                "peak_MiB": m.peak_bytes / 2**20,
                "bytes_ratio": m.peak_bytes / base_bytes,
                "bound_2.2sqrt(n)/n": 2.2 * math.sqrt(n) / n if policy == "sqrt" else "-",
                "advances": m.advances,
                "p(n,s)": "-" if p is None else p,
                "fwd_per_step": m.advances / n,
                "step_evals": m.step_evals,
                "grad_s": seconds,
                "time_ratio": seconds / base_time,
                "bit_equal": same,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 16 and 64, width 64 (CI)")
    args = parser.parse_args()
    ns, width, repeat = ((16, 64), 64, 3) if args.quick else ((16, 64, 256), 512, 5)
    rows = [r for n in ns for r in run(n, width, repeat)]
    print(
        table(
            rows,
            f"checkpoint_chain: tanh chain, width {width}, batch {BATCH}, float64, "
            "grad w.r.t. x_0 and all W_k (one thread)",
        )
    )
    big = [r for r in rows if r["n"] == max(ns)]
    sqrt_row = next(r for r in big if r["policy"] == "sqrt")
    checks = {
        "sqrt_bytes_ok": sqrt_row["bytes_ratio"] <= sqrt_row["bound_2.2sqrt(n)/n"],
        "sqrt_time_ok": sqrt_row["time_ratio"] <= 1.5,
        "binomial_p_ok": all(
            r["advances"] == r["p(n,s)"] for r in rows if r["policy"] == "binomial"
        ),
        "all_bit_equal": all(r["bit_equal"] for r in rows),
    }
    print("\n".join(f"{k}: {v}" for k, v in checks.items()))
    path = save(
        "checkpoint" + ("_quick" if args.quick else ""),
        {"width": width, "batch": BATCH, "rows": rows, "checks": checks},
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
