"""The hidden checks of this assignment: other inputs, sizes and statistics than the visible ones.

Not part of the student distribution (``course release --student`` leaves out every
``_hidden.py`` and ``_reference.py``); the package loads this module lazily when a hidden check
is called (``check.hidden_t…``), in the grader."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from .._core import (
    direction,
    rng,
    task_check,
    uniform,
)
from ..finite_differences._common import Kept
from ._common import (
    T1,
    T2,
    T3,
    T4,
    T5,
    T6,
)
from .t3_1 import _binary_cases, _lecture_graph, _node_case, _unary_cases
from .t3_2 import Spec, _order_case
from .t3_3 import Builder, _backward_case, _lecture_L
from .t3_4 import _gradient_case, _gradient_cases, _lecture_case
from .t3_5 import VecBuilder, _grad_case, _jacrev_case, _vjp_case
from .t3_6 import _backward_mlp_case, _forward_case


@task_check(T1, hidden=True)
def hidden_t3_1(
    Var: type, log: Callable, exp: Callable, sin: Callable, sqrt: Callable, tanh: Callable
) -> None:
    """Random points, numbers on either side, an operand used twice, the lecture's graph."""
    funcs = {"log": log, "exp": exp, "sin": sin, "sqrt": sqrt, "tanh": tanh}
    for trial in range(3):
        g = rng(T1, trial)
        a, b = uniform(g, (), 0.3, 2.5), uniform(g, (), 0.3, 2.5)
        _binary_cases(Var, a, b, numbers=True)
        _unary_cases(Var, funcs, a, again=trial == 0)
        _node_case(
            Var,
            "x * x",
            lambda x: x * x,
            lambda x: x * x,
            [("x", b, True)],
            "the same operand twice: two pairs (x, x) in .parents, or one pair (x, 2x)"
            " / один и тот же операнд дважды: две пары (x, x) в .parents или одна пара "
            "(x, 2x)",
        )
        _node_case(
            Var,
            "x - x",
            lambda x: x - x,
            lambda x: x - x,
            [("x", a, True)],
            "the same operand twice: the local derivatives add up to 0"
            " / один и тот же операнд дважды: локальные производные в сумме дают 0",
        )
        g = rng(T1, ("signs", trial))  # + − × ÷ take any reals: negative, large, small
        a, b = -uniform(g, (), 0.3, 2.5) * 10 ** (3 * trial), uniform(g, (), 0.3, 2.5) / 10**trial
        _binary_cases(Var, a, -b if trial == 1 else b, numbers=True)
        g = rng(T1, ("L", trial))
        _lecture_graph(Var, log, sqrt, uniform(g, (), 1.2, 4.0), uniform(g, (), 0.4, 3.0))


def _chain_of_diamonds(k: int) -> Spec:
    spec: Spec = [("n0", [])]
    for i in range(k):
        spec += [(f"l{i}", [f"n{i}"]), (f"r{i}", [f"n{i}"]), (f"n{i + 1}", [f"l{i}", f"r{i}"])]
    return spec


def _random_dag(seed: object, n: int) -> Spec:
    g = rng(T2, ("dag", seed))
    spec: Spec = [(f"x{i}", []) for i in range(3)]
    for i in range(n):
        names = [s[0] for s in spec]
        k = int(g.integers(1, 4))
        picks = g.choice(len(names), size=k, replace=bool(g.integers(0, 2)))
        spec.append((f"v{i}", [names[j] for j in picks]))
    return spec


_HIDDEN_GRAPHS: list[tuple[str, Spec]] = [
    (
        "the lecture's L, parents in another order",
        [
            ("w2", []),
            ("w1", []),
            ("v1", ["w1"]),
            ("v2", ["v1", "w2"]),
            ("v3", ["v2"]),
            ("L", ["v3", "v2"]),
        ],
    ),
    ("x * x (the same parent twice)", [("x", []), ("y", ["x", "x"])]),
    (
        "a node used three times",
        [("a", []), ("b", []), ("c", ["a"]), ("d", ["a", "b"]), ("e", ["a", "c", "d"])],
    ),
    ("a single input", [("x", [])]),
    ("a chain of 16 diamonds", _chain_of_diamonds(16)),
    ("a chain of 300 nodes", [("c0", [])] + [(f"c{i}", [f"c{i - 1}"]) for i in range(1, 300)]),
    (
        "unreachable nodes",
        [
            ("a", []),
            ("b", []),
            ("u", ["a", "b"]),
            ("c", ["a"]),
            ("w", ["u"]),
            ("d", ["c", "b", "c"]),
        ],
    ),
    *[(f"a random graph #{i}", _random_dag(i, 30)) for i in range(3)],
]


@task_check(T2, hidden=True)
def hidden_t3_2(topological_order: Callable) -> None:
    """Repeated parents, fan-out, a chain of diamonds (counted reads), a long chain,
    unreachable nodes, random graphs."""
    kept: list[tuple[str, Any, list[int]]] = []
    for label, spec in _HIDDEN_GRAPHS:
        _order_case(topological_order, label, spec, "hidden", kept)


def _chain(ns: SimpleNamespace) -> Callable[..., Any]:
    def f(x: Any) -> Any:
        v = x
        for _ in range(5):
            v = ns.tanh(v) * v + 0.3 * v  # v used three times
        return v

    return f


def _shared(ns: SimpleNamespace) -> Callable[..., Any]:
    def f(x: Any, y: Any) -> Any:
        d = x - y
        return ns.exp(d) * d + ns.sqrt(x * x + y * y)

    return f


_BACKWARD_HIDDEN: list[tuple[str, Builder, int]] = [
    ("L(w1, w2) = w2·log w1 + √(w2·log w1)", _lecture_L, 2),
    (
        "f(x, y, z) = (x·y + y·z)·(x + z) / y",
        lambda ns: lambda x, y, z: (x * y + y * z) * (x + z) / y,
        3,
    ),
    ("f(x) = x·x·x", lambda ns: lambda x: x * x * x, 1),
    ("f(x) = v₅, v_{k+1} = tanh(v_k)·v_k + 0.3·v_k", _chain, 1),
    ("f(x, y) = exp(x − y)·(x − y) + √(x·x + y·y)", _shared, 2),
    ("f(x, y) = x (y unused)", lambda ns: lambda x, y: x, 2),
    ("f(x, y) = 2·x − x·y + y/x", lambda ns: lambda x, y: 2.0 * x - x * y + y / x, 2),
]


@task_check(T3, hidden=True, replaces=("topological_order",))
def hidden_t3_3(backward: Callable) -> None:
    """Random points and cotangents, fan-out up to three, repeated parents, a chain of
    diamonds, an output that is an input, two passes over one graph."""
    for label, build, n in _BACKWARD_HIDDEN:
        _backward_case(backward, label, build, n, "hidden")
    _backward_case(backward, *_BACKWARD_HIDDEN[4], "twice", twice=True)


@task_check(T4, hidden=True)
def hidden_t3_4(lecture_reverse: Callable, lecture_gradient: Callable) -> None:
    """Random points and random cotangents L̄; the number of backward passes."""
    kept = Kept(T4)
    for trial in range(3):
        g = rng(T4, trial)
        w1, w2 = uniform(g, (), 1.2, 4.0), uniform(g, (), 0.4, 3.0)
        _lecture_case(lecture_reverse, w1, w2, direction(g), kept)
        if trial == 0:  # and at new points: exactly one pass there
            _gradient_cases(lecture_reverse, lecture_gradient, w1, w2)
        else:
            _gradient_case(lecture_reverse, lecture_gradient, w1, w2)  # at most one pass


_GRAD_HIDDEN: list[tuple[str, VecBuilder, int]] = [
    (
        "f(x) = Σ tanh(x_i)·x_{i+1}",
        lambda ns: lambda x: sum((ns.tanh(x[i]) * x[i + 1] for i in range(5)), 0.0),
        6,
    ),
    ("f(x) = log(x0)·x0 (x1 unused)", lambda ns: lambda x: ns.log(x[0]) * x[0], 2),
    ("f(x) = √x0", lambda ns: lambda x: ns.sqrt(x[0]), 1),
    (
        "f(x) = exp(x0 − x1)·x0·x0 / x2",
        lambda ns: lambda x: ns.exp(x[0] - x[1]) * x[0] * x[0] / x[2],
        3,
    ),
]


_JAC_HIDDEN: list[tuple[str, VecBuilder, int]] = [
    (
        "f(x) = [x0·x1, sin(x2), x0 + x2]",
        lambda ns: lambda x: [x[0] * x[1], ns.sin(x[2]), x[0] + x[2]],
        3,
    ),
    (
        "f(x) = [x0·x1, x1·x2, x2·x0, exp(x0)]",
        lambda ns: lambda x: [x[0] * x[1], x[1] * x[2], x[2] * x[0], ns.exp(x[0])],
        3,
    ),
    (
        "f(x) = [Σ x_i², sin(x0)·x4]",
        lambda ns: lambda x: [sum((x[i] * x[i] for i in range(5)), 0.0), ns.sin(x[0]) * x[4]],
        5,
    ),
    ("f(x) = [tanh(x0·x1)]", lambda ns: lambda x: [ns.tanh(x[0] * x[1])], 2),
    ("f(x) = [x1, x0] (the outputs are inputs)", lambda ns: lambda x: [x[1], x[0]], 2),
]


@task_check(T5, hidden=True, replaces=("Var", "backward", "topological_order"))
def hidden_t3_5(grad: Callable, vjp: Callable, jacrev: Callable) -> None:
    """Unused inputs, outputs that skip inputs, more outputs than inputs and fewer, m = 1."""
    for label, build, n in _GRAD_HIDDEN:
        _grad_case(grad, label, build, n, "hidden")
    for label, build, n in _JAC_HIDDEN:
        _vjp_case(vjp, label, build, n, "hidden")
        _jacrev_case(jacrev, label, build, n, "hidden")


_MLP_HIDDEN: list[tuple[int, list[int]]] = [
    (1, [3, 5, 2]),  # a single data point
    (7, [4, 4, 4]),  # square layers: a transposed factor keeps the shape
    (3, [6, 2]),  # one layer
    (5, [2, 7, 3, 6, 1]),  # four layers, one output
    (2, [8, 3, 5]),
]


@task_check(T6, hidden=True)
def hidden_t3_6(mlp_forward: Callable, mlp_backward: Callable) -> None:
    """Unseen batch sizes (1 included) and layer sizes (square, one layer, four layers)."""
    for i, (b, sizes) in enumerate(_MLP_HIDDEN):
        _forward_case(mlp_forward, b, sizes, "hidden")
        _backward_mlp_case(mlp_backward, b, sizes, "hidden", mlp_forward, again=i == 1)
