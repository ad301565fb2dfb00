"""Checks of task 5.1: HVPs, forward-over-reverse and reverse-over-reverse."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from reference_impl.second_order import hvp as reference_hvp

from .._core import (
    CallCounter,
    assert_close,
    direction,
    fail,
    is_dual,
    rng,
    student_call,
    task_check,
    uniform,
)
from ..finite_differences._common import Kept, unchanged
from ._common import _HVP_VISIBLE, T1, TOOLKIT, Builder
from ._toolkit import Traced, grad, jvp, vjp  # noqa: F401  (handed over: TOOLKIT)


class _GradCalls(CallCounter):
    """``grad_f`` counting its calls by the kind of argument: dual, tape variable, plain."""

    def kinds(self) -> list[str]:
        out = []
        for args, _ in self.calls:
            x = args[0] if args else None
            out.append(
                "dual"
                if is_dual(x)
                else "plain"
                if isinstance(x, (np.ndarray, float, int))
                else "tape"
            )
        return out


_MODES = {
    "fwd": (
        "hvp_fwd_over_rev",
        "dual",
        "push the tangent v forward through the gradient code: jvp(grad_f, (x,), (v,))[1]"
        " / протолкните касательную компоненту v через код градиента: jvp(grad_f, (x,), "
        "(v,))[1]",
    ),
    "rev": (
        "hvp_rev_over_rev",
        "tape",
        "differentiate the scalar x ↦ ∇f(x)·v in reverse mode: "
        "grad(lambda y: np.sum(grad_f(y) * v))(x)"
        " / продифференцируйте скаляр x ↦ ∇f(x)·v в обратном режиме",
    ),
}


def _hvp_case(
    fn: Callable,
    mode: str,
    label: str,
    build: Builder,
    shape: tuple[int, ...],
    const_shapes: Sequence[tuple[int, ...]],
    seed: object,
    again: bool = False,
) -> None:
    """One HVP; with ``again``, a second at the same x along another v and a third at another
    x, the arguments looked at after each call, every result kept and compared again."""
    g = rng(T1, (label, seed))
    consts = [uniform(g, s, -1.0, 1.0) for s in const_shapes]
    x, v = uniform(g, shape, -1.0, 1.0), direction(g, shape)
    f_ref, grad_np = build(consts)
    kept = Kept(T1)
    _hvp_call(fn, mode, label, f_ref, grad_np, x, v, kept, "")
    if again:
        v2, x3, v3 = direction(g, shape), uniform(g, shape, -1.0, 1.0), direction(g, shape)
        _hvp_call(fn, mode, label, f_ref, grad_np, x, v2, kept, " (same x, another v)")
        _hvp_call(fn, mode, label, f_ref, grad_np, x3, v3, kept, " (another x)")


def _hvp_call(
    fn: Callable,
    mode: str,
    label: str,
    f_ref: Callable,
    grad_np: Callable,
    x: np.ndarray,
    v: np.ndarray,
    kept: Kept,
    note: str,
) -> None:
    name, kind, hint = _MODES[mode]
    grad_f = _GradCalls(grad_np)
    inputs = {"f": label, "x": x, "v": v}
    args = {"x": np.array(x, copy=True), "v": np.array(v, copy=True)}
    what = f"{name}(grad_f, x, v){note}"
    got = student_call(T1, what, fn, grad_f, *args.values(), inputs=inputs, hint=hint)
    unchanged(T1, f"{name}(grad_f, x, v)", args, {"x": x, "v": v}, inputs)
    kept.recheck(what)
    kinds = grad_f.kinds()
    if note and not kinds:
        fail(
            T1,
            f"state kept between calls: {what} returned without calling grad_f (a result "
            "kept from an earlier call?)"
            f" / состояние сохраняется между вызовами: {what} вернула результат, не вызвав "
            "grad_f",
            inputs=inputs,
            show_values=False,
            hint="compute every HVP from this call's grad_f, x and v; a cache must be keyed "
            "by all three / вычисляйте каждый HVP из grad_f, x и v этого вызова",
        )
    if "plain" in kinds:
        fail(
            T1,
            f"{name} called grad_f {kinds.count('plain')} time(s) on plain arrays: "
            "finite differences of the gradient are inexact, and an HVP needs no "
            "evaluation of ∇f on a plain array"
            f" / {name} вызвала grad_f на обычных массивах {kinds.count('plain')} раз: "
            "конечные разности градиента неточны, а HVP не требует вычисления ∇f на обычном"
            " массиве",
            inputs=inputs,
            show_values=False,
            hint=hint,
        )
    if len(kinds) != 1:
        fail(
            T1,
            f"{name} called grad_f {len(kinds)} times; one HVP costs a constant number of "
            "gradient-sized passes: exactly one call of grad_f, carrying the direction v"
            f" / {name} вызвала grad_f {len(kinds)} раз; нужен ровно один вызов grad_f, "
            "несущий направление v",
            inputs=inputs,
            expected=1,
            obtained=len(kinds),
            hint=hint,
        )
    if kinds[0] != kind:
        other = "forward mode (jvp)" if kind == "tape" else "reverse mode (grad/vjp)"
        fail(
            T1,
            f"{name} differentiated grad_f in {other}; this function is the other "
            "composition of the modes"
            f" / {name} дифференцировала grad_f в режиме {other}; эта функция — другая "
            "композиция режимов",
            inputs=inputs,
            show_values=False,
            hint=hint,
        )
    if isinstance(got, Traced) or is_dual(got):
        fail(
            T1,
            f"{name} must return a plain array, not a traced value"
            f" / {name} должна вернуть обычный массив, а не трассируемое значение",
            inputs=inputs,
            expected="np.ndarray",
            obtained=type(got).__name__,
            hint=hint,
        )
    expected = np.asarray(reference_hvp(f_ref, x, v), dtype=float)
    o = np.asarray(got, dtype=float) if isinstance(got, np.ndarray) else None
    if o is not None and o.shape == x.shape and not np.allclose(o, expected):
        if np.allclose(o, grad_np(x)):
            hint = (
                "that is ∇f(x), the value of grad_f; the HVP is the tangent (derivative)"
                " / это ∇f(x), значение grad_f; HVP — касательная компонента (производная)"
            )
        elif np.allclose(o, reference_hvp(f_ref, x, np.ones_like(x))):
            hint = (
                "that is ∇²f(x)·1: the direction v is missing (∇f(x)·v, not Σ ∇f(x))"
                " / это ∇²f(x)·1: пропущено направление v"
            )
    if note:
        hint += (
            "; the result must depend on this call's x and v only: keep no state between calls"
            " / результат зависит только от x и v этого вызова: не храните состояние"
        )
    assert_close(T1, f"∇²f(x)·v from {what}", got, expected, inputs=inputs, hint=hint)
    kept.keep(what, got)


@task_check(T1, replaces=TOOLKIT)
def t5_1(hvp_fwd_over_rev: Callable, hvp_rev_over_rev: Callable) -> None:
    """Both compositions on the notebook's kind of function, against ``second_order.hvp``;
    each called again at the same x along another v and at another x."""
    for label, build, shape, consts in _HVP_VISIBLE:
        _hvp_case(hvp_fwd_over_rev, "fwd", label, build, shape, consts, "visible", again=True)
        _hvp_case(hvp_rev_over_rev, "rev", label, build, shape, consts, "visible", again=True)
