"""Shape primitives (reshape, transpose, broadcasting, indexing, concatenation) and constructors.

All of them are linear, so each JVP applies the primitive to the tangent and each VJP is the
*adjoint* (transpose) map: reshape ↔ reshape back, transpose ↔ inverse permutation,
broadcast_to ↔ sum_to_shape, getitem ↔ scatter-add, concatenate ↔ slicing.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..array import STATE, Array, freeze
from ..primitives import (
    Primitive,
    defjvp_full,
    defjvp_linear,
    defresiduals,
    defvjp,
    defvjp_full,
    primitive,
)
from ..tracers import Tracer, concrete, shape_of


# --- batching (vmap): the batch axis of a batched value, and the rules of these primitives --------
def move(x: Any, src: int, dst: int) -> Any:
    """``moveaxis`` with the transpose primitive (differentiable at lower levels)."""
    return x if src == dst else moveaxis(x, src, dst)


def to_front(x: Any, d: int | None, size: int | None = None) -> Any:
    """The batch axis of ``x`` at position 0; an unbatched ``x`` is broadcast when ``size``."""
    if d is not None:
        return move(x, d, 0)
    if size is None:
        return x
    s = shape_of(x)
    return broadcast_to_p(reshape_p(x, shape=(1, *s)), shape=(size, *s))


def pad_batch(x: Any, rank: int) -> Any:
    """``x`` of shape ``(B, *s)`` as ``(B, 1, …, 1, *s)`` with ``rank`` axes after the batch
    (NumPy broadcasting aligns the per-example shapes from the right)."""
    s = shape_of(x)
    if len(s) - 1 >= rank:
        return x
    return reshape_p(x, shape=(s[0],) + (1,) * (rank + 1 - len(s)) + s[1:])


def batch_size(vals: list[Any], dims: list[Any]) -> int:
    """The number of examples: the length of the first batched value along its batch axis."""
    return next(shape_of(v)[d] for v, d in zip(vals, dims, strict=True) if d is not None)


def _reshape_batch(vals: list[Any], dims: list[Any], shape: tuple[int, ...]) -> tuple[Any, int]:
    x = move(vals[0], dims[0], 0)
    return reshape_p(x, shape=(shape_of(x)[0], *shape)), 0


def _transpose_batch(vals: list[Any], dims: list[Any], axes: tuple[int, ...]) -> tuple[Any, int]:
    (x,), (d,) = vals, dims
    return transpose_p(x, axes=(d, *[a + (a >= d) for a in axes])), 0


def _broadcast_to_batch(
    vals: list[Any], dims: list[Any], shape: tuple[int, ...]
) -> tuple[Any, int]:
    x = pad_batch(move(vals[0], dims[0], 0), len(shape))
    return broadcast_to_p(x, shape=(shape_of(x)[0], *shape)), 0


def _sum_to_shape_batch(
    vals: list[Any], dims: list[Any], shape: tuple[int, ...]
) -> tuple[Any, int]:
    x = move(vals[0], dims[0], 0)
    size, *s = shape_of(x)
    ones = (1,) * (len(s) - len(shape))  # the leading axes, summed as broadcast ones
    x = sum_to_shape(x, (size, *ones, *shape))
    return reshape_p(x, shape=(size, *shape)), 0


def _index_parts(idx: Any) -> tuple[tuple[Any, ...], int]:
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
    if not any(isinstance(p, (np.ndarray, list)) for p in flat):
        return tuple(flat), 0
    advanced = [
        i
        for i, p in enumerate(flat)
        if isinstance(p, (np.ndarray, list))
        or (isinstance(p, (int, np.integer)) and not isinstance(p, bool))
    ]
    if advanced == list(range(advanced[0], advanced[-1] + 1)):
        return tuple(flat), 0
    return tuple(flat), len(np.broadcast_shapes(*[np.shape(flat[i]) for i in advanced]))


def _getitem_batch(vals: list[Any], dims: list[Any], idx: Any) -> tuple[Any, int]:
    parts, ans_dim = _index_parts(idx)
    return getitem_p(move(vals[0], dims[0], 0), idx=(slice(None), *parts)), ans_dim


def _scatter_add_batch(
    vals: list[Any], dims: list[Any], idx: Any, shape: tuple[int, ...]
) -> tuple[Any, int]:
    (ct,), (d,) = vals, dims
    size = shape_of(ct)[d]
    parts, where = _index_parts(idx)
    return scatter_add_p(move(ct, d, where), idx=(slice(None), *parts), shape=(size, *shape)), 0


def _concatenate_batch(vals: list[Any], dims: list[Any], axis: int) -> tuple[Any, int]:
    size = batch_size(vals, dims)
    rank = len(shape_of(next(v for v, d in zip(vals, dims, strict=True) if d is not None))) - 1
    xs = [to_front(v, d, size) for v, d in zip(vals, dims, strict=True)]
    return concatenate_p(*xs, axis=axis % rank + 1), 0


# --- the primitives -------------------------------------------------------------------------------
reshape_p = primitive("reshape", lambda x, shape: np.reshape(x, shape), batch=_reshape_batch)
defjvp_linear(reshape_p, 0)
defvjp(reshape_p, lambda ct, ans, x, shape: reshape_p(ct, shape=shape_of(x)))

transpose_p = primitive("transpose", lambda x, axes: np.transpose(x, axes), batch=_transpose_batch)
defjvp_linear(transpose_p, 0)
defvjp(transpose_p, lambda ct, ans, x, axes: transpose_p(ct, axes=tuple(np.argsort(axes))))

broadcast_to_p = primitive(
    "broadcast_to", lambda x, shape: np.broadcast_to(x, shape), batch=_broadcast_to_batch
)
defjvp_linear(broadcast_to_p, 0)
defvjp(broadcast_to_p, lambda ct, ans, x, shape: sum_to_shape(ct, shape_of(x)))


def _sum_to_shape_impl(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
    )
    return np.reshape(np.sum(x, axis=axes), shape) if axes else np.reshape(x, shape)


# the adjoint of broadcasting ("unbroadcast"): sum over the broadcast axes
sum_to_shape_p = primitive("sum_to_shape", _sum_to_shape_impl, batch=_sum_to_shape_batch)
defjvp_linear(sum_to_shape_p, 0)
defvjp(sum_to_shape_p, lambda ct, ans, x, shape: broadcast_to_p(ct, shape=shape_of(x)))


def _getitem_impl(x: np.ndarray, idx: Any) -> np.ndarray:
    return np.asarray(x)[idx]


def _is_basic(idx: Any) -> bool:
    """Basic indexing (integers, slices, None, ...) selects each element at most once."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


def _scatter_add_impl(ct: np.ndarray, idx: Any, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=np.result_type(ct, np.float64))
    if _is_basic(idx):  # no repeated positions: a plain assignment, much faster than add.at
        out[idx] = ct
    else:  # integer arrays may repeat a position: its cotangents must accumulate
        np.add.at(out, idx, ct)
    return out


# x[idx]; its adjoint adds the cotangent into a zero array at idx (repeated indices accumulate)
getitem_p = primitive("getitem", _getitem_impl, batch=_getitem_batch)
defjvp_linear(getitem_p, 0)
defvjp(getitem_p, lambda ct, ans, x, idx: scatter_add_p(ct, idx=idx, shape=shape_of(x)))

scatter_add_p: Primitive = primitive("scatter_add", _scatter_add_impl, batch=_scatter_add_batch)
defjvp_linear(scatter_add_p, 0)
defvjp(scatter_add_p, lambda ct, ans, x, idx, shape: getitem_p(ct, idx=idx))


def _concatenate_vjp(ct: Any, ans: Any, *xs: Any, axis: int) -> list[Any]:
    bounds = np.cumsum([0] + [shape_of(x)[axis] for x in xs])
    ax = axis % len(shape_of(ans))
    lead = (slice(None),) * ax
    return [
        getitem_p(ct, idx=(*lead, slice(int(a), int(b)))) for a, b in itertools.pairwise(bounds)
    ]


def _concatenate_jvp(dots: list[Any], ans: Any, *xs: Any, axis: int) -> Any:
    parts = [d if d is not None else np.zeros(shape_of(x)) for d, x in zip(dots, xs, strict=True)]
    return concatenate_p(*parts, axis=axis)


concatenate_p = primitive(
    "concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis), batch=_concatenate_batch
)
defjvp_full(concatenate_p, _concatenate_jvp)
defvjp_full(concatenate_p, _concatenate_vjp)


# --- user-facing functions --------------------------------------------------------------------
def reshape(x: Any, shape: Any, order: str = "C") -> Any:
    if order != "C":
        raise NotImplementedError("reshape supports only order='C'")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if -1 in shape:
        shape = np.empty(shape_of(x), dtype=np.int8).reshape(shape).shape
    return reshape_p(x, shape=tuple(int(s) for s in shape))


def transpose(x: Any, axes: Any = None) -> Any:
    nd = len(shape_of(x))
    axes = tuple(range(nd))[::-1] if axes is None else tuple(int(a) % nd for a in axes)
    return transpose_p(x, axes=axes)


def swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    perm = list(range(len(shape_of(x))))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(x, perm)


def moveaxis(x: Any, source: int, destination: int) -> Any:
    nd = len(shape_of(x))
    perm = [i for i in range(nd) if i != source % nd]
    perm.insert(destination % nd, source % nd)
    return transpose(x, perm)


def broadcast_to(x: Any, shape: Any) -> Any:
    shape = tuple(shape)
    return x if shape_of(x) == shape else broadcast_to_p(x, shape=shape)


def sum_to_shape(x: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``x`` over the axes along which an array of ``shape`` was broadcast to ``x.shape``."""
    return x if shape_of(x) == tuple(shape) else sum_to_shape_p(x, shape=tuple(shape))


def ravel(x: Any) -> Any:
    return reshape(x, (-1,))


def expand_dims(x: Any, axis: Any) -> Any:
    return reshape(x, np.expand_dims(np.empty(shape_of(x), dtype=np.int8), axis).shape)


def squeeze(x: Any, axis: Any = None) -> Any:
    return reshape(x, np.squeeze(np.empty(shape_of(x), dtype=np.int8), axis).shape)


def _static_index(idx: Any) -> Any:
    """Indices are not differentiated: replace traced integer arrays by their values."""
    if isinstance(idx, tuple):
        return tuple(_static_index(i) for i in idx)
    if isinstance(idx, Tracer):
        return np.asarray(concrete(idx))
    if isinstance(idx, list):
        return np.asarray(idx)
    return idx


def getitem(x: Any, idx: Any) -> Any:
    return getitem_p(x, idx=_static_index(idx))


def concatenate(arrays: Any, axis: int = 0) -> Any:
    return concatenate_p(*arrays, axis=axis)


def stack(arrays: Any, axis: int = 0) -> Any:
    arrays = list(arrays)
    nd = len(shape_of(arrays[0])) + 1
    return concatenate([expand_dims(a, axis % nd) for a in arrays], axis=axis % nd)


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """``x[..., i, i + offset]`` taken over ``axis1``, ``axis2``; the diagonal becomes the last
    axis (``np.diagonal``'s convention)."""
    nd = len(shape_of(x))
    a1, a2 = axis1 % nd, axis2 % nd
    if a1 == a2:
        raise ValueError(f"diagonal: axis1 and axis2 must differ, got {axis1} and {axis2}")
    if (a1, a2) != (nd - 2, nd - 1):
        x = transpose(x, [i for i in range(nd) if i not in (a1, a2)] + [a1, a2])
    n, m = shape_of(x)[-2:]
    k = np.arange(max(0, min(n + min(offset, 0), m - max(offset, 0))))
    return getitem(x, (..., k - min(offset, 0), k + max(offset, 0)))


def diag(v: Any, k: int = 0) -> Any:
    """The diagonal of a matrix, or the square matrix with vector ``v`` on its diagonal."""
    if len(shape_of(v)) == 2:
        return diagonal(v, k)
    if len(shape_of(v)) != 1:
        raise ValueError(f"diag expects a 1-D or 2-D array, got shape {shape_of(v)}")
    n = shape_of(v)[0] + abs(k)
    i = np.arange(shape_of(v)[0])
    return scatter_add_p(v, idx=(i - min(k, 0), i + max(k, 0)), shape=(n, n))


# --- constructors: not differentiable, they return plain NumPy arrays --------------------------
def _float(dtype: Any) -> Any:
    return np.float64 if dtype is None else dtype


def zeros(shape: Any, dtype: Any = None) -> np.ndarray:
    return np.zeros(shape, _float(dtype))


def ones(shape: Any, dtype: Any = None) -> np.ndarray:
    return np.ones(shape, _float(dtype))


def full(shape: Any, fill_value: Any, dtype: Any = None) -> np.ndarray:
    return np.full(shape, concrete(fill_value), dtype)


def eye(n: int, m: int | None = None, k: int = 0, dtype: Any = None) -> np.ndarray:
    return np.eye(n, m, k, dtype=_float(dtype))


def zeros_like(x: Any, dtype: Any = None) -> np.ndarray:
    return np.zeros_like(concrete(x), dtype=dtype)


def ones_like(x: Any, dtype: Any = None) -> np.ndarray:
    return np.ones_like(concrete(x), dtype=dtype)


def linspace(
    start: float, stop: float, num: int = 50, endpoint: bool = True, dtype: Any = None
) -> np.ndarray:
    return np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype)


def arange(*args: Any, dtype: Any = None) -> np.ndarray:
    return np.arange(*args, dtype=dtype)


def _has_tracer(x: Any) -> bool:
    if isinstance(x, Tracer):
        return True
    return isinstance(x, (list, tuple)) and any(_has_tracer(e) for e in x)


def array(x: Any, dtype: Any = None) -> Any:
    """Like ``np.array``; a (nested) list holding traced values is stacked differentiably."""
    if isinstance(x, Tracer):
        return x
    if isinstance(x, (list, tuple)) and _has_tracer(x):
        return stack([array(e) for e in x])
    return np.array(x, dtype=dtype)


def asarray(x: Any, dtype: Any = None) -> Any:
    """Like ``jnp.asarray``. Called by the user, it never hands back the caller's own (mutable)
    array: a NumPy array is copied unless it is already an immutable engine result."""
    if isinstance(x, Tracer) or (isinstance(x, (list, tuple)) and _has_tracer(x)):
        return array(x)
    if STATE.depth:  # inside a transformation: no copy
        return np.asarray(x, dtype=dtype)
    if type(x) is Array and not x.flags.writeable and (dtype is None or x.dtype == dtype):
        return x
    return freeze(np.array(x, dtype=dtype, copy=True))


# linear maps: their VJPs read only shapes, so the tape keeps no values for them
for _p in (
    reshape_p,
    transpose_p,
    broadcast_to_p,
    sum_to_shape_p,
    getitem_p,
    scatter_add_p,
    concatenate_p,
):
    defresiduals(_p, ans=False)
