"""What the checks of assignment 03 share: the tasks and the formatting of graphs."""

from __future__ import annotations

from .._core import (
    Task,
)

TASKS = {
    "t3_1": Task("t3_1", "graph-nodes", "computational graph", "вычислительный граф", 15),
    "t3_2": Task("t3_2", "topological-order", "topological order", "топологический порядок", 15),
    "t3_3": Task("t3_3", "backward", "backward pass", "обратный проход", 15),
    "t3_4": Task(
        "t3_4", "lecture-example", "reverse mode on L(w1, w2)", "обратный режим для L(w₁, w₂)", 15
    ),
    "t3_5": Task(
        "t3_5", "jacrev", "grad, vjp and jacrev", "grad, vjp, jacrev и число проходов", 20
    ),
    "t3_6": Task(
        "t3_6",
        "mlp-backward",
        "backward pass of a feedforward network",
        "обратный проход полносвязной сети",
        20,
    ),
}
T1, T2, T3, T4, T5, T6 = TASKS.values()


class _Raw(str):
    """Text shown as is (without quotes) in the ``input:`` line of a failure."""

    def __repr__(self) -> str:
        return str(self)
