"""``reference_impl.scipy.special``: mirrors ``jax.scipy.special``."""

from __future__ import annotations

from ..numpy.elementwise import logistic as expit
from ..numpy.reductions import logsumexp

__all__ = ["expit", "logsumexp"]
