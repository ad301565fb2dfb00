"""Comparisons, and the NumPy ufuncs routed to the engine's primitives when an ``ndarray`` meets
a tracer (``ndarray + tracer`` calls ``np.add(ndarray, tracer)``, which reaches the tracer's
``__array_ufunc__``)."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ..tracers import concrete
from .contractions import matmul
from .elementwise import add, divide, maximum, minimum, multiply, negative, power, subtract
from .elementwise_more import arctan2, floor_divide, fmod, hypot, logaddexp, remainder

__all__ = [
    "UFUNC_TO_PRIMITIVE",
    "equal",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "not_equal",
]


# --- comparisons: not differentiable, they act on concrete values -----------------------------
def _comparison(fn: Any) -> Any:
    def compare(x: Any, y: Any) -> _np.ndarray:
        return fn(concrete(x), concrete(y))

    compare.__name__ = fn.__name__
    return compare


less, less_equal = _comparison(_np.less), _comparison(_np.less_equal)
greater, greater_equal = _comparison(_np.greater), _comparison(_np.greater_equal)
equal, not_equal = _comparison(_np.equal), _comparison(_np.not_equal)


# ``ndarray OP tracer`` reaches ``Tracer.__array_ufunc__``; these ufuncs are routed back here
UFUNC_TO_PRIMITIVE = {
    "add": add,
    "subtract": subtract,
    "multiply": multiply,
    "true_divide": divide,
    "divide": divide,
    "power": power,
    "matmul": matmul,
    "negative": negative,
    "less": less,
    "less_equal": less_equal,
    "greater": greater,
    "greater_equal": greater_equal,
    "equal": equal,
    "not_equal": not_equal,
    "maximum": maximum,
    "minimum": minimum,
    "remainder": remainder,
    "floor_divide": floor_divide,
    "arctan2": arctan2,
    "hypot": hypot,
    "logaddexp": logaddexp,
    "fmod": fmod,
}
