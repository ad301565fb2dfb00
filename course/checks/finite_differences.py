"""Checks of assignment 01, finite differences and zero-order methods: the finite-difference
gradient with a count of calls, the error model and the step, the two-point and coordinate
estimators, the lecture's multidimensional scaling (MDS) loss and its gradient, gradient descent
against zero-order gradient descent at an equal budget of calls.

Expected values come from ``reference_impl`` (``finite_diff``, ``zeroth_order``, ``grad``) at
seeded random points, on dimensions and functions the visible tests do not show. Calls of the
student's functions are counted with :class:`CallCounter`; random estimators are checked twice:
exactly (the directions ``v`` are read back from the points where ``L`` was called) and
statistically (the mean of many estimates against ∇L, within a few standard errors of the
estimator's known covariance; the fourth moment of ``v`` against the uniform distribution on the
sphere). ``t1_3`` substitutes the course's ``fd_grad`` and ``t1_5`` the course's two-point
estimator for the student's, so that each task is graded on its own code only.

Question 1.6 is not autograded. For TAs: with E G = ∇f and E‖G‖² ≈ n‖∇f‖², the descent lemma
gives E f(x_{k+1}) ≤ f(x_k) − α‖∇f‖² + Lα²n‖∇f‖²/2; the best step α = 1/(nL) (GD: 1/L) lowers f
by ‖∇f‖²/(2nL), n times less than GD's ‖∇f‖²/(2L): n times more iterations, two calls each. The
coordinate estimator is exact up to O(ε²) but costs 2n calls per step: the same factor n in calls.
On the cities (n = 16) the stable zero-order step is several times smaller than GD's, and
zero-order GD needs several times more calls to reach GD's loss (the experiment cell).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl import finite_diff as rfd
from reference_impl import zeroth_order as rzo

from ._core import (
    CallCounter,
    Task,
    assert_close,
    diagnose,
    fail,
    rng,
    student_call,
    substituted,
    task_check,
    uniform,
)

TASKS = {
    "t1_1": Task("t1_1", "fd-grad", "finite-difference gradient",
                 "градиент конечными разностями", 20),
    "t1_2": Task("t1_2", "optimal-step", "error model and step", "модель ошибки и выбор шага", 20),
    "t1_3": Task("t1_3", "zero-order-estimators", "zero-order estimators",
                 "безградиентные оценки градиента", 25),
    "t1_4": Task("t1_4", "mds-gradient", "MDS loss and gradient",
                 "функция потерь многомерного шкалирования и её градиент", 15),
    "t1_5": Task("t1_5", "gd-vs-zero-order", "GD vs zero-order GD",
                 "градиентный спуск против безградиентного", 20),
}
T1, T2, T3, T4, T5 = TASKS.values()

EPS_MACH = float(np.finfo(np.float64).eps)

__all__ = ["EPS_MACH", "TASKS", "course_fd_grad", "course_two_point", "hidden_t1_1",
           "hidden_t1_2", "hidden_t1_3", "hidden_t1_4", "hidden_t1_5", "lecture_problem",
           "mds_reference_loss", "t1_1", "t1_2", "t1_3", "t1_4", "t1_5"]

Fun = Callable[[np.ndarray], Any]


# ---------------------------------------------------------------------------------------------
# task 1.1: the finite-difference gradient
# ---------------------------------------------------------------------------------------------
def _fd_quotients(f: Fun, x: np.ndarray, eps: float, kind: str) -> np.ndarray:
    """Difference quotients per coordinate with step ``eps`` (for the diagnosis of mistakes)."""
    out = np.zeros(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = eps
        e = e.reshape(x.shape)
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
            return f"the result equals {name}, not the {method} scheme with the step ε"
    near_exact = _fd_quotients(f, x, 1e-5, "central")  # error ~1e-10 for these functions
    if (np.allclose(o, near_exact, rtol=1e-6, atol=1e-8) and not
            np.allclose(_fd_quotients(f, x, eps, method), near_exact, rtol=1e-6, atol=1e-8)):
        return ("the result is closer to the exact gradient than the difference quotient with "
                "the step ε is: use the step eps that you are given, not a step of your own")
    return None


def _sin_quadratic(g: np.random.Generator, shape: tuple[int, ...]) -> Fun:
    a, B = uniform(g, shape, 0.5, 2.0), _spd(g, int(np.prod(shape)))
    return lambda x: float(np.sum(np.sin(a * x)) + 0.5 * x.ravel() @ B @ x.ravel())


def _log_exp(g: np.random.Generator, shape: tuple[int, ...]) -> Fun:
    c = uniform(g, shape, -0.5, 0.5)
    return lambda x: float(np.log1p(np.sum(x**2)) + np.exp(np.sum(c * x)))


def _tanh_cos(g: np.random.Generator, shape: tuple[int, ...]) -> Fun:
    c = uniform(g, shape, 0.5, 1.5)
    return lambda x: float(np.sum(np.tanh(x * c)) + np.prod(np.cos(x)))


# test functions of tasks 1.1 and 1.3: label -> builder(generator, shape of x)
_FD_FUNCS: dict[str, Callable[[np.random.Generator, tuple[int, ...]], Fun]] = {
    "f(x) = Σ sin(aᵢxᵢ) + ½ xᵀBx": _sin_quadratic,
    "f(x) = log(1 + ‖x‖²) + exp(c·x)": _log_exp,
    "f(X) = Σ tanh(X·c) + Π cos(X)": _tanh_cos,
}


def _spd(g: np.random.Generator, n: int) -> np.ndarray:
    A = g.normal(size=(n, n))
    return A @ A.T / n + np.eye(n)


def _fd_case(fd_grad: Callable, label: str, shape: tuple[int, ...], eps: float, method: str,
             seed: object) -> None:
    g = rng(T1, (label, shape, seed))
    fun = _FD_FUNCS[label](g, shape)
    x = np.asarray(uniform(g, shape, -1.5, 1.5), dtype=float)
    x_before = x.copy()
    inputs = {"f": label, "x": x_before, "eps": eps, "method": method}

    def shape_guard(z: Any) -> Any:
        if np.shape(z) != x.shape:
            fail(T1, f"f was called with an array of shape {np.shape(z)}, but x has shape "
                     f"{x.shape}", inputs=inputs, show_values=False,
                 hint="perturb x itself: x + eps * e where e has x's shape (e.flat[i] = 1)")
        return fun(z)

    f = CallCounter(shape_guard)
    got = student_call(T1, f"fd_grad(f, x, eps, {method!r})", fd_grad, f, x, eps, method,
                       inputs=inputs)
    if not np.array_equal(x, x_before):
        fail(T1, "fd_grad modified its argument x", inputs=inputs, expected=x_before, obtained=x,
             hint="build the shifted points as new arrays: x + eps * e_i (not x[i] += eps)")
    expected = rfd.fd_grad(fun, x_before, method, eps).value
    obtained = np.asarray(got, dtype=float) if _is_numeric(got) else got
    if not (_is_numeric(got) and obtained.shape == expected.shape
            and np.allclose(obtained, expected, rtol=1e-7, atol=1e-9)):
        fail(T1, f"wrong gradient by {method} differences", inputs=inputs, expected=expected,
             obtained=got,
             diagnosis=_fd_diagnosis(fun, x_before, eps, method, got)
             or diagnose(got, expected),
             hint="forward: (f(x + εeᵢ) − f(x)) / ε; central: (f(x + εeᵢ) − f(x − εeᵢ)) / (2ε); "
                  "the result has the shape of x")
    d = x.size
    needed = d + 1 if method == "forward" else 2 * d
    if f.count != needed:
        rule = ("d + 1: f(x) once, then f(x + εeᵢ) for each i" if method == "forward"
                else "2d: f(x + εeᵢ) and f(x − εeᵢ) for each i")
        fail(T1, f"fd_grad called f {f.count} times for d = {d}; {method} differences need "
                 f"exactly {rule}", inputs=inputs, expected=needed, obtained=f.count,
             hint="compute f(x) once, before the loop over the coordinates"
             if method == "forward" else "two calls per coordinate, no more")


def _is_numeric(x: Any) -> bool:
    try:
        np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        return False
    return True


@task_check(T1)
def t1_1(fd_grad: Callable) -> None:
    """Forward and central differences in R³ with ε = 10⁻³; the number of calls."""
    for method in ("forward", "central"):
        _fd_case(fd_grad, "f(x) = Σ sin(aᵢxᵢ) + ½ xᵀBx", (3,), 1e-3, method, "visible")


@task_check(T1, hidden=True)
def hidden_t1_1(fd_grad: Callable) -> None:
    """Other functions, d = 1 and 7, a matrix argument, other steps."""
    cases = [("f(x) = Σ sin(aᵢxᵢ) + ½ xᵀBx", (7,), 3e-3),
             ("f(x) = log(1 + ‖x‖²) + exp(c·x)", (1,), 1e-2),
             ("f(x) = log(1 + ‖x‖²) + exp(c·x)", (5,), 2e-3),
             ("f(X) = Σ tanh(X·c) + Π cos(X)", (2, 3), 1e-3)]
    for label, shape, eps in cases:
        for method in ("central", "forward"):
            _fd_case(fd_grad, label, shape, eps, method, "hidden")


def course_fd_grad(f: Fun, x: Any, eps: float, method: str = "central") -> np.ndarray:
    """The course's ``fd_grad`` (substituted for the student's when task 1.3 is graded)."""
    x = np.asarray(x, dtype=float)
    grad = np.zeros(x.size)
    f0 = float(f(x)) if method == "forward" else None
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = eps
        e = e.reshape(x.shape)
        if method == "forward":
            grad[i] = (float(f(x + e)) - f0) / eps
        else:
            grad[i] = (float(f(x + e)) - float(f(x - e))) / (2 * eps)
    return grad.reshape(x.shape)


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


def _model_case(error_model: Callable, eps: Any, method: str, f_abs: float, M: float) -> None:
    inputs = {"eps": eps, "method": method, "f_abs": f_abs, "M": M}
    got = student_call(T2, "error_model(eps, method, f_abs, M)", error_model, eps, method,
                       f_abs, M, inputs=inputs)
    expected = rfd.fd_error_model(eps, method, f=f_abs, d2f=M, d3f=M).total
    assert_close(T2, f"error_model for {method} differences", got, expected, inputs=inputs,
                 hint=_MODEL_HINTS[method] + "; eps may be an array: compute elementwise",
                 rtol=1e-9, atol=0.0)


def _optimal_case(optimal_step: Callable, method: str, f_abs: float, M: float) -> None:
    inputs = {"method": method, "f_abs": f_abs, "M": M}
    got = student_call(T2, "optimal_step(method, f_abs, M)", optimal_step, method, f_abs, M,
                       inputs=inputs)
    expected = rfd.optimal_step(method, f=f_abs, d2f=M, d3f=M)
    assert_close(T2, f"optimal_step for {method} differences", got, expected, inputs=inputs,
                 hint=_STEP_HINTS[method], rtol=1e-9, atol=0.0)


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


def _step_ratio(default_step: Callable, name: str, x0: float, method: str) -> tuple[float, str]:
    f, df = _STEP_FUNCS[name]
    xs = x0 * (1 + 0.003 * np.arange(15))
    inputs = {"x": xs, "method": method}
    got = student_call(T2, "default_step(x, method)", default_step, xs.copy(), method,
                       inputs=inputs, hint="x may be an array: use np.maximum(1.0, np.abs(x)), "
                                           "not max(1, abs(x))")
    h = np.asarray(got, dtype=float) if _is_numeric(got) else None
    if h is None or np.shape(h) not in ((), xs.shape):
        fail(T2, "default_step(x, method) must return a step for every element of x",
             inputs=inputs, expected=f"an array of shape {xs.shape}", obtained=got,
             hint="compute elementwise with np.maximum(1.0, np.abs(x))")
    h = np.broadcast_to(h, xs.shape)
    if not (np.all(np.isfinite(h)) and np.all(h > 0)) or np.any(xs + h == xs):
        fail(T2, "default_step returned a step that is not positive, or too small to move x",
             inputs=inputs, expected="0 < ε with x + ε ≠ x", obtained=h)
    floor = 4 * EPS_MACH * float(np.max(np.abs(df(xs))))
    err = _fd_errors(f, df, xs, h, method)
    best = min(_fd_errors(f, df, xs, s * np.maximum(1.0, np.abs(xs)), method)
               for s in _STEP_GRID)
    ratio = (err + floor) / (best + floor)
    text = (f"f = {name} at x ≈ {x0:g}: step {float(h[0]):.3g}, error {err:.3g}, best on a "
            f"grid of steps {best:.3g} ({ratio:.3g}×)")
    return ratio, text


def _step_cases(default_step: Callable, cases: Sequence[tuple[str, float]]) -> None:
    for method in ("forward", "central"):
        results = [_step_ratio(default_step, name, x0, method) for name, x0 in cases]
        ratios = np.array([r for r, _ in results])
        worst = int(np.argmax(ratios))
        geomean = float(np.exp(np.mean(np.log(ratios))))
        if ratios[worst] > _STEP_MAX_RATIO or geomean > _STEP_MAX_GEOMEAN:
            fail(T2, f"default_step(x, {method!r}) gives errors far above the best step: "
                     f"{results[worst][1]}; geometric mean over {len(cases)} functions "
                     f"{geomean:.3g}× (allowed: {_STEP_MAX_RATIO:g}× each, "
                     f"{_STEP_MAX_GEOMEAN:g}× on average)", show_values=False,
                 hint="balance truncation and round-off: ε ≈ √ε_mach (forward) or "
                      "ε_mach^(1/3) (central), times max(1, |x|) (the scale of x)")


@task_check(T2)
def t1_2(error_model: Callable, optimal_step: Callable, default_step: Callable) -> None:
    """The model and its minimum at fixed arguments; the default step on exp, sin and log."""
    eps = np.array([1e-10, 1e-6, 1e-2])
    for method in ("forward", "central"):
        _model_case(error_model, eps, method, 1.0, 1.0)
        _model_case(error_model, 1e-5, method, 2.5, 0.4)
        _optimal_case(optimal_step, method, 1.0, 1.0)
        _optimal_case(optimal_step, method, 2.5, 0.4)
    _step_cases(default_step, [("exp", 0.7), ("sin", 2.2), ("log", 250.0)])


@task_check(T2, hidden=True)
def hidden_t1_2(error_model: Callable, optimal_step: Callable, default_step: Callable) -> None:
    """Random magnitudes and steps; the default step on unseen functions and scales of x."""
    for trial in range(3):
        g = rng(T2, trial)
        f_abs, M = 10 ** uniform(g, (), -3, 3), 10 ** uniform(g, (), -3, 3)
        eps = 10 ** uniform(g, (4,), -12, -1)
        for method in ("central", "forward"):
            _model_case(error_model, eps, method, f_abs, M)
            _optimal_case(optimal_step, method, f_abs, M)
    _step_cases(default_step, [("exp", -1.3), ("exp", 3.0), ("sin", 0.9), ("sin", -1.6),
                               ("log", 0.6), ("log", 1.2e4), ("x³ − 2x", 1.7),
                               ("x³ − 2x", -60.0), ("x³ − 2x", 900.0), ("arctan", 0.4),
                               ("arctan", 5.0), ("exp", 1e-3), ("sqrt", 2.0),
                               ("sqrt", 3e3)])


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


def _directions(L: CallCounter, w: np.ndarray, eps: float, what: str,
                inputs: dict[str, Any]) -> np.ndarray:
    """The directions v of the recorded calls L(w + εv), L(w − εv), one row per estimate."""
    points = [np.asarray(args[0], dtype=float) for args, _ in L.calls]
    if any(p.shape != w.shape for p in points):
        bad = next(p.shape for p in points if p.shape != w.shape)
        fail(T3, f"{what} called L with an array of shape {bad}, but w has shape {w.shape}",
             inputs=inputs, show_values=False, hint="draw v of w's shape: rng.standard_normal("
                                                    "w.shape)")
    if len(points) % 2:
        fail(T3, f"{what} made {len(points)} calls of L: it must call L exactly twice per "
                 "estimate", inputs=inputs, show_values=False)
    vs = []
    for plus, minus in zip(points[0::2], points[1::2], strict=True):
        v = (plus - w) / eps
        if np.allclose(minus, w, rtol=0, atol=1e-12) or np.allclose(plus, w, rtol=0, atol=1e-12):
            fail(T3, f"{what} evaluated L at w itself: that is a one-sided difference",
                 inputs=inputs, show_values=False,
                 hint="the two-point estimator uses L(w + εv) and L(w − εv), divided by 2ε")
        if not np.allclose(minus, w - eps * v, rtol=0, atol=1e-9 * max(1.0, np.abs(w).max())):
            fail(T3, f"{what}: the two calls of L must be at w + εv and w − εv with the same v",
                 inputs=inputs, expected=("w + εv", "w − εv"), obtained=(plus, minus),
                 hint="draw one v per estimate and use it for both calls")
        vs.append(v.ravel())
    return np.array(vs)


def course_two_point(L: Fun, w: Any, eps: float, rng: np.random.Generator) -> np.ndarray:
    """The course's two-point estimator (substituted for the student's when task 1.5 is graded):
    the same arithmetic and draws as ``reference_impl.zeroth_order.sphere_estimator``."""
    w = np.asarray(w, dtype=float)
    v = rng.standard_normal(w.shape)
    v = v / np.linalg.norm(v)
    return w.size * ((float(L(w + eps * v)) - float(L(w - eps * v))) / (2 * eps)) * v


def _two_point_exact(est: Callable, shape: tuple[int, ...], eps: float, seed: object) -> None:
    """One estimate: two calls at w ± εv, ‖v‖ = 1, G = d·(L₊ − L₋)/(2ε)·v; the generator."""
    g = rng(T3, ("exact", shape, seed))
    L0 = _Quadratic(g, shape)
    w = np.asarray(uniform(g, shape, -1.5, 1.5), dtype=float)
    L = CallCounter(L0)
    d = w.size
    inputs = {"w": w, "eps": eps, "rng": "np.random.default_rng(7)"}
    what = "two_point_estimator(L, w, eps, rng)"
    got = student_call(T3, what, est, L, w.copy(), eps, np.random.default_rng(7), inputs=inputs)
    if L.count != 2:
        fail(T3, f"{what} called L {L.count} times; the two-point estimator makes exactly 2 "
                 "calls (one direction v)", inputs=inputs, expected=2, obtained=L.count)
    v = _directions(L, w, eps, what, inputs)[0]
    norm = float(np.linalg.norm(v))
    if abs(norm - 1) > 1e-6:
        fail(T3, f"the direction v has ‖v‖ = {norm:.6g}: v must lie on the unit sphere",
             inputs=inputs, expected=1.0, obtained=norm,
             hint="normalise a standard normal vector: v = z / ‖z‖ with z = rng.standard_normal("
                  "w.shape)")
    plus, minus = (np.asarray(args[0], dtype=float) for args, _ in L.calls)
    expected = (d * (L0(plus) - L0(minus)) / (2 * eps) * v).reshape(shape)
    obtained = np.asarray(got, dtype=float) if _is_numeric(got) else got
    if (d > 1 and _is_numeric(got) and obtained.shape == shape
            and np.allclose(obtained * d, expected, rtol=1e-7, atol=1e-9)):
        fail(T3, f"the factor d = {d} is missing", inputs=inputs, expected=expected,
             obtained=got, hint="G = d·(L(w+εv) − L(w−εv))/(2ε)·v: E[vvᵀ] = I/d on the sphere, "
                                "so without the factor d the estimate is d times too small")
    assert_close(T3, "two-point estimate G (for the v read back from your calls of L)", got,
                 expected, inputs=inputs, hint="G = d·(L(w+εv) − L(w−εv))/(2ε)·v with d = w.size"
                                               " and the shape of w")
    again = student_call(T3, what, est, _Quadratic(rng(T3, ("exact", shape, seed)), shape),
                         w.copy(), eps, np.random.default_rng(7), inputs=inputs)
    if not np.allclose(np.asarray(again, dtype=float), obtained, rtol=1e-12, atol=0):
        fail(T3, "two calls with generators of the same seed gave different estimates",
             inputs=inputs, expected=obtained, obtained=again,
             hint="draw v with the generator rng that you are given (rng.standard_normal(…)), "
                  "not with np.random.*")
    if d > 1:
        other = student_call(T3, what, est, L0, w.copy(), eps, np.random.default_rng(8),
                             inputs=inputs)
        if np.allclose(np.asarray(other, dtype=float), obtained, rtol=1e-12, atol=0):
            fail(T3, "the estimate does not depend on the generator: v must be random",
                 inputs=inputs, show_values=False, hint="v = z / ‖z‖, z = rng.standard_normal("
                                                        "w.shape)")


def _sphere_moments(d: int) -> tuple[float, float]:
    """E[v₁⁴] and Var[(1/d)·Σᵢ vᵢ⁴] for v uniform on the unit sphere of R^d."""
    m4 = 3 / (d * (d + 2))
    m8 = 105 / (d * (d + 2) * (d + 4) * (d + 6))
    m44 = 9 / (d * (d + 2) * (d + 4) * (d + 6))
    return m4, (m8 - m4**2 + (d - 1) * (m44 - m4**2)) / d


def _two_point_statistics(est: Callable, shape: tuple[int, ...], eps: float, n: int,
                          seed: object) -> None:
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
    estimates = student_call(T3, what, lambda: [est(L, w.copy(), eps, gen) for _ in range(n)],
                             inputs=inputs)
    G = np.array([np.asarray(e, dtype=float).ravel() for e in estimates])
    grad = L0.grad(w).ravel()
    mean = G.mean(axis=0)
    vs = _directions(L, w, eps, what, inputs)
    if len(vs) != n:
        fail(T3, f"{n} estimates made {L.count} calls of L instead of {2 * n}",
             inputs=inputs, expected=2 * n, obtained=L.count)
    if d >= 2:
        gg = grad @ grad
        cov = d / (d + 2) * (gg * np.eye(d) + 2 * np.outer(grad, grad)) - np.outer(grad, grad)
        delta = mean - grad
        stat = float(n * delta @ np.linalg.solve(cov, delta))
        limit = d + 7 * np.sqrt(2 * d)
        if stat > limit:
            k = float(mean @ grad / gg)
            why = (f"; ⟨mean, ∇L⟩/‖∇L‖² = {k:.3g}" + (f" ≈ 1/d = {1 / d:.3g}: the factor d is "
                                                       "missing" if abs(k * d - 1) < 0.2 else ""))
            fail(T3, f"the estimator is biased: the mean of {n} estimates is "
                     f"{np.sqrt(stat / d):.3g} standard errors (per coordinate) from ∇L{why}",
                 inputs=inputs, expected=grad.reshape(shape), obtained=mean.reshape(shape),
                 hint="E[G] = ∇L needs E[d·vvᵀ] = I: v uniform on the unit sphere and the "
                      "factor d")
    if d >= 3:
        m4, var = _sphere_moments(d)
        v = vs / np.linalg.norm(vs, axis=1, keepdims=True)
        s = float(np.mean(v**4))
        z = (s - m4) / np.sqrt(var / n)
        if abs(z) > 6:
            fail(T3, f"the directions v are not uniform on the sphere: the mean of vᵢ⁴ over "
                     f"{n} directions is {s:.4g}, for the uniform distribution it is "
                     f"3/(d(d+2)) = {m4:.4g} ({z:+.1f} standard errors)", show_values=False,
                 inputs=inputs, hint="v = z/‖z‖ with z ~ N(0, I) is uniform on the sphere; a "
                                     "normalised uniform vector from a cube is not (too many "
                                     "directions towards the corners)")


def _coordinate_case(coordinate_estimator: Callable, shape: tuple[int, ...], eps: float,
                     seed: object) -> None:
    g = rng(T3, ("coordinate", shape, seed))
    label = "f(x) = log(1 + ‖x‖²) + exp(c·x)"
    fun = _FD_FUNCS[label](g, shape)
    w = np.asarray(uniform(g, shape, -1.5, 1.5), dtype=float)
    L = CallCounter(fun)
    inputs = {"L": label, "w": w, "eps": eps}
    with substituted(coordinate_estimator, fd_grad=course_fd_grad):
        got = student_call(T3, "coordinate_estimator(L, w, eps)", coordinate_estimator, L,
                           w.copy(), eps, inputs=inputs)
    expected = rzo.coordinate_estimator(fun, w, eps=eps).grad
    assert_close(T3, "coordinate estimate", got, expected, inputs=inputs,
                 hint="G = Σᵢ (L(w + εeᵢ) − L(w − εeᵢ))/(2ε)·eᵢ: central differences, e.g. "
                      "fd_grad(L, w, eps, 'central')")
    if L.count != 2 * w.size:
        fail(T3, f"coordinate_estimator called L {L.count} times for d = {w.size}; it needs "
                 f"exactly 2d = {2 * w.size}", inputs=inputs, expected=2 * w.size,
             obtained=L.count)


@task_check(T3, replaces=("fd_grad",))
def t1_3(two_point_estimator: Callable, coordinate_estimator: Callable) -> None:
    """One estimate in R⁵ read back exactly; 1000 estimates: unbiased, uniform directions;
    the coordinate estimator in R⁴."""
    _two_point_exact(two_point_estimator, (5,), 1e-4, "visible")
    _two_point_statistics(two_point_estimator, (5,), 1e-3, 1000, "visible")
    _coordinate_case(coordinate_estimator, (4,), 1e-4, "visible")


@task_check(T3, hidden=True, replaces=("fd_grad",))
def hidden_t1_3(two_point_estimator: Callable, coordinate_estimator: Callable) -> None:
    """Dimensions 1, 3, 12 and a matrix w; 2000 estimates each; coordinates on a matrix."""
    for shape in [(1,), (3,), (12,), (2, 4)]:
        _two_point_exact(two_point_estimator, shape, 1e-3, "hidden")
    for shape in [(3,), (12,), (2, 4)]:
        _two_point_statistics(two_point_estimator, shape, 1e-3, 2000, "hidden")
    _coordinate_case(coordinate_estimator, (1,), 1e-3, "hidden")
    _coordinate_case(coordinate_estimator, (3, 2), 1e-5, "hidden")


# ---------------------------------------------------------------------------------------------
# task 1.4: the MDS loss and its gradient
# ---------------------------------------------------------------------------------------------
def mds_reference_loss(D: np.ndarray) -> Callable[[Any], Any]:
    """L(W) = Σ_{i,j} (‖W_i − W_j‖² − D_ij)², written with ``reference_impl.numpy``."""
    def loss(W: Any) -> Any:
        sq = rnp.sum((W[:, None, :] - W[None, :, :]) ** 2, axis=-1)
        return rnp.sum((sq - D) ** 2)
    return loss


def _mds_data(g: np.random.Generator, n: int, d: int, noise: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """A symmetric D with a zero diagonal (squared distances of random points, perturbed) and a
    point W."""
    X = g.normal(size=(n, d))
    D = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    E = noise * np.abs(g.normal(size=(n, n)))
    D = D + E + E.T
    np.fill_diagonal(D, 0.0)
    return D, g.normal(size=(n, d))


def _mds_case(mds_loss: Callable, mds_grad: Callable, n: int, d: int, seed: object) -> None:
    g = rng(T4, (n, d, seed))
    D, W = _mds_data(g, n, d, 0.3)
    inputs = {"W": W, "D": D}
    ref = mds_reference_loss(D)
    value = student_call(T4, "mds_loss(W, D)", mds_loss, W.copy(), D.copy(), inputs=inputs)
    assert_close(T4, "mds_loss(W, D)", value, float(ref(W)), inputs=inputs,
                 hint="L(W) = Σ_{i,j} (‖W_i − W_j‖² − D_ij)², the squared distance (no square "
                      "root), over all pairs (i, j), both orders")
    counter = CallCounter(mds_loss)
    with substituted(mds_grad, mds_loss=counter, fd_grad=course_fd_grad):
        got = student_call(T4, "mds_grad(W, D)", mds_grad, W.copy(), D.copy(), inputs=inputs)
    if counter.count > 1:
        fail(T4, f"mds_grad called mds_loss {counter.count} times: compute the gradient by its "
                 "formula, not by finite differences", inputs=inputs, show_values=False)
    expected = np.asarray(ri.grad(ref)(W), dtype=float)
    assert_close(T4, "mds_grad(W, D) = ∂L/∂W", got, expected, inputs=inputs,
                 hint="for a symmetric D: ∂L/∂W_k = 8·Σ_j (‖W_k − W_j‖² − D_kj)·(W_k − W_j); "
                      "the result has the shape of W (N × d)")


@task_check(T4)
def t1_4(mds_loss: Callable, mds_grad: Callable) -> None:
    """N = 4 points in the plane."""
    _mds_case(mds_loss, mds_grad, 4, 2, "visible")


@task_check(T4, hidden=True)
def hidden_t1_4(mds_loss: Callable, mds_grad: Callable) -> None:
    """Other N and dimensions: 2 points on a line, 7 in R³, 11 in the plane."""
    for n, d in [(2, 1), (7, 3), (11, 2)]:
        _mds_case(mds_loss, mds_grad, n, d, "hidden")


# ---------------------------------------------------------------------------------------------
# task 1.5: gradient descent against zero-order gradient descent at a budget of calls
# ---------------------------------------------------------------------------------------------
#: the notebook's 8 cities, in thousands of km (an equirectangular projection around their mean)
CITIES_XY = np.array([[-0.278, 0.063], [-0.741, 0.529], [0.452, 0.068], [0.128, 0.127],
                      [0.515, -0.221], [-0.144, -0.885], [0.160, -0.720], [-0.092, 1.040]])
BUDGET = 400


def lecture_problem() -> tuple[np.ndarray, np.ndarray]:
    """The notebook's D (squared distances of :data:`CITIES_XY`) and starting point W0."""
    D = np.sum((CITIES_XY[:, None, :] - CITIES_XY[None, :, :]) ** 2, axis=-1)
    W0 = np.random.default_rng(0).normal(scale=0.5, size=CITIES_XY.shape)
    return D, W0


def _np_mds(D: np.ndarray) -> tuple[Fun, Fun]:
    """The course's loss and gradient in plain NumPy (fast; no tracing inside the runs)."""
    def loss(W: Any) -> float:
        W = np.asarray(W, dtype=float)
        sq = np.sum((W[:, None, :] - W[None, :, :]) ** 2, axis=-1)
        return float(np.sum((sq - D) ** 2))

    def grad(W: Any) -> np.ndarray:
        W = np.asarray(W, dtype=float)
        R = np.sum((W[:, None, :] - W[None, :, :]) ** 2, axis=-1) - D
        S = R + R.T
        return 4 * (S.sum(axis=1)[:, None] * W - S @ W)

    return loss, grad


def _gd_case(gradient_descent: Callable, D: np.ndarray, W0: np.ndarray, lr: float,
             n_calls: int) -> None:
    loss, grad = _np_mds(D)
    counter = CallCounter(grad)
    inputs = {"W0": W0, "lr": lr, "n_calls": n_calls}
    what = "gradient_descent(grad, W0, lr, n_calls)"
    W0_in = W0.copy()
    got = student_call(T5, what, gradient_descent, counter, W0_in, lr, n_calls, inputs=inputs)
    if not np.array_equal(W0_in, W0):
        fail(T5, "gradient_descent modified W0", inputs=inputs, show_values=False,
             hint="W = W - lr * grad(W) makes a new array; W -= … changes the caller's W0")
    if counter.count != n_calls:
        fail(T5, f"{what} called grad {counter.count} times; the budget is n_calls = {n_calls}: "
                 "one call per step, exactly n_calls steps", inputs=inputs, expected=n_calls,
             obtained=counter.count, hint="compute grad(W) once per step")
    expected = rzo.gradient_descent(loss, grad, W0, lr, n_calls).w
    assert_close(T5, "W after n_calls steps of gradient descent", got, expected, inputs=inputs,
                 hint="W_{k+1} = W_k − lr·∇L(W_k); return the last W")


def _zo_case(zo_gradient_descent: Callable, D: np.ndarray, W0: np.ndarray, lr: float,
             n_calls: int, eps: float, seed: int) -> None:
    loss, _ = _np_mds(D)
    counter = CallCounter(loss)
    inputs = {"W0": W0, "lr": lr, "n_calls": n_calls, "eps": eps,
              "rng": f"np.random.default_rng({seed})"}
    what = "zo_gradient_descent(loss, W0, lr, n_calls, eps, rng)"
    W0_in = W0.copy()
    with substituted(zo_gradient_descent, two_point_estimator=course_two_point):
        got = student_call(T5, what, zo_gradient_descent, counter, W0_in, lr, n_calls, eps,
                           np.random.default_rng(seed), inputs=inputs)
    if not np.array_equal(W0_in, W0):
        fail(T5, "zo_gradient_descent modified W0", inputs=inputs, show_values=False,
             hint="W = W - lr * G makes a new array; W -= … changes the caller's W0")
    steps = n_calls // 2
    if counter.count != 2 * steps:
        fail(T5, f"{what} called loss {counter.count} times; with the budget n_calls = {n_calls}"
                 f" and 2 calls per two-point estimate it makes n_calls // 2 = {steps} steps, "
                 f"i.e. {2 * steps} calls", inputs=inputs, expected=2 * steps,
             obtained=counter.count, hint="call two_point_estimator once per step and nothing "
                                          "else (no extra evaluations of the loss)")
    expected = rzo.zo_gradient_descent(loss, W0, lr, steps, estimator="sphere",
                                       rng=np.random.default_rng(seed), eps=eps).w
    assert_close(T5, "W after n_calls // 2 steps of zero-order gradient descent", got, expected,
                 inputs=inputs, rtol=1e-6, atol=1e-9,
                 hint="W_{k+1} = W_k − lr·G_k with G_k = two_point_estimator(loss, W_k, eps, rng) "
                      "(pass rng on, do not make a new generator)")


def _experiment(gradient_descent: Callable, zo_gradient_descent: Callable,
                step_sizes: Callable, seed: int) -> None:
    """The lecture's problem at the budget of the notebook: GD must win, both must progress."""
    pair = student_call(T5, "step_sizes()", step_sizes)
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and _is_numeric(pair)
            and all(np.ndim(p) == 0 and np.isfinite(float(p)) and float(p) > 0 for p in pair)):
        fail(T5, "step_sizes() must return a pair of positive numbers (LR_GD, LR_ZO)",
             expected="(LR_GD, LR_ZO)", obtained=pair)
    lr_gd, lr_zo = (float(p) for p in pair)
    D, W0 = lecture_problem()
    loss, grad = _np_mds(D)
    L0 = loss(W0)
    inputs = {"LR_GD": lr_gd, "LR_ZO": lr_zo, "n_calls": BUDGET}
    W_gd = student_call(T5, "gradient_descent(mds_grad, W0, LR_GD, 400)", gradient_descent,
                        grad, W0.copy(), lr_gd, BUDGET, inputs=inputs)
    with substituted(zo_gradient_descent, two_point_estimator=course_two_point):
        W_zo = student_call(T5, f"zo_gradient_descent(mds_loss, W0, LR_ZO, {BUDGET}, 1e-6, "
                                f"np.random.default_rng({seed}))", zo_gradient_descent, loss,
                            W0.copy(), lr_zo, BUDGET, 1e-6, np.random.default_rng(seed),
                            inputs=inputs)
    l_gd, l_zo = loss(W_gd), loss(W_zo)
    result = {"L(W0)": L0, "GD": l_gd, "zero-order GD": l_zo}
    if not (np.isfinite(l_gd) and l_gd < 0.01 * L0):
        fail(T5, f"with LR_GD = {lr_gd:g} gradient descent does not converge on the cities "
                 f"problem in {BUDGET} calls (L = {l_gd:.4g}, L(W0) = {L0:.4g})",
             inputs=inputs, expected="L < 0.01·L(W0)", obtained=result,
             hint="the loss is a quartic: too large a step oscillates or diverges, too small a "
                  "one crawls; try steps on a log scale (1e-4, 3e-4, 1e-3, …) in the experiment "
                  "cell below the tests")
    if not (np.isfinite(l_zo) and l_zo < 0.5 * L0):
        fail(T5, f"with LR_ZO = {lr_zo:g} zero-order gradient descent makes no progress on the "
                 f"cities problem in {BUDGET} calls (L = {l_zo:.4g}, L(W0) = {L0:.4g})",
             inputs=inputs, expected="L < 0.5·L(W0)", obtained=result,
             hint="E‖G‖² = d‖∇L‖²: the estimate is d = 16 times noisier than the gradient, so "
                  "the step must be several times smaller than GD's")
    if not l_gd < l_zo:
        fail(T5, "at an equal budget zero-order GD reached a lower loss than GD", inputs=inputs,
             expected="L(GD) < L(zero-order GD)", obtained=result,
             hint="use a good step for GD too")


@task_check(T5, replaces=("two_point_estimator",))
def t1_5(gradient_descent: Callable, zo_gradient_descent: Callable,
         step_sizes: Callable) -> None:
    """Both methods on a small problem (counted calls, exact iterates); the cities at 400 calls."""
    g = rng(T5, "visible")
    D, W = _mds_data(g, 4, 2, 0.1)
    _gd_case(gradient_descent, D, W, 2e-3, 20)
    _zo_case(zo_gradient_descent, D, W, 5e-4, 20, 1e-6, 3)
    _experiment(gradient_descent, zo_gradient_descent, step_sizes, 1)


@task_check(T5, hidden=True, replaces=("two_point_estimator",))
def hidden_t1_5(gradient_descent: Callable, zo_gradient_descent: Callable,
                step_sizes: Callable) -> None:
    """Other sizes, odd budgets, other steps and seeds (the step sizes are judged by the
    visible test, on the problem the student tuned them for)."""
    for n, d, n_calls, seed in [(6, 2, 31, 5), (5, 3, 50, 11)]:
        g = rng(T5, ("hidden", n, d))
        D, W = _mds_data(g, n, d, 0.1)
        _gd_case(gradient_descent, D, W, 1e-3, n_calls)
        _zo_case(zo_gradient_descent, D, W, 2e-4, n_calls, 1e-5, seed)
