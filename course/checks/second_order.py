"""Checks of assignment 05, second order and memory: Hessian-vector products in two modes, the
Hessian from HVPs, Hutchinson's trace estimator on a counted matvec budget, and the reverse pass
of a chain x_{k+1} = tanh(W_k x_k) storing every state or only every ⌈√n⌉-th one.

The students may not use ``reference_impl`` (nor anything from ``course``) in their solutions, so
this module also gives them a small AD toolkit of its own, :func:`jvp`, :func:`vjp` and
:func:`grad` — first-order forward and reverse mode (what they built in assignments 2 and 3),
**not** the reference implementation. Traced values follow NumPy's ufuncs and operators
(``__array_ufunc__``), so a gradient written in plain NumPy can itself be differentiated. The
notebook imports these three names; the checks pass ``replaces=("jvp", "vjp", "grad")`` so that
:func:`~._core.forbid_reference` does not follow them.

What the checks count instead of timing:

* HVPs: calls of ``grad_f`` (exactly one per product, carrying a tangent or a tape variable);
* the Hessian: calls of ``hvp`` (exactly n);
* Hutchinson: matvecs (exactly the budget), and the probes themselves;
* the chain: calls of ``step`` and ``step_vjp``, the states returned by ``step`` that are still
  alive (weak references, sampled at every call) and the peak of traced memory (tracemalloc).

Every expected value comes from ``reference_impl`` (``second_order.hvp``, ``hessian``, ``vjp``).
"""

from __future__ import annotations

import contextlib
import math
import tracemalloc
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.second_order import hvp as reference_hvp

from ._core import (
    CallCounter,
    Task,
    assert_close,
    diagnose,
    direction,
    fail,
    is_dual,
    rng,
    student_call,
    substituted,
    task_check,
    topological_order,
    uniform,
)

TASKS = {
    "t5_1": Task("t5_1", "hvp", "Hessian-vector products", "произведение гессиана на вектор", 20),
    "t5_2": Task("t5_2", "hessian", "the Hessian from HVPs", "гессиан из произведений на вектор",
                 15),
    "t5_3": Task("t5_3", "hutchinson", "Hutchinson's trace estimator", "оценка Хатчинсона", 25),
    "t5_4": Task("t5_4", "chain-vjp", "reverse pass of a chain", "обратный проход по цепочке",
                 10),
    "t5_5": Task("t5_5", "sqrt-checkpointing", "√n checkpointing",
                 "контрольные точки по стратегии √n", 30),
}
T1, T2, T3, T4, T5 = TASKS.values()
TOOLKIT = ("jvp", "vjp", "grad")

__all__ = ["TASKS", "grad", "hidden_t5_1", "hidden_t5_2", "hidden_t5_3", "hidden_t5_4",
           "hidden_t5_5", "jvp", "t5_1", "t5_2", "t5_3", "t5_4", "t5_5", "tanh_chain", "vjp"]


# =============================================================================================
# the students' toolkit: first-order forward and reverse mode through NumPy's ufuncs
# =============================================================================================
def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added to an operand of ``shape``."""
    g = np.asarray(g, dtype=float)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for ax, size in enumerate(shape):
        if size == 1 and g.shape[ax] != 1:
            g = g.sum(axis=ax, keepdims=True)
    return g


def _matmul_vjp(ct: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cotangents of ``a @ b`` for 1-D and 2-D operands."""
    if a.ndim > 2 or b.ndim > 2:
        raise TypeError("the course's toolkit supports @ of vectors and matrices only")
    a2 = a if a.ndim == 2 else a[None, :]
    b2 = b if b.ndim == 2 else b[:, None]
    ct2 = np.reshape(ct, (a2.shape[0], b2.shape[1]))
    return (ct2 @ b2.T).reshape(a.shape), (a2.T @ ct2).reshape(b.shape)


# name: (arity, jvp(out, args, dots) -> tangent, vjp(ct, out, args) -> cotangents of args)
Rule = tuple[int, Callable[..., Any], Callable[..., Any]]
_RULES: dict[str, Rule] = {
    "add": (2, lambda o, a, d: d[0] + d[1], lambda ct, o, a: (ct, ct)),
    "subtract": (2, lambda o, a, d: d[0] - d[1], lambda ct, o, a: (ct, -ct)),
    "multiply": (2, lambda o, a, d: d[0] * a[1] + a[0] * d[1],
                 lambda ct, o, a: (ct * a[1], ct * a[0])),
    "divide": (2, lambda o, a, d: d[0] / a[1] - o * d[1] / a[1],
               lambda ct, o, a: (ct / a[1], -ct * o / a[1])),
    "matmul": (2, lambda o, a, d: d[0] @ a[1] + a[0] @ d[1],
               lambda ct, o, a: _matmul_vjp(ct, a[0], a[1])),
    "negative": (1, lambda o, a, d: -d[0], lambda ct, o, a: (-ct,)),
    "positive": (1, lambda o, a, d: d[0], lambda ct, o, a: (ct,)),
    "tanh": (1, lambda o, a, d: (1 - o**2) * d[0], lambda ct, o, a: (ct * (1 - o**2),)),
    "exp": (1, lambda o, a, d: o * d[0], lambda ct, o, a: (ct * o,)),
    "log": (1, lambda o, a, d: d[0] / a[0], lambda ct, o, a: (ct / a[0],)),
    "log1p": (1, lambda o, a, d: d[0] / (1 + a[0]), lambda ct, o, a: (ct / (1 + a[0]),)),
    "sin": (1, lambda o, a, d: np.cos(a[0]) * d[0], lambda ct, o, a: (ct * np.cos(a[0]),)),
    "cos": (1, lambda o, a, d: -np.sin(a[0]) * d[0], lambda ct, o, a: (-ct * np.sin(a[0]),)),
    "sqrt": (1, lambda o, a, d: d[0] / (2 * o), lambda ct, o, a: (ct / (2 * o),)),
    "square": (1, lambda o, a, d: 2 * a[0] * d[0], lambda ct, o, a: (2 * ct * a[0],)),
}
_SUPPORTED = ("+ - * / @ ** (by a constant), unary minus, np.tanh, np.exp, np.log, np.log1p, "
              "np.sin, np.cos, np.sqrt, np.square, np.sum / .sum(axis), np.dot, np.vdot, .T, "
              ".reshape")


class Traced(NDArrayOperatorsMixin):
    """A value followed through NumPy code: ufuncs and operators land in :meth:`_apply`."""

    mode = "traced"

    def __init__(self, value: Any):
        self.value = np.asarray(value, dtype=float)

    # -- NumPy protocol ----------------------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        name = ufunc.__name__
        if method != "__call__" or kwargs:
            raise TypeError(f"{self.mode}: np.{name}.{method} with {sorted(kwargs)} is not "
                            f"supported; use {_SUPPORTED}")
        if name == "power":
            base, p = inputs
            if isinstance(p, Traced) or not np.isscalar(p):
                raise TypeError(f"{self.mode}: only x ** c with a constant number c is supported")
            return self._unary(np.power(base.value, p), base, lambda o, a: p * a ** (p - 1))
        if name not in _RULES:
            raise TypeError(f"{self.mode}: np.{name} is not supported; use {_SUPPORTED}")
        if _RULES[name][0] != len(inputs):
            raise TypeError(f"{self.mode}: np.{name} with {len(inputs)} arguments")
        kinds = {type(x) for x in inputs if isinstance(x, Traced)}
        if len(kinds) > 1:
            raise TypeError("the course's toolkit does not nest forward and reverse mode")
        return self._apply(name, inputs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func is np.sum:
            return args[0].sum(*args[1:], **kwargs) if isinstance(args[0], Traced) else \
                NotImplemented
        if func in (np.dot, np.matmul):
            return np.matmul(*args)
        if func is np.vdot:
            return (args[0].reshape(-1) * args[1].reshape(-1)).sum()
        if func is np.transpose and isinstance(args[0], Traced) and not args[1:] and not kwargs:
            return args[0].T
        if func is np.reshape and isinstance(args[0], Traced):
            return args[0].reshape(*args[1:], **kwargs)
        raise TypeError(f"{self.mode}: {func.__name__} is not supported; use {_SUPPORTED}")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(f"a {self.mode} value cannot become a plain array: the derivative would "
                        f"be lost; compute with {_SUPPORTED}")

    def __float__(self) -> float:
        raise TypeError(f"float() of a {self.mode} value would lose its derivative")

    def __bool__(self) -> bool:
        raise TypeError(f"a {self.mode} value has no truth value (no branching on it)")

    # -- arrays ------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    def __len__(self) -> int:
        return len(self.value)

    @property
    def T(self) -> Traced:
        return self._linear(self.value.T, lambda t: t.T, lambda ct: ct.T)

    def reshape(self, *shape: Any) -> Traced:
        old = self.value.shape
        new = self.value.reshape(*shape)
        return self._linear(new, lambda t: t.reshape(new.shape), lambda ct: ct.reshape(old))

    def sum(self, axis: int | tuple[int, ...] | None = None, dtype: Any = None, out: Any = None,
            keepdims: bool = False, **kwargs: Any) -> Traced:
        if out is not None or kwargs:
            raise TypeError(f"{self.mode}: sum(out=…, where=…) is not supported")
        shape = self.value.shape
        total = self.value.sum(axis=axis, keepdims=keepdims)
        kept = self.value.sum(axis=axis, keepdims=True).shape

        def back(ct: np.ndarray) -> np.ndarray:
            return np.broadcast_to(np.reshape(ct, kept), shape).copy()

        return self._linear(total, lambda t: t.sum(axis=axis, keepdims=keepdims), back)

    # -- implemented by the two modes --------------------------------------------------------
    def _apply(self, name: str, inputs: Sequence[Any]) -> Traced:
        raise NotImplementedError

    def _unary(self, out: np.ndarray, x: Traced, derivative: Callable[..., Any]) -> Traced:
        raise NotImplementedError

    def _linear(self, out: np.ndarray, forward: Callable[[np.ndarray], np.ndarray],
                backward: Callable[[np.ndarray], np.ndarray]) -> Traced:
        raise NotImplementedError


def _plain(x: Any) -> np.ndarray:
    return x.value if isinstance(x, Traced) else np.asarray(x, dtype=float)


class Dual(Traced):
    """Forward mode: a value and its tangent (one directional derivative), arrays of one shape."""

    mode = "forward-mode (jvp)"

    def __init__(self, value: Any, tangent: Any = None):
        super().__init__(value)
        self.tangent = (np.zeros_like(self.value) if tangent is None
                        else np.broadcast_to(np.asarray(tangent, dtype=float),
                                             self.value.shape).copy())

    def __repr__(self) -> str:
        return f"Dual(value={self.value!r}, tangent={self.tangent!r})"

    def _apply(self, name: str, inputs: Sequence[Any]) -> Dual:
        args = [_plain(x) for x in inputs]
        dots = [x.tangent if isinstance(x, Dual) else np.zeros_like(a)
                for x, a in zip(inputs, args, strict=True)]
        out = getattr(np, name)(*args)
        return Dual(out, np.broadcast_to(_RULES[name][1](out, args, dots), np.shape(out)))

    def _unary(self, out: np.ndarray, x: Traced, derivative: Callable[..., Any]) -> Dual:
        return Dual(out, derivative(out, x.value) * x.tangent)

    def _linear(self, out: np.ndarray, forward: Callable[[np.ndarray], np.ndarray],
                backward: Callable[[np.ndarray], np.ndarray]) -> Dual:
        return Dual(out, forward(self.tangent))


class Var(Traced):
    """Reverse mode: a value recorded on a tape (its parents and how to pull a cotangent back)."""

    mode = "reverse-mode (vjp/grad)"

    def __init__(self, value: Any, parents: Sequence[tuple[Var, Callable[..., Any]]] = ()):
        super().__init__(value)
        self.parents = list(parents)

    def __repr__(self) -> str:
        return f"Var(value={self.value!r})"

    def _apply(self, name: str, inputs: Sequence[Any]) -> Var:
        args = [_plain(x) for x in inputs]
        out = np.asarray(getattr(np, name)(*args), dtype=float)
        rule = _RULES[name][2]
        parents = []
        for i, x in enumerate(inputs):
            if isinstance(x, Var):
                def back(ct: np.ndarray, i: int = i, shape: tuple[int, ...] = args[i].shape
                         ) -> np.ndarray:
                    return _unbroadcast(rule(ct, out, args)[i], shape)
                parents.append((x, back))
        return Var(out, parents)

    def _unary(self, out: np.ndarray, x: Traced, derivative: Callable[..., Any]) -> Var:
        xv = x.value
        return Var(out, [(x, lambda ct: ct * derivative(out, xv))])

    def _linear(self, out: np.ndarray, forward: Callable[[np.ndarray], np.ndarray],
                backward: Callable[[np.ndarray], np.ndarray]) -> Var:
        return Var(out, [(self, backward)])


def _backward(out: Var, ct: np.ndarray) -> dict[int, np.ndarray]:
    """Cotangents of every node that ``out`` depends on (topological order, ``+=``)."""
    order = topological_order(out, lambda node: [p for p, _ in node.parents])
    cts = {id(out): np.asarray(ct, dtype=float)}
    for node in reversed(order):
        g = cts.get(id(node))
        if g is None:
            continue
        for parent, back in node.parents:
            contribution = back(g)
            cts[id(parent)] = cts[id(parent)] + contribution if id(parent) in cts \
                else contribution
    return cts


def jvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]
        ) -> tuple[np.ndarray, np.ndarray]:
    """``(fun(*primals), J·tangents)``: one forward-mode pass (as ``jax.jvp``).

    ``fun`` is NumPy code; it sees :class:`Dual` values.
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp(fun, primals, tangents) takes tuples, as in JAX: jvp(f, (x,), (v,))")
    duals = []
    for p, t in zip(primals, tangents, strict=True):
        p, t = np.asarray(p, dtype=float), np.asarray(t, dtype=float)
        if p.shape != t.shape:
            raise ValueError(f"jvp: a primal of shape {p.shape} with a tangent of shape "
                             f"{t.shape}")
        duals.append(Dual(p, t))
    out = fun(*duals)
    if isinstance(out, Dual):
        return out.value, out.tangent
    out = np.asarray(out, dtype=float)
    return out, np.zeros_like(out)


def vjp(fun: Callable[..., Any], *primals: Any
        ) -> tuple[np.ndarray, Callable[[Any], tuple[np.ndarray, ...]]]:
    """``(fun(*primals), pullback)`` with ``pullback(u) = (uᵀ ∂fun/∂x₁, …)``: reverse mode (as
    ``jax.vjp``). ``fun`` is NumPy code; it sees :class:`Var` values on a tape."""
    xs = [Var(np.asarray(p, dtype=float)) for p in primals]
    out = fun(*xs)
    value = out.value if isinstance(out, Var) else np.asarray(out, dtype=float)

    def pullback(u: Any) -> tuple[np.ndarray, ...]:
        u = np.asarray(u, dtype=float)
        if u.shape != value.shape:
            raise ValueError(f"pullback: cotangent of shape {u.shape} for an output of shape "
                             f"{value.shape}")
        cts = _backward(out, u) if isinstance(out, Var) else {}
        return tuple(cts.get(id(x), np.zeros_like(x.value)) for x in xs)

    return value, pullback


def grad(fun: Callable[..., Any]) -> Callable[[Any], np.ndarray]:
    """The gradient of a scalar ``fun`` with respect to its (first) argument: ``vjp`` with 1."""

    def gradient(x: Any, *rest: Any) -> np.ndarray:
        out, pullback = vjp(lambda y: fun(y, *rest), x)
        if np.shape(out) != ():
            raise TypeError(f"grad needs a scalar function; this one returns shape "
                            f"{np.shape(out)}")
        return pullback(1.0)[0]

    return gradient


# =============================================================================================
# task 5.1: HVPs, forward-over-reverse and reverse-over-reverse
# =============================================================================================
# (label, f with reference_impl.numpy, ∇f in plain NumPy, x's shape, shapes of the constants)
HvpCase = tuple[str, Callable[..., Any], Callable[..., Any], tuple[int, ...],
                list[tuple[int, ...]]]


def _tanh_ls(c: list[np.ndarray]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    A, b = c

    def f(x: Any) -> Any:
        return 0.5 * rnp.sum((rnp.tanh(A @ x) - b) ** 2)

    def grad_f(x: Any) -> Any:
        t = np.tanh(A @ x)
        return A.T @ ((1 - t**2) * (t - b))

    return f, grad_f


def _logistic(c: list[np.ndarray]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    A, lam = c[0], 0.3

    def f(x: Any) -> Any:
        return rnp.sum(rnp.log(1 + rnp.exp(A @ x))) + 0.5 * lam * rnp.sum(x * x)

    def grad_f(x: Any) -> Any:
        return A.T @ (1 / (1 + np.exp(-(A @ x)))) + lam * x

    return f, grad_f


def _matrix_tanh(c: list[np.ndarray]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    (W,) = c

    def f(X: Any) -> Any:
        return 0.5 * rnp.sum(rnp.tanh(X @ W) ** 2)

    def grad_f(X: Any) -> Any:
        t = np.tanh(X @ W)
        return ((1 - t**2) * t) @ W.T

    return f, grad_f


def _quartic(c: list[np.ndarray]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    (B,) = c
    S = 0.5 * (B + B.T)

    def f(x: Any) -> Any:
        return 0.25 * (x @ (S @ x)) ** 2

    def grad_f(x: Any) -> Any:
        Sx = S @ x
        return (x @ Sx) * Sx

    return f, grad_f


def _sin_exp(c: list[np.ndarray]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    (a,) = c

    def f(x: Any) -> Any:
        return rnp.sum(rnp.sin(x) * rnp.exp(a * x))

    def grad_f(x: Any) -> Any:
        e = np.exp(a * x)
        return np.cos(x) * e + a * np.sin(x) * e

    return f, grad_f


Builder = Callable[[list[np.ndarray]], tuple[Callable[[Any], Any], Callable[[Any], Any]]]
_HVP_VISIBLE: list[tuple[str, Builder, tuple[int, ...], list[tuple[int, ...]]]] = [
    ("f(x) = ½‖tanh(Ax) − b‖²", _tanh_ls, (4,), [(3, 4), (3,)]),
]
_HVP_HIDDEN: list[tuple[str, Builder, tuple[int, ...], list[tuple[int, ...]]]] = [
    ("f(x) = ½‖tanh(Ax) − b‖²", _tanh_ls, (7,), [(5, 7), (5,)]),
    ("f(x) = Σ log(1 + exp(Ax)) + 0.15‖x‖²", _logistic, (6,), [(9, 6)]),
    ("f(X) = ½‖tanh(XW)‖² for a matrix X", _matrix_tanh, (3, 4), [(4, 2)]),
    ("f(x) = ¼(xᵀSx)²", _quartic, (5,), [(5, 5)]),
    ("f(x) = Σ sin(xᵢ)·exp(aᵢxᵢ)", _sin_exp, (8,), [(8,)]),
]


class _GradCalls(CallCounter):
    """``grad_f`` counting its calls by the kind of argument: dual, tape variable, plain."""

    def kinds(self) -> list[str]:
        out = []
        for args, _ in self.calls:
            x = args[0] if args else None
            out.append("dual" if is_dual(x) else "plain" if isinstance(x, (np.ndarray, float,
                                                                            int)) else "tape")
        return out


_MODES = {
    "fwd": ("hvp_fwd_over_rev", "dual",
            "push the tangent v forward through the gradient code: jvp(grad_f, (x,), (v,))[1]"),
    "rev": ("hvp_rev_over_rev", "tape",
            "differentiate the scalar x ↦ ∇f(x)·v in reverse mode: "
            "grad(lambda y: np.sum(grad_f(y) * v))(x)"),
}


def _hvp_case(fn: Callable, mode: str, label: str, build: Builder, shape: tuple[int, ...],
              const_shapes: Sequence[tuple[int, ...]], seed: object) -> None:
    name, kind, hint = _MODES[mode]
    g = rng(T1, (label, seed))
    consts = [uniform(g, s, -1.0, 1.0) for s in const_shapes]
    x, v = uniform(g, shape, -1.0, 1.0), direction(g, shape)
    f_ref, grad_np = build(consts)
    grad_f = _GradCalls(grad_np)
    inputs = {"f": label, "x": x, "v": v}
    got = student_call(T1, f"{name}(grad_f, x, v)", fn, grad_f, x.copy(), v.copy(),
                       inputs=inputs, hint=hint)
    kinds = grad_f.kinds()
    if "plain" in kinds:
        fail(T1, f"{name} called grad_f {kinds.count('plain')} time(s) on plain arrays: "
                 "finite differences of the gradient are inexact, and an HVP needs no "
                 "evaluation of ∇f on a plain array", inputs=inputs, show_values=False, hint=hint)
    if len(kinds) != 1:
        fail(T1, f"{name} called grad_f {len(kinds)} times; one HVP costs a constant number of "
                 "gradient-sized passes: exactly one call of grad_f, carrying the direction v",
             inputs=inputs, expected=1, obtained=len(kinds), hint=hint)
    if kinds[0] != kind:
        other = "forward mode (jvp)" if kind == "tape" else "reverse mode (grad/vjp)"
        fail(T1, f"{name} differentiated grad_f in {other}; this function is the other "
                 "composition of the modes", inputs=inputs, show_values=False, hint=hint)
    if isinstance(got, Traced) or is_dual(got):
        fail(T1, f"{name} must return a plain array, not a traced value", inputs=inputs,
             expected="np.ndarray", obtained=type(got).__name__, hint=hint)
    expected = np.asarray(reference_hvp(f_ref, x, v), dtype=float)
    o = np.asarray(got, dtype=float) if isinstance(got, np.ndarray) else None
    if o is not None and o.shape == x.shape and not np.allclose(o, expected):
        if np.allclose(o, grad_np(x)):
            hint = "that is ∇f(x), the value of grad_f; the HVP is the tangent (derivative)"
        elif np.allclose(o, reference_hvp(f_ref, x, np.ones_like(x))):
            hint = "that is ∇²f(x)·1: the direction v is missing (∇f(x)·v, not Σ ∇f(x))"
    assert_close(T1, f"∇²f(x)·v from {name}", got, expected, inputs=inputs, hint=hint)


@task_check(T1, replaces=TOOLKIT)
def t5_1(hvp_fwd_over_rev: Callable, hvp_rev_over_rev: Callable) -> None:
    """Both compositions on the notebook's kind of function, against ``second_order.hvp``."""
    for label, build, shape, consts in _HVP_VISIBLE:
        _hvp_case(hvp_fwd_over_rev, "fwd", label, build, shape, consts, "visible")
        _hvp_case(hvp_rev_over_rev, "rev", label, build, shape, consts, "visible")


@task_check(T1, hidden=True, replaces=TOOLKIT)
def hidden_t5_1(hvp_fwd_over_rev: Callable, hvp_rev_over_rev: Callable) -> None:
    """Other functions and sizes, a matrix argument; one call of grad_f per HVP."""
    for label, build, shape, consts in _HVP_HIDDEN:
        _hvp_case(hvp_fwd_over_rev, "fwd", label, build, shape, consts, "hidden")
        _hvp_case(hvp_rev_over_rev, "rev", label, build, shape, consts, "hidden")


# =============================================================================================
# task 5.2: the Hessian column by column
# =============================================================================================
class _Operator:
    """``v ↦ M v`` for v of shape ``shape`` (M is n×n, n = prod(shape)); counts its calls."""

    def __init__(self, M: np.ndarray, shape: tuple[int, ...]):
        self.M, self.shape = M, shape
        self.args: list[np.ndarray] = []

    def __call__(self, v: Any) -> np.ndarray:
        if isinstance(v, Traced) or is_dual(v):
            raise TypeError("hvp(v) takes a plain array")
        v = np.asarray(v, dtype=float)
        if v.shape != self.shape:
            raise ValueError(f"hvp(v) takes v of x's shape {self.shape}, got shape {v.shape}")
        self.args.append(v.copy())
        return (self.M @ v.reshape(-1)).reshape(self.shape)

    @property
    def calls(self) -> int:
        return len(self.args)

    def basis(self) -> bool:
        """Whether every argument was a basis vector e_j (of x's shape)."""
        return all(np.count_nonzero(a) == 1 and a.sum() == 1.0 for a in self.args)


def _hessian_case(hessian_from_hvp: Callable, label: str, M: np.ndarray,
                  x: np.ndarray, hint: str) -> None:
    op = _Operator(M, x.shape)
    inputs = {"hvp": label, "x": x}
    got = student_call(T2, "hessian_from_hvp(hvp, x)", hessian_from_hvp, op, x.copy(),
                       inputs=inputs)
    expected = M.reshape(x.shape + x.shape)
    if not op.basis():
        bad = next(a for a in op.args if not (np.count_nonzero(a) == 1 and a.sum() == 1.0))
        hint = (f"hvp was called with vectors that are not the basis vectors e_j (e.g. "
                f"{np.round(bad, 4).tolist()}); column j is hvp(e_j), e_j has a single 1")
    assert_close(T2, f"Hessian (shape x.shape + x.shape = {x.shape + x.shape})", got, expected,
                 inputs=inputs, hint=hint)
    if op.calls != x.size:
        fail(T2, f"hessian_from_hvp made {op.calls} HVPs for x of size n = {x.size}; the "
                 f"Hessian needs exactly n = {x.size}, one per column", inputs=inputs,
             expected=x.size, obtained=op.calls,
             hint="column j is hvp(e_j); take the shape from x, not from an extra product")


_COLUMN_HINT = "column j of the matrix is hvp(e_j): H[:, j] = hvp(e_j), not the row H[j, :]"


def _hessian_of(label: str, build: Builder, shape: tuple[int, ...],
                const_shapes: Sequence[tuple[int, ...]], seed: object
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


@task_check(T2, hidden=True)
def hidden_t5_2(hessian_from_hvp: Callable) -> None:
    """Other sizes, a matrix x (4-D result), n = 1, and a non-symmetric linear map."""
    H, x = _hessian_of("logistic", _logistic, (6,), [(8, 6)], "hidden")
    _hessian_case(hessian_from_hvp, "v ↦ ∇²f(x)v, f(x) = Σ log(1 + exp(Ax)) + 0.15‖x‖²", H, x,
                  _COLUMN_HINT)
    H, x = _hessian_of("matrix", _matrix_tanh, (2, 3), [(3, 2)], "hidden")
    _hessian_case(hessian_from_hvp, "v ↦ ∇²f(X)v, f(X) = ½‖tanh(XW)‖², X of shape (2, 3)", H, x,
                  "H[i, j, k, l] = ∂²f/∂X_ij∂X_kl: use unit matrices E_kl of X's shape and "
                  "reshape the result to x.shape + x.shape")
    g = rng(T2, "scalar")
    x1 = uniform(g, (1,))
    _hessian_case(hessian_from_hvp, "v ↦ 2.5·v (n = 1)", np.array([[2.5]]), x1, _COLUMN_HINT)
    M = uniform(g, (5, 5))
    _hessian_case(hessian_from_hvp, "v ↦ Mv, a non-symmetric M (any linear map)", M,
                  uniform(g, (5,)), _COLUMN_HINT)


# =============================================================================================
# task 5.3: Hutchinson's estimator
# =============================================================================================
class _Matvec:
    """``v ↦ X v`` that records every probe and product, with a budget (never refuses)."""

    def __init__(self, X: np.ndarray):
        self.X, self.n = X, X.shape[0]
        self.probes: list[np.ndarray] = []
        self.products: list[np.ndarray] = []

    def __call__(self, v: Any) -> np.ndarray:
        if isinstance(v, Traced) or is_dual(v):
            raise TypeError("matvec(v) takes a plain array")
        v = np.asarray(v, dtype=float)
        if v.shape != (self.n,):
            raise ValueError(f"matvec(v) multiplies one vector of shape ({self.n},); got shape "
                             f"{v.shape}")
        Xv = self.X @ v
        self.probes.append(v.copy())
        self.products.append(Xv.copy())
        return Xv

    @property
    def count(self) -> int:
        return len(self.probes)


def _sym(g: np.random.Generator, n: int, diag: float = 1.0, off: float = 0.4) -> np.ndarray:
    """A random symmetric matrix with diagonal entries of scale ``diag``, off-diagonal ``off``."""
    B = g.normal(scale=off, size=(n, n))
    X = 0.5 * (B + B.T)
    X[np.diag_indices(n)] = g.normal(loc=diag, scale=diag, size=n)
    return X


def rademacher_variance(X: np.ndarray) -> float:
    """Variance of one Rademacher sample vᵀXv: 2(‖X‖_F² − Σ X_ii²) (X symmetric)."""
    return float(2 * (np.sum(X**2) - np.sum(np.diag(X) ** 2)))


def _pair(got: Any, inputs: dict[str, Any]) -> tuple[float, float]:
    try:
        est, se = (float(np.asarray(a, dtype=float)) for a in got)
    except (TypeError, ValueError):
        fail(T3, "hutchinson must return a pair of numbers (estimate, stderr)", inputs=inputs,
             expected="(estimate, stderr)", obtained=got)
    return est, se


def _probe_problems(probes: Sequence[np.ndarray]) -> str | None:
    P = np.array(probes)
    if not np.all(np.isfinite(P)):
        return "a probe contains nan or inf"
    values = np.unique(P)
    if not set(values.tolist()) <= {-1.0, 1.0}:
        shown = values[:6].tolist()
        if set(values.tolist()) <= {0.0, 1.0}:
            return (f"the probes' entries are {shown}: 0/1 entries have E[vvᵀ] ≠ I; map them to "
                    "±1 (2·b − 1)")
        return (f"the probes' entries are not ±1 (e.g. {np.round(shown, 4).tolist()}): these "
                "are not Rademacher probes (Gaussian probes have the larger variance 2‖X‖_F²)")
    if len(probes) > 1 and np.all(P == P[0]) and P[0].size * (len(probes) - 1) >= 30:
        # (independent probes coincide with probability 2^(−n(V−1)): flag only the impossible)
        if np.all(P[0] == 1.0):
            return "every probe is the all-ones vector: its vᵀXv is the sum of all entries of X"
        return (f"all {len(probes)} probes are the same vector: draw a fresh probe for every "
                "matvec, or the samples are not independent")
    return None


def _hutchinson_case(hutchinson: Callable, X: np.ndarray, V: int, seed: int) -> None:
    n = X.shape[0]
    op = _Matvec(X)
    inputs = {"X": X, "n": n, "num_probes": V, "rng": f"np.random.default_rng({seed})"}
    got = student_call(T3, "hutchinson(matvec, n, num_probes, rng)", hutchinson, op, n, V,
                       np.random.default_rng(seed), inputs=inputs)
    est, se = _pair(got, inputs)
    if op.count != V:
        fail(T3, f"hutchinson used {op.count} matvecs for a budget of num_probes = {V}; the "
                 "budget must be spent exactly: one matvec per probe", inputs=inputs,
             expected=V, obtained=op.count,
             hint="draw V probes and call matvec once for each; compute nothing else with X")
    problem = _probe_problems(op.probes)
    if problem:
        fail(T3, "the probes are not independent Rademacher vectors: " + problem,
             inputs=inputs, show_values=False,
             hint="v = rng.choice([-1.0, 1.0], size=n) for each probe (E[vvᵀ] = I)")
    samples = np.array([p @ q for p, q in zip(op.probes, op.products, strict=True)])
    expected = float(np.mean(samples))
    if not np.isclose(est, expected, rtol=1e-9, atol=1e-12):
        diag = diagnose(est, expected, 1e-9, 1e-12)
        hint = "the estimate is the mean (1/V) Σ v_iᵀ X v_i over the probes you multiplied"
        if abs(est - V * expected) <= 1e-9 * abs(V * expected):
            hint = f"off by the factor V = {V}: divide the sum by V (the mean, not the sum)"
        fail(T3, "estimate ≠ (1/V) Σ v_iᵀ X v_i for the probes passed to matvec", inputs=inputs,
             expected=expected, obtained=est, diagnosis=diag, hint=hint)
    expected_se = float(np.std(samples, ddof=1) / np.sqrt(V))
    if not np.isclose(se, expected_se, rtol=1e-9, atol=1e-12):
        ratio = se / expected_se if expected_se else float("nan")
        hint = "stderr = s/√V, s = np.std(samples, ddof=1), the samples being v_iᵀ X v_i"
        if np.isclose(ratio, np.sqrt((V - 1) / V), rtol=1e-9):
            hint = "the sample standard deviation divides by V − 1 (ddof=1), not by V"
        elif np.isclose(ratio, np.sqrt(V), rtol=1e-9):
            hint = "that is the standard deviation of one sample: divide by √V"
        elif np.isclose(se, expected_se**2 * V, rtol=1e-9):
            hint = "that is the variance of one sample: take the square root, divide by √V"
        fail(T3, "standard error of the estimate", inputs=inputs, expected=expected_se,
             obtained=se, diagnosis=diagnose(se, expected_se, 1e-9, 1e-12), hint=hint)


def _determinism(hutchinson: Callable, X: np.ndarray, V: int) -> None:
    n = X.shape[0]
    runs = [_pair(student_call(T3, "hutchinson", hutchinson, _Matvec(X), n, V,
                               np.random.default_rng(s)), {})[0] for s in (11, 11, 12)]
    inputs = {"X": X, "num_probes": V, "rng": "default_rng(11), default_rng(11), default_rng(12)"}
    if runs[0] != runs[1] or runs[0] == runs[2]:
        fail(T3, "the random numbers must all come from the rng argument: the same seed must "
                 "give the same estimate and another seed another one", inputs=inputs,
             expected="equal, equal, different", obtained=runs,
             hint="use rng.choice / rng.integers…, not np.random.… nor a generator of your own")


def _statistics(hutchinson: Callable, X: np.ndarray, V: int, reps: int, seed: int) -> None:
    """Unbiasedness and variance over ``reps`` runs, within ~4.5 standard errors."""
    n = X.shape[0]
    gen = np.random.default_rng(seed)
    ops = [_Matvec(X) for _ in range(reps)]

    def run() -> list[Any]:
        return [hutchinson(op, n, V, gen) for op in ops]

    outs = student_call(T3, "hutchinson (repeated)", run)
    est = np.array([_pair(o, {})[0] for o in outs])
    tr, var1 = float(np.trace(X)), rademacher_variance(X)
    inputs = {"X": X, "num_probes": V, "repetitions": reps, "rng": f"default_rng({seed})"}
    bound = 4.5 * math.sqrt(var1 / (V * reps))
    if abs(est.mean() - tr) > bound:
        fail(T3, f"biased: the mean of {reps} estimates is {est.mean():.6g}, tr X = {tr:.6g} "
                 f"(allowed: ± {bound:.3g}, 4.5 standard errors of Var = 2(‖X‖_F² − Σ X_ii²)/V)",
             inputs=inputs, expected=tr, obtained=float(est.mean()),
             hint="E[vᵀXv] = tr X needs E[vvᵀ] = I: independent ±1 entries, and the mean "
                  "over the V probes")
    ratio = float(est.var(ddof=1) / (var1 / V))
    if not 0.65 <= ratio <= 1.45:
        fail(T3, f"the variance of the estimates is {ratio:.3g} × the Rademacher variance "
                 "2(‖X‖_F² − Σ X_ii²)/V", inputs=inputs, expected=var1 / V,
             obtained=float(est.var(ddof=1)),
             hint="independent probes, each entry ±1 with probability ½; a fresh draw from rng "
                  "for every probe")
    P = np.array([p for op in ops for p in op.probes])
    frac, k = float(np.mean(P == 1.0)), P.size
    if abs(frac - 0.5) > 5 * math.sqrt(0.25 / k):
        fail(T3, f"{frac:.4f} of the probes' entries are +1, not ½", inputs=inputs,
             expected=0.5, obtained=frac, hint="each entry is +1 or −1 with probability ½")


@task_check(T3)
def t5_3(hutchinson: Callable) -> None:
    """A 6×6 matrix: the budget, the probes, the estimate and its standard error; the rng."""
    g = rng(T3, "visible")
    X = _sym(g, 6)
    _hutchinson_case(hutchinson, X, 40, 5)
    _determinism(hutchinson, X, 10)


@task_check(T3, hidden=True)
def hidden_t5_3(hutchinson: Callable) -> None:
    """Unseen sizes and budgets; unbiasedness and variance over repeated runs."""
    g = rng(T3, "hidden")
    for n, V, seed in [(9, 7, 1), (30, 64, 2), (3, 2, 3)]:
        _hutchinson_case(hutchinson, _sym(g, n, diag=2.0, off=0.5), V, seed)
    _statistics(hutchinson, _sym(g, 12, diag=3.0, off=0.6), 6, 400, 2024)
    _statistics(hutchinson, _sym(g, 20, diag=0.5, off=1.0), 15, 300, 7)


# =============================================================================================
# tasks 5.4 and 5.5: the reverse pass of a chain, all states or √n checkpoints
# =============================================================================================
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
            raise ValueError(f"{name}(k, …): k must be an integer step index in 0…{self.n - 1}, "
                             f"got {k!r}")
        return int(k)

    def step(self, k: int, x: Any) -> np.ndarray:
        """x_{k+1} = tanh(W_k x)."""
        k = self._index(k, "step")
        self._sample()
        self.step_calls += 1
        y = np.tanh(self.Ws[k] @ np.asarray(x, dtype=float))
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
            self.error = (f"step_vjp(k={k}, x, ȳ) received {got}, not x_{k}: the VJP of step k "
                          f"needs the input of step k, the state x_{k} it was applied to")
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


def course_chain_vjp(step: Callable, step_vjp: Callable, x0: Any, n: int, xn_bar: Any
                     ) -> tuple[Any, Any]:
    """The course's task 5.4 (substituted when 5.5 is graded): store every state."""
    states = [x0]
    for k in range(n):
        states.append(step(k, states[-1]))
    xn = states.pop()
    x_bar = xn_bar
    for k in reversed(range(n)):
        x_bar = step_vjp(k, states.pop(), x_bar)
    return xn, x_bar


def _ceil_sqrt(n: int) -> int:
    return math.isqrt(n - 1) + 1 if n > 0 else 0


def _chain_case(task: Task, fn: Callable, name: str, n: int, d: int, seed: int,
                measure_bytes: bool = False) -> None:
    g = rng(task, (n, d, seed))
    Ws = [g.normal(scale=1.3 / math.sqrt(d), size=(d, d)) for _ in range(n)]
    chain = Chain(Ws, g.normal(size=d))
    xn_bar = direction(g, (d,))
    inputs = {"n": n, "d": d, "x0": chain.x0, "xn_bar": xn_bar}
    hint = ("forward: x_{k+1} = step(k, x_k); backward, k = n−1…0: "
            "x̄_k = step_vjp(k, x_k, x̄_{k+1}), starting from x̄_n = xn_bar")
    tracing = tracemalloc.is_tracing()
    if measure_bytes:
        if not tracing:
            tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    context = substituted(fn, chain_vjp=course_chain_vjp) if task is T5 else \
        contextlib.nullcontext()
    try:
        with context:
            got = student_call(task, f"{name}(step, step_vjp, x0, n, xn_bar)", fn, chain.step,
                               chain.step_vjp, chain.x0, n, xn_bar, inputs=inputs, hint=hint)
        peak_bytes = tracemalloc.get_traced_memory()[1] - base if measure_bytes else 0
    finally:
        if measure_bytes and not tracing:
            tracemalloc.stop()
    if chain.error:
        fail(task, chain.error, inputs=inputs, show_values=False, hint=hint)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(task, f"{name} must return a pair (x_n, x0_bar)", inputs=inputs,
             expected="(x_n, x0_bar)", obtained=got)
    assert_close(task, "x_n (the chain's output)", got[0], chain.states[-1], inputs=inputs,
                 hint="x_n = step(n−1, … step(1, step(0, x0)))", rtol=1e-12, atol=1e-14)
    if sorted(chain.vjp_ks) != list(range(n)) or chain.vjp_ks != sorted(chain.vjp_ks,
                                                                        reverse=True):
        fail(task, "the backward pass must call step_vjp once for every step, in the order "
                   "k = n−1, …, 1, 0", inputs=inputs, expected=list(range(n))[::-1][:20],
             obtained=chain.vjp_ks[:20], hint=hint)
    assert_close(task, "x0_bar = (∂x_n/∂x_0)ᵀ xn_bar", got[1], chain.reference(xn_bar),
                 inputs=inputs, hint=hint, rtol=1e-12, atol=1e-13)
    if task is T4:
        if chain.step_calls != n:
            fail(task, f"{name} called step {chain.step_calls} times for n = {n} steps; storing "
                       f"every state needs exactly n = {n} (the forward pass only)",
                 inputs=inputs, expected=n, obtained=chain.step_calls,
                 hint="keep x_0, …, x_{n−1} in a list during the forward pass; do not recompute")
        return
    s = _ceil_sqrt(n)
    bound = 2 * s + 2
    if chain.peak > bound:
        fail(task, f"{chain.peak} states returned by step were alive at once; √n checkpointing "
                   f"keeps about 2⌈√n⌉ (here at most 2·{s} + 2 = {bound})", inputs=inputs,
             expected=f"≤ {bound}", obtained=chain.peak,
             hint=f"in the forward pass keep only every s-th state (s = ⌈√n⌉ = {s}); in the "
                  "backward pass recompute one segment at a time and drop it when it is done")
    if chain.step_calls > 2 * n:
        fail(task, f"{name} called step {chain.step_calls} times for n = {n}; √n checkpointing "
                   f"needs at most 2n = {2 * n} (each segment recomputed once)", inputs=inputs,
             expected=f"≤ {2 * n}", obtained=chain.step_calls,
             hint="recompute a segment from its own checkpoint once, not from x0 for every step")
    if measure_bytes:
        state = chain.x0.nbytes + 128
        allowed = (bound + 8) * state + 48 * 1024
        if peak_bytes > allowed:
            fail(task, f"peak memory during {name} was {peak_bytes / 1024:.0f} KiB ≈ "
                       f"{peak_bytes / state:.0f} states of {state} bytes; √n checkpointing "
                       f"needs about {bound} (allowed: {allowed / 1024:.0f} KiB)", inputs=inputs,
                 show_values=False,
                 hint="store only the checkpoints and the current segment, no copies of every "
                      "state (x.copy(), np.stack, np.array(list))")


@task_check(T4)
def t5_4(chain_vjp: Callable) -> None:
    """A chain of 6 steps on R⁵: the output, the cotangent, the order and count of calls."""
    _chain_case(T4, chain_vjp, "chain_vjp", 6, 5, 0)


@task_check(T4, hidden=True)
def hidden_t5_4(chain_vjp: Callable) -> None:
    """Unseen lengths (1 and 2 included) and sizes."""
    for n, d in [(1, 3), (2, 4), (13, 7), (40, 16)]:
        _chain_case(T4, chain_vjp, "chain_vjp", n, d, 1)


@task_check(T5, replaces=("chain_vjp",))
def t5_5(chain_vjp_sqrt: Callable) -> None:
    """n = 16: the result, the stored states (≤ 2⌈√n⌉ + 2) and the steps (≤ 2n)."""
    _chain_case(T5, chain_vjp_sqrt, "chain_vjp_sqrt", 16, 5, 0)


@task_check(T5, hidden=True, replaces=("chain_vjp",))
def hidden_t5_5(chain_vjp_sqrt: Callable) -> None:
    """Unseen n (squares and not, 1 and 2), larger states with a tracemalloc memory bound."""
    for n, d in [(1, 3), (2, 4), (10, 6), (37, 8), (50, 5)]:
        _chain_case(T5, chain_vjp_sqrt, "chain_vjp_sqrt", n, d, 1)
    _chain_case(T5, chain_vjp_sqrt, "chain_vjp_sqrt", 100, 256, 2, measure_bytes=True)
