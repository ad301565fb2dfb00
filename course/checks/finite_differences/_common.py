"""What the checks of assignment 01 share: the tasks, the test functions, the data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .._core import (
    Task,
    fail,
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


# ---------------------------------------------------------------------------------------------
# used as code is used (issue 22): results kept, arguments looked at after the call. Shared by
# the checks of 01, 02, 04 and 05 (imported from here).
# ---------------------------------------------------------------------------------------------
class _Node(NamedTuple):
    """What :func:`frozen` keeps of a dual number or a graph node."""

    value: Any
    tangent: Any


def frozen(x: Any) -> Any:
    """A deep copy of the numbers in ``x`` (arrays, floats, tuples, lists, dicts, objects with
    ``value``/``tangent``) to compare later; None where nothing can be copied."""
    if isinstance(x, np.ndarray):
        return np.array(x, copy=True)
    if isinstance(x, (bool, int, float, complex, np.number)):
        return x
    if isinstance(x, (tuple, list)):
        return tuple(frozen(v) for v in x)
    if isinstance(x, dict):
        return {k: frozen(v) for k, v in x.items()}
    try:  # a dual number or a graph node: its value and tangent
        value = x.value
    except Exception:
        return None
    return _Node(frozen(value), frozen(getattr(x, "tangent", None)))


def same(now: Any, then: Any) -> bool:
    """Whether ``now`` still holds the numbers :func:`frozen` copied (``then``)."""
    if then is None:
        return True
    if isinstance(then, np.ndarray):
        a = np.asarray(now)
        return a.shape == then.shape and bool(
            np.array_equal(a, then, equal_nan=then.dtype.kind in "fc")
        )
    if isinstance(then, _Node):
        return same(getattr(now, "value", None), then.value) and same(
            getattr(now, "tangent", None), then.tangent
        )
    if isinstance(then, tuple):
        return (
            isinstance(now, (tuple, list))
            and len(now) == len(then)
            and all(same(a, b) for a, b in zip(now, then, strict=True))
        )
    if isinstance(then, dict):
        return (
            isinstance(now, dict)
            and set(now) == set(then)
            and all(same(now[k], v) for k, v in then.items())
        )
    try:
        return bool(np.array_equal(np.asarray(now), np.asarray(then), equal_nan=True))
    except (TypeError, ValueError):
        return bool(np.array_equal(np.asarray(now), np.asarray(then)))


def unchanged(
    task: Task, what: str, given: dict[str, Any], saved: dict[str, Any], inputs: Any = None
) -> None:
    """Fail naming the argument that ``what`` changed in place (``saved`` from :func:`frozen`)."""
    for name, value in given.items():
        if not same(value, saved[name]):
            fail(
                task,
                f"input changed in place: {what} modified its argument {name}"
                f" / аргумент изменён на месте: {what} изменила свой аргумент {name}",
                inputs=inputs,
                expected=saved[name],
                obtained=value,
                hint="never write into an argument (x += …, x[i] = …, x.clear(), "
                "x.value = …): build new arrays / никогда не пишите в аргумент: "
                "создавайте новые массивы",
            )


#: 2.2's and 3.4's lecture_gradient gave another value at a point after a call at another point
LECTURE_GRADIENT_KEPT_STATE = (
    "state kept between calls: lecture_gradient gave another gradient at a point after a call "
    "at another point / состояние сохраняется между вызовами: lecture_gradient дала другой "
    "градиент в точке после вызова в другой точке"
)


class Kept:
    """Results kept from earlier calls of the student's functions and compared again after
    later calls: a result that changes shares memory with state the function keeps."""

    def __init__(self, task: Task):
        self.task = task
        self.items: list[tuple[str, Any, Any]] = []

    def keep(self, what: str, got: Any) -> Any:
        self.items.append((what, got, frozen(got)))
        return got

    def recheck(self, later: str) -> None:
        for what, got, then in self.items:
            if not same(got, then):
                fail(
                    self.task,
                    f"result changed by a later call: what {what} returned changed when "
                    f"{later} ran afterwards; it shares memory with state kept between calls"
                    f" / результат изменён более поздним вызовом: то, что вернула {what}, "
                    f"изменилось при вызове {later}; он разделяет память с состоянием, "
                    "сохраняемым между вызовами",
                    expected=then,
                    obtained=got,
                    hint="return a new array on every call (a buffer reused between calls "
                    "must be copied out: buf.copy()) / возвращайте новый массив при каждом "
                    "вызове (буфер копируйте: buf.copy())",
                )
