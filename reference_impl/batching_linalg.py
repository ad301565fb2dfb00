"""Batching rules of contractions, linear algebra, and the primitives that carry a function.

* ``matmul``: a batch of vectors or matrices times one matrix is *one* matrix product (the
  batch folded into the rows, or into the columns when the batch is on the right), which is
  what makes per-example gradients of an MLP fast; two batched operands use NumPy's batched
  ``matmul`` with the batch axis in front.
* ``einsum``: the batch gets a fresh index letter.
* linear algebra (``lu_solve``, ``det``, ``cholesky``, ``svd``, ``eigh``…): these primitives
  already accept stacks of matrices ``(..., n, n)``, so the batch axis is one more stack axis in
  front (one shared rule). The LU factors, a parameter of ``lu_solve``/``det``/``logabsdet``,
  are factorised again for a batched matrix.
* ``custom_jvp``/``custom_vjp``/``checkpoint``/``checkpoint_chain`` carry a Python function: the
  rule runs that function on the batch tracers themselves (one shared rule); the custom
  derivative rules of the outer transformations see batch tracers and work per example.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .batching import BatchTrace, BatchTracer, move
from .batching_rules import _BY_PREFIX, _pad
from .core import Primitive, concrete, defbatch, shape_of
from .numpy import contractions as C
from .numpy import elementwise as E
from .numpy import linalg as L
from .numpy import linalg_svd as LS
from .numpy import shape_ops as S

__all__ = ["body_rule", "stack_rule"]


def _ranks(vals: list[Any], dims: list[Any]) -> list[int]:
    return [len(shape_of(v)) - (d is not None) for v, d in zip(vals, dims, strict=True)]


# --- matmul -----------------------------------------------------------------------------------
def _matmul_rule(vals: list[Any], dims: list[Any]) -> tuple[Any, int]:
    (x, y), (dx, dy) = vals, dims
    rx, ry = _ranks(vals, dims)
    if dy is None and ry == 2:  # (B, …, k) @ (k, m): fold the batch into the rows
        x0 = move(x, dx, 0)
        s = shape_of(x0)
        if rx == 1:
            return C.matmul(x0, y), 0
        flat = S.reshape_p(x0, shape=(-1, s[-1]))
        return S.reshape_p(C.matmul(flat, y), shape=(*s[:-1], shape_of(y)[-1])), 0
    if dy is None and ry == 1:  # (B, …, k) @ (k,)
        return C.matmul(move(x, dx, 0), y), 0
    if dx is None and rx == 2 and ry == 1:  # (n, k) @ (B, k): (B, k) @ (k, n)
        return C.matmul(move(y, dy, 0), S.swapaxes(x, -1, -2)), 0
    if dx is None and rx == 2 and ry == 2:  # (n, k) @ (k, B·m): the batch into the columns
        y1 = move(y, dy, 1)
        k, b, m = shape_of(y1)
        out = C.matmul(x, S.reshape_p(y1, shape=(k, b * m)))
        return S.reshape_p(out, shape=(shape_of(x)[0], b, m)), 1
    # general: vectors as 1-row / 1-column matrices, batch axes in front, ranks aligned
    args = []
    for v, d, r, pos in ((x, dx, rx, -2), (y, dy, ry, -1)):
        v = v if d is None else move(v, d, 0)
        if r == 1:
            v = S.expand_dims(v, pos)
        args.append(v)
    rank = max(max(rx, 2), max(ry, 2))
    args = [v if d is None else _pad(v, rank) for v, d in zip(args, dims, strict=True)]
    # an inner dimension of 1 (per-example outer products, as in per-example gradients of a
    # dense layer) is a broadcast product: faster than NumPy's stacked matmul
    out = E.multiply(*args) if shape_of(args[0])[-1] == 1 else C.matmul(*args)
    s = shape_of(out)
    if rx == 1 or ry == 1:
        keep = s[:-2] + (() if rx == 1 else s[-2:-1]) + (() if ry == 1 else s[-1:])
        out = S.reshape_p(out, shape=keep)
    return out, 0


# --- einsum -----------------------------------------------------------------------------------
def _explicit(subscripts: str) -> tuple[list[str], str]:
    s = subscripts.replace(" ", "")
    ins, arrow, out = s.partition("->")
    if not arrow:  # NumPy's implicit output: '...' then the letters used once, sorted
        letters = ins.replace(",", "").replace(".", "")
        out = ("..." if "..." in ins else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1)
        )
    return ins.split(","), out


def _einsum_rule(
    vals: list[Any], dims: list[Any], subscripts: str, **params: Any
) -> tuple[Any, int]:
    inputs, out = _explicit(subscripts)
    z = next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in subscripts)
    ins = [s if d is None else z + s for s, d in zip(inputs, dims, strict=True)]
    ops = [v if d is None else move(v, d, 0) for v, d in zip(vals, dims, strict=True)]
    return C.einsum_p(*ops, subscripts=",".join(ins) + "->" + z + out, **params), 0


# --- linear algebra: the batch is one more stack axis ---------------------------------------
def stack_rule(prim: Primitive) -> Callable[..., Any]:
    """For primitives on stacks of matrices ``(..., n, n)``: the batch axis in front, the stack
    axes of the operands aligned (broadcasting from the right), LU factors recomputed."""

    def rule(vals: list[Any], dims: list[Any], **params: Any) -> tuple[Any, Any]:
        ranks = _ranks(vals, dims)
        rank = max(ranks)
        args = [
            v if d is None else _pad(move(v, d, 0), rank) for v, d in zip(vals, dims, strict=True)
        ]
        if "lu" in params and (dims[0] is not None or params["lu"].lu is None):
            lu = L.LUFactors(concrete(args[0]))  # the factors of a batch of matrices
            if lu.singular and prim in _SOLVES:
                raise np.linalg.LinAlgError(f"linalg: singular matrix in the batch ({prim.name})")
            params = dict(params, lu=lu)
        ans = prim(*args, **params)
        return ans, ((0,) * len(ans) if prim.multiple_results else 0)

    return rule


# --- primitives that carry a function: run it on the batch ----------------------------------
def body_rule(run: Callable[..., Any]) -> Callable[..., Any]:
    """``run(prim_params, *args)`` evaluates the primitive's function; here on batch tracers."""

    def rule(trace: BatchTrace, vals: list[Any], dims: list[Any], **params: Any) -> tuple[Any, Any]:
        boxed = [
            v if d is None else BatchTracer(trace, v, d) for v, d in zip(vals, dims, strict=True)
        ]
        outs = run(params, *boxed)
        ans = [o.val if isinstance(o, BatchTracer) and o._trace is trace else o for o in outs]
        ans_dims = [
            o.bdim if isinstance(o, BatchTracer) and o._trace is trace else None for o in outs
        ]
        return tuple(ans), tuple(ans_dims)

    rule.needs_trace = True  # type: ignore[attr-defined]
    return rule


defbatch(C.matmul, _matmul_rule)
defbatch(C.einsum_p, _einsum_rule)
_SOLVES = (L.lu_solve_p,)
for _p in (
    L.lu_solve_p,
    L.logabsdet_p,
    L.det_p,
    L.lu_sign_p,
    L.solve_triangular_p,
    L.cholesky_p,
    LS.svd_p,
    LS.eigh_p,
):
    defbatch(_p, stack_rule(_p))


def _chain_rule() -> Callable[..., Any]:
    from .revolve import chain_p

    defbatch(chain_p, body_rule(lambda params, *args: params["run"].plain(*args)))


_chain_rule()
# made per function: the rule is built for each primitive the first time it is batched
_BY_PREFIX.update(
    {
        # checkpoint's impl refuses tracer outputs (closures); its function runs on the batch
        "checkpoint[": lambda prim: body_rule(
            lambda params, *a: prim.impl.__self__._flat(params["call"])(*a)
        ),
    }
)
