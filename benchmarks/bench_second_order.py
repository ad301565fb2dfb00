"""Hessian-vector product time / gradient time on the MLP of ``models.py``.

MLP 784-512-512-10, batch 256, float64, one thread. For each system the ratio t(HVP)/t(grad)
uses that system's own gradient. Systems: reference_impl in its three compositions
(forward-over-reverse, reverse-over-reverse, reverse-over-forward), HIPS autograd
(reverse-over-reverse by hand, as ``autograd.make_hvp`` does), JAX eager (jvp of grad) and, for
context, JAX jit. Target for reference_impl: ≤ 2.2 (JAX eager 1.98, HIPS 2.57 measured before).

For reference_impl the matmul FLOPs of every call are counted (the matmul primitive's
implementation is wrapped for the count and restored), so the ratio can be compared with its
arithmetic floor: the three compositions do different numbers of matrix products. Eager
forward-over-reverse also computes the primal gradient (xᵀḡ for every weight) and throws it
away — 2.50× grad's matmul FLOPs here — while reverse-over-forward never forms it (2.08×, the
same as XLA's count for jit(jvp(grad)) after dead-code elimination).

Run: ``python benchmarks/bench_second_order.py [--repeat 15]`` (writes
``results/bench_second_order.json``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import _common  # noqa: F401  (before numpy and jax: pins BLAS and XLA to one thread)
import numpy as np
from _common import matmul_flops, save, table
from models import init_mlp, mlp_loss


def paired(grad: Callable[[], Any], hvp: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Time grad and HVP alternately (same load for both); keep each one's fastest run.

    Times are the process's CPU time (``time.process_time``, all its threads): with BLAS and
    XLA pinned to one thread it is the work done, and it does not count the time spent waiting
    for a core on a shared machine, which wall time does. Noise only adds time, so the minimum
    is the steadiest estimate; the median of the per-pair ratios is reported next to it.
    """
    grad(), hvp()
    tg, th = [], []
    for _ in range(repeat):
        for fn, out in ((grad, tg), (hvp, th)):
            t0 = time.process_time()
            fn()
            out.append(time.process_time() - t0)
    ratios = sorted(h / g for g, h in zip(tg, th, strict=True))
    return {
        "grad ms": 1e3 * min(tg),
        "hvp ms": 1e3 * min(th),
        "hvp/grad": min(th) / min(tg),
        "median pair ratio": ratios[len(ratios) // 2],
    }


def reference_impl_rows(
    params: Any, x: np.ndarray, y: np.ndarray, V: Any, repeat: int
) -> list[dict[str, Any]]:
    import reference_impl as ri
    import reference_impl.numpy as rnp
    from reference_impl.second_order import hvp

    def loss(p: Any) -> Any:
        return mlp_loss(rnp, rnp.logsumexp, p, x, y)

    def g() -> Any:
        return ri.grad(loss)(params)

    f_grad = matmul_flops(g)
    rows = []
    for mode in ("fwd-over-rev", "rev-over-rev", "rev-over-fwd"):

        def h(mode: str = mode) -> Any:
            return hvp(loss, params, V, mode)

        f_hvp = matmul_flops(h)
        rows.append(
            {
                "system": "reference_impl",
                "hvp": mode,
                **paired(g, h, repeat),
                "flop ratio": f_hvp / f_grad if f_hvp and f_grad else float("nan"),
            }
        )
    return rows


def autograd_rows(
    params: Any, x: np.ndarray, y: np.ndarray, V: Any, repeat: int
) -> list[dict[str, Any]]:
    import autograd
    import autograd.numpy as anp
    from autograd.scipy.special import logsumexp

    def loss(p: Any) -> Any:
        return mlp_loss(anp, logsumexp, p, x, y)

    def vdot_grad(p: Any) -> Any:  # ∇f(p) · v, summed over the (W, b) pairs
        gs = autograd.grad(loss)(p)
        return sum(
            anp.sum(gW * vW) + anp.sum(gb * vb) for (gW, gb), (vW, vb) in zip(gs, V, strict=True)
        )

    hvp = autograd.grad(vdot_grad)
    return [
        {
            "system": "HIPS autograd",
            "hvp": "rev-over-rev",
            **paired(lambda: autograd.grad(loss)(params), lambda: hvp(params), repeat),
            "flop ratio": float("nan"),
        }
    ]


def jax_rows(
    params: Any, x: np.ndarray, y: np.ndarray, V: Any, repeat: int
) -> list[dict[str, Any]]:
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    jax.config.update("jax_enable_x64", True)
    p, v = jax.device_put(params), jax.device_put(V)
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def loss(q: Any) -> Any:
        return mlp_loss(jnp, logsumexp, q, xj, yj)

    grad = jax.grad(loss)

    def hvp(q: Any, w: Any) -> Any:
        return jax.jvp(grad, (q,), (w,))[1]

    def ready(fn: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: jax.block_until_ready(fn())

    def xla_flops(fn: Callable[..., Any], *fargs: Any) -> float:
        cost = jax.jit(fn).lower(*fargs).compile().cost_analysis()
        return float((cost[0] if isinstance(cost, list) else cost)["flops"])

    rows = []
    for label, gfun, hfun in [("JAX eager", grad, hvp), ("JAX jit", jax.jit(grad), jax.jit(hvp))]:
        rows.append(
            {
                "system": label,
                "hvp": "fwd-over-rev",
                **paired(ready(lambda g=gfun: g(p)), ready(lambda h=hfun: h(p, v)), repeat),
                "flop ratio": float("nan"),
            }
        )
    try:  # XLA's own count, after dead-code elimination (all FLOPs, not only matmuls)
        rows[-1]["flop ratio"] = xla_flops(hvp, p, v) / xla_flops(grad, p)
    except Exception:  # cost_analysis is best-effort in XLA
        pass
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    params, x, y = init_mlp()
    rng = np.random.default_rng(1)
    V = [(rng.standard_normal(W.shape), rng.standard_normal(b.shape)) for W, b in params]
    rows = (
        reference_impl_rows(params, x, y, V, args.repeat)
        + autograd_rows(params, x, y, V, args.repeat)
        + jax_rows(params, x, y, V, args.repeat)
    )
    print(
        table(
            rows,
            "MLP 784-512-512-10, batch 256, float64, one thread: HVP time / grad "
            "time (CPU time, fastest of the interleaved runs; flop ratio = matmul "
            "FLOPs of the HVP / of the grad; JAX jit: XLA's cost analysis)",
        )
    )
    ours = {r["hvp"]: r["hvp/grad"] for r in rows if r["system"] == "reference_impl"}
    print(
        f"\ntarget ≤ 2.2 — fwd-over-rev {ours['fwd-over-rev']:.2f}, "
        f"rev-over-rev {ours['rev-over-rev']:.2f}, rev-over-fwd {ours['rev-over-fwd']:.2f}"
    )
    path = save("bench_second_order", {"repeat": args.repeat, "rows": rows, "target": 2.2})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
