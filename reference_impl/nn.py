"""``reference_impl.nn``: activations, softmax and initializers, mirroring ``jax.nn``.

Each function is JAX's formula written with the engine's differentiable operations, so values
agree with ``jax.nn`` to rounding and every derivative (any order, both modes, ``vmap``) comes
from the rules of those operations. Where JAX fixes a derivative at a kink by a custom rule
(``relu'(0) = 0``, ``relu6'`` at 0 and 6), the same convention is kept. ``initializers`` (a
module) draws with :mod:`reference_impl.random` keys, the same numbers as ``jax.nn.initializers``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import nn_initializers as initializers
from .array import freeze_namespace
from .core import concrete
from .numpy import elementwise as E
from .numpy import reductions as R
from .numpy.elementwise_more import logaddexp
from .numpy.reductions import logsumexp
from .scipy.special import erf

__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "initializers",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "one_hot",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_sign",
    "softmax",
    "softplus",
    "sparse_plus",
    "standardize",
    "swish",
    "tanh",
]

tanh = E.tanh


def relu(x: Any) -> Any:
    """``max(x, 0)``; its derivative at 0 is taken to be 0, as in JAX."""
    return E.where(concrete(x) > 0, x, 0.0)


def relu6(x: Any) -> Any:
    """``min(max(x, 0), 6)``; derivative 1 on (0, 6), 0 elsewhere (also at 0 and 6, as JAX)."""
    c = concrete(x)
    return E.where((c > 0) & (c < 6), x, E.where(c >= 6, 6.0, 0.0))


def sigmoid(x: Any) -> Any:
    """``σ(x) = 1 / (1 + exp(−x))``, computed stably; derivative ``σ(x)(1 − σ(x))``."""
    return E.logistic(x)


def softplus(x: Any) -> Any:
    """``log(1 + eˣ) = logaddexp(x, 0)``; derivative ``σ(x)``."""
    return logaddexp(x, 0.0)


def sparse_plus(x: Any) -> Any:
    """0 for ``x ≤ −1``, ``(x + 1)²/4`` on (−1, 1), ``x`` for ``x ≥ 1``."""
    c = concrete(x)
    return E.where(c <= -1, 0.0, E.where(c >= 1, x, (x + 1.0) ** 2 / 4.0))


def soft_sign(x: Any) -> Any:
    """``x / (|x| + 1)``."""
    return x / (E.absolute(x) + 1.0)


def silu(x: Any) -> Any:
    """``x · σ(x)`` (also called swish)."""
    return x * E.logistic(x)


swish = silu


def log_sigmoid(x: Any) -> Any:
    """``log σ(x) = −softplus(−x)``."""
    return -softplus(-x)


def elu(x: Any, alpha: Any = 1.0) -> Any:
    """``x`` for ``x > 0``, ``α(eˣ − 1)`` otherwise (``expm1`` on the safe branch only)."""
    c = concrete(x)
    safe = E.where(c > 0, 0.0, x)
    return E.where(c > 0, x, alpha * E.expm1(safe))


def celu(x: Any, alpha: Any = 1.0) -> Any:
    """``max(x, 0) + α·expm1(min(x, 0)/α)``."""
    return E.maximum(x, 0.0) + alpha * E.expm1(E.minimum(x, 0.0) / alpha)


def selu(x: Any) -> Any:
    """``λ·elu(x, α)`` with λ ≈ 1.0507, α ≈ 1.6733 (Klambauer et al. 2017)."""
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return scale * elu(x, alpha)


def leaky_relu(x: Any, negative_slope: Any = 1e-2) -> Any:
    """``x`` for ``x ≥ 0``, ``negative_slope · x`` otherwise."""
    return E.where(concrete(x) >= 0, x, negative_slope * x)


def hard_tanh(x: Any) -> Any:
    """``x`` clipped to [−1, 1] (derivative 0 outside)."""
    c = concrete(x)
    return E.where(c > 1, 1.0, E.where(c < -1, -1.0, x))


def hard_sigmoid(x: Any) -> Any:
    """``relu6(x + 3) / 6``."""
    return relu6(x + 3.0) / 6.0


def hard_silu(x: Any) -> Any:
    """``x · hard_sigmoid(x)``."""
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def gelu(x: Any, approximate: bool = True) -> Any:
    """Gaussian error linear unit ``x·Φ(x) = x(1 + erf(x/√2))/2``; with ``approximate=True``
    (JAX's default) ``x(1 + tanh(√(2/π)(x + 0.044715x³)))/2``."""
    if approximate:
        cdf = 0.5 * (1.0 + E.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
        return x * cdf
    return x * (erf(x / math.sqrt(2.0)) + 1.0) / 2.0


def glu(x: Any, axis: int = -1) -> Any:
    """Gated linear unit: ``a · σ(b)`` with ``x`` split in halves ``a, b`` along ``axis``."""
    from .numpy import split

    a, b = split(x, 2, axis=axis)
    return a * E.logistic(b)


def _shift(x: Any, axis: Any) -> Any:
    # the shift by the maximum does not change the result: a constant (JAX: stop_gradient)
    return x - R.max(concrete(x), axis=axis, keepdims=True)


def log_softmax(x: Any, axis: Any = -1) -> Any:
    """``x − logsumexp(x)`` along ``axis``, computed as ``s − log Σ exp(s)``, ``s = x − max x``."""
    s = _shift(x, axis)
    return s - E.log(R.sum(E.exp(s), axis=axis, keepdims=True))


def softmax(x: Any, axis: Any = -1) -> Any:
    """``exp(x − max x) / Σ exp(x − max x)`` along ``axis``."""
    u = E.exp(_shift(x, axis))
    return u / R.sum(u, axis=axis, keepdims=True)


def standardize(
    x: Any, axis: Any = -1, mean: Any = None, variance: Any = None, epsilon: float = 1e-5
) -> Any:
    """``(x − mean) / √(variance + ε)`` along ``axis``, with ``variance = E[x²] − mean²``."""
    if mean is None:
        mean = R.mean(x, axis=axis, keepdims=True)
    if variance is None:
        variance = R.mean(E.square(x), axis=axis, keepdims=True) - E.square(mean)
    return (x - mean) / E.sqrt(variance + epsilon)


def one_hot(x: Any, num_classes: int, *, dtype: Any = np.float64, axis: int = -1) -> np.ndarray:
    """``x[..., None] == arange(num_classes)`` as ``dtype``, the new axis at ``axis``
    (an index outside ``[0, num_classes)`` gives a row of zeros). Not differentiated."""
    idx = np.asarray(concrete(x))
    out = (idx[..., None] == np.arange(int(num_classes))).astype(dtype)
    return np.moveaxis(out, -1, axis)


freeze_namespace(globals(), __name__)  # results are the engine's immutable arrays
