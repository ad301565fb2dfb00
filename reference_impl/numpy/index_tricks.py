"""Indexing helpers: ``take`` and ``take_along_axis`` (gathers by ``getitem``, whose VJP
scatter-adds, so repeated indices accumulate), ``r_`` and ``c_`` (concatenation by index
notation) and a ``linspace`` differentiable in its end points. All are compositions: no new
rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import Primitive, defjvp, defresiduals, defvjp, primitive
from ..tracers import Tracer, concrete, shape_of
from . import shape_ops as S


def _axis(axis: int | np.integer, nd: int, name: str) -> int:
    if not -nd <= int(axis) < nd:
        raise ValueError(f"{name}: axis {axis} is out of bounds for an array with {nd} dimensions")
    return int(axis) % nd


def take(a: Any, indices: Any, axis: int | None = None) -> Any:
    """``a`` indexed by the integer array ``indices`` along ``axis`` (the flattened array when
    None); repeated indices accumulate their cotangents."""
    if axis is None:
        a, axis = S.ravel(a), 0
    ax = _axis(axis, len(shape_of(a)), "take")
    return S.getitem(a, (slice(None),) * ax + (np.asarray(concrete(indices)),))


def _grids(idx: Any, axis: int, nd: int) -> tuple[Any, ...]:
    """The full index ``arr[grids]`` of ``take_along_axis``: ``idx`` on ``axis``, ranges
    elsewhere (broadcast against each other)."""
    return tuple(
        idx if d == axis else np.arange(n).reshape([-1 if k == d else 1 for k in range(nd)])
        for d, n in enumerate(np.shape(idx)[:nd])
    )


def _take_along_impl(arr: Any, idx: Any, axis: int) -> np.ndarray:
    arr, idx = np.asarray(arr), np.asarray(idx)
    shape = np.broadcast_shapes(
        (*arr.shape[:axis], 1, *arr.shape[axis + 1 :]),
        (*idx.shape[:axis], 1, *idx.shape[axis + 1 :]),
    )
    idx = np.broadcast_to(idx, shape[:axis] + idx.shape[axis : axis + 1] + shape[axis + 1 :])
    return arr[_grids(idx, axis, arr.ndim)]


def _put_along_add_impl(ct: Any, idx: Any, axis: int, shape: tuple[int, ...]) -> np.ndarray:
    ct = np.asarray(ct)
    out = np.zeros(shape, dtype=np.result_type(ct, np.float64))
    idx = np.broadcast_to(np.asarray(idx), ct.shape)
    np.add.at(out, _grids(idx, axis, len(shape)), ct)
    return out


def _along_axis_batch(
    vals: list[Any], dims: list[Any], axis: int, **params: Any
) -> tuple[Any, int]:
    """Both operands with the batch axis in front; the axis shifted past it."""
    size = S.batch_size(vals, dims)
    x, idx = (S.to_front(v, d, size) for v, d in zip(vals, dims, strict=True))
    if "shape" in params:
        return put_along_axis_add_p(x, idx, axis=axis + 1, shape=(size, *params["shape"])), 0
    return take_along_axis_p(x, idx, axis=axis + 1), 0


# out[..., i, ...] = arr[..., idx[..., i, ...], ...]: linear in arr; the adjoint scatter-adds
# (repeated indices accumulate). The indices are an argument, so vmap can batch them.
take_along_axis_p = primitive("take_along_axis", _take_along_impl, batch=_along_axis_batch)
defjvp(
    take_along_axis_p, lambda x_dot, ans, arr, idx, axis: take_along_axis_p(x_dot, idx, axis=axis)
)
defvjp(
    take_along_axis_p,
    lambda ct, ans, arr, idx, axis: put_along_axis_add_p(ct, idx, axis=axis, shape=shape_of(arr)),
)
defresiduals(take_along_axis_p, ans=False, args=(1,))

put_along_axis_add_p: Primitive = primitive(
    "put_along_axis_add", _put_along_add_impl, batch=_along_axis_batch
)
defjvp(
    put_along_axis_add_p,
    lambda ct_dot, ans, ct, idx, axis, shape: put_along_axis_add_p(
        ct_dot, idx, axis=axis, shape=shape
    ),
)
defvjp(
    put_along_axis_add_p, lambda ct, ans, c, idx, axis, shape: take_along_axis_p(ct, idx, axis=axis)
)
defresiduals(put_along_axis_add_p, ans=False, args=(1,))


def take_along_axis(arr: Any, indices: Any, axis: int | None) -> Any:
    """``out[..., i, ...] = arr[..., indices[..., i, ...], ...]`` (e.g. with ``argsort``)."""
    if axis is None:
        arr, axis = S.ravel(arr), 0
        indices = S.ravel(indices) if isinstance(indices, Tracer) else np.ravel(indices)
    shape = shape_of(arr)
    ax = _axis(axis, len(shape), "take_along_axis")
    idx = concrete(indices)
    if not isinstance(idx, Tracer):
        idx = np.asarray(idx)
    if len(shape_of(idx)) != len(shape):
        raise ValueError(
            f"take_along_axis: indices have {len(shape_of(idx))} dimensions but "
            f"the array has {len(shape)}"
        )
    return take_along_axis_p(arr, idx, axis=ax)


def concatenate(arrays: Any, axis: int | None = 0) -> Any:
    """Join arrays along an existing axis (the flattened arrays when ``axis`` is None)."""
    arrays = [S.asarray(a) for a in arrays]
    if axis is None:
        return S.concatenate([S.ravel(a) for a in arrays], 0)
    return S.concatenate(arrays, _axis(axis, len(shape_of(arrays[0])), "concatenate"))


def _piece(item: Any) -> Any:
    """A slice ``start:stop:step`` is ``arange`` (``linspace`` for a complex step ``nj``)."""
    if isinstance(item, slice):
        start = 0 if item.start is None else item.start
        step = 1 if item.step is None else item.step
        if isinstance(step, complex):
            return np.linspace(start, item.stop, int(abs(step)))
        return np.arange(start, item.stop, step)
    if isinstance(item, str):
        raise NotImplementedError(f"r_/c_: the directive {item!r} is not supported")
    return S.asarray(item)


class _RClass:
    """``r_[a, b, 1:4]``: the pieces (at least 1-D) joined along the first axis."""

    def __getitem__(self, key: Any) -> Any:
        items = key if isinstance(key, tuple) else (key,)
        pieces = [_piece(i) for i in items]
        return concatenate([S.reshape(p, (1,)) if not shape_of(p) else p for p in pieces], 0)


class _CClass:
    """``c_[a, b]``: 1-D pieces become columns, and the pieces are joined along the last axis."""

    def __getitem__(self, key: Any) -> Any:
        items = key if isinstance(key, tuple) else (key,)
        pieces = [_piece(i) for i in items]
        pieces = [S.reshape(p, (-1, 1)) if len(shape_of(p)) < 2 else p for p in pieces]
        return concatenate(pieces, -1)


r_ = _RClass()
c_ = _CClass()


def linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
) -> Any:
    """``num`` evenly spaced values ``start + (stop − start)·t``, ``t = 0, 1/(num−1), …, 1``;
    differentiable in ``start`` and ``stop``. Plain inputs give a plain NumPy array."""
    if not isinstance(start, Tracer) and not isinstance(stop, Tracer):
        # NumPy's overloads need a literal retstep; ours is a runtime bool, passed on as given
        return np.linspace(  # type: ignore[call-overload]
            start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype, axis=axis
        )
    if axis != 0:
        raise NotImplementedError("linspace of traced end points: only axis=0")
    div = (num - 1) if endpoint else num
    t = np.arange(num, dtype=float) / div if div > 0 else np.zeros(num)
    nd = max(np.ndim(concrete(start)), np.ndim(concrete(stop)))
    t = t.reshape((num,) + (1,) * nd)
    delta = stop - start
    out = start + delta * t
    if endpoint and num > 1:  # the last value is exactly stop, as in NumPy
        rest = shape_of(out)[1:]
        last = S.reshape(S.broadcast_to(S.asarray(stop), rest), (1, *rest))
        out = concatenate([S.getitem(out, slice(0, num - 1)), last], 0)
    step = delta / div if div > 0 else np.nan
    return (out, step) if retstep else out
