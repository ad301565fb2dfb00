"""Checks of task 4.3: the dot-product test, fed correct and wrong JVP/VJP pairs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core import (
    CallCounter,
    Task,
    fail,
    rng,
    student_call,
    task_check,
)
from ._common import (
    T3,
    Watch,
    _names,
    _outer,
    _solve_problem,
)

# ---------------------------------------------------------------------------------------------
# task 4.3: the dot-product test, fed correct and wrong JVP/VJP pairs (plain NumPy)
# ---------------------------------------------------------------------------------------------
JvpFn = Callable[[tuple, tuple], tuple]
VjpFn = Callable[[tuple, Any], tuple]


def course_solve_jvp(primals: tuple, tangents: tuple) -> tuple[np.ndarray, np.ndarray]:
    """``(x, ẋ)`` for ``x = solve(A, b)`` (NumPy; the pairs of task 4.3 are built on it)."""
    (A, b), (dA, db) = primals, tangents
    x = np.linalg.solve(A, b)
    return x, np.linalg.solve(A, db - dA @ x)


def course_solve_vjp(primals: tuple, x_bar: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(Ā, b̄) = (−A⁻ᵀ x̄ xᵀ, A⁻ᵀ x̄)``."""
    A, b = primals
    x = np.linalg.solve(A, b)
    b_bar = np.linalg.solve(A.T, x_bar)
    return -_outer(b_bar, x), b_bar


def _scaled(c: float, jvp: JvpFn, vjp: VjpFn) -> tuple[JvpFn, VjpFn]:
    """The pair of ``c·f``."""

    def j(p: tuple, t: tuple) -> tuple:
        out, out_dot = jvp(p, t)
        return c * out, c * out_dot

    return j, lambda p, g: tuple(c * v for v in vjp(p, g))


def _wrong(fix: Callable[[tuple, Any, tuple], tuple]) -> VjpFn:
    """A solve VJP with ``fix(primals, x_bar, (Ā, b̄))`` applied to the correct cotangents."""
    return lambda p, g: fix(p, g, course_solve_vjp(p, g))


def _mean_cotangent(p: tuple, g: Any) -> tuple:
    return course_solve_vjp(p, np.full(np.shape(g), np.mean(g)))


def _zero_sum(n: int) -> np.ndarray:
    z = np.cos(np.arange(1.0, n + 1.0) * 2.3)
    return z - z.mean()


_WRONG_SOLVE: dict[str, tuple[str, VjpFn, str]] = {
    "sign": (
        "Ā with the wrong sign (+A⁻ᵀ x̄ xᵀ)",
        _wrong(lambda p, g, ab: (-ab[0], ab[1])),
        "compare ⟨x̄, J ṗ⟩ with ⟨Jᵀ x̄, ṗ⟩ summed over all inputs"
        " / сравнивайте ⟨x̄, J ṗ⟩ с ⟨Jᵀ x̄, ṗ⟩, просуммированным по всем входам",
    ),
    "b-transposed": (
        "b̄ = A⁻¹ x̄ instead of A⁻ᵀ x̄ (Ā right)",
        _wrong(lambda p, g, ab: (ab[0], np.linalg.solve(p[0], g))),
        "perturb every input: draw a random tangent for b too"
        " / возмущайте каждый вход: случайное направление нужно и для b",
    ),
    "A-transposed": (
        "Ā transposed (−x b̄ᵀ)",
        _wrong(lambda p, g, ab: (ab[0].T, ab[1])),
        "draw random tangents (never all ones) for every input: Ā and Āᵀ have the "
        "same sum of entries, so an all-ones tangent for A cannot tell them apart"
        " / берите случайные направления (не из одних единиц) для каждого входа: у "
        "Ā и Āᵀ одинаковая сумма элементов, и направление из единиц их не различит",
    ),
    "x-x": (
        "Ā = −A⁻ᵀ x xᵀ (x instead of x̄)",
        _wrong(
            lambda p, g, ab: (
                -_outer(np.linalg.solve(p[0].T, np.linalg.solve(*p)), np.linalg.solve(*p)),
                ab[1],
            )
        ),
        "draw random tangents for every input (also for A)"
        " / берите случайные направления для каждого входа (и для A)",
    ),
    "no-A": (
        "Ā = 0 (the A term forgotten)",
        _wrong(lambda p, g, ab: (0 * ab[0], ab[1])),
        "perturb every input: a tangent for A as well as for b"
        " / возмущайте каждый вход: направление нужно и для A, и для b",
    ),
    "mean-cotangent": (
        "a VJP that is right only for constant cotangents x̄",
        _mean_cotangent,
        "draw a random cotangent x̄ (never all ones): a constant x̄ hides "
        "transposition and summation bugs"
        " / берите случайное сопряжённое x̄ (не из одних единиц): постоянное x̄ "
        "скрывает ошибки транспонирования и суммирования",
    ),
    "ones-blind": (
        "b̄ off by a vector orthogonal to (1, …, 1)",
        _wrong(lambda p, g, ab: (ab[0], ab[1] + np.linalg.norm(g) * _zero_sum(len(ab[1])))),
        "draw random tangents (never all ones): an all-ones tangent cannot see an "
        "error orthogonal to it"
        " / берите случайные направления (не из одних единиц): направление из единиц "
        "не видит ортогональной ему ошибки",
    ),
    "tiny-factor": (
        "Ā, b̄ off by a factor 1 + 10⁻⁴",
        _wrong(lambda p, g, ab: (ab[0] * (1 + 1e-4), ab[1] * (1 + 1e-4))),
        "use a tight relative tolerance (rtol = 1e-8 of the scale)"
        " / используйте жёсткий относительный допуск (rtol = 1e-8 от масштаба)",
    ),
}


def _late(vjp: VjpFn, wrong: VjpFn, right: int = 1) -> VjpFn:
    """A VJP right on its first ``right`` calls and wrong on every later one: only a test that
    runs all its trials sees it."""
    calls: list[int] = []

    def late(p: tuple, g: Any) -> tuple:
        calls.append(1)
        return (vjp if len(calls) <= right else wrong)(p, g)

    return late


def _at_tolerance(jvp: JvpFn, vjp: VjpFn, factor: float, rtol: float = 1e-8) -> tuple[JvpFn, VjpFn]:
    """A pair whose two sides differ by exactly ``factor``·rtol·(‖x̄‖‖Jṗ‖ + Σₖ‖x̄ₖ‖‖ṗₖ‖), the
    statement's tolerance: the VJP shifts x̄₀ along the tangent ṗ₀ of the JVP call before it."""
    last: dict[str, Any] = {}

    def j(p: tuple, t: tuple) -> tuple:
        out, out_dot = jvp(p, t)
        last.update(t=t, out_dot=np.asarray(out_dot, dtype=float))
        return out, out_dot

    def v(p: tuple, g: Any) -> tuple:
        adj = [np.array(a, dtype=float) for a in vjp(p, g)]
        t, norm = last["t"], np.linalg.norm
        scale = norm(g) * norm(last["out_dot"]) + sum(
            norm(a) * norm(tk) for a, tk in zip(adj, t, strict=True)
        )
        t0 = np.asarray(t[0], dtype=float)
        adj[0] = adj[0] + factor * rtol * scale * t0 / np.sum(t0 * t0)
        return tuple(adj)

    return j, v


def _dot_test_case(
    dot_product_test: Callable,
    label: str,
    jvp: JvpFn,
    vjp: VjpFn,
    primals: tuple,
    should_pass: bool,
    hint: str,
    trials: int | None = None,
    rtol: float | None = None,
) -> None:
    jc, vc = CallCounter(jvp), CallCounter(vjp)
    saved = [np.array(p, copy=True) for p in primals]
    inputs: dict[str, Any] = {"pair": label, "primals": primals}
    extra: dict[str, float] = {} if trials is None else {"trials": trials}
    if trials is not None:
        inputs["trials"] = trials
    if rtol is not None:
        inputs["rtol"] = extra["rtol"] = rtol
    result = student_call(
        T3,
        "dot_product_test(jvp_fn, vjp_fn, primals)",
        dot_product_test,
        jc,
        vc,
        primals,
        inputs=inputs,
        hint="jvp_fn(primals, tangents) returns (out, out_dot); "
        "vjp_fn(primals, out_bar) returns one cotangent per input"
        " / jvp_fn(primals, tangents) возвращает (out, out_dot); "
        "vjp_fn(primals, out_bar) возвращает по одному сопряжённому на "
        "вход",
        **extra,
    )
    if not isinstance(result, (bool, np.bool_)):
        fail(
            T3,
            "dot_product_test must return True or False"
            " / dot_product_test должна вернуть True или False",
            inputs=inputs,
            expected=should_pass,
            obtained=result,
        )
    if jc.count == 0 or vc.count == 0:
        fail(
            T3,
            f"dot_product_test called jvp_fn {jc.count} and vjp_fn {vc.count} times; the "
            "test compares the two, so it must call both"
            f" / dot_product_test вызвала jvp_fn {jc.count} раз и vjp_fn {vc.count} раз; "
            "тест сравнивает их, поэтому должен вызвать обе",
            inputs=inputs,
            expected=">= 1 each",
            obtained=(jc.count, vc.count),
        )
    if bool(result) != should_pass:
        if should_pass:
            fail(
                T3,
                f"dot_product_test rejected a correct JVP/VJP pair ({label})"
                f" / dot_product_test отвергла верную пару JVP/VJP ({label})",
                inputs=inputs,
                expected=True,
                obtained=result,
                hint=hint,
            )
        fail(
            T3,
            f"dot_product_test accepted a wrong VJP ({label})"
            f" / dot_product_test приняла неверный VJP ({label})",
            inputs=inputs,
            expected=False,
            obtained=result,
            hint=hint,
        )
    runs = 3 if trials is None else trials
    if should_pass and (jc.count != runs or vc.count != runs):
        fail(
            T3,
            f"dot_product_test called jvp_fn {jc.count} and vjp_fn {vc.count} times for "
            f"trials = {runs}: every trial draws fresh directions and calls each once"
            f" / dot_product_test вызвала jvp_fn {jc.count} раз и vjp_fn {vc.count} раз при "
            f"trials = {runs}: каждое испытание берёт новые направления и вызывает каждую по"
            " разу",
            inputs=inputs,
            expected=(runs, runs),
            obtained=(jc.count, vc.count),
            hint="loop over all the trials; return False as soon as one fails, True only "
            "after the last"
            " / пройдите все испытания; возвращайте False при первой неудаче, True — "
            "только после последнего",
        )
    for p, s in zip(primals, saved, strict=True):
        if not np.array_equal(p, s):
            fail(
                T3,
                "input changed in place: dot_product_test modified the primals"
                " / аргумент изменён на месте: dot_product_test изменила primals",
                inputs=inputs,
                expected=s,
                obtained=p,
                hint="do not change the arguments in place / не меняйте аргументы на месте",
            )


_ACCEPT_HINT = (
    "the identity holds up to rounding: compare |⟨x̄, Jṗ⟩ − Σₖ⟨x̄ₖ, ṗₖ⟩| with "
    "rtol·(‖x̄‖‖Jṗ‖ + Σₖ‖x̄ₖ‖‖ṗₖ‖), a tolerance relative to the scale of the "
    "numbers, summing the terms of every input"
    " / тождество выполняется с точностью до округления: сравнивайте разность с "
    "rtol·(‖x̄‖‖Jṗ‖ + Σₖ‖x̄ₖ‖‖ṗₖ‖) — допуском относительно масштаба чисел, суммируя "
    "по всем входам"
)


def _solve_primals(seed: object, n: int, k: int | None, scale: float = 1.0) -> tuple:
    A, b, _ = _solve_problem(T3, n, k, seed, scale)
    return (A, b)


def _reject(
    dot_product_test: Callable, name: str, primals: tuple, c: float = 1.0, label: str | None = None
) -> None:
    what, vjp, hint = _WRONG_SOLVE[name]
    jvp, vjp = _scaled(c, course_solve_jvp, vjp)
    _dot_test_case(dot_product_test, label or f"solve: {what}", jvp, vjp, primals, False, hint)


@task_check(T3)
def t4_3(dot_product_test: Callable) -> None:
    """Accept solve's pair; reject two wrong VJPs of solve."""
    primals = _solve_primals("visible", 3, None)
    _dot_test_case(
        dot_product_test,
        "solve, correct",
        course_solve_jvp,
        course_solve_vjp,
        primals,
        True,
        _ACCEPT_HINT,
    )
    _reject(dot_product_test, "sign", primals)
    _reject(dot_product_test, "b-transposed", primals)
    _dot_test_case(
        dot_product_test,
        "solve, a VJP wrong from the second trial on",
        course_solve_jvp,
        _late(course_solve_vjp, _WRONG_SOLVE["sign"][1]),
        primals,
        False,
        "run every trial: a pair that passes the first may fail a later one"
        " / выполняйте все испытания: пара, прошедшая первое, может не пройти "
        "следующее",
    )


# ---------------------------------------------------------------------------------------------
# SVD inputs: distinct singular values, random signs of the pairs (u_i, v_i)
# ---------------------------------------------------------------------------------------------
def svd_matrix(gen: np.random.Generator, m: int, n: int) -> np.ndarray:
    """An m×n matrix with well-separated singular values in [0.6, ~0.9 + 0.5·k]."""
    k = min(m, n)
    s = (0.6 + 0.5 * np.arange(k) + gen.uniform(0.0, 0.3, k))[::-1]
    q1, _ = np.linalg.qr(gen.normal(size=(m, m)))
    q2, _ = np.linalg.qr(gen.normal(size=(n, n)))
    return (q1[:, :k] * s) @ q2[:, :k].T


def _signs(gen: np.random.Generator, k: int) -> np.ndarray:
    d = gen.choice([-1.0, 1.0], size=k)
    d[0] = -1.0  # at least one pair flipped …
    if k > 1:
        d[-1] = 1.0  # … and one kept
    return d


@dataclass
class Decomposition:
    """NumPy's SVD of ``W`` and the same decomposition with the pairs' signs flipped by ``d``."""

    W: np.ndarray
    U: np.ndarray  # NumPy's
    s: np.ndarray
    Vt: np.ndarray
    d: np.ndarray
    full: bool

    @property
    def flipped(self) -> tuple[np.ndarray, np.ndarray]:
        k = self.s.size
        U, Vt = self.U.copy(), self.Vt.copy()
        U[:, :k] *= self.d
        Vt[:k] *= self.d[:, None]
        return U, Vt


def _decompose(task: Task, seed: object, m: int, n: int, full: bool = False) -> Decomposition:
    g = rng(task, seed)
    W = svd_matrix(g, m, n)
    U, s, Vt = np.linalg.svd(W, full_matrices=full)
    return Decomposition(W, U, s, Vt, _signs(g, s.size), full)


def _thin(dec: Decomposition, U: np.ndarray, Vt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = dec.s.size
    return U[:, :k], Vt[:k]


def _no_factorisations(task: Task, label: str, watch: Watch, inputs: dict[str, Any]) -> None:
    facs = watch.factorisations + watch.solves
    if facs:
        fail(
            task,
            f"{label} computed {len(facs)} new decomposition(s) or solve(s) "
            f"({_names(facs)}); the SVD is given: reuse it"
            f" / {label} вычислила {len(facs)} новых разложений или решений; SVD дано: "
            "используйте его",
            inputs=inputs,
            expected=0,
            obtained=len(facs),
            hint="use only U, s, Vt (and 1/s for S⁻¹); a new SVD may flip the signs of "
            "the pairs (u_i, v_i) and mix two decompositions"
            " / используйте только U, s, Vt (и 1/s для S⁻¹); новое SVD может поменять "
            "знаки пар (u_i, v_i) и смешать два разложения",
        )
