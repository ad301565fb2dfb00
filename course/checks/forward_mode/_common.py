"""What the checks of assignment 02 share: the tasks and the comparison with reference_impl."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import reference_impl as ri

from .._core import (
    Task,
    assert_close,
    fail,
    is_dual,
)

TASKS = {
    "t2_1": Task("t2_1", "dual-numbers", "dual numbers", "дуальные числа", 20),
    "t2_2": Task(
        "t2_2", "lecture-example", "forward mode on L(w1, w2)", "прямой режим для L(w₁, w₂)", 15
    ),
    "t2_3": Task("t2_3", "dual-arrays", "dual arrays", "дуальные массивы", 25),
    "t2_4": Task("t2_4", "jvp", "jvp", "jvp", 20),
    "t2_5": Task("t2_5", "jacfwd", "jacfwd", "jacfwd и число проходов", 20),
}
T1, T2, T3, T4, T5 = TASKS.values()


# ---------------------------------------------------------------------------------------------
# shared: comparing a dual result with reference_impl.jvp
# ---------------------------------------------------------------------------------------------
def _reference(
    fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]
) -> tuple[Any, Any]:
    out, out_dot = ri.jvp(fun, tuple(primals), tuple(tangents))
    return np.asarray(out, dtype=float), np.asarray(out_dot, dtype=float)


def _check_dual(
    task: Task,
    label: str,
    out: Any,
    expected: tuple[Any, Any],
    inputs: dict[str, Any],
    hint: str,
    cls: type | None = None,
    value_hint: str | None = None,
) -> None:
    """``out`` must be a dual value (of ``cls``) with the expected value and tangent."""
    if not is_dual(out):
        fail(
            task,
            f"{label} returned {type(out).__name__}, not a dual value "
            "(an object with .value and .tangent)"
            f" / {label} вернула {type(out).__name__}, а не дуальное значение (объект с "
            ".value и .tangent)",
            inputs=inputs,
            expected=cls.__name__ if cls else "a dual value",
            obtained=out,
            hint=hint,
        )
    if cls is not None and not isinstance(out, cls):
        fail(
            task,
            f"{label} returned a {type(out).__name__}, not a {cls.__name__}"
            f" / {label} вернула {type(out).__name__}, а не {cls.__name__}",
            inputs=inputs,
            expected=cls.__name__,
            obtained=type(out).__name__,
            hint=hint,
        )
    assert_close(task, f"value of {label}", out.value, expected[0], inputs=inputs, hint=value_hint)
    assert_close(task, f"tangent of {label}", out.tangent, expected[1], inputs=inputs, hint=hint)


class DualBox:
    """The dual container of the task statements (the given ``DualArray.__init__``), without
    arithmetic: the test functions below compute with :data:`dual_ops`."""

    __array_ufunc__ = None

    def __init__(self, value: Any, tangent: Any = None):
        self.value = np.asarray(value, dtype=float)
        self.tangent = (
            np.zeros_like(self.value) if tangent is None else np.asarray(tangent, dtype=float)
        )
        if self.tangent.shape != self.value.shape:
            raise ValueError(
                f"tangent shape {self.tangent.shape} != value shape {self.value.shape}"
            )

    def __repr__(self) -> str:
        return f"DualBox(value={self.value!r}, tangent={self.tangent!r})"
