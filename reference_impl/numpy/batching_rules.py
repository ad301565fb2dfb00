"""Batching rules (``vmap``) shared by families of primitives, passed as ``batch=`` where each
primitive is made (``sin = primitive("sin", np.sin, batch=ELEMENTWISE)``).

A rule receives the batched arrays ``vals`` one level down and their batch axes ``dims``
(``None``: the same value for every example) and returns ``(ans, ans_dim)``: the primitive
applied once to the whole batch. Most rules move the batch axis to the front and call the
primitive again with the other axes renumbered, so they are written per *family*:

* :data:`ELEMENTWISE` n-ary (``sin``, ``add``, ``where``…): NumPy broadcasting aligns shapes
  from the right, so a batched argument of lower rank gets unit axes after its batch axis;
* :data:`REDUCTION` with ``axes``/``keepdims`` (``sum``, ``max``, ``prod``, ``logsumexp``): the
  axes are shifted past the batch axis, which stays where it is;
* :data:`AXIS`, one ``axis`` parameter (``cumsum``): renumbered past the batch axis;
* :data:`STACK`, primitives on stacks of matrices ``(..., n, n)`` (``cholesky``, ``svd``,
  ``qr``…): the batch axis is one more stack axis in front.

The rules of single primitives (reshape, indexing, matmul, solve…) are beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..primitives import Primitive, RuleFamily
from ..tracers import shape_of
from .shape_ops import move, pad_batch

__all__ = ["AXIS", "ELEMENTWISE", "REDUCTION", "STACK", "ranks"]


def ranks(vals: list[Any], dims: list[Any]) -> list[int]:
    """The rank of each argument as one example sees it."""
    return [len(shape_of(v)) - (d is not None) for v, d in zip(vals, dims, strict=True)]


def _elementwise(prim: Primitive) -> Callable[..., Any]:
    """``prim(*args)`` of a broadcasting elementwise primitive, on the whole batch at once."""

    def rule(vals: list[Any], dims: list[Any], **params: Any) -> tuple[Any, int]:
        rs = ranks(vals, dims)
        rank = max(rs)
        batched = {d for d in dims if d is not None}
        if len(batched) == 1:  # the common case: no transposition at all
            d = batched.pop()
            if all(
                (r == rank) if dd is not None else (r == 0) for r, dd in zip(rs, dims, strict=True)
            ):
                return prim(*vals, **params), d
        args = [
            v if d is None else pad_batch(move(v, d, 0), rank)
            for v, d in zip(vals, dims, strict=True)
        ]
        return prim(*args, **params), 0

    return rule


def _reduction(prim: Primitive) -> Callable[..., Any]:
    """``prim(x, axes, keepdims)``: the per-example ``axes`` renumbered around the batch axis."""

    def rule(
        vals: list[Any], dims: list[Any], axes: tuple[int, ...], keepdims: bool, **params: Any
    ) -> tuple[Any, int]:
        (x,), (d,) = vals, dims
        raw = tuple(a + (a >= d) for a in axes)
        ans_dim = d if keepdims else d - sum(a < d for a in axes)
        return prim(x, axes=raw, keepdims=keepdims, **params), ans_dim

    return rule


def _axis(prim: Primitive) -> Callable[..., Any]:
    """``prim(x, axis=a)`` along one (non-negative) axis: the axis renumbered past the batch."""

    def rule(vals: list[Any], dims: list[Any], axis: int, **params: Any) -> tuple[Any, int]:
        (x,), (d,) = vals, dims
        return prim(x, axis=axis + (axis >= d), **params), d

    return rule


def _stack(prim: Primitive) -> Callable[..., Any]:
    """For primitives on stacks of matrices ``(..., n, n)``: the batch axis in front, the stack
    axes of the operands aligned (broadcasting from the right)."""

    def rule(vals: list[Any], dims: list[Any], **params: Any) -> tuple[Any, Any]:
        rank = max(ranks(vals, dims))
        args = [
            v if d is None else pad_batch(move(v, d, 0), rank)
            for v, d in zip(vals, dims, strict=True)
        ]
        ans = prim(*args, **params)
        return ans, ((0,) * len(ans) if prim.multiple_results else 0)

    return rule


ELEMENTWISE = RuleFamily(_elementwise, "elementwise")
REDUCTION = RuleFamily(_reduction, "reduction")
AXIS = RuleFamily(_axis, "axis")
STACK = RuleFamily(_stack, "stack")
