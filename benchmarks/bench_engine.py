"""Engine overhead: the MLP of ``models.py`` and a chain of 1,000 scalar operations.

(i) MLP 784-512-512-10, batch 256, float64: t(f) and t(grad f) for reference_impl, HIPS autograd,
JAX without jit and the hand-written NumPy backprop (the floor). Targets for reference_impl:
t(grad)/t(f) ≤ 2.8, t(grad) ≤ 1.05 × hand-written, t(grad) ≤ 1.0 × HIPS autograd.

(ii) x ← sin(x)·1.0001 + 0.1 repeated 1,000 times (3 primitives per step): µs per primitive for
forward mode (jvp) and reverse mode (grad). Targets: reverse ≤ 5 µs/op, forward ≤ 2 µs/op.
Here the numerical work is nothing and the figure is pure interpreter overhead.

(iii) Per-example gradients of the MLP's loss over the batch of 256, ``vmap(grad(loss_i))``,
against the batched gradient ``grad(mean loss)`` and against hand-written per-example NumPy
gradients (``per_example_grad_numpy``; goal: vmap(grad)/hand-written ≤ 1.5), for
reference_impl and for JAX eager (``jax.vmap(jax.grad)``). The per-example gradients are 256
copies of the parameters (1.4 GB in float64), so the ratio to grad is bounded below by writing
them, not by the engine.

(iv) Hessian-vector products of the MLP's loss (``--only hvp``): t(HVP)/t(grad) for
reference_impl's forward-over-reverse and reverse-over-forward ``hvp`` and for JAX eager's
``jvp(grad)``, in wall and CPU time, beside the ratio of the matmul FLOPs (goal ≤ 2.0).

Run: ``python benchmarks/bench_engine.py [--quick] [--only mlp|hvp|chain|vmap] [--reuse-memory]``;
one thread everywhere.
"""

from __future__ import annotations

import _common  # noqa: F401  (first: pins BLAS and XLA to one thread)

# isort: split
import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import matmul_flops, save, table, timeit
from models import init_mlp, mlp_grad_numpy, mlp_loss

STEPS = 1000
OPS_PER_STEP = 3


def _np_logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    m = a.max(axis=axis, keepdims=True)
    return np.log(np.exp(a - m).sum(axis=axis)) + np.squeeze(m, axis)


def _systems() -> dict[str, tuple[Any, Any, Any, Any]]:
    """name → (numpy-like module, its logsumexp, grad, jvp) for each AD system (HIPS autograd
    only where installed: ``pip install -e '.[bench]'``)."""
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp as j_lse

    import reference_impl as ri
    import reference_impl.numpy as rnp
    from reference_impl.scipy.special import logsumexp as r_lse

    jax.config.update("jax_enable_x64", True)

    systems = {"reference_impl": (rnp, r_lse, ri.grad, ri.jvp)}
    try:
        import autograd
        import autograd.numpy as anp
        from autograd.scipy.special import logsumexp as a_lse

        def autograd_jvp(f: Any, primals: tuple, tangents: tuple) -> Any:
            return autograd.make_jvp(f)(*primals)(*tangents)

        systems["HIPS autograd"] = (anp, a_lse, autograd.grad, autograd_jvp)
    except ImportError:
        print("HIPS autograd is not installed: its rows are left out", file=sys.stderr)
    systems["JAX eager"] = (jnp, j_lse, jax.grad, jax.jvp)
    return systems


def _steady(fns: dict[str, Callable[[], Any]], order: list[str], repeat: int) -> dict[str, float]:
    """Median time of each ``fn()`` in a steady state: warmed up, then called ``repeat`` times
    in a row, as a training loop calls ``grad``.

    What ran just before decides whether big NumPy temporaries come from the allocator's free
    lists or from fresh, page-faulting memory (here ±15 % on a ratio), so ``main`` alternates
    the order of the systems between runs and reports the median over runs.
    """
    out = {}
    for name in order:
        out[name] = timeit(fns[name], repeat=repeat, warmup=2)
    return out


def bench_mlp(
    repeat: int, reverse_order: bool = False
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    params, x, y = init_mlp()
    fns: dict[str, Callable[[], Any]] = {}
    for name, (xp, lse, grad, _) in _systems().items():
        p_in: Any = params
        if name == "JAX eager":  # device arrays once, outside the timing; block on the result
            p_in = [(xp.asarray(W), xp.asarray(b)) for W, b in params]

        def loss(p: Any, xp: Any = xp, lse: Any = lse) -> Any:
            return mlp_loss(xp, lse, p, x, y)

        g = grad(loss)
        fns[f"{name} f"] = lambda loss=loss, p=p_in: np.asarray(loss(p))
        fns[f"{name} grad"] = lambda g=g, p=p_in: [np.asarray(a) for wb in g(p) for a in wb]
    fns["hand-written NumPy f"] = lambda: mlp_loss(np, _np_logsumexp, params, x, y)
    fns["hand-written NumPy grad"] = lambda: mlp_grad_numpy(params, x, y)
    order = list(fns)[::-1] if reverse_order else list(fns)
    t = _steady(fns, order, repeat)
    rows = []
    for name in [*_systems(), "hand-written NumPy"]:
        t_f, t_g = t[f"{name} f"], t[f"{name} grad"]
        rows.append(
            {"system": name, "t_f_ms": 1e3 * t_f, "t_grad_ms": 1e3 * t_g, "grad/f": t_g / t_f}
        )
    ours, hand = t["reference_impl grad"], t["hand-written NumPy grad"]
    ratios = {
        "ours_grad/f": ours / t["reference_impl f"],
        "ours_grad/hand_written_grad": ours / hand,
    }
    if "HIPS autograd grad" in t:
        ratios["ours_grad/autograd_grad"] = ours / t["HIPS autograd grad"]
    return rows, ratios


def _reuse_freed_memory() -> None:
    """glibc: keep freed blocks for reuse instead of returning them to the OS (no page faults
    on the next big temporary), as PyTorch's caching allocator does. Off by default."""
    import ctypes

    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 256 * 2**20)
    libc.mallopt(m_trim_threshold, 2**30)


def _chain(xp: Any, steps: int = STEPS) -> Any:
    def f(x: Any) -> Any:
        for _ in range(steps):
            x = xp.sin(x) * 1.0001 + 0.1
        return x

    return f


def bench_chain(repeat: int) -> list[dict[str, Any]]:
    rows = []
    for name, (xp, _, grad, jvp) in _systems().items():
        steps = STEPS if name != "JAX eager" else STEPS // 10  # JAX eager: ~100 µs per op
        f = _chain(xp, steps)
        n_ops = OPS_PER_STEP * steps
        reps = repeat if name != "JAX eager" else 3
        t_plain = timeit(lambda f=f: f(0.3), repeat=reps)
        t_fwd = timeit(lambda f=f, jvp=jvp: jvp(f, (0.3,), (1.0,)), repeat=reps)
        t_rev = timeit(lambda f=f, grad=grad: grad(f)(0.3), repeat=reps)
        rows.append(
            {
                "system": name,
                "ops": n_ops,
                "plain_us/op": 1e6 * t_plain / n_ops,
                "forward_us/op": 1e6 * t_fwd / n_ops,
                "reverse_us/op": 1e6 * t_rev / n_ops,
            }
        )
    return rows


def per_example_grad_numpy(params: Any, x: np.ndarray, y: np.ndarray) -> list[tuple]:
    """Hand-written per-example gradients of the MLP's loss (the floor for ``vmap(grad)``):
    the batched backward pass, with each weight gradient kept per example as the outer product
    ``h_b g_bᵀ`` instead of summed over the batch (``hᵀ g``)."""
    hs = [x]
    for W, b in params[:-1]:
        hs.append(np.tanh(hs[-1] @ W + b))
    W, b = params[-1]
    logits = hs[-1] @ W + b
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    g = e / e.sum(axis=1, keepdims=True) - y  # each example's loss is its own mean over 1
    grads = []
    for i in range(len(params) - 1, -1, -1):
        W, _ = params[i]
        grads.append((hs[i][:, :, None] * g[:, None, :], g))
        if i:
            g = (g @ W.T) * (1.0 - hs[i] ** 2)
    return grads[::-1]


def bench_vmap(repeat: int) -> list[dict[str, Any]]:
    params, x, y = init_mlp()
    rows = []
    t_hand = timeit(
        lambda: [a for wb in per_example_grad_numpy(params, x, y) for a in wb],
        repeat=repeat,
        warmup=1,
    )
    t_hand_g = timeit(lambda: mlp_grad_numpy(params, x, y), repeat=repeat, warmup=1)
    rows.append(
        {
            "system": "hand-written NumPy",
            "t_vmap_grad_ms": 1e3 * t_hand,
            "t_grad_ms": 1e3 * t_hand_g,
            "vmap_grad/grad": t_hand / t_hand_g,
            "vmap_grad/hand-written": 1.0,
        }
    )
    for name, (xp, lse, grad, _) in _systems().items():
        if name == "HIPS autograd":  # no vmap
            continue
        import jax

        vmap = jax.vmap if name == "JAX eager" else __import__("reference_impl").vmap
        p_in: Any = params
        if name == "JAX eager":
            p_in = [(xp.asarray(W), xp.asarray(b)) for W, b in params]

        def per_example(p: Any, xi: Any, yi: Any, xp: Any = xp, lse: Any = lse) -> Any:
            return mlp_loss(xp, lse, p, xi[None], yi[None])

        vg = vmap(grad(per_example), in_axes=(None, 0, 0))
        g = grad(lambda p, xp=xp, lse=lse: mlp_loss(xp, lse, p, x, y))
        t_v = timeit(
            lambda vg=vg, p=p_in: [np.asarray(a) for wb in vg(p, x, y) for a in wb],
            repeat=repeat,
            warmup=1,
        )
        t_g = timeit(
            lambda g=g, p=p_in: [np.asarray(a) for wb in g(p) for a in wb], repeat=repeat, warmup=1
        )
        rows.append(
            {
                "system": name,
                "t_vmap_grad_ms": 1e3 * t_v,
                "t_grad_ms": 1e3 * t_g,
                "vmap_grad/grad": t_v / t_g,
                "vmap_grad/hand-written": t_v / t_hand,
            }
        )
    return rows


def _paired(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU (process) time of each ``fn()``, the functions interleaved so that
    each sees the same load; CPU time leaves out the time other processes hold the core."""
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeat):
        for k, fn in fns.items():
            w, c = time.perf_counter(), time.process_time()
            fn()
            cpu[k].append(time.process_time() - c)
            wall[k].append(time.perf_counter() - w)
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in fns}


def bench_hvp(repeat: int) -> list[dict[str, Any]]:
    """t(HVP)/t(grad) for the MLP: reference_impl's two compositions and JAX eager's
    ``jvp(grad)``, with the FLOP ratio of the matmuls (the floor of the time ratio here)."""
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp as j_lse

    import reference_impl as ri
    import reference_impl.numpy as rnp
    from reference_impl.second_order import hvp

    jax.config.update("jax_enable_x64", True)
    params, x, y = init_mlp()
    rng = np.random.default_rng(1)
    v = [(rng.standard_normal(W.shape), rng.standard_normal(b.shape)) for W, b in params]

    def loss(p: Any) -> Any:
        return mlp_loss(rnp, rnp.logsumexp, p, x, y)

    def jloss(p: Any) -> Any:
        return mlp_loss(jnp, j_lse, p, x, y)

    jp, jv = jax.tree.map(jnp.asarray, (params, v))
    jgrad = jax.grad(jloss)
    fns: dict[str, Callable[[], Any]] = {
        "ours grad": lambda: ri.grad(loss)(params),
        "ours fwd-over-rev": lambda: hvp(loss, params, v, "fwd-over-rev"),
        "ours rev-over-fwd": lambda: hvp(loss, params, v, "rev-over-fwd"),
        "JAX grad": lambda: jax.block_until_ready(jgrad(jp)),
        "JAX fwd-over-rev": lambda: jax.block_until_ready(jax.jvp(jgrad, (jp,), (jv,))[1]),
    }
    t = _paired(fns, repeat)
    f_grad = matmul_flops(fns["ours grad"])
    rows = []
    for who, mode in [("ours", "fwd-over-rev"), ("ours", "rev-over-fwd"), ("JAX", "fwd-over-rev")]:
        (wg, cg), (wh, ch) = t[f"{who} grad"], t[f"{who} {mode}"]
        f_hvp = matmul_flops(fns[f"ours {mode}"]) if who == "ours" else None
        flops = f_hvp / f_grad if f_hvp and f_grad else float("nan")
        rows.append(
            {
                "system": "reference_impl" if who == "ours" else "JAX eager",
                "hvp": mode,
                "t_grad_ms": 1e3 * wg,
                "t_hvp_ms": 1e3 * wh,
                "hvp/grad": wh / wg,
                "hvp/grad_cpu": ch / cg,
                "matmul_flops/grad": flops,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--only", choices=["mlp", "hvp", "chain", "vmap"], default=None)
    ap.add_argument("--runs", type=int, default=4, help="whole-benchmark runs (median reported)")
    ap.add_argument(
        "--reuse-memory",
        action="store_true",
        help="glibc mallopt: reuse freed memory (no page faults) for every system",
    )
    args = ap.parse_args(argv)
    if args.reuse_memory:
        _reuse_freed_memory()
    repeat = 3 if args.quick else 11
    runs = 1 if args.quick else args.runs
    payload: dict[str, Any] = {
        "runs": runs,
        "repeat": repeat,
        "reuse_memory": args.reuse_memory,
        "load_average_before": os.getloadavg()[0],
    }
    if args.only in (None, "mlp"):
        results = [bench_mlp(repeat, reverse_order=bool(k % 2)) for k in range(runs)]
        rows = _median_rows([r for r, _ in results])
        ratios = {k: statistics.median(r[k] for _, r in results) for k in results[0][1]}
        print(table(rows, "MLP 784-512-512-10, batch 256, float64, one thread (median of runs)"))
        print("  ".join(f"{k} = {v:.3f}" for k, v in ratios.items()))
        print("  targets: grad/f ≤ 2.8, grad/hand-written ≤ 1.05, grad/autograd ≤ 1.0\n")
        payload["mlp"] = {"rows": rows, "ratios": ratios}
    if args.only in (None, "hvp"):
        rows = _median_rows([bench_hvp(repeat) for _ in range(runs)])
        print(table(rows, "HVP of the MLP: t(HVP)/t(grad), wall and CPU time (median of runs)"))
        print(
            "  target: hvp/grad ≤ 2.0; the matmul FLOP ratio is the floor (JAX's jaxpr of "
            "jvp(grad) has the same matmuls as ours)\n"
        )
        payload["hvp"] = {"rows": rows}
    if args.only in (None, "chain"):
        rows = _median_rows([bench_chain(repeat) for _ in range(runs)])
        print(table(rows, f"Scalar chain x = sin(x)·1.0001 + 0.1, {OPS_PER_STEP} ops per step"))
        print("  targets (reference_impl): reverse ≤ 5 µs/op, forward ≤ 2 µs/op\n")
        payload["chain"] = {"rows": rows}
    if args.only in (None, "vmap"):
        rows = _median_rows([bench_vmap(max(3, repeat // 3)) for _ in range(runs)])
        print(
            table(
                rows, "Per-example gradients of the MLP, batch 256: vmap(grad) vs grad of the mean"
            )
        )
        print("  (256 per-example gradients = 1.4 GB written; JAX eager: jax.vmap(jax.grad))\n")
        payload["vmap"] = {"rows": rows}
    payload["load_average_after"] = os.getloadavg()[0]
    print(
        f"1-min load average: {payload['load_average_before']:.2f} before, "
        f"{payload['load_average_after']:.2f} after ({os.cpu_count()} CPUs; figures are "
        "reliable only when it stays well below 1)"
    )
    name = "bench_engine" + (f"_{args.only}" if args.only in ("vmap", "hvp") else "")
    path = save(name + ("_reuse_memory" if args.reuse_memory else ""), payload)
    print(f"wrote {path}", file=sys.stderr)


def _median_rows(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Row-wise, column-wise median over repeated runs of the same benchmark."""
    out = []
    for rows in zip(*runs, strict=True):
        merged = dict(rows[0])
        for k, v in rows[0].items():
            if isinstance(v, float):
                merged[k] = statistics.median(r[k] for r in rows)
        out.append(merged)
    return out


if __name__ == "__main__":
    main()
