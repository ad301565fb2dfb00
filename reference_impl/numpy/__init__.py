"""``reference_impl.numpy``: the part of ``jax.numpy`` this course needs, differentiable.

Import it as ``rnp``; a function body written for ``jax.numpy`` runs unchanged::

    import reference_impl.numpy as rnp
    def f(x):
        return rnp.sum(rnp.tanh(x) ** 2)
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from ..array import Array as _Array
from ..array import freeze_namespace as _freeze_namespace
from ..primitives import bind as _bind
from ..tracers import Tracer, concrete
from ..tracers import plain_numpy_message as _plain_numpy_message
from . import fft, linalg
from .at import IndexUpdateHelper as _IndexUpdateHelper
from .breadth import (
    bincount,
    full_like,
    identity,
    meshgrid,
    nanargmax,
    nanargmin,
    nanmax,
    nanmean,
    nanmin,
    nanprod,
    nanstd,
    nansum,
    nanvar,
    tril_indices,
    tril_indices_from,
    triu_indices,
    triu_indices_from,
    unique,
    vectorize,
)
from .contractions import cross, dot, einsum, inner, kron, matmul, outer, tensordot, vdot
from .elementwise import (
    abs,
    absolute,
    add,
    arctan,
    clip,
    cos,
    cosh,
    divide,
    exp,
    expm1,
    log,
    log1p,
    logistic,
    maximum,
    minimum,
    multiply,
    negative,
    power,
    reciprocal,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    true_divide,
    where,
)
from .elementwise_more import (
    angle,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan2,
    arctanh,
    around,
    cbrt,
    ceil,
    conj,
    conjugate,
    copysign,
    deg2rad,
    degrees,
    exp2,
    fabs,
    fix,
    float_power,
    floor,
    floor_divide,
    fmax,
    fmin,
    fmod,
    heaviside,
    hypot,
    imag,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    mod,
    nan_to_num,
    positive,
    rad2deg,
    radians,
    real,
    remainder,
    rint,
    round,
    sinc,
    trunc,
)
from .index_tricks import c_, concatenate, linspace, r_, take, take_along_axis
from .manipulation import (
    append,
    array_split,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    column_stack,
    diff,
    dsplit,
    dstack,
    flip,
    fliplr,
    flipud,
    gradient,
    hsplit,
    hstack,
    pad,
    repeat,
    roll,
    rollaxis,
    rot90,
    select,
    split,
    tile,
    tril,
    triu,
    vsplit,
    vstack,
)
from .reductions import amax, amin, logsumexp, max, mean, min, prod, sum, trace
from .shape_ops import (
    arange,
    array,
    asarray,
    broadcast_to,
    diag,
    diagonal,
    expand_dims,
    eye,
    full,
    getitem,
    moveaxis,
    ones,
    ones_like,
    ravel,
    reshape,
    squeeze,
    stack,
    sum_to_shape,
    swapaxes,
    transpose,
    zeros,
    zeros_like,
)
from .statistics import (
    all,
    any,
    argmax,
    argmin,
    argpartition,
    argsort,
    array_equal,
    average,
    count_nonzero,
    cumsum,
    cumulative_sum,
    isclose,
    isfinite,
    isinf,
    isnan,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    median,
    nonzero,
    partition,
    ptp,
    searchsorted,
    signbit,
    sort,
    std,
    var,
)
from .ufuncs import UFUNC_TO_PRIMITIVE as _UFUNC_TO_PRIMITIVE
from .ufuncs import (
    equal,
    greater,
    greater_equal,
    less,
    less_equal,
    not_equal,
)

pi = _np.pi
# a cold full run of mypy 2.4 (all of course/ checked too) reports "Trying to read deleted
# variable" here, a warm or partial one does not: the order it checks modules in decides
e = _np.e  # type: ignore[misc, unused-ignore]
inf = _np.inf
nan = _np.nan
float32 = _np.float32
float64 = _np.float64
int32 = _np.int32
int64 = _np.int64
ndarray = _np.ndarray
newaxis = None


def shape(x: Any) -> tuple[int, ...]:
    return _np.shape(concrete(x))


def ndim(x: Any) -> int:
    return len(shape(x))


def size(x: Any) -> int:
    return int(_np.prod(shape(x)))


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    return bool(_np.allclose(concrete(a), concrete(b), rtol=rtol, atol=atol))


# --- operators and array methods on tracers ----------------------------------------------------
# They are attached to the classes at import time, which mypy cannot follow: this module reaches
# the classes through names typed Any (the same class objects). The methods' ``self`` is a
# Tracer, typed Any for the same reason.
_Tracer: Any = Tracer
_ArrayClass: Any = _Array


def _method(prim: Any) -> Any:
    def method(self: Any, other: Any) -> Any:  # bind(prim, (self, other)), inlined
        top = self._trace
        if isinstance(other, _Tracer) and other._trace.level > top.level:
            top = other._trace
        return top.process(prim, (self, other), _NO_PARAMS)

    return method


def _rmethod(prim: Any) -> Any:
    def rmethod(self: Any, other: Any) -> Any:  # bind(prim, (other, self)), inlined
        top = self._trace
        if isinstance(other, _Tracer) and other._trace.level > top.level:
            top = other._trace
        return top.process(prim, (other, self), _NO_PARAMS)

    return rmethod


_NO_PARAMS: dict[str, Any] = {}
_Tracer.__add__, _Tracer.__radd__ = _method(add), _rmethod(add)
_Tracer.__sub__, _Tracer.__rsub__ = _method(subtract), _rmethod(subtract)
_Tracer.__mul__, _Tracer.__rmul__ = _method(multiply), _rmethod(multiply)
_Tracer.__truediv__, _Tracer.__rtruediv__ = _method(divide), _rmethod(divide)
_Tracer.__pow__, _Tracer.__rpow__ = _method(power), _rmethod(power)
_Tracer.__matmul__, _Tracer.__rmatmul__ = _method(matmul), _rmethod(matmul)
_Tracer.__mod__, _Tracer.__rmod__ = _method(remainder), _rmethod(remainder)
_Tracer.__floordiv__ = lambda self, other: floor_divide(self, other)
_Tracer.__rfloordiv__ = lambda self, other: floor_divide(other, self)
_Tracer.__neg__ = lambda self: _bind(negative, (self,), _NO_PARAMS)
_Tracer.__pos__ = lambda self: self
_Tracer.__abs__ = lambda self: _bind(absolute, (self,), _NO_PARAMS)
_Tracer.__lt__ = less
_Tracer.__le__ = less_equal
_Tracer.__gt__ = greater
_Tracer.__ge__ = greater_equal
_Tracer.__eq__ = equal
_Tracer.__ne__ = not_equal
_Tracer.__hash__ = None
_Tracer.__getitem__ = getitem
_Tracer.T = property(lambda self: transpose(self))
_Tracer.mT = property(lambda self: swapaxes(self, -1, -2))
_Tracer.sum = lambda self, axis=None, keepdims=False: sum(self, axis, keepdims=keepdims)
_Tracer.mean = lambda self, axis=None, keepdims=False: mean(self, axis, keepdims=keepdims)
_Tracer.max = lambda self, axis=None, keepdims=False: max(self, axis, keepdims=keepdims)
_Tracer.min = lambda self, axis=None, keepdims=False: min(self, axis, keepdims=keepdims)
_Tracer.prod = lambda self, axis=None, keepdims=False: prod(self, axis, keepdims=keepdims)
_Tracer.reshape = lambda self, *shape: reshape(self, shape[0] if len(shape) == 1 else shape)
_Tracer.ravel = lambda self: ravel(self)
_Tracer.flatten = lambda self: ravel(self)
_Tracer.transpose = lambda self, *axes: transpose(self, axes or None)
_Tracer.dot = lambda self, other: dot(self, other)
_Tracer.squeeze = lambda self, axis=None: squeeze(self, axis)
_Tracer.astype = lambda self, dtype: self
_Tracer.cumsum = lambda self, axis=None: cumsum(self, axis)
_Tracer.var = lambda self, axis=None, ddof=0, keepdims=False: var(
    self, axis, ddof=ddof, keepdims=keepdims
)
_Tracer.std = lambda self, axis=None, ddof=0, keepdims=False: std(
    self, axis, ddof=ddof, keepdims=keepdims
)
_Tracer.clip = lambda self, min=None, max=None: clip(self, min, max)
_Tracer.round = lambda self, decimals=0: round(self, decimals)
_Tracer.argmax = lambda self, axis=None, keepdims=False: argmax(self, axis, keepdims=keepdims)
_Tracer.argmin = lambda self, axis=None, keepdims=False: argmin(self, axis, keepdims=keepdims)
_Tracer.argsort = lambda self, axis=-1: argsort(self, axis)
_Tracer.swapaxes = lambda self, axis1, axis2: swapaxes(self, axis1, axis2)
_Tracer.diagonal = lambda self, offset=0, axis1=0, axis2=1: diagonal(self, offset, axis1, axis2)
_Tracer.trace = lambda self, offset=0, axis1=0, axis2=1: trace(self, offset, axis1, axis2)
_Tracer.take = lambda self, indices, axis=None: take(self, indices, axis)
_Tracer.repeat = lambda self, repeats, axis=None: repeat(self, repeats, axis)
_Tracer.at = property(lambda self: _IndexUpdateHelper(self))
_ArrayClass.at = property(
    lambda self: _IndexUpdateHelper(self),
    doc="``x.at[idx].set(v)`` and friends: out-of-place updates (``jax.Array.at``).",
)


def _array_ufunc(self: Tracer, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    """``ndarray + tracer`` arrives as ``np.add(ndarray, tracer)``: route it to the primitive."""
    fn = _UFUNC_TO_PRIMITIVE.get(ufunc.__name__)
    if method == "__call__" and fn is not None and not kwargs:
        return fn(*inputs)
    name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
    raise TypeError(_plain_numpy_message(name, self))


_Tracer.__array_ufunc__ = _array_ufunc


def _no_item_assignment(self: Tracer, idx: Any, value: Any) -> None:
    raise TypeError(
        f"'{type(self).__name__}' object does not support item assignment: traced "
        "arrays are immutable, like JAX arrays; instead of ``x[idx] = y`` write "
        "``x = x.at[idx].set(y)`` (or ``.add``, ``.multiply``, ``.min``, ``.max``)"
    )


_Tracer.__setitem__ = _no_item_assignment

# called by the user, every function returns immutable arrays (see reference_impl.array)
_freeze_namespace(globals(), __name__)

__all__ = [n for n in dir() if not n.startswith("_")]
