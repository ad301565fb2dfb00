"""Checks of tasks 2.1 (dual numbers) and 2.2 (the lecture's L(w1, w2) step by step)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

import reference_impl as ri
import reference_impl.numpy as rnp

from .._core import (
    CallCounter,
    assert_close,
    fail,
    rng,
    student_call,
    substituted,
    task_check,
)
from ..finite_differences._common import LECTURE_GRADIENT_KEPT_STATE, Kept, frozen, unchanged
from ._common import T1, T2, _check_dual, _reference

# ---------------------------------------------------------------------------------------------
# task 2.1: dual numbers
# ---------------------------------------------------------------------------------------------
_BINARY: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "+": (lambda a, b: a + b, "(a + b)' = a' + b'"),
    "-": (lambda a, b: a - b, "(a − b)' = a' − b'"),
    "*": (lambda a, b: a * b, "product rule: (a·b)' = a'·b + a·b' / правило произведения"),
    "/": (lambda a, b: a / b, "quotient rule: (a / b)' = (a'·b − a·b') / b² / правило частного"),
}
_UNARY: dict[str, tuple[Callable[[Any], Any], str]] = {
    "log": (rnp.log, "d log x = dx / x"),
    "exp": (rnp.exp, "d eˣ = eˣ·dx"),
    "sin": (rnp.sin, "d sin x = cos x·dx"),
    "sqrt": (rnp.sqrt, "d√x = dx / (2√x)"),
}


def _binary_case(
    Dual: type, sym: str, a: float, ta: float | None, b: float, tb: float | None
) -> None:
    """``x sym y`` where ``None`` as a tangent means a plain number operand."""
    op, hint = _BINARY[sym]
    x = a if ta is None else Dual(a, ta)
    y = b if tb is None else Dual(b, tb)
    inputs = {"x": x, "y": y}
    label = f"x {sym} y"
    value_hint = None
    if ta is None:
        value_hint = (
            f"a number on the left calls y.__r{_dunder(sym)}__(x), i.e. x {sym} y"
            f" / число слева вызывает y.__r{_dunder(sym)}__(x)"
        )
        hint += "; " + value_hint
    saved = {"x": frozen(x), "y": frozen(y)}
    out = student_call(T1, label, op, x, y, inputs=inputs, hint=hint)
    unchanged(T1, label, {"x": x, "y": y}, saved, inputs)
    if ta is None:
        expected = _reference(lambda v: op(a, v), (b,), (tb,))
    elif tb is None:
        expected = _reference(lambda u: op(u, b), (a,), (ta,))
    else:
        expected = _reference(op, (a, b), (ta, tb))
    _check_dual(T1, label, out, expected, inputs, hint, Dual, value_hint)


def _dunder(sym: str) -> str:
    return {"+": "add", "-": "sub", "*": "mul", "/": "truediv"}[sym]


def _unary_case(
    Dual: type, name: str, fn: Callable[[Any], Any], a: float, ta: float, again: float = -0.6
) -> None:
    """``fn(x)``; then the same point with the tangent ``again`` (a result keyed by the value
    alone, or a sum kept between calls, shows), the first result kept."""
    ref, hint = _UNARY[name]
    kept = Kept(T1)
    for t in (ta, again):
        x = Dual(a, t)
        saved = {"x": frozen(x)}
        out = student_call(T1, f"{name}(x)", fn, x, inputs={"x": x}, hint=hint)
        unchanged(T1, f"{name}(x)", {"x": x}, saved, {"x": x})
        kept.recheck(f"{name}(x) at the same x.value with another tangent")
        what = f"{name}(x)" if t == ta else f"{name}(x) (a second call: same value, new tangent)"
        _check_dual(T1, what, out, _reference(ref, (a,), (t,)), {"x": x}, hint, Dual)
        kept.keep(f"{name}(x)", out)


def _neg_case(Dual: type, a: float, ta: float) -> None:
    x = Dual(a, ta)
    saved = {"x": frozen(x)}
    out = student_call(T1, "-x", lambda v: -v, x, inputs={"x": x})
    unchanged(T1, "-x", {"x": x}, saved, {"x": x})
    _check_dual(T1, "-x", out, (-a, -ta), {"x": x}, "(−a)' = −a'", Dual)


@task_check(T1)
def t2_1(Dual: type, log: Callable, exp: Callable, sin: Callable, sqrt: Callable) -> None:
    """Visible checks of ``Dual`` (+ − × ÷, unary minus) and of ``log, exp, sin, sqrt``."""
    funcs = {"log": log, "exp": exp, "sin": sin, "sqrt": sqrt}
    a, ta, b, tb = 0.7, 1.3, 1.6, -0.4
    for sym in _BINARY:
        _binary_case(Dual, sym, a, ta, b, tb)
    _binary_case(Dual, "*", 2.5, None, b, tb)
    _binary_case(Dual, "-", 2.0, None, b, tb)
    _neg_case(Dual, a, ta)
    for name, fn in funcs.items():
        _unary_case(Dual, name, fn, a, ta)


# ---------------------------------------------------------------------------------------------
# task 2.2: the lecture's L(w1, w2) step by step
# ---------------------------------------------------------------------------------------------
_NODES: dict[str, tuple[Callable[[Any, Any], Any], str, str]] = {
    "v1": (
        lambda w1, w2: rnp.log(w1),
        "v₁ = log w₁",
        "check ∂v₁/∂w₁ = 1/w₁: v̇₁ = ẇ₁ / w₁ / проверьте ∂v₁/∂w₁ = 1/w₁",
    ),
    "v2": (
        lambda w1, w2: w2 * rnp.log(w1),
        "v₂ = w₂·v₁",
        "check the product rule: v̇₂ = ẇ₂·v₁ + w₂·v̇₁ / проверьте правило произведения",
    ),
    "v3": (
        lambda w1, w2: rnp.sqrt(w2 * rnp.log(w1)),
        "v₃ = √v₂",
        "check ∂v₃/∂v₂ = 1/(2√v₂): v̇₃ = v̇₂ / (2·v₃) / проверьте ∂v₃/∂v₂ = 1/(2√v₂)",
    ),
    "L": (
        lambda w1, w2: w2 * rnp.log(w1) + rnp.sqrt(w2 * rnp.log(w1)),
        "L = v₂ + v₃",
        "L̇ = v̇₂ + v̇₃",
    ),
}


def _lecture_case(lecture_forward: Callable, w1: float, w2: float, d1: float, d2: float) -> None:
    inputs = {"w1": w1, "w2": w2, "w1_dot": d1, "w2_dot": d2}
    table = student_call(T2, "lecture_forward", lecture_forward, w1, w2, d1, d2, inputs=inputs)
    if not isinstance(table, dict) or set(table) != set(_NODES):
        fail(
            T2,
            "lecture_forward must return a dict with the keys 'v1', 'v2', 'v3', 'L'"
            " / lecture_forward должна вернуть словарь с ключами 'v1', 'v2', 'v3', 'L'",
            inputs=inputs,
            expected="{'v1': (v1, v1_dot), …, 'L': (L, L_dot)}",
            obtained=table,
        )
    for node, (fun, formula, hint) in _NODES.items():
        entry = table[node]
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
            fail(
                T2,
                f"table[{node!r}] must be a pair (value, tangent)"
                f" / table[{node!r}] должен быть парой (значение, касательная компонента)",
                inputs=inputs,
                expected="(value, tangent)",
                obtained=entry,
            )
        value, tangent = _reference(fun, (w1, w2), (d1, d2))
        assert_close(T2, f"value of {formula}", entry[0], value, inputs=inputs)
        assert_close(
            T2,
            f"tangent of {formula} (nodes are checked in order)",
            entry[1],
            tangent,
            inputs=inputs,
            hint=hint,
        )


#: points this kernel cannot have met before: a new one per use in this process
_FRESH = itertools.count()


def _fresh_point() -> tuple[float, float]:
    g = rng(T2, ("fresh", next(_FRESH)))
    return float(g.uniform(1.2, 4.0)), float(g.uniform(0.4, 3.0))


def _gradient_case(
    lecture_forward: Callable, lecture_gradient: Callable, w1: float, w2: float, passes: str
) -> tuple[float, float]:
    """``lecture_gradient(w1, w2)`` and its forward passes: exactly 2 at a point met for the
    first time (``passes == "fresh"``), at most 2 at a point it may have met (a correctly keyed
    memo makes none); returns the gradient."""
    inputs = {"w1": w1, "w2": w2}
    counter = CallCounter(lecture_forward)
    with substituted(lecture_gradient, lecture_forward=counter):
        got = student_call(T2, "lecture_gradient", lecture_gradient, w1, w2, inputs=inputs)
    expected = np.asarray(ri.grad(_NODES["L"][0], argnums=(0, 1))(w1, w2), dtype=float)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(
            T2,
            "lecture_gradient must return a pair (∂L/∂w1, ∂L/∂w2)"
            " / lecture_gradient должна вернуть пару (∂L/∂w1, ∂L/∂w2)",
            inputs=inputs,
            expected=expected,
            obtained=got,
        )
    assert_close(
        T2,
        "(∂L/∂w1, ∂L/∂w2)"
        + ("" if passes == "fresh" else " at a point met before (state kept between calls?)"),
        np.asarray(got, dtype=float),
        expected,
        inputs=inputs,
        hint="one pass with (ẇ₁, ẇ₂) = (1, 0) gives ∂L/∂w₁, one with (0, 1) gives ∂L/∂w₂"
        " / проход с (ẇ₁, ẇ₂) = (1, 0) даёт ∂L/∂w₁, проход с (0, 1) — ∂L/∂w₂",
    )
    if counter.count > 2 or (passes == "fresh" and counter.count != 2):
        fail(
            T2,
            f"lecture_gradient made {counter.count} forward passes at a "
            f"{'new' if passes == 'fresh' else 'known'} point; forward mode needs "
            "exactly one pass per input, i.e. 2 for L(w1, w2)"
            f" / lecture_gradient сделала {counter.count} прямых проходов; в прямом режиме "
            "нужен ровно один проход на вход, т. е. 2 для L(w1, w2)",
            inputs=inputs,
            show_values=False,
            hint="call lecture_forward once with (1, 0) and once with (0, 1)"
            " / вызовите lecture_forward один раз с (1, 0) и один раз с "
            "(0, 1)",
        )
    return float(got[0]), float(got[1])


def _gradient_cases(
    lecture_forward: Callable, lecture_gradient: Callable, w1: float, w2: float
) -> None:
    """The gradient at (w1, w2); at a new point, at one with the same w1 and another w2, and at
    the new point again: what was returned first must not have changed."""
    _gradient_case(lecture_forward, lecture_gradient, w1, w2, "known")
    u1, u2 = _fresh_point()
    first = _gradient_case(lecture_forward, lecture_gradient, u1, u2, "fresh")
    _gradient_case(lecture_forward, lecture_gradient, u1, u2 + 0.7, "fresh")
    again = _gradient_case(lecture_forward, lecture_gradient, u1, u2, "known")
    if again != first:
        fail(
            T2,
            LECTURE_GRADIENT_KEPT_STATE,
            inputs={"w1": u1, "w2": u2},
            expected=first,
            obtained=again,
        )


@task_check(T2)
def t2_2(lecture_forward: Callable, lecture_gradient: Callable) -> None:
    """The lecture's point (w1, w2) = (2, 3), along ∂/∂w1 and ∂/∂w2; the gradient there and at
    new points (exactly two passes at a point met for the first time)."""
    _lecture_case(lecture_forward, 2.0, 3.0, 1.0, 0.0)
    _lecture_case(lecture_forward, 2.0, 3.0, 0.0, 1.0)
    _gradient_cases(lecture_forward, lecture_gradient, 2.0, 3.0)
