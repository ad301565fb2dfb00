"""The students' toolkit of assignment 05: first-order forward and reverse mode through NumPy's
ufuncs and operators (:func:`jvp`, :func:`vjp`, :func:`grad`), not the reference implementation;
traced values follow ``__array_ufunc__``, so a gradient written in plain NumPy can itself be
differentiated."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Self

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from .._graph import topological_order

__all__ = ["Dual", "Traced", "Var", "grad", "jvp", "vjp"]


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
    "multiply": (
        2,
        lambda o, a, d: d[0] * a[1] + a[0] * d[1],
        lambda ct, o, a: (ct * a[1], ct * a[0]),
    ),
    "divide": (
        2,
        lambda o, a, d: d[0] / a[1] - o * d[1] / a[1],
        lambda ct, o, a: (ct / a[1], -ct * o / a[1]),
    ),
    "matmul": (
        2,
        lambda o, a, d: d[0] @ a[1] + a[0] @ d[1],
        lambda ct, o, a: _matmul_vjp(ct, a[0], a[1]),
    ),
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
_SUPPORTED = (
    "+ - * / @ ** (by a constant), unary minus, np.tanh, np.exp, np.log, np.log1p, "
    "np.sin, np.cos, np.sqrt, np.square, np.sum / .sum(axis), np.dot, np.vdot, .T, "
    ".reshape"
)


class Traced(NDArrayOperatorsMixin):
    """A value followed through NumPy code: ufuncs and operators land in :meth:`_apply`."""

    mode = "traced"

    def __init__(self, value: Any):
        self.value = np.asarray(value, dtype=float)

    # -- NumPy protocol ----------------------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        name = ufunc.__name__
        if method != "__call__" or kwargs:
            raise TypeError(
                f"{self.mode}: np.{name}.{method} with {sorted(kwargs)} is not "
                f"supported; use {_SUPPORTED}"
            )
        if name == "power":
            base, p = inputs
            if isinstance(p, Traced) or not np.isscalar(p):
                raise TypeError(f"{self.mode}: only x ** c with a constant number c is supported")
            c: Any = p  # a number (np.isscalar's narrowing of p would also admit str and bytes)
            return self._unary(np.power(base.value, c), base, lambda o, a: c * a ** (c - 1))
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
            return (
                args[0].sum(*args[1:], **kwargs) if isinstance(args[0], Traced) else NotImplemented
            )
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
        raise TypeError(
            f"a {self.mode} value cannot become a plain array: the derivative would "
            f"be lost; compute with {_SUPPORTED}"
        )

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

    def sum(
        self,
        axis: int | tuple[int, ...] | None = None,
        dtype: Any = None,
        out: Any = None,
        keepdims: bool = False,
        **kwargs: Any,
    ) -> Traced:
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

    def _unary(self, out: np.ndarray, x: Self, derivative: Callable[..., Any]) -> Traced:
        # x: the base of x ** c, the operand whose __array_ufunc__ runs (of self's class)
        raise NotImplementedError

    def _linear(
        self,
        out: np.ndarray,
        forward: Callable[[np.ndarray], np.ndarray],
        backward: Callable[[np.ndarray], np.ndarray],
    ) -> Traced:
        raise NotImplementedError


def _plain(x: Any) -> np.ndarray:
    return x.value if isinstance(x, Traced) else np.asarray(x, dtype=float)


class Dual(Traced):
    """Forward mode: a value and its tangent (one directional derivative), arrays of one shape."""

    mode = "forward-mode (jvp)"

    def __init__(self, value: Any, tangent: Any = None):
        super().__init__(value)
        self.tangent = (
            np.zeros_like(self.value)
            if tangent is None
            else np.broadcast_to(np.asarray(tangent, dtype=float), self.value.shape).copy()
        )

    def __repr__(self) -> str:
        return f"Dual(value={self.value!r}, tangent={self.tangent!r})"

    def _apply(self, name: str, inputs: Sequence[Any]) -> Dual:
        args = [_plain(x) for x in inputs]
        dots = [
            x.tangent if isinstance(x, Dual) else np.zeros_like(a)
            for x, a in zip(inputs, args, strict=True)
        ]
        out = getattr(np, name)(*args)
        return Dual(out, np.broadcast_to(_RULES[name][1](out, args, dots), np.shape(out)))

    def _unary(self, out: np.ndarray, x: Self, derivative: Callable[..., Any]) -> Dual:
        return Dual(out, derivative(out, x.value) * x.tangent)

    def _linear(
        self,
        out: np.ndarray,
        forward: Callable[[np.ndarray], np.ndarray],
        backward: Callable[[np.ndarray], np.ndarray],
    ) -> Dual:
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

                def back(
                    ct: np.ndarray, i: int = i, shape: tuple[int, ...] = args[i].shape
                ) -> np.ndarray:
                    return _unbroadcast(rule(ct, out, args)[i], shape)

                parents.append((x, back))
        return Var(out, parents)

    def _unary(self, out: np.ndarray, x: Self, derivative: Callable[..., Any]) -> Var:
        xv = x.value
        return Var(out, [(x, lambda ct: ct * derivative(out, xv))])

    def _linear(
        self,
        out: np.ndarray,
        forward: Callable[[np.ndarray], np.ndarray],
        backward: Callable[[np.ndarray], np.ndarray],
    ) -> Var:
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
            cts[id(parent)] = cts[id(parent)] + contribution if id(parent) in cts else contribution
    return cts


def jvp(
    fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]
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
            raise ValueError(f"jvp: a primal of shape {p.shape} with a tangent of shape {t.shape}")
        duals.append(Dual(p, t))
    out = fun(*duals)
    if isinstance(out, Dual):
        return out.value, out.tangent
    out = np.asarray(out, dtype=float)
    return out, np.zeros_like(out)


def vjp(
    fun: Callable[..., Any], *primals: Any
) -> tuple[np.ndarray, Callable[[Any], tuple[np.ndarray, ...]]]:
    """``(fun(*primals), pullback)`` with ``pullback(u) = (uᵀ ∂fun/∂x₁, …)``: reverse mode (as
    ``jax.vjp``). ``fun`` is NumPy code; it sees :class:`Var` values on a tape."""
    xs = [Var(np.asarray(p, dtype=float)) for p in primals]
    out = fun(*xs)
    value = out.value if isinstance(out, Var) else np.asarray(out, dtype=float)

    def pullback(u: Any) -> tuple[np.ndarray, ...]:
        u = np.asarray(u, dtype=float)
        if u.shape != value.shape:
            raise ValueError(
                f"pullback: cotangent of shape {u.shape} for an output of shape {value.shape}"
            )
        cts = _backward(out, u) if isinstance(out, Var) else {}
        return tuple(cts.get(id(x), np.zeros_like(x.value)) for x in xs)

    return value, pullback


def grad(fun: Callable[..., Any]) -> Callable[[Any], np.ndarray]:
    """The gradient of a scalar ``fun`` with respect to its (first) argument: ``vjp`` with 1."""

    def gradient(x: Any, *rest: Any) -> np.ndarray:
        out, pullback = vjp(lambda y: fun(y, *rest), x)
        if np.shape(out) != ():
            raise TypeError(f"grad needs a scalar function; this one returns shape {np.shape(out)}")
        return pullback(1.0)[0]

    return gradient


# =============================================================================================
# task 5.1: HVPs, forward-over-reverse and reverse-over-reverse
