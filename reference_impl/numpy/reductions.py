"""Reductions: sum, mean, max, min, prod, logsumexp (with ``axis`` and ``keepdims``)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..primitives import defjvp, defjvp_linear, defresiduals, defvjp, primitive
from ..tracers import concrete, shape_of
from . import elementwise as E
from . import shape_ops as S
from .batching_rules import REDUCTION


def _axes(shape: tuple[int, ...], axis: Any, name: str = "reduction") -> tuple[int, ...]:
    """Normalise ``axis`` (None, an int or a tuple, negative allowed) to sorted axes."""
    nd = len(shape)
    if axis is None:
        return tuple(range(nd))
    axis = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axis:
        if not -nd <= int(a) < nd:
            raise ValueError(f"{name}: axis {a} is out of bounds for an array of shape {shape}")
    return tuple(sorted(int(a) % nd for a in axis))


def _keep(ct: Any, x_shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> Any:
    """Reshape a reduced cotangent so that it broadcasts against the input (keepdims form)."""
    if keepdims:
        return ct
    return S.reshape(ct, tuple(1 if i in axes else n for i, n in enumerate(x_shape)))


# sum: the VJP broadcasts the cotangent back over the reduced axes
sum_p = primitive(
    "sum", lambda x, axes, keepdims: np.sum(x, axis=axes, keepdims=keepdims), batch=REDUCTION
)
defjvp_linear(sum_p, 0)
defvjp(
    sum_p,
    lambda ct, ans, x, axes, keepdims: S.broadcast_to(
        _keep(ct, shape_of(x), axes, keepdims), shape_of(x)
    ),
)


def _chooser_weights(x: Any, ans: Any, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Where the extremum is attained, 1/(number of ties); 0 elsewhere (as JAX does)."""
    hit = np.equal(concrete(x), _keep(concrete(ans), shape_of(x), axes, keepdims))
    return hit / np.sum(hit, axis=axes, keepdims=True)


def _chooser(name: str, fn: Any) -> Any:
    p = primitive(
        name, lambda x, axes, keepdims: fn(x, axis=axes, keepdims=keepdims), batch=REDUCTION
    )
    defjvp(
        p,
        lambda x_dot, ans, x, axes, keepdims: sum_p(
            x_dot * _chooser_weights(x, ans, axes, keepdims), axes=axes, keepdims=keepdims
        ),
    )
    defvjp(
        p,
        lambda ct, ans, x, axes, keepdims: (
            _keep(ct, shape_of(x), axes, keepdims) * _chooser_weights(x, ans, axes, keepdims)
        ),
    )
    return p


max_p = _chooser("max", np.max)
min_p = _chooser("min", np.min)


# prod: ∂(Π_j x_j)/∂x_i = Π_{j≠i} x_j, computed without dividing by x_i when some x_i = 0
prod_p = primitive(
    "prod", lambda x, axes, keepdims: np.prod(x, axis=axes, keepdims=keepdims), batch=REDUCTION
)
defjvp(
    prod_p,
    lambda x_dot, ans, x, axes, keepdims: sum_p(
        x_dot * _prod_others(x, ans, axes), axes=axes, keepdims=keepdims
    ),
)
defvjp(
    prod_p,
    lambda ct, ans, x, axes, keepdims: (
        _keep(ct, shape_of(x), axes, keepdims) * _prod_others(x, ans, axes)
    ),
)


def _prod_others(x: Any, ans: Any, axes: tuple[int, ...]) -> Any:
    """For each element, the product of the other elements of its reduction group."""
    shape = shape_of(x)
    if np.all(concrete(x) != 0):
        return prod_p(x, axes=axes, keepdims=True) / x
    kept = [i for i in range(len(shape)) if i not in axes]
    perm = kept + list(axes)
    xt = S.transpose(x, perm)
    n = int(np.prod([shape[a] for a in axes]))
    rows = S.reshape(xt, (*[shape[i] for i in kept], 1, n))
    excl = E.where(np.eye(n, dtype=bool), 1.0, rows)  # row i has x_i replaced by 1
    others = prod_p(excl, axes=(len(kept) + 1,), keepdims=False)
    others = S.reshape(others, tuple(shape[i] for i in perm))
    return S.transpose(others, tuple(np.argsort(perm)))


# logsumexp: log Σ exp(x), stabilised by the maximum; its VJP is ct · softmax(x)
def _logsumexp_impl(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    m = _finite_max(x, axes)
    out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axes)


def _finite_max(x: Any, axes: tuple[int, ...]) -> np.ndarray:
    """The (concrete) maximum over ``axes``, keepdims form, with ±inf replaced by 0."""
    m = np.max(concrete(x), axis=axes, keepdims=True)
    return np.where(np.isfinite(m), m, 0.0)


logsumexp_p = primitive("logsumexp", _logsumexp_impl, batch=REDUCTION)
defjvp(
    logsumexp_p,
    lambda x_dot, ans, x, axes, keepdims: sum_p(
        x_dot * E.exp(x - _keep(ans, shape_of(x), axes, keepdims)), axes=axes, keepdims=keepdims
    ),
)
defvjp(
    logsumexp_p,
    lambda ct, ans, x, axes, keepdims: (
        _keep(ct, shape_of(x), axes, keepdims) * E.exp(x - _keep(ans, shape_of(x), axes, keepdims))
    ),
)


# --- user-facing functions (signatures of jax.numpy; dtype/out exist for compatibility) ---------
def _plain(name: str, dtype: Any = None, out: Any = None) -> None:
    if out is not None:
        raise NotImplementedError(
            f"{name}: the out= argument is not supported (arrays here are immutable, as in JAX)"
        )
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.floating):
        raise NotImplementedError(
            f"{name}: dtype={dtype!r} is not supported; reductions here "
            "keep the input's floating dtype"
        )


def sum(
    x: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
) -> Any:
    """``Σ x`` over ``axis`` (all axes when None)."""
    _plain("sum", dtype, out)
    return sum_p(x, axes=_axes(shape_of(x), axis, "sum"), keepdims=keepdims)


def mean(
    x: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
) -> Any:
    """``Σ x / n`` over ``axis``, n the number of elements summed."""
    _plain("mean", dtype, out)
    axes = _axes(shape_of(x), axis, "mean")
    count = int(np.prod([shape_of(x)[a] for a in axes]))
    return sum_p(x, axes=axes, keepdims=keepdims) / float(count)


def max(x: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    """The maximum over ``axis``; at ties the derivative is shared evenly, as in JAX."""
    _plain("max", None, out)
    return max_p(x, axes=_axes(shape_of(x), axis, "max"), keepdims=keepdims)


def min(x: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    """The minimum over ``axis``; at ties the derivative is shared evenly, as in JAX."""
    _plain("min", None, out)
    return min_p(x, axes=_axes(shape_of(x), axis, "min"), keepdims=keepdims)


def prod(
    x: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
) -> Any:
    """``Π x`` over ``axis``; its derivative is right even where some factors are 0."""
    _plain("prod", dtype, out)
    return prod_p(x, axes=_axes(shape_of(x), axis, "prod"), keepdims=keepdims)


def logsumexp(
    a: Any, axis: Any = None, b: Any = None, keepdims: bool = False, return_sign: bool = False
) -> Any:
    """``log Σ b·exp(a)`` over ``axis`` without overflow (``jax.scipy.special.logsumexp``).

    With ``return_sign`` returns ``(log |Σ b·exp(a)|, sign)``. With weights ``b`` it is
    ``log Σ b·exp(a − m) + m`` for the (constant) maximum ``m``: exact for every ``m``, so ``m``
    needs no derivative; ``∂/∂b_i = exp(a_i − ans)`` stays finite where ``b_i = 0``.
    """
    axes = _axes(shape_of(a), axis, "logsumexp")
    if b is None and not return_sign:
        return logsumexp_p(a, axes=axes, keepdims=keepdims)
    m = _finite_max(a, axes)
    s = sum_p(E.exp(a - m) if b is None else b * E.exp(a - m), axes=axes, keepdims=True)
    sign = np.sign(concrete(s))
    out = E.log(E.absolute(s) if return_sign else s) + m
    if not keepdims:
        out = S.squeeze(out, axes)
        sign = np.squeeze(sign, axes)
    return (out, sign) if return_sign else out


amax, amin = max, min
_builtin_sum = builtins.sum


defresiduals(sum_p, ans=False)  # the VJP of a sum reads only the input's shape


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """``Σ_i x[i, i + offset]`` over ``axis1``, ``axis2``."""
    return sum(S.diagonal(x, offset, axis1, axis2), axis=-1)
