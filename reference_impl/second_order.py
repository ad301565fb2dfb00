"""Second order: Hessian-vector products, the Hessian from them, and the Hessian's trace.

The Hessian of f: Rⁿ → R has n² entries, but the product ∇²f(x) v is a directional derivative
of the gradient,

    ∇²f(x) v = d/dε ∇f(x + εv) |_{ε=0} = ∇_x [ ∇f(x) · v ],

so it costs a small constant times one gradient, with no n×n matrix (Pearlmutter 1994, "Fast
exact multiplication by the Hessian", Neural Computation 6(1)). Three ways to compose the modes:

* forward-over-reverse: ``jvp(grad(f), (x,), (v,))`` — push the tangent v through the gradient
  computation. The cheapest: one forward and one backward pass, each carrying a tangent.
* reverse-over-reverse: ``grad(lambda x: vdot(grad(f)(x), v))(x)`` — the lecture's JAX snippet;
  the inner backward pass is itself taped and differentiated again.
* reverse-over-forward: ``grad(lambda x: jvp(f, (x,), (v,))[1])(x)`` — the gradient of the
  directional derivative ∇f(x)·v.

Cost in this eager engine: forward-over-reverse also computes the primal gradient ∇f(x) (the
values under the tangents of the backward pass) and discards it; JAX under ``jit`` removes that
dead work, an eager interpreter cannot. Reverse-over-forward never forms it: on the course's
MLP it does 2.08× a gradient's matmul FLOPs against 2.50× for forward-over-reverse
(``benchmarks/bench_second_order.py``), so it is the fastest choice here.

x and v may be pytrees of the same structure (an MLP's list of (W, b) pairs).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any

import numpy as np

from . import numpy as rnp
from .forward import _jacobian_tree, jvp
from .reverse import grad
from .trace_estimation import TraceEstimate, hutchinson, hutchpp
from .tracers import Tracer, concrete
from .tree_util import tree_flatten, tree_unflatten

__all__ = ["hessian_from_hvp", "hessian_trace", "hvp", "ravel_pytree"]

MODES = ("fwd-over-rev", "rev-over-rev", "rev-over-fwd")


def _tree_vdot(a: Any, b: Any) -> Any:
    """Σ over leaves of Σ_i a_i b_i: the inner product of two pytrees."""
    a_leaves, _ = tree_flatten(a)
    b_leaves, _ = tree_flatten(b)
    return reduce(
        lambda s, t: s + t, [rnp.vdot(x, y) for x, y in zip(a_leaves, b_leaves, strict=True)]
    )


def _match_tangent(x: Any, v: Any) -> Any:
    """Check that v has x's structure and shapes; give plain values x's dtype."""
    x_leaves, x_tree = tree_flatten(x)
    v_leaves, v_tree = tree_flatten(v)
    if x_tree != v_tree:
        raise ValueError(f"hvp: x and v must have the same structure, got {x_tree} and {v_tree}")
    out = []
    for k, (a, b) in enumerate(zip(x_leaves, v_leaves, strict=True)):
        if np.shape(concrete(a)) != np.shape(concrete(b)):
            raise ValueError(
                f"hvp: leaf {k} of x has shape {np.shape(concrete(a))} but v's has "
                f"shape {np.shape(concrete(b))}"
            )
        out.append(
            b
            if isinstance(b, Tracer)
            else np.asarray(b, dtype=np.result_type(concrete(a), np.float64))
        )
    return tree_unflatten(v_tree, out)


def hvp(f: Callable[[Any], Any], x: Any, v: Any, mode: str = "fwd-over-rev") -> Any:
    """∇²f(x) v without forming ∇²f (Pearlmutter 1994); ``mode`` picks the composition.

    ``f`` maps x (an array or a pytree) to a scalar; the result has x's structure.
    """
    v = _match_tangent(x, v)
    if mode == "fwd-over-rev":  # d/dε ∇f(x + εv)
        return jvp(grad(f), (x,), (v,))[1]
    if mode == "rev-over-rev":  # ∇_x [∇f(x) · v]
        return grad(lambda y: _tree_vdot(grad(f)(y), v))(x)
    if mode == "rev-over-fwd":  # ∇_x [d/dε f(x + εv)]
        return grad(lambda y: jvp(f, (y,), (v,))[1])(x)
    raise ValueError(f"hvp: unknown mode {mode!r}; use one of {MODES}")


def ravel_pytree(tree: Any) -> tuple[np.ndarray, Callable[[np.ndarray], Any]]:
    """Flatten a pytree of (concrete) arrays into one vector; return it and the inverse map."""
    leaves, treedef = tree_flatten(tree)
    arrays = [np.asarray(leaf, dtype=float) for leaf in leaves]
    shapes = [a.shape for a in arrays]
    splits = np.cumsum([a.size for a in arrays])[:-1]
    flat = np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)

    def unravel(vec: np.ndarray) -> Any:
        parts = np.split(np.asarray(vec), splits)
        return tree_unflatten(treedef, [p.reshape(s) for p, s in zip(parts, shapes, strict=True)])

    return flat, unravel


def _flat_hvp(f: Callable[[Any], Any], x: Any, mode: str) -> tuple[int, Callable]:
    """n and the matvec u ↦ ravel(∇²f(x) unravel(u)) on flat vectors."""
    flat, unravel = ravel_pytree(x)

    def matvec(u: np.ndarray) -> np.ndarray:
        return ravel_pytree(hvp(f, x, unravel(u), mode))[0]

    return flat.size, matvec


def hessian_from_hvp(f: Callable[[Any], Any], x: Any, mode: str = "fwd-over-rev") -> Any:
    """The Hessian column by column, H e_j = ∇²f(x) e_j: n HVPs for n = size of x.

    Laid out as ``jax.hessian``: shape x.shape + x.shape for an array, and for a pytree a
    tree (x's structure) of trees whose leaf [i][j] has shape x_i.shape + x_j.shape.
    """
    n, matvec = _flat_hvp(f, x, mode)
    H = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        H[:, j] = matvec(e)
    leaves, treedef = tree_flatten(x)
    shapes = [np.shape(leaf) for leaf in leaves]
    offsets = np.concatenate([[0], np.cumsum([int(np.prod(s)) for s in shapes])])
    blocks = [
        [
            H[offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]].reshape(si + sj)
            for j, sj in enumerate(shapes)
        ]
        for i, si in enumerate(shapes)
    ]
    return _jacobian_tree(treedef, treedef, blocks)


def hessian_trace(
    f: Callable[[Any], Any],
    x: Any,
    num_probes: int,
    rng: np.random.Generator,
    method: str = "hutchinson",
    dist: str = "rademacher",
    mode: str = "fwd-over-rev",
) -> TraceEstimate:
    """tr ∇²f(x) from ``num_probes`` HVPs: Hutchinson (1989) or Hutch++ (Meyer et al. 2021).

    x may be a pytree (a network's parameters): probes are drawn on the flattened vector and
    unflattened for each HVP. ``method="exact"`` sums the n diagonal entries e_jᵀ H e_j instead
    (n HVPs, ignoring ``num_probes``) — the reference the estimates are tested against.
    """
    n, matvec = _flat_hvp(f, x, mode)
    if method == "hutchinson":
        return hutchinson(matvec, n, num_probes, rng, dist)
    if method == "hutchpp":
        return hutchpp(matvec, n, num_probes, rng, dist)
    if method == "exact":
        total = 0.0
        for j in range(n):
            e = np.zeros(n)
            e[j] = 1.0
            total += float(matvec(e)[j])
        return TraceEstimate(total, 0.0, n, "exact")
    raise ValueError(
        f"hessian_trace: unknown method {method!r}; use 'hutchinson', 'hutchpp' or 'exact'"
    )
