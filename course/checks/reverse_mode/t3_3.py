"""Checks of task 3.3: the backward pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

import reference_impl as ri

from .._core import (
    CallCounter,
    diagnose,
    direction,
    fail,
    fmt,
    rng,
    student_call,
    substituted,
    task_check,
    uniform,
)
from .._lazy import reference
from ._common import (
    T3,
    _Raw,
)
from ._tape import (
    TapeVar,
    _as_tape,
    graph_state,
    graph_unchanged,
    nodes_of,
    reference_ops,
    tape_ops,
)

_REF = reference(__package__)  # None in the student distribution

# ---------------------------------------------------------------------------------------------
# task 3.3: the backward pass
# ---------------------------------------------------------------------------------------------
Builder = Callable[[SimpleNamespace], Callable[..., Any]]


def _lecture_L(ns: SimpleNamespace) -> Callable[..., Any]:
    def L(w1: Any, w2: Any) -> Any:
        v2 = w2 * ns.log(w1)
        return v2 + ns.sqrt(v2)

    return L


_BACKWARD_VISIBLE: list[tuple[str, Builder, int]] = [
    ("L(w1, w2) = w2·log w1 + √(w2·log w1)", _lecture_L, 2),
    ("f(x, y) = x·y + sin(x)·x", lambda ns: lambda x, y: x * y + ns.sin(x) * x, 2),
]


def _fresh(build: Builder, xs: Sequence[float]) -> tuple[list[TapeVar], TapeVar]:
    leaves = [TapeVar(x) for x in xs]
    out = build(tape_ops)(*leaves)
    return leaves, _as_tape(out)


_VARIANTS: list[tuple[dict[str, Any], str]] = [
    (
        {"accumulate": False},
        "the adjoints equal those of a backward pass with '=' instead of "
        "'+=': a node used by several children (fan-out) must add up all their contributions, "
        "parent.adj += node.adj * local"
        " / сопряжённые переменные совпадают с обратным проходом, где '=' вместо '+=': вершина с "
        "несколькими потомками должна суммировать все их вклады",
    ),
    (
        {"reverse": False},
        "the adjoints equal those of a pass over the order from the inputs to "
        "the output: walk the topological order backwards, children before parents"
        " / сопряжённые переменные совпадают с проходом от входов к выходу: обходите топологический "
        "порядок в обратную сторону, потомки раньше родителей",
    ),
    (
        {"seed": 1.0},
        "the adjoints equal those of the cotangent 1: seed output.adj = cotangent"
        " / сопряжённые переменные соответствуют сопряжённому 1: задайте output.adj ="
        " cotangent",
    ),
    (
        {"reset": False},
        "the adjoints of the first pass were not reset: set node.adj = 0.0 for "
        "every node of the order before seeding the output"
        " / сопряжённые переменные первого прохода не обнулены: положите node.adj = 0.0 для каждой "
        "вершины порядка до задания output.adj",
    ),
]


def _which_variant(
    build: Builder, xs: Sequence[float], cts: Sequence[float], got: np.ndarray
) -> str | None:
    """The hint of the classic bug whose adjoints equal the student's, if any."""
    if _REF is None:  # the student distribution: the course's backward pass is the grader's
        return None
    for kw, hint in _VARIANTS:
        kw = dict(kw)
        if "reset" in kw and len(cts) < 2:
            continue
        seed = kw.pop("seed", None)
        leaves, out = _fresh(build, xs)
        for ct in cts:
            _REF._backward(out, ct if seed is None else seed, **kw)
        alt = np.array([x.adj for x in leaves])
        if got.shape == alt.shape and np.allclose(got, alt, rtol=1e-9, atol=1e-12):
            return hint
    return None


def _backward_case(
    backward: Callable, label: str, build: Builder, n: int, seed: object, twice: bool = False
) -> None:
    g = rng(T3, (label, seed))
    low = 1.2 if label.startswith("L(") else 0.5  # the lecture's L needs w1 > 1
    xs = [uniform(g, (), low, 2.5) for _ in range(n)]
    cts = [direction(g) for _ in range(2 if twice else 1)]
    leaves, out = _fresh(build, xs)
    names = ["x", "y", "z"] if n > 1 else ["x"]
    if label.startswith("L("):
        names = ["w1", "w2"]
    ct = cts[-1]
    inputs: dict[str, Any] = {
        "f": _Raw(label),
        **dict(zip(names, xs, strict=False)),
        "cotangent": ct,
    }
    if twice:
        inputs["cotangent"] = _Raw(f"{fmt(cts[0])}, then {fmt(ct)} (two passes over one graph)")
    counter = CallCounter(nodes_of if _REF is None else _REF.course_topological_order)
    saved = graph_state(out, adjoints=False)  # backward writes .adj only
    with substituted(backward, topological_order=counter):
        for c in cts:
            student_call(T3, "backward(output, cotangent)", backward, out, c, inputs=inputs)
            graph_unchanged(T3, "backward", saved, inputs)
    got = np.array([x.adj for x in leaves], dtype=float)
    expected = ct * np.asarray(
        ri.grad(build(reference_ops), argnums=tuple(range(n)))(*xs), dtype=float
    ).reshape(n)
    if not np.allclose(got, expected, rtol=1e-7, atol=1e-9):
        hint = _which_variant(build, xs, cts, got)
        fail(
            T3,
            f"wrong adjoints of the inputs ({', '.join(v + '.adj' for v in names[:n])})"
            " / неверные сопряжённые переменные входов",
            inputs=inputs,
            expected=expected,
            obtained=got,
            diagnosis=diagnose(got, expected),
            hint=hint
            or "x̄ = Σ over the children c of x: c̄ · ∂c/∂x; the local derivatives are in .parents"
            " / x̄ = сумма c̄ · ∂c/∂x по потомкам c вершины x; локальные производные лежат в "
            ".parents",
        )
    _, ref_out = _fresh(build, xs)
    if _REF is not None:  # the student distribution: the course's backward pass is the grader's
        _REF._backward(ref_out, ct)
    mine, ref = nodes_of(out), nodes_of(ref_out)
    for k, (a, b) in enumerate(zip(mine, ref, strict=True) if _REF is not None else ()):
        if not np.isclose(a.adj, b.adj, rtol=1e-7, atol=1e-9):
            fail(
                T3,
                f"wrong adjoint of node {k + 1} of {len(ref)} in topological order "
                f"({b.op}, value {b.value:.6g})"
                f" / неверная сопряжённая переменная вершины {k + 1} из {len(ref)} в "
                "топологическом порядке",
                inputs=inputs,
                expected=b.adj,
                obtained=a.adj,
                diagnosis=diagnose(a.adj, b.adj),
                hint="every node of the graph gets its adjoint v̄ = ∂(cotangent·f)/∂v"
                " / каждая вершина графа получает сопряжённую переменную v̄ = "
                "∂(cotangent·f)/∂v",
            )
    if counter.count != len(cts):
        fail(
            T3,
            f"backward called topological_order {counter.count} times in {len(cts)} "
            "pass(es); one backward pass needs the order once"
            f" / backward вызвала topological_order {counter.count} раз за {len(cts)} "
            "проход(а); одному обратному проходу порядок нужен один раз",
            inputs=inputs,
            expected=len(cts),
            obtained=counter.count,
            hint="compute order = topological_order(output) once, then walk it backwards"
            " / вычислите order = topological_order(output) один раз и пройдите его с конца",
        )


@task_check(T3, replaces=("topological_order",))
def t3_3(backward: Callable) -> None:
    """The lecture's L and a function whose input is used three times."""
    for label, build, n in _BACKWARD_VISIBLE:
        _backward_case(backward, label, build, n, "visible")
