"""``reference_impl.scipy.special``: mirrors ``jax.scipy.special``.

``logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False)`` has JAX's signature (the
third positional argument is the weight ``b``); ``expit`` is the logistic sigmoid. The error
function and the log-gamma family are primitives whose rules call each other, so every order
works: ``erf' = 2/√π e^{−x²}``, ``gammaln' = digamma = ψ``, ``ψ⁽ⁿ⁾' = ψ⁽ⁿ⁺¹⁾`` (``polygamma``).
``xlogy``, ``xlog1py``, ``logit`` and ``ndtr`` are compositions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as sps

from ..numpy import elementwise as E
from ..numpy.batching_rules import ELEMENTWISE
from ..numpy.elementwise import logistic as expit
from ..numpy.reductions import logsumexp
from ..primitives import defjvp, defresiduals, defvjp, primitive
from ..tracers import concrete

__all__ = [
    "digamma",
    "erf",
    "erfc",
    "expit",
    "gammaln",
    "logit",
    "logsumexp",
    "ndtr",
    "polygamma",
    "xlog1py",
    "xlogy",
]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# erf(x) = 2/√π ∫₀ˣ e^{−t²} dt:  erf'(x) = 2/√π e^{−x²};  erfc = 1 − erf
erf = primitive("erf", sps.erf, batch=ELEMENTWISE)
defjvp(erf, lambda x_dot, ans, x: x_dot * _TWO_OVER_SQRT_PI * E.exp(-x * x))
defvjp(erf, lambda ct, ans, x: ct * _TWO_OVER_SQRT_PI * E.exp(-x * x))

erfc = primitive("erfc", sps.erfc, batch=ELEMENTWISE)
defjvp(erfc, lambda x_dot, ans, x: -x_dot * _TWO_OVER_SQRT_PI * E.exp(-x * x))
defvjp(erfc, lambda ct, ans, x: -ct * _TWO_OVER_SQRT_PI * E.exp(-x * x))

# polygamma(n, x) = ψ⁽ⁿ⁾(x), the n-th derivative of digamma; n is an integer parameter
_polygamma_p = primitive("polygamma", lambda x, n: sps.polygamma(n, x), batch=ELEMENTWISE)
defjvp(_polygamma_p, lambda x_dot, ans, x, n: x_dot * _polygamma_p(x, n=n + 1))
defvjp(_polygamma_p, lambda ct, ans, x, n: ct * _polygamma_p(x, n=n + 1))

# gammaln(x) = log|Γ(x)|:  gammaln' = ψ = digamma
gammaln = primitive("gammaln", sps.gammaln, batch=ELEMENTWISE)
defjvp(gammaln, lambda x_dot, ans, x: x_dot * _polygamma_p(x, n=0))
defvjp(gammaln, lambda ct, ans, x: ct * _polygamma_p(x, n=0))

for _p in (erf, erfc, gammaln, _polygamma_p):
    defresiduals(_p, ans=False, args=(0,))


def polygamma(n: Any, x: Any) -> Any:
    """``ψ⁽ⁿ⁾(x)``; ``n`` is a non-negative integer (not differentiated)."""
    n_val = np.asarray(concrete(n))
    if n_val.ndim or n_val != int(n_val) or n_val < 0:
        raise NotImplementedError(f"polygamma: n must be one non-negative integer, got {n!r}")
    return _polygamma_p(x, n=int(n_val))


def digamma(x: Any) -> Any:
    """``ψ(x) = Γ'(x)/Γ(x)``; its derivative is ``polygamma(1, x)``."""
    return _polygamma_p(x, n=0)


def xlogy(x: Any, y: Any) -> Any:
    """``x log y``, 0 where ``x = y = 0``; ``∂/∂x = log y``, ``∂/∂y = x / y`` (both taken as 0
    at ``x = y = 0``, where JAX gives −inf and nan)."""
    bad = (concrete(x) == 0) & (concrete(y) == 0)
    return E.where(bad, 0.0, x * E.log(E.where(bad, 1.0, y)))


def xlog1py(x: Any, y: Any) -> Any:
    """``x log(1 + y)``, 0 where ``x = 0`` and ``y = −1``."""
    bad = (concrete(x) == 0) & (concrete(y) == -1)
    return E.where(bad, 0.0, x * E.log1p(E.where(bad, 0.0, y)))


def logit(x: Any) -> Any:
    """``log(x / (1 − x))``, the inverse of ``expit``."""
    return E.log(x) - E.log1p(-x)


def ndtr(x: Any) -> Any:
    """The standard normal CDF ``Φ(x) = erfc(−x/√2) / 2``."""
    return 0.5 * erfc(x * (-1.0 / math.sqrt(2.0)))


# the primitives defined here, for transformations that treat all elementwise maps alike
UNARY_PRIMITIVES = (erf, erfc, gammaln)
PARAMETRIC_UNARY_PRIMITIVES = (_polygamma_p,)  # polygamma(x, n=…)
