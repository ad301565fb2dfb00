"""``reference_impl.nn``: activations and softmax, mirroring ``jax.nn``."""

from __future__ import annotations

from typing import Any

from .core import concrete
from .numpy import elementwise as E
from .numpy.reductions import logsumexp

__all__ = ["log_softmax", "relu", "sigmoid", "softmax"]


def relu(x: Any) -> Any:
    """``max(x, 0)``; its derivative at 0 is taken to be 0, as in JAX."""
    return E.where(concrete(x) > 0, x, 0.0)


def sigmoid(x: Any) -> Any:
    """``1 / (1 + exp(-x))``, computed stably; derivative ``σ(x)(1 − σ(x))``."""
    return E.logistic(x)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """``x − logsumexp(x)`` along ``axis``."""
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x: Any, axis: int = -1) -> Any:
    """``exp(x − logsumexp(x))`` along ``axis``."""
    return E.exp(log_softmax(x, axis))
