"""``reference_impl.random``: JAX's key-based random numbers, the same bits as JAX for a key.

Keys, ``split``, ``fold_in`` and raw ``bits`` come from :mod:`reference_impl.random_threefry`
(threefry2x32 in NumPy); ``gamma``, ``loggamma``, ``beta`` and ``dirichlet`` from
:mod:`reference_impl.random_gamma`. Samples are the engine's immutable arrays (random inputs are
not differentiated), except that ``uniform`` is differentiable in ``minval``/``maxval`` and
``gamma`` in ``a``, as in JAX. ``bits``, ``uniform``, ``randint``, ``bernoulli``,
``permutation``, ``choice`` and ``split``/``fold_in`` agree with JAX bit for bit; ``normal`` and
``truncated_normal`` evaluate the inverse error function as XLA does (see
:mod:`reference_impl.random_erfinv`) and agree bit for bit on almost every element, within a
few ulp elsewhere (XLA's ``log`` and fused multiply-adds are emulated, not called).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .array import freeze_namespace
from .random_erfinv import erf, erfinv, fma, log1p
from .random_gamma import beta, dirichlet, gamma, loggamma
from .random_threefry import (
    PRNGKey,
    _check_key,
    _float_dtype,
    _random_bits,
    _shape,
    _unit_floats,
    bits,
    fold_in,
    key,
    key_data,
    split,
    wrap_key_data,
)

__all__ = [
    "PRNGKey",
    "bernoulli",
    "beta",
    "bits",
    "categorical",
    "choice",
    "dirichlet",
    "exponential",
    "fold_in",
    "gamma",
    "gumbel",
    "key",
    "key_data",
    "laplace",
    "loggamma",
    "multivariate_normal",
    "normal",
    "permutation",
    "rademacher",
    "randint",
    "split",
    "truncated_normal",
    "uniform",
    "wrap_key_data",
]


def uniform(
    key: Any, shape: Sequence[int] = (), dtype: Any = None, minval: Any = 0.0, maxval: Any = 1.0
) -> Any:
    """Uniform on ``[minval, maxval)``: ``max(minval, u·(maxval − minval) + minval)``, u ∈ [0, 1).

    Differentiable in ``minval`` and ``maxval``."""
    dt = _float_dtype("uniform", dtype)
    u = _unit_floats(_check_key("uniform", key), _shape(shape), dt)
    from .core import Tracer

    if isinstance(minval, Tracer) or isinstance(maxval, Tracer):
        from . import numpy as rnp

        return rnp.maximum(minval, u * (maxval - minval) + minval)
    lo, hi = np.asarray(minval, dt), np.asarray(maxval, dt)
    if dt == np.float64:  # XLA contracts the scaling into one fused multiply-add
        return np.maximum(lo, fma(u, hi - lo, lo))
    return np.maximum(lo, u * (hi - lo) + lo)


def normal(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> np.ndarray:
    """Standard normal samples: ``√2 · erfinv(u)`` with u uniform on (−1, 1)."""
    dt = _float_dtype("normal", dtype)
    lo = np.nextafter(dt.type(-1.0), dt.type(0.0))
    u = uniform(_check_key("normal", key), shape, dt, lo, 1.0)
    return (dt.type(np.sqrt(2)) * erfinv(u)).astype(dt)


def truncated_normal(
    key: Any, lower: Any, upper: Any, shape: Sequence[int] | None = None, dtype: Any = None
) -> np.ndarray:
    """Normal samples conditioned on ``lower < x < upper``: ``√2 · erfinv(u)``, u uniform on
    ``(erf(lower/√2), erf(upper/√2))``, clipped strictly inside the bounds."""
    dt = _float_dtype("truncated_normal", dtype)
    lower, upper = np.asarray(lower, dt), np.asarray(upper, dt)
    shape = np.broadcast_shapes(lower.shape, upper.shape) if shape is None else _shape(shape)
    sqrt2 = dt.type(np.sqrt(2))
    a, b = erf(lower / sqrt2), erf(upper / sqrt2)
    out = sqrt2 * erfinv(uniform(key, shape, dt, a, b))
    return np.clip(out, np.nextafter(lower, dt.type(np.inf)), np.nextafter(upper, -dt.type(np.inf)))


def rademacher(key: Any, shape: Sequence[int] = (), dtype: Any = np.int64) -> np.ndarray:
    """±1 with probability 1/2 each: ``2·bernoulli(key, 0.5, shape) − 1``."""
    return (2 * bernoulli(key, 0.5, shape).astype(dtype) - 1).astype(dtype)


def exponential(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> np.ndarray:
    """Standard exponential samples ``−log(1 − u)``, u uniform on [0, 1)."""
    dt = _float_dtype("exponential", dtype)
    return -log1p(-uniform(key, shape, dt)).astype(dt)


def laplace(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> np.ndarray:
    """Standard Laplace samples ``sign(u)·log(1 − |u|)``, u uniform on (−1, 1)."""
    dt = _float_dtype("laplace", dtype)
    u = uniform(key, shape, dt, -1.0 + np.finfo(dt).epsneg, 1.0)
    return (np.sign(u) * log1p(-np.abs(u))).astype(dt)


def multivariate_normal(
    key: Any, mean: Any, cov: Any, shape: Sequence[int] | None = None, dtype: Any = None
) -> np.ndarray:
    """``mean + L z``, ``L`` the Cholesky factor of ``cov``, ``z`` standard normal of shape
    ``shape + (n,)`` (LAPACK's factor may differ from XLA's in the last bits)."""
    dt = _float_dtype("multivariate_normal", dtype)
    mean, cov = np.asarray(mean, dt), np.asarray(cov, dt)
    if mean.ndim < 1 or cov.ndim < 2 or cov.shape[-2:] != (mean.shape[-1],) * 2:
        raise ValueError(
            f"multivariate_normal requires mean of shape (..., n) and cov of shape "
            f"(..., n, n), got {mean.shape} and {cov.shape}"
        )
    if shape is None:
        shape = np.broadcast_shapes(mean.shape[:-1], cov.shape[:-2])
    z = normal(key, (*_shape(shape), mean.shape[-1]), dt)
    return mean + np.einsum("...ij,...j->...i", np.linalg.cholesky(cov), z)


def bernoulli(key: Any, p: Any = 0.5, shape: Sequence[int] | None = None) -> np.ndarray:
    """Booleans that are True with probability ``p``: ``uniform(key, shape) < p``."""
    p = np.asarray(p)
    if not np.issubdtype(p.dtype, np.floating):
        raise TypeError(f"bernoulli probability `p` must have a floating dtype, got {p.dtype}")
    shape = p.shape if shape is None else _shape(shape)
    return uniform(key, shape, p.dtype) < p


def randint(
    key: Any, shape: Sequence[int], minval: Any, maxval: Any, dtype: Any = None
) -> np.ndarray:
    """Integers in ``[minval, maxval)``: two random words combined modulo the span
    (``(hi mod s)·(2^(n/2) mod s)² + lo mod s``, mod s), as JAX does."""
    dt = np.dtype(np.int64 if dtype is None else dtype)
    if not np.issubdtype(dt, np.integer):
        raise TypeError(f"randint only accepts integer dtypes, got {dt}")
    sample_dt = dt if dt.itemsize >= 4 else np.dtype(np.int32)
    info = np.iinfo(sample_dt)
    shape = _shape(shape)
    k1, k2 = split(_check_key("randint", key))
    nbits = info.bits
    udt = np.dtype(f"uint{nbits}")
    hi, lo = _random_bits(k1, nbits, shape), _random_bits(k2, nbits, shape)
    mn, mx = np.asarray(minval).astype(np.int64), np.asarray(maxval).astype(np.int64)
    if dt.itemsize < 4:
        mn = np.clip(mn, np.iinfo(dt).min, np.iinfo(dt).max)
        mx = np.clip(mx, np.iinfo(dt).min, np.iinfo(dt).max + 1)
    out_of_range = mx > info.max
    mn, mx = np.clip(mn, info.min, info.max), np.clip(mx, info.min, info.max)
    with np.errstate(over="ignore"):
        span = (mx.astype(sample_dt) - mn.astype(sample_dt)).astype(udt)
        span = np.where(mx <= mn, udt.type(1), span)
        span = np.where(out_of_range & (mx > mn), span + udt.type(1), span).astype(udt)
        mult = udt.type(2 ** (nbits // 2)) % span
        mult = (mult * mult) % span
        offset = ((hi % span) * mult + lo % span) % span
        return (mn.astype(sample_dt) + offset.astype(sample_dt)).astype(dt)


def _shuffle(k: np.ndarray, x: np.ndarray, axis: int) -> np.ndarray:
    rounds = int(np.ceil(3 * np.log(max(1, x.size)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        k, sub = split(k)
        order = np.argsort(_random_bits(sub, 32, x.shape), axis=axis, kind="stable")
        x = np.take_along_axis(x, order, axis=axis)
    return x


def permutation(key: Any, x: int | Any, axis: int = 0, independent: bool = False) -> np.ndarray:
    """A random permutation of ``arange(x)`` or of ``x`` along ``axis`` (sorting by random
    32-bit keys, ⌈3 ln n / ln(2³²−1)⌉ rounds)."""
    k = _check_key("permutation", key)
    arr = np.asarray(x)
    if arr.ndim == 0:
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError("x must be an integer or at least 1-dimensional")
        return _shuffle(k, np.arange(int(arr)), 0)
    axis = axis % arr.ndim
    if independent or arr.ndim == 1:
        return _shuffle(k, arr, axis)
    return np.take(arr, _shuffle(k, np.arange(arr.shape[axis]), 0), axis=axis)


def gumbel(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> np.ndarray:
    """Standard Gumbel samples ``−log(−log u)``, u uniform on [tiny, 1)."""
    dt = _float_dtype("gumbel", dtype)
    return -np.log(-np.log(uniform(key, shape, dt, np.finfo(dt).tiny, 1.0)))


def categorical(
    key: Any, logits: Any, axis: int = -1, shape: Sequence[int] | None = None, replace: bool = True
) -> np.ndarray:
    """Samples of ``softmax(logits, axis)`` by the Gumbel-max trick:
    ``argmax(logits + gumbel)`` (without replacement: the top k of ``logits + gumbel``)."""
    from .core import concrete

    lg = np.asarray(concrete(logits))
    axis = axis % lg.ndim
    batch = tuple(np.delete(lg.shape, axis))
    shape = batch if shape is None else _shape(shape)
    prefix = shape[: len(shape) - len(batch)]
    if replace:
        gshape = list(shape[len(prefix) :])
        gshape.insert(axis, lg.shape[axis])
        g = gumbel(key, (*prefix, *gshape), lg.dtype)
        return np.argmax(g + lg.reshape((1,) * len(prefix) + lg.shape), axis=len(prefix) + axis)
    n = math.prod(prefix)
    if n > lg.shape[axis]:
        raise ValueError(
            f"Number of samples without replacement ({n}) cannot exceed number "
            f"of categories ({lg.shape[axis]})."
        )
    g = np.moveaxis(lg + gumbel(key, lg.shape, lg.dtype), axis, -1)
    top = np.argsort(-g, axis=-1, kind="stable")[..., :n].astype(np.int32)  # top_k's dtype
    return np.moveaxis(top, -1, 0).reshape(shape)


def choice(
    key: Any,
    a: int | Any,
    shape: Sequence[int] = (),
    replace: bool = True,
    p: Any = None,
    axis: int = 0,
) -> np.ndarray:
    """Samples from ``a`` (or ``arange(a)``): uniform ``randint`` indices; without replacement
    a permutation's prefix; with ``p``, inverse-CDF search (or Gumbel top-k without
    replacement)."""
    k = _check_key("choice", key)
    shape = _shape(shape)
    arr = np.asarray(a)
    n = int(arr) if arr.ndim == 0 else arr.shape[axis % arr.ndim]
    axis = axis % arr.ndim if arr.ndim else 0
    draws = math.prod(shape)
    if draws == 0:
        return np.zeros(shape, dtype=arr.dtype)
    if n <= 0:
        raise ValueError("a must be greater than 0 unless no samples are taken")
    if not replace and draws > n:
        raise ValueError(
            f"Cannot take a larger sample (size {draws}) than population "
            f"(size {n}) when 'replace=False'"
        )
    if p is None and replace:
        ind = randint(k, shape, 0, n)
    elif p is None:
        perm = permutation(k, n if arr.ndim == 0 else arr, axis)
        result = np.take(perm, np.arange(draws), axis=axis)
        return result.reshape(
            shape if arr.ndim == 0 else arr.shape[:axis] + shape + arr.shape[axis + 1 :]
        )
    else:
        pa = np.asarray(p, dtype=np.result_type(p, np.float64))
        if pa.shape != (n,):
            raise ValueError(
                f"p must be None or a 1D vector with the same size as "
                f"a.shape[axis]: p has shape {pa.shape}, a.shape[axis] is {n}"
            )
        if replace:
            cum = np.cumsum(pa)
            r = cum[-1] * (1 - uniform(k, shape, cum.dtype))
            ind = np.searchsorted(cum, r).astype(np.int64)
        else:
            g = gumbel(k, (n,), pa.dtype) + np.log(pa)
            ind = np.argsort(-g, kind="stable")[:draws]
    result = ind if arr.ndim == 0 else np.take(arr, ind, axis=axis)
    return result.reshape(
        shape if arr.ndim == 0 else arr.shape[:axis] + shape + arr.shape[axis + 1 :]
    )


freeze_namespace(globals(), __name__)  # keys and samples are immutable, as JAX's
