"""``autograd`` mapped to ``reference_impl``: only for running HIPS autograd's own tests against
the engine (scripts/peer_tests.sh). Not part of the package; not run by CI.

autograd's ``argnum`` is JAX's ``argnums``; ``jacobian`` is ``jacrev``; autograd's differentiable
``tuple`` is Python's tuple (the engine differentiates pytrees).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import reference_impl as ri

tuple = builtins.tuple


def grad(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    return ri.grad(fun, argnums=argnum)


def value_and_grad(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    return ri.value_and_grad(fun, argnums=argnum)


def jacobian(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    return ri.jacrev(fun, argnums=argnum)


def elementwise_grad(fun: Callable[..., Any], argnum: Any = 0) -> Callable[..., Any]:
    def ewg(*args: Any) -> Any:
        out, pullback = ri.vjp(lambda *a: fun(*a), *args)
        import numpy as onp

        cts = pullback(onp.ones(onp.shape(ri.concrete(out))))
        return cts[argnum]

    return ewg
