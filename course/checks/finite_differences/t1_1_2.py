"""Checks of tasks 1.1 (the finite-difference gradient) and 1.2 (the error model and the step)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from reference_impl import finite_diff as rfd

from .._core import (
    CallCounter,
    assert_close,
    diagnose,
    fail,
    rng,
    student_call,
    task_check,
    uniform,
)
from ._common import _FD_FUNCS, EPS_MACH, T1, T2, Fun, Kept, _is_numeric, frozen, unchanged


# ---------------------------------------------------------------------------------------------
# task 1.1: the finite-difference gradient
# ---------------------------------------------------------------------------------------------
def _fd_quotients(f: Fun, x: np.ndarray, eps: float, kind: str) -> np.ndarray:
    """Difference quotients per coordinate with step ``eps`` (for the diagnosis of mistakes)."""
    out = np.zeros(x.size)
    for i in range(x.size):
        unit = np.zeros(x.size)
        unit[i] = eps
        e = unit.reshape(x.shape)
        if kind == "forward":
            out[i] = (float(f(x + e)) - float(f(x))) / eps
        elif kind == "backward":
            out[i] = (float(f(x)) - float(f(x - e))) / eps
        else:
            out[i] = (float(f(x + e)) - float(f(x - e))) / (2 * eps)
    return out.reshape(x.shape)


def _fd_diagnosis(f: Fun, x: np.ndarray, eps: float, method: str, got: Any) -> str | None:
    """Name the scheme or the step that the student's result matches, if any."""
    try:
        o = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None
    if o.shape != x.shape:
        return None
    candidates = {
        "forward differences (f(x + εeᵢ) − f(x)) / ε": ("forward", eps),
        "central differences (f(x + εeᵢ) − f(x − εeᵢ)) / (2ε)": ("central", eps),
        "backward differences (f(x) − f(x − εeᵢ)) / ε": ("backward", eps),
        "central differences with the step 2ε": ("central", 2 * eps),
        "central differences with the step ε/2": ("central", eps / 2),
        "forward differences with the step 2ε": ("forward", 2 * eps),
    }
    for name, (kind, step) in candidates.items():
        if kind == method and step == eps:
            continue
        if np.allclose(o, _fd_quotients(f, x, step, kind), rtol=1e-9, atol=1e-11):
            return (
                f"the result equals {name}, not the {method} scheme with the step ε"
                f" / результат совпадает с {name}, а не со схемой {method} с шагом ε"
            )
    near_exact = _fd_quotients(f, x, 1e-5, "central")  # error ~1e-10 for these functions
    if np.allclose(o, near_exact, rtol=1e-6, atol=1e-8) and not np.allclose(
        _fd_quotients(f, x, eps, method), near_exact, rtol=1e-6, atol=1e-8
    ):
        return (
            "the result is closer to the exact gradient than the difference quotient with "
            "the step ε is: use the step eps that you are given, not a step of your own"
            " / результат ближе к точному градиенту, чем разностное отношение с шагом ε: "
            "используйте данный шаг eps, а не свой"
        )
    return None


def _fd_case(
    fd_grad: Callable,
    label: str,
    shape: tuple[int, ...],
    eps: float,
    method: str,
    seed: object,
    kept: Kept | None = None,
) -> None:
    """One call of ``fd_grad``; the results of the earlier calls (``kept``) compared again."""
    g = rng(T1, (label, shape, seed))
    fun = _FD_FUNCS[label](g, shape)
    x = np.asarray(uniform(g, shape, -1.5, 1.5), dtype=float)
    x_before = x.copy()
    inputs = {"f": label, "x": x_before, "eps": eps, "method": method}

    def shape_guard(z: Any) -> Any:
        if np.shape(z) != x.shape:
            fail(
                T1,
                f"f was called with an array of shape {np.shape(z)}, but x has shape "
                f"{x.shape}"
                f" / f вызвана с массивом формы {np.shape(z)}, а x имеет форму {x.shape}",
                inputs=inputs,
                show_values=False,
                hint="perturb x itself: x + eps * e where e has x's shape (e.flat[i] = 1)"
                " / сдвигайте сам x: x + eps * e, где e имеет форму x (e.flat[i] = 1)",
            )
        return fun(z)

    f = CallCounter(shape_guard)
    got = student_call(
        T1, f"fd_grad(f, x, eps, {method!r})", fd_grad, f, x, eps, method, inputs=inputs
    )
    if kept is not None:
        kept.recheck(f"fd_grad(f, x, eps, {method!r})")
    if not np.array_equal(x, x_before):
        fail(
            T1,
            "input changed in place: fd_grad modified its argument x"
            " / аргумент изменён на месте: fd_grad изменила свой аргумент x",
            inputs=inputs,
            expected=x_before,
            obtained=x,
            hint="build the shifted points as new arrays: x + eps * e_i (not x[i] += eps)"
            " / стройте сдвинутые точки как новые массивы: x + eps * e_i (а не x[i] += eps)",
        )
    expected = rfd.fd_grad(fun, x_before, method, eps).value
    obtained = np.asarray(got, dtype=float) if _is_numeric(got) else got
    if not (
        _is_numeric(got)
        and obtained.shape == expected.shape
        and np.allclose(obtained, expected, rtol=1e-7, atol=1e-9)
    ):
        fail(
            T1,
            f"wrong gradient by {method} differences / неверный градиент по разностям ({method})",
            inputs=inputs,
            expected=expected,
            obtained=got,
            diagnosis=_fd_diagnosis(fun, x_before, eps, method, got) or diagnose(got, expected),
            hint="forward: (f(x + εeᵢ) − f(x)) / ε; central: (f(x + εeᵢ) − f(x − εeᵢ)) / (2ε); "
            "the result has the shape of x"
            " / результат имеет форму x",
        )
    d = x.size
    needed = d + 1 if method == "forward" else 2 * d
    if f.count != needed:
        rule = (
            "d + 1: f(x) once, then f(x + εeᵢ) for each i"
            if method == "forward"
            else "2d: f(x + εeᵢ) and f(x − εeᵢ) for each i"
        )
        fail(
            T1,
            f"fd_grad called f {f.count} times for d = {d}; {method} differences need "
            f"exactly {rule}"
            f" / fd_grad вызвала f {f.count} раз при d = {d}; нужно ровно {rule}",
            inputs=inputs,
            expected=needed,
            obtained=f.count,
            hint="compute f(x) once, before the loop over the coordinates"
            " / вычислите f(x) один раз, до цикла по координатам"
            if method == "forward"
            else "two calls per coordinate, no more / два вызова на координату, не больше",
        )
    if kept is not None:
        kept.keep(f"fd_grad(f, x, eps, {method!r}) on {label}", got)


@task_check(T1)
def t1_1(fd_grad: Callable) -> None:
    """Forward and central differences in R³ with ε = 10⁻³ at two points (the first result
    kept); the number of calls."""
    kept = Kept(T1)
    for method, seed in [("forward", "visible"), ("central", "visible"), ("forward", 2)]:
        _fd_case(fd_grad, "f(x) = Σ sin(aᵢxᵢ) + ½ xᵀBx", (3,), 1e-3, method, seed, kept)


# ---------------------------------------------------------------------------------------------
# task 1.2: the error model and the step
# ---------------------------------------------------------------------------------------------
_MODEL_HINTS = {
    "forward": "forward: E(ε) = M·ε/2 + 2·ε_mach·|f|/ε (M bounds |f''|)",
    "central": "central: E(ε) = M·ε²/6 + ε_mach·|f|/ε (M bounds |f'''|)",
}
_STEP_HINTS = {
    "forward": "set E'(ε) = M/2 − 2ε_mach|f|/ε² = 0: ε* = 2·√(ε_mach·|f|/M)",
    "central": "set E'(ε) = M·ε/3 − ε_mach|f|/ε² = 0: ε* = (3·ε_mach·|f|/M)^(1/3)",
}


def _model_case(
    error_model: Callable,
    eps: Any,
    method: str,
    f_abs: float,
    M: float,
    kept: Kept | None = None,
) -> None:
    inputs = {"eps": eps, "method": method, "f_abs": f_abs, "M": M}
    given = np.array(eps, copy=True) if isinstance(eps, np.ndarray) else eps
    what = "error_model(eps, method, f_abs, M)"
    got = student_call(T2, what, error_model, given, method, f_abs, M, inputs=inputs)
    unchanged(T2, what, {"eps": given}, {"eps": frozen(eps)}, inputs)
    if kept is not None:
        kept.recheck(what)
        kept.keep(f"{what} with method = {method!r}", got)
    expected = rfd.fd_error_model(eps, method, f=f_abs, d2f=M, d3f=M).total
    assert_close(
        T2,
        f"error_model for {method} differences",
        got,
        expected,
        inputs=inputs,
        hint=_MODEL_HINTS[method] + "; eps may be an array: compute elementwise"
        " / eps может быть массивом: считайте поэлементно",
        rtol=1e-9,
        atol=0.0,
    )


def _optimal_case(optimal_step: Callable, method: str, f_abs: float, M: float) -> None:
    inputs = {"method": method, "f_abs": f_abs, "M": M}
    got = student_call(
        T2, "optimal_step(method, f_abs, M)", optimal_step, method, f_abs, M, inputs=inputs
    )
    expected = rfd.optimal_step(method, f=f_abs, d2f=M, d3f=M)
    assert_close(
        T2,
        f"optimal_step for {method} differences",
        got,
        expected,
        inputs=inputs,
        hint=_STEP_HINTS[method],
        rtol=1e-9,
        atol=0.0,
    )


# 1-D test functions for the step: (f, f', points); each changes on the scale of max(1, |x|)
_STEP_FUNCS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "exp": (np.exp, np.exp),
    "sin": (np.sin, np.cos),
    "log": (np.log, lambda x: 1 / x),
    "x³ − 2x": (lambda x: x**3 - 2 * x, lambda x: 3 * x**2 - 2),
    "arctan": (np.arctan, lambda x: 1 / (1 + x * x)),
    "sqrt": (np.sqrt, lambda x: 0.5 / np.sqrt(x)),
}
_STEP_GRID = np.logspace(-15, -1, 57)
_STEP_MAX_RATIO = 60.0  # per case: error with the student's step / error with the best step
_STEP_MAX_GEOMEAN = 8.0  # over the cases


def _fd_errors(f: Callable, df: Callable, xs: np.ndarray, h: np.ndarray, method: str) -> float:
    """The median over the points ``xs`` of |difference quotient − f'| with steps ``h``; the
    quotient divides by the step actually taken, ``(x + h) − x`` (exactly representable)."""
    xp = xs + h
    xm = xs if method == "forward" else xs - h
    with np.errstate(all="ignore"):
        q = (f(xp) - f(xm)) / (xp - xm)
    return float(np.median(np.abs(q - df(xs))))


def _step_ratio(
    default_step: Callable, name: str, x0: float, method: str, kept: Kept
) -> tuple[float, str]:
    f, df = _STEP_FUNCS[name]
    xs = x0 * (1 + 0.003 * np.arange(15))
    inputs = {"x": xs, "method": method}
    given = xs.copy()
    got = student_call(
        T2,
        "default_step(x, method)",
        default_step,
        given,
        method,
        inputs=inputs,
        hint="x may be an array: use np.maximum(1.0, np.abs(x)), "
        "not max(1, abs(x))"
        " / x может быть массивом: np.maximum(1.0, np.abs(x)),"
        " а не max(1, abs(x))",
    )
    unchanged(T2, "default_step(x, method)", {"x": given}, {"x": xs}, inputs)
    kept.recheck("default_step(x, method)")
    kept.keep(f"default_step(x ≈ {x0:g}, {method!r})", got)
    h = np.asarray(got, dtype=float) if _is_numeric(got) else None
    if h is None or np.shape(h) not in ((), xs.shape):
        fail(
            T2,
            "default_step(x, method) must return a step for every element of x"
            " / default_step(x, method) должна вернуть шаг для каждого элемента x",
            inputs=inputs,
            expected=f"an array of shape {xs.shape}",
            obtained=got,
            hint="compute elementwise with np.maximum(1.0, np.abs(x))"
            " / считайте поэлементно через np.maximum(1.0, np.abs(x))",
        )
    h = np.broadcast_to(h, xs.shape)
    if not (np.all(np.isfinite(h)) and np.all(h > 0)) or np.any(xs + h == xs):
        fail(
            T2,
            "default_step returned a step that is not positive, or too small to move x"
            " / default_step вернула неположительный шаг или слишком малый, чтобы сдвинуть x",
            inputs=inputs,
            expected="0 < ε with x + ε ≠ x",
            obtained=h,
        )
    floor = 4 * EPS_MACH * float(np.max(np.abs(df(xs))))
    err = _fd_errors(f, df, xs, h, method)
    best = min(_fd_errors(f, df, xs, s * np.maximum(1.0, np.abs(xs)), method) for s in _STEP_GRID)
    ratio = (err + floor) / (best + floor)
    text = (
        f"f = {name} at x ≈ {x0:g}: step {float(h[0]):.3g}, error {err:.3g}, best on a "
        f"grid of steps {best:.3g} ({ratio:.3g}×)"
    )
    return ratio, text


def _step_cases(default_step: Callable, cases: Sequence[tuple[str, float]]) -> None:
    for method in ("forward", "central"):
        kept = Kept(T2)
        results = [_step_ratio(default_step, name, x0, method, kept) for name, x0 in cases]
        ratios = np.array([r for r, _ in results])
        worst = int(np.argmax(ratios))
        geomean = float(np.exp(np.mean(np.log(ratios))))
        # positive evidence only: a NaN ratio (a NaN step, error) fails
        if not (np.all(ratios <= _STEP_MAX_RATIO) and geomean <= _STEP_MAX_GEOMEAN):
            fail(
                T2,
                f"default_step(x, {method!r}) gives errors far above the best step: "
                f"{results[worst][1]}; geometric mean over {len(cases)} functions "
                f"{geomean:.3g}× (allowed: {_STEP_MAX_RATIO:g}× each, "
                f"{_STEP_MAX_GEOMEAN:g}× on average)"
                f" / погрешность default_step(x, {method!r}) намного больше, чем при лучшем "
                "шаге",
                show_values=False,
                hint="balance truncation and round-off: ε ≈ √ε_mach (forward) or "
                "ε_mach^(1/3) (central), times max(1, |x|) (the scale of x)"
                " / уравновесьте ошибку отбрасывания и ошибку округления: ε ≈ √ε_mach "
                "(прямые) или ε_mach^(1/3) (центральные), умноженное на max(1, |x|)",
            )


@task_check(T2)
def t1_2(error_model: Callable, optimal_step: Callable, default_step: Callable) -> None:
    """The model and its minimum at fixed arguments; the default step on exp, sin and log."""
    eps = np.array([1e-10, 1e-6, 1e-2])
    kept = Kept(T2)
    for method in ("forward", "central"):
        _model_case(error_model, eps, method, 1.0, 1.0, kept)
        _model_case(error_model, 1e-5, method, 2.5, 0.4)
        _optimal_case(optimal_step, method, 1.0, 1.0)
        _optimal_case(optimal_step, method, 2.5, 0.4)
    _step_cases(default_step, [("exp", 0.7), ("sin", 2.2), ("log", 250.0)])


# ---------------------------------------------------------------------------------------------
