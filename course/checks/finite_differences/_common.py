"""What the checks of assignment 01 share: the tasks, the test functions, the data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._core import (
    Task,
    uniform,
)

TASKS = {
    "t1_1": Task(
        "t1_1", "fd-grad", "finite-difference gradient", "градиент конечными разностями", 20
    ),
    "t1_2": Task("t1_2", "optimal-step", "error model and step", "модель ошибки и выбор шага", 20),
    "t1_3": Task(
        "t1_3",
        "zero-order-estimators",
        "zero-order estimators",
        "безградиентные оценки градиента",
        25,
    ),
    "t1_4": Task(
        "t1_4",
        "mds-gradient",
        "MDS loss and gradient",
        "функция потерь многомерного шкалирования и её градиент",
        15,
    ),
    "t1_5": Task(
        "t1_5",
        "gd-vs-zero-order",
        "GD vs zero-order GD",
        "градиентный спуск против безградиентного",
        20,
    ),
}
T1, T2, T3, T4, T5 = TASKS.values()

EPS_MACH = float(np.finfo(np.float64).eps)


Fun = Callable[[np.ndarray], Any]


def _sin_quadratic(g: np.random.Generator, shape: tuple[int, ...]) -> Fun:
    a, B = uniform(g, shape, 0.5, 2.0), _spd(g, int(np.prod(shape)))
    return lambda x: float(np.sum(np.sin(a * x)) + 0.5 * x.ravel() @ B @ x.ravel())


def _log_exp(g: np.random.Generator, shape: tuple[int, ...]) -> Fun:
    c = uniform(g, shape, -0.5, 0.5)
    return lambda x: float(np.log1p(np.sum(x**2)) + np.exp(np.sum(c * x)))


def _tanh_cos(g: np.random.Generator, shape: tuple[int, ...]) -> Fun:
    c = uniform(g, shape, 0.5, 1.5)
    return lambda x: float(np.sum(np.tanh(x * c)) + np.prod(np.cos(x)))


_FD_FUNCS: dict[str, Callable[[np.random.Generator, tuple[int, ...]], Fun]] = {
    "f(x) = Σ sin(aᵢxᵢ) + ½ xᵀBx": _sin_quadratic,
    "f(x) = log(1 + ‖x‖²) + exp(c·x)": _log_exp,
    "f(X) = Σ tanh(X·c) + Π cos(X)": _tanh_cos,
}


def _spd(g: np.random.Generator, n: int) -> np.ndarray:
    A = g.normal(size=(n, n))
    return A @ A.T / n + np.eye(n)


def _is_numeric(x: Any) -> bool:
    try:
        np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        return False
    return True


def _mds_data(
    g: np.random.Generator, n: int, d: int, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """A symmetric D with a zero diagonal (squared distances of random points, perturbed) and a
    point W."""
    X = g.normal(size=(n, d))
    D = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    E = noise * np.abs(g.normal(size=(n, n)))
    D = D + E + E.T
    np.fill_diagonal(D, 0.0)
    return D, g.normal(size=(n, d))
