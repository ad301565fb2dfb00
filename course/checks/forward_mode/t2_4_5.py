"""Checks of tasks 2.4 and 2.5 (jvp and jacfwd), graded with the course's dual container
(``DualBox``) and, for 2.5, the course's ``jvp`` (``_reference.course_jvp``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

import reference_impl as ri
import reference_impl.numpy as rnp

from .._core import (
    CallCounter,
    assert_close,
    direction,
    fail,
    is_dual,
    rng,
    student_call,
    substituted,
    task_check,
    uniform,
)
from .._lazy import reference_names
from ..finite_differences._common import Kept, frozen, unchanged
from ._common import T4, T5, DualBox, _reference

#: the course's task 2.4 (None in the student distribution: the student's own is used)
(course_jvp,) = reference_names(__package__, "course_jvp")


# ---------------------------------------------------------------------------------------------
# tasks 2.4 and 2.5: jvp and jacfwd, graded with the course's dual operations
# ---------------------------------------------------------------------------------------------
def _parts(x: Any) -> tuple[np.ndarray, np.ndarray | None, type | None]:
    if is_dual(x):
        return np.asarray(x.value, dtype=float), np.asarray(x.tangent, dtype=float), type(x)
    return np.asarray(x, dtype=float), None, None


def _lift_binary(value_fn: Callable, tangent_fn: Callable) -> Callable[[Any, Any], Any]:
    def op(a: Any, b: Any) -> Any:
        av, at, ac = _parts(a)
        bv, bt, bc = _parts(b)
        value = value_fn(av, bv)
        cls = ac or bc
        if cls is None:
            return value
        at = np.zeros_like(av) if at is None else at
        bt = np.zeros_like(bv) if bt is None else bt
        return cls(value, np.broadcast_to(tangent_fn(av, at, bv, bt), np.shape(value)).copy())

    return op


def _lift_unary(value_fn: Callable, derivative: Callable) -> Callable[[Any], Any]:
    def op(a: Any) -> Any:
        av, at, ac = _parts(a)
        return value_fn(av) if ac is None else ac(value_fn(av), derivative(av) * at)

    return op


def _dual_sum(a: Any, axis: int | None = None) -> Any:
    av, at, ac = _parts(a)
    if ac is None:
        return av.sum(axis=axis)
    assert at is not None  # _parts gives a tangent exactly when it gives a dual class
    return ac(av.sum(axis=axis), at.sum(axis=axis))


#: the operations of the test functions, on any dual type (``type(x)(value, tangent)``)
dual_ops = SimpleNamespace(
    add=_lift_binary(np.add, lambda av, at, bv, bt: at + bt),
    mul=_lift_binary(np.multiply, lambda av, at, bv, bt: at * bv + av * bt),
    matmul=_lift_binary(np.matmul, lambda av, at, bv, bt: at @ bv + av @ bt),
    sin=_lift_unary(np.sin, np.cos),
    exp=_lift_unary(np.exp, np.exp),
    sum=_dual_sum,
)
#: the same operations for reference_impl
reference_ops = SimpleNamespace(
    add=rnp.add, mul=rnp.multiply, matmul=rnp.matmul, sin=rnp.sin, exp=rnp.exp, sum=rnp.sum
)


# test functions: (label, builder(ns, consts) -> f, primal shapes, constant shapes)
Builder = Callable[[SimpleNamespace, list[np.ndarray]], Callable[..., Any]]
_JVP_VISIBLE: list[tuple[str, Builder, list[tuple[int, ...]], list[tuple[int, ...]]]] = [
    ("f(x) = sin(A @ x)", lambda ns, c: lambda x: ns.sin(ns.matmul(c[0], x)), [(3,)], [(2, 3)]),
    ("f(x, y) = x * exp(y)", lambda ns, c: lambda x, y: ns.mul(x, ns.exp(y)), [(3,), (3,)], []),
]


def _jvp_case(
    jvp: Callable,
    label: str,
    build: Builder,
    shapes: Sequence[tuple[int, ...]],
    const_shapes: Sequence[tuple[int, ...]],
    seed: object,
) -> None:
    """``jvp`` of one f at two points (the same f object: what a cache keyed by f returns
    shows), the arguments looked at after each call, the first result kept."""
    g = rng(T4, (label, seed))
    consts = [uniform(g, s) for s in const_shapes]
    f = CallCounter(build(dual_ops, consts))
    kept = Kept(T4)
    for call in ("first", "second"):
        primals = [uniform(g, s, 0.2, 1.5) for s in shapes]
        tangents = [direction(g, s) for s in shapes]
        _jvp_call(jvp, label, f, build(reference_ops, consts), primals, tangents, call, kept)


def _jvp_call(
    jvp: Callable,
    label: str,
    f: CallCounter,
    ref: Callable,
    primals: list,
    tangents: list,
    call: str,
    kept: Kept,
) -> None:
    """One call of ``jvp`` with the counted ``f``: one pass (one call of f, on dual values)."""
    inputs = {"f": label, "primals": tuple(primals), "tangents": tuple(tangents)}
    args = {"primals": tuple(primals), "tangents": tuple(tangents)}
    saved = {k: frozen(v) for k, v in args.items()}
    what = "jvp(f, primals, tangents)" + ("" if call == "first" else " (the same f, new point)")
    calls = f.count
    with substituted(jvp, DualArray=DualBox):
        got = student_call(T4, what, jvp, f, *args.values(), inputs=inputs)
    unchanged(T4, "jvp(f, primals, tangents)", args, saved, inputs)
    passes = f.calls[calls:]
    plain = sum(1 for a, _ in passes if not any(is_dual(x) for x in a))
    if len(passes) != 1 or plain:
        fail(
            T4,
            f"cost exceeded: {what} called f {len(passes)} time(s), {plain} on plain "
            "values; jvp is one forward pass: one call of f on dual values"
            f" / превышена стоимость: {what} вызвала f {len(passes)} раз, из них {plain} "
            "на обычных значениях; jvp — это один проход прямого режима: один вызов f на "
            "дуальных значениях",
            inputs=inputs,
            expected=1,
            obtained=len(passes),
            hint="box every primal with its tangent and call f once: out = f(*duals)"
            " / оберните каждый аргумент с его касательной и вызовите f один раз",
        )
    kept.recheck(what)
    note = "" if call == "first" else " on a second call with the same f (state kept?)"
    expected = _reference(ref, primals, tangents)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(
            T4,
            f"{what} must return a pair (f(*primals), J·tangents)"
            " / jvp должна вернуть пару (f(*primals), J·tangents)",
            inputs=inputs,
            expected=expected,
            obtained=got,
        )
    if is_dual(got[0]) or is_dual(got[1]):
        fail(
            T4,
            "jvp must return plain arrays, not dual values"
            " / jvp должна возвращать обычные массивы, а не дуальные значения",
            inputs=inputs,
            expected=expected,
            obtained=got,
            hint="return out.value, out.tangent / верните out.value, out.tangent",
        )
    assert_close(
        T4,
        f"primal output f(*primals){note}",
        got[0],
        expected[0],
        inputs=inputs,
        hint="the first element is the value of f at the primals"
        " / первый элемент — значение f в точке primals",
    )
    assert_close(
        T4,
        f"tangent output J·v{note}",
        got[1],
        expected[1],
        inputs=inputs,
        hint="box every primal with its own tangent: DualArray(p, t); when f ignores "
        "its inputs the tangent is zero (of the output's shape)"
        " / каждый аргумент берите со своей касательной компонентой: DualArray(p, "
        "t); если f не зависит от входов, касательная компонента нулевая (формы "
        "выхода)",
    )
    kept.keep(what, got)


@task_check(T4, replaces=("DualArray",))
def t2_4(jvp: Callable) -> None:
    """``jvp`` on two small functions (with the course's dual operations)."""
    for label, build, shapes, consts in _JVP_VISIBLE:
        _jvp_case(jvp, label, build, shapes, consts, "visible")


_JAC_VISIBLE: list[tuple[str, Builder, tuple[int, ...], list[tuple[int, ...]]]] = [
    ("f(x) = sin(A @ x)", lambda ns, c: lambda x: ns.sin(ns.matmul(c[0], x)), (3,), [(2, 3)]),
]


def _jacfwd_case(
    jacfwd: Callable,
    label: str,
    build: Builder,
    shape: tuple[int, ...],
    const_shapes: Sequence[tuple[int, ...]],
    seed: object,
) -> None:
    g = rng(T5, (label, seed))
    consts = [uniform(g, s) for s in const_shapes]
    x = uniform(g, shape, 0.2, 1.5)
    inputs = {"f": label, "x": x}
    f = CallCounter(build(dual_ops, consts))
    with substituted(jacfwd, jvp=course_jvp, DualArray=DualBox):
        jac = student_call(T5, "jacfwd(f)", jacfwd, f, inputs=inputs)
        got = student_call(T5, "jacfwd(f)(x)", jac, x, inputs=inputs)
    n = int(np.size(x))
    plain = sum(1 for args, _ in f.calls if not any(is_dual(a) for a in args))
    if plain:
        fail(
            T5,
            f"jacfwd(f)(x) called f {plain} time(s) on plain arrays; every pass must carry "
            "a tangent (forward mode, not finite differences)"
            f" / jacfwd(f)(x) вызвала f {plain} раз на обычных массивах; каждый проход "
            "должен нести касательную компоненту (прямой режим, а не конечные разности)",
            inputs=inputs,
            show_values=False,
            hint="evaluate f only through jvp / вычисляйте f только через jvp",
        )
    expected = np.asarray(ri.jacfwd(build(reference_ops, consts))(x), dtype=float)
    assert_close(
        T5,
        "Jacobian (shape f(x).shape + x.shape)",
        got,
        expected,
        inputs=inputs,
        hint="column k of the Jacobian is jvp(f, (x,), (e_k,)) for the k-th basis "
        "vector e_k (of x's shape); stack the columns along the last axes"
        " / столбец k матрицы Якоби — jvp(f, (x,), (e_k,)) для k-го базисного "
        "вектора e_k (формы x); соберите столбцы по последним осям",
    )
    if f.count != n:
        fail(
            T5,
            f"jacfwd(f)(x) evaluated f {f.count} times for an input of size n = {n}; "
            f"forward mode needs exactly one pass per input direction, i.e. {n}"
            f" / jacfwd(f)(x) вычислила f {f.count} раз при размере входа n = {n}; в прямом "
            f"режиме нужен ровно один проход на направление, т. е. {n}",
            inputs=inputs,
            expected=n,
            obtained=f.count,
            hint="take the output's shape from the first pass instead of an extra call of f"
            " / берите форму выхода из первого прохода, а не из лишнего вызова f",
        )
    # used as code is used: a second jacfwd of another function made and called in between,
    # then the first returned function at a second point, the first result kept
    kept = np.array(got, dtype=float, copy=True)
    x2 = uniform(g, shape, 0.2, 1.5)
    with substituted(jacfwd, jvp=course_jvp, DualArray=DualBox):
        other = student_call(T5, "jacfwd(exp)", jacfwd, dual_ops.exp, inputs=inputs)
        got_other = student_call(T5, "jacfwd(exp)(x2)", other, x2, inputs=inputs)
    assert_close(
        T5,
        "Jacobian of exp made by a second jacfwd while the first one's function is alive",
        got_other,
        np.asarray(ri.jacfwd(rnp.exp)(x2), dtype=float),
        inputs={"f": "exp", "x": x2},
    )
    inputs2 = {"f": label, "x (second call of the same jacobian)": x2}
    with substituted(jacfwd, jvp=course_jvp, DualArray=DualBox):
        got2 = student_call(
            T5, "jac = jacfwd(f); jac(x); jacfwd(exp)(x2); jac(x2)", jac, x2, inputs=inputs2
        )
    expected2 = np.asarray(ri.jacfwd(build(reference_ops, consts))(x2), dtype=float)
    assert_close(
        T5,
        "Jacobian on the second call of the same jacfwd(f), after another jacfwd was made and "
        "used (state kept between calls?)",
        got2,
        expected2,
        inputs=inputs2,
        hint="the function jacfwd returns must work every time it is called, at any x:"
        " keep no state from one call to the next / функция, которую возвращает "
        "jacfwd, должна работать при каждом вызове и в любой точке x: не храните "
        "состояние между вызовами",
    )
    if not np.array_equal(np.asarray(got, dtype=float), kept):
        fail(
            T5,
            "the Jacobian returned by the first call changed when the function was called "
            "again: it shares memory with the function's state / матрица Якоби первого "
            "вызова изменилась при следующем вызове: она разделяет память с состоянием "
            "функции",
            inputs=inputs,
            show_values=False,
            hint="return a new array on every call / возвращайте новый массив при каждом вызове",
        )


@task_check(T5, replaces=("jvp", "DualArray"))
def t2_5(jacfwd: Callable) -> None:
    """The Jacobian of a small function, and the number of passes."""
    for label, build, shape, consts in _JAC_VISIBLE:
        _jacfwd_case(jacfwd, label, build, shape, consts, "visible")
