"""Checks of assignment 02, forward mode: dual numbers, the lecture's L(w1, w2), dual arrays,
``jvp`` and ``jacfwd`` with a count of passes.

Every expected value comes from ``reference_impl.jvp`` / ``jacfwd`` / ``grad`` at seeded random
points with random tangents. ``t2_4`` and ``t2_5`` run the student's ``jvp`` / ``jacfwd`` on test
functions built from this module's own dual operations, with the course's dual container (and,
for ``jacfwd``, the course's ``jvp``) substituted for the student's: each task is graded on its
own code only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

import reference_impl as ri
import reference_impl.numpy as rnp

from ._core import (
    CallCounter,
    Task,
    assert_close,
    direction,
    fail,
    is_dual,
    rng,
    student_call,
    substituted,
    task_check,
    uniform,
)

TASKS = {
    "t2_1": Task("t2_1", "dual-numbers", "dual numbers", "дуальные числа", 20),
    "t2_2": Task("t2_2", "lecture-example", "forward mode on L(w1, w2)",
                 "прямой режим для L(w₁, w₂)", 15),
    "t2_3": Task("t2_3", "dual-arrays", "dual arrays", "дуальные массивы", 25),
    "t2_4": Task("t2_4", "jvp", "jvp", "jvp", 20),
    "t2_5": Task("t2_5", "jacfwd", "jacfwd", "jacfwd и число проходов", 20),
}
T1, T2, T3, T4, T5 = TASKS.values()

__all__ = ["TASKS", "hidden_t2_1", "hidden_t2_2", "hidden_t2_3", "hidden_t2_4", "hidden_t2_5",
           "t2_1", "t2_2", "t2_3", "t2_4", "t2_5"]


# ---------------------------------------------------------------------------------------------
# shared: comparing a dual result with reference_impl.jvp
# ---------------------------------------------------------------------------------------------
def _reference(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]
               ) -> tuple[Any, Any]:
    out, out_dot = ri.jvp(fun, tuple(primals), tuple(tangents))
    return np.asarray(out, dtype=float), np.asarray(out_dot, dtype=float)


def _check_dual(task: Task, label: str, out: Any, expected: tuple[Any, Any],
                inputs: dict[str, Any], hint: str, cls: type | None = None,
                value_hint: str | None = None) -> None:
    """``out`` must be a dual value (of ``cls``) with the expected value and tangent."""
    if not is_dual(out):
        fail(task, f"{label} returned {type(out).__name__}, not a dual value "
                   "(an object with .value and .tangent)", inputs=inputs,
             expected=cls.__name__ if cls else "a dual value", obtained=out, hint=hint)
    if cls is not None and not isinstance(out, cls):
        fail(task, f"{label} returned a {type(out).__name__}, not a {cls.__name__}",
             inputs=inputs, expected=cls.__name__, obtained=type(out).__name__, hint=hint)
    assert_close(task, f"value of {label}", out.value, expected[0], inputs=inputs,
                 hint=value_hint)
    assert_close(task, f"tangent of {label}", out.tangent, expected[1], inputs=inputs, hint=hint)


# ---------------------------------------------------------------------------------------------
# task 2.1: dual numbers
# ---------------------------------------------------------------------------------------------
_BINARY: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "+": (lambda a, b: a + b, "(a + b)' = a' + b'"),
    "-": (lambda a, b: a - b, "(a − b)' = a' − b'"),
    "*": (lambda a, b: a * b, "product rule: (a·b)' = a'·b + a·b'"),
    "/": (lambda a, b: a / b, "quotient rule: (a / b)' = (a'·b − a·b') / b²"),
}
_UNARY: dict[str, tuple[Callable[[Any], Any], str]] = {
    "log": (rnp.log, "d log x = dx / x"),
    "exp": (rnp.exp, "d eˣ = eˣ·dx"),
    "sin": (rnp.sin, "d sin x = cos x·dx"),
    "sqrt": (rnp.sqrt, "d√x = dx / (2√x)"),
}


def _binary_case(Dual: type, sym: str, a: float, ta: float | None, b: float,
                 tb: float | None) -> None:
    """``x sym y`` where ``None`` as a tangent means a plain number operand."""
    op, hint = _BINARY[sym]
    x = a if ta is None else Dual(a, ta)
    y = b if tb is None else Dual(b, tb)
    inputs = {"x": x, "y": y}
    label = f"x {sym} y"
    value_hint = None
    if ta is None:
        value_hint = f"a number on the left calls y.__r{_dunder(sym)}__(x), i.e. x {sym} y"
        hint += "; " + value_hint
    out = student_call(T1, label, op, x, y, inputs=inputs, hint=hint)
    if ta is None:
        expected = _reference(lambda v: op(a, v), (b,), (tb,))
    elif tb is None:
        expected = _reference(lambda u: op(u, b), (a,), (ta,))
    else:
        expected = _reference(op, (a, b), (ta, tb))
    _check_dual(T1, label, out, expected, inputs, hint, Dual, value_hint)


def _dunder(sym: str) -> str:
    return {"+": "add", "-": "sub", "*": "mul", "/": "truediv"}[sym]


def _unary_case(Dual: type, name: str, fn: Callable[[Any], Any], a: float, ta: float) -> None:
    ref, hint = _UNARY[name]
    x = Dual(a, ta)
    out = student_call(T1, f"{name}(x)", fn, x, inputs={"x": x}, hint=hint)
    _check_dual(T1, f"{name}(x)", out, _reference(ref, (a,), (ta,)), {"x": x}, hint, Dual)


def _neg_case(Dual: type, a: float, ta: float) -> None:
    x = Dual(a, ta)
    out = student_call(T1, "-x", lambda v: -v, x, inputs={"x": x})
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
    # the lecture's function, through the student's operators and functions
    g = rng(T1, "L")
    w1, w2, t1, t2 = uniform(g, (), 1.2, 3.0), uniform(g, (), 0.5, 2.0), direction(g), direction(g)
    x, y = Dual(w1, t1), Dual(w2, t2)
    out = student_call(T1, "w2*log(w1) + sqrt(w2*log(w1))",
                       lambda u, v: v * log(u) + sqrt(v * log(u)), x, y,
                       inputs={"w1": x, "w2": y})
    _check_dual(T1, "w2*log(w1) + sqrt(w2*log(w1))", out,
                _reference(lambda u, v: v * rnp.log(u) + rnp.sqrt(v * rnp.log(u)),
                           (w1, w2), (t1, t2)), {"w1": x, "w2": y},
                "compose the rules above (chain rule)")
    # operators must not modify their operands
    x, y = Dual(w1, t1), Dual(w2, t2)
    student_call(T1, "x * y", lambda u, v: (u * v, u + v, u / v), x, y)
    if (x.value, x.tangent, y.value, y.tangent) != (w1, t1, w2, t2):
        fail(T1, "an operator modified its operands", inputs={"x": (w1, t1), "y": (w2, t2)},
             expected=((w1, t1), (w2, t2)), obtained=((x.value, x.tangent), (y.value, y.tangent)),
             hint="build a new Dual for the result; do not assign to self.value or self.tangent")
    # the functions accept any dual type (type(x)(…)) holding arrays, and plain numbers
    g = rng(T1, "generic")
    v, t = uniform(g, (2, 3), 0.3, 2.0), direction(g, (2, 3))
    for name, fn in funcs.items():
        ref, hint = _UNARY[name]
        box = DualBox(v, t)
        out = student_call(T1, f"{name}(x)", fn, box, inputs={"x": box}, hint=hint)
        _check_dual(T1, f"{name}(x) for a dual type other than Dual, holding arrays", out,
                    _reference(ref, (v,), (t,)), {"x": box},
                    "return type(x)(value, tangent) and use np.log, np.exp… so that the "
                    "function works for any dual type and for arrays", DualBox)
        got = student_call(T1, f"{name}(2.0)", fn, 2.0, inputs={"x": 2.0})
        assert_close(T1, f"{name}(2.0) for a plain number", got, getattr(np, name)(2.0),
                     inputs={"x": 2.0}, hint="a plain number has no tangent: return np.log(x)…")


# ---------------------------------------------------------------------------------------------
# task 2.2: the lecture's L(w1, w2) step by step
# ---------------------------------------------------------------------------------------------
_NODES: dict[str, tuple[Callable[[Any, Any], Any], str, str]] = {
    "v1": (lambda w1, w2: rnp.log(w1), "v₁ = log w₁", "check ∂v₁/∂w₁ = 1/w₁: v̇₁ = ẇ₁ / w₁"),
    "v2": (lambda w1, w2: w2 * rnp.log(w1), "v₂ = w₂·v₁",
           "check the product rule: v̇₂ = ẇ₂·v₁ + w₂·v̇₁"),
    "v3": (lambda w1, w2: rnp.sqrt(w2 * rnp.log(w1)), "v₃ = √v₂",
           "check ∂v₃/∂v₂ = 1/(2√v₂): v̇₃ = v̇₂ / (2·v₃)"),
    "L": (lambda w1, w2: w2 * rnp.log(w1) + rnp.sqrt(w2 * rnp.log(w1)), "L = v₂ + v₃",
          "L̇ = v̇₂ + v̇₃"),
}


def _lecture_case(lecture_forward: Callable, w1: float, w2: float, d1: float, d2: float) -> None:
    inputs = {"w1": w1, "w2": w2, "w1_dot": d1, "w2_dot": d2}
    table = student_call(T2, "lecture_forward", lecture_forward, w1, w2, d1, d2, inputs=inputs)
    if not isinstance(table, dict) or set(table) != set(_NODES):
        fail(T2, "lecture_forward must return a dict with the keys 'v1', 'v2', 'v3', 'L'",
             inputs=inputs, expected="{'v1': (v1, v1_dot), …, 'L': (L, L_dot)}",
             obtained=table)
    for node, (fun, formula, hint) in _NODES.items():
        entry = table[node]
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
            fail(T2, f"table[{node!r}] must be a pair (value, tangent)", inputs=inputs,
                 expected="(value, tangent)", obtained=entry)
        value, tangent = _reference(fun, (w1, w2), (d1, d2))
        assert_close(T2, f"value of {formula}", entry[0], value, inputs=inputs)
        assert_close(T2, f"tangent of {formula} (nodes are checked in order)", entry[1],
                     tangent, inputs=inputs, hint=hint)


def _gradient_case(lecture_forward: Callable, lecture_gradient: Callable, w1: float,
                   w2: float) -> None:
    inputs = {"w1": w1, "w2": w2}
    counter = CallCounter(lecture_forward)
    with substituted(lecture_gradient, lecture_forward=counter):
        got = student_call(T2, "lecture_gradient", lecture_gradient, w1, w2, inputs=inputs)
    expected = np.asarray(ri.grad(_NODES["L"][0], argnums=(0, 1))(w1, w2), dtype=float)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(T2, "lecture_gradient must return a pair (∂L/∂w1, ∂L/∂w2)", inputs=inputs,
             expected=expected, obtained=got)
    assert_close(T2, "(∂L/∂w1, ∂L/∂w2)", np.asarray(got, dtype=float), expected, inputs=inputs,
                 hint="one pass with (ẇ₁, ẇ₂) = (1, 0) gives ∂L/∂w₁, one with (0, 1) gives ∂L/∂w₂")
    if counter.count != 2:
        fail(T2, f"lecture_gradient made {counter.count} forward passes; forward mode needs "
                 "exactly one pass per input, i.e. 2 for L(w1, w2)", inputs=inputs,
             show_values=False, hint="call lecture_forward once with (1, 0) and once with (0, 1)")


@task_check(T2)
def t2_2(lecture_forward: Callable, lecture_gradient: Callable) -> None:
    """The lecture's point (w1, w2) = (2, 3), along ∂/∂w1 and ∂/∂w2; the gradient."""
    _lecture_case(lecture_forward, 2.0, 3.0, 1.0, 0.0)
    _lecture_case(lecture_forward, 2.0, 3.0, 0.0, 1.0)
    _gradient_case(lecture_forward, lecture_gradient, 2.0, 3.0)


@task_check(T2, hidden=True)
def hidden_t2_2(lecture_forward: Callable, lecture_gradient: Callable) -> None:
    """Random points and random (not unit) tangents; the number of passes of the gradient."""
    for trial in range(3):
        g = rng(T2, trial)
        w1, w2 = uniform(g, (), 1.2, 4.0), uniform(g, (), 0.4, 3.0)
        _lecture_case(lecture_forward, w1, w2, direction(g), direction(g))
        _gradient_case(lecture_forward, lecture_gradient, w1, w2)


# ---------------------------------------------------------------------------------------------
# task 2.3: dual arrays
# ---------------------------------------------------------------------------------------------
# an argument: (name, shape, kind); kinds: "dual", "const", "number"; "+" = positive values
Arg = tuple[str, tuple[int, ...], str]

_HINTS = {
    "add": "the tangent of the result has the result's shape: broadcast it "
           "(np.broadcast_to) when an operand is a constant",
    "mul": "product rule elementwise: (a·b)' = a'·b + a·b', with broadcasting",
    "div": "quotient rule elementwise: (a/b)' = (a'·b − a·b') / b²",
    "matmul": "(A·B)' = A'·B + A·B' — keep the order of the factors; a constant has no tangent",
    "sum": "the tangent of a sum is the sum of the tangents over the same axis",
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


def _array_case(DualArray: type, label: str, fn: Callable[..., Any], spec: Sequence[Arg],
                hint_key: str, seed: object) -> None:
    student, primals, tangents = _make_args(DualArray, spec, (label, seed))
    inputs = {name: arg for (name, _s, _k), arg in zip(spec, student, strict=True)}
    consts = [None if kind.startswith("dual") else arg
              for (_n, _s, kind), arg in zip(spec, student, strict=True)]

    def ref_fun(*duals: Any) -> Any:
        it = iter(duals)
        return fn(*[next(it) if c is None else c for c in consts])

    hint = _HINTS[hint_key]
    out = student_call(T3, label, fn, *student, inputs=inputs, hint=hint)
    _check_dual(T3, label, out, _reference(ref_fun, primals, tangents), inputs, hint, DualArray)
    duals = [a for a in student if is_dual(a)]
    for arg, p, t in zip(duals, primals, tangents, strict=True):
        if not (np.array_equal(arg.value, p) and np.array_equal(arg.tangent, t)):
            fail(T3, f"{label} modified its operand", inputs=inputs, expected=(p, t),
                 obtained=(arg.value, arg.tangent), hint="build a new DualArray for the result")


_VISIBLE_ARRAY_CASES: list[tuple[str, Callable[..., Any], list[Arg], str]] = [
    ("x + y", lambda x, y: x + y, [("x", (3,), "dual"), ("y", (3,), "dual")], "add"),
    ("x - y", lambda x, y: x - y, [("x", (3,), "dual"), ("y", (3,), "dual")], "add"),
    ("x * y", lambda x, y: x * y, [("x", (3,), "dual"), ("y", (3,), "dual")], "mul"),
    ("x / y", lambda x, y: x / y, [("x", (3,), "dual"), ("y", (3,), "dual+")], "div"),
    ("-x", lambda x: -x, [("x", (3,), "dual")], "neg"),
    ("x * c", lambda x, c: x * c, [("x", (3,), "dual"), ("c", (3,), "const")], "mul"),
    ("c - x", lambda c, x: c - x, [("c", (3,), "const"), ("x", (3,), "dual")], "add"),
    ("c / x", lambda c, x: c / x, [("c", (3,), "const"), ("x", (3,), "dual+")], "div"),
    ("x + C", lambda x, C: x + C, [("x", (3,), "dual"), ("C", (2, 3), "const")], "add"),
    ("A @ x", lambda A, x: A @ x, [("A", (2, 3), "const"), ("x", (3,), "dual")], "matmul"),
    ("X @ Y", lambda X, Y: X @ Y, [("X", (2, 3), "dual"), ("Y", (3, 4), "dual")], "matmul"),
    ("X.sum()", lambda X: X.sum(), [("X", (2, 3), "dual")], "sum"),
    ("X.sum(axis=0)", lambda X: X.sum(axis=0), [("X", (2, 3), "dual")], "sum"),
]

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
    ("((A @ x) * y - c).sum()", lambda A, x, y, c: ((A @ x) * y - c).sum(),
     [("A", (3, 5), "const"), ("x", (5,), "dual"), ("y", (3,), "dual"), ("c", (3,), "const")],
     "mul"),
]


@task_check(T3)
def t2_3(DualArray: type) -> None:
    """Elementwise operations with broadcasting, matmul and sum on small arrays."""
    for label, fn, spec, hint in _VISIBLE_ARRAY_CASES:
        _array_case(DualArray, label, fn, spec, hint, "visible")


@task_check(T3, hidden=True)
def hidden_t2_3(DualArray: type) -> None:
    """Other shapes, more broadcasting, numbers, products of matrices, sums over axes."""
    for label, fn, spec, hint in _HIDDEN_ARRAY_CASES:
        _array_case(DualArray, label, fn, spec, hint, "hidden")


# ---------------------------------------------------------------------------------------------
# tasks 2.4 and 2.5: jvp and jacfwd, graded with the course's dual operations
# ---------------------------------------------------------------------------------------------
class DualBox:
    """The dual container of the task statements (the given ``DualArray.__init__``), without
    arithmetic: the test functions below compute with :data:`dual_ops`."""

    __array_ufunc__ = None

    def __init__(self, value: Any, tangent: Any = None):
        self.value = np.asarray(value, dtype=float)
        self.tangent = (np.zeros_like(self.value) if tangent is None
                        else np.asarray(tangent, dtype=float))
        if self.tangent.shape != self.value.shape:
            raise ValueError(f"tangent shape {self.tangent.shape} != value shape "
                             f"{self.value.shape}")

    def __repr__(self) -> str:
        return f"DualBox(value={self.value!r}, tangent={self.tangent!r})"


def _parts(x: Any) -> tuple[np.ndarray, np.ndarray | None, type | None]:
    if is_dual(x):
        return np.asarray(x.value, dtype=float), np.asarray(x.tangent, dtype=float), type(x)
    return np.asarray(x, dtype=float), None, None


def _lift_binary(value_fn: Callable, tangent_fn: Callable) -> Callable[[Any, Any], Any]:
    def op(a: Any, b: Any) -> Any:
        av, at, ac = _parts(a)
        bv, bt, bc = _parts(b)
        value = value_fn(av, bv)
        cls = ac or bc
        if cls is None:
            return value
        at = np.zeros_like(av) if at is None else at
        bt = np.zeros_like(bv) if bt is None else bt
        return cls(value, np.broadcast_to(tangent_fn(av, at, bv, bt), np.shape(value)).copy())
    return op


def _lift_unary(value_fn: Callable, derivative: Callable) -> Callable[[Any], Any]:
    def op(a: Any) -> Any:
        av, at, ac = _parts(a)
        return value_fn(av) if ac is None else ac(value_fn(av), derivative(av) * at)
    return op


def _dual_sum(a: Any, axis: int | None = None) -> Any:
    av, at, ac = _parts(a)
    return av.sum(axis=axis) if ac is None else ac(av.sum(axis=axis), at.sum(axis=axis))


#: the operations of the test functions, on any dual type (``type(x)(value, tangent)``)
dual_ops = SimpleNamespace(
    add=_lift_binary(np.add, lambda av, at, bv, bt: at + bt),
    mul=_lift_binary(np.multiply, lambda av, at, bv, bt: at * bv + av * bt),
    matmul=_lift_binary(np.matmul, lambda av, at, bv, bt: at @ bv + av @ bt),
    sin=_lift_unary(np.sin, np.cos),
    exp=_lift_unary(np.exp, np.exp),
    sum=_dual_sum,
)
#: the same operations for reference_impl
reference_ops = SimpleNamespace(add=rnp.add, mul=rnp.multiply, matmul=rnp.matmul, sin=rnp.sin,
                                exp=rnp.exp, sum=rnp.sum)


def course_jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]
               ) -> tuple[Any, Any]:
    """The course's ``jvp`` (substituted for the student's when ``jacfwd`` is graded)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp(f, primals, tangents) takes tuples, as in JAX: jvp(f, (x,), (v,))")
    out = f(*[DualBox(p, t) for p, t in zip(primals, tangents, strict=True)])
    if not is_dual(out):
        out = DualBox(out)
    return out.value, out.tangent


# test functions: (label, builder(ns, consts) -> f, primal shapes, constant shapes)
Builder = Callable[[SimpleNamespace, list[np.ndarray]], Callable[..., Any]]
_JVP_VISIBLE: list[tuple[str, Builder, list[tuple[int, ...]], list[tuple[int, ...]]]] = [
    ("f(x) = sin(A @ x)", lambda ns, c: lambda x: ns.sin(ns.matmul(c[0], x)), [(3,)], [(2, 3)]),
    ("f(x, y) = x * exp(y)", lambda ns, c: lambda x, y: ns.mul(x, ns.exp(y)), [(3,), (3,)], []),
]
_JVP_HIDDEN: list[tuple[str, Builder, list[tuple[int, ...]], list[tuple[int, ...]]]] = [
    ("f(W, x) = sum(sin(W @ x) * exp(C @ x))",
     lambda ns, c: lambda W, x: ns.sum(ns.mul(ns.sin(ns.matmul(W, x)), ns.exp(ns.matmul(c[0], x)))),
     [(4, 5), (5,)], [(4, 5)]),
    ("f(x) = sin(x) * exp(x) for a scalar x", lambda ns, c: lambda x: ns.mul(ns.sin(x), ns.exp(x)),
     [()], []),
    ("f(X) = X @ B", lambda ns, c: lambda X: ns.matmul(X, c[0]), [(3, 4)], [(4, 2)]),
    ("f(x, y) = sin(x) (y unused)", lambda ns, c: lambda x, y: ns.sin(x), [(3,), (2,)], []),
    ("f(x) = C (a constant)", lambda ns, c: lambda x: c[0], [(3,)], [(2, 3)]),
    ("f(x, y) = exp(x) @ Y + y", lambda ns, c: lambda x, y: ns.add(ns.matmul(ns.exp(x), c[0]), y),
     [(2,), (3,)], [(2, 3)]),
]


def _jvp_case(jvp: Callable, label: str, build: Builder, shapes: Sequence[tuple[int, ...]],
              const_shapes: Sequence[tuple[int, ...]], seed: object) -> None:
    g = rng(T4, (label, seed))
    consts = [uniform(g, s) for s in const_shapes]
    primals = [uniform(g, s, 0.2, 1.5) for s in shapes]
    tangents = [direction(g, s) for s in shapes]
    inputs = {"f": label, "primals": tuple(primals), "tangents": tuple(tangents)}
    with substituted(jvp, DualArray=DualBox):
        got = student_call(T4, "jvp(f, primals, tangents)", jvp, build(dual_ops, consts),
                           tuple(primals), tuple(tangents), inputs=inputs)
    expected = _reference(build(reference_ops, consts), primals, tangents)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(T4, "jvp must return a pair (f(*primals), J·tangents)", inputs=inputs,
             expected=expected, obtained=got)
    if is_dual(got[0]) or is_dual(got[1]):
        fail(T4, "jvp must return plain arrays, not dual values", inputs=inputs,
             expected=expected, obtained=got, hint="return out.value, out.tangent")
    assert_close(T4, "primal output f(*primals)", got[0], expected[0], inputs=inputs,
                 hint="the first element is the value of f at the primals")
    assert_close(T4, "tangent output J·v", got[1], expected[1], inputs=inputs,
                 hint="box every primal with its own tangent: DualArray(p, t); when f ignores "
                      "its inputs the tangent is zero (of the output's shape)")


@task_check(T4, replaces=("DualArray",))
def t2_4(jvp: Callable) -> None:
    """``jvp`` on two small functions (with the course's dual operations)."""
    for label, build, shapes, consts in _JVP_VISIBLE:
        _jvp_case(jvp, label, build, shapes, consts, "visible")


@task_check(T4, hidden=True, replaces=("DualArray",))
def hidden_t2_4(jvp: Callable) -> None:
    """Several inputs, a scalar input, matrix outputs, unused inputs, a constant output."""
    for label, build, shapes, consts in _JVP_HIDDEN:
        _jvp_case(jvp, label, build, shapes, consts, "hidden")


_JAC_VISIBLE: list[tuple[str, Builder, tuple[int, ...], list[tuple[int, ...]]]] = [
    ("f(x) = sin(A @ x)", lambda ns, c: lambda x: ns.sin(ns.matmul(c[0], x)), (3,), [(2, 3)]),
]
_JAC_HIDDEN: list[tuple[str, Builder, tuple[int, ...], list[tuple[int, ...]]]] = [
    ("f(X) = sin(X) @ b", lambda ns, c: lambda X: ns.matmul(ns.sin(X), c[0]), (2, 3), [(3,)]),
    ("f(x) = sum(exp(x) * x)", lambda ns, c: lambda x: ns.sum(ns.mul(ns.exp(x), x)), (5,), []),
    ("f(x) = C * sin(x)", lambda ns, c: lambda x: ns.mul(c[0], ns.sin(x)), (3,), [(4, 3)]),
    ("f(x) = A @ x", lambda ns, c: lambda x: ns.matmul(c[0], x), (7,), [(2, 7)]),
]


def _jacfwd_case(jacfwd: Callable, label: str, build: Builder, shape: tuple[int, ...],
                 const_shapes: Sequence[tuple[int, ...]], seed: object) -> None:
    g = rng(T5, (label, seed))
    consts = [uniform(g, s) for s in const_shapes]
    x = uniform(g, shape, 0.2, 1.5)
    inputs = {"f": label, "x": x}
    f = CallCounter(build(dual_ops, consts))
    with substituted(jacfwd, jvp=course_jvp, DualArray=DualBox):
        jac = student_call(T5, "jacfwd(f)", jacfwd, f, inputs=inputs)
        got = student_call(T5, "jacfwd(f)(x)", jac, x, inputs=inputs)
    n = int(np.size(x))
    plain = sum(1 for args, _ in f.calls if not any(is_dual(a) for a in args))
    if plain:
        fail(T5, f"jacfwd(f)(x) called f {plain} time(s) on plain arrays; every pass must carry "
                 "a tangent (forward mode, not finite differences)", inputs=inputs,
             show_values=False, hint="evaluate f only through jvp")
    expected = np.asarray(ri.jacfwd(build(reference_ops, consts))(x), dtype=float)
    assert_close(T5, "Jacobian (shape f(x).shape + x.shape)", got, expected, inputs=inputs,
                 hint="column k of the Jacobian is jvp(f, (x,), (e_k,)) for the k-th basis "
                      "vector e_k (of x's shape); stack the columns along the last axes")
    if f.count != n:
        fail(T5, f"jacfwd(f)(x) evaluated f {f.count} times for an input of size n = {n}; "
                 f"forward mode needs exactly one pass per input direction, i.e. {n}",
             inputs=inputs, expected=n, obtained=f.count,
             hint="take the output's shape from the first pass instead of an extra call of f")


@task_check(T5, replaces=("jvp", "DualArray"))
def t2_5(jacfwd: Callable) -> None:
    """The Jacobian of a small function, and the number of passes."""
    for label, build, shape, consts in _JAC_VISIBLE:
        _jacfwd_case(jacfwd, label, build, shape, consts, "visible")


@task_check(T5, hidden=True, replaces=("jvp", "DualArray"))
def hidden_t2_5(jacfwd: Callable) -> None:
    """Matrix inputs and outputs, scalar outputs, more inputs than outputs."""
    for label, build, shape, consts in _JAC_HIDDEN:
        _jacfwd_case(jacfwd, label, build, shape, consts, "hidden")

