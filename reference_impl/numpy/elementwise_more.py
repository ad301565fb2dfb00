"""More elementwise functions: inverse trigonometric and hyperbolic functions, logarithms and
exponentials in other bases, ``arctan2``, ``remainder``, rounding, and compositions.

New primitives have their implementation, JVP rule and VJP rule side by side, as in
:mod:`.elementwise`; the rules use this package's differentiable operations, so higher orders
work. Rounding functions (``floor``, ``ceil``, ``round``, ``trunc``, ``rint``) are piecewise
constant: their JVPs and VJPs are zero, as in JAX. Functions that are exact compositions of
existing primitives (``logaddexp``, ``hypot``, ``deg2rad``, ``sinc``, ``fmax``…) need no rules
of their own. Broadcasting is handled once, in the core.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..primitives import defjvp, defresiduals, defvjp, primitive
from ..tracers import concrete
from . import elementwise as E
from .batching_rules import ELEMENTWISE
from .elementwise import _complex, _conj_p, _imag_p, _real_p, conj, conjugate, imag, real  # noqa: F401

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _unary(name: str, impl: Any, deriv: Any, reads_ans: bool = False) -> Any:
    """A unary primitive with ``ẏ = f'(x) ẋ`` and ``x̄ = f'(x) ȳ``; ``deriv(ans, x)`` is f'."""
    p = primitive(name, impl, batch=ELEMENTWISE)
    defjvp(p, lambda x_dot, ans, x: x_dot * deriv(ans, x))
    defvjp(p, lambda ct, ans, x: ct * deriv(ans, x))
    defresiduals(p, ans=reads_ans, args=() if reads_ans else (0,))
    return p


# d/dx arcsin x = 1/√(1 − x²), d/dx arccos x = −1/√(1 − x²)
arcsin = _unary("arcsin", np.arcsin, lambda ans, x: 1.0 / E.sqrt(1.0 - x * x))
arccos = _unary("arccos", np.arccos, lambda ans, x: -1.0 / E.sqrt(1.0 - x * x))
# d/dx arcsinh x = 1/√(x² + 1), d/dx arccosh x = 1/√((x − 1)(x + 1)), d/dx arctanh x = 1/(1 − x²)
arcsinh = _unary("arcsinh", np.arcsinh, lambda ans, x: 1.0 / E.sqrt(x * x + 1.0))
arccosh = _unary("arccosh", np.arccosh, lambda ans, x: 1.0 / E.sqrt((x - 1.0) * (x + 1.0)))
arctanh = _unary("arctanh", np.arctanh, lambda ans, x: 1.0 / (1.0 - x * x))
# logarithms and exponentials in base 2 and 10: d log_b x = dx / (x ln b), d 2^x = 2^x ln 2 dx
log2 = _unary("log2", np.log2, lambda ans, x: 1.0 / (x * _LN2))
log10 = _unary("log10", np.log10, lambda ans, x: 1.0 / (x * _LN10))
exp2 = _unary("exp2", np.exp2, lambda ans, x: ans * _LN2, reads_ans=True)
# d/dx ∛x = 1 / (3 ∛x²)
cbrt = _unary("cbrt", np.cbrt, lambda ans, x: 1.0 / (3.0 * ans * ans), reads_ans=True)


# --- piecewise constant: zero derivative (as JAX) ----------------------------------------------
def _piecewise_constant(name: str, impl: Any) -> Any:
    p = primitive(name, impl, batch=ELEMENTWISE)
    defjvp(p, lambda x_dot, ans, x, **params: x_dot * 0.0)
    defvjp(p, lambda ct, ans, x, **params: ct * 0.0)
    defresiduals(p, ans=False)
    return p


floor = _piecewise_constant("floor", np.floor)
ceil = _piecewise_constant("ceil", np.ceil)
trunc = _piecewise_constant("trunc", np.trunc)
rint = _piecewise_constant("rint", np.rint)
_round_p = _piecewise_constant("round", lambda x, decimals: np.round(x, decimals))


def round(x: Any, decimals: int = 0) -> Any:
    """Round half to even to ``decimals`` places; derivative 0."""
    return _round_p(x, decimals=int(decimals))


around = round
fix = trunc


# --- binary -----------------------------------------------------------------------------------
# arctan2(y, x) = the angle of (x, y):  ∂/∂y = x / (x² + y²),  ∂/∂x = −y / (x² + y²)
arctan2 = primitive("arctan2", np.arctan2, batch=ELEMENTWISE)
defjvp(
    arctan2,
    lambda y_dot, ans, y, x: y_dot * x / (x * x + y * y),
    lambda x_dot, ans, y, x: -x_dot * y / (x * x + y * y),
)
defvjp(
    arctan2,
    lambda ct, ans, y, x: ct * x / (x * x + y * y),
    lambda ct, ans, y, x: -ct * y / (x * x + y * y),
)
defresiduals(arctan2, ans=False, args=(0, 1))


# remainder(x, y) = x − y ⌊x/y⌋ (the sign of y, as Python's %):  ∂/∂x = 1,  ∂/∂y = −⌊x/y⌋;
# fmod(x, y) = x − y trunc(x/y) (the sign of x, as C's fmod):  ∂/∂y = −trunc(x/y)
def _quotient(rounding: Any) -> Any:
    return lambda x, y: rounding(concrete(x) / concrete(y))


def _remainder_like(name: str, impl: Any, rounding: Any) -> Any:
    q = _quotient(rounding)
    p = primitive(name, impl, batch=ELEMENTWISE)
    defjvp(p, lambda x_dot, ans, x, y: x_dot, lambda y_dot, ans, x, y: -y_dot * q(x, y))
    defvjp(p, lambda ct, ans, x, y: ct, lambda ct, ans, x, y: -ct * q(x, y))
    defresiduals(p, ans=False, args={0: (), 1: (0, 1)})
    return p


remainder = _remainder_like("remainder", np.remainder, np.floor)
fmod = _remainder_like("fmod", np.fmod, np.trunc)
mod = remainder


def floor_divide(x: Any, y: Any) -> Any:
    """``⌊x / y⌋``: piecewise constant, derivative 0."""
    return floor(E.divide(x, y))


# --- compositions of existing primitives: no rules needed ---------------------------------------
def _concrete_max(x: Any, y: Any) -> np.ndarray:
    m = np.maximum(concrete(x), concrete(y))
    return np.where(np.isfinite(m), m, 0.0)


def logaddexp(x: Any, y: Any) -> Any:
    """``log(eˣ + eʸ) = m + log(e^{x−m} + e^{y−m})``, exact for every constant ``m``; with
    ``m = max(x, y)`` nothing overflows, and ``m`` needs no derivative."""
    m = _concrete_max(x, y)
    return m + E.log(E.exp(x - m) + E.exp(y - m))


def logaddexp2(x: Any, y: Any) -> Any:
    """``log₂(2ˣ + 2ʸ) = logaddexp(x ln 2, y ln 2) / ln 2``."""
    return logaddexp(x * _LN2, y * _LN2) / _LN2


def hypot(x: Any, y: Any) -> Any:
    """``√(x² + y²) = m √((x/m)² + (y/m)²)`` for a constant scale ``m = max(|x|, |y|)`` (no
    overflow; exact for every ``m``, so ``m`` needs no derivative)."""
    m = np.maximum(np.abs(concrete(x)), np.abs(concrete(y)))
    m = np.where((m > 0) & np.isfinite(m), m, 1.0)
    return m * E.sqrt(E.square(x / m) + E.square(y / m))


def deg2rad(x: Any) -> Any:
    return x * (math.pi / 180.0)


def rad2deg(x: Any) -> Any:
    return x * (180.0 / math.pi)


radians, degrees = deg2rad, rad2deg


def fabs(x: Any) -> Any:
    return E.absolute(x)


def _dsinc(ans: Any, x: Any) -> Any:
    """``sinc'(x) = (cos(πx) − sinc(x)) / x``; near 0, where that cancels, its Maclaurin series
    ``−π²x/3 + π⁴x³/30 − π⁶x⁵/840`` (JAX's ``_sinc_maclaurin`` does the same)."""
    small = np.abs(concrete(x)) < 1e-2
    xs = E.where(small, x, 0.0)
    x2 = xs * xs
    series = xs * (-(math.pi**2) / 3.0 + x2 * (math.pi**4 / 30.0 - x2 * math.pi**6 / 840.0))
    xl = E.where(small, 1.0, x)
    return E.where(small, series, (E.cos(math.pi * xl) - sinc(xl)) / xl)


# sinc(x) = sin(πx) / (πx), 1 at 0
sinc = _unary("sinc", np.sinc, _dsinc)


def fmax(x: Any, y: Any) -> Any:
    """``maximum`` ignoring NaNs: ``where(x > y or isnan(y), x, y)``, as JAX (ties go to y)."""
    cx, cy = concrete(x), concrete(y)
    return E.where(np.greater(cx, cy) | np.isnan(cy), x, y)


def fmin(x: Any, y: Any) -> Any:
    """``minimum`` ignoring NaNs: ``where(x < y or isnan(y), x, y)``, as JAX (ties go to y)."""
    cx, cy = concrete(x), concrete(y)
    return E.where(np.less(cx, cy) | np.isnan(cy), x, y)


def nan_to_num(
    x: Any,
    copy: bool = True,
    nan: float = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
) -> Any:
    """NaN and ±inf replaced by constants (derivative 0 there, 1 elsewhere)."""
    cx = concrete(x)
    return E.where(np.isfinite(cx), x, np.nan_to_num(cx, nan=nan, posinf=posinf, neginf=neginf))


def _real_only(name: str, x: Any) -> None:
    if np.iscomplexobj(concrete(x)):
        raise NotImplementedError(
            f"{name}: complex numbers are not supported (reference_impl is real-valued)"
        )


def angle(x: Any, deg: bool = False) -> Any:
    """The argument of a real number: 0 for x ≥ 0, π for x < 0 (piecewise constant)."""
    _real_only("angle", x)
    return x * 0.0 + np.where(concrete(x) < 0, 180.0 if deg else math.pi, 0.0)


def positive(x: Any) -> Any:
    return x


def float_power(x: Any, y: Any) -> Any:
    return E.power(x, y)


def heaviside(x: Any, h0: Any) -> Any:
    """0 for x < 0, ``h0`` at 0, 1 for x > 0; differentiable in ``h0`` only."""
    cx = concrete(x)
    return E.where(cx == 0, h0, np.where(cx > 0, 1.0, 0.0) + x * 0.0)


def copysign(x: Any, y: Any) -> Any:
    """``|x|`` with the sign of ``y``; ``y`` only through its (constant) sign."""
    return E.absolute(x) * np.where(np.signbit(concrete(y)), -1.0, 1.0)


# the primitives defined here, for transformations that treat all elementwise maps alike
UNARY_PRIMITIVES = (
    arcsin,
    arccos,
    arcsinh,
    arccosh,
    arctanh,
    log2,
    log10,
    exp2,
    cbrt,
    sinc,
    floor,
    ceil,
    trunc,
    rint,
)
PARAMETRIC_UNARY_PRIMITIVES = (_round_p,)  # round(x, decimals=…)
BINARY_PRIMITIVES = (arctan2, remainder, fmod)
