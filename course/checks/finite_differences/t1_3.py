"""Checks of task 1.3: the two-point and the coordinate estimators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from reference_impl import zeroth_order as rzo

from .._core import (
    CallCounter,
    assert_close,
    fail,
    rng,
    student_call,
    substituted,
    task_check,
    uniform,
)
from .._lazy import reference_names
from ._common import _FD_FUNCS, T3, Kept, _is_numeric, _spd, unchanged

#: the course's task 1.1 (None in the student distribution: the student's own is used)
(course_fd_grad,) = reference_names(__package__, "course_fd_grad")


# ---------------------------------------------------------------------------------------------
# task 1.3: the two-point and the coordinate estimators
# ---------------------------------------------------------------------------------------------
class _Quadratic:
    """L(w) = ½ wᵀAw + bᵀw on w of any shape (flattened); ∇L = Aw + b exactly, and the central
    difference along any direction is exact up to round-off."""

    def __init__(self, g: np.random.Generator, shape: tuple[int, ...]):
        n = int(np.prod(shape))
        self.shape = shape
        self.A = _spd(g, n)
        self.b = g.normal(size=n)

    def __call__(self, w: Any) -> float:
        x = np.asarray(w, dtype=float).ravel()
        return float(0.5 * x @ self.A @ x + self.b @ x)

    def grad(self, w: np.ndarray) -> np.ndarray:
        return (self.A @ w.ravel() + self.b).reshape(self.shape)


def _directions(
    L: CallCounter, w: np.ndarray, eps: float, what: str, inputs: dict[str, Any]
) -> np.ndarray:
    """The directions v of the recorded calls L(w + εv), L(w − εv), one row per estimate."""
    points = [np.asarray(args[0], dtype=float) for args, _ in L.calls]
    if any(p.shape != w.shape for p in points):
        bad = next(p.shape for p in points if p.shape != w.shape)
        fail(
            T3,
            f"{what} called L with an array of shape {bad}, but w has shape {w.shape}"
            f" / {what} вызвала L с массивом формы {bad}, а w имеет форму {w.shape}",
            inputs=inputs,
            show_values=False,
            hint="draw v of w's shape: rng.standard_normal(w.shape) / v должен иметь форму w",
        )
    if len(points) % 2:
        fail(
            T3,
            f"{what} made {len(points)} calls of L: it must call L exactly twice per "
            "estimate"
            f" / {what} вызвала L {len(points)} раз: на каждую оценку нужно ровно два вызова",
            inputs=inputs,
            show_values=False,
        )
    vs = []
    for plus, minus in zip(points[0::2], points[1::2], strict=True):
        v = (plus - w) / eps
        if np.allclose(minus, w, rtol=0, atol=1e-12) or np.allclose(plus, w, rtol=0, atol=1e-12):
            fail(
                T3,
                f"{what} evaluated L at w itself: that is a one-sided difference"
                f" / {what} вычислила L в самой точке w: это односторонняя разность",
                inputs=inputs,
                show_values=False,
                hint="the two-point estimator uses L(w + εv) and L(w − εv), divided by 2ε"
                " / двухточечная оценка использует L(w + εv) и L(w − εv), делённые на 2ε",
            )
        if not np.allclose(minus, w - eps * v, rtol=0, atol=1e-9 * max(1.0, np.abs(w).max())):
            fail(
                T3,
                f"{what}: the two calls of L must be at w + εv and w − εv with the same v"
                f" / {what}: два вызова L должны быть в точках w + εv и w − εv с одним и тем"
                " же v",
                inputs=inputs,
                expected=("w + εv", "w − εv"),
                obtained=(plus, minus),
                hint="draw one v per estimate and use it for both calls"
                " / выбирайте одно v на оценку и используйте его в обоих вызовах",
            )
        vs.append(v.ravel())
    return np.array(vs)


def _two_point_exact(est: Callable, shape: tuple[int, ...], eps: float, seed: object) -> None:
    """One estimate: two calls at w ± εv, ‖v‖ = 1, G = d·(L₊ − L₋)/(2ε)·v; the generator."""
    g = rng(T3, ("exact", shape, seed))
    L0 = _Quadratic(g, shape)
    w = np.asarray(uniform(g, shape, -1.5, 1.5), dtype=float)
    L = CallCounter(L0)
    d = w.size
    inputs = {"w": w, "eps": eps, "rng": "np.random.default_rng(7)"}
    what = "two_point_estimator(L, w, eps, rng)"
    given = w.copy()
    got = student_call(T3, what, est, L, given, eps, np.random.default_rng(7), inputs=inputs)
    unchanged(T3, what, {"w": given}, {"w": w}, inputs)
    if L.count != 2:
        fail(
            T3,
            f"{what} called L {L.count} times; the two-point estimator makes exactly 2 "
            "calls (one direction v)"
            f" / {what} вызвала L {L.count} раз; двухточечная оценка делает ровно 2 вызова "
            "(одно направление v)",
            inputs=inputs,
            expected=2,
            obtained=L.count,
        )
    v = _directions(L, w, eps, what, inputs)[0]
    norm = float(np.linalg.norm(v))
    if not abs(norm - 1) <= 1e-6:  # NaN fails
        fail(
            T3,
            f"the direction v has ‖v‖ = {norm:.6g}: v must lie on the unit sphere"
            f" / у направления v ‖v‖ = {norm:.6g}: v должен лежать на единичной сфере",
            inputs=inputs,
            expected=1.0,
            obtained=norm,
            hint="normalise a standard normal vector: v = z / ‖z‖ with z = rng.standard_normal("
            "w.shape)"
            " / нормируйте стандартный нормальный вектор: v = z / ‖z‖, z = "
            "rng.standard_normal(w.shape)",
        )
    plus, minus = (np.asarray(args[0], dtype=float) for args, _ in L.calls)
    expected = (d * (L0(plus) - L0(minus)) / (2 * eps) * v).reshape(shape)
    obtained = np.asarray(got, dtype=float) if _is_numeric(got) else got
    if (
        d > 1
        and _is_numeric(got)
        and obtained.shape == shape
        and np.allclose(obtained * d, expected, rtol=1e-7, atol=1e-9)
    ):
        fail(
            T3,
            f"the factor d = {d} is missing / пропущен множитель d = {d}",
            inputs=inputs,
            expected=expected,
            obtained=got,
            hint="G = d·(L(w+εv) − L(w−εv))/(2ε)·v: E[vvᵀ] = I/d on the sphere, "
            "so without the factor d the estimate is d times too small"
            " / без множителя d оценка в d раз меньше нужной",
        )
    assert_close(
        T3,
        "two-point estimate G (for the v read back from your calls of L)",
        got,
        expected,
        inputs=inputs,
        hint="G = d·(L(w+εv) − L(w−εv))/(2ε)·v with d = w.size"
        " and the shape of w"
        " / G = d·(L(w+εv) − L(w−εv))/(2ε)·v, d = w.size, "
        "форма как у w",
    )
    again = student_call(
        T3,
        what,
        est,
        _Quadratic(rng(T3, ("exact", shape, seed)), shape),
        w.copy(),
        eps,
        np.random.default_rng(7),
        inputs=inputs,
    )
    if not np.allclose(np.asarray(again, dtype=float), obtained, rtol=1e-12, atol=0):
        fail(
            T3,
            "two calls with generators of the same seed gave different estimates"
            " / два вызова с генераторами с одинаковым seed дали разные оценки",
            inputs=inputs,
            expected=obtained,
            obtained=again,
            hint="draw v with the generator rng that you are given (rng.standard_normal(…)), "
            "not with np.random.*"
            " / выбирайте v с помощью данного генератора rng (rng.standard_normal(…)), а "
            "не np.random.*",
        )
    if d > 1:
        other = student_call(
            T3, what, est, L0, w.copy(), eps, np.random.default_rng(8), inputs=inputs
        )
        if np.allclose(np.asarray(other, dtype=float), obtained, rtol=1e-12, atol=0):
            fail(
                T3,
                "the estimate does not depend on the generator: v must be random"
                " / оценка не зависит от генератора: v должен быть случайным",
                inputs=inputs,
                show_values=False,
                hint="v = z / ‖z‖, z = rng.standard_normal("
                "w.shape)"
                " / v = z / ‖z‖, z = "
                "rng.standard_normal(w.shape)",
            )


def _sphere_moments(d: int) -> tuple[float, float]:
    """E[v₁⁴] and Var[(1/d)·Σᵢ vᵢ⁴] for v uniform on the unit sphere of R^d."""
    m4 = 3 / (d * (d + 2))
    m8 = 105 / (d * (d + 2) * (d + 4) * (d + 6))
    m44 = 9 / (d * (d + 2) * (d + 4) * (d + 6))
    return m4, (m8 - m4**2 + (d - 1) * (m44 - m4**2)) / d


def _two_point_statistics(
    est: Callable, shape: tuple[int, ...], eps: float, n: int, seed: object
) -> None:
    """Mean of n estimates vs ∇L (Mahalanobis, the covariance of a quadratic L); the fourth
    moment of the directions vs the uniform distribution on the sphere."""
    g = rng(T3, ("stat", shape, seed))
    L0 = _Quadratic(g, shape)
    w = np.asarray(uniform(g, shape, -1.5, 1.5), dtype=float)
    L = CallCounter(L0)
    d = w.size
    gen = rng(T3, ("draws", shape, seed))
    inputs = {"w": w, "eps": eps, "number of estimates": n}
    what = "two_point_estimator(L, w, eps, rng)"
    estimates = student_call(
        T3, what, lambda: [est(L, w.copy(), eps, gen) for _ in range(n)], inputs=inputs
    )
    G = np.array([np.asarray(e, dtype=float).ravel() for e in estimates])
    grad = L0.grad(w).ravel()
    mean = G.mean(axis=0)
    vs = _directions(L, w, eps, what, inputs)
    if len(vs) != n:
        fail(
            T3,
            f"{n} estimates made {L.count} calls of L instead of {2 * n}"
            f" / {n} оценок сделали {L.count} вызовов L вместо {2 * n}",
            inputs=inputs,
            expected=2 * n,
            obtained=L.count,
        )
    if d >= 2:
        gg = grad @ grad
        cov = d / (d + 2) * (gg * np.eye(d) + 2 * np.outer(grad, grad)) - np.outer(grad, grad)
        delta = mean - grad
        stat = float(n * delta @ np.linalg.solve(cov, delta))
        limit = d + 7 * np.sqrt(2 * d)
        if not stat <= limit:  # NaN fails
            k = float(mean @ grad / gg)
            why = f"; ⟨mean, ∇L⟩/‖∇L‖² = {k:.3g}" + (
                f" ≈ 1/d = {1 / d:.3g}: the factor d is missing" if abs(k * d - 1) < 0.2 else ""
            )
            fail(
                T3,
                f"the estimator is biased: the mean of {n} estimates is "
                f"{np.sqrt(stat / d):.3g} standard errors (per coordinate) from ∇L{why}"
                f" / оценка смещена: среднее {n} оценок отстоит от ∇L на "
                f"{np.sqrt(stat / d):.3g} стандартных ошибок (на координату)",
                inputs=inputs,
                expected=grad.reshape(shape),
                obtained=mean.reshape(shape),
                hint="E[G] = ∇L needs E[d·vvᵀ] = I: v uniform on the unit sphere and the "
                "factor d"
                " / E[G] = ∇L требует E[d·vvᵀ] = I: v равномерно на единичной сфере и "
                "множитель d",
            )
    if d >= 3:
        m4, var = _sphere_moments(d)
        v = vs / np.linalg.norm(vs, axis=1, keepdims=True)
        s = float(np.mean(v**4))
        z = (s - m4) / np.sqrt(var / n)
        if not abs(z) <= 6:  # NaN fails
            fail(
                T3,
                f"the directions v are not uniform on the sphere: the mean of vᵢ⁴ over "
                f"{n} directions is {s:.4g}, for the uniform distribution it is "
                f"3/(d(d+2)) = {m4:.4g} ({z:+.1f} standard errors)"
                f" / направления v не равномерны на сфере: среднее vᵢ⁴ равно {s:.4g}, а "
                f"должно быть {m4:.4g}",
                show_values=False,
                inputs=inputs,
                hint="v = z/‖z‖ with z ~ N(0, I) is uniform on the sphere; a "
                "normalised uniform vector from a cube is not (too many "
                "directions towards the corners)"
                " / v = z/‖z‖ при z ~ N(0, I) равномерно на сфере; "
                "нормированный равномерный вектор из куба — нет",
            )


def _coordinate_case(
    coordinate_estimator: Callable,
    shape: tuple[int, ...],
    eps: float,
    seed: object,
    kept: Kept | None = None,
) -> None:
    """One call; the results of the earlier calls (``kept``) compared again afterwards."""
    g = rng(T3, ("coordinate", shape, seed))
    label = "f(x) = log(1 + ‖x‖²) + exp(c·x)"
    fun = _FD_FUNCS[label](g, shape)
    w = np.asarray(uniform(g, shape, -1.5, 1.5), dtype=float)
    L = CallCounter(fun)
    inputs = {"L": label, "w": w, "eps": eps}
    given = w.copy()
    what = "coordinate_estimator(L, w, eps)"
    with substituted(coordinate_estimator, fd_grad=course_fd_grad):
        got = student_call(T3, what, coordinate_estimator, L, given, eps, inputs=inputs)
    unchanged(T3, what, {"w": given}, {"w": w}, inputs)
    if kept is not None:
        kept.recheck(what)
        kept.keep(f"{what} at w of shape {shape}", got)
    expected = rzo.coordinate_estimator(fun, w, eps=eps).grad
    assert_close(
        T3,
        "coordinate estimate",
        got,
        expected,
        inputs=inputs,
        hint="G = Σᵢ (L(w + εeᵢ) − L(w − εeᵢ))/(2ε)·eᵢ: central differences, e.g. "
        "fd_grad(L, w, eps, 'central')"
        " / G = Σᵢ (L(w + εeᵢ) − L(w − εeᵢ))/(2ε)·eᵢ: центральные разности, "
        "например fd_grad(L, w, eps, 'central')",
    )
    if L.count != 2 * w.size:
        fail(
            T3,
            f"coordinate_estimator called L {L.count} times for d = {w.size}; it needs "
            f"exactly 2d = {2 * w.size}"
            f" / coordinate_estimator вызвала L {L.count} раз при d = {w.size}; нужно ровно "
            f"2d = {2 * w.size}",
            inputs=inputs,
            expected=2 * w.size,
            obtained=L.count,
        )


@task_check(T3, replaces=("fd_grad",))
def t1_3(two_point_estimator: Callable, coordinate_estimator: Callable) -> None:
    """One estimate in R⁵ read back exactly; 1000 estimates: unbiased, uniform directions;
    the coordinate estimator at two points of R⁴ (the first result kept)."""
    _two_point_exact(two_point_estimator, (5,), 1e-4, "visible")
    _two_point_statistics(two_point_estimator, (5,), 1e-3, 1000, "visible")
    kept = Kept(T3)
    _coordinate_case(coordinate_estimator, (4,), 1e-4, "visible", kept)
    _coordinate_case(coordinate_estimator, (4,), 1e-4, "visible, second point", kept)


# ---------------------------------------------------------------------------------------------
