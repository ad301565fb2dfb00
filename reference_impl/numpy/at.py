"""``x.at[idx].set(v)`` and friends: JAX's out-of-place indexed updates, differentiable.

``x.at[idx].set(v)`` is a new array equal to ``x`` except at ``idx``, where it holds ``v``
(broadcast to ``x[idx]``'s shape); ``x`` itself is unchanged. One primitive does the work,
``scatter_set``, which is linear in ``(x, v)`` jointly:

* JVP: ``set(x, v)˙ = set(ẋ, 0) + set(0, v̇)``;
* VJP: ``x̄ = set(ct, 0)`` (the overwritten positions get nothing), ``v̄ = ct[idx]`` (summed
  back to ``v``'s shape by the core);
* batching: the batch axis is prepended to the index, as for ``getitem``.

The other updates are compositions: ``add`` is ``x + scatter_add(v)`` (repeated indices
accumulate, as in JAX); ``multiply``/``divide``/``power``/``min``/``max``/``apply`` are
``set(x, op(x[idx], v))`` when no position is repeated. With repeated positions, as in JAX,
every update is applied (on the flattened array, ``p`` the flat positions):

* ``multiply``: ``x[p] · Π v_k``, one ``set`` per round of distinct positions (the k-th
  occurrences of each position form round k), so the derivatives are the product rule's, also at
  zeros: ``∂/∂v_k = ct · x[p] · Π_{j≠k} v_j``. JAX gives ``x̄`` alike and refuses ``v̄`` for
  integer-array indices ("only implemented if unique_indices=True");
* ``min``/``max``: the primitive ``scatter_extremal``, with JAX's rule for ties: the result's
  derivative is shared evenly by every contender equal to it (``x[p]`` and the ``v_k``),
  weight ``1/count``.

``divide``/``power``/``apply`` with a repeated position raise. Out-of-range indices raise
``IndexError`` (JAX clamps reads and drops writes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..primitives import defjvp, defresiduals, defvjp, primitive
from ..tracers import concrete, shape_of
from . import elementwise as E
from .shape_ops import (
    _index_parts,
    _static_index,
    batch_size,
    broadcast_to,
    getitem,
    getitem_p,
    move,
    pad_batch,
    reshape,
    reshape_p,
    scatter_add_p,
    to_front,
)

__all__ = ["IndexUpdateHelper", "IndexUpdateRef", "scatter_extremal_p", "scatter_set_p"]


def _scatter_set_impl(x: Any, v: Any, idx: Any) -> np.ndarray:
    out = np.array(x, copy=True)
    out[idx] = v
    return out


def _scatter_set_batch(vals: list[Any], dims: list[Any], idx: Any) -> tuple[Any, int]:
    """Prepend the batch axis to the index; ``v`` goes where the batch axis lands in
    ``x[(:, *idx)]`` (after the advanced-index axes when those are not adjacent)."""
    (x, v), (dx, dv) = vals, dims
    size = batch_size(vals, dims)
    xb = to_front(x, dx, size)
    parts, where = _index_parts(idx)
    bidx = (slice(None), *parts)
    target = np.empty(shape_of(xb), dtype=bool)[bidx].shape
    if dv is None:
        v = _align_unbatched(v, target, where)
    else:
        v = move(pad_batch(move(v, dv, 0), len(target) - 1), 0, where)
    return scatter_set_p(xb, v, idx=bidx), 0


def _align_unbatched(v: Any, target: tuple[int, ...], where: int) -> Any:
    """``v`` (shaped for ``x[idx]``) with a unit axis where the batch axis sits in ``target``."""
    vs = shape_of(v)
    rank = len(target) - 1
    if where == 0 or len(vs) <= rank - where:
        return v
    full = (1,) * (rank - len(vs)) + tuple(vs)
    return reshape_p(v, shape=(*full[:where], 1, *full[where:]))


scatter_set_p = primitive("scatter_set", _scatter_set_impl, batch=_scatter_set_batch)
defjvp(
    scatter_set_p,
    lambda x_dot, ans, x, v, idx: scatter_set_p(x_dot, 0.0, idx=idx),
    lambda v_dot, ans, x, v, idx: scatter_set_p(
        np.zeros(shape_of(ans), concrete(ans).dtype), v_dot, idx=idx
    ),
)
defvjp(
    scatter_set_p,
    lambda ct, ans, x, v, idx: scatter_set_p(ct, 0.0, idx=idx),
    lambda ct, ans, x, v, idx: getitem_p(ct, idx=idx),
)
defresiduals(scatter_set_p, ans=False)


def _scatter_extremal_impl(x: Any, v: Any, idx: Any, op: str) -> np.ndarray:
    out = np.array(x, copy=True)
    ufunc = np.minimum if op == "min" else np.maximum
    ufunc.at(out, idx, np.asarray(v).astype(out.dtype, copy=False))
    return out


def _scatter_extremal_batch(vals: list[Any], dims: list[Any], idx: Any, op: str) -> tuple[Any, int]:
    """``idx`` holds flat positions: the batch axis goes first in ``x``, ``v`` and the index."""
    (x, v), (dx, dv) = vals, dims
    size = batch_size(vals, dims)
    v = v if dv is None else move(v, dv, 0)
    return scatter_extremal_p(to_front(x, dx, size), v, idx=(slice(None), idx), op=op), 0


def _extremal_weights(ans: Any, x: Any, v: Any, idx: Any) -> tuple[Any, Any]:
    """JAX's tie rule: ``1/count`` for each contender (``x`` at a position, ``v_k`` for its
    positions) equal to the result there, 0 for the others (concrete, locally constant)."""
    a = concrete(ans)
    won = np.where(np.equal(concrete(v), getitem_p(a, idx=idx)), 1.0, 0.0)
    kept = np.where(np.equal(concrete(x), a), 1.0, 0.0)
    count = kept + scatter_add_p(won, idx=idx, shape=shape_of(a))
    return kept / count, won / getitem_p(count, idx=idx)


# min/max over every update of a position (x is flat, idx its positions, v one value per entry)
scatter_extremal_p = primitive(
    "scatter_extremal", _scatter_extremal_impl, batch=_scatter_extremal_batch
)
defjvp(
    scatter_extremal_p,
    lambda x_dot, ans, x, v, idx, op: E.multiply(x_dot, _extremal_weights(ans, x, v, idx)[0]),
    lambda v_dot, ans, x, v, idx, op: scatter_add_p(
        E.multiply(v_dot, _extremal_weights(ans, x, v, idx)[1]), idx=idx, shape=shape_of(ans)
    ),
)
defvjp(
    scatter_extremal_p,
    lambda ct, ans, x, v, idx, op: E.multiply(ct, _extremal_weights(ans, x, v, idx)[0]),
    lambda ct, ans, x, v, idx, op: E.multiply(
        getitem_p(ct, idx=idx), _extremal_weights(ans, x, v, idx)[1]
    ),
)


def _flat(x: Any, idx: Any, values: Any) -> tuple[Any, Any, np.ndarray]:
    """``x`` flattened, ``values`` broadcast to ``x[idx]`` and flattened, and the flat position
    in ``x`` of each of them."""
    shape = shape_of(x)
    pos = np.arange(int(np.prod(shape))).reshape(shape)[idx]
    v = values if shape_of(values) == pos.shape else broadcast_to(values, pos.shape)
    return reshape(x, (-1,)), reshape(v, (pos.size,)), pos.ravel()


def _rounds(pos: np.ndarray) -> np.ndarray:
    """For each entry, how many earlier entries have the same position (0 for the first)."""
    order = np.argsort(pos, kind="stable")
    sorted_pos = pos[order]
    first = np.concatenate([[True], sorted_pos[1:] != sorted_pos[:-1]])
    starts = np.flatnonzero(first)
    group_start = starts[np.cumsum(first) - 1]
    occurrence = np.empty_like(order)
    occurrence[order] = np.arange(len(pos)) - group_start
    return occurrence


def _repeats(idx: Any) -> bool:
    """Whether an index with integer arrays selects some position twice."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    arrays = [np.asarray(p) for p in parts if isinstance(p, (np.ndarray, list))]
    if not arrays:
        return False
    if len(arrays) == 1 and arrays[0].dtype == bool:
        return False
    flat = np.stack([a.ravel() for a in np.broadcast_arrays(*arrays)], axis=-1)
    return len(np.unique(flat, axis=0)) < len(flat)


class IndexUpdateRef:
    """``x.at[idx]``: the position of an update; its methods return the updated copy."""

    __slots__ = ("idx", "x")

    def __init__(self, x: Any, idx: Any):
        self.x = x
        self.idx = _static_index(idx)

    def get(
        self,
        *,
        indices_are_sorted: bool = False,
        unique_indices: bool = False,
        mode: str | None = None,
        fill_value: Any = None,
    ) -> Any:
        """``x[idx]``."""
        _check_mode(mode, fill_value)
        return getitem(self.x, self.idx)

    def set(
        self,
        values: Any,
        *,
        indices_are_sorted: bool = False,
        unique_indices: bool = False,
        mode: str | None = None,
    ) -> Any:
        """A copy of ``x`` with ``x[idx] = values``."""
        _check_mode(mode)
        return scatter_set_p(self.x, values, idx=self.idx)

    def add(
        self,
        values: Any,
        *,
        indices_are_sorted: bool = False,
        unique_indices: bool = False,
        mode: str | None = None,
    ) -> Any:
        """A copy of ``x`` with ``x[idx] += values`` (repeated indices accumulate)."""
        _check_mode(mode)
        target = np.shape(np.empty(shape_of(self.x), dtype=bool)[self.idx])
        v = values if shape_of(values) == target else broadcast_to(values, target)
        return E.add(self.x, scatter_add_p(v, idx=self.idx, shape=shape_of(self.x)))

    def subtract(self, values: Any, **kw: Any) -> Any:
        """A copy of ``x`` with ``x[idx] -= values``."""
        return self.add(E.negative(values), **kw)

    def multiply(self, values: Any, **kw: Any) -> Any:
        """A copy of ``x`` with ``x[idx] *= values``."""
        return self._combine(E.multiply, values, "multiply", **kw)

    mul = multiply

    def divide(self, values: Any, **kw: Any) -> Any:
        """A copy of ``x`` with ``x[idx] /= values``."""
        return self._combine(E.divide, values, "divide", **kw)

    def power(self, values: Any, **kw: Any) -> Any:
        """A copy of ``x`` with ``x[idx] **= values``."""
        return self._combine(E.power, values, "power", **kw)

    def min(self, values: Any, **kw: Any) -> Any:
        """A copy of ``x`` with ``x[idx] = minimum(x[idx], values)``."""
        return self._combine(E.minimum, values, "min", **kw)

    def max(self, values: Any, **kw: Any) -> Any:
        """A copy of ``x`` with ``x[idx] = maximum(x[idx], values)``."""
        return self._combine(E.maximum, values, "max", **kw)

    def apply(self, func: Callable[[Any], Any], **kw: Any) -> Any:
        """A copy of ``x`` with ``x[idx] = func(x[idx])``."""
        return self._combine(lambda a, _: func(a), None, "apply", **kw)

    def _combine(
        self,
        op: Callable[[Any, Any], Any],
        values: Any,
        name: str,
        mode: str | None = None,
        **_: Any,
    ) -> Any:
        _check_mode(mode)
        if _repeats(self.idx) and name in ("multiply", "min", "max"):
            x, v, pos = _flat(self.x, self.idx, values)
            if name == "multiply":  # one set per round of distinct positions
                occurrence = _rounds(pos)
                for r in range(int(occurrence.max()) + 1):
                    k = np.flatnonzero(occurrence == r)
                    p = pos[k]
                    x = scatter_set_p(
                        x, E.multiply(getitem_p(x, idx=p), getitem_p(v, idx=k)), idx=p
                    )
            else:
                x = scatter_extremal_p(x, v, idx=pos, op=name)
            return reshape(x, shape_of(self.x))
        if _repeats(self.idx):
            raise NotImplementedError(
                f"x.at[idx].{name}(...) with an index that selects a position more than once "
                "is supported by reference_impl for .add, .multiply, .min and .max only; "
                "use unique indices"
            )
        return scatter_set_p(self.x, op(getitem(self.x, self.idx), values), idx=self.idx)


def _check_mode(mode: str | None, fill_value: Any = None) -> None:
    if mode not in (None, "promise_in_bounds") or fill_value is not None:
        raise NotImplementedError(
            f"x.at[idx] with mode={mode!r} / fill_value={fill_value!r}: reference_impl only "
            "has in-bounds indexing (out-of-range indices raise IndexError)"
        )


class IndexUpdateHelper:
    """``x.at``: index it, ``x.at[idx]``, to get an :class:`IndexUpdateRef`."""

    __slots__ = ("x",)

    def __init__(self, x: Any):
        self.x = x

    def __getitem__(self, idx: Any) -> IndexUpdateRef:
        return IndexUpdateRef(self.x, idx)

    def __repr__(self) -> str:
        return f"_IndexUpdateHelper({self.x!r})"
