"""The course's tape of scalars (:class:`TapeVar`, the node class handed to the solutions of
tasks 3.3 and 3.5) and the elementary functions of the test functions on it and for
``reference_impl``; :func:`nodes_of` lists a graph's nodes for the checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

import reference_impl.numpy as rnp

from .._core import topological_order


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
