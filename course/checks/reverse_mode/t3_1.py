"""Checks of task 3.1: graph nodes."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import reference_impl as ri
import reference_impl.numpy as rnp

from .._core import (
    Task,
    assert_close,
    fail,
    fmt,
    student_call,
    task_check,
)
from .._lazy import reference
from ._common import (
    T1,
    _Raw,
)
from ._tape import nodes_of

_REF = reference(__package__)  # None in the student distribution

# ---------------------------------------------------------------------------------------------
# task 3.1: graph nodes
# ---------------------------------------------------------------------------------------------
_BINARY: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "+": (operator.add, "∂(x + y)/∂x = 1, ∂(x + y)/∂y = 1"),
    "-": (operator.sub, "∂(x − y)/∂x = 1, ∂(x − y)/∂y = −1"),
    "*": (operator.mul, "∂(x·y)/∂x = y, ∂(x·y)/∂y = x"),
    "/": (operator.truediv, "∂(x/y)/∂x = 1/y, ∂(x/y)/∂y = −x/y²"),
}
_UNARY: dict[str, tuple[Callable[[Any], Any], str]] = {
    "log": (rnp.log, "∂ log x/∂x = 1/x"),
    "exp": (rnp.exp, "∂ eˣ/∂x = eˣ"),
    "sin": (rnp.sin, "∂ sin x/∂x = cos x"),
    "sqrt": (rnp.sqrt, "∂√x/∂x = 1/(2√x)"),
    "tanh": (rnp.tanh, "∂ tanh x/∂x = 1 − tanh²x"),
}
_ONE_NODE = (
    "every operation creates exactly one node whose parents are its operands "
    "(x − y is one node with the parents (x, 1) and (y, −1), not x + (−y)); a number "
    "operand may be a constant leaf Var(c)"
    " / каждая операция создаёт ровно одну вершину, родители которой — её операнды (x − "
    "y — одна вершина с родителями (x, 1) и (y, −1), а не x + (−y)); числовой операнд "
    "может быть константным листом Var(c)"
)


def _pairs(
    task: Task, Var: type, label: str, node: Any, inputs: dict[str, Any]
) -> list[tuple[Any, float]]:
    """``node.parents`` as a list of ``(Var, float)`` pairs, or a failure."""
    parents = getattr(node, "parents", None)
    if isinstance(parents, (tuple, list)) and all(
        isinstance(p, (tuple, list)) and len(p) == 2 and isinstance(p[0], Var) for p in parents
    ):
        try:
            return [(p, float(local)) for p, local in parents]
        except (TypeError, ValueError):
            pass
    fail(
        task,
        f"{label}: .parents must be a tuple of pairs (parent Var, local derivative)"
        f" / {label}: .parents должен быть кортежем пар (родитель Var, локальная "
        "производная)",
        inputs=inputs,
        expected="((x, ∂z/∂x), (y, ∂z/∂y))",
        obtained=parents,
    )


def _node_case(
    Var: type[Any],
    label: str,
    fn: Callable[..., Any],
    ref: Callable[..., Any],
    args: Sequence[tuple[str, float, bool]],
    hint: str,
) -> None:
    """``fn`` applied to ``args`` (name, value, is it a Var) must build one correct node."""
    student = [Var(v) if is_var else v for _n, v, is_var in args]
    inputs = {n: (_Raw(f"Var({fmt(v)})") if is_var else v) for n, v, is_var in args}
    # the operands that are Vars (of the student's class)
    var_args: list[Any] = [a for a, (_n, _v, is_var) in zip(student, args, strict=True) if is_var]
    before = [(a.value, len(a.parents), a.adj) for a in var_args]
    out = student_call(T1, label, fn, *student, inputs=inputs, hint=hint)
    if not isinstance(out, Var):
        fail(
            T1,
            f"{label} returned {type(out).__name__}, not a Var"
            f" / {label} вернула {type(out).__name__}, а не Var",
            inputs=inputs,
            expected="Var",
            obtained=out,
            hint="every operation returns a new Var node"
            " / каждая операция возвращает новую вершину Var",
        )
    values = [v for _n, v, _i in args]
    var_pos = [i for i, (_n, _v, is_var) in enumerate(args) if is_var]

    def ref_of_vars(*vs: Any) -> Any:
        full = list(values)
        for i, v in zip(var_pos, vs, strict=True):
            full[i] = v
        return ref(*full)

    assert_close(
        T1,
        f"value of {label}",
        out.value,
        float(np.asarray(ref(*values))),
        inputs=inputs,
        hint=hint,
    )
    pairs = _pairs(T1, Var, label, out, inputs)
    partials = ri.grad(ref_of_vars, argnums=tuple(range(len(var_pos))))(
        *[values[i] for i in var_pos]
    )
    for k, (i, node) in enumerate(zip(var_pos, var_args, strict=True)):
        local = sum(d for p, d in pairs if p is node)
        name = args[i][0]
        if not any(p is node for p, _ in pairs):
            fail(
                T1,
                f"{label}: the operand {name} is not among the parents of the result"
                f" / {label}: операнда {name} нет среди родителей результата",
                inputs=inputs,
                expected=f"a pair ({name}, ∂z/∂{name}) in z.parents",
                obtained=pairs,
                hint=_ONE_NODE,
            )
        assert_close(
            T1,
            f"local derivative ∂z/∂{name} of z = {label}",
            local,
            float(partials[k]),
            inputs=inputs,
            hint=hint,
        )
    for p, _ in pairs:
        if not any(p is a for a in var_args) and len(getattr(p, "parents", ())) > 0:
            fail(
                T1,
                f"{label}: a parent of the result is neither an operand nor a constant "
                "leaf"
                f" / {label}: родитель результата не является ни операндом, ни константным "
                "листом",
                inputs=inputs,
                expected="parents: the operands (and constants)",
                obtained=pairs,
                hint=_ONE_NODE,
            )
    if out.adj != 0.0:
        fail(
            T1,
            f"{label}: a new node's adjoint .adj must start at 0.0"
            f" / {label}: сопряжённая переменная .adj новой вершины должна начинаться с 0.0",
            inputs=inputs,
            expected=0.0,
            obtained=out.adj,
            hint="create the result with Var(value, parents)"
            " / создавайте результат как Var(value, "
            "parents)",
        )
    after = [(a.value, len(a.parents), a.adj) for a in var_args]
    if after != before:
        fail(
            T1,
            f"{label} modified its operands / {label} изменила свои операнды",
            inputs=inputs,
            expected=before,
            obtained=after,
            hint="build a new Var for the result; leave the operands as they are"
            " / создайте для результата новый Var; операнды не меняйте",
        )


def _binary_cases(Var: type, a: float, b: float, *, numbers: bool) -> None:
    for sym, (op, hint) in _BINARY.items():
        _node_case(Var, f"x {sym} y", op, op, [("x", a, True), ("y", b, True)], hint)
        if numbers:
            c = round(a, 3)
            _node_case(
                Var,
                f"c {sym} y (c a number)",
                op,
                op,
                [("c", c, False), ("y", b, True)],
                hint + f"; a number on the left calls y.__r{_dunder(sym)}__(c)"
                f" / число слева вызывает y.__r{_dunder(sym)}__(c)",
            )
            _node_case(
                Var, f"x {sym} c (c a number)", op, op, [("x", a, True), ("c", c, False)], hint
            )


def _dunder(sym: str) -> str:
    return {"+": "add", "-": "sub", "*": "mul", "/": "truediv"}[sym]


def _unary_cases(Var: type, funcs: dict[str, Callable], a: float, again: bool = False) -> None:
    """Each function at ``a``; with ``again``, a second call on a new node of the same value
    (a node cached by value would come back with the first operand as its parent)."""
    for name, fn in funcs.items():
        ref, hint = _UNARY[name]
        _node_case(Var, f"{name}(x)", fn, ref, [("x", a, True)], hint)
        if again:
            _node_case(
                Var,
                f"{name}(x) called again, on a new Var of the same value",
                fn,
                ref,
                [("x", a, True)],
                hint + "; every call builds a new node whose parent is this call's operand (a "
                "node kept from an earlier call, e.g. cached by value, belongs to another "
                "graph) / каждый вызов строит новую вершину, родитель которой — операнд этого "
                "вызова",
            )
    _node_case(Var, "-x", operator.neg, operator.neg, [("x", a, True)], "∂(−x)/∂x = −1")


def _lecture_graph(Var: type, log: Callable, sqrt: Callable, w1: float, w2: float) -> None:
    """The lecture's L through the student's nodes: 6 nodes, and the right gradient."""
    x, y = Var(w1), Var(w2)
    inputs = {"w1": w1, "w2": w2}
    label = "L = v2 + sqrt(v2), v2 = w2 * log(w1)"

    def build(u: Any, v: Any) -> Any:
        v2 = v * log(u)
        return v2 + sqrt(v2)

    out = student_call(T1, label, build, x, y, inputs=inputs)
    nodes = nodes_of(out)
    if len(nodes) != 6:
        fail(
            T1,
            f"the graph of {label} has {len(nodes)} nodes"
            f" / в графе {label} {len(nodes)} вершин, а должно быть 6",
            inputs=inputs,
            expected=6,
            obtained=len(nodes),
            hint="2 inputs and one node per operation: v1 = log w1, "
            "v2 = w2·v1, v3 = √v2, L = v2 + v3 (v2 is stored once and used twice); " + _ONE_NODE,
        )
    if _REF is None:  # the student distribution: the course's backward pass is the grader's
        return
    _REF._backward(out, 1.0)
    expected = np.asarray(
        ri.grad(lambda u, v: v * rnp.log(u) + rnp.sqrt(v * rnp.log(u)), argnums=(0, 1))(w1, w2),
        dtype=float,
    )
    assert_close(
        T1,
        "(∂L/∂w1, ∂L/∂w2) by the course's backward pass over your graph",
        [x.adj, y.adj],
        expected,
        inputs=inputs,
        hint="the local derivatives stored in .parents are wrong somewhere"
        " / где-то неверны локальные производные, записанные в .parents",
    )


@task_check(T1)
def t3_1(
    Var: type, log: Callable, exp: Callable, sin: Callable, sqrt: Callable, tanh: Callable
) -> None:
    """Visible checks: + − × ÷ and unary minus, numbers on either side, log, exp, sin, sqrt,
    tanh: values, parents and local derivatives of one node."""
    funcs = {"log": log, "exp": exp, "sin": sin, "sqrt": sqrt, "tanh": tanh}
    _binary_cases(Var, 0.7, 1.6, numbers=False)
    _node_case(
        Var,
        "2.5 * y",
        operator.mul,
        operator.mul,
        [("c", 2.5, False), ("y", 1.6, True)],
        _BINARY["*"][1],
    )
    _node_case(
        Var,
        "2.0 - y",
        operator.sub,
        operator.sub,
        [("c", 2.0, False), ("y", 1.6, True)],
        _BINARY["-"][1] + "; a number on the left calls y.__rsub__(2.0)"
        " / число слева вызывает y.__rsub__(2.0)",
    )
    _unary_cases(Var, funcs, 0.7, again=True)
    _lecture_graph(Var, log, sqrt, 2.0, 3.0)
