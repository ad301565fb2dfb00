"""Cumulative sums, statistics (var, std, average, median, ptp), sorting and arg-functions.

``cumsum`` is a primitive, linear: its JVP is the cumsum of the tangent and its VJP the
*reversed* cumulative sum of the cotangent, ``x̄_i = Σ_{j ≥ i} ȳ_j``. Everything else is a
composition: ``var`` and ``std`` of ``mean``; ``sort`` gathers ``x`` with the (constant) sorting
permutation, so its VJP scatters the cotangent back through the same permutation (as JAX's sort
JVP does). Integer results (``argsort``, ``argmax``, ``argmin``) and logical tests are not
differentiable: they are computed on concrete values and return plain NumPy arrays.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..primitives import defjvp_linear, defresiduals, defvjp, primitive
from ..tracers import Tracer, concrete, shape_of
from . import elementwise as E
from . import reductions as R
from . import shape_ops as S
from .batching_rules import AXIS
from .index_tricks import _axis, take_along_axis
from .manipulation import flip

# cumsum along one axis:  ẏ = cumsum(ẋ),  x̄ = flip(cumsum(flip(ȳ)))
cumsum_p = primitive("cumsum", lambda x, axis: np.cumsum(x, axis=axis), batch=AXIS)
defjvp_linear(cumsum_p, 0)
defvjp(cumsum_p, lambda ct, ans, x, axis: flip(cumsum_p(flip(ct, axis), axis=axis), axis))
defresiduals(cumsum_p, ans=False)


def cumsum(a: Any, axis: int | None = None, dtype: Any = None) -> Any:
    """``y_i = Σ_{j ≤ i} a_j`` along ``axis`` (of the flattened array when None)."""
    if axis is None:
        a, axis = S.ravel(a), 0
    return cumsum_p(a, axis=_axis(axis, len(shape_of(a)), "cumsum"))


def cumulative_sum(x: Any, axis: int | None = None, include_initial: bool = False) -> Any:
    if axis is None:
        if len(shape_of(x)) > 1:
            raise ValueError(
                "cumulative_sum: axis is required for arrays with more than one dimension"
            )
        axis = 0
    out = cumsum(x, axis)
    if include_initial:
        ax = _axis(axis, len(shape_of(x)), "cumulative_sum")
        shape = list(shape_of(x))
        shape[ax] = 1
        out = S.concatenate([np.zeros(shape), out], ax)
    return out


# --- statistics -----------------------------------------------------------------------------------
def _count(shape: tuple[int, ...], axis: Any) -> int:
    return int(np.prod([shape[a] for a in R._axes(shape, axis)]))


def var(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
) -> Any:
    """``Σ (a − mean a)² / (n − ddof)`` over ``axis``."""
    R._plain("var", dtype, out)
    centered = a - R.mean(a, axis, keepdims=True)
    return R.sum(centered * centered, axis, keepdims=keepdims) / float(
        _count(shape_of(a), axis) - ddof
    )


def std(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
) -> Any:
    """``√var``; its derivative is infinite where all values are equal."""
    return E.sqrt(var(a, axis, dtype, out, ddof, keepdims))


def average(
    a: Any, axis: Any = None, weights: Any = None, returned: bool = False, keepdims: bool = False
) -> Any:
    """``Σ w a / Σ w`` over ``axis`` (the mean when ``weights`` is None)."""
    if weights is None:
        avg = R.mean(a, axis, keepdims=keepdims)
        wsum = np.full(np.shape(concrete(avg)), float(_count(shape_of(a), axis)))
    else:
        if shape_of(weights) != shape_of(a):
            if axis is None or len(shape_of(weights)) != 1:
                raise ValueError(
                    f"average: weights of shape {shape_of(weights)} do not match "
                    f"a of shape {shape_of(a)}"
                )
            ax = _axis(axis, len(shape_of(a)), "average")
            weights = S.reshape(weights, [-1 if i == ax else 1 for i in range(len(shape_of(a)))])
        wsum = R.sum(S.broadcast_to(weights, shape_of(a)), axis, keepdims=keepdims)
        avg = R.sum(a * weights, axis, keepdims=keepdims) / wsum
    return (avg, wsum) if returned else avg


def ptp(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``max − min`` over ``axis``."""
    return R.max(a, axis, keepdims=keepdims) - R.min(a, axis, keepdims=keepdims)


def median(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """The middle value of the sorted entries (the mean of the two middle ones for an even
    count); the derivative goes to the element(s) selected."""
    if axis is None:
        out = median(S.ravel(a), 0)
        return S.reshape(out, (1,) * len(shape_of(a))) if keepdims else out
    ax = _axis(axis, len(shape_of(a)), "median")
    n = shape_of(a)[ax]
    s = sort(a, ax)
    mid = S.getitem(s, (slice(None),) * ax + (slice((n - 1) // 2, n // 2 + 1),))
    return R.mean(mid, ax, keepdims=keepdims)


# --- sorting ---------------------------------------------------------------------------------
def argsort(
    a: Any,
    axis: int | None = -1,
    kind: Any = None,
    order: Any = None,
    *,
    stable: bool = True,
    descending: bool = False,
) -> np.ndarray:
    """Indices that sort ``a`` (stable); an integer array, not differentiable."""
    c = _values(a)
    return np.argsort(-c if descending else c, axis=axis, kind="stable")


def _values(a: Any) -> Any:
    """The concrete values of ``a``: a NumPy array, or under ``vmap`` the batch (whose NumPy
    functions are batched, :mod:`reference_impl.batching_numpy`)."""
    c = concrete(a)
    return c if isinstance(c, Tracer) else np.asarray(c)


def sort(
    a: Any,
    axis: int | None = -1,
    kind: Any = None,
    order: Any = None,
    *,
    stable: bool = True,
    descending: bool = False,
) -> Any:
    """The entries in ascending order: ``a`` gathered by the (constant) sorting permutation."""
    if axis is None:
        a, axis = S.ravel(a), 0
    return take_along_axis(a, argsort(a, axis, descending=descending), axis)


def partition(a: Any, kth: int, axis: int = -1) -> Any:
    """The ``kth`` smallest entry at position ``kth``, smaller ones before it and larger ones
    after. The order inside the two parts is JAX's: ascending, then descending."""
    ax = _axis(axis, len(shape_of(a)), "partition")
    n = shape_of(a)[ax]
    kth = int(kth) % n if n else 0
    idx = argsort(a, ax)
    order = np.concatenate([np.arange(kth + 1), np.arange(n - 1, kth, -1)])
    return take_along_axis(a, idx[(slice(None),) * ax + (order,)], ax)


def argpartition(a: Any, kth: int, axis: int = -1) -> np.ndarray:
    return np.argpartition(_values(a), kth, axis=axis)


def _arg_extremum(fn: Any) -> Any:
    def arg(a: Any, axis: int | None = None, out: Any = None, keepdims: bool = False) -> Any:
        return fn(_values(a), axis=axis, keepdims=keepdims)

    arg.__name__ = fn.__name__
    arg.__doc__ = f"``np.{fn.__name__}`` of the concrete values: an integer array."
    return arg


argmax, argmin = _arg_extremum(np.argmax), _arg_extremum(np.argmin)


def searchsorted(
    a: Any, v: Any, side: Literal["left", "right"] = "left", sorter: Any = None
) -> np.ndarray:
    return np.searchsorted(
        np.asarray(concrete(a)), np.asarray(concrete(v)), side=side, sorter=sorter
    )


# --- logical functions: on concrete values, not differentiable -----------------------------
def _logical(fn: Any) -> Any:
    def logical(*args: Any, **kwargs: Any) -> Any:
        return fn(*[concrete(a) for a in args], **kwargs)

    logical.__name__ = fn.__name__
    logical.__doc__ = f"``np.{fn.__name__}`` of the concrete values (not differentiable)."
    return logical


all, any = _logical(np.all), _logical(np.any)
isnan, isinf, isfinite, signbit = (
    _logical(np.isnan),
    _logical(np.isinf),
    _logical(np.isfinite),
    _logical(np.signbit),
)
isclose, array_equal = _logical(np.isclose), _logical(np.array_equal)
logical_and, logical_or = _logical(np.logical_and), _logical(np.logical_or)
logical_not, logical_xor = _logical(np.logical_not), _logical(np.logical_xor)
nonzero, count_nonzero = _logical(np.nonzero), _logical(np.count_nonzero)
