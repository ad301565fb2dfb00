"""Checks of task 1.5 (GD against zero-order GD); task 1.4's checks live in :mod:`.t1_4` and are
imported here under their old names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from reference_impl import zeroth_order as rzo

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
from ._common import T5, Fun, Kept, _is_numeric, _mds_data, frozen, same
from .t1_4 import _mds_case, mds_reference_loss, t1_4

__all__ = ["_mds_case", "lecture_problem", "mds_reference_loss", "t1_4", "t1_5"]

#: the course's task 1.3 (None in the student distribution: the student's own is used)
(course_two_point,) = reference_names(__package__, "course_two_point")


# ---------------------------------------------------------------------------------------------
# task 1.5: gradient descent against zero-order gradient descent at a budget of calls
# ---------------------------------------------------------------------------------------------
#: the notebook's 8 cities, in thousands of km (an equirectangular projection around their mean)
CITIES_XY = np.array(
    [
        [-0.278, 0.063],
        [-0.741, 0.529],
        [0.452, 0.068],
        [0.128, 0.127],
        [0.515, -0.221],
        [-0.144, -0.885],
        [0.160, -0.720],
        [-0.092, 1.040],
    ]
)
BUDGET = 400


def lecture_problem() -> tuple[np.ndarray, np.ndarray]:
    """The notebook's D (squared distances of :data:`CITIES_XY`) and starting point W0."""
    D = np.sum((CITIES_XY[:, None, :] - CITIES_XY[None, :, :]) ** 2, axis=-1)
    W0 = np.random.default_rng(0).normal(scale=0.5, size=CITIES_XY.shape)
    return D, W0


def _np_mds(D: np.ndarray) -> tuple[Fun, Fun]:
    """The course's loss and gradient in plain NumPy (fast; no tracing inside the runs)."""

    def loss(W: Any) -> float:
        W = np.asarray(W, dtype=float)
        sq = np.sum((W[:, None, :] - W[None, :, :]) ** 2, axis=-1)
        return float(np.sum((sq - D) ** 2))

    def grad(W: Any) -> np.ndarray:
        W = np.asarray(W, dtype=float)
        R = np.sum((W[:, None, :] - W[None, :, :]) ** 2, axis=-1) - D
        S = R + R.T
        return 4 * (S.sum(axis=1)[:, None] * W - S @ W)

    return loss, grad


def _gd_case(
    gradient_descent: Callable,
    D: np.ndarray,
    W0: np.ndarray,
    lr: float,
    n_calls: int,
    kept: Kept | None = None,
) -> None:
    loss, grad = _np_mds(D)
    counter = CallCounter(grad)
    inputs = {"W0": W0, "lr": lr, "n_calls": n_calls}
    what = "gradient_descent(grad, W0, lr, n_calls)"
    W0_in = W0.copy()
    got = student_call(T5, what, gradient_descent, counter, W0_in, lr, n_calls, inputs=inputs)
    if not np.array_equal(W0_in, W0):
        fail(
            T5,
            "input changed in place: gradient_descent modified W0"
            " / аргумент изменён на месте: gradient_descent изменила W0",
            inputs=inputs,
            show_values=False,
            hint="W = W - lr * grad(W) makes a new array; W -= … changes the caller's W0"
            " / W = W - lr * grad(W) создаёт новый массив; W -= … меняет W0 вызывающего "
            "кода",
        )
    if counter.count != n_calls:
        fail(
            T5,
            f"{what} called grad {counter.count} times; the budget is n_calls = {n_calls}: "
            "one call per step, exactly n_calls steps"
            f" / {what} вызвала grad {counter.count} раз; бюджет n_calls = {n_calls}: один "
            "вызов на шаг, ровно n_calls шагов",
            inputs=inputs,
            expected=n_calls,
            obtained=counter.count,
            hint="compute grad(W) once per step / вычисляйте grad(W) один раз за шаг",
        )
    expected = rzo.gradient_descent(loss, grad, W0, lr, n_calls).w
    assert_close(
        T5,
        "W after n_calls steps of gradient descent",
        got,
        expected,
        inputs=inputs,
        hint="W_{k+1} = W_k − lr·∇L(W_k); return the last W / верните последнее W",
    )
    if kept is not None:
        kept.recheck(what)
        kept.keep(f"{what} with lr = {lr:g}, n_calls = {n_calls}", got)


def _zo_case(
    zo_gradient_descent: Callable,
    D: np.ndarray,
    W0: np.ndarray,
    lr: float,
    n_calls: int,
    eps: float,
    seed: int,
    kept: Kept | None = None,
) -> None:
    loss, _ = _np_mds(D)
    counter = CallCounter(loss)
    inputs = {
        "W0": W0,
        "lr": lr,
        "n_calls": n_calls,
        "eps": eps,
        "rng": f"np.random.default_rng({seed})",
    }
    what = "zo_gradient_descent(loss, W0, lr, n_calls, eps, rng)"
    W0_in = W0.copy()
    with substituted(zo_gradient_descent, two_point_estimator=course_two_point):
        got = student_call(
            T5,
            what,
            zo_gradient_descent,
            counter,
            W0_in,
            lr,
            n_calls,
            eps,
            np.random.default_rng(seed),
            inputs=inputs,
        )
    if not np.array_equal(W0_in, W0):
        fail(
            T5,
            "input changed in place: zo_gradient_descent modified W0"
            " / аргумент изменён на месте: zo_gradient_descent изменила W0",
            inputs=inputs,
            show_values=False,
            hint="W = W - lr * G makes a new array; W -= … changes the caller's W0"
            " / W = W - lr * G создаёт новый массив; W -= … меняет W0 вызывающего кода",
        )
    steps = n_calls // 2
    if counter.count != 2 * steps:
        fail(
            T5,
            f"{what} called loss {counter.count} times; with the budget n_calls = {n_calls}"
            f" and 2 calls per two-point estimate it makes n_calls // 2 = {steps} steps, "
            f"i.e. {2 * steps} calls"
            f" / {what} вызвала loss {counter.count} раз; при бюджете n_calls = {n_calls} и "
            f"2 вызовах на оценку нужно {steps} шагов, т. е. {2 * steps} вызовов",
            inputs=inputs,
            expected=2 * steps,
            obtained=counter.count,
            hint="call two_point_estimator once per step and nothing "
            "else (no extra evaluations of the loss)"
            " / вызывайте two_point_estimator один раз за шаг и "
            "больше ничего (без лишних вычислений loss)",
        )
    expected = rzo.zo_gradient_descent(
        loss, W0, lr, steps, estimator="sphere", rng=np.random.default_rng(seed), eps=eps
    ).w
    assert_close(
        T5,
        "W after n_calls // 2 steps of zero-order gradient descent",
        got,
        expected,
        inputs=inputs,
        rtol=1e-6,
        atol=1e-9,
        hint="W_{k+1} = W_k − lr·G_k with G_k = two_point_estimator(loss, W_k, eps, rng) "
        "(pass rng on, do not make a new generator)"
        " / G_k = two_point_estimator(loss, W_k, eps, rng); передавайте rng дальше,"
        " не создавайте новый генератор",
    )
    if kept is not None:
        kept.recheck(what)
        kept.keep(f"{what} with lr = {lr:g}, n_calls = {n_calls}, seed {seed}", got)


def _experiment(
    gradient_descent: Callable, zo_gradient_descent: Callable, step_sizes: Callable, seed: int
) -> None:
    """The lecture's problem at the budget of the notebook: GD must win, both must progress."""
    pair = student_call(T5, "step_sizes()", step_sizes)
    if not (
        isinstance(pair, (tuple, list))
        and len(pair) == 2
        and _is_numeric(pair)
        and all(np.ndim(p) == 0 and np.isfinite(float(p)) and float(p) > 0 for p in pair)
    ):
        fail(
            T5,
            "step_sizes() must return a pair of positive numbers (LR_GD, LR_ZO)"
            " / step_sizes() должна вернуть пару положительных чисел (LR_GD, LR_ZO)",
            expected="(LR_GD, LR_ZO)",
            obtained=pair,
        )
    lr_gd, lr_zo = (float(p) for p in pair)
    again = student_call(T5, "step_sizes() (a second call)", step_sizes)
    if not same(again, frozen(pair)):
        fail(
            T5,
            "state kept between calls: a second call of step_sizes() returned another pair"
            " / состояние сохраняется между вызовами: второй вызов step_sizes() вернул другую "
            "пару",
            expected=pair,
            obtained=again,
            hint="return the two constants you chose; keep no state"
            " / верните две выбранные константы; не храните состояние",
        )
    D, W0 = lecture_problem()
    loss, grad = _np_mds(D)
    L0 = loss(W0)
    inputs = {"LR_GD": lr_gd, "LR_ZO": lr_zo, "n_calls": BUDGET}
    W_gd = student_call(
        T5,
        "gradient_descent(mds_grad, W0, LR_GD, 400)",
        gradient_descent,
        grad,
        W0.copy(),
        lr_gd,
        BUDGET,
        inputs=inputs,
    )
    with substituted(zo_gradient_descent, two_point_estimator=course_two_point):
        W_zo = student_call(
            T5,
            f"zo_gradient_descent(mds_loss, W0, LR_ZO, {BUDGET}, 1e-6, "
            f"np.random.default_rng({seed}))",
            zo_gradient_descent,
            loss,
            W0.copy(),
            lr_zo,
            BUDGET,
            1e-6,
            np.random.default_rng(seed),
            inputs=inputs,
        )
    l_gd, l_zo = loss(W_gd), loss(W_zo)
    result = {"L(W0)": L0, "GD": l_gd, "zero-order GD": l_zo}
    if not (np.isfinite(l_gd) and l_gd < 0.01 * L0):
        fail(
            T5,
            f"with LR_GD = {lr_gd:g} gradient descent does not converge on the cities "
            f"problem in {BUDGET} calls (L = {l_gd:.4g}, L(W0) = {L0:.4g})"
            f" / при LR_GD = {lr_gd:g} градиентный спуск не сходится на задаче о городах за "
            f"{BUDGET} вызовов",
            inputs=inputs,
            expected="L < 0.01·L(W0)",
            obtained=result,
            hint="the loss is a quartic: too large a step oscillates or diverges, too small a "
            "one crawls; try steps on a log scale (1e-4, 3e-4, 1e-3, …) in the experiment "
            "cell below the tests"
            " / функция потерь четвёртой степени: при слишком большом шаге спуск колеблется"
            " или расходится, при слишком малом ползёт; перебирайте шаги в логарифмической "
            "шкале",
        )
    if not (np.isfinite(l_zo) and l_zo < 0.5 * L0):
        fail(
            T5,
            f"with LR_ZO = {lr_zo:g} zero-order gradient descent makes no progress on the "
            f"cities problem in {BUDGET} calls (L = {l_zo:.4g}, L(W0) = {L0:.4g})"
            f" / при LR_ZO = {lr_zo:g} безградиентный спуск не продвигается на задаче о "
            f"городах за {BUDGET} вызовов",
            inputs=inputs,
            expected="L < 0.5·L(W0)",
            obtained=result,
            hint="E‖G‖² = d‖∇L‖²: the estimate is d = 16 times noisier than the gradient, so "
            "the step must be several times smaller than GD's"
            " / E‖G‖² = d‖∇L‖²: оценка в d = 16 раз шумнее градиента, поэтому шаг должен "
            "быть в несколько раз меньше, чем у GD",
        )
    if not l_gd < l_zo:
        fail(
            T5,
            "at an equal budget zero-order GD reached a lower loss than GD"
            " / при равном бюджете безградиентный спуск достиг меньшей потери, чем GD",
            inputs=inputs,
            expected="L(GD) < L(zero-order GD)",
            obtained=result,
            hint="use a good step for GD too / подберите хороший шаг и для GD",
        )


@task_check(T5, replaces=("two_point_estimator",))
def t1_5(gradient_descent: Callable, zo_gradient_descent: Callable, step_sizes: Callable) -> None:
    """Both methods on a small problem from two W0 (counted calls, exact iterates, the first
    results kept); the cities at 400 calls."""
    g = rng(T5, "visible")
    D, W = _mds_data(g, 4, 2, 0.1)
    W2 = rng(T5, "visible, second W0").normal(size=W.shape)
    kept = Kept(T5)
    _gd_case(gradient_descent, D, W, 2e-3, 20, kept)
    _zo_case(zo_gradient_descent, D, W, 5e-4, 20, 1e-6, 3, kept)
    _gd_case(gradient_descent, D, W2, 1e-3, 20, kept)
    _zo_case(zo_gradient_descent, D, W2, 2e-4, 20, 1e-6, 4, kept)
    _experiment(gradient_descent, zo_gradient_descent, step_sizes, 1)
