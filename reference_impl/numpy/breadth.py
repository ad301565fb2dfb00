"""More of ``jax.numpy``: index constructors, ``meshgrid``, ``full_like``, ``nan*`` reductions,
``bincount`` and ``unique`` (JAX's ``size=``), all compositions of existing primitives.

* ``nansum(x) = Σ where(isnan x, 0, x)``; ``nanmean = nansum / #non-NaN``; ``nanmax`` is
  ``max`` with NaN read as −∞ (the derivative goes to the maximum, never to a NaN);
  ``nanvar``/``nanstd`` from ``nanmean``.
* ``meshgrid``: each output is one input reshaped and broadcast (linear: the VJP sums back).
* ``bincount(x, weights)``: a scatter-add of the weights at positions ``x`` (differentiable in
  the weights, not in the integer ``x``).
* ``vectorize``: the function ``vmap``-ed over the broadcast loop dimensions (flattened).
* ``unique``: integer and sorted outputs, not differentiable; with ``size=n`` the result is
  cut or padded to length ``n`` with ``fill_value`` (default: the smallest value), as in JAX.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tracers import Tracer, concrete, shape_of
from ..tree_util import tree_map
from . import elementwise as E
from . import reductions as R
from . import shape_ops as S
from .shape_ops import scatter_add_p

__all__ = [
    "bincount",
    "full_like",
    "identity",
    "meshgrid",
    "nanargmax",
    "nanargmin",
    "nanmax",
    "nanmean",
    "nanmin",
    "nanprod",
    "nanstd",
    "nansum",
    "nanvar",
    "tril_indices",
    "tril_indices_from",
    "triu_indices",
    "triu_indices_from",
    "unique",
]


def triu_indices(n: int, k: int = 0, m: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the upper triangle (diagonal offset ``k``)."""
    return np.triu_indices(n, k, m)


def tril_indices(n: int, k: int = 0, m: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the lower triangle (diagonal offset ``k``)."""
    return np.tril_indices(n, k, m)


def triu_indices_from(arr: Any, k: int = 0) -> tuple[np.ndarray, np.ndarray]:
    n, m = shape_of(arr)[-2:]
    return np.triu_indices(n, k, m)


def tril_indices_from(arr: Any, k: int = 0) -> tuple[np.ndarray, np.ndarray]:
    n, m = shape_of(arr)[-2:]
    return np.tril_indices(n, k, m)


def identity(n: int, dtype: Any = None) -> np.ndarray:
    """The ``n × n`` identity matrix."""
    return np.identity(n, dtype=dtype)


def full_like(a: Any, fill_value: Any, dtype: Any = None, shape: Any = None) -> Any:
    """An array of ``a``'s shape (or ``shape``) filled with ``fill_value`` (differentiable in
    a traced ``fill_value``)."""
    shp = (
        shape_of(a)
        if shape is None
        else tuple(np.atleast_1d(shape))
        if np.ndim(shape)
        else (int(shape),)
    )
    if isinstance(fill_value, Tracer):
        return S.broadcast_to(fill_value, shp)
    c = concrete(a)
    dt = dtype if dtype is not None else getattr(c, "dtype", np.result_type(c))
    return np.full(shp, fill_value, dtype=dt)


def meshgrid(*xs: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> list[Any]:
    """Coordinate arrays from 1-d coordinate vectors (``indexing='xy'``: the first two axes
    swapped, as in NumPy and JAX)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    for i, x in enumerate(xs):
        if len(shape_of(x)) != 1:
            raise TypeError(f"meshgrid: argument {i} has shape {shape_of(x)}; 1-d arrays needed")
    sizes = [shape_of(x)[0] for x in xs]
    nd = len(xs)
    pos = list(range(nd))
    if indexing == "xy" and nd > 1:
        pos[0], pos[1] = 1, 0
    full = [0] * nd
    for i, n in enumerate(sizes):
        full[pos[i]] = n
    out = []
    for i, x in enumerate(xs):
        shape = [1] * nd
        shape[pos[i]] = sizes[i]
        y = S.reshape(x, tuple(shape))
        out.append(y if sparse else S.broadcast_to(y, tuple(full)))
    return out


# --- NaN-ignoring reductions --------------------------------------------------------------------
def _isnan(x: Any) -> Any:
    return np.isnan(concrete(x))


def nansum(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``Σ`` of the entries that are not NaN."""
    return R.sum(E.where(_isnan(a), 0.0, a), axis, keepdims=keepdims)


def nanprod(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``Π`` of the entries that are not NaN."""
    return R.prod(E.where(_isnan(a), 1.0, a), axis, keepdims=keepdims)


def _count(a: Any, axis: Any, keepdims: bool) -> Any:
    return np.sum(~_isnan(a), axis=axis, keepdims=keepdims)


def nanmean(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """The mean of the entries that are not NaN (NaN where there are none)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return nansum(a, axis, keepdims) / _count(a, axis, keepdims)


def nanvar(a: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
    """The variance of the entries that are not NaN."""
    m = nanmean(a, axis, keepdims=True)
    d = E.where(_isnan(a), 0.0, a - m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return R.sum(d * d, axis, keepdims=keepdims) / (_count(a, axis, keepdims) - ddof)


def nanstd(a: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
    """The standard deviation of the entries that are not NaN."""
    return E.sqrt(nanvar(a, axis, ddof, keepdims))


def nanmax(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``max`` ignoring NaN (NaN where every entry is NaN)."""
    nan = _isnan(a)
    out = R.max(E.where(nan, -np.inf, a), axis, keepdims=keepdims)
    return E.where(np.all(nan, axis=axis, keepdims=keepdims), np.nan, out)


def nanmin(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``min`` ignoring NaN (NaN where every entry is NaN)."""
    nan = _isnan(a)
    out = R.min(E.where(nan, np.inf, a), axis, keepdims=keepdims)
    return E.where(np.all(nan, axis=axis, keepdims=keepdims), np.nan, out)


def nanargmax(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    c = concrete(a)
    return np.argmax(np.where(np.isnan(c), -np.inf, c), axis=axis, keepdims=keepdims)


def nanargmin(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    c = concrete(a)
    return np.argmin(np.where(np.isnan(c), np.inf, c), axis=axis, keepdims=keepdims)


# --- counting -----------------------------------------------------------------------------------
def bincount(x: Any, weights: Any = None, minlength: int = 0, *, length: int | None = None) -> Any:
    """``out[i] = Σ_{j: x_j = i} w_j`` (``w = 1`` without weights); ``length`` fixes the size
    (JAX's argument: larger values are dropped)."""
    xi = np.asarray(concrete(x))
    if xi.ndim != 1 or not np.issubdtype(xi.dtype, np.integer):
        raise TypeError(f"bincount: x must be a 1-d integer array, got {xi.dtype}{list(xi.shape)}")
    n = int(length) if length is not None else max(int(minlength), int(xi.max(initial=-1)) + 1)
    keep = (xi >= 0) & (xi < n)
    if weights is None:
        return np.bincount(xi[keep], minlength=n)[:n]
    w = S.getitem(weights, (np.nonzero(keep)[0],)) if not keep.all() else weights
    return scatter_add_p(w, idx=(xi[keep],), shape=(n,))


def unique(
    ar: Any,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: int | None = None,
    *,
    equal_nan: bool = True,
    size: int | None = None,
    fill_value: Any = None,
) -> Any:
    """The sorted distinct values (not differentiable); with ``size``, cut or padded to that
    length with ``fill_value`` (default: the smallest value), as ``jnp.unique``."""
    c = np.asarray(concrete(ar))
    # NumPy's overloads need literal return_* flags; ours are runtime bools, passed on as given
    res = np.unique(  # type: ignore[call-overload]
        c,
        return_index=return_index,
        return_inverse=return_inverse,
        return_counts=return_counts,
        axis=axis,
        equal_nan=equal_nan,
    )
    res = list(res) if isinstance(res, tuple) else [res]
    if size is not None:
        vals = res[0]
        ax = 0 if axis is None else axis
        k = vals.shape[ax]
        fill = np.min(vals, axis=ax, keepdims=True) if fill_value is None else fill_value
        if k >= size:
            res[0] = np.take(vals, np.arange(size), axis=ax)
        else:
            pad_shape = list(vals.shape)
            pad_shape[ax] = size - k
            res[0] = np.concatenate(
                [vals, np.broadcast_to(fill, pad_shape).astype(vals.dtype)], axis=ax
            )
        kinds = ["values"] + [
            k
            for k, f in (
                ("index", return_index),
                ("inverse", return_inverse),
                ("counts", return_counts),
            )
            if f
        ]
        for j, kind in enumerate(kinds):
            if kind in ("index", "counts"):
                arr = res[j]
                pad = arr[0] if kind == "index" and fill_value is None and len(arr) else 0
                res[j] = (
                    arr[:size]
                    if len(arr) >= size
                    else np.concatenate([arr, np.full(size - len(arr), pad, arr.dtype)])
                )
    return res[0] if len(res) == 1 else tuple(res)


# --- vectorize ----------------------------------------------------------------------------------
def _parse_signature(signature: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """``'(m,n),(n)->(m)'`` → the core dimension names of each input and output."""
    import re

    def groups(text: str) -> list[tuple[str, ...]]:
        found = re.findall(r"\(([^()]*)\)", text)
        return [tuple(d.strip() for d in g.split(",") if d.strip()) for g in found]

    if "->" not in signature:
        raise ValueError(f"vectorize: not a valid gufunc signature: {signature!r}")
    ins, outs = signature.split("->")
    return groups(ins), groups(outs)


def vectorize(pyfunc: Any, *, excluded: Any = frozenset(), signature: str | None = None) -> Any:
    """``jnp.vectorize``: ``pyfunc`` written for one element (or for the core dimensions of
    ``signature``) applied over the broadcast leading dimensions, with ``vmap`` (so it stays
    differentiable and batched). Positions in ``excluded`` and keyword arguments are passed
    through unchanged."""
    import functools

    in_core = _parse_signature(signature)[0] if signature else None

    @functools.wraps(pyfunc)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        # vmap is a transformation above this namespace (it batches its primitives): imported
        # when called, the one exception in tests/engine/test_engine_structure.py
        from ..batching import vmap

        pos = [i for i in range(len(args)) if i not in excluded]
        cores = in_core if in_core is not None else [()] * len(pos)
        if len(cores) != len(pos):
            raise TypeError(
                f"vectorize: signature {signature!r} has {len(cores)} inputs, got "
                f"{len(pos)} vectorized arguments"
            )
        vals = [args[i] if isinstance(args[i], Tracer) else np.asarray(args[i]) for i in pos]
        shapes = [shape_of(v) for v in vals]
        loops = [s[: len(s) - len(c)] for s, c in zip(shapes, cores, strict=True)]
        loop = np.broadcast_shapes(*loops) if loops else ()
        size = int(np.prod(loop))

        def call(*vs: Any) -> Any:
            a = list(args)
            for i, v in zip(pos, vs, strict=True):
                a[i] = v
            return pyfunc(*a, **kwargs)

        if not loop:
            return call(*vals)
        flat = [
            S.reshape(S.broadcast_to(v, loop + s[len(s) - len(c) :]), (size, *s[len(s) - len(c) :]))
            for v, s, c in zip(vals, shapes, cores, strict=True)
        ]
        out = vmap(call)(*flat)
        return tree_map(lambda o: S.reshape(o, loop + shape_of(o)[1:]), out)

    return wrapped
