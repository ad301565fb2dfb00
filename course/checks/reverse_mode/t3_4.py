"""Checks of task 3.4: the lecture's L(w1, w2), reverse mode by hand."""

from __future__ import annotations

import itertools
from collections.abc import Callable

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
from ..finite_differences._common import LECTURE_GRADIENT_KEPT_STATE, Kept
from ._common import (
    T4,
)


# ---------------------------------------------------------------------------------------------
# task 3.4: the lecture's L(w1, w2), reverse mode by hand
# ---------------------------------------------------------------------------------------------
def _lecture_expected(w1: float, w2: float, L_bar: float) -> dict[str, tuple[float, float]]:
    v1 = float(np.log(w1))
    v2 = w2 * v1
    v3 = float(np.sqrt(v2))
    grads = ri.grad(lambda a, b: b * rnp.log(a) + rnp.sqrt(b * rnp.log(a)), argnums=(0, 1))
    g1, g2 = (float(v) for v in grads(w1, w2))
    return {
        "L": (v2 + v3, L_bar),
        "v3": (v3, L_bar * float(ri.grad(lambda t: v2 + t)(v3))),
        "v2": (v2, L_bar * float(ri.grad(lambda t: t + rnp.sqrt(t))(v2))),
        "v1": (v1, L_bar * float(ri.grad(lambda t: w2 * t + rnp.sqrt(w2 * t))(v1))),
        "w1": (w1, L_bar * g1),
        "w2": (w2, L_bar * g2),
    }


_ADJOINT_HINTS = {
    "L": (
        "L",
        "L̄ is the cotangent: the seed of the backward pass"
        " / L̄ — сопряжённое, начальное значение обратного прохода",
    ),
    "v3": ("v₃ = √v₂", "v̄₃ = L̄·∂L/∂v₃ = L̄·1"),
    "v2": (
        "v₂ = w₂·v₁",
        "v₂ has two children, v₃ and L: v̄₂ = v̄₃·1/(2√v₂) + L̄·1 "
        "(fan-out: add up the contributions)"
        " / у v₂ два потомка: вклады складываются",
    ),
    "v1": ("v₁ = log w₁", "v̄₁ = v̄₂·∂v₂/∂v₁ = v̄₂·w₂"),
    "w1": ("w₁", "w̄₁ = v̄₁·∂v₁/∂w₁ = v̄₁/w₁"),
    "w2": (
        "w₂",
        "w̄₂ = v̄₂·∂v₂/∂w₂ = v̄₂·v₁ (the slide writes v̄₁·v₁: an erratum) / на слайде опечатка: v̄₁·v₁",
    ),
}


def _lecture_case(
    lecture_reverse: Callable, w1: float, w2: float, L_bar: float, kept: Kept | None = None
) -> None:
    """The table at (w1, w2) for L̄; with ``kept``, the tables returned before must not have
    changed (and this one is kept)."""
    inputs = {"w1": w1, "w2": w2, "L_bar": L_bar}
    table = student_call(T4, "lecture_reverse", lecture_reverse, w1, w2, L_bar, inputs=inputs)
    if kept is not None:
        kept.recheck(f"lecture_reverse({w1:g}, {w2:g}, {L_bar:g})")
        kept.keep(f"lecture_reverse({w1:g}, {w2:g}, {L_bar:g})", table)
    if not isinstance(table, dict) or set(table) != set(_ADJOINT_HINTS):
        fail(
            T4,
            "lecture_reverse must return a dict with the keys 'w1', 'w2', 'v1', 'v2', "
            "'v3', 'L'"
            " / lecture_reverse должна вернуть словарь с ключами 'w1', 'w2', 'v1', 'v2', "
            "'v3', 'L'",
            inputs=inputs,
            expected="{'v1': (v1, v1_bar), …, 'L': (L, L_bar)}",
            obtained=table,
        )
    for key, (value, adjoint) in _lecture_expected(w1, w2, L_bar).items():
        formula, hint = _ADJOINT_HINTS[key]
        entry = table[key]
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
            fail(
                T4,
                f"table[{key!r}] must be a pair (value, adjoint)"
                f" / table[{key!r}] должен быть парой (значение, сопряжённая переменная)",
                inputs=inputs,
                expected="(value, adjoint)",
                obtained=entry,
            )
        assert_close(T4, f"value of {formula}", entry[0], value, inputs=inputs)
        assert_close(
            T4,
            f"adjoint of {formula}, ∂(L̄·L)/∂{key} (checked from L backwards)",
            entry[1],
            adjoint,
            inputs=inputs,
            hint=hint,
        )


#: points this kernel cannot have met before: a new one per use in this process
_FRESH = itertools.count()


def _fresh_point() -> tuple[float, float]:
    g = rng(T4, ("fresh", next(_FRESH)))
    return float(g.uniform(1.2, 4.0)), float(g.uniform(0.4, 3.0))


def _gradient_case(
    lecture_reverse: Callable,
    lecture_gradient: Callable,
    w1: float,
    w2: float,
    passes: str = "known",
) -> tuple[float, float]:
    """``lecture_gradient(w1, w2)`` and its backward passes: exactly one at a point met for the
    first time (``passes == "fresh"``), at most one at a point it may have met (a correctly
    keyed memo makes none); returns the gradient."""
    inputs = {"w1": w1, "w2": w2}
    counter = CallCounter(lecture_reverse)
    with substituted(lecture_gradient, lecture_reverse=counter):
        got = student_call(T4, "lecture_gradient", lecture_gradient, w1, w2, inputs=inputs)
    exp = _lecture_expected(w1, w2, 1.0)
    expected = np.array([exp["w1"][1], exp["w2"][1]])
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(
            T4,
            "lecture_gradient must return a pair (∂L/∂w1, ∂L/∂w2)"
            " / lecture_gradient должна вернуть пару (∂L/∂w1, ∂L/∂w2)",
            inputs=inputs,
            expected=expected,
            obtained=got,
        )
    assert_close(
        T4,
        "(∂L/∂w1, ∂L/∂w2)"
        + ("" if passes == "fresh" else " at a point met before (state kept between calls?)"),
        np.asarray(got, dtype=float),
        expected,
        inputs=inputs,
        hint="one backward pass with L̄ = 1 gives both: (w̄₁, w̄₂)"
        " / один обратный проход с L̄ = 1 даёт обе: (w̄₁, w̄₂)",
    )
    if counter.count > 1 or (passes == "fresh" and counter.count != 1):
        fail(
            T4,
            f"lecture_gradient made {counter.count} calls of lecture_reverse at a "
            f"{'new' if passes == 'fresh' else 'known'} point; reverse "
            "mode gives the whole gradient in one backward pass"
            f" / lecture_gradient вызвала lecture_reverse {counter.count} раз; обратный "
            "режим даёт весь градиент за один обратный проход",
            inputs=inputs,
            expected=1,
            obtained=counter.count,
            hint="call lecture_reverse(w1, w2, 1.0) once"
            " / вызовите lecture_reverse(w1, w2, 1.0) "
            "один раз",
        )
    return float(got[0]), float(got[1])


def _gradient_cases(
    lecture_reverse: Callable, lecture_gradient: Callable, w1: float, w2: float
) -> None:
    """The gradient at (w1, w2); at a new point, at one with the same w1 and another w2, and at
    the new point again: what was returned first must not have changed."""
    _gradient_case(lecture_reverse, lecture_gradient, w1, w2)
    u1, u2 = _fresh_point()
    first = _gradient_case(lecture_reverse, lecture_gradient, u1, u2, "fresh")
    _gradient_case(lecture_reverse, lecture_gradient, u1, u2 + 0.7, "fresh")
    again = _gradient_case(lecture_reverse, lecture_gradient, u1, u2)
    if again != first:
        fail(
            T4,
            LECTURE_GRADIENT_KEPT_STATE,
            inputs={"w1": u1, "w2": u2},
            expected=first,
            obtained=again,
        )


@task_check(T4)
def t3_4(lecture_reverse: Callable, lecture_gradient: Callable) -> None:
    """The lecture's point (2, 3) with L̄ = 1 and with L̄ = 0.7; the gradient there and at new
    points (exactly one pass at a point met for the first time)."""
    kept = Kept(T4)
    _lecture_case(lecture_reverse, 2.0, 3.0, 1.0, kept)
    _lecture_case(lecture_reverse, 2.0, 3.0, 0.7, kept)
    _gradient_cases(lecture_reverse, lecture_gradient, 2.0, 3.0)
