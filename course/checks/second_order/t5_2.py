"""Checks of task 5.2: the Hessian column by column from HVPs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import reference_impl as ri

from .._core import assert_close, fail, is_dual, rng, student_call, task_check, uniform
from ..finite_differences._common import frozen, unchanged
from ._common import T2, TOOLKIT, Builder, _logistic, _matrix_tanh, _tanh_ls  # noqa: F401
from ._toolkit import Traced, grad, jvp, vjp  # noqa: F401  (handed over: TOOLKIT)


class _Operator:
    """``v ↦ M v`` for v of shape ``shape`` (M is n×n, n = prod(shape)); counts its calls."""

    def __init__(self, M: np.ndarray, shape: tuple[int, ...]):
        self.M, self.shape = M, shape
        self.args: list[np.ndarray] = []

    def __call__(self, v: Any) -> np.ndarray:
        if isinstance(v, Traced) or is_dual(v):
            raise TypeError("hvp(v) takes a plain array / hvp(v) принимает обычный массив")
        v = np.asarray(v, dtype=float)
        if v.shape != self.shape:
            raise ValueError(
                f"hvp(v) takes v of x's shape {self.shape}, got shape {v.shape}"
                f" / hvp(v) принимает v формы x {self.shape}"
            )
        self.args.append(v.copy())
        return (self.M @ v.reshape(-1)).reshape(self.shape)

    @property
    def calls(self) -> int:
        return len(self.args)

    def basis(self) -> bool:
        """Whether every argument was a basis vector e_j (of x's shape)."""
        return all(np.count_nonzero(a) == 1 and a.sum() == 1.0 for a in self.args)


def _hessian_case(hessian_from_hvp: Callable, label: str, M: np.ndarray, x: Any, hint: str) -> None:
    """``x``: an array of any shape, or a number (its Hessian has shape ())."""
    shape, size = np.shape(x), int(np.size(x))
    op = _Operator(M, shape)
    inputs = {"hvp": label, "x": x}
    given = x.copy() if isinstance(x, np.ndarray) else x
    got = student_call(T2, "hessian_from_hvp(hvp, x)", hessian_from_hvp, op, given, inputs=inputs)
    unchanged(T2, "hessian_from_hvp(hvp, x)", {"x": given}, {"x": frozen(x)}, inputs)
    expected = M.reshape(shape + shape)
    if not op.basis():
        bad = next(a for a in op.args if not (np.count_nonzero(a) == 1 and a.sum() == 1.0))
        hint = (
            f"hvp was called with vectors that are not the basis vectors e_j (e.g. "
            f"{np.round(bad, 4).tolist()}); column j is hvp(e_j), e_j has a single 1"
            " / hvp вызвана не с базисными векторами e_j; столбец j — это hvp(e_j), в e_j "
            "одна единица"
        )
    assert_close(
        T2,
        f"Hessian (shape x.shape + x.shape = {shape + shape})",
        got,
        expected,
        inputs=inputs,
        hint=hint,
    )
    if op.calls != size:
        fail(
            T2,
            f"hessian_from_hvp made {op.calls} HVPs for x of size n = {size}; the "
            f"Hessian needs exactly n = {size}, one per column"
            f" / hessian_from_hvp сделала {op.calls} HVP при размере x n = {size}; для "
            f"гессиана нужно ровно n = {size}, по одному на столбец",
            inputs=inputs,
            expected=size,
            obtained=op.calls,
            hint="column j is hvp(e_j); take the shape from x, not from an extra product"
            " / столбец j — это hvp(e_j); форму берите из x, а не из лишнего произведения",
        )
    # a second call with another operator: its result right, the first result unchanged
    kept = np.array(got, dtype=float, copy=True)
    op2 = _Operator(2.0 * M, shape)
    got2 = student_call(
        T2,
        "hessian_from_hvp(hvp2, x), a second call",
        hessian_from_hvp,
        op2,
        x.copy() if isinstance(x, np.ndarray) else x,
        inputs=inputs,
    )
    assert_close(
        T2,
        "Hessian of a second call with another hvp (state kept between calls?)",
        got2,
        2.0 * expected,
        inputs=inputs,
        hint="build H from the hvp you are given, every call / стройте H из данной "
        "hvp при каждом вызове",
    )
    if not np.array_equal(np.asarray(got, dtype=float), kept):
        fail(
            T2,
            "the Hessian returned by the first call changed when hessian_from_hvp was "
            "called again: it shares memory with the function's state / гессиан первого "
            "вызова изменился при следующем вызове hessian_from_hvp: он разделяет память с "
            "состоянием функции",
            inputs=inputs,
            show_values=False,
            hint="return a new array on every call / возвращайте новый массив при каждом вызове",
        )


_COLUMN_HINT = (
    "column j of the matrix is hvp(e_j): H[:, j] = hvp(e_j), not the row H[j, :]"
    " / столбец j матрицы — это hvp(e_j), а не строка H[j, :]"
)


def _hessian_of(
    label: str,
    build: Builder,
    shape: tuple[int, ...],
    const_shapes: Sequence[tuple[int, ...]],
    seed: object,
) -> tuple[np.ndarray, np.ndarray]:
    g = rng(T2, (label, seed))
    consts = [uniform(g, s, -1.0, 1.0) for s in const_shapes]
    x = uniform(g, shape, -1.0, 1.0)
    f_ref, _ = build(consts)
    H = np.asarray(ri.hessian(f_ref)(x), dtype=float).reshape(x.size, x.size)
    return H, x


@task_check(T2)
def t5_2(hessian_from_hvp: Callable) -> None:
    """The Hessian of a small function from its HVPs; the number of HVPs."""
    H, x = _hessian_of("½‖tanh(Ax) − b‖²", _tanh_ls, (4,), [(3, 4), (3,)], "visible")
    _hessian_case(hessian_from_hvp, "v ↦ ∇²f(x)v, f(x) = ½‖tanh(Ax) − b‖²", H, x, _COLUMN_HINT)
