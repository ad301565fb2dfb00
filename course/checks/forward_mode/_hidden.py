"""The hidden checks of this assignment: other inputs, sizes and statistics than the visible ones.

Not part of the student distribution (``course release --student`` leaves out every
``_hidden.py`` and ``_reference.py``); the package loads this module lazily when a hidden check
is called (``check.hidden_t…``), in the grader."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import reference_impl.numpy as rnp

from .._core import (
    assert_close,
    direction,
    fail,
    rng,
    student_call,
    task_check,
    uniform,
)
from ..finite_differences._common import Kept
from ._common import T1, T2, T3, T4, T5, DualBox, _check_dual, _reference
from .t2_1_2 import (
    _BINARY,
    _UNARY,
    _binary_case,
    _gradient_cases,
    _lecture_case,
    _neg_case,
    _unary_case,
)
from .t2_3 import Arg, _array_case
from .t2_4_5 import Builder, _jacfwd_case, _jvp_case


@task_check(T1, hidden=True)
def hidden_t2_1(Dual: type, log: Callable, exp: Callable, sin: Callable, sqrt: Callable) -> None:
    """Random points, numbers on either side, compositions, other dual types, plain numbers."""
    funcs = {"log": log, "exp": exp, "sin": sin, "sqrt": sqrt}
    for trial in range(3):
        g = rng(T1, trial)
        a, b = uniform(g, (), 0.3, 2.5), uniform(g, (), 0.3, 2.5)
        ta, tb = direction(g), direction(g)
        for sym in _BINARY:
            _binary_case(Dual, sym, a, ta, b, tb)
            _binary_case(Dual, sym, a, None, b, tb)
            _binary_case(Dual, sym, a, ta, b, None)
        _neg_case(Dual, a, ta)
        for name, fn in funcs.items():
            _unary_case(Dual, name, fn, a, ta)
    # + − × ÷ take any real numbers: negative, large and small magnitudes
    g = rng(T1, "magnitudes")
    for a, b in [
        (-uniform(g, (), 0.3, 2.5), uniform(g, (), 0.3, 2.5)),
        (uniform(g, (), 1e5, 1e7), -uniform(g, (), 1e-6, 1e-4)),
    ]:
        ta, tb = direction(g), direction(g)
        for sym in _BINARY:
            _binary_case(Dual, sym, a, ta, b, tb)
        _neg_case(Dual, a, ta)
    # the lecture's function, through the student's operators and functions
    g = rng(T1, "L")
    w1, w2, t1, t2 = uniform(g, (), 1.2, 3.0), uniform(g, (), 0.5, 2.0), direction(g), direction(g)
    x, y = Dual(w1, t1), Dual(w2, t2)
    out = student_call(
        T1,
        "w2*log(w1) + sqrt(w2*log(w1))",
        lambda u, v: v * log(u) + sqrt(v * log(u)),
        x,
        y,
        inputs={"w1": x, "w2": y},
    )
    _check_dual(
        T1,
        "w2*log(w1) + sqrt(w2*log(w1))",
        out,
        _reference(lambda u, v: v * rnp.log(u) + rnp.sqrt(v * rnp.log(u)), (w1, w2), (t1, t2)),
        {"w1": x, "w2": y},
        "compose the rules above (chain rule) / комбинируйте правила выше (правило цепочки)",
    )
    # operators must not modify their operands
    x, y = Dual(w1, t1), Dual(w2, t2)
    student_call(T1, "x * y", lambda u, v: (u * v, u + v, u / v), x, y)
    if (x.value, x.tangent, y.value, y.tangent) != (w1, t1, w2, t2):
        fail(
            T1,
            "an operator modified its operands / оператор изменил свои операнды",
            inputs={"x": (w1, t1), "y": (w2, t2)},
            expected=((w1, t1), (w2, t2)),
            obtained=((x.value, x.tangent), (y.value, y.tangent)),
            hint="build a new Dual for the result; do not assign to self.value or self.tangent"
            " / создайте для результата новый Dual; не присваивайте self.value и "
            "self.tangent",
        )
    # the functions accept any dual type (type(x)(…)) holding arrays, and plain numbers
    g = rng(T1, "generic")
    v, t = uniform(g, (2, 3), 0.3, 2.0), direction(g, (2, 3))
    for name, fn in funcs.items():
        ref, hint = _UNARY[name]
        box = DualBox(v, t)
        out = student_call(T1, f"{name}(x)", fn, box, inputs={"x": box}, hint=hint)
        _check_dual(
            T1,
            f"{name}(x) for a dual type other than Dual, holding arrays",
            out,
            _reference(ref, (v,), (t,)),
            {"x": box},
            "return type(x)(value, tangent) and use np.log, np.exp… so that the "
            "function works for any dual type and for arrays"
            " / возвращайте type(x)(value, tangent) и используйте np.log, np.exp…, чтобы "
            "функция работала для любого дуального типа и для массивов",
            DualBox,
        )
        for number in (2.0, 3.5):  # twice: nothing may be kept from one call to the next
            got = student_call(T1, f"{name}({number})", fn, number, inputs={"x": number})
            assert_close(
                T1,
                f"{name}({number}) for a plain number"
                + ("" if number == 2.0 else f" after {name}(2.0) (state kept between calls?)"),
                got,
                getattr(np, name)(number),
                inputs={"x": number},
                hint="a plain number has no tangent: return np.log(x)…"
                " / у обычного числа нет касательной компоненты: "
                "верните np.log(x)…",
            )


@task_check(T2, hidden=True)
def hidden_t2_2(lecture_forward: Callable, lecture_gradient: Callable) -> None:
    """Random points and random (not unit) tangents; the number of passes of the gradient."""
    for trial in range(3):
        g = rng(T2, trial)
        w1, w2 = uniform(g, (), 1.2, 4.0), uniform(g, (), 0.4, 3.0)
        _lecture_case(lecture_forward, w1, w2, direction(g), direction(g))
        _gradient_cases(lecture_forward, lecture_gradient, w1, w2)


_HIDDEN_ARRAY_CASES: list[tuple[str, Callable[..., Any], list[Arg], str]] = [
    ("x + y", lambda x, y: x + y, [("x", (4, 1), "dual"), ("y", (5,), "dual")], "add"),
    ("x - y", lambda x, y: x - y, [("x", (5,), "dual"), ("y", (2, 5), "dual")], "add"),
    ("x + C", lambda x, C: x + C, [("x", (4,), "dual"), ("C", (3, 4), "const")], "add"),
    ("C + x", lambda C, x: C + x, [("C", (2, 3, 4), "const"), ("x", (4,), "dual")], "add"),
    ("x - C", lambda x, C: x - C, [("x", (3, 1), "dual"), ("C", (3, 5), "const")], "add"),
    ("c - x", lambda c, x: c - x, [("c", (2, 1), "const"), ("x", (2, 5), "dual")], "add"),
    ("a - x", lambda a, x: a - x, [("a", (), "number"), ("x", (3, 2), "dual")], "add"),
    ("x * y", lambda x, y: x * y, [("x", (4, 1), "dual"), ("y", (1, 3), "dual")], "mul"),
    ("x * C", lambda x, C: x * C, [("x", (3,), "dual"), ("C", (4, 3), "const")], "mul"),
    ("a * x", lambda a, x: a * x, [("a", (), "number"), ("x", (2, 5), "dual")], "mul"),
    ("x / y", lambda x, y: x / y, [("x", (5, 2), "dual"), ("y", (2,), "dual+")], "div"),
    ("C / x", lambda C, x: C / x, [("C", (3, 4), "const"), ("x", (4,), "dual+")], "div"),
    ("x / a", lambda x, a: x / a, [("x", (4,), "dual"), ("a", (), "number+")], "div"),
    ("-x", lambda x: -x, [("x", (3, 5), "dual")], "neg"),
    ("A @ x", lambda A, x: A @ x, [("A", (4, 5), "const"), ("x", (5,), "dual")], "matmul"),
    ("x @ B", lambda x, B: x @ B, [("x", (5,), "dual"), ("B", (5, 3), "const")], "matmul"),
    ("X @ B", lambda X, B: X @ B, [("X", (2, 4), "dual"), ("B", (4, 3), "const")], "matmul"),
    ("X @ Y", lambda X, Y: X @ Y, [("X", (3, 4), "dual"), ("Y", (4, 2), "dual")], "matmul"),
    ("x @ y", lambda x, y: x @ y, [("x", (4,), "dual"), ("y", (4,), "dual")], "matmul"),
    ("X.sum()", lambda X: X.sum(), [("X", (4, 5), "dual")], "sum"),
    ("X.sum(axis=1)", lambda X: X.sum(axis=1), [("X", (3, 4), "dual")], "sum"),
    ("X.sum(axis=-1)", lambda X: X.sum(axis=-1), [("X", (2, 3, 4), "dual")], "sum"),
    ("X.sum(axis=1) (3-D)", lambda X: X.sum(axis=1), [("X", (2, 3, 4), "dual")], "sum"),
    (
        "((A @ x) * y - c).sum()",
        lambda A, x, y, c: ((A @ x) * y - c).sum(),
        [("A", (3, 5), "const"), ("x", (5,), "dual"), ("y", (3,), "dual"), ("c", (3,), "const")],
        "mul",
    ),
]


@task_check(T3, hidden=True)
def hidden_t2_3(DualArray: type) -> None:
    """Other shapes, more broadcasting, numbers, products of matrices, sums over axes."""
    kept = Kept(T3)
    for label, fn, spec, hint in _HIDDEN_ARRAY_CASES:
        _array_case(DualArray, label, fn, spec, hint, "hidden", kept)


_JVP_HIDDEN: list[tuple[str, Builder, list[tuple[int, ...]], list[tuple[int, ...]]]] = [
    (
        "f(W, x) = sum(sin(W @ x) * exp(C @ x))",
        lambda ns, c: (
            lambda W, x: ns.sum(ns.mul(ns.sin(ns.matmul(W, x)), ns.exp(ns.matmul(c[0], x))))
        ),
        [(4, 5), (5,)],
        [(4, 5)],
    ),
    (
        "f(x) = sin(x) * exp(x) for a scalar x",
        lambda ns, c: lambda x: ns.mul(ns.sin(x), ns.exp(x)),
        [()],
        [],
    ),
    ("f(X) = X @ B", lambda ns, c: lambda X: ns.matmul(X, c[0]), [(3, 4)], [(4, 2)]),
    ("f(x, y) = sin(x) (y unused)", lambda ns, c: lambda x, y: ns.sin(x), [(3,), (2,)], []),
    ("f(x) = C (a constant)", lambda ns, c: lambda x: c[0], [(3,)], [(2, 3)]),
    (
        "f(x, y) = exp(x) @ Y + y",
        lambda ns, c: lambda x, y: ns.add(ns.matmul(ns.exp(x), c[0]), y),
        [(2,), (3,)],
        [(2, 3)],
    ),
]


@task_check(T4, hidden=True, replaces=("DualArray",))
def hidden_t2_4(jvp: Callable) -> None:
    """Several inputs, a scalar input, matrix outputs, unused inputs, a constant output."""
    for label, build, shapes, consts in _JVP_HIDDEN:
        _jvp_case(jvp, label, build, shapes, consts, "hidden")


_JAC_HIDDEN: list[tuple[str, Builder, tuple[int, ...], list[tuple[int, ...]]]] = [
    ("f(X) = sin(X) @ b", lambda ns, c: lambda X: ns.matmul(ns.sin(X), c[0]), (2, 3), [(3,)]),
    ("f(x) = sum(exp(x) * x)", lambda ns, c: lambda x: ns.sum(ns.mul(ns.exp(x), x)), (5,), []),
    ("f(x) = C * sin(x)", lambda ns, c: lambda x: ns.mul(c[0], ns.sin(x)), (3,), [(4, 3)]),
    ("f(x) = A @ x", lambda ns, c: lambda x: ns.matmul(c[0], x), (7,), [(2, 7)]),
    ("f(x) = exp(x) · a, x a number", lambda ns, c: lambda x: ns.mul(ns.exp(x), c[0]), (), [(3,)]),
    (
        "f(x) = sin(x) · exp(x), a number to a number",
        lambda ns, c: lambda x: ns.mul(ns.sin(x), ns.exp(x)),
        (),
        [],
    ),
    (
        "f(x) = C @ sin(x), x of one entry",
        lambda ns, c: lambda x: ns.matmul(c[0], ns.sin(x)),
        (1,),
        [(3, 1)],
    ),
]


@task_check(T5, hidden=True, replaces=("jvp", "DualArray"))
def hidden_t2_5(jacfwd: Callable) -> None:
    """Matrix inputs and outputs, scalar outputs, more inputs than outputs, a number as x."""
    for label, build, shape, consts in _JAC_HIDDEN:
        _jacfwd_case(jacfwd, label, build, shape, consts, "hidden")
