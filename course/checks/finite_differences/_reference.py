"""The course's versions of tasks 1.1 and 1.3, substituted for the student's when later tasks are
graded; not exported by the package the notebook imports as ``check``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import Fun


def course_fd_grad(f: Fun, x: Any, eps: float, method: str = "central") -> np.ndarray:
    """The course's ``fd_grad`` (substituted for the student's when task 1.3 is graded)."""
    x = np.asarray(x, dtype=float)
    grad = np.zeros(x.size)
    f0 = float(f(x)) if method == "forward" else None
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = eps
        e = e.reshape(x.shape)
        if f0 is not None:  # method == "forward"
            grad[i] = (float(f(x + e)) - f0) / eps
        else:
            grad[i] = (float(f(x + e)) - float(f(x - e))) / (2 * eps)
    return grad.reshape(x.shape)


def course_two_point(L: Fun, w: Any, eps: float, rng: np.random.Generator) -> np.ndarray:
    """The course's two-point estimator (substituted for the student's when task 1.5 is graded):
    the same arithmetic and draws as ``reference_impl.zeroth_order.sphere_estimator``."""
    w = np.asarray(w, dtype=float)
    v = rng.standard_normal(w.shape)
    v = v / np.linalg.norm(v)
    return w.size * ((float(L(w + eps * v)) - float(L(w - eps * v))) / (2 * eps)) * v
