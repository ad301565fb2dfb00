"""The hidden checks of this assignment: other inputs, sizes and statistics than the visible ones.

Not part of the student distribution (``course release --student`` leaves out every
``_hidden.py`` and ``_reference.py``); the package loads this module lazily when a hidden check
is called (``check.hidden_t…``), in the grader."""

from __future__ import annotations

from collections.abc import Callable

from .._core import (
    rng,
    task_check,
    uniform,
)
from ._common import T1, T2, T3, T4, T5, Kept, _mds_data
from .t1_1_2 import _fd_case, _model_case, _optimal_case, _step_cases
from .t1_3 import _coordinate_case, _two_point_exact, _two_point_statistics
from .t1_4_5 import _gd_case, _mds_case, _zo_case


@task_check(T1, hidden=True)
def hidden_t1_1(fd_grad: Callable) -> None:
    """Other functions, d = 1 and 7, matrix arguments, a number as x (0-d), other steps (large
    and small); every result kept and compared again after the later calls."""
    cases = [
        ("f(x) = Σ sin(aᵢxᵢ) + ½ xᵀBx", (7,), 3e-3),
        ("f(x) = log(1 + ‖x‖²) + exp(c·x)", (1,), 1e-2),
        ("f(x) = log(1 + ‖x‖²) + exp(c·x)", (5,), 2e-3),
        ("f(X) = Σ tanh(X·c) + Π cos(X)", (2, 3), 1e-3),
        ("f(X) = Σ tanh(X·c) + Π cos(X)", (4, 1), 1e-3),
        ("f(x) = Σ sin(aᵢxᵢ) + ½ xᵀBx", (), 1e-3),
        ("f(x) = log(1 + ‖x‖²) + exp(c·x)", (3,), 0.3),  # a large step
        ("f(X) = Σ tanh(X·c) + Π cos(X)", (2, 2), 1e-7),  # a small one
    ]
    kept = Kept(T1)
    for label, shape, eps in cases:
        for method in ("central", "forward"):
            _fd_case(fd_grad, label, shape, eps, method, "hidden", kept)


@task_check(T2, hidden=True)
def hidden_t1_2(error_model: Callable, optimal_step: Callable, default_step: Callable) -> None:
    """Random magnitudes and steps; the default step on unseen functions and scales of x."""
    kept = Kept(T2)
    for trial in range(3):
        g = rng(T2, trial)
        f_abs, M = 10 ** uniform(g, (), -3, 3), 10 ** uniform(g, (), -3, 3)
        eps = 10 ** uniform(g, (4,), -12, -1)
        for method in ("central", "forward"):
            _model_case(error_model, eps, method, f_abs, M, kept)
            _optimal_case(optimal_step, method, f_abs, M)
    _step_cases(
        default_step,
        [
            ("exp", -1.3),
            ("exp", 3.0),
            ("sin", 0.9),
            ("sin", -1.6),
            ("log", 0.6),
            ("log", 1.2e4),
            ("x³ − 2x", 1.7),
            ("x³ − 2x", -60.0),
            ("x³ − 2x", 900.0),
            ("arctan", 0.4),
            ("arctan", 5.0),
            ("exp", 1e-3),
            ("sqrt", 2.0),
            ("sqrt", 3e3),
        ],
    )


@task_check(T3, hidden=True, replaces=("fd_grad",))
def hidden_t1_3(two_point_estimator: Callable, coordinate_estimator: Callable) -> None:
    """Dimensions 1, 3, 12 and a matrix w; 2000 estimates each; coordinates on a matrix."""
    for shape in [(1,), (3,), (12,), (2, 4)]:
        _two_point_exact(two_point_estimator, shape, 1e-3, "hidden")
    for shape in [(3,), (12,), (2, 4)]:
        _two_point_statistics(two_point_estimator, shape, 1e-3, 2000, "hidden")
    kept = Kept(T3)
    _coordinate_case(coordinate_estimator, (1,), 1e-3, "hidden", kept)
    _coordinate_case(coordinate_estimator, (3, 2), 1e-5, "hidden", kept)
    _coordinate_case(coordinate_estimator, (3, 2), 1e-2, "hidden, a large step", kept)


@task_check(T4, hidden=True)
def hidden_t1_4(mds_loss: Callable, mds_grad: Callable) -> None:
    """Other N and dimensions: 2 points on a line, 7 in R³, 11 in the plane."""
    kept = Kept(T4)
    for n, d in [(2, 1), (7, 3), (11, 2), (7, 3)]:
        _mds_case(mds_loss, mds_grad, n, d, ("hidden", len(kept.items)), kept)


@task_check(T5, hidden=True, replaces=("two_point_estimator",))
def hidden_t1_5(
    gradient_descent: Callable, zo_gradient_descent: Callable, step_sizes: Callable
) -> None:
    """Other sizes, odd budgets, other steps and seeds (the step sizes are judged by the
    visible test, on the problem the student tuned them for)."""
    kept = Kept(T5)
    for n, d, n_calls, seed in [(6, 2, 31, 5), (5, 3, 50, 11), (5, 3, 50, 12)]:
        g = rng(T5, ("hidden", n, d, seed))
        D, W = _mds_data(g, n, d, 0.1)
        _gd_case(gradient_descent, D, W, 1e-3, n_calls, kept)
        _zo_case(zo_gradient_descent, D, W, 2e-4, n_calls, 1e-5, seed, kept)
