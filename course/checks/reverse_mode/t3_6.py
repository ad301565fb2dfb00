"""Checks of task 3.6: the feedforward network's backward pass."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import reference_impl as ri
import reference_impl.numpy as rnp

from .._core import (
    assert_close,
    diagnose,
    direction,
    fail,
    rng,
    student_call,
    substituted,
    task_check,
)
from ._common import (
    T6,
    _Raw,
)


# ---------------------------------------------------------------------------------------------
# task 3.6: the feedforward network's backward pass
# ---------------------------------------------------------------------------------------------
class _CountingNumpy:
    """NumPy for the student's backward pass, counting calls of the activation ``tanh``."""

    def __init__(self) -> None:
        self.tanh_calls = 0

    def tanh(self, *args: Any, **kwargs: Any) -> Any:
        self.tanh_calls += 1
        return np.tanh(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


def _network(Ws: Sequence[Any], X: Any, xp: Any) -> Any:
    v = X
    for W in Ws:
        v = xp.tanh(v @ W)
    return v


def _mlp_inputs(seed: object, b: int, sizes: Sequence[int]
                ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, dict[str, Any]]:
    g = rng(T6, (seed, b, tuple(sizes)))
    X = g.normal(size=(b, sizes[0]))
    Ws = [g.normal(size=(p, q)) / np.sqrt(p) for p, q in itertools.pairwise(sizes)]
    V_bar = np.asarray(direction(g, (b, sizes[-1])), dtype=float)
    shapes = ", ".join(f"W_{k}: {p}×{q}" for k, (p, q) in
                       enumerate(itertools.pairwise(sizes), start=1))
    inputs = {"batch b": b, "sizes n_0…n_t": list(sizes), "weights": _Raw(shapes),
              "V_bar = ∂L/∂v_t": _Raw(f"random {b}×{sizes[-1]}")}
    return X, Ws, V_bar, inputs


def _forward_case(mlp_forward: Callable, b: int, sizes: Sequence[int], seed: object) -> None:
    X, Ws, _V_bar, inputs = _mlp_inputs(seed, b, sizes)
    t = len(Ws)
    vs = student_call(T6, "mlp_forward(X, Ws)", mlp_forward, X.copy(), [W.copy() for W in Ws],
                      inputs=inputs)
    if not isinstance(vs, (list, tuple)) or len(vs) != t + 1:
        fail(T6, f"mlp_forward must store v_0 = X, v_1, …, v_t: t + 1 = {t + 1} arrays for "
                 f"t = {t} layers", inputs=inputs, expected=f"a list of {t + 1} arrays",
             obtained=f"{type(vs).__name__} of {len(vs) if hasattr(vs, '__len__') else '?'}",
             hint="the backward pass needs every activation: this is the memory reverse mode "
                  "pays for")
    v = X
    for k in range(t + 1):
        if k:
            v = np.tanh(v @ Ws[k - 1])
        assert_close(T6, f"v_{k} (shape b×n_{k} = {b}×{sizes[k]})", vs[k], v, inputs=inputs,
                     hint="v_0 = X, v_k = tanh(v_{k−1} W_k), (b × n_{k−1})·(n_{k−1} × n_k)")


def _backward_mlp_case(mlp_backward: Callable, b: int, sizes: Sequence[int],
                       seed: object) -> None:
    X, Ws, V_bar, inputs = _mlp_inputs(seed, b, sizes)
    t = len(Ws)
    vs = [X]
    for W in Ws:
        vs.append(np.tanh(vs[-1] @ W))
    args = ([W.copy() for W in Ws], [v.copy() for v in vs], V_bar.copy())
    counting = _CountingNumpy()
    with substituted(mlp_backward, np=counting):
        res = student_call(T6, "mlp_backward(Ws, vs, V_bar)", mlp_backward, *args,
                           inputs=inputs)
    e_Ws, e_X = ri.grad(lambda ws, x: rnp.sum(V_bar * _network(ws, x, rnp)),
                        argnums=(0, 1))(Ws, X)
    if not (isinstance(res, (tuple, list)) and len(res) == 2
            and isinstance(res[0], (list, tuple)) and len(res[0]) == t):
        fail(T6, f"mlp_backward must return (dWs, dX) with a list dWs of t = {t} arrays",
             inputs=inputs, expected=f"([∂L/∂W_1, …, ∂L/∂W_{t}], ∂L/∂X)", obtained=res)
    dWs, dX = res
    for k in range(t, 0, -1):  # from the last layer, as the backward pass goes
        p, q = sizes[k - 1], sizes[k]
        got, exp = np.asarray(dWs[k - 1], dtype=float), np.asarray(e_Ws[k - 1], dtype=float)
        hint = (f"∂L/∂W_{k} = v_{k - 1}ᵀ δ_{k}: (n_{k - 1} × b)·(b × n_{k}) = ({p} × {b})·"
                f"({b} × {q}), with δ_{k} = ∂L/∂v_{k} ⊙ (1 − v_{k}²) and "
                f"∂L/∂v_{k - 1} = δ_{k} W_{k}ᵀ")
        if got.shape != exp.shape:
            fail(T6, f"∂L/∂W_{k} (layer {k}) has shape {got.shape}; expected {exp.shape}, the "
                     f"shape of W_{k}: n_{k - 1} × n_{k} = {p} × {q}", inputs=inputs,
                 expected=exp, obtained=got, diagnosis=diagnose(got, exp), hint=hint)
        assert_close(T6, f"∂L/∂W_{k} (layer {k}, shape n_{k - 1} × n_{k} = {p} × {q})", got,
                     exp, inputs=inputs, hint=hint)
    got, exp = np.asarray(dX, dtype=float), np.asarray(e_X, dtype=float)
    hint = "∂L/∂X = ∂L/∂v_0 = δ_1 W_1ᵀ: (b × n_1)·(n_1 × n_0)"
    if got.shape != exp.shape:
        fail(T6, f"∂L/∂X has shape {got.shape}; expected {exp.shape}, the shape of X: "
                 f"b × d = {b} × {sizes[0]}", inputs=inputs, expected=exp, obtained=got,
             diagnosis=diagnose(got, exp), hint=hint)
    assert_close(T6, f"∂L/∂X (shape b × d = {b} × {sizes[0]})", got, exp, inputs=inputs,
                 hint=hint)
    if counting.tanh_calls:
        fail(T6, f"mlp_backward called np.tanh {counting.tanh_calls} times", inputs=inputs,
             expected=0, obtained=counting.tanh_calls,
             hint="reuse the activations stored by the forward pass: for σ = tanh, "
                  "σ'(z_k) = 1 − v_k²")
    for name, before, after in [("Ws", Ws, args[0]), ("vs", vs, args[1]),
                                ("V_bar", [V_bar], [args[2]])]:
        if any(not np.array_equal(a, c) for a, c in zip(before, after, strict=True)):
            fail(T6, f"mlp_backward modified its argument {name} in place", inputs=inputs,
                 show_values=False, hint="write delta = dv * (1 - v**2), not dv *= …: the "
                 "stored activations and the cotangent belong to the caller")


_MLP_VISIBLE: list[tuple[int, list[int]]] = [(4, [5, 4, 3, 2])]


@task_check(T6)
def t3_6(mlp_forward: Callable, mlp_backward: Callable) -> None:
    """The lecture's network (b = 4, sizes 5-4-3-2) with a random cotangent."""
    for b, sizes in _MLP_VISIBLE:
        _forward_case(mlp_forward, b, sizes, "visible")
        _backward_mlp_case(mlp_backward, b, sizes, "visible")
