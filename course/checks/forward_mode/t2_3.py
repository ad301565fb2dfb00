"""Checks of task 2.3: dual arrays."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._core import (
    direction,
    fail,
    is_dual,
    rng,
    student_call,
    task_check,
    uniform,
)
from ..finite_differences._common import Kept
from ._common import T3, _check_dual, _reference

# ---------------------------------------------------------------------------------------------
# task 2.3: dual arrays
# ---------------------------------------------------------------------------------------------
# an argument: (name, shape, kind); kinds: "dual", "const", "number"; "+" = positive values
Arg = tuple[str, tuple[int, ...], str]

_HINTS = {
    "add": "the tangent of the result has the result's shape: broadcast it "
    "(np.broadcast_to) when an operand is a constant"
    " / касательная компонента результата имеет форму результата: расширяйте её "
    "(np.broadcast_to), когда операнд — константа",
    "mul": "product rule elementwise: (a·b)' = a'·b + a·b', with broadcasting"
    " / правило произведения поэлементно, с расширением (broadcasting)",
    "div": "quotient rule elementwise: (a/b)' = (a'·b − a·b') / b² / правило частного поэлементно",
    "matmul": "(A·B)' = A'·B + A·B' — keep the order of the factors; a constant has no tangent"
    " / сохраняйте порядок множителей; у константы нет касательной компоненты",
    "sum": "the tangent of a sum is the sum of the tangents over the same axis"
    " / касательная компонента суммы — сумма касательных компонент по той же оси",
    "neg": "(−a)' = −a'",
}


def _make_args(DualArray: type, spec: Sequence[Arg], seed: object) -> tuple[list, list, list]:
    """Student arguments, and the dual positions' primals and tangents for reference_impl."""
    g = rng(T3, seed)
    student, primals, tangents = [], [], []
    for _name, shape, kind in spec:
        positive = kind.endswith("+")
        value = uniform(g, shape, 0.5, 2.0) if positive else uniform(g, shape, -2.0, 2.0)
        if kind.startswith("dual"):
            t = direction(g, shape)
            value = np.asarray(value, dtype=float)
            student.append(DualArray(value.copy(), np.asarray(t, dtype=float).copy()))
            primals.append(value)
            tangents.append(np.asarray(t, dtype=float))
        elif kind.startswith("number"):
            student.append(float(np.round(value, 3)))
        else:
            student.append(np.asarray(value, dtype=float))
    return student, primals, tangents


def _array_case(
    DualArray: type,
    label: str,
    fn: Callable[..., Any],
    spec: Sequence[Arg],
    hint_key: str,
    seed: object,
    kept: Kept | None = None,
) -> None:
    """One operation; the operands looked at afterwards, the results of the earlier operations
    (``kept``) compared again."""
    student, primals, tangents = _make_args(DualArray, spec, (label, seed))
    inputs = {name: arg for (name, _s, _k), arg in zip(spec, student, strict=True)}
    consts = [
        None if kind.startswith("dual") else arg
        for (_n, _s, kind), arg in zip(spec, student, strict=True)
    ]

    def ref_fun(*duals: Any) -> Any:
        it = iter(duals)
        return fn(*[next(it) if c is None else c for c in consts])

    hint = _HINTS[hint_key]
    out = student_call(T3, label, fn, *student, inputs=inputs, hint=hint)
    _check_dual(T3, label, out, _reference(ref_fun, primals, tangents), inputs, hint, DualArray)
    duals = [a for a in student if is_dual(a)]
    for arg, p, t in zip(duals, primals, tangents, strict=True):
        if not (np.array_equal(arg.value, p) and np.array_equal(arg.tangent, t)):
            fail(
                T3,
                f"input changed in place: {label} modified its operand"
                f" / аргумент изменён на месте: {label} изменила свой операнд",
                inputs=inputs,
                expected=(p, t),
                obtained=(arg.value, arg.tangent),
                hint="build a new DualArray for the result"
                " / создайте для результата новый "
                "DualArray",
            )
    if kept is not None:
        kept.recheck(label)
        kept.keep(label, out)


_VISIBLE_ARRAY_CASES: list[tuple[str, Callable[..., Any], list[Arg], str]] = [
    ("x + y", lambda x, y: x + y, [("x", (3,), "dual"), ("y", (3,), "dual")], "add"),
    ("x - y", lambda x, y: x - y, [("x", (3,), "dual"), ("y", (3,), "dual")], "add"),
    ("x * y", lambda x, y: x * y, [("x", (3,), "dual"), ("y", (3,), "dual")], "mul"),
    ("x / y", lambda x, y: x / y, [("x", (3,), "dual"), ("y", (3,), "dual+")], "div"),
    ("-x", lambda x: -x, [("x", (3,), "dual")], "neg"),
    ("x * c", lambda x, c: x * c, [("x", (3,), "dual"), ("c", (3,), "const")], "mul"),
    ("c - x", lambda c, x: c - x, [("c", (3,), "const"), ("x", (3,), "dual")], "add"),
    ("x - c", lambda x, c: x - c, [("x", (3,), "dual"), ("c", (3,), "const")], "add"),
    ("c / x", lambda c, x: c / x, [("c", (3,), "const"), ("x", (3,), "dual+")], "div"),
    ("x + C", lambda x, C: x + C, [("x", (3,), "dual"), ("C", (2, 3), "const")], "add"),
    ("A @ x", lambda A, x: A @ x, [("A", (2, 3), "const"), ("x", (3,), "dual")], "matmul"),
    ("X @ Y", lambda X, Y: X @ Y, [("X", (2, 3), "dual"), ("Y", (3, 4), "dual")], "matmul"),
    ("x @ B", lambda x, B: x @ B, [("x", (3,), "dual"), ("B", (3, 2), "const")], "matmul"),
    ("X.sum()", lambda X: X.sum(), [("X", (2, 3), "dual")], "sum"),
    ("X.sum(axis=0)", lambda X: X.sum(axis=0), [("X", (2, 3), "dual")], "sum"),
]


@task_check(T3)
def t2_3(DualArray: type) -> None:
    """Elementwise operations with broadcasting, matmul and sum on small arrays, each at two
    inputs (every result kept and compared again after the later operations)."""
    kept = Kept(T3)
    for seed in ("visible", "visible, second inputs"):
        for label, fn, spec, hint in _VISIBLE_ARRAY_CASES:
            _array_case(DualArray, label, fn, spec, hint, seed, kept)
