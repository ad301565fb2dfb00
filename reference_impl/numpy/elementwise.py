"""Elementwise primitives: implementation, JVP rule and VJP rule side by side.

Rules are written with this package's own (differentiable) functions, so derivatives of
derivatives work. Broadcasting is handled once, in the core (tangents are broadcast to the
output's shape, cotangents are summed back to each argument's shape), not in every rule.
Comparisons and masks are computed on concrete values: they are locally constant.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special

from ..primitives import Primitive, defjvp, defjvp_linear, defresiduals, defvjp, primitive
from ..tracers import Tracer, concrete
from .batching_rules import ELEMENTWISE

# --- unary ------------------------------------------------------------------------------------
negative = primitive("negative", np.negative, batch=ELEMENTWISE)
defjvp_linear(negative, 0)
defvjp(negative, lambda ct, ans, x: -ct)

exp = primitive("exp", np.exp, batch=ELEMENTWISE)
defjvp(exp, lambda x_dot, ans, x: x_dot * ans)
defvjp(exp, lambda ct, ans, x: ct * ans)

log = primitive("log", np.log, batch=ELEMENTWISE)
defjvp(log, lambda x_dot, ans, x: x_dot / x)
defvjp(log, lambda ct, ans, x: ct / x)

log1p = primitive("log1p", np.log1p, batch=ELEMENTWISE)
defjvp(log1p, lambda x_dot, ans, x: x_dot / (1.0 + x))
defvjp(log1p, lambda ct, ans, x: ct / (1.0 + x))

expm1 = primitive("expm1", np.expm1, batch=ELEMENTWISE)
defjvp(expm1, lambda x_dot, ans, x: x_dot * (ans + 1.0))
defvjp(expm1, lambda ct, ans, x: ct * (ans + 1.0))

sqrt = primitive("sqrt", np.sqrt, batch=ELEMENTWISE)
defjvp(sqrt, lambda x_dot, ans, x: x_dot / (2.0 * ans))
defvjp(sqrt, lambda ct, ans, x: ct / (2.0 * ans))

sin = primitive("sin", np.sin, batch=ELEMENTWISE)
defjvp(sin, lambda x_dot, ans, x: x_dot * cos(x))
defvjp(sin, lambda ct, ans, x: ct * cos(x))

cos: Primitive = primitive("cos", np.cos, batch=ELEMENTWISE)
defjvp(cos, lambda x_dot, ans, x: -x_dot * sin(x))
defvjp(cos, lambda ct, ans, x: -ct * sin(x))

tan = primitive("tan", np.tan, batch=ELEMENTWISE)
defjvp(tan, lambda x_dot, ans, x: x_dot * (1.0 + ans * ans))
defvjp(tan, lambda ct, ans, x: ct * (1.0 + ans * ans))

tanh = primitive("tanh", np.tanh, batch=ELEMENTWISE)
defjvp(tanh, lambda x_dot, ans, x: x_dot * (1.0 - ans * ans))
defvjp(tanh, lambda ct, ans, x: ct * (1.0 - ans * ans))

sinh = primitive("sinh", np.sinh, batch=ELEMENTWISE)
defjvp(sinh, lambda x_dot, ans, x: x_dot * cosh(x))
defvjp(sinh, lambda ct, ans, x: ct * cosh(x))

cosh: Primitive = primitive("cosh", np.cosh, batch=ELEMENTWISE)
defjvp(cosh, lambda x_dot, ans, x: x_dot * sinh(x))
defvjp(cosh, lambda ct, ans, x: ct * sinh(x))

arctan = primitive("arctan", np.arctan, batch=ELEMENTWISE)
defjvp(arctan, lambda x_dot, ans, x: x_dot / (1.0 + x * x))
defvjp(arctan, lambda ct, ans, x: ct / (1.0 + x * x))

sign = primitive("sign", np.sign, batch=ELEMENTWISE)  # piecewise constant: derivative 0
defjvp(sign, lambda x_dot, ans, x: x_dot * 0.0)
defvjp(sign, lambda ct, ans, x: ct * 0.0)

# d|x|/dx = sign(x), with JAX's convention 1 at x = 0
# at complex z: d|z| = Re(conj(z)·dz)/|z|, VJP ct·conj(z)/|z| (JAX's convention, lax.abs_p)
absolute = primitive("abs", np.abs, batch=ELEMENTWISE)


def _nonzero_abs(x: Any) -> Any:
    """``|x|`` with 0 replaced by 1: the derivative at ``z = 0`` is 0, as JAX's."""
    return absolute(x) + np.where(concrete(x) == 0, 1.0, 0.0)


def _abs_jvp(x_dot: Any, ans: Any, x: Any) -> Any:
    if np.iscomplexobj(concrete(x)):
        return real(conj(x) * x_dot) / _nonzero_abs(x)
    return x_dot * _pos_sign(x)


def _abs_vjp(ct: Any, ans: Any, x: Any) -> Any:
    if np.iscomplexobj(concrete(x)):
        return ct * conj(x) / _nonzero_abs(x)
    return ct * _pos_sign(x)


defjvp(absolute, _abs_jvp)
defvjp(absolute, _abs_vjp)

square = primitive("square", np.square, batch=ELEMENTWISE)
defjvp(square, lambda x_dot, ans, x: 2.0 * x * x_dot)
defvjp(square, lambda ct, ans, x: 2.0 * x * ct)

reciprocal = primitive("reciprocal", np.reciprocal, batch=ELEMENTWISE)
defjvp(reciprocal, lambda x_dot, ans, x: -x_dot * ans * ans)
defvjp(reciprocal, lambda ct, ans, x: -ct * ans * ans)

# the logistic sigmoid 1 / (1 + e^{-x}) = expit(x), computed stably by SciPy
logistic = primitive("logistic", scipy.special.expit, batch=ELEMENTWISE)
defjvp(logistic, lambda x_dot, ans, x: x_dot * ans * (1.0 - ans))
defvjp(logistic, lambda ct, ans, x: ct * ans * (1.0 - ans))

# Complex parts (JAX's rules, jax/_src/lax/lax.py: real_p, imag_p, conj_p). JAX's convention
# for a complex cotangent is ``∂f/∂a − i ∂f/∂b`` at ``z = a + ib`` (no conjugation in the
# transposes), so: real's VJP is ``ct + 0i``, imag's is ``−i·ct``, conj's is ``conj(ct)``.
_real_p = primitive("real", np.real, batch=ELEMENTWISE)
defjvp(_real_p, lambda x_dot, ans, x: _real_p(x_dot))
defvjp(_real_p, lambda ct, ans, x: ct + 0j)
_imag_p = primitive("imag", np.imag, batch=ELEMENTWISE)
defjvp(_imag_p, lambda x_dot, ans, x: _imag_p(x_dot))
defvjp(_imag_p, lambda ct, ans, x: ct * -1j)
_conj_p = primitive("conj", np.conj, batch=ELEMENTWISE)
defjvp(_conj_p, lambda x_dot, ans, x: _conj_p(x_dot))
defvjp(_conj_p, lambda ct, ans, x: _conj_p(ct))


def _complex(x: Any) -> bool:
    return np.iscomplexobj(concrete(x))


def real(x: Any) -> Any:
    """The real part (``x`` itself for a real array)."""
    return _real_p(x) if _complex(x) else x


def conj(x: Any) -> Any:
    """The complex conjugate (``x`` itself for a real array)."""
    return _conj_p(x) if _complex(x) else x


conjugate = conj


def imag(x: Any) -> Any:
    """The imaginary part (zeros, derivative 0, for a real array)."""
    return _imag_p(x) if _complex(x) else x * 0.0


# --- binary -----------------------------------------------------------------------------------
add = primitive("add", np.add, batch=ELEMENTWISE)
defjvp(add, lambda x_dot, ans, x, y: x_dot, lambda y_dot, ans, x, y: y_dot)
defvjp(add, lambda ct, ans, x, y: ct, lambda ct, ans, x, y: ct)

subtract = primitive("subtract", np.subtract, batch=ELEMENTWISE)
defjvp(subtract, lambda x_dot, ans, x, y: x_dot, lambda y_dot, ans, x, y: -y_dot)
defvjp(subtract, lambda ct, ans, x, y: ct, lambda ct, ans, x, y: -ct)

multiply = primitive("multiply", np.multiply, batch=ELEMENTWISE)
defjvp(multiply, lambda x_dot, ans, x, y: x_dot * y, lambda y_dot, ans, x, y: x * y_dot)
defvjp(multiply, lambda ct, ans, x, y: ct * y, lambda ct, ans, x, y: ct * x)

divide = primitive("divide", np.true_divide, batch=ELEMENTWISE)
defjvp(divide, lambda x_dot, ans, x, y: x_dot / y, lambda y_dot, ans, x, y: -y_dot * ans / y)
defvjp(divide, lambda ct, ans, x, y: ct / y, lambda ct, ans, x, y: -ct * ans / y)

# d(x^y)/dx = y x^{y-1};  d(x^y)/dy = x^y log x  (taken as 0 where x = 0, as JAX does)
power = primitive("power", np.power, batch=ELEMENTWISE)
defjvp(
    power,
    lambda x_dot, ans, x, y: x_dot * _dpow_dx(x, y),
    lambda y_dot, ans, x, y: y_dot * _dpow_dy(ans, x),
)
defvjp(
    power, lambda ct, ans, x, y: ct * _dpow_dx(x, y), lambda ct, ans, x, y: ct * _dpow_dy(ans, x)
)


def _dpow_dx(x: Any, y: Any) -> Any:
    """``y x^{y-1}``; for an integer exponent ``y = 0`` it is 0 (not ``0 · x^{-1}``), as in JAX."""
    if isinstance(y, (int, float)) and not isinstance(y, bool):
        return y * x ** (y - 1) if y != 0 else x * 0.0
    yc = concrete(y)
    if np.issubdtype(np.result_type(yc), np.integer):  # integers are never differentiated
        return np.where(yc == 0, 0, yc) * x ** (np.where(yc == 0, 1, yc) - 1)
    return y * x ** (y - 1.0)


def _dpow_dy(ans: Any, x: Any) -> Any:
    zero = concrete(x) == 0
    return where(zero, 0.0, ans * log(where(zero, 1.0, x)))


# maximum / minimum: the gradient goes to the larger (smaller) argument, split evenly at ties
maximum = primitive("maximum", np.maximum, batch=ELEMENTWISE)
defjvp(
    maximum,
    lambda x_dot, ans, x, y: x_dot * _select_weight(x, y),
    lambda y_dot, ans, x, y: y_dot * _select_weight(y, x),
)
defvjp(
    maximum,
    lambda ct, ans, x, y: ct * _select_weight(x, y),
    lambda ct, ans, x, y: ct * _select_weight(y, x),
)

minimum = primitive("minimum", np.minimum, batch=ELEMENTWISE)
defjvp(
    minimum,
    lambda x_dot, ans, x, y: x_dot * _select_weight(y, x),
    lambda y_dot, ans, x, y: y_dot * _select_weight(x, y),
)
defvjp(
    minimum,
    lambda ct, ans, x, y: ct * _select_weight(y, x),
    lambda ct, ans, x, y: ct * _select_weight(x, y),
)


def _select_weight(x: Any, y: Any) -> np.ndarray:
    """1 where x > y, 1/2 where x == y, 0 elsewhere (a concrete, locally constant mask)."""
    x, y = concrete(x), concrete(y)
    return np.where(np.greater(x, y), 1.0, np.where(np.equal(x, y), 0.5, 0.0))


def _pos_sign(x: Any) -> np.ndarray:
    """1 where x >= 0, else -1 (a batch under ``vmap`` stays a batch)."""
    return np.where(concrete(x) >= 0, 1.0, -1.0)


# where(cond, x, y): cond is concrete (a comparison result), x and y are differentiable
_where = primitive("where", np.where, batch=ELEMENTWISE)
defjvp(
    _where,
    None,
    lambda x_dot, ans, c, x, y: _where(c, x_dot, 0.0),
    lambda y_dot, ans, c, x, y: _where(c, 0.0, y_dot),
)
defvjp(
    _where,
    None,
    lambda ct, ans, c, x, y: _where(c, ct, 0.0),
    lambda ct, ans, c, x, y: _where(c, 0.0, ct),
)


def where(condition: Any, x: Any, y: Any) -> Any:
    """``x`` where ``condition`` holds, else ``y``; the condition is not differentiated."""
    c = concrete(condition)
    return _where(c if isinstance(c, Tracer) else np.asarray(c, dtype=bool), x, y)


def clip(x: Any, min: Any = None, max: Any = None, *, a_min: Any = None, a_max: Any = None) -> Any:
    """``minimum(maximum(x, min), max)``, as ``jnp.clip``: the gradient is 1 inside the
    interval, 0 outside, and 1/2 on its boundary (the tie rule of ``maximum``/``minimum``)."""
    lo = a_min if min is None else min
    hi = a_max if max is None else max
    if lo is not None:
        x = maximum(x, lo)
    if hi is not None:
        x = minimum(x, hi)
    return x


abs = absolute
true_divide = divide


# --- residuals: what each VJP rule reads, so the tape keeps nothing else ----------------------
# (e.g. tanh's rule reads only its output and x + y's rule nothing, as in a hand-written backprop)
for _p in (negative, add, subtract, sign):
    defresiduals(_p, ans=False)
for _p in (exp, expm1, sqrt, tan, tanh, reciprocal, logistic):
    defresiduals(_p, ans=True)
for _p in (log, log1p, sin, cos, sinh, cosh, arctan, absolute, square):
    defresiduals(_p, ans=False, args=(0,))
for _p in (maximum, minimum):
    defresiduals(_p, ans=False, args=(0, 1))
# x * y: the cotangent of x reads y and that of y reads x; with a constant factor (0.5 * x) the
# tape keeps only the constant
defresiduals(multiply, ans=False, args={0: (1,), 1: (0,)})
defresiduals(divide, ans=True, args=(1,))
defresiduals(_where, ans=False, args=(0,))
