"""autograd's ``check_grads`` and ``combo_check`` on the engine: the JVP (forward) and VJP
(reverse) of ``f`` against central differences, recursively to ``order`` (as autograd does:
the derivative maps themselves are checked again). Complex values are paired as JAX's
convention requires, ``⟨u, w⟩ = Re Σ u·w`` (no conjugation: a cotangent is ``∂f/∂a − i ∂f/∂b``);
a check at a complex input is skipped only where the engine refuses it (NotImplementedError
naming a primitive whose rules are written for real numbers)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import product
from typing import Any

import numpy as onp
import pytest

import reference_impl as ri
from reference_impl.tree_util import tree_flatten, tree_unflatten

TOL = 1e-6
RTOL = 1e-6
EPS = 1e-6
_rng = onp.random.default_rng(0)
state = {"real_checks": 0}


def scalar_close(a: float, b: float) -> bool:
    return abs(a - b) < TOL or abs(a - b) / abs(a + b) < RTOL


def _leaves(x: Any) -> list[onp.ndarray]:
    out = []
    for v in tree_flatten(x)[0]:
        a = onp.asarray(ri.concrete(v))
        out.append(a if onp.iscomplexobj(a) else a.astype(float))
    return out


def _axpy(a: float, v: Any, x: Any) -> Any:
    xs, tree = tree_flatten(x)
    vs = tree_flatten(v)[0]
    return tree_unflatten(
        tree, [_float(xi) + a * onp.asarray(vi) for xi, vi in zip(xs, vs, strict=True)]
    )


def _float(x: Any) -> onp.ndarray:
    a = onp.asarray(ri.concrete(x))
    return a if onp.iscomplexobj(a) else a.astype(float)


def _randn(x: Any) -> Any:
    xs, tree = tree_flatten(x)
    return tree_unflatten(
        tree,
        [
            _rng.standard_normal(onp.shape(xi))
            + (
                1j * _rng.standard_normal(onp.shape(xi))
                if onp.iscomplexobj(ri.concrete(xi))
                else 0.0
            )
            for xi in xs
        ],
    )


def _inner(x: Any, y: Any) -> float:
    return float(sum(onp.real(onp.sum(a * b)) for a, b in zip(_leaves(x), _leaves(y), strict=True)))


def _numerical_jvp(f: Callable[[Any], Any], x: Any, v: Any) -> list[onp.ndarray]:
    plus, minus = _leaves(f(_axpy(EPS / 2, v, x))), _leaves(f(_axpy(-EPS / 2, v, x)))
    return [(p - m) / EPS for p, m in zip(plus, minus, strict=True)]


def check_jvp(f: Callable[[Any], Any], x: Any) -> None:
    v = _randn(x)
    exact = _leaves(ri.jvp(f, (x,), (v,))[1])
    numeric = _numerical_jvp(f, x, v)
    w = [_rng.standard_normal(onp.shape(a)) for a in numeric]
    a, b = _inner(exact, w), _inner(numeric, w)
    assert scalar_close(a, b), f"JVP check of {f} failed: analytic {a}, numeric {b}"


def check_vjp(f: Callable[[Any], Any], x: Any) -> None:
    y, pullback = ri.vjp(f, x)
    u = _randn(y)
    exact = _inner(pullback(u)[0], v := _randn(x))
    numeric = _inner(_numerical_jvp(f, x, v), u)
    assert scalar_close(exact, numeric), (
        f"VJP check of {f} failed: analytic {exact}, numeric {numeric}"
    )


def _is_complex(x: Any) -> bool:
    return any(onp.iscomplexobj(ri.concrete(v)) for v in tree_flatten(x)[0])


def _check(f: Callable[[Any], Any], x: Any, modes: Any, order: int) -> None:
    if "fwd" in modes:
        check_jvp(f, x)
        if order > 1:
            v = _randn(x)
            _check(lambda xv: ri.jvp(f, (xv[0],), (xv[1],))[1], (x, v), modes, order - 1)
    if "rev" in modes:
        check_vjp(f, x)
        if order > 1:
            u = _randn(f(x))
            _check(lambda xu: ri.vjp(f, xu[0])[1](xu[1])[0], (x, u), modes, order - 1)


def check_grads(
    fun: Callable[..., Any], argnum: Any = 0, modes: Any = ("fwd", "rev"), order: int = 2
) -> Callable[..., None]:
    def checker(*args: Any, **kwargs: Any) -> None:
        nums = (argnum,) if isinstance(argnum, int) else tuple(argnum)

        def unary(x: Any) -> Any:
            new = list(args)
            for i, xi in zip(nums, x if not isinstance(argnum, int) else (x,), strict=True):
                new[i] = xi
            return fun(*new, **kwargs)

        x = args[argnum] if isinstance(argnum, int) else tuple(args[i] for i in nums)
        try:
            _check(unary, x, modes, order)
        except NotImplementedError as e:
            if not _is_complex((args, kwargs)) or "at a complex value" not in str(e):
                raise
            pytest.skip(f"complex input: {str(e).split('(')[0]}")
        state["real_checks"] += 1

    return checker


def combo_check(fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., None]:
    """Every combination of the listed arguments and keyword values; complex ones skipped."""

    def _combo_check(*cargs: Any, **ckwargs: Any) -> None:
        kv = [[(k, x) for x in xs] for k, xs in ckwargs.items()]
        for _args in product(*cargs):
            if _is_complex(_args):
                continue
            for _kwargs in product(*kv):
                check_grads(fun, *args, **kwargs)(*_args, **dict(_kwargs))
        if not state["real_checks"]:
            pytest.skip("complex numbers: reference_impl is real-valued")

    return _combo_check
