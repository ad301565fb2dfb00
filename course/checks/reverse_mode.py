"""Checks of assignment 03, reverse mode: a computational graph of scalars (``Var``), its
topological order, the backward pass with adjoint accumulation, the lecture's L(w1, w2) by hand,
``grad``/``vjp``/``jacrev`` with a count of passes, and the feedforward network's backward pass.

Expected values come from ``reference_impl`` (``grad``, ``vjp``, ``jacrev``) at seeded random
points with random cotangents. Each task is graded on its own code: ``t3_2`` runs the student's
``topological_order`` on this module's graphs (:class:`GraphNode`, which counts reads of
``.parents``); ``t3_3`` and ``t3_5`` run on the course's node class :class:`TapeVar` and, for
``t3_5``, the course's ``topological_order`` and ``backward`` (counted), substituted for the
student's; ``t3_6`` grades the backward pass on activations computed here, with a NumPy whose
``tanh`` calls are counted.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

import reference_impl as ri
import reference_impl.numpy as rnp

from ._core import (
    CallCounter,
    CheckFailure,
    Task,
    assert_close,
    diagnose,
    direction,
    fail,
    fmt,
    rng,
    student_call,
    substituted,
    task_check,
    topological_order,
    uniform,
)

TASKS = {
    "t3_1": Task("t3_1", "graph-nodes", "computational graph", "вычислительный граф", 15),
    "t3_2": Task("t3_2", "topological-order", "topological order", "топологический порядок", 15),
    "t3_3": Task("t3_3", "backward", "backward pass", "обратный проход", 15),
    "t3_4": Task("t3_4", "lecture-example", "reverse mode on L(w1, w2)",
                 "обратный режим для L(w₁, w₂)", 15),
    "t3_5": Task("t3_5", "jacrev", "grad, vjp and jacrev", "grad, vjp, jacrev и число проходов",
                 20),
    "t3_6": Task("t3_6", "mlp-backward", "backward pass of a feedforward network",
                 "обратный проход полносвязной сети", 20),
}
T1, T2, T3, T4, T5, T6 = TASKS.values()

__all__ = ["TASKS", "GraphNode", "TapeVar", "course_backward", "course_topological_order",
           "hidden_t3_1", "hidden_t3_2", "hidden_t3_3", "hidden_t3_4", "hidden_t3_5",
           "hidden_t3_6", "reference_ops", "t3_1", "t3_2", "t3_3", "t3_4", "t3_5", "t3_6",
           "tape_ops"]


class _Raw(str):
    """Text shown as is (without quotes) in the ``input:`` line of a failure."""

    def __repr__(self) -> str:
        return str(self)


# ---------------------------------------------------------------------------------------------
# the course's tape (the solved task 3.1) and its traversals (tasks 3.2, 3.3)
# ---------------------------------------------------------------------------------------------
class TapeVar:
    """The course's node of a graph of scalars: ``value``, ``parents`` = pairs
    ``(parent, ∂self/∂parent)``, the adjoint ``adj``, and ``op`` (for messages)."""

    __array_ufunc__ = None

    def __init__(self, value: float, parents: Sequence[tuple[TapeVar, float]] = (),
                 op: str = "input"):
        self.value = float(value)
        self.parents = tuple(parents)
        self.adj = 0.0
        self.op = op

    def __repr__(self) -> str:
        return f"Var({self.value:.6g}, op={self.op!r})"

    def __add__(self, other: Any) -> TapeVar:
        o = _as_tape(other)
        return TapeVar(self.value + o.value, ((self, 1.0), (o, 1.0)), "+")

    def __sub__(self, other: Any) -> TapeVar:
        o = _as_tape(other)
        return TapeVar(self.value - o.value, ((self, 1.0), (o, -1.0)), "-")

    def __rsub__(self, other: Any) -> TapeVar:
        return _as_tape(other) - self

    def __mul__(self, other: Any) -> TapeVar:
        o = _as_tape(other)
        return TapeVar(self.value * o.value, ((self, o.value), (o, self.value)), "*")

    def __truediv__(self, other: Any) -> TapeVar:
        o = _as_tape(other)
        return TapeVar(self.value / o.value,
                       ((self, 1.0 / o.value), (o, -self.value / o.value**2)), "/")

    def __rtruediv__(self, other: Any) -> TapeVar:
        return _as_tape(other) / self

    def __neg__(self) -> TapeVar:
        return TapeVar(-self.value, ((self, -1.0),), "neg")

    __radd__ = __add__
    __rmul__ = __mul__


def _as_tape(x: Any) -> TapeVar:
    return x if isinstance(x, TapeVar) else TapeVar(x, (), "const")


def _tape_unary(name: str, f: Callable[[float], float], df: Callable[[float], float]
                ) -> Callable[[Any], TapeVar]:
    def op(x: Any) -> TapeVar:
        x = _as_tape(x)
        return TapeVar(f(x.value), ((x, df(x.value)),), name)

    op.__name__ = name
    return op


#: the elementary functions of the test functions on :class:`TapeVar`, and for reference_impl
tape_ops = SimpleNamespace(
    log=_tape_unary("log", np.log, lambda v: 1.0 / v),
    exp=_tape_unary("exp", np.exp, np.exp),
    sin=_tape_unary("sin", np.sin, np.cos),
    sqrt=_tape_unary("sqrt", np.sqrt, lambda v: 0.5 / np.sqrt(v)),
    tanh=_tape_unary("tanh", np.tanh, lambda v: 1.0 - np.tanh(v) ** 2),
)
reference_ops = SimpleNamespace(log=rnp.log, exp=rnp.exp, sin=rnp.sin, sqrt=rnp.sqrt,
                                tanh=rnp.tanh)


def _parents_of(node: Any) -> tuple[Any, ...]:
    raw = node._parents if isinstance(node, GraphNode) else node.parents
    return tuple(p for p, _ in raw)


def course_topological_order(output: Any) -> list[Any]:
    """Every node reachable from ``output``, once, each after its parents (iterative DFS)."""
    return topological_order(output, lambda node: reversed(_parents_of(node)))


def _backward(output: Any, cotangent: float, *, accumulate: bool = True, reverse: bool = True,
              reset: bool = True) -> None:
    """The backward pass; the keywords give the classic bugs, for diagnosis."""
    nodes = course_topological_order(output)
    for node in nodes if reset else ():
        node.adj = 0.0
    output.adj = cotangent
    for node in reversed(nodes) if reverse else nodes:
        for parent, local in node.parents:
            if accumulate:
                parent.adj += node.adj * local
            else:
                parent.adj = node.adj * local


def course_backward(output: Any, cotangent: float = 1.0) -> None:
    """The course's ``backward`` (substituted for the student's when task 3.5 is graded)."""
    _backward(output, cotangent)


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
_ONE_NODE = ("every operation creates exactly one node whose parents are its operands "
             "(x − y is one node with the parents (x, 1) and (y, −1), not x + (−y)); a number "
             "operand may be a constant leaf Var(c)")


def _pairs(task: Task, Var: type, label: str, node: Any, inputs: dict[str, Any]
           ) -> list[tuple[Any, float]]:
    """``node.parents`` as a list of ``(Var, float)`` pairs, or a failure."""
    parents = getattr(node, "parents", None)
    if isinstance(parents, (tuple, list)) and all(
            isinstance(p, (tuple, list)) and len(p) == 2 and isinstance(p[0], Var)
            for p in parents):
        try:
            return [(p, float(local)) for p, local in parents]
        except (TypeError, ValueError):
            pass
    fail(task, f"{label}: .parents must be a tuple of pairs (parent Var, local derivative)",
         inputs=inputs, expected="((x, ∂z/∂x), (y, ∂z/∂y))", obtained=parents)


def _node_case(Var: type, label: str, fn: Callable[..., Any], ref: Callable[..., Any],
               args: Sequence[tuple[str, float, bool]], hint: str) -> None:
    """``fn`` applied to ``args`` (name, value, is it a Var) must build one correct node."""
    student = [Var(v) if is_var else v for _n, v, is_var in args]
    inputs = {n: (_Raw(f"Var({fmt(v)})") if is_var else v) for n, v, is_var in args}
    var_args = [a for a, (_n, _v, is_var) in zip(student, args, strict=True) if is_var]
    before = [(a.value, len(a.parents), a.adj) for a in var_args]
    out = student_call(T1, label, fn, *student, inputs=inputs, hint=hint)
    if not isinstance(out, Var):
        fail(T1, f"{label} returned {type(out).__name__}, not a Var", inputs=inputs,
             expected="Var", obtained=out, hint="every operation returns a new Var node")
    values = [v for _n, v, _i in args]
    var_pos = [i for i, (_n, _v, is_var) in enumerate(args) if is_var]

    def ref_of_vars(*vs: Any) -> Any:
        full = list(values)
        for i, v in zip(var_pos, vs, strict=True):
            full[i] = v
        return ref(*full)

    assert_close(T1, f"value of {label}", out.value, float(np.asarray(ref(*values))),
                 inputs=inputs, hint=hint)
    pairs = _pairs(T1, Var, label, out, inputs)
    partials = ri.grad(ref_of_vars, argnums=tuple(range(len(var_pos))))(
        *[values[i] for i in var_pos])
    for k, (i, node) in enumerate(zip(var_pos, var_args, strict=True)):
        local = sum(d for p, d in pairs if p is node)
        name = args[i][0]
        if not any(p is node for p, _ in pairs):
            fail(T1, f"{label}: the operand {name} is not among the parents of the result",
                 inputs=inputs, expected=f"a pair ({name}, ∂z/∂{name}) in z.parents",
                 obtained=pairs, hint=_ONE_NODE)
        assert_close(T1, f"local derivative ∂z/∂{name} of z = {label}", local,
                     float(partials[k]), inputs=inputs, hint=hint)
    for p, _ in pairs:
        if not any(p is a for a in var_args) and len(getattr(p, "parents", ())) > 0:
            fail(T1, f"{label}: a parent of the result is neither an operand nor a constant "
                     "leaf", inputs=inputs, expected="parents: the operands (and constants)",
                 obtained=pairs, hint=_ONE_NODE)
    if out.adj != 0.0:
        fail(T1, f"{label}: a new node's adjoint .adj must start at 0.0", inputs=inputs,
             expected=0.0, obtained=out.adj, hint="create the result with Var(value, parents)")
    after = [(a.value, len(a.parents), a.adj) for a in var_args]
    if after != before:
        fail(T1, f"{label} modified its operands", inputs=inputs, expected=before,
             obtained=after, hint="build a new Var for the result; leave the operands as they are")


def _binary_cases(Var: type, a: float, b: float, *, numbers: bool) -> None:
    for sym, (op, hint) in _BINARY.items():
        _node_case(Var, f"x {sym} y", op, op, [("x", a, True), ("y", b, True)], hint)
        if numbers:
            c = round(a, 3)
            _node_case(Var, f"c {sym} y (c a number)", op, op, [("c", c, False), ("y", b, True)],
                       hint + f"; a number on the left calls y.__r{_dunder(sym)}__(c)")
            _node_case(Var, f"x {sym} c (c a number)", op, op, [("x", a, True), ("c", c, False)],
                       hint)


def _dunder(sym: str) -> str:
    return {"+": "add", "-": "sub", "*": "mul", "/": "truediv"}[sym]


def _unary_cases(Var: type, funcs: dict[str, Callable], a: float) -> None:
    for name, fn in funcs.items():
        ref, hint = _UNARY[name]
        _node_case(Var, f"{name}(x)", fn, ref, [("x", a, True)], hint)
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
    nodes = course_topological_order(out)
    if len(nodes) != 6:
        fail(T1, f"the graph of {label} has {len(nodes)} nodes", inputs=inputs, expected=6,
             obtained=len(nodes), hint="2 inputs and one node per operation: v1 = log w1, "
             "v2 = w2·v1, v3 = √v2, L = v2 + v3 (v2 is stored once and used twice); "
             + _ONE_NODE)
    _backward(out, 1.0)
    expected = np.asarray(ri.grad(lambda u, v: v * rnp.log(u) + rnp.sqrt(v * rnp.log(u)),
                                  argnums=(0, 1))(w1, w2), dtype=float)
    assert_close(T1, "(∂L/∂w1, ∂L/∂w2) by the course's backward pass over your graph",
                 [x.adj, y.adj], expected, inputs=inputs,
                 hint="the local derivatives stored in .parents are wrong somewhere")


@task_check(T1)
def t3_1(Var: type, log: Callable, exp: Callable, sin: Callable, sqrt: Callable,
         tanh: Callable) -> None:
    """Visible checks: + − × ÷ and unary minus, numbers on either side, log, exp, sin, sqrt,
    tanh: values, parents and local derivatives of one node."""
    funcs = {"log": log, "exp": exp, "sin": sin, "sqrt": sqrt, "tanh": tanh}
    _binary_cases(Var, 0.7, 1.6, numbers=False)
    _node_case(Var, "2.5 * y", operator.mul, operator.mul, [("c", 2.5, False), ("y", 1.6, True)],
               _BINARY["*"][1])
    _node_case(Var, "2.0 - y", operator.sub, operator.sub, [("c", 2.0, False), ("y", 1.6, True)],
               _BINARY["-"][1] + "; a number on the left calls y.__rsub__(2.0)")
    _unary_cases(Var, funcs, 0.7)
    _lecture_graph(Var, log, sqrt, 2.0, 3.0)


@task_check(T1, hidden=True)
def hidden_t3_1(Var: type, log: Callable, exp: Callable, sin: Callable, sqrt: Callable,
                tanh: Callable) -> None:
    """Random points, numbers on either side, an operand used twice, the lecture's graph."""
    funcs = {"log": log, "exp": exp, "sin": sin, "sqrt": sqrt, "tanh": tanh}
    for trial in range(3):
        g = rng(T1, trial)
        a, b = uniform(g, (), 0.3, 2.5), uniform(g, (), 0.3, 2.5)
        _binary_cases(Var, a, b, numbers=True)
        _unary_cases(Var, funcs, a)
        _node_case(Var, "x * x", lambda x: x * x, lambda x: x * x, [("x", b, True)],
                   "the same operand twice: two pairs (x, x) in .parents, or one pair (x, 2x)")
        _node_case(Var, "x - x", lambda x: x - x, lambda x: x - x, [("x", a, True)],
                   "the same operand twice: the local derivatives add up to 0")
        g = rng(T1, ("L", trial))
        _lecture_graph(Var, log, sqrt, uniform(g, (), 1.2, 4.0), uniform(g, (), 0.4, 3.0))


# ---------------------------------------------------------------------------------------------
# task 3.2: topological order
# ---------------------------------------------------------------------------------------------
class _Budget:
    def __init__(self, limit: int, describe: str):
        self.limit, self.reads, self.describe = limit, 0, describe


class GraphNode:
    """A node of the test graphs of task 3.2. Reading ``.parents`` is counted: a traversal
    without a set of visited nodes re-expands shared nodes (exponentially on diamonds)."""

    def __init__(self, name: str, parents: Sequence[tuple[GraphNode, float]], budget: _Budget):
        self.name = name
        self.value = 0.0
        self.adj = 0.0
        self._parents = tuple(parents)
        self._budget = budget

    @property
    def parents(self) -> tuple[tuple[GraphNode, float], ...]:
        b = self._budget
        b.reads += 1
        if b.reads > b.limit:
            raise CheckFailure(
                f"{T2.label}: topological_order read .parents more than {b.limit} times on "
                f"{b.describe}\n"
                "  diagnosis: nodes shared by several children (fan-out, diamonds) are expanded "
                "again and again: on a chain of k diamonds that is 2^k times\n"
                "  hint:      keep a set of visited nodes and expand every node once")
        return self._parents

    def __repr__(self) -> str:
        return f"Node({self.name!r})"


# a graph: [(name, [parent names])] in creation order; the output is the last node
Spec = list[tuple[str, list[str]]]


def _build_graph(spec: Spec, describe: str, seed: object) -> tuple[dict[str, GraphNode],
                                                                   GraphNode, _Budget]:
    g = rng(T2, seed)
    budget = _Budget(4 * len(spec) + 10, describe)
    nodes: dict[str, GraphNode] = {}
    for name, parents in spec:
        nodes[name] = GraphNode(name, [(nodes[p], uniform(g)) for p in parents], budget)
    return nodes, nodes[spec[-1][0]], budget


def _describe(spec: Spec) -> str:
    if len(spec) > 12:
        return f"a graph of {len(spec)} nodes, output {spec[-1][0]!r}"
    edges = "; ".join(f"{n} ← {', '.join(ps)}" if ps else f"{n}: input" for n, ps in spec)
    return f"graph (node ← parents): {edges}; output {spec[-1][0]}"


def _names(nodes: Sequence[Any]) -> list[str]:
    return [getattr(n, "name", repr(n)) for n in nodes]


def _order_case(topological_order: Callable, label: str, spec: Spec, seed: object) -> None:
    describe = _describe(spec)
    nodes, out, _budget = _build_graph(spec, f"{label} ({len(spec)} nodes)", (label, seed))
    inputs = {"graph": _Raw(f"{label}: {describe}")}
    got = student_call(T2, "topological_order(output)", topological_order, out, inputs=inputs)
    expected = course_topological_order(out)
    shown = _names(expected)
    if not isinstance(got, (list, tuple)):
        fail(T2, f"topological_order returned {type(got).__name__}, not a list of nodes",
             inputs=inputs, expected=shown, obtained=got)
    got = list(got)
    members = {id(n) for n in nodes.values()}
    strangers = [n for n in got if id(n) not in members]
    if strangers:
        fail(T2, "the order contains objects that are not nodes of the graph", inputs=inputs,
             expected=shown, obtained=strangers[:5], hint="return the node objects themselves")
    counts: dict[int, int] = {}
    for n in got:
        counts[id(n)] = counts.get(id(n), 0) + 1
    dup = [n.name for n in got if counts[id(n)] > 1]
    if dup:
        fail(T2, f"node {dup[0]!r} appears {counts[id(nodes[dup[0]])]} times in the order",
             inputs=inputs, expected=shown, obtained=_names(got),
             hint="every node once: a node used by several children (fan-out) is added only "
                  "the first time it is reached; keep a set of visited nodes")
    reach = {id(n) for n in expected}
    missing = [n.name for n in expected if id(n) not in counts]
    if missing:
        fail(T2, f"nodes missing from the order: {missing[:8]}", inputs=inputs, expected=shown,
             obtained=_names(got), hint="visit every parent of every node (all pairs in "
             ".parents), recursively, down to the inputs")
    extra = [n.name for n in got if id(n) not in reach]
    if extra:
        fail(T2, f"nodes not reachable from the output are in the order: {extra[:8]}",
             inputs=inputs, expected=shown, obtained=_names(got),
             hint="start from the output and follow .parents only")
    pos = {id(n): i for i, n in enumerate(got)}
    for n in got:
        for p in _parents_of(n):
            if pos[id(p)] > pos[id(n)]:
                fail(T2, f"node {n.name!r} comes before its parent {p.name!r}", inputs=inputs,
                     expected=shown, obtained=_names(got),
                     hint="append a node only after all its parents (post-order of a "
                          "depth-first search): parents first, the output last")


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


_LECTURE_GRAPH: Spec = [("w1", []), ("w2", []), ("v1", ["w1"]), ("v2", ["w2", "v1"]),
                        ("v3", ["v2"]), ("L", ["v2", "v3"])]
_VISIBLE_GRAPHS: list[tuple[str, Spec]] = [
    ("the lecture's L(w1, w2)", _LECTURE_GRAPH),
    ("a diamond", [("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"])]),
]
_HIDDEN_GRAPHS: list[tuple[str, Spec]] = [
    ("the lecture's L, parents in another order",
     [("w2", []), ("w1", []), ("v1", ["w1"]), ("v2", ["v1", "w2"]), ("v3", ["v2"]),
      ("L", ["v3", "v2"])]),
    ("x * x (the same parent twice)", [("x", []), ("y", ["x", "x"])]),
    ("a node used three times",
     [("a", []), ("b", []), ("c", ["a"]), ("d", ["a", "b"]), ("e", ["a", "c", "d"])]),
    ("a single input", [("x", [])]),
    ("a chain of 16 diamonds", _chain_of_diamonds(16)),
    ("a chain of 300 nodes", [("c0", [])] + [(f"c{i}", [f"c{i - 1}"]) for i in range(1, 300)]),
    ("unreachable nodes", [("a", []), ("b", []), ("u", ["a", "b"]), ("c", ["a"]),
                           ("w", ["u"]), ("d", ["c", "b", "c"])]),
] + [(f"a random graph #{i}", _random_dag(i, 30)) for i in range(3)]


@task_check(T2)
def t3_2(topological_order: Callable) -> None:
    """The lecture's graph and a diamond."""
    for label, spec in _VISIBLE_GRAPHS:
        _order_case(topological_order, label, spec, "visible")


@task_check(T2, hidden=True)
def hidden_t3_2(topological_order: Callable) -> None:
    """Repeated parents, fan-out, a chain of diamonds (counted reads), a long chain,
    unreachable nodes, random graphs."""
    for label, spec in _HIDDEN_GRAPHS:
        _order_case(topological_order, label, spec, "hidden")


# ---------------------------------------------------------------------------------------------
# task 3.3: the backward pass
# ---------------------------------------------------------------------------------------------
Builder = Callable[[SimpleNamespace], Callable[..., Any]]


def _lecture_L(ns: SimpleNamespace) -> Callable[..., Any]:
    def L(w1: Any, w2: Any) -> Any:
        v2 = w2 * ns.log(w1)
        return v2 + ns.sqrt(v2)
    return L


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


_BACKWARD_VISIBLE: list[tuple[str, Builder, int]] = [
    ("L(w1, w2) = w2·log w1 + √(w2·log w1)", _lecture_L, 2),
    ("f(x, y) = x·y + sin(x)·x", lambda ns: lambda x, y: x * y + ns.sin(x) * x, 2),
]
_BACKWARD_HIDDEN: list[tuple[str, Builder, int]] = [
    ("L(w1, w2) = w2·log w1 + √(w2·log w1)", _lecture_L, 2),
    ("f(x, y, z) = (x·y + y·z)·(x + z) / y", lambda ns: lambda x, y, z:
     (x * y + y * z) * (x + z) / y, 3),
    ("f(x) = x·x·x", lambda ns: lambda x: x * x * x, 1),
    ("f(x) = v₅, v_{k+1} = tanh(v_k)·v_k + 0.3·v_k", _chain, 1),
    ("f(x, y) = exp(x − y)·(x − y) + √(x·x + y·y)", _shared, 2),
    ("f(x, y) = x (y unused)", lambda ns: lambda x, y: x, 2),
    ("f(x, y) = 2·x − x·y + y/x", lambda ns: lambda x, y: 2.0 * x - x * y + y / x, 2),
]


def _fresh(build: Builder, xs: Sequence[float]) -> tuple[list[TapeVar], TapeVar]:
    leaves = [TapeVar(x) for x in xs]
    out = build(tape_ops)(*leaves)
    return leaves, _as_tape(out)


_VARIANTS: list[tuple[dict[str, Any], str]] = [
    ({"accumulate": False}, "the adjoints equal those of a backward pass with '=' instead of "
     "'+=': a node used by several children (fan-out) must add up all their contributions, "
     "parent.adj += node.adj * local"),
    ({"reverse": False}, "the adjoints equal those of a pass over the order from the inputs to "
     "the output: walk the topological order backwards, children before parents"),
    ({"seed": 1.0}, "the adjoints equal those of the cotangent 1: seed output.adj = cotangent"),
    ({"reset": False}, "the adjoints of the first pass were not reset: set node.adj = 0.0 for "
     "every node of the order before seeding the output"),
]


def _which_variant(build: Builder, xs: Sequence[float], cts: Sequence[float], got: np.ndarray
                   ) -> str | None:
    """The hint of the classic bug whose adjoints equal the student's, if any."""
    for kw, hint in _VARIANTS:
        kw = dict(kw)
        if "reset" in kw and len(cts) < 2:
            continue
        seed = kw.pop("seed", None)
        leaves, out = _fresh(build, xs)
        for ct in cts:
            _backward(out, ct if seed is None else seed, **kw)
        alt = np.array([x.adj for x in leaves])
        if got.shape == alt.shape and np.allclose(got, alt, rtol=1e-9, atol=1e-12):
            return hint
    return None


def _backward_case(backward: Callable, label: str, build: Builder, n: int, seed: object,
                   twice: bool = False) -> None:
    g = rng(T3, (label, seed))
    low = 1.2 if label.startswith("L(") else 0.5  # the lecture's L needs w1 > 1
    xs = [uniform(g, (), low, 2.5) for _ in range(n)]
    cts = [direction(g) for _ in range(2 if twice else 1)]
    leaves, out = _fresh(build, xs)
    names = ["x", "y", "z"] if n > 1 else ["x"]
    if label.startswith("L("):
        names = ["w1", "w2"]
    ct = cts[-1]
    inputs: dict[str, Any] = {"f": _Raw(label), **dict(zip(names, xs, strict=False)),
                              "cotangent": ct}
    if twice:
        inputs["cotangent"] = _Raw(f"{fmt(cts[0])}, then {fmt(ct)} (two passes over one graph)")
    counter = CallCounter(course_topological_order)
    with substituted(backward, topological_order=counter):
        for c in cts:
            student_call(T3, "backward(output, cotangent)", backward, out, c, inputs=inputs)
    got = np.array([x.adj for x in leaves], dtype=float)
    expected = ct * np.asarray(ri.grad(build(reference_ops), argnums=tuple(range(n)))(*xs),
                               dtype=float).reshape(n)
    if not np.allclose(got, expected, rtol=1e-7, atol=1e-9):
        hint = _which_variant(build, xs, cts, got)
        fail(T3, f"wrong adjoints of the inputs ({', '.join(v + '.adj' for v in names[:n])})",
             inputs=inputs, expected=expected, obtained=got,
             diagnosis=diagnose(got, expected), hint=hint or
             "x̄ = Σ over the children c of x: c̄ · ∂c/∂x; the local derivatives are in .parents")
    _, ref_out = _fresh(build, xs)
    _backward(ref_out, ct)
    mine, ref = course_topological_order(out), course_topological_order(ref_out)
    for k, (a, b) in enumerate(zip(mine, ref, strict=True)):
        if not np.isclose(a.adj, b.adj, rtol=1e-7, atol=1e-9):
            fail(T3, f"wrong adjoint of node {k + 1} of {len(ref)} in topological order "
                     f"({b.op}, value {b.value:.6g})", inputs=inputs, expected=b.adj,
                 obtained=a.adj, diagnosis=diagnose(a.adj, b.adj),
                 hint="every node of the graph gets its adjoint v̄ = ∂(cotangent·f)/∂v")
    if counter.count != len(cts):
        fail(T3, f"backward called topological_order {counter.count} times in {len(cts)} "
                 "pass(es); one backward pass needs the order once", inputs=inputs,
             expected=len(cts), obtained=counter.count,
             hint="compute order = topological_order(output) once, then walk it backwards")


@task_check(T3, replaces=("topological_order",))
def t3_3(backward: Callable) -> None:
    """The lecture's L and a function whose input is used three times."""
    for label, build, n in _BACKWARD_VISIBLE:
        _backward_case(backward, label, build, n, "visible")


@task_check(T3, hidden=True, replaces=("topological_order",))
def hidden_t3_3(backward: Callable) -> None:
    """Random points and cotangents, fan-out up to three, repeated parents, a chain of
    diamonds, an output that is an input, two passes over one graph."""
    for label, build, n in _BACKWARD_HIDDEN:
        _backward_case(backward, label, build, n, "hidden")
    _backward_case(backward, *_BACKWARD_HIDDEN[4], "twice", twice=True)


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
    "L": ("L", "L̄ is the cotangent: the seed of the backward pass"),
    "v3": ("v₃ = √v₂", "v̄₃ = L̄·∂L/∂v₃ = L̄·1"),
    "v2": ("v₂ = w₂·v₁", "v₂ has two children, v₃ and L: v̄₂ = v̄₃·1/(2√v₂) + L̄·1 "
           "(fan-out: add up the contributions)"),
    "v1": ("v₁ = log w₁", "v̄₁ = v̄₂·∂v₂/∂v₁ = v̄₂·w₂"),
    "w1": ("w₁", "w̄₁ = v̄₁·∂v₁/∂w₁ = v̄₁/w₁"),
    "w2": ("w₂", "w̄₂ = v̄₂·∂v₂/∂w₂ = v̄₂·v₁ (the slide writes v̄₁·v₁: an erratum)"),
}


def _lecture_case(lecture_reverse: Callable, w1: float, w2: float, L_bar: float) -> None:
    inputs = {"w1": w1, "w2": w2, "L_bar": L_bar}
    table = student_call(T4, "lecture_reverse", lecture_reverse, w1, w2, L_bar, inputs=inputs)
    if not isinstance(table, dict) or set(table) != set(_ADJOINT_HINTS):
        fail(T4, "lecture_reverse must return a dict with the keys 'w1', 'w2', 'v1', 'v2', "
                 "'v3', 'L'", inputs=inputs, expected="{'v1': (v1, v1_bar), …, "
             "'L': (L, L_bar)}", obtained=table)
    for key, (value, adjoint) in _lecture_expected(w1, w2, L_bar).items():
        formula, hint = _ADJOINT_HINTS[key]
        entry = table[key]
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
            fail(T4, f"table[{key!r}] must be a pair (value, adjoint)", inputs=inputs,
                 expected="(value, adjoint)", obtained=entry)
        assert_close(T4, f"value of {formula}", entry[0], value, inputs=inputs)
        assert_close(T4, f"adjoint of {formula}, ∂(L̄·L)/∂{key} (checked from L backwards)",
                     entry[1], adjoint, inputs=inputs, hint=hint)


def _gradient_case(lecture_reverse: Callable, lecture_gradient: Callable, w1: float,
                   w2: float) -> None:
    inputs = {"w1": w1, "w2": w2}
    counter = CallCounter(lecture_reverse)
    with substituted(lecture_gradient, lecture_reverse=counter):
        got = student_call(T4, "lecture_gradient", lecture_gradient, w1, w2, inputs=inputs)
    exp = _lecture_expected(w1, w2, 1.0)
    expected = np.array([exp["w1"][1], exp["w2"][1]])
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(T4, "lecture_gradient must return a pair (∂L/∂w1, ∂L/∂w2)", inputs=inputs,
             expected=expected, obtained=got)
    assert_close(T4, "(∂L/∂w1, ∂L/∂w2)", np.asarray(got, dtype=float), expected, inputs=inputs,
                 hint="one backward pass with L̄ = 1 gives both: (w̄₁, w̄₂)")
    if counter.count != 1:
        fail(T4, f"lecture_gradient made {counter.count} calls of lecture_reverse; reverse "
                 "mode gives the whole gradient in one backward pass", inputs=inputs,
             expected=1, obtained=counter.count, hint="call lecture_reverse(w1, w2, 1.0) once")


@task_check(T4)
def t3_4(lecture_reverse: Callable, lecture_gradient: Callable) -> None:
    """The lecture's point (2, 3) with L̄ = 1 and with L̄ = 0.7; the gradient in one pass."""
    _lecture_case(lecture_reverse, 2.0, 3.0, 1.0)
    _lecture_case(lecture_reverse, 2.0, 3.0, 0.7)
    _gradient_case(lecture_reverse, lecture_gradient, 2.0, 3.0)


@task_check(T4, hidden=True)
def hidden_t3_4(lecture_reverse: Callable, lecture_gradient: Callable) -> None:
    """Random points and random cotangents L̄; the number of backward passes."""
    for trial in range(3):
        g = rng(T4, trial)
        w1, w2 = uniform(g, (), 1.2, 4.0), uniform(g, (), 0.4, 3.0)
        _lecture_case(lecture_reverse, w1, w2, direction(g))
        _gradient_case(lecture_reverse, lecture_gradient, w1, w2)


# ---------------------------------------------------------------------------------------------
# task 3.5: grad, vjp, jacrev on the course's tape, with counted passes
# ---------------------------------------------------------------------------------------------
# test functions of a list of scalars: (label, builder(ns) -> f(xs), n); vector ones return lists
VecBuilder = Callable[[SimpleNamespace], Callable[[Sequence[Any]], Any]]

_GRAD_VISIBLE: list[tuple[str, VecBuilder, int]] = [
    ("f(x) = x0·x1 + sin(x0)·x2", lambda ns: lambda x: x[0] * x[1] + ns.sin(x[0]) * x[2], 3),
]
_GRAD_HIDDEN: list[tuple[str, VecBuilder, int]] = [
    ("f(x) = Σ tanh(x_i)·x_{i+1}",
     lambda ns: lambda x: sum((ns.tanh(x[i]) * x[i + 1] for i in range(5)), 0.0), 6),
    ("f(x) = log(x0)·x0 (x1 unused)", lambda ns: lambda x: ns.log(x[0]) * x[0], 2),
    ("f(x) = √x0", lambda ns: lambda x: ns.sqrt(x[0]), 1),
    ("f(x) = exp(x0 − x1)·x0·x0 / x2",
     lambda ns: lambda x: ns.exp(x[0] - x[1]) * x[0] * x[0] / x[2], 3),
]
_JAC_VISIBLE: list[tuple[str, VecBuilder, int]] = [
    ("f(x) = [x0·x1, sin(x1) + x2]", lambda ns: lambda x: [x[0] * x[1], ns.sin(x[1]) + x[2]], 3),
]
_JAC_HIDDEN: list[tuple[str, VecBuilder, int]] = [
    ("f(x) = [x0·x1, sin(x2), x0 + x2]",
     lambda ns: lambda x: [x[0] * x[1], ns.sin(x[2]), x[0] + x[2]], 3),
    ("f(x) = [x0·x1, x1·x2, x2·x0, exp(x0)]",
     lambda ns: lambda x: [x[0] * x[1], x[1] * x[2], x[2] * x[0], ns.exp(x[0])], 3),
    ("f(x) = [Σ x_i², sin(x0)·x4]",
     lambda ns: lambda x: [sum((x[i] * x[i] for i in range(5)), 0.0), ns.sin(x[0]) * x[4]], 5),
    ("f(x) = [tanh(x0·x1)]", lambda ns: lambda x: [ns.tanh(x[0] * x[1])], 2),
    ("f(x) = [x1, x0] (the outputs are inputs)", lambda ns: lambda x: [x[1], x[0]], 2),
]


def _reference_fn(build: VecBuilder, n: int) -> Callable[[Any], Any]:
    f = build(reference_ops)

    def ref(x: Any) -> Any:
        out = f([x[i] for i in range(n)])
        return rnp.stack(out) if isinstance(out, list) else out

    return ref


def _counted(build: VecBuilder) -> tuple[CallCounter, CallCounter, dict[str, Any]]:
    f = CallCounter(build(tape_ops))
    back = CallCounter(course_backward)
    names = {"Var": TapeVar, "backward": back, "topological_order": course_topological_order}
    return f, back, names


def _point(task: Task, label: str, seed: object, n: int) -> tuple[np.random.Generator,
                                                                  np.ndarray]:
    g = rng(task, (label, seed))
    return g, np.asarray(uniform(g, (n,), 0.5, 2.0), dtype=float)


def _grad_case(grad: Callable, label: str, build: VecBuilder, n: int, seed: object) -> None:
    _g, x = _point(T5, label, seed, n)
    inputs = {"f": _Raw(label), "x": x}
    f, back, names = _counted(build)
    with substituted(grad, **names):
        gf = student_call(T5, "grad(f)", grad, f, inputs=inputs)
        got = student_call(T5, "grad(f)(x)", gf, x.copy(), inputs=inputs)
    expected = np.asarray(ri.grad(_reference_fn(build, n))(x), dtype=float)
    assert_close(T5, "gradient grad(f)(x)", got, expected, inputs=inputs,
                 hint="wrap every x_i in Var, call f once, backward(out) once, read x_i.adj; "
                      "an unused input has the gradient 0")
    _count_passes(f, back, 1, 1, "grad(f)(x)", inputs)


def _count_passes(f: CallCounter, back: CallCounter, forward: int, backward: int, what: str,
                  inputs: dict[str, Any]) -> None:
    if f.count != forward:
        fail(T5, f"{what} evaluated f {f.count} times; reverse mode needs one forward pass: the "
                 "graph it records is reused by every backward pass", inputs=inputs,
             expected=forward, obtained=f.count,
             hint="call f once and keep its output nodes")
    if back.count != backward:
        fail(T5, f"{what} made {back.count} backward passes (calls of backward); it needs "
                 f"exactly {backward}", inputs=inputs, expected=backward, obtained=back.count,
             hint="one backward pass per cotangent: per output row for jacrev, one per pullback "
                  "for vjp, one for grad")


def _vjp_case(vjp: Callable, label: str, build: VecBuilder, n: int, seed: object) -> None:
    g, x = _point(T5, label, seed, n)
    ref = _reference_fn(build, n)
    y_ref, pull_ref = ri.vjp(ref, x)
    m = int(np.size(y_ref))
    cts = [direction(g, (m,)) for _ in range(2)]
    inputs: dict[str, Any] = {"f": _Raw(label), "x": x}
    f, back, names = _counted(build)
    with substituted(vjp, **names):
        res = student_call(T5, "vjp(f, x)", vjp, f, x.copy(), inputs=inputs)
        if not (isinstance(res, (tuple, list)) and len(res) == 2 and callable(res[1])):
            fail(T5, "vjp(f, x) must return a pair (y, pullback)", inputs=inputs,
                 expected="(array of the outputs' values, function ct ↦ Jᵀct)", obtained=res)
        assert_close(T5, "outputs y of vjp(f, x)", res[0], np.asarray(y_ref), inputs=inputs,
                     hint="y is the array of the output nodes' values, shape (m,)")
        for i, ct in enumerate(cts):
            inputs["ct"] = ct
            got = student_call(T5, "pullback(ct)", res[1], ct.copy(), inputs=inputs)
            assert_close(T5, f"pullback(ct) = Jᵀct (call {i + 1})", got,
                         np.asarray(pull_ref(ct)[0]), inputs=inputs,
                         hint="one backward pass from the scalar s = Σ_i ct_i·y_i (a node built "
                              "on the recorded graph) gives Jᵀct = ∂s/∂x")
    _count_passes(f, back, 1, len(cts), "vjp(f, x) with two calls of pullback", inputs)


def _jacrev_case(jacrev: Callable, label: str, build: VecBuilder, n: int, seed: object) -> None:
    _g, x = _point(T5, label, seed, n)
    inputs = {"f": _Raw(label), "x": x}
    f, back, names = _counted(build)
    with substituted(jacrev, **names):
        jac = student_call(T5, "jacrev(f)", jacrev, f, inputs=inputs)
        got = student_call(T5, "jacrev(f)(x)", jac, x.copy(), inputs=inputs)
    expected = np.asarray(ri.jacrev(_reference_fn(build, n))(x), dtype=float)
    m = expected.shape[0]
    assert_close(T5, f"Jacobian, shape (m, n) = {expected.shape}", got, expected, inputs=inputs,
                 hint="row i is the gradient of output i: backward(outs[i]), then the x_j.adj; "
                      "reset x_j.adj = 0 before every pass (an input that does not reach "
                      "output i keeps the adjoint of the previous pass)")
    _count_passes(f, back, 1, m, f"jacrev(f)(x) for m = {m} outputs", inputs)


@task_check(T5, replaces=("Var", "backward", "topological_order"))
def t3_5(grad: Callable, vjp: Callable, jacrev: Callable) -> None:
    """``grad``, ``vjp`` and ``jacrev`` of small functions, with the counts of passes."""
    for label, build, n in _GRAD_VISIBLE:
        _grad_case(grad, label, build, n, "visible")
    for label, build, n in _JAC_VISIBLE:
        _vjp_case(vjp, label, build, n, "visible")
        _jacrev_case(jacrev, label, build, n, "visible")


@task_check(T5, hidden=True, replaces=("Var", "backward", "topological_order"))
def hidden_t3_5(grad: Callable, vjp: Callable, jacrev: Callable) -> None:
    """Unused inputs, outputs that skip inputs, more outputs than inputs and fewer, m = 1."""
    for label, build, n in _GRAD_HIDDEN:
        _grad_case(grad, label, build, n, "hidden")
    for label, build, n in _JAC_HIDDEN:
        _vjp_case(vjp, label, build, n, "hidden")
        _jacrev_case(jacrev, label, build, n, "hidden")


# ---------------------------------------------------------------------------------------------
# task 3.6: the feedforward network's backward pass
# ---------------------------------------------------------------------------------------------
class _CountingNumpy:
    """NumPy for the student's backward pass, counting calls of the activation ``tanh``."""

    def __init__(self) -> None:
        self.tanh_calls = 0

    def tanh(self, *args: Any, **kwargs: Any) -> Any:
        self.tanh_calls += 1
        return np.tanh(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


def _network(Ws: Sequence[Any], X: Any, xp: Any) -> Any:
    v = X
    for W in Ws:
        v = xp.tanh(v @ W)
    return v


def _mlp_inputs(seed: object, b: int, sizes: Sequence[int]
                ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, dict[str, Any]]:
    g = rng(T6, (seed, b, tuple(sizes)))
    X = g.normal(size=(b, sizes[0]))
    Ws = [g.normal(size=(p, q)) / np.sqrt(p) for p, q in itertools.pairwise(sizes)]
    V_bar = np.asarray(direction(g, (b, sizes[-1])), dtype=float)
    shapes = ", ".join(f"W_{k}: {p}×{q}" for k, (p, q) in
                       enumerate(itertools.pairwise(sizes), start=1))
    inputs = {"batch b": b, "sizes n_0…n_t": list(sizes), "weights": _Raw(shapes),
              "V_bar = ∂L/∂v_t": _Raw(f"random {b}×{sizes[-1]}")}
    return X, Ws, V_bar, inputs


def _forward_case(mlp_forward: Callable, b: int, sizes: Sequence[int], seed: object) -> None:
    X, Ws, _V_bar, inputs = _mlp_inputs(seed, b, sizes)
    t = len(Ws)
    vs = student_call(T6, "mlp_forward(X, Ws)", mlp_forward, X.copy(), [W.copy() for W in Ws],
                      inputs=inputs)
    if not isinstance(vs, (list, tuple)) or len(vs) != t + 1:
        fail(T6, f"mlp_forward must store v_0 = X, v_1, …, v_t: t + 1 = {t + 1} arrays for "
                 f"t = {t} layers", inputs=inputs, expected=f"a list of {t + 1} arrays",
             obtained=f"{type(vs).__name__} of {len(vs) if hasattr(vs, '__len__') else '?'}",
             hint="the backward pass needs every activation: this is the memory reverse mode "
                  "pays for")
    v = X
    for k in range(t + 1):
        if k:
            v = np.tanh(v @ Ws[k - 1])
        assert_close(T6, f"v_{k} (shape b×n_{k} = {b}×{sizes[k]})", vs[k], v, inputs=inputs,
                     hint="v_0 = X, v_k = tanh(v_{k−1} W_k), (b × n_{k−1})·(n_{k−1} × n_k)")


def _backward_mlp_case(mlp_backward: Callable, b: int, sizes: Sequence[int],
                       seed: object) -> None:
    X, Ws, V_bar, inputs = _mlp_inputs(seed, b, sizes)
    t = len(Ws)
    vs = [X]
    for W in Ws:
        vs.append(np.tanh(vs[-1] @ W))
    args = ([W.copy() for W in Ws], [v.copy() for v in vs], V_bar.copy())
    counting = _CountingNumpy()
    with substituted(mlp_backward, np=counting):
        res = student_call(T6, "mlp_backward(Ws, vs, V_bar)", mlp_backward, *args,
                           inputs=inputs)
    e_Ws, e_X = ri.grad(lambda ws, x: rnp.sum(V_bar * _network(ws, x, rnp)),
                        argnums=(0, 1))(Ws, X)
    if not (isinstance(res, (tuple, list)) and len(res) == 2
            and isinstance(res[0], (list, tuple)) and len(res[0]) == t):
        fail(T6, f"mlp_backward must return (dWs, dX) with a list dWs of t = {t} arrays",
             inputs=inputs, expected=f"([∂L/∂W_1, …, ∂L/∂W_{t}], ∂L/∂X)", obtained=res)
    dWs, dX = res
    for k in range(t, 0, -1):  # from the last layer, as the backward pass goes
        p, q = sizes[k - 1], sizes[k]
        got, exp = np.asarray(dWs[k - 1], dtype=float), np.asarray(e_Ws[k - 1], dtype=float)
        hint = (f"∂L/∂W_{k} = v_{k - 1}ᵀ δ_{k}: (n_{k - 1} × b)·(b × n_{k}) = ({p} × {b})·"
                f"({b} × {q}), with δ_{k} = ∂L/∂v_{k} ⊙ (1 − v_{k}²) and "
                f"∂L/∂v_{k - 1} = δ_{k} W_{k}ᵀ")
        if got.shape != exp.shape:
            fail(T6, f"∂L/∂W_{k} (layer {k}) has shape {got.shape}; expected {exp.shape}, the "
                     f"shape of W_{k}: n_{k - 1} × n_{k} = {p} × {q}", inputs=inputs,
                 expected=exp, obtained=got, diagnosis=diagnose(got, exp), hint=hint)
        assert_close(T6, f"∂L/∂W_{k} (layer {k}, shape n_{k - 1} × n_{k} = {p} × {q})", got,
                     exp, inputs=inputs, hint=hint)
    got, exp = np.asarray(dX, dtype=float), np.asarray(e_X, dtype=float)
    hint = "∂L/∂X = ∂L/∂v_0 = δ_1 W_1ᵀ: (b × n_1)·(n_1 × n_0)"
    if got.shape != exp.shape:
        fail(T6, f"∂L/∂X has shape {got.shape}; expected {exp.shape}, the shape of X: "
                 f"b × d = {b} × {sizes[0]}", inputs=inputs, expected=exp, obtained=got,
             diagnosis=diagnose(got, exp), hint=hint)
    assert_close(T6, f"∂L/∂X (shape b × d = {b} × {sizes[0]})", got, exp, inputs=inputs,
                 hint=hint)
    if counting.tanh_calls:
        fail(T6, f"mlp_backward called np.tanh {counting.tanh_calls} times", inputs=inputs,
             expected=0, obtained=counting.tanh_calls,
             hint="reuse the activations stored by the forward pass: for σ = tanh, "
                  "σ'(z_k) = 1 − v_k²")
    for name, before, after in [("Ws", Ws, args[0]), ("vs", vs, args[1]),
                                ("V_bar", [V_bar], [args[2]])]:
        if any(not np.array_equal(a, c) for a, c in zip(before, after, strict=True)):
            fail(T6, f"mlp_backward modified its argument {name} in place", inputs=inputs,
                 show_values=False, hint="write delta = dv * (1 - v**2), not dv *= …: the "
                 "stored activations and the cotangent belong to the caller")


_MLP_VISIBLE: list[tuple[int, list[int]]] = [(4, [5, 4, 3, 2])]
_MLP_HIDDEN: list[tuple[int, list[int]]] = [
    (1, [3, 5, 2]),            # a single data point
    (7, [4, 4, 4]),            # square layers: a transposed factor keeps the shape
    (3, [6, 2]),               # one layer
    (5, [2, 7, 3, 6, 1]),      # four layers, one output
    (2, [8, 3, 5]),
]


@task_check(T6)
def t3_6(mlp_forward: Callable, mlp_backward: Callable) -> None:
    """The lecture's network (b = 4, sizes 5-4-3-2) with a random cotangent."""
    for b, sizes in _MLP_VISIBLE:
        _forward_case(mlp_forward, b, sizes, "visible")
        _backward_mlp_case(mlp_backward, b, sizes, "visible")


@task_check(T6, hidden=True)
def hidden_t3_6(mlp_forward: Callable, mlp_backward: Callable) -> None:
    """Unseen batch sizes (1 included) and layer sizes (square, one layer, four layers)."""
    for b, sizes in _MLP_HIDDEN:
        _forward_case(mlp_forward, b, sizes, "hidden")
        _backward_mlp_case(mlp_backward, b, sizes, "hidden")
