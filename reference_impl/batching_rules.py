"""Batching rules (``vmap``) of the elementwise, reduction and shape primitives.

A rule receives the batched arrays ``vals`` one level down and their batch axes ``dims``
(``None``: the same value for every example) and returns ``(ans, ans_dim)``: the primitive
applied once to the whole batch. Most rules move the batch axis to the front and call the
primitive again with the other axes renumbered, so they are written per *family*, not per
primitive (a primitive's family is said where it is registered, at the end):

* elementwise n-ary (``sin``, ``add``, ``where``…): NumPy broadcasting aligns shapes from the
  right, so a batched argument of lower rank gets unit axes after its batch axis;
* reductions with ``axes``/``keepdims`` (``sum``, ``max``, ``prod``, ``logsumexp``): the axes
  are shifted past the batch axis, which stays where it is;
* shape primitives (reshape, transpose, broadcast_to, indexing, concatenation): the batch axis
  is prepended to the shape / permutation / index.

Contractions, linear algebra and the primitives that carry a function (custom rules,
checkpoints) are in :mod:`.batching_linalg`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .batching import move
from .core import Primitive, defbatch, shape_of
from .numpy import elementwise as E
from .numpy import reductions as R
from .numpy import shape_ops as S

__all__ = ["batch_size", "elementwise_rule", "reduction_rule", "rule_by_name", "to_front"]


def batch_size(vals: list[Any], dims: list[Any]) -> int:
    return next(shape_of(v)[d] for v, d in zip(vals, dims, strict=True) if d is not None)


def to_front(x: Any, d: int | None, size: int | None = None) -> Any:
    """The batch axis of ``x`` at position 0; an unbatched ``x`` is broadcast when ``size``."""
    if d is not None:
        return move(x, d, 0)
    if size is None:
        return x
    s = shape_of(x)
    return S.broadcast_to_p(S.reshape_p(x, shape=(1, *s)), shape=(size, *s))


def _pad(x: Any, rank: int) -> Any:
    """``x`` of shape ``(B, *s)`` as ``(B, 1, …, 1, *s)`` with ``rank`` axes after the batch."""
    s = shape_of(x)
    if len(s) - 1 >= rank:
        return x
    return S.reshape_p(x, shape=(s[0],) + (1,) * (rank + 1 - len(s)) + s[1:])


# --- elementwise ------------------------------------------------------------------------------
def elementwise_rule(prim: Primitive) -> Callable[..., Any]:
    """``prim(*args)`` of a broadcasting elementwise primitive, on the whole batch at once."""

    def rule(vals: list[Any], dims: list[Any], **params: Any) -> tuple[Any, int]:
        ranks = [len(shape_of(v)) - (d is not None) for v, d in zip(vals, dims, strict=True)]
        rank = max(ranks)
        batched = {d for d in dims if d is not None}
        if len(batched) == 1:  # the common case: no transposition at all
            d = batched.pop()
            if all(
                (r == rank) if dd is not None else (r == 0)
                for r, dd in zip(ranks, dims, strict=True)
            ):
                return prim(*vals, **params), d
        args = [
            v if d is None else _pad(move(v, d, 0), rank) for v, d in zip(vals, dims, strict=True)
        ]
        return prim(*args, **params), 0

    return rule


# --- reductions ---------------------------------------------------------------------------------
def reduction_rule(prim: Primitive) -> Callable[..., Any]:
    """``prim(x, axes, keepdims)``: the per-example ``axes`` renumbered around the batch axis."""

    def rule(
        vals: list[Any], dims: list[Any], axes: tuple[int, ...], keepdims: bool, **params: Any
    ) -> tuple[Any, int]:
        (x,), (d,) = vals, dims
        raw = tuple(a + (a >= d) for a in axes)
        ans_dim = d if keepdims else d - sum(a < d for a in axes)
        return prim(x, axes=raw, keepdims=keepdims, **params), ans_dim

    return rule


# --- shape primitives ---------------------------------------------------------------------------
def _reshape_rule(vals: list[Any], dims: list[Any], shape: tuple[int, ...]) -> tuple[Any, int]:
    x = move(vals[0], dims[0], 0)
    return S.reshape_p(x, shape=(shape_of(x)[0], *shape)), 0


def _transpose_rule(vals: list[Any], dims: list[Any], axes: tuple[int, ...]) -> tuple[Any, int]:
    (x,), (d,) = vals, dims
    return S.transpose_p(x, axes=(d, *[a + (a >= d) for a in axes])), 0


def _broadcast_to_rule(vals: list[Any], dims: list[Any], shape: tuple[int, ...]) -> tuple[Any, int]:
    x = _pad(move(vals[0], dims[0], 0), len(shape))
    return S.broadcast_to_p(x, shape=(shape_of(x)[0], *shape)), 0


def _sum_to_shape_rule(vals: list[Any], dims: list[Any], shape: tuple[int, ...]) -> tuple[Any, int]:
    x = move(vals[0], dims[0], 0)
    s = shape_of(x)[1:]
    lead = len(s) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and s[lead + i] != 1
    )
    if axes:
        x = R.sum_p(x, axes=tuple(a + 1 for a in axes), keepdims=False)
    return S.reshape_p(x, shape=(shape_of(x)[0], *shape)), 0


def _index_parts(idx: Any, rank: int) -> tuple[tuple[Any, ...], int]:
    """``idx`` as a tuple (boolean masks as integer arrays) and the axis where the batch ends
    up when ``(slice(None), *idx)`` indexes the batch: 0, unless the advanced (array) indices
    are separated, which NumPy moves to the front."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    flat: list[Any] = []
    for p in parts:
        if isinstance(p, (np.ndarray, list)) and np.asarray(p).dtype == bool:
            flat.extend(np.nonzero(np.asarray(p)))
        else:
            flat.append(p)
    arrays = [i for i, p in enumerate(flat) if isinstance(p, (np.ndarray, list))]
    if not arrays:
        return tuple(flat), 0
    advanced = [
        i
        for i, p in enumerate(flat)
        if isinstance(p, (np.ndarray, list))
        or (isinstance(p, (int, np.integer)) and not isinstance(p, bool))
    ]
    if advanced == list(range(advanced[0], advanced[-1] + 1)):
        return tuple(flat), 0
    nd = len(np.broadcast_shapes(*[np.shape(flat[i]) for i in advanced]))
    return tuple(flat), nd


def _getitem_rule(vals: list[Any], dims: list[Any], idx: Any) -> tuple[Any, int]:
    x = move(vals[0], dims[0], 0)
    parts, ans_dim = _index_parts(idx, len(shape_of(x)) - 1)
    return S.getitem_p(x, idx=(slice(None), *parts)), ans_dim


def _scatter_add_rule(
    vals: list[Any], dims: list[Any], idx: Any, shape: tuple[int, ...]
) -> tuple[Any, int]:
    (ct,), (d,) = vals, dims
    size = shape_of(ct)[d]
    parts, where = _index_parts(idx, len(shape))
    return S.scatter_add_p(move(ct, d, where), idx=(slice(None), *parts), shape=(size, *shape)), 0


def _concatenate_rule(vals: list[Any], dims: list[Any], axis: int) -> tuple[Any, int]:
    size = batch_size(vals, dims)
    rank = len(shape_of(vals[dims.index(next(d for d in dims if d is not None))])) - 1
    xs = [to_front(v, d, size) for v, d in zip(vals, dims, strict=True)]
    return S.concatenate_p(*xs, axis=axis % rank + 1), 0


# --- registration -------------------------------------------------------------------------------
ELEMENTWISE = [
    E.negative,
    E.exp,
    E.log,
    E.log1p,
    E.expm1,
    E.sqrt,
    E.sin,
    E.cos,
    E.tan,
    E.tanh,
    E.sinh,
    E.cosh,
    E.arctan,
    E.sign,
    E.absolute,
    E.square,
    E.reciprocal,
    E.logistic,
    E.add,
    E.subtract,
    E.multiply,
    E.divide,
    E.power,
    E.maximum,
    E.minimum,
    E._where,
]
REDUCTIONS = [R.sum_p, R.max_p, R.min_p, R.prod_p, R.logsumexp_p]

for _p in ELEMENTWISE:
    defbatch(_p, elementwise_rule(_p))
for _p in REDUCTIONS:
    defbatch(_p, reduction_rule(_p))
defbatch(S.reshape_p, _reshape_rule)
defbatch(S.transpose_p, _transpose_rule)
defbatch(S.broadcast_to_p, _broadcast_to_rule)
defbatch(S.sum_to_shape_p, _sum_to_shape_rule)
defbatch(S.getitem_p, _getitem_rule)
defbatch(S.scatter_add_p, _scatter_add_rule)
defbatch(S.concatenate_p, _concatenate_rule)

_BY_PREFIX: dict[str, Callable[..., Any]] = {}


def rule_by_name(prim: Primitive) -> Callable[..., Any] | None:
    """Primitives made per function (``checkpoint[f]``) get their family's rule by name."""
    for prefix, make_rule in _BY_PREFIX.items():
        if prim.name.startswith(prefix):
            prim.batch = make_rule(prim)
            return prim.batch
    return None
