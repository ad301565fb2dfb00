"""``reference_impl.numpy.linalg``: mirrors ``jax.numpy.linalg``."""

from __future__ import annotations

from typing import Any

from ..core import shape_of
from . import elementwise as E
from . import reductions as R


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """Vector 2-norm / Frobenius norm ``sqrt(Σ x²)`` (``ord=None``, ``2`` for vectors, ``'fro'``)."""
    nd = len(shape_of(x)) if axis is None else (1 if isinstance(axis, int) else len(axis))
    if ord is None or ord == "fro" or (ord == 2 and nd == 1):
        return E.sqrt(R.sum(x * x, axis=axis, keepdims=keepdims))
    raise NotImplementedError(f"linalg.norm with ord={ord!r} is not supported")
