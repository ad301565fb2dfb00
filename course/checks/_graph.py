"""Graph helpers shared by the checks and the students' toolkit of assignment 05 (which a graded
kernel imports: this module needs nothing else of the course)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["topological_order"]


def topological_order(output: Any, parents: Callable[[Any], Iterable[Any]]) -> list[Any]:
    """Every node reachable from ``output``, once, each after its parents (iterative DFS;
    ``parents(node)`` gives the order in which a node's parents are pushed)."""
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(output, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in parents(node) if id(p) not in seen)
    return order
