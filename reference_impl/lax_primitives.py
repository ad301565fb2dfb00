"""``lax`` primitives: ``stop_gradient``, ``dynamic_slice``, ``dynamic_update_slice``.

Each primitive has its implementation, JVP, VJP and batching rule side by side. Start indices
are arguments (so ``vmap`` can batch them); as in JAX a negative start counts from the end and
every start is then clamped so that the slice fits: ``s ← clip(s, 0, dim − size)``.

* ``dynamic_slice(x, s, sizes) = x[s_0 : s_0 + n_0, …]``: linear in ``x``; its adjoint puts the
  cotangent into zeros at the same place, ``x̄ = dynamic_update_slice(0, ct, s)``.
* ``dynamic_update_slice(x, u, s)``: ``x`` with ``u`` written at ``s``; linear in ``(x, u)``
  jointly: ``x̄ = dynamic_update_slice(ct, 0, s)``, ``ū = dynamic_slice(ct, s, shape(u))``.
* ``stop_gradient(x) = x`` with derivative zero (JVP 0, VJP 0), batched as the identity.

Integer start indices get zero tangents and cotangents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .numpy.at import scatter_set_p
from .numpy.shape_ops import batch_size, getitem_p, squeeze, to_front
from .primitives import Primitive, defjvp, defresiduals, defvjp, primitive
from .tracers import Tracer, concrete, shape_of
from .tree_util import tree_map

__all__ = [
    "dynamic_index_in_dim",
    "dynamic_slice",
    "dynamic_slice_in_dim",
    "dynamic_update_slice",
    "stop_gradient",
]


def _starts(shape: Sequence[int], starts: Sequence[Any], sizes: Sequence[int]) -> list[int]:
    """JAX's start indices: negative ones wrapped once, then clamped so the slice fits."""
    out = []
    for n, s, k in zip(shape, starts, sizes, strict=True):
        s = int(concrete(s))
        s = s + n if s < 0 else s
        out.append(min(max(s, 0), n - k))
    return out


def _zeros(x: Any) -> np.ndarray:
    v = concrete(x)
    return np.zeros(shape_of(v), getattr(v, "dtype", np.float64))


def _int_zero(ct_or_dot: Any, ans: Any, *args: Any, **params: Any) -> np.ndarray:
    return np.zeros((), dtype=np.float64)  # a start index has no derivative


# --- stop_gradient -------------------------------------------------------------------------------
def _stop_impl(x: Any) -> Any:
    return x


stop_gradient_p: Primitive = primitive(
    "stop_gradient", _stop_impl, batch=lambda vals, dims: (stop_gradient_p(vals[0]), dims[0])
)
defjvp(stop_gradient_p, lambda x_dot, ans, x: _zeros(x_dot))
defvjp(stop_gradient_p, lambda ct, ans, x: _zeros(ct))
defresiduals(stop_gradient_p, ans=False)


def stop_gradient(x: Any) -> Any:
    """``x`` (a pytree) with zero derivative under every transformation (``lax.stop_gradient``)."""
    return tree_map(lambda leaf: stop_gradient_p(leaf) if isinstance(leaf, Tracer) else leaf, x)


# --- dynamic_slice -------------------------------------------------------------------------------
def _dynamic_slice_impl(x: Any, *starts: Any, sizes: tuple[int, ...]) -> np.ndarray:
    x = np.asarray(x)
    s = _starts(x.shape, starts, sizes)
    return x[tuple(slice(a, a + k) for a, k in zip(s, sizes, strict=True))]


def _dynamic_slice_batch(
    vals: list[Any], dims: list[Any], sizes: tuple[int, ...]
) -> tuple[Any, int]:

    x, starts = vals[0], vals[1:]
    size = batch_size(vals, dims)
    xb = to_front(x, dims[0], size)
    if all(d is None for d in dims[1:]):  # one slice for all: the batch axis rides along
        return dynamic_slice_p(xb, 0, *starts, sizes=(size, *sizes)), 0
    return getitem_p(xb, idx=_batched_index(xb, starts, dims[1:], sizes)), 0


dynamic_slice_p: Primitive = primitive(
    "dynamic_slice", _dynamic_slice_impl, batch=_dynamic_slice_batch
)
defjvp(
    dynamic_slice_p,
    lambda x_dot, ans, x, *starts, sizes: dynamic_slice_p(x_dot, *starts, sizes=sizes),
    *([_int_zero] * 32),
)
defvjp(
    dynamic_slice_p,
    lambda ct, ans, x, *starts, sizes: dynamic_update_slice_p(_zeros(x), ct, *starts),
    *([_int_zero] * 32),
)
defresiduals(dynamic_slice_p, ans=False, args=range(1, 33))


def _batched_index(
    xb: Any, starts: Sequence[Any], dims: Sequence[Any], sizes: Sequence[int]
) -> tuple[Any, ...]:
    """An advanced index into ``xb`` (batch axis first) selecting each example's slice:
    ``xb[b, s_0[b] + i_0, s_1[b] + i_1, …]`` with every start clamped per example."""
    shape = shape_of(xb)
    size, rank = shape[0], len(sizes)
    cols = []
    for k, (s, d) in enumerate(zip(starts, dims, strict=True)):
        s = np.asarray(concrete(s)).astype(np.int64)
        s = np.broadcast_to(np.moveaxis(s, d, 0) if d is not None else s, (size,))
        n = shape[k + 1]
        s = np.clip(np.where(s < 0, s + n, s), 0, n - sizes[k])
        cols.append(s)
    b = np.arange(size).reshape((size,) + (1,) * rank)
    idx = [b]
    for k in range(rank):
        grid = np.arange(sizes[k]).reshape((1,) * (k + 1) + (sizes[k],) + (1,) * (rank - k - 1))
        idx.append(cols[k].reshape((size,) + (1,) * rank) + grid)
    return tuple(idx)


def dynamic_slice(operand: Any, start_indices: Sequence[Any], slice_sizes: Sequence[int]) -> Any:
    """``operand[s_0 : s_0 + n_0, …]`` with run-time starts ``s`` (``lax.dynamic_slice``)."""
    if len(start_indices) != len(shape_of(operand)) or len(slice_sizes) != len(start_indices):
        raise TypeError(
            f"dynamic_slice: operand of rank {len(shape_of(operand))} needs as "
            f"many start indices and slice sizes, got {len(start_indices)} and "
            f"{len(slice_sizes)}"
        )
    return dynamic_slice_p(operand, *start_indices, sizes=tuple(int(k) for k in slice_sizes))


def dynamic_slice_in_dim(operand: Any, start_index: Any, slice_size: int, axis: int = 0) -> Any:
    """``dynamic_slice`` along one axis, the whole of the others."""
    shape = shape_of(operand)
    axis %= len(shape)
    starts = [0] * len(shape)
    starts[axis] = start_index
    sizes = list(shape)
    sizes[axis] = slice_size
    return dynamic_slice(operand, starts, sizes)


def dynamic_index_in_dim(operand: Any, index: Any, axis: int = 0, keepdims: bool = True) -> Any:
    """The ``index``-th entry along ``axis`` (``lax.dynamic_index_in_dim``)."""
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    if keepdims:
        return out
    return squeeze(out, axis % len(shape_of(operand)))


# --- dynamic_update_slice ------------------------------------------------------------------------
def _dynamic_update_slice_impl(x: Any, u: Any, *starts: Any) -> np.ndarray:
    x, u = np.asarray(x), np.asarray(u)
    s = _starts(x.shape, starts, u.shape)
    out = np.array(x, dtype=np.result_type(x, u), copy=True)
    out[tuple(slice(a, a + k) for a, k in zip(s, u.shape, strict=True))] = u
    return out


def _dynamic_update_slice_batch(vals: list[Any], dims: list[Any]) -> tuple[Any, int]:

    x, u, starts = vals[0], vals[1], vals[2:]
    size = batch_size(vals, dims)
    xb, ub = to_front(x, dims[0], size), to_front(u, dims[1], size)
    if all(d is None for d in dims[2:]):
        return dynamic_update_slice_p(xb, ub, 0, *starts), 0
    idx = _batched_index(xb, starts, dims[2:], shape_of(ub)[1:])
    return scatter_set_p(xb, ub, idx=idx), 0


dynamic_update_slice_p: Primitive = primitive(
    "dynamic_update_slice", _dynamic_update_slice_impl, batch=_dynamic_update_slice_batch
)
defjvp(
    dynamic_update_slice_p,
    lambda x_dot, ans, x, u, *starts: dynamic_update_slice_p(x_dot, _zeros(u), *starts),
    lambda u_dot, ans, x, u, *starts: dynamic_update_slice_p(_zeros(ans), u_dot, *starts),
    *([_int_zero] * 32),
)
defvjp(
    dynamic_update_slice_p,
    lambda ct, ans, x, u, *starts: dynamic_update_slice_p(ct, _zeros(u), *starts),
    lambda ct, ans, x, u, *starts: dynamic_slice_p(ct, *starts, sizes=shape_of(u)),
    *([_int_zero] * 32),
)
defresiduals(dynamic_update_slice_p, ans=False, args=range(2, 34))


def dynamic_update_slice(operand: Any, update: Any, start_indices: Sequence[Any]) -> Any:
    """``operand`` with ``update`` written at run-time starts ``s``
    (``lax.dynamic_update_slice``); ``operand`` itself is unchanged."""
    if len(start_indices) != len(shape_of(operand)) or len(shape_of(update)) != len(start_indices):
        raise TypeError(
            f"dynamic_update_slice: operand of rank {len(shape_of(operand))} and "
            f"update of rank {len(shape_of(update))} need one start index per axis, "
            f"got {len(start_indices)}"
        )
    return dynamic_update_slice_p(operand, update, *start_indices)
