"""What the checks of assignment 04 share: the tasks, watching factorisations and solves,
comparisons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core import (
    Task,
    assert_close,
    fail,
    rng,
)
from ._watch import Call, Watch

__all__ = ["TASKS", "Call", "Watch"]

TASKS = {
    "t4_1": Task("t4_1", "solve-jvp", "JVP of solve", "JVP решения линейной системы", 20),
    "t4_2": Task("t4_2", "solve-vjp", "VJP of solve", "VJP решения линейной системы", 25),
    "t4_3": Task(
        "t4_3", "dot-product-test", "the dot-product test", "тест скалярного произведения", 20
    ),
    "t4_4": Task(
        "t4_4",
        "svd-values",
        "derivatives of the singular values",
        "производные сингулярных чисел",
        20,
    ),
    "t4_5": Task(
        "t4_5", "svd-vjp", "the full VJP of the SVD", "полный VJP сингулярного разложения", 15
    ),
}
T1, T2, T3, T4, T5 = TASKS.values()


# ---------------------------------------------------------------------------------------------
# counting factorisations and solves in the student's code: _watch (also run by a graded kernel)
# ---------------------------------------------------------------------------------------------
def _names(calls: Sequence[Call]) -> str:
    return ", ".join(c.name for c in calls) or "none"


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------
def well_conditioned(gen: np.random.Generator, n: int) -> np.ndarray:
    """``randn(n, n) + n·I``: invertible and well conditioned (HIPS autograd's test matrices)."""
    return gen.normal(size=(n, n)) + n * np.eye(n)


def ill_conditioned(gen: np.random.Generator, n: int, kappa: float) -> np.ndarray:
    """``U diag(1, …, 1/κ) Vᵀ`` with random orthogonal ``U``, ``V`` and singular values spread
    evenly on a log scale: the condition number is ``kappa``."""
    U, _ = np.linalg.qr(gen.normal(size=(n, n)))
    V, _ = np.linalg.qr(gen.normal(size=(n, n)))
    return (U * np.logspace(0.0, -np.log10(kappa), n)) @ V.T


def _solve_problem(
    task: Task,
    n: int,
    k: int | None,
    seed: object,
    scale: Any = 1.0,
    kappa: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """A well-conditioned A (or, with ``kappa``, one of that condition number) times ``scale``
    (a number, or one factor per row: rows whose entries differ by orders of magnitude), and b
    with ``k`` columns (a vector for None)."""
    g = rng(task, seed)
    base = well_conditioned(g, n) if kappa is None else ill_conditioned(g, n, kappa)
    A = (np.reshape(scale, (-1, 1)) if np.ndim(scale) else scale) * base
    b = g.normal(size=(n,) if k is None else (n, k))
    return A, b, g


def solve_tol(A: np.ndarray) -> float:
    """The tolerance of results computed from a solve with an ill-conditioned ``A``:
    100·κ(A)·ε (at least 1e-7), relative to the largest entry. A backward-stable solve (LU with
    pivoting, QR) is accurate to about κ·ε in norm, and so is the reference; the normal
    equations (κ²·ε) or a solve with A + δI are not."""
    kappa = float(np.linalg.cond(A))
    return max(1e-7, 100.0 * kappa * float(np.finfo(float).eps))


def _outer(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``u vᵀ`` for vectors, ``U Vᵀ`` for matrices of right-hand sides (n×k each)."""
    n = u.shape[0]
    return u.reshape(n, -1) @ v.reshape(n, -1).T


def _array(x: Any) -> np.ndarray | None:
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        return None


def _close(
    a: Any, b: Any, rtol: float = 1e-7, atol: float = 1e-9, tol: float | None = None
) -> bool:
    """Elementwise; with ``tol`` (:func:`solve_tol`), relative to the largest entry of ``b``."""
    x, y = _array(a), _array(b)
    if x is None or y is None or x.shape != y.shape:
        return False
    if tol is not None:
        rtol, atol = tol, tol * float(np.max(np.abs(y), initial=0.0))
    return bool(np.allclose(x, y, rtol=rtol, atol=atol))


def _compare(
    task: Task,
    what: str,
    obtained: Any,
    expected: Any,
    *,
    inputs: dict[str, Any],
    hint: str,
    wrong: Sequence[tuple[str, Any, str]] = (),
    tol: float | None = None,
) -> None:
    """Like :func:`assert_close`; when ``obtained`` equals one of the ``wrong`` values
    ``(formula, value, hint)`` the diagnosis names the formula the solution computed. ``tol``:
    see :func:`solve_tol`."""
    if _close(obtained, expected, tol=tol):
        return
    for formula, value, why in wrong:
        if _close(obtained, value, tol=tol) and not _close(value, expected, tol=tol):
            fail(
                task,
                f"wrong {what} / неверный результат: {what}",
                inputs=inputs,
                expected=expected,
                obtained=obtained,
                diagnosis=f"you computed {formula} / вы вычислили {formula}",
                hint=why,
            )
    close_to(task, what, obtained, expected, inputs=inputs, hint=hint, tol=tol)


def close_to(
    task: Task,
    what: str,
    obtained: Any,
    expected: Any,
    *,
    inputs: dict[str, Any] | None = None,
    hint: str | None = None,
    tol: float | None = None,
) -> None:
    """:func:`assert_close`, with ``tol`` (:func:`solve_tol`) relative to the largest entry."""
    if tol is None:
        assert_close(task, what, obtained, expected, inputs=inputs, hint=hint)
        return
    scale = float(np.max(np.abs(np.asarray(expected, dtype=float)), initial=0.0))
    assert_close(
        task, what, obtained, expected, inputs=inputs, hint=hint, rtol=tol, atol=tol * scale
    )


def _pair(task: Task, label: str, out: Any, inputs: dict[str, Any], expected: str) -> tuple:
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        fail(
            task,
            f"{label} must return a pair {expected} / {label} должна вернуть пару {expected}",
            inputs=inputs,
            expected=expected,
            obtained=out,
        )
    return tuple(out)


def _unchanged(
    task: Task, label: str, given: dict[str, Any], saved: dict[str, Any], inputs: dict[str, Any]
) -> None:
    for name, value in given.items():
        if not np.array_equal(np.asarray(value), saved[name]):
            fail(
                task,
                f"input changed in place: {label} modified its argument {name}"
                f" / аргумент изменён на месте: {label} изменила свой аргумент {name}",
                inputs=inputs,
                expected=saved[name],
                obtained=value,
                hint="do not change the arguments in place (x -= …, x[...] = …): make new arrays"
                " / не меняйте аргументы на месте (x -= …, x[...] = …): создавайте новые "
                "массивы",
            )


def _copies(**arrays: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """What the student gets, and saved copies to detect changes in place."""
    return ({k: v.copy() for k, v in arrays.items()}, {k: v.copy() for k, v in arrays.items()})
