"""``reference_impl.scipy.special``: mirrors ``jax.scipy.special``.

``logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False)`` has JAX's signature (the
third positional argument is the weight ``b``); ``expit`` is the logistic sigmoid.
"""

from __future__ import annotations

from ..numpy.elementwise import logistic as expit
from ..numpy.reductions import logsumexp

__all__ = ["expit", "logsumexp"]
