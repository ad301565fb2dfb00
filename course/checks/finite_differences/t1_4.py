"""Checks of task 1.4: the MDS loss and its gradient (the gradient's work measured)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

import reference_impl as ri
import reference_impl.numpy as rnp

from .._core import (
    CallCounter,
    assert_close,
    fail,
    rng,
    student_call,
    substituted,
    task_check,
)
from .._lazy import reference_names
from ._common import T4, Kept, _mds_data, unchanged

#: the course's task 1.1 (None in the student distribution: the student's own is used)
(course_fd_grad,) = reference_names(__package__, "course_fd_grad")


# ---------------------------------------------------------------------------------------------
# task 1.4: the MDS loss and its gradient
# ---------------------------------------------------------------------------------------------
def mds_reference_loss(D: np.ndarray) -> Callable[[Any], Any]:
    """L(W) = Σ_{i,j} (‖W_i − W_j‖² − D_ij)², written with ``reference_impl.numpy``."""

    def loss(W: Any) -> Any:
        sq = rnp.sum((W[:, None, :] - W[None, :, :]) ** 2, axis=-1)
        return rnp.sum((sq - D) ** 2)

    return loss


def _mds_case(
    mds_loss: Callable,
    mds_grad: Callable,
    n: int,
    d: int,
    seed: object,
    kept: Kept | None = None,
) -> None:
    """Loss and gradient at one W; the arguments looked at afterwards, the results of earlier
    calls (``kept``) compared again."""
    g = rng(T4, (n, d, seed))
    D, W = _mds_data(g, n, d, 0.3)
    inputs = {"W": W, "D": D}
    ref = mds_reference_loss(D)
    args = {"W": W.copy(), "D": D.copy()}
    value = student_call(T4, "mds_loss(W, D)", mds_loss, *args.values(), inputs=inputs)
    unchanged(T4, "mds_loss(W, D)", args, {"W": W, "D": D}, inputs)
    assert_close(
        T4,
        "mds_loss(W, D)",
        value,
        float(ref(W)),
        inputs=inputs,
        hint="L(W) = Σ_{i,j} (‖W_i − W_j‖² − D_ij)², the squared distance (no square "
        "root), over all pairs (i, j), both orders"
        " / L(W) = Σ_ij (‖W_i − W_j‖² − D_ij)², квадрат расстояния (без корня), по "
        "всем парам (i, j) в обоих порядках",
    )
    counter = CallCounter(mds_loss)
    args = {"W": W.copy(), "D": D.copy()}
    with substituted(mds_grad, mds_loss=counter, fd_grad=course_fd_grad):
        got = student_call(T4, "mds_grad(W, D)", mds_grad, *args.values(), inputs=inputs)
    unchanged(T4, "mds_grad(W, D)", args, {"W": W, "D": D}, inputs)
    if counter.count > 1:
        fail(
            T4,
            f"mds_grad called mds_loss {counter.count} times: compute the gradient by its "
            "formula, not by finite differences"
            f" / mds_grad вызвала mds_loss {counter.count} раз: вычисляйте градиент по "
            "формуле, а не конечными разностями",
            inputs=inputs,
            show_values=False,
        )
    expected = np.asarray(ri.grad(ref)(W), dtype=float)
    assert_close(
        T4,
        "mds_grad(W, D) = ∂L/∂W",
        got,
        expected,
        inputs=inputs,
        hint="for a symmetric D: ∂L/∂W_k = 8·Σ_j (‖W_k − W_j‖² − D_kj)·(W_k − W_j); "
        "the result has the shape of W (N × d)"
        " / для симметричной D: ∂L/∂W_k = 8·Σ_j (‖W_k − W_j‖² − D_kj)·(W_k − W_j); "
        "результат имеет форму W (N × d)",
    )
    if kept is not None:
        kept.recheck("mds_loss(W, D) and mds_grad(W, D) at another W")
        kept.keep(f"mds_grad(W, D) at W of shape {W.shape}", got)


#: the size at which finite differences are too slow to pass for the formula: N·d + 1 = 1601
#: evaluations of the loss, each Θ(N²d); the formula costs about one evaluation, Θ(N²d)
_FD_SIZE = (16, 100)
_FD_SHARE = 0.2  # fast enough outright: this share of the cheapest differences' time …
_FD_FLOOR = 0.02  # … or 20 ms (a busy machine's pause is not work; differences take ≥ 40 ms)
_FD_WIDER = 4  # slower: time again with d four times larger …
_FD_GROWTH = 6.5  # … the formula's time grows ≤ 4×, any difference scheme's ≈ 9.5–16× here


def _loss_seconds(D: np.ndarray, W: np.ndarray) -> float:
    """The checker's time for one vectorised evaluation of the loss (the best of 5)."""
    best = np.inf
    for _ in range(5):
        start = time.perf_counter()
        sq = np.sum((W[:, None, :] - W[None, :, :]) ** 2, axis=-1)
        float(np.sum((sq - D) ** 2))
        best = min(best, time.perf_counter() - start)
    return best


def _timed_grad(mds_grad: Callable, n: int, d: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Seconds of one ``mds_grad`` call at N = n, d (the grader's clock, the kernel's round
    trip included); the result is checked."""
    D, W = _mds_data(rng(T4, ("work", n, d)), n, d, 0.3)
    inputs = {"W": f"{n} × {d} (N × d)", "D": f"{n} × {n}"}
    start = time.perf_counter()
    got = student_call(T4, "mds_grad(W, D)", mds_grad, W.copy(), D.copy(), inputs=inputs)
    took = time.perf_counter() - start
    expected = np.asarray(ri.grad(mds_reference_loss(D))(W), dtype=float)
    assert_close(T4, f"mds_grad(W, D) at N = {n}, d = {d}", got, expected, inputs=inputs)
    return took, D, W


def _no_differences(mds_grad: Callable) -> None:
    """The statement's "no finite differences", measured on the work mds_grad does (not on the
    names it calls): at N = 16 points in d = 100 dimensions any difference scheme evaluates the
    loss ≥ N·d + 1 times. Faster than a fifth of that (or than 20 ms): done. Slower (a slow
    formula, say plain Python loops, or differences): the growth of the best of two times from
    d = 100 to d = 400 decides — the formula's work grows with d, the differences' with d² (4×
    the evaluations, each up to 4× larger)."""
    n, d = _FD_SIZE
    took, D, W = _timed_grad(mds_grad, n, d)
    evals = n * d + 1
    fd = evals * _loss_seconds(D, W)
    if took <= max(_FD_SHARE * fd, _FD_FLOOR):
        return
    # the best of two at each size, interleaved: a pause of the machine lengthens one run, the
    # work lengthens both
    wide = np.inf
    for _ in range(2):
        wide = min(wide, _timed_grad(mds_grad, n, _FD_WIDER * d)[0])
        took = min(took, _timed_grad(mds_grad, n, d)[0])
    growth = wide / took
    if not growth <= _FD_GROWTH:  # NaN fails
        fail(
            T4,
            f"cost exceeded: mds_grad took {took * 1e3:.0f} ms for N = {n}, d = {d} and "
            f"{wide * 1e3:.0f} ms for d = {_FD_WIDER * d} ({growth:.1f}×); that is the work of "
            f"finite differences (≥ N·d + 1 = {evals} evaluations of the loss, growing with d²: "
            f"≈ {_FD_WIDER**2}×); the formula's work grows with d (≈ {_FD_WIDER}×, allowed: "
            f"{_FD_GROWTH:g}×)"
            f" / превышена стоимость: mds_grad работала {took * 1e3:.0f} мс при d = {d} и "
            f"{wide * 1e3:.0f} мс при d = {_FD_WIDER * d} ({growth:.1f}×) — так растёт работа "
            "конечных разностей (≥ N·d + 1 вычислений функции потерь); работа формулы растёт "
            "как d",
            show_values=False,
            hint="compute ∂L/∂W_k = 8·Σ_j (‖W_k − W_j‖² − D_kj)·(W_k − W_j) directly, not by "
            "differences of the loss (under any name) / вычисляйте градиент по формуле, а не "
            "разностями функции потерь (под любым именем)",
        )


@task_check(T4)
def t1_4(mds_loss: Callable, mds_grad: Callable) -> None:
    """N = 4 points in the plane at two W (the first gradient kept); the work of mds_grad at
    N = 16, d = 100 (finite differences are too slow there)."""
    kept = Kept(T4)
    _mds_case(mds_loss, mds_grad, 4, 2, "visible", kept)
    _mds_case(mds_loss, mds_grad, 4, 2, "visible, second W", kept)
    _no_differences(mds_grad)
