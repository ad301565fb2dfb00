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
``set(x, op(x[idx], v))``, exact when no position is repeated (a repeated position with
these raises, rather than give a number JAX would not). Out-of-range indices raise
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
    reshape_p,
    scatter_add_p,
    to_front,
)

__all__ = ["IndexUpdateHelper", "IndexUpdateRef", "scatter_set_p"]


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
        if _repeats(self.idx):
            raise NotImplementedError(
                f"x.at[idx].{name}(...) with an index that selects a position more than once "
                "is not supported by reference_impl (JAX combines the repeated updates); "
                "use unique indices, or .add for accumulation"
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
