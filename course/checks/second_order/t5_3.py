"""Checks of task 5.3: Hutchinson's estimator on a counted matvec budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._core import diagnose, fail, is_dual, rng, student_call, task_check
from ._common import T3, TOOLKIT  # noqa: F401
from ._toolkit import Traced, grad, jvp, vjp  # noqa: F401  (handed over: TOOLKIT)


class _Matvec:
    """``v ↦ X v`` that records every probe and product, with a budget (never refuses)."""

    def __init__(self, X: np.ndarray):
        self.X, self.n = X, X.shape[0]
        self.probes: list[np.ndarray] = []
        self.products: list[np.ndarray] = []

    def __call__(self, v: Any) -> np.ndarray:
        if isinstance(v, Traced) or is_dual(v):
            raise TypeError("matvec(v) takes a plain array / matvec(v) принимает обычный массив")
        v = np.asarray(v, dtype=float)
        if v.shape != (self.n,):
            raise ValueError(
                f"matvec(v) multiplies one vector of shape ({self.n},); got shape "
                f"{v.shape}"
                f" / matvec(v) умножает один вектор формы ({self.n},)"
            )
        Xv = self.X @ v
        self.probes.append(v.copy())
        self.products.append(Xv.copy())
        return Xv

    @property
    def count(self) -> int:
        return len(self.probes)


def _sym(g: np.random.Generator, n: int, diag: float = 1.0, off: float = 0.4) -> np.ndarray:
    """A random symmetric matrix with diagonal entries of scale ``diag``, off-diagonal ``off``."""
    B = g.normal(scale=off, size=(n, n))
    X = 0.5 * (B + B.T)
    X[np.diag_indices(n)] = g.normal(loc=diag, scale=diag, size=n)
    return X


def rademacher_variance(X: np.ndarray) -> float:
    """Variance of one Rademacher sample vᵀXv: 2(‖X‖_F² − Σ X_ii²) (X symmetric)."""
    return float(2 * (np.sum(X**2) - np.sum(np.diag(X) ** 2)))


def _pair(got: Any, inputs: dict[str, Any]) -> tuple[float, float]:
    try:
        est, se = (float(np.asarray(a, dtype=float)) for a in got)
    except (TypeError, ValueError):
        fail(
            T3,
            "hutchinson must return a pair of numbers (estimate, stderr)"
            " / hutchinson должна вернуть пару чисел (оценка, стандартная ошибка)",
            inputs=inputs,
            expected="(estimate, stderr)",
            obtained=got,
        )
    return est, se


def _probe_problems(probes: Sequence[np.ndarray]) -> str | None:
    P = np.array(probes)
    if not np.all(np.isfinite(P)):
        return (
            "a probe contains nan or inf"
            " / пробные векторы — не векторы Радемахера: в векторе есть nan или inf"
        )
    values = np.unique(P)
    if not set(values.tolist()) <= {-1.0, 1.0}:
        shown = values[:6].tolist()
        if set(values.tolist()) <= {0.0, 1.0}:
            return (
                f"the probes' entries are {shown}: 0/1 entries have E[vvᵀ] ≠ I; map them to "
                "±1 (2·b − 1)"
                " / пробные векторы — не векторы Радемахера: элементы 0/1 дают E[vvᵀ] ≠ I; "
                "переведите их в ±1 (2·b − 1)"
            )
        return (
            f"the probes' entries are not ±1 (e.g. {np.round(shown, 4).tolist()}): these "
            "are not Rademacher probes (Gaussian probes have the larger variance 2‖X‖_F²)"
            " / пробные векторы — не векторы Радемахера: элементы не ±1 (у гауссовых "
            "дисперсия больше, 2‖X‖_F²)"
        )
    if len(probes) > 1 and np.all(P == P[0]) and P[0].size * (len(probes) - 1) >= 30:
        # (independent probes coincide with probability 2^(−n(V−1)): flag only the impossible)
        if np.all(P[0] == 1.0):
            return (
                "every probe is the all-ones vector: its vᵀXv is the sum of all entries of X"
                " / пробные векторы — не векторы Радемахера: все они из одних единиц, и vᵀXv "
                "— сумма всех элементов X"
            )
        return (
            f"all {len(probes)} probes are the same vector: draw a fresh probe for every "
            "matvec, or the samples are not independent"
            f" / пробные векторы — не векторы Радемахера: все {len(probes)} одинаковы; берите"
            " новый вектор для каждого matvec, иначе выборки зависимы"
        )
    return None


def _hutchinson_case(hutchinson: Callable, X: np.ndarray, V: int, seed: int) -> None:
    n = X.shape[0]
    op = _Matvec(X)
    inputs = {"X": X, "n": n, "num_probes": V, "rng": f"np.random.default_rng({seed})"}
    got = student_call(
        T3,
        "hutchinson(matvec, n, num_probes, rng)",
        hutchinson,
        op,
        n,
        V,
        np.random.default_rng(seed),
        inputs=inputs,
    )
    est, se = _pair(got, inputs)
    if op.count != V:
        fail(
            T3,
            f"hutchinson used {op.count} matvecs for a budget of num_probes = {V}; the "
            "budget must be spent exactly: one matvec per probe"
            f" / hutchinson сделала {op.count} matvec при бюджете num_probes = {V}; бюджет "
            "нужно израсходовать точно: один matvec на пробный вектор",
            inputs=inputs,
            expected=V,
            obtained=op.count,
            hint="draw V probes and call matvec once for each; compute nothing else with X"
            " / выберите V пробных векторов и вызовите matvec по разу для каждого; больше "
            "ничего с X не вычисляйте",
        )
    problem = _probe_problems(op.probes)
    if problem:
        fail(
            T3,
            "the probes are not independent Rademacher vectors: " + problem,
            inputs=inputs,
            show_values=False,
            hint="v = rng.choice([-1.0, 1.0], size=n) for each probe (E[vvᵀ] = I)"
            " / v = rng.choice([-1.0, 1.0], size=n) для каждого пробного вектора",
        )
    samples = np.array([p @ q for p, q in zip(op.probes, op.products, strict=True)])
    expected = float(np.mean(samples))
    if not np.isclose(est, expected, rtol=1e-9, atol=1e-12):
        diag = diagnose(est, expected, 1e-9, 1e-12)
        hint = (
            "the estimate is the mean (1/V) Σ v_iᵀ X v_i over the probes you multiplied"
            " / оценка — среднее (1/V) Σ v_iᵀ X v_i по пробным векторам, на которые вы "
            "умножали"
        )
        if abs(est - V * expected) <= 1e-9 * abs(V * expected):
            hint = (
                f"off by the factor V = {V}: divide the sum by V (the mean, not the sum)"
                f" / отличается в V = {V} раз: разделите сумму на V (среднее, а не сумма)"
            )
        fail(
            T3,
            "estimate ≠ (1/V) Σ v_iᵀ X v_i for the probes passed to matvec"
            " / оценка ≠ (1/V) Σ v_iᵀ X v_i для векторов, переданных в matvec",
            inputs=inputs,
            expected=expected,
            obtained=est,
            diagnosis=diag,
            hint=hint,
        )
    expected_se = float(np.std(samples, ddof=1) / np.sqrt(V))
    if not np.isclose(se, expected_se, rtol=1e-9, atol=1e-12):
        ratio = se / expected_se if expected_se else float("nan")
        hint = (
            "stderr = s/√V, s = np.std(samples, ddof=1), the samples being v_iᵀ X v_i"
            " / выборки — значения v_iᵀ X v_i"
        )
        if np.isclose(ratio, np.sqrt((V - 1) / V), rtol=1e-9):
            hint = (
                "the sample standard deviation divides by V − 1 (ddof=1), not by V"
                " / выборочное стандартное отклонение делится на V − 1 (ddof=1), а не на V"
            )
        elif np.isclose(ratio, np.sqrt(V), rtol=1e-9):
            hint = (
                "that is the standard deviation of one sample: divide by √V"
                " / это стандартное отклонение одной выборки: разделите на √V"
            )
        elif np.isclose(se, expected_se**2 * V, rtol=1e-9):
            hint = (
                "that is the variance of one sample: take the square root, divide by √V"
                " / это дисперсия одной выборки: извлеките корень и разделите на √V"
            )
        fail(
            T3,
            "standard error of the estimate / стандартная ошибка оценки",
            inputs=inputs,
            expected=expected_se,
            obtained=se,
            diagnosis=diagnose(se, expected_se, 1e-9, 1e-12),
            hint=hint,
        )


def _determinism(hutchinson: Callable, X: np.ndarray, V: int) -> None:
    n = X.shape[0]
    runs = [
        _pair(
            student_call(T3, "hutchinson", hutchinson, _Matvec(X), n, V, np.random.default_rng(s)),
            {},
        )[0]
        for s in (11, 11, 12)
    ]
    inputs = {"X": X, "num_probes": V, "rng": "default_rng(11), default_rng(11), default_rng(12)"}
    if runs[0] != runs[1] or runs[0] == runs[2]:
        fail(
            T3,
            "the random numbers must all come from the rng argument: the same seed must "
            "give the same estimate and another seed another one"
            " / все случайные числа должны браться из аргумента rng: одинаковый seed даёт "
            "одинаковую оценку, другой — другую",
            inputs=inputs,
            expected="equal, equal, different",
            obtained=runs,
            hint="use rng.choice / rng.integers…, not np.random.… nor a generator of your own"
            " / используйте rng.choice / rng.integers…, а не np.random.… и не свой "
            "генератор",
        )


@task_check(T3)
def t5_3(hutchinson: Callable) -> None:
    """A 6×6 matrix: the budget, the probes, the estimate and its standard error; the rng."""
    g = rng(T3, "visible")
    X = _sym(g, 6)
    _hutchinson_case(hutchinson, X, 40, 5)
    _determinism(hutchinson, X, 10)
