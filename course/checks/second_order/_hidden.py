"""The hidden checks of this assignment: other inputs, sizes and statistics than the visible ones.

Not part of the student distribution (``course release --student`` leaves out every
``_hidden.py`` and ``_reference.py``); the package loads this module lazily when a hidden check
is called (``check.hidden_t…``), in the grader."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._core import (
    fail,
    rng,
    student_call,
    task_check,
    uniform,
)
from ._common import (
    _HVP_HIDDEN,
    T1,
    T2,
    T3,
    T4,
    T5,
    TOOLKIT,
    _logistic,
    _matrix_tanh,
)
from ._toolkit import grad, jvp, vjp  # noqa: F401  (the toolkit itself)
from .t5_1 import _hvp_case
from .t5_2 import _COLUMN_HINT, _hessian_case, _hessian_of
from .t5_3 import _hutchinson_case, _Matvec, _pair, _sym, rademacher_variance
from .t5_4_5 import _chain_case


@task_check(T1, hidden=True, replaces=TOOLKIT)
def hidden_t5_1(hvp_fwd_over_rev: Callable, hvp_rev_over_rev: Callable) -> None:
    """Other functions and sizes, a matrix argument; one call of grad_f per HVP; both
    compositions, the last function called again (same x and another v, another x)."""
    for i, (label, build, shape, consts) in enumerate(_HVP_HIDDEN):
        last = i == len(_HVP_HIDDEN) - 1
        _hvp_case(hvp_fwd_over_rev, "fwd", label, build, shape, consts, "hidden", again=last)
        _hvp_case(hvp_rev_over_rev, "rev", label, build, shape, consts, "hidden", again=last)


@task_check(T2, hidden=True)
def hidden_t5_2(hessian_from_hvp: Callable) -> None:
    """Other sizes, a matrix x (4-D result), n = 1, and a non-symmetric linear map."""
    H, x = _hessian_of("logistic", _logistic, (6,), [(8, 6)], "hidden")
    _hessian_case(
        hessian_from_hvp, "v ↦ ∇²f(x)v, f(x) = Σ log(1 + exp(Ax)) + 0.15‖x‖²", H, x, _COLUMN_HINT
    )
    H, x = _hessian_of("matrix", _matrix_tanh, (2, 3), [(3, 2)], "hidden")
    _hessian_case(
        hessian_from_hvp,
        "v ↦ ∇²f(X)v, f(X) = ½‖tanh(XW)‖², X of shape (2, 3)",
        H,
        x,
        "H[i, j, k, l] = ∂²f/∂X_ij∂X_kl: use unit matrices E_kl of X's shape and "
        "reshape the result to x.shape + x.shape"
        " / H[i, j, k, l] = ∂²f/∂X_ij∂X_kl: используйте единичные матрицы E_kl формы X"
        " и приведите результат к форме x.shape + x.shape",
    )
    g = rng(T2, "scalar")
    x1 = uniform(g, (1,))
    _hessian_case(hessian_from_hvp, "v ↦ 2.5·v (n = 1)", np.array([[2.5]]), x1, _COLUMN_HINT)
    _hessian_case(
        hessian_from_hvp,
        "v ↦ −4·v, x a number (the Hessian has shape ())",
        np.array([[-4.0]]),
        uniform(g, ()),
        _COLUMN_HINT,
    )
    big = np.diag([1e8, -3.0, 1e-6]) + 1e-3 * np.ones((3, 3))
    _hessian_case(
        hessian_from_hvp,
        "v ↦ Mv, entries from 1e-6 to 1e8, negative too",
        big,
        uniform(g, (3,), -1e3, 1e3),
        _COLUMN_HINT,
    )
    M = uniform(g, (5, 5))
    _hessian_case(
        hessian_from_hvp,
        "v ↦ Mv, a non-symmetric M (any linear map)",
        M,
        uniform(g, (5,)),
        _COLUMN_HINT,
    )


def _statistics(hutchinson: Callable, X: np.ndarray, V: int, reps: int, seed: int) -> None:
    """Unbiasedness and variance over ``reps`` runs, within ~4.5 standard errors."""
    n = X.shape[0]
    gen = np.random.default_rng(seed)
    ops = [_Matvec(X) for _ in range(reps)]

    def run() -> list[Any]:
        return [hutchinson(op, n, V, gen) for op in ops]

    outs = student_call(T3, "hutchinson (repeated)", run)
    est = np.array([_pair(o, {})[0] for o in outs])
    tr, var1 = float(np.trace(X)), rademacher_variance(X)
    inputs = {"X": X, "num_probes": V, "repetitions": reps, "rng": f"default_rng({seed})"}
    bound = 4.5 * math.sqrt(var1 / (V * reps))
    if not abs(est.mean() - tr) <= bound:  # NaN fails
        fail(
            T3,
            f"biased: the mean of {reps} estimates is {est.mean():.6g}, tr X = {tr:.6g} "
            f"(allowed: ± {bound:.3g}, 4.5 standard errors of Var = 2(‖X‖_F² − Σ X_ii²)/V)"
            f" / оценка смещена: среднее {reps} оценок равно {est.mean():.6g}, а tr X = "
            f"{tr:.6g}",
            inputs=inputs,
            expected=tr,
            obtained=float(est.mean()),
            hint="E[vᵀXv] = tr X needs E[vvᵀ] = I: independent ±1 entries, and the mean "
            "over the V probes"
            " / E[vᵀXv] = tr X требует E[vvᵀ] = I: независимые элементы ±1 и среднее по V "
            "пробным векторам",
        )
    ratio = float(est.var(ddof=1) / (var1 / V))
    if not 0.65 <= ratio <= 1.45:
        fail(
            T3,
            f"the variance of the estimates is {ratio:.3g} × the Rademacher variance "
            "2(‖X‖_F² − Σ X_ii²)/V"
            f" / дисперсия оценок в {ratio:.3g} раз отличается от дисперсии для векторов "
            "Радемахера",
            inputs=inputs,
            expected=var1 / V,
            obtained=float(est.var(ddof=1)),
            hint="independent probes, each entry ±1 with probability ½; a fresh draw from rng "
            "for every probe"
            " / независимые пробные векторы, каждый элемент ±1 с вероятностью ½; для "
            "каждого вектора новая выборка из rng",
        )
    P = np.array([p for op in ops for p in op.probes])
    frac, k = float(np.mean(P == 1.0)), P.size
    if not abs(frac - 0.5) <= 5 * math.sqrt(0.25 / k):
        fail(
            T3,
            f"{frac:.4f} of the probes' entries are +1, not ½"
            f" / доля элементов +1 равна {frac:.4f}, а не ½",
            inputs=inputs,
            expected=0.5,
            obtained=frac,
            hint="each entry is +1 or −1 with probability ½"
            " / каждый элемент равен +1 или −1 с вероятностью"
            " ½",
        )


@task_check(T3, hidden=True)
def hidden_t5_3(hutchinson: Callable) -> None:
    """Unseen sizes and budgets; unbiasedness and variance over repeated runs."""
    g = rng(T3, "hidden")
    for n, V, seed in [(9, 7, 1), (30, 64, 2), (3, 2, 3)]:
        _hutchinson_case(hutchinson, _sym(g, n, diag=2.0, off=0.5), V, seed)
    _statistics(hutchinson, _sym(g, 12, diag=3.0, off=0.6), 6, 400, 2024)
    _statistics(hutchinson, _sym(g, 20, diag=0.5, off=1.0), 15, 300, 7)


@task_check(T4, hidden=True)
def hidden_t5_4(chain_vjp: Callable) -> None:
    """Unseen lengths (1 and 2 included) and sizes."""
    for n, d in [(1, 3), (2, 4), (13, 7), (40, 16)]:
        _chain_case(T4, chain_vjp, "chain_vjp", n, d, 1)


@task_check(T5, hidden=True, replaces=("chain_vjp",))
def hidden_t5_5(chain_vjp_sqrt: Callable) -> None:
    """Unseen n (squares and not, 1 and 2), larger states with a tracemalloc memory bound."""
    for n, d in [(1, 3), (2, 4), (10, 6), (37, 8), (50, 5)]:
        _chain_case(T5, chain_vjp_sqrt, "chain_vjp_sqrt", n, d, 1)
    _chain_case(T5, chain_vjp_sqrt, "chain_vjp_sqrt", 100, 256, 2, measure_bytes=True)
