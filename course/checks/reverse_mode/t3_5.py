"""Checks of task 3.5: grad, vjp, jacrev on the course's tape, with counted passes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

import reference_impl as ri
import reference_impl.numpy as rnp

from .._core import (
    CallCounter,
    Task,
    assert_close,
    direction,
    fail,
    rng,
    student_call,
    substituted,
    task_check,
    uniform,
)
from .._lazy import reference
from ..finite_differences._common import Kept, unchanged
from ._common import (
    T5,
    _Raw,
)
from ._tape import TapeVar, reference_ops, tape_ops

_REF = reference(__package__)  # None in the student distribution

# ---------------------------------------------------------------------------------------------
# task 3.5: grad, vjp, jacrev on the course's tape, with counted passes
# ---------------------------------------------------------------------------------------------
# test functions of a list of scalars: (label, builder(ns) -> f(xs), n); vector ones return lists
VecBuilder = Callable[[SimpleNamespace], Callable[[Sequence[Any]], Any]]

_GRAD_VISIBLE: list[tuple[str, VecBuilder, int]] = [
    ("f(x) = x0·x1 + sin(x0)·x2", lambda ns: lambda x: x[0] * x[1] + ns.sin(x[0]) * x[2], 3),
]
_JAC_VISIBLE: list[tuple[str, VecBuilder, int]] = [
    ("f(x) = [x0·x1, sin(x1) + x2]", lambda ns: lambda x: [x[0] * x[1], ns.sin(x[1]) + x[2]], 3),
]


#: made (and used) between two uses of a returned function: it must not take their place
_OTHER_GRAD: VecBuilder = lambda ns: lambda x: sum((xi * xi for xi in x), 0.0)  # noqa: E731
_OTHER_JAC: VecBuilder = lambda ns: lambda x: [xi * xi for xi in x]  # noqa: E731


def _reference_fn(build: VecBuilder, n: int) -> Callable[[Any], Any]:
    f = build(reference_ops)

    def ref(x: Any) -> Any:
        out = f([x[i] for i in range(n)])
        return rnp.stack(out) if isinstance(out, list) else out

    return ref


def _counted(
    build: VecBuilder, student: Any = None
) -> tuple[CallCounter, CallCounter, dict[str, Any]]:
    """The counted test function and backward pass, and the names substituted in the notebook:
    the course's tape and traversals (in the student distribution, the student's own backward)."""
    f = CallCounter(build(tape_ops))
    if _REF is None:
        own = getattr(student, "__globals__", {}).get("backward")
        back = CallCounter(own if callable(own) else lambda *a: None)
        return f, back, {"Var": TapeVar, "backward": back}
    back = CallCounter(_REF.course_backward)
    names = {"Var": TapeVar, "backward": back, "topological_order": _REF.course_topological_order}
    return f, back, names


def _point(task: Task, label: str, seed: object, n: int) -> tuple[np.random.Generator, np.ndarray]:
    g = rng(task, (label, seed))
    return g, np.asarray(uniform(g, (n,), 0.5, 2.0), dtype=float)


_AGAIN_HINT = (
    "what grad, vjp and jacrev return must work every time it is called, in any order: "
    "record a fresh graph per call and keep no state between calls / то, что "
    "возвращают grad, vjp и jacrev, должно работать при каждом вызове и в любом "
    "порядке: новый граф на каждый вызов, без состояния между вызовами"
)


def _again(
    maker: Callable,
    made: Callable,
    what: str,
    names: dict[str, Any],
    label: str,
    x2: np.ndarray,
    expected: np.ndarray,
    first: Any,
    first_inputs: dict[str, Any],
) -> None:
    """Make and use the same transform of another function, then use the returned function
    again at another point; the first result must not change, nor the arguments."""
    kept = np.array(first, dtype=float, copy=True)
    n = x2.size
    name = what.split("(")[0]  # grad or jacrev
    other, other_label = (_OTHER_GRAD, "Σ x_i²") if name == "grad" else (_OTHER_JAC, "[x_i²]")
    inputs = {
        "f": _Raw(label),
        "before / перед этим": _Raw(f"{name}(g) for another g(x) = {other_label}, called at x2"),
        "x (second call of the same function)": x2,
    }
    with substituted(maker, **names):
        made_other = student_call(T5, f"{name}(g), another function", maker, other(tape_ops))
        arg = x2.copy()
        got_other = student_call(
            T5, f"{what.replace('(f)', '(g)')}, g another function", made_other, arg, inputs=inputs
        )
        unchanged(T5, f"{name}(g)(x)", {"x": arg}, {"x": x2}, inputs)
        ref_other = _reference_fn(other, n)
        assert_close(
            T5,
            f"{what.replace('(f)', '(g)')} for another function g(x) = {other_label}",
            got_other,
            np.asarray((ri.grad if name == "grad" else ri.jacrev)(ref_other)(x2), dtype=float),
            inputs=inputs,
            hint=_AGAIN_HINT,
        )
        arg = x2.copy()
        got = student_call(T5, f"{what}, called a second time", made, arg, inputs=inputs)
    unchanged(T5, what, {"x": arg}, {"x": x2}, inputs)
    assert_close(
        T5,
        f"{what} on its second call (state kept between calls?)",
        got,
        expected,
        inputs=inputs,
        hint=_AGAIN_HINT,
    )
    if not np.array_equal(np.asarray(first, dtype=float), kept):
        fail(
            T5,
            f"the result of the first {what} changed when it was called again: it shares "
            f"memory with the function's state / результат первого вызова {what} "
            "изменился при следующем вызове: он разделяет память с состоянием функции",
            inputs=first_inputs,
            show_values=False,
            hint="return a new array on every call / возвращайте новый массив при каждом вызове",
        )


def _grad_case(grad: Callable, label: str, build: VecBuilder, n: int, seed: object) -> None:
    _g, x = _point(T5, label, seed, n)
    inputs = {"f": _Raw(label), "x": x}
    f, back, names = _counted(build, grad)
    arg = x.copy()
    with substituted(grad, **names):
        gf = student_call(T5, "grad(f)", grad, f, inputs=inputs)
        got = student_call(T5, "grad(f)(x)", gf, arg, inputs=inputs)
    unchanged(T5, "grad(f)(x)", {"x": arg}, {"x": x}, inputs)
    expected = np.asarray(ri.grad(_reference_fn(build, n))(x), dtype=float)
    assert_close(
        T5,
        "gradient grad(f)(x)",
        got,
        expected,
        inputs=inputs,
        hint="wrap every x_i in Var, call f once, backward(out) once, read x_i.adj; "
        "an unused input has the gradient 0"
        " / оберните каждый x_i в Var, вызовите f и backward(out) по одному разу, "
        "прочитайте x_i.adj; у неиспользуемого входа градиент 0",
    )
    _count_passes(f, back, 1, 1, "grad(f)(x)", inputs)
    x2 = np.asarray(uniform(_g, (n,), 0.5, 2.0), dtype=float)
    _again(
        grad,
        gf,
        "grad(f)(x)",
        names,
        label,
        x2,
        np.asarray(ri.grad(_reference_fn(build, n))(x2), dtype=float),
        got,
        inputs,
    )


def _count_passes(
    f: CallCounter,
    back: CallCounter,
    forward: int,
    backward: int,
    what: str,
    inputs: dict[str, Any],
) -> None:
    if f.count != forward:
        fail(
            T5,
            f"{what} evaluated f {f.count} times; reverse mode needs one forward pass: the "
            "graph it records is reused by every backward pass"
            f" / {what} вычислила f {f.count} раз; обратному режиму нужен один прямой "
            "проход: записанный граф используется всеми обратными проходами",
            inputs=inputs,
            expected=forward,
            obtained=f.count,
            hint="call f once and keep its output nodes"
            " / вызовите f один раз и сохраните выходные вершины",
        )
    if back.count != backward:
        fail(
            T5,
            f"{what} made {back.count} backward passes (calls of backward); it needs "
            f"exactly {backward}"
            f" / {what} сделала {back.count} обратных проходов (вызовов backward); нужно "
            f"ровно {backward}",
            inputs=inputs,
            expected=backward,
            obtained=back.count,
            hint="one backward pass per cotangent: per output row for jacrev, one per pullback "
            "for vjp, one for grad"
            " / один обратный проход на сопряжённое: по одному на строку выхода для jacrev,"
            " на вызов pullback для vjp, один для grad",
        )


def _vjp_case(vjp: Callable, label: str, build: VecBuilder, n: int, seed: object) -> None:
    g, x = _point(T5, label, seed, n)
    ref = _reference_fn(build, n)
    y_ref, pull_ref = ri.vjp(ref, x)
    m = int(np.size(y_ref))
    cts = [direction(g, (m,)) for _ in range(2)]
    inputs: dict[str, Any] = {"f": _Raw(label), "x": x}
    f, back, names = _counted(build, vjp)
    kept, arg = Kept(T5), x.copy()
    with substituted(vjp, **names):
        res = student_call(T5, "vjp(f, x)", vjp, f, arg, inputs=inputs)
        unchanged(T5, "vjp(f, x)", {"x": arg}, {"x": x}, inputs)
        if not (isinstance(res, (tuple, list)) and len(res) == 2 and callable(res[1])):
            fail(
                T5,
                "vjp(f, x) must return a pair (y, pullback)"
                " / vjp(f, x) должна вернуть пару (y, pullback)",
                inputs=inputs,
                expected="(array of the outputs' values, function ct ↦ Jᵀct)",
                obtained=res,
            )
        kept.keep("vjp(f, x) (its y)", res[0])
        assert_close(
            T5,
            "outputs y of vjp(f, x)",
            res[0],
            np.asarray(y_ref),
            inputs=inputs,
            hint="y is the array of the output nodes' values, shape (m,)"
            " / y — массив значений выходных вершин, форма (m,)",
        )
        for i, ct in enumerate(cts):
            inputs["ct"] = ct
            ct_arg = ct.copy()
            got = student_call(T5, "pullback(ct)", res[1], ct_arg, inputs=inputs)
            unchanged(T5, "pullback(ct)", {"ct": ct_arg, "x": arg}, {"ct": ct, "x": x}, inputs)
            kept.recheck(f"pullback(ct) (call {i + 1})")
            kept.keep(f"pullback(ct) (call {i + 1})", got)
            assert_close(
                T5,
                f"pullback(ct) = Jᵀct (call {i + 1})",
                got,
                np.asarray(pull_ref(ct)[0]),
                inputs=inputs,
                hint="one backward pass from the scalar s = Σ_i ct_i·y_i (a node built "
                "on the recorded graph) gives Jᵀct = ∂s/∂x"
                " / один обратный проход от скаляра s = Σ_i ct_i·y_i (вершины, "
                "построенной на записанном графе) даёт Jᵀct = ∂s/∂x",
            )
    _count_passes(f, back, 1, len(cts), "vjp(f, x) with two calls of pullback", inputs)
    # interleaved: a second vjp at another point, then the first pullback again, then the second
    x2 = np.asarray(uniform(g, (n,), 0.5, 2.0), dtype=float)
    _y2, pull_ref2 = ri.vjp(ref, x2)
    inputs2 = {"f": _Raw(label), "x": x, "x2 (a second vjp)": x2, "ct": cts[0]}
    with substituted(vjp, **names):
        res2 = student_call(T5, "vjp(f, x2)", vjp, f, x2.copy(), inputs=inputs2)
        kept.recheck("vjp(f, x2)")
        again = student_call(
            T5, "the first pullback(ct) after vjp(f, x2)", res[1], cts[0].copy(), inputs=inputs2
        )
        assert_close(
            T5,
            "result of the first pullback(ct) = J(x)ᵀct, called after a second "
            "vjp(f, x2) (it must use its own graph, not the last one)",
            again,
            np.asarray(pull_ref(cts[0])[0]),
            inputs=inputs2,
            hint=_AGAIN_HINT,
        )
        if not (isinstance(res2, (tuple, list)) and len(res2) == 2 and callable(res2[1])):
            fail(
                T5,
                "vjp(f, x2) must return a pair (y, pullback) / vjp(f, x2) должна вернуть "
                "пару (y, pullback)",
                inputs=inputs2,
                obtained=res2,
            )
        got2 = student_call(T5, "pullback of vjp(f, x2)", res2[1], cts[0].copy(), inputs=inputs2)
        kept.recheck("the pullback of vjp(f, x2)")
    assert_close(
        T5,
        "result of the second vjp's pullback(ct) = J(x2)ᵀct",
        got2,
        np.asarray(pull_ref2(cts[0])[0]),
        inputs=inputs2,
        hint=_AGAIN_HINT,
    )


def _jacrev_case(jacrev: Callable, label: str, build: VecBuilder, n: int, seed: object) -> None:
    _g, x = _point(T5, label, seed, n)
    inputs = {"f": _Raw(label), "x": x}
    f, back, names = _counted(build, jacrev)
    arg = x.copy()
    with substituted(jacrev, **names):
        jac = student_call(T5, "jacrev(f)", jacrev, f, inputs=inputs)
        got = student_call(T5, "jacrev(f)(x)", jac, arg, inputs=inputs)
    unchanged(T5, "jacrev(f)(x)", {"x": arg}, {"x": x}, inputs)
    expected = np.asarray(ri.jacrev(_reference_fn(build, n))(x), dtype=float)
    m = expected.shape[0]
    assert_close(
        T5,
        f"Jacobian, shape (m, n) = {expected.shape}",
        got,
        expected,
        inputs=inputs,
        hint="row i is the gradient of output i: backward(outs[i]), then the x_j.adj; "
        "reset x_j.adj = 0 before every pass (an input that does not reach "
        "output i keeps the adjoint of the previous pass)"
        " / строка i — градиент выхода i; обнуляйте x_j.adj перед каждым проходом "
        "(иначе вход, не влияющий на выход i, сохранит сопряжённую переменную "
        "прошлого прохода)",
    )
    _count_passes(f, back, 1, m, f"jacrev(f)(x) for m = {m} outputs", inputs)
    x2 = np.asarray(uniform(_g, (n,), 0.5, 2.0), dtype=float)
    _again(
        jacrev,
        jac,
        "jacrev(f)(x)",
        names,
        label,
        x2,
        np.asarray(ri.jacrev(_reference_fn(build, n))(x2), dtype=float),
        got,
        inputs,
    )


@task_check(T5, replaces=("Var", "backward", "topological_order"))
def t3_5(grad: Callable, vjp: Callable, jacrev: Callable) -> None:
    """``grad``, ``vjp`` and ``jacrev`` of small functions, with the counts of passes."""
    for label, build, n in _GRAD_VISIBLE:
        _grad_case(grad, label, build, n, "visible")
    for label, build, n in _JAC_VISIBLE:
        _vjp_case(vjp, label, build, n, "visible")
        _jacrev_case(jacrev, label, build, n, "visible")
