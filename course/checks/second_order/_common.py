"""What the checks of assignment 05 share: the tasks, the toolkit handed over to every check, the
test functions of tasks 5.1 and 5.2 (f with ``reference_impl.numpy``, ∇f in plain NumPy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import reference_impl.numpy as rnp

from .._core import Task

TASKS = {
    "t5_1": Task("t5_1", "hvp", "Hessian-vector products", "произведение гессиана на вектор", 20),
    "t5_2": Task(
        "t5_2", "hessian", "the Hessian from HVPs", "гессиан из произведений на вектор", 15
    ),
    "t5_3": Task("t5_3", "hutchinson", "Hutchinson's trace estimator", "оценка Хатчинсона", 25),
    "t5_4": Task("t5_4", "chain-vjp", "reverse pass of a chain", "обратный проход по цепочке", 10),
    "t5_5": Task(
        "t5_5", "sqrt-checkpointing", "√n checkpointing", "контрольные точки по стратегии √n", 30
    ),
}
T1, T2, T3, T4, T5 = TASKS.values()
TOOLKIT = ("jvp", "vjp", "grad")


# (label, f with reference_impl.numpy, ∇f in plain NumPy, x's shape, shapes of the constants)
HvpCase = tuple[str, Callable[..., Any], Callable[..., Any], tuple[int, ...], list[tuple[int, ...]]]


def _tanh_ls(c: list[np.ndarray]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    A, b = c

    def f(x: Any) -> Any:
        return 0.5 * rnp.sum((rnp.tanh(A @ x) - b) ** 2)

    def grad_f(x: Any) -> Any:
        t = np.tanh(A @ x)
        return A.T @ ((1 - t**2) * (t - b))

    return f, grad_f


def _logistic(c: list[np.ndarray]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    A, lam = c[0], 0.3

    def f(x: Any) -> Any:
        return rnp.sum(rnp.log(1 + rnp.exp(A @ x))) + 0.5 * lam * rnp.sum(x * x)

    def grad_f(x: Any) -> Any:
        return A.T @ (1 / (1 + np.exp(-(A @ x)))) + lam * x

    return f, grad_f


def _matrix_tanh(c: list[np.ndarray]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    (W,) = c

    def f(X: Any) -> Any:
        return 0.5 * rnp.sum(rnp.tanh(X @ W) ** 2)

    def grad_f(X: Any) -> Any:
        t = np.tanh(X @ W)
        return ((1 - t**2) * t) @ W.T

    return f, grad_f


def _quartic(c: list[np.ndarray]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    (B,) = c
    S = 0.5 * (B + B.T)

    def f(x: Any) -> Any:
        return 0.25 * (x @ (S @ x)) ** 2

    def grad_f(x: Any) -> Any:
        Sx = S @ x
        return (x @ Sx) * Sx

    return f, grad_f


def _sin_exp(c: list[np.ndarray]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    (a,) = c

    def f(x: Any) -> Any:
        return rnp.sum(rnp.sin(x) * rnp.exp(a * x))

    def grad_f(x: Any) -> Any:
        e = np.exp(a * x)
        return np.cos(x) * e + a * np.sin(x) * e

    return f, grad_f


Builder = Callable[[list[np.ndarray]], tuple[Callable[[Any], Any], Callable[[Any], Any]]]
_HVP_VISIBLE: list[tuple[str, Builder, tuple[int, ...], list[tuple[int, ...]]]] = [
    ("f(x) = ½‖tanh(Ax) − b‖²", _tanh_ls, (4,), [(3, 4), (3,)]),
]
_HVP_HIDDEN: list[tuple[str, Builder, tuple[int, ...], list[tuple[int, ...]]]] = [
    ("f(x) = ½‖tanh(Ax) − b‖²", _tanh_ls, (7,), [(5, 7), (5,)]),
    ("f(x) = Σ log(1 + exp(Ax)) + 0.15‖x‖²", _logistic, (6,), [(9, 6)]),
    ("f(X) = ½‖tanh(XW)‖² for a matrix X", _matrix_tanh, (3, 4), [(4, 2)]),
    ("f(x) = ¼(xᵀSx)²", _quartic, (5,), [(5, 5)]),
    ("f(x) = Σ sin(xᵢ)·exp(aᵢxᵢ)", _sin_exp, (8,), [(8,)]),
]
