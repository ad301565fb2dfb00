"""Checks of task 3.6: the feedforward network's backward pass."""

from __future__ import annotations

import itertools
import types
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
    remote_active,
    rng,
    student_call,
    substituted,
    task_check,
)
from ..finite_differences._common import Kept, unchanged
from ._common import (
    T6,
    _Raw,
)

# ---------------------------------------------------------------------------------------------
# task 3.6: the feedforward network's backward pass
# ---------------------------------------------------------------------------------------------
#: functions whose derivative a backward pass would recompute instead of using v_k
_TRANSCENDENTAL = frozenset(
    {
        "tanh",
        "cosh",
        "sinh",
        "exp",
        "expm1",
        "exp2",
        "log",
        "log1p",
        "log2",
        "log10",
        "arctanh",
        "arcsinh",
        "arccosh",
        "sin",
        "cos",
        "tan",
        "arctan",
    }
)
_PRODUCTS = ("dot", "matmul", "einsum", "tensordot", "inner", "vdot", "outer", "multi_dot")


class _Tally:
    """What the student's backward pass computed: matrix products and transcendental calls."""

    def __init__(self) -> None:
        self.products = 0
        self.transcendental: list[str] = []


def _denied() -> frozenset[str]:
    from course.channel.checker import DENIED  # only in the grader's checker

    return DENIED


class _CountingNumpy:
    """NumPy for the student's backward pass, counting its transcendental functions."""

    def __init__(self, tally: _Tally) -> None:
        self.tally = tally

    def __getattr__(self, name: str) -> Any:
        value = getattr(np, name)
        if remote_active() and (isinstance(value, types.ModuleType) or name in _denied()):
            # in the grader's checker, np is served to the kernel: no files, no submodules
            raise AttributeError(
                f"np.{name} is not available to the backward pass while it is "
                "graded / np.{name} недоступна обратному проходу при проверке"
            )
        if name in _TRANSCENDENTAL:
            self.tally.transcendental.append(name)
        return value  # products are counted by the tracked arrays themselves


def _plain(x: Any) -> Any:
    if isinstance(x, _Tracked):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return x


class _Tracked(np.ndarray):
    """The stored activations and weights handed to the backward pass: ``@`` and the ufuncs
    applied to them are counted in ``tally`` (results are plain arrays)."""

    tally: _Tally | None = None

    def __array_finalize__(self, obj: Any) -> None:
        self.tally = getattr(obj, "tally", None)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        tally = next(x.tally for x in inputs if isinstance(x, _Tracked))
        if tally is not None and method == "__call__":
            if ufunc is np.matmul:
                tally.products += 1
            elif ufunc.__name__ in _TRANSCENDENTAL:
                tally.transcendental.append(ufunc.__name__)
        if "out" in kwargs:
            kwargs["out"] = _plain(kwargs["out"])
        return getattr(ufunc, method)(*_plain(inputs), **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        tally = self.tally
        if tally is not None and func.__name__ in _PRODUCTS:
            tally.products += 1
        return func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})


def _tracked(a: np.ndarray, tally: _Tally) -> _Tracked:
    out = np.array(a, dtype=float).view(_Tracked)
    out.tally = tally
    return out


def _network(Ws: Sequence[Any], X: Any, xp: Any) -> Any:
    v = X
    for W in Ws:
        v = xp.tanh(v @ W)
    return v


def _mlp_inputs(
    seed: object, b: int, sizes: Sequence[int]
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, dict[str, Any]]:
    g = rng(T6, (seed, b, tuple(sizes)))
    X = g.normal(size=(b, sizes[0]))
    Ws = [g.normal(size=(p, q)) / np.sqrt(p) for p, q in itertools.pairwise(sizes)]
    V_bar = np.asarray(direction(g, (b, sizes[-1])), dtype=float)
    shapes = ", ".join(
        f"W_{k}: {p}×{q}" for k, (p, q) in enumerate(itertools.pairwise(sizes), start=1)
    )
    inputs = {
        "batch b": b,
        "sizes n_0…n_t": list(sizes),
        "weights": _Raw(shapes),
        "V_bar = ∂L/∂v_t": _Raw(f"random {b}×{sizes[-1]}"),
    }
    return X, Ws, V_bar, inputs


def _forward_case(mlp_forward: Callable, b: int, sizes: Sequence[int], seed: object) -> None:
    """Two calls with the same shapes and other values: both right, the arguments untouched,
    the first result unchanged by the second call."""
    X, Ws, _V_bar, inputs = _mlp_inputs(seed, b, sizes)
    kept = Kept(T6)
    kept.keep("mlp_forward(X, Ws)", _forward_call(mlp_forward, X, Ws, inputs, ""))
    X2, Ws2, _V_bar, _inputs = _mlp_inputs((seed, "again"), b, sizes)
    again = {**inputs, "call / вызов": _Raw("a second call: other X and Ws of the same shapes")}
    _forward_call(mlp_forward, X2, Ws2, again, " (second call)")
    kept.recheck("mlp_forward (a second call, other X and Ws)")


def _forward_call(
    mlp_forward: Callable, X: np.ndarray, Ws: list[np.ndarray], inputs: dict[str, Any], note: str
) -> Any:
    """``mlp_forward(X, Ws)``, checked; its result."""
    t, b, sizes = len(Ws), X.shape[0], [X.shape[1], *(W.shape[1] for W in Ws)]
    given = {"X": X.copy(), "Ws": [W.copy() for W in Ws]}
    vs = student_call(T6, f"mlp_forward(X, Ws){note}", mlp_forward, *given.values(), inputs=inputs)
    unchanged(T6, "mlp_forward", given, {"X": X, "Ws": tuple(Ws)}, inputs)
    if not isinstance(vs, (list, tuple)) or len(vs) != t + 1:
        fail(
            T6,
            f"mlp_forward must store v_0 = X, v_1, …, v_t: t + 1 = {t + 1} arrays for "
            f"t = {t} layers"
            f" / mlp_forward должна сохранить v_0 = X, v_1, …, v_t: t + 1 = {t + 1} массивов"
            f" при t = {t} слоях",
            inputs=inputs,
            expected=f"a list of {t + 1} arrays",
            obtained=f"{type(vs).__name__} of {len(vs) if hasattr(vs, '__len__') else '?'}",
            hint="the backward pass needs every activation: this is the memory reverse mode "
            "pays for"
            " / обратному проходу нужны все активации: это и есть память, которой платит "
            "обратный режим",
        )
    v = X
    for k in range(t + 1):
        if k:
            v = np.tanh(v @ Ws[k - 1])
        assert_close(
            T6,
            f"v_{k} (shape b×n_{k} = {b}×{sizes[k]}){note}",
            vs[k],
            v,
            inputs=inputs,
            hint="v_0 = X, v_k = tanh(v_{k−1} W_k), (b × n_{k−1})·(n_{k−1} × n_k)",
        )
    return vs


def _backward_mlp_case(
    mlp_backward: Callable,
    b: int,
    sizes: Sequence[int],
    seed: object,
    mlp_forward: Callable | None = None,
    again: bool = False,
) -> None:
    """With ``mlp_forward``: a forward pass on another input runs between storing ``vs`` and
    the backward pass that uses them (forward and backward interleaved). With ``again``: a
    second backward pass, other values of the same shapes; the first result must not change."""
    X, Ws, V_bar, inputs = _mlp_inputs(seed, b, sizes)
    if mlp_forward is not None:
        student_call(
            T6,
            "mlp_forward(X2, Ws), another input, before mlp_backward(Ws, vs, …)",
            mlp_forward,
            2.0 * X + 0.5,
            [W.copy() for W in Ws],
            inputs=inputs,
        )
        inputs = {
            **inputs,
            "before this call / перед вызовом": _Raw(
                "mlp_forward(X2, Ws) on another input X2: mlp_backward must use the vs it is "
                "given, not the last forward pass's / mlp_backward должна использовать "
                "переданные ей vs, а не vs последнего прямого прохода"
            ),
        }
    kept = Kept(T6)
    first = _backward_call(mlp_backward, sizes, X, Ws, V_bar, inputs, "")
    kept.keep("mlp_backward(Ws, vs, V_bar)", first)
    if again:
        X2, Ws2, V2, inputs2 = _mlp_inputs((seed, "again"), b, sizes)
        inputs2 = {
            **inputs2,
            "call / вызов": _Raw("a second call: other Ws, vs and V_bar of the same shapes"),
        }
        _backward_call(mlp_backward, sizes, X2, Ws2, V2, inputs2, " (second call)")
        kept.recheck("mlp_backward (a second call, other Ws, vs and V_bar)")


def _backward_call(
    mlp_backward: Callable,
    sizes: Sequence[int],
    X: np.ndarray,
    Ws: list[np.ndarray],
    V_bar: np.ndarray,
    inputs: dict[str, Any],
    note: str,
) -> Any:
    """``mlp_backward(Ws, vs, V_bar)`` on the activations of ``X``, checked; its result."""
    t, b = len(Ws), X.shape[0]
    vs = [X]
    for W in Ws:
        vs.append(np.tanh(vs[-1] @ W))
    tally = _Tally()
    args = ([_tracked(W, tally) for W in Ws], [_tracked(v, tally) for v in vs], V_bar.copy())
    counting = _CountingNumpy(tally)
    with substituted(mlp_backward, np=counting):
        res = student_call(
            T6, f"mlp_backward(Ws, vs, V_bar){note}", mlp_backward, *args, inputs=inputs
        )
    unchanged(
        T6,
        "mlp_backward",
        {"Ws": args[0], "vs": args[1], "V_bar": args[2]},
        {"Ws": tuple(Ws), "vs": tuple(vs), "V_bar": V_bar},
        inputs,
    )
    e_Ws, e_X = ri.grad(lambda ws, x: rnp.sum(V_bar * _network(ws, x, rnp)), argnums=(0, 1))(Ws, X)
    if not (
        isinstance(res, (tuple, list))
        and len(res) == 2
        and isinstance(res[0], (list, tuple))
        and len(res[0]) == t
    ):
        fail(
            T6,
            f"mlp_backward must return (dWs, dX) with a list dWs of t = {t} arrays"
            f" / mlp_backward должна вернуть (dWs, dX) со списком dWs из t = {t} массивов",
            inputs=inputs,
            expected=f"([∂L/∂W_1, …, ∂L/∂W_{t}], ∂L/∂X)",
            obtained=res,
        )
    dWs, dX = res
    for k in range(t, 0, -1):  # from the last layer, as the backward pass goes
        p, q = sizes[k - 1], sizes[k]
        got, exp = np.asarray(dWs[k - 1], dtype=float), np.asarray(e_Ws[k - 1], dtype=float)
        hint = (
            f"∂L/∂W_{k} = v_{k - 1}ᵀ δ_{k}: (n_{k - 1} × b)·(b × n_{k}) = ({p} × {b})·"
            f"({b} × {q}), with δ_{k} = ∂L/∂v_{k} ⊙ (1 − v_{k}²) and "
            f"∂L/∂v_{k - 1} = δ_{k} W_{k}ᵀ"
        )
        if got.shape != exp.shape:
            fail(
                T6,
                f"∂L/∂W_{k} (layer {k}) has shape {got.shape}; expected {exp.shape}, the "
                f"shape of W_{k}: n_{k - 1} × n_{k} = {p} × {q}"
                f" / ∂L/∂W_{k} (слой {k}) имеет форму {got.shape}, а должна {exp.shape}",
                inputs=inputs,
                expected=exp,
                obtained=got,
                diagnosis=diagnose(got, exp),
                hint=hint,
            )
        assert_close(
            T6,
            f"∂L/∂W_{k} (layer {k}, shape n_{k - 1} × n_{k} = {p} × {q})",
            got,
            exp,
            inputs=inputs,
            hint=hint,
        )
    got, exp = np.asarray(dX, dtype=float), np.asarray(e_X, dtype=float)
    hint = "∂L/∂X = ∂L/∂v_0 = δ_1 W_1ᵀ: (b × n_1)·(n_1 × n_0)"
    if got.shape != exp.shape:
        fail(
            T6,
            f"∂L/∂X has shape {got.shape}; expected {exp.shape}, the shape of X: "
            f"b × d = {b} × {sizes[0]}"
            f" / ∂L/∂X имеет форму {got.shape}, а должна {exp.shape} (форма X)",
            inputs=inputs,
            expected=exp,
            obtained=got,
            diagnosis=diagnose(got, exp),
            hint=hint,
        )
    assert_close(T6, f"∂L/∂X (shape b × d = {b} × {sizes[0]})", got, exp, inputs=inputs, hint=hint)
    if tally.transcendental:
        names = sorted(set(tally.transcendental))
        fail(
            T6,
            f"mlp_backward computed {', '.join(names)} "
            f"({len(tally.transcendental)} call(s)): the derivative of tanh must come "
            "from the stored activations"
            " / производная tanh должна браться из сохранённых активаций",
            inputs=inputs,
            expected=0,
            obtained=len(tally.transcendental),
            hint="reuse the activations stored by the forward pass: for σ = tanh, "
            "σ'(z_k) = 1 − v_k² (no tanh, cosh or exp of a recomputed z_k)"
            " / используйте активации, сохранённые прямым проходом: для σ = tanh σ'(z_k) = "
            "1 − v_k²",
        )
    if tally.products > 2 * t:
        fail(
            T6,
            f"mlp_backward made {tally.products} matrix products for t = {t} layers; "
            f"the backward pass needs 2t = {2 * t} (v_{{k−1}}ᵀ δ_k and δ_k W_kᵀ per "
            "layer): the pre-activations z_k = v_{k−1} W_k must not be recomputed"
            f" / mlp_backward сделала {tally.products} матричных произведений при t = {t} "
            f"слоях; нужно 2t = {2 * t}: не пересчитывайте z_k",
            inputs=inputs,
            expected=f"≤ {2 * t}",
            obtained=tally.products,
            hint="σ'(z_k) = 1 − v_k²: the stored v_k is all the backward pass needs"
            " / обратному проходу достаточно сохранённых v_k",
        )
    return res


_MLP_VISIBLE: list[tuple[int, list[int]]] = [(4, [5, 4, 3, 2])]


@task_check(T6)
def t3_6(mlp_forward: Callable, mlp_backward: Callable) -> None:
    """The lecture's network (b = 4, sizes 5-4-3-2) with a random cotangent."""
    for b, sizes in _MLP_VISIBLE:
        _forward_case(mlp_forward, b, sizes, "visible")
        _backward_mlp_case(mlp_backward, b, sizes, "visible", mlp_forward, again=True)
