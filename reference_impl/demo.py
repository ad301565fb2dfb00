"""A short demo of the engine on the lecture's example: ``python -m reference_impl.demo``.

For L(w1, w2) = w2·log w1 + √(w2·log w1) at (w1, w2) = (2, 3) it prints the evaluation trace,
the forward-mode tangents ∂v_i/∂w1 and ∂v_i/∂w2, the reverse-mode adjoints ∂L/∂v_i, and the
gradient five ways (closed form, the graph's two modes, ``reference_impl.grad``, JAX in float64
if installed, central finite differences); then a small MLP's gradient against JAX. The exit status
is 1 if any check fails. ``--out PATH`` also writes the graph annotated with adjoints as a PNG.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import sys
from typing import Any

import numpy as np

from . import grad
from . import numpy as rnp
from .graph import trace_graph
from .scipy.special import logsumexp

W = (2.0, 3.0)
AD_TOL, FD_TOL = 1e-12, 1e-7  # relative; central differences are accurate to about ε^(2/3)


def lecture_loss(w1: Any, w2: Any, xp: Any = rnp) -> Any:
    """L(w1, w2) = w2·log w1 + √(w2·log w1), written as the lecture's graph: v1, v2, v3, L."""
    v1 = xp.log(w1)
    v2 = w2 * v1
    v3 = xp.sqrt(v2)
    return v2 + v3


def closed_form_gradient(w1: float, w2: float) -> np.ndarray:
    """∂L/∂w1 = (w2/w1)·(1 + 1/(2√(w2 log w1))), ∂L/∂w2 = log w1·(1 + 1/(2√(w2 log w1)))."""
    s = 1.0 + 1.0 / (2.0 * np.sqrt(w2 * np.log(w1)))
    return np.array([w2 / w1 * s, np.log(w1) * s])


def central_differences(f: Any, w: np.ndarray) -> np.ndarray:
    """∂f/∂w_k ≈ (f(w + h e_k) − f(w − h e_k)) / 2h with h = ε^(1/3)·max(1, |w_k|)."""
    g = np.zeros_like(w)
    for k in range(w.size):
        h = np.finfo(float).eps ** (1 / 3) * max(1.0, abs(w[k]))
        e = np.zeros_like(w)
        e[k] = h
        g[k] = (float(f(*(w + e))) - float(f(*(w - e)))) / (2 * h)
    return g


def mlp_loss(
    params: list[tuple[Any, Any]], x: Any, y: Any, xp: Any = rnp, lse: Any = logsumexp
) -> Any:
    """Softmax cross-entropy of a tanh MLP: mean(logsumexp(z) − ⟨z, y⟩), z the last layer."""
    h = x
    for w, b in params[:-1]:
        h = xp.tanh(h @ w + b)
    w, b = params[-1]
    z = h @ w + b
    return xp.mean(lse(z, axis=1) - xp.sum(z * y, axis=1))


def mlp_problem(
    sizes: tuple[int, ...] = (4, 8, 3), batch: int = 5, seed: int = 0
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = [
        (rng.normal(size=(m, n)) / np.sqrt(m), rng.normal(size=n) * 0.1)
        for m, n in itertools.pairwise(sizes)
    ]
    x = rng.normal(size=(batch, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=batch)]
    return params, x, y


def mlp_check(jax: Any) -> tuple[float, str, float]:
    """(error, what was compared, tolerance): ``grad(mlp_loss)`` against JAX's gradient, or,
    without JAX, its directional derivative along all-ones against central differences."""
    params, x, y = mlp_problem()
    flat = np.concatenate([np.ravel(a) for wb in grad(mlp_loss)(params, x, y) for a in wb])
    if jax is not None:
        import jax.scipy.special

        g = jax.grad(mlp_loss)(params, x, y, jax.numpy, jax.scipy.special.logsumexp)
        ref = np.concatenate([np.ravel(a) for wb in g for a in wb])
        return float(np.max(np.abs(flat - ref))), "max |grad − JAX grad|", 1e-12

    def shifted(s: float) -> float:
        moved = [(w + s, b + s) for w, b in params]
        return float(mlp_loss(moved, x, y, np, _np_logsumexp))

    h = 1e-5
    fd = (shifted(h) - shifted(-h)) / (2 * h)
    return abs(float(np.sum(flat)) - fd), "|⟨grad, 1⟩ − central difference|", 1e-7


def _import_jax() -> Any:
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def _vec(g: Any) -> str:
    return "[" + ", ".join(f"{float(x):.15f}" for x in np.ravel(g)) + "]"


def main(argv: list[str] | None = None) -> int:
    """Print the demo; return 0 if every check passes, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m reference_impl.demo", description=__doc__)
    parser.add_argument("--out", help="write the graph annotated with adjoints to this PNG")
    args = parser.parse_args(argv)
    ok = True

    print("L(w1, w2) = w2·log w1 + √(w2·log w1) at (w1, w2) = (2, 3)\n")
    g = trace_graph(lecture_loss, *W)
    print(
        f"Evaluation trace ({g.num_operations} operations), forward-mode tangents "
        "(one pass per input)\nand reverse-mode adjoints (one pass for both):"
    )
    print(g.table(wrt=["w1", "w2"], adjoints=True))

    exact = closed_form_gradient(*W)
    fwd = np.array([g.forward(k)["L"] for k in range(2)], dtype=float)
    ways = {
        "graph, forward mode": fwd,
        "graph, reverse mode": np.array(g.gradient(), dtype=float),
        "reference_impl.grad": np.array(grad(lecture_loss, argnums=(0, 1))(*W), dtype=float),
    }
    jax = _import_jax()
    if jax is not None:
        L_jax = functools.partial(lecture_loss, xp=jax.numpy)
        ways["JAX grad (float64)"] = np.array(jax.grad(L_jax, argnums=(0, 1))(*W), dtype=float)
    print("\nGradient (∂L/∂w1, ∂L/∂w2):")
    print(f"  {'closed form':24s}{_vec(exact)}")
    ad_err = 0.0
    for name, v in ways.items():
        ad_err = max(ad_err, float(np.max(np.abs(v - exact) / np.abs(exact))))
        print(f"  {name:24s}{_vec(v)}")
    if jax is None:
        print(f"  {'JAX grad (float64)':24s}skipped: jax is not installed")
    fd = central_differences(lambda a, b: lecture_loss(a, b, xp=np), np.array(W))
    fd_err = float(np.max(np.abs(fd - exact) / np.abs(exact)))
    print(f"  {'central differences':24s}{_vec(fd)}")
    ok &= ad_err <= AD_TOL and fd_err <= FD_TOL
    print(
        f"  max relative difference from the closed form: AD {ad_err:.1e} (tolerance "
        f"{AD_TOL:.0e}),\n  finite differences {fd_err:.1e} (tolerance {FD_TOL:.0e}): "
        f"{'OK' if ok else 'FAILED'}"
    )

    mlp_err, ref, tol = mlp_check(jax)
    mlp_ok = mlp_err <= tol
    ok &= mlp_ok
    print(
        f"\nMLP 4-8-3 (tanh, softmax cross-entropy, batch 5): {ref} = {mlp_err:.1e} "
        f"(tolerance {tol:.0e}): {'OK' if mlp_ok else 'FAILED'}"
    )

    if args.out:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, 4))
        g.draw(fig.add_subplot(), annotate="adjoints")
        fig.savefig(args.out, dpi=120, bbox_inches="tight")
        print(f"Figure of the graph with adjoints written to {args.out}")
    print("All checks passed." if ok else "SOME CHECKS FAILED.")
    return 0 if ok else 1


def _np_logsumexp(z: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(z, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(z - m), axis=axis))


if __name__ == "__main__":
    sys.exit(main())
