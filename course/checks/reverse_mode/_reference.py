"""The course's traversals of a tape (the solved tasks 3.2 and 3.3), substituted for the
student's when later tasks are graded; not exported by the package the notebook imports, and
left out of the student distribution."""

from __future__ import annotations

from typing import Any

from ._tape import TapeVar, nodes_of  # noqa: F401  (TapeVar: the tape of these traversals)


def course_topological_order(output: Any) -> list[Any]:
    """The course's ``topological_order`` (iterative DFS)."""
    return nodes_of(output)


def _backward(
    output: Any,
    cotangent: float,
    *,
    accumulate: bool = True,
    reverse: bool = True,
    reset: bool = True,
) -> None:
    """The backward pass; the keywords give the classic bugs, for diagnosis."""
    nodes = nodes_of(output)
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
