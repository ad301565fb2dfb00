"""The course's tape of scalars (:class:`TapeVar`, the node class handed to the solutions of
tasks 3.3 and 3.5) and the elementary functions of the test functions on it and for
``reference_impl``; :func:`nodes_of` lists a graph's nodes for the checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

import reference_impl.numpy as rnp

from .._core import Task, fail, topological_order


class TapeVar:
    """The course's node of a graph of scalars: ``value``, ``parents`` = pairs
    ``(parent, ∂self/∂parent)``, the adjoint ``adj``, and ``op`` (for messages)."""

    __array_ufunc__ = None

    def __init__(
        self, value: float, parents: Sequence[tuple[TapeVar, float]] = (), op: str = "input"
    ):
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
        return TapeVar(
            self.value / o.value, ((self, 1.0 / o.value), (o, -self.value / o.value**2)), "/"
        )

    def __rtruediv__(self, other: Any) -> TapeVar:
        return _as_tape(other) / self

    def __neg__(self) -> TapeVar:
        return TapeVar(-self.value, ((self, -1.0),), "neg")

    __radd__ = __add__
    __rmul__ = __mul__


def _as_tape(x: Any) -> TapeVar:
    return x if isinstance(x, TapeVar) else TapeVar(x, (), "const")


def _tape_unary(
    name: str, f: Callable[[float], float], df: Callable[[float], float]
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
reference_ops = SimpleNamespace(log=rnp.log, exp=rnp.exp, sin=rnp.sin, sqrt=rnp.sqrt, tanh=rnp.tanh)


def _parents_of(node: Any) -> tuple[Any, ...]:
    from .t3_2 import GraphNode  # the node class of task 3.2's graphs (defined with its check)

    raw = node._parents if isinstance(node, GraphNode) else node.parents
    return tuple(p for p, _ in raw)


def nodes_of(output: Any) -> list[Any]:
    """The nodes reachable from ``output``, each after its parents."""
    return topological_order(output, lambda node: reversed(_parents_of(node)))


def graph_state(output: Any, adjoints: bool = True) -> list[tuple[Any, tuple[Any, ...]]]:
    """What a traversal must leave as it found it: per node of ``output``'s graph, its value,
    its parents (identity and local derivative) and, with ``adjoints``, its ``adj``."""
    from .t3_2 import GraphNode

    out = []
    for node in nodes_of(output):
        raw = node._parents if isinstance(node, GraphNode) else node.parents
        state = (node.value, tuple((id(p), float(d)) for p, d in raw))
        out.append((node, (*state, node.adj) if adjoints else state))
    return out


def graph_unchanged(
    task: Task, what: str, saved: list[tuple[Any, tuple[Any, ...]]], inputs: dict[str, Any]
) -> None:
    """Fail naming the first node whose value, parents (or adjoint) ``what`` changed in place
    (``saved`` from :func:`graph_state`)."""
    from .t3_2 import GraphNode

    for node, then in saved:
        raw = node._parents if isinstance(node, GraphNode) else node.parents
        now: tuple[Any, ...] = (node.value, tuple((id(p), float(d)) for p, d in raw))
        now = (*now, node.adj) if len(then) == 3 else now
        if now != then:
            fields = ("value", "parents", "adj")
            k = next(i for i, (a, b) in enumerate(zip(now, then, strict=True)) if a != b)
            name = getattr(node, "name", None) or repr(node)
            fail(
                task,
                f"input changed in place: {what} modified .{fields[k]} of the node {name}"
                f" / аргумент изменён на месте: {what} изменила .{fields[k]} вершины {name}",
                inputs=inputs,
                expected=then[k] if k != 1 else f"{len(then[1])} parent(s), as built",
                obtained=now[k] if k != 1 else f"{len(now[1])} parent(s)",
                hint="a traversal reads the graph: it never writes .value or .parents"
                + (" (nor .adj)" if len(then) == 3 else "")
                + " / обход только читает граф: не записывайте .value и .parents",
            )
