"""Checks of tasks 5.4 and 5.5: the reverse pass of a chain x_{k+1} = tanh(W_k x_k), storing every
state or only every ⌈√n⌉-th one; 5.5 is graded with the course's 5.4 (in ``_reference``; the
student's own where it is absent)."""

from __future__ import annotations

import contextlib
import math
import tracemalloc
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import reference_impl as ri
import reference_impl.numpy as rnp

from .._core import (
    Task,
    assert_close,
    direction,
    fail,
    remote_active,
    rng,
    student_call,
    substituted,
    task_check,
)
from .._lazy import reference_names
from ..finite_differences._common import Kept, unchanged
from ._common import T4, T5, TOOLKIT  # noqa: F401
from ._toolkit import grad, jvp, vjp  # noqa: F401  (handed over: TOOLKIT)

(course_chain_vjp,) = reference_names(__package__, "course_chain_vjp")


class _State(np.ndarray):
    """A state returned by ``step`` while graded over the channel: not plain data, so it stays in
    the checker and the kernel gets a handle (its weak reference then shows whether the student
    still holds it)."""


class Chain:
    """x_{k+1} = tanh(W_k x_k), k = 0…n−1, with instrumented ``step`` and ``step_vjp``.

    Counts the calls; samples, at every call, how many arrays returned by ``step`` are alive
    (held by the caller); checks that ``step_vjp(k, x, ȳ)`` gets the state x_k.
    """

    def __init__(self, Ws: Sequence[np.ndarray], x0: np.ndarray):
        self.Ws = [np.asarray(W, dtype=float) for W in Ws]
        self.n, self.x0 = len(self.Ws), np.asarray(x0, dtype=float)
        self.states = [self.x0]
        for W in self.Ws:
            self.states.append(np.tanh(W @ self.states[-1]))
        self.step_calls = 0
        self.vjp_ks: list[int] = []
        self.error: str | None = None
        self.peak = 0
        self._alive: list[weakref.ref[np.ndarray]] = []

    def _sample(self) -> None:
        self._alive = [r for r in self._alive if r() is not None]
        self.peak = max(self.peak, len(self._alive))

    def _index(self, k: Any, name: str) -> int:
        if not isinstance(k, (int, np.integer)) or not 0 <= k < self.n:
            raise ValueError(
                f"{name}(k, …): k must be an integer step index in 0…{self.n - 1}, "
                f"got {k!r}"
                f" / {name}(k, …): k должен быть целым номером шага от 0 до "
                f"{self.n - 1}"
            )
        return int(k)

    def step(self, k: int, x: Any) -> np.ndarray:
        """x_{k+1} = tanh(W_k x)."""
        k = self._index(k, "step")
        self._sample()
        self.step_calls += 1
        y = np.tanh(self.Ws[k] @ np.asarray(x, dtype=float))
        if remote_active():  # graded over the channel: the state stays here, the kernel holds
            y = y.view(_State)  # a handle, released when the kernel drops it
        self._alive.append(weakref.ref(y))
        return y

    def step_vjp(self, k: int, x: Any, y_bar: Any) -> np.ndarray:
        """x̄ = W_kᵀ((1 − tanh²(W_k x)) ⊙ ȳ), the cotangent of step k's input x."""
        k = self._index(k, "step_vjp")
        self._sample()
        self.vjp_ks.append(k)
        x = np.asarray(x, dtype=float)
        if self.error is None and not np.array_equal(x, self.states[k]):
            same = [j for j, s in enumerate(self.states) if np.array_equal(s, x)]
            got = f"x_{same[0]}" if same else "an array that is no state of the chain"
            self.error = (
                f"step_vjp(k={k}, x, ȳ) received {got}, not x_{k}: the VJP of step k "
                f"needs the input of step k, the state x_{k} it was applied to"
                f" / step_vjp(k={k}, x, ȳ) получила {got}, а не x_{k}: VJP шага k нужен"
                " вход шага k"
            )
        y = np.tanh(self.Ws[k] @ x)
        return self.Ws[k].T @ ((1 - y**2) * np.asarray(y_bar, dtype=float))

    def reference(self, xn_bar: np.ndarray) -> np.ndarray:
        """x̄_0 by reference_impl.vjp of the plain chain."""

        def chain(x: Any) -> Any:
            for W in self.Ws:
                x = rnp.tanh(W @ x)
            return x

        _, pullback = ri.vjp(chain, self.x0)
        return np.asarray(pullback(xn_bar)[0], dtype=float)


def tanh_chain(n: int, d: int, seed: int = 0) -> tuple[Chain, np.ndarray, np.ndarray]:
    """A chain of n steps on states of size d: ``(chain, x0, xn_bar)``; ``chain.step`` and
    ``chain.step_vjp`` are instrumented (``chain.step_calls``, ``chain.peak`` stored states)."""
    g = np.random.default_rng(seed)
    Ws = [g.normal(scale=1.3 / math.sqrt(d), size=(d, d)) for _ in range(n)]
    x0 = g.normal(size=d)
    return Chain(Ws, x0), x0, direction(g, (d,))


def _ceil_sqrt(n: int) -> int:
    return math.isqrt(n - 1) + 1 if n > 0 else 0


def _chain_case(
    task: Task,
    fn: Callable,
    name: str,
    n: int,
    d: int,
    seed: int,
    measure_bytes: bool = False,
    kept: Kept | None = None,
) -> None:
    """One run of the chain; its arguments looked at afterwards, the results of the earlier
    runs (``kept``) compared again."""
    g = rng(task, (n, d, seed))
    Ws = [g.normal(scale=1.3 / math.sqrt(d), size=(d, d)) for _ in range(n)]
    chain = Chain(Ws, g.normal(size=d))
    xn_bar = direction(g, (d,))
    inputs = {"n": n, "d": d, "x0": chain.x0, "xn_bar": xn_bar}
    hint = (
        "forward: x_{k+1} = step(k, x_k); backward, k = n−1…0: "
        "x̄_k = step_vjp(k, x_k, x̄_{k+1}), starting from x̄_n = xn_bar"
        " / прямой проход по шагам, затем обратный, k = n−1…0, начиная с x̄_n = xn_bar"
    )
    saved = {"x0": chain.x0.copy(), "xn_bar": np.array(xn_bar, copy=True)}
    tracing = tracemalloc.is_tracing()
    if measure_bytes:
        if not tracing:
            tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    context = (
        substituted(fn, chain_vjp=course_chain_vjp) if task is T5 else contextlib.nullcontext()
    )
    try:
        with context:
            got = student_call(
                task,
                f"{name}(step, step_vjp, x0, n, xn_bar)",
                fn,
                chain.step,
                chain.step_vjp,
                chain.x0,
                n,
                xn_bar,
                inputs=inputs,
                hint=hint,
            )
        peak_bytes = tracemalloc.get_traced_memory()[1] - base if measure_bytes else 0
    finally:
        if measure_bytes and not tracing:
            tracemalloc.stop()
    if chain.error:
        fail(task, chain.error, inputs=inputs, show_values=False, hint=hint)
    unchanged(task, name, {"x0": chain.x0, "xn_bar": xn_bar}, saved, inputs)
    if kept is not None:
        kept.recheck(f"{name} on another chain")
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(
            task,
            f"{name} must return a pair (x_n, x0_bar) / {name} должна вернуть пару (x_n, x0_bar)",
            inputs=inputs,
            expected="(x_n, x0_bar)",
            obtained=got,
        )
    assert_close(
        task,
        "x_n (the chain's output)",
        got[0],
        chain.states[-1],
        inputs=inputs,
        hint="x_n = step(n−1, … step(1, step(0, x0)))",
        rtol=1e-12,
        atol=1e-14,
    )
    if sorted(chain.vjp_ks) != list(range(n)) or chain.vjp_ks != sorted(chain.vjp_ks, reverse=True):
        fail(
            task,
            "the backward pass must call step_vjp once for every step, in the order "
            "k = n−1, …, 1, 0"
            " / обратный проход должен вызвать step_vjp по разу для каждого шага в "
            "порядке k = n−1, …, 1, 0",
            inputs=inputs,
            expected=list(range(n))[::-1][:20],
            obtained=chain.vjp_ks[:20],
            hint=hint,
        )
    assert_close(
        task,
        "x0_bar = (∂x_n/∂x_0)ᵀ xn_bar",
        got[1],
        chain.reference(xn_bar),
        inputs=inputs,
        hint=hint,
        rtol=1e-12,
        atol=1e-13,
    )
    if kept is not None:
        kept.keep(f"{name} on a chain of n = {n}, d = {d}", got)
    if task is T4:
        if chain.step_calls != n:
            fail(
                task,
                f"{name} called step {chain.step_calls} times for n = {n} steps; storing "
                f"every state needs exactly n = {n} (the forward pass only)"
                f" / {name} вызвала step {chain.step_calls} раз при n = {n} шагах; при "
                f"хранении всех состояний нужно ровно n = {n} (только прямой проход)",
                inputs=inputs,
                expected=n,
                obtained=chain.step_calls,
                hint="keep x_0, …, x_{n−1} in a list during the forward pass; do not recompute"
                " / храните состояния в списке во время прямого прохода; не пересчитывайте",
            )
        return
    s = _ceil_sqrt(n)
    bound = 2 * s + 2
    if chain.peak > bound:
        fail(
            task,
            f"{chain.peak} states returned by step were alive at once; √n checkpointing "
            f"keeps about 2⌈√n⌉ (here at most 2·{s} + 2 = {bound})"
            f" / одновременно жили {chain.peak} состояний; контрольные точки через √n "
            f"хранят около 2⌈√n⌉ (здесь не более {bound})",
            inputs=inputs,
            expected=f"≤ {bound}",
            obtained=chain.peak,
            hint=f"in the forward pass keep only every s-th state (s = ⌈√n⌉ = {s}); in the "
            "backward pass recompute one segment at a time and drop it when it is done"
            f" / в прямом проходе храните только каждое s-е состояние (s = {s}); в обратном"
            " пересчитывайте по одному отрезку и освобождайте его после обработки",
        )
    if chain.step_calls > 2 * n:
        fail(
            task,
            f"{name} called step {chain.step_calls} times for n = {n}; √n checkpointing "
            f"needs at most 2n = {2 * n} (each segment recomputed once)"
            f" / {name} вызвала step {chain.step_calls} раз при n = {n}; контрольным "
            f"точкам через √n нужно не более 2n = {2 * n}",
            inputs=inputs,
            expected=f"≤ {2 * n}",
            obtained=chain.step_calls,
            hint="recompute a segment from its own checkpoint once, not from x0 for every step"
            " / пересчитывайте отрезок один раз от его контрольной точки, а не от x0 для "
            "каждого шага",
        )
    if measure_bytes:
        state = chain.x0.nbytes + 128
        allowed = (bound + 8) * state + 48 * 1024
        if peak_bytes > allowed:
            fail(
                task,
                f"peak memory during {name} was {peak_bytes / 1024:.0f} KiB ≈ "
                f"{peak_bytes / state:.0f} states of {state} bytes; √n checkpointing "
                f"needs about {bound} (allowed: {allowed / 1024:.0f} KiB)"
                f" / пиковая память при {name} — {peak_bytes / 1024:.0f} КиБ, допустимо "
                f"{allowed / 1024:.0f} КиБ",
                inputs=inputs,
                show_values=False,
                hint="store only the checkpoints and the current segment, no copies of every "
                "state (x.copy(), np.stack, np.array(list))"
                " / храните только контрольные точки и текущий отрезок, без копий каждого "
                "состояния",
            )


@task_check(T4)
def t5_4(chain_vjp: Callable) -> None:
    """A chain of 6 steps on R⁵: the output, the cotangent, the order and count of calls."""
    kept = Kept(T4)
    _chain_case(T4, chain_vjp, "chain_vjp", 6, 5, 0, kept=kept)
    # a second call on another chain of the same length: nothing may be kept from the first
    _chain_case(
        T4,
        chain_vjp,
        "chain_vjp (second call, another chain of the same n: state kept between calls?)",
        6,
        5,
        3,
        kept=kept,
    )


@task_check(T5, replaces=("chain_vjp",))
def t5_5(chain_vjp_sqrt: Callable) -> None:
    """n = 16: the result, the stored states (≤ 2⌈√n⌉ + 2) and the steps (≤ 2n); a second
    chain of the same size (the first result kept)."""
    kept = Kept(T5)
    _chain_case(T5, chain_vjp_sqrt, "chain_vjp_sqrt", 16, 5, 0, kept=kept)
    _chain_case(
        T5,
        chain_vjp_sqrt,
        "chain_vjp_sqrt (second call, another chain of the same n: state kept between calls?)",
        16,
        5,
        3,
        kept=kept,
    )
