"""Activation checkpointing: trade recomputation for memory in reverse mode.

Reverse mode keeps every primitive's inputs and output on the tape until the backward pass
(lecture topic 7), so memory grows with the length of the computation. Checkpointing (topic 14)
keeps only some values and recomputes the others when the backward pass needs them:

* ``checkpoint(f)`` (alias ``remat``, like ``jax.checkpoint``) puts ``f`` on the tape as a single
  node that keeps only ``f``'s inputs and outputs; its VJP re-runs ``f`` on a fresh tape and pulls
  the cotangent back through it, ``x̄ = vjp(f, x)(ȳ)``: the same arithmetic as the plain tape.
* ``checkpoint_chain(steps, x0, policy=…)`` reverses a chain ``x_{k+1} = step_k(x_k)`` on a memory
  budget (the schedules and their executor are in :mod:`.revolve`): ``"sqrt"`` (Chen, Xu, Zhang,
  Guestrin 2016, arXiv:1604.06174) stores every ⌈√n⌉-th state and recomputes each segment once,
  about 2√n states for one extra forward pass; ``"binomial"`` (Griewank & Walther's revolve) keeps
  at most ``s`` states and recomputes the fewest steps possible, ``p(n, s)``.
* Accounting (cf. ``jax.ad_checkpoint.print_saved_residuals``): ``saved_residuals(f, *args)`` lists
  what the tape keeps alive; ``ResidualMeter`` measures the peak number and bytes of residuals
  during a real ``grad`` call and counts the step evaluations.

Checkpointed gradients are bit-for-bit those of the plain tape (same rules, same order), except
that cotangents reaching one value from inside and from outside a checkpoint are summed in another
order. ``f`` and the steps must not close over traced values: pass those as arguments.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

from .batching import body_rule
from .forward import jvp
from .primitives import Primitive, defjvp_full, defvjp_full
from .revolve import ChainRun, chain_p
from .tapes import (
    Residual,
    ResidualMeter,
    count,
    no_closure,
    print_saved_residuals,
    pull,
    recording,
    sample,
    saved_residuals,
    under_reverse,
    watch,
    zeros,
)
from .tree_util import PyTreeDef, tree_flatten, tree_unflatten

__all__ = [
    "Residual",
    "ResidualMeter",
    "checkpoint",
    "checkpoint_chain",
    "print_saved_residuals",
    "remat",
    "saved_residuals",
]


# ----------------------------------------------------------------------------------------------
# checkpoint(f)
# ----------------------------------------------------------------------------------------------
class _Call:
    """The pytree structures of one call, shared by the tape entries of all levels."""

    __slots__ = ("in_tree", "out_tree")

    def __init__(self, in_tree: PyTreeDef):
        self.in_tree = in_tree
        self.out_tree: PyTreeDef | None = None


class _Checkpointed:
    """``f`` as one primitive whose tape entry keeps only ``f``'s inputs and outputs."""

    def __init__(self, fun: Callable[..., Any]):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.prim = Primitive(
            f"checkpoint[{getattr(fun, '__name__', 'f')}]",
            self._impl,
            multiple_results=True,
            # under vmap, f itself runs on the batch (the impl refuses tracer outputs)
            batch=body_rule(lambda params, *a: self._flat(params["call"])(*a)),
        )
        defvjp_full(self.prim, self._vjp_rule)
        defjvp_full(self.prim, self._jvp_rule)

    def __call__(self, *args: Any) -> Any:
        leaves, in_tree = tree_flatten(args)
        if not any(under_reverse(x) for x in leaves):
            return self.fun(*args)  # nothing is being recorded, so there is nothing to save
        watch(leaves)
        call = _Call(in_tree)
        outs = self.prim(*leaves, call=call)
        sample()
        assert call.out_tree is not None, "running the primitive records its output tree"
        return tree_unflatten(call.out_tree, outs)

    def _flat(self, call: _Call) -> Callable[..., list[Any]]:
        def flat_fun(*leaves: Any) -> list[Any]:
            out = self.fun(*tree_unflatten(call.in_tree, leaves))
            out_leaves, call.out_tree = tree_flatten(out)
            return out_leaves

        return flat_fun

    def _impl(self, *leaves: Any, call: _Call) -> tuple[Any, ...]:
        outs = self._flat(call)(*leaves)
        no_closure(self.prim.name, outs)
        return tuple(outs)

    def _vjp_rule(self, cts: Any, ans: Any, *leaves: Any, call: _Call) -> list[Any]:
        # the intermediates were not kept: run f again on a tape of its own and pull back
        count(recomputations=1)
        with recording(self._flat(call), leaves) as rec:
            sample()
            return pull(rec, cts)

    def _jvp_rule(self, dots: list[Any], ans: Any, *leaves: Any, call: _Call) -> list[Any]:
        # forward mode stores nothing: the tangent of f itself (f is evaluated once more)
        dots = [zeros(x) if d is None else d for d, x in zip(dots, leaves, strict=True)]
        return list(jvp(self._flat(call), list(leaves), dots)[1])


def checkpoint(fun: Callable[..., Any]) -> Callable[..., Any]:
    """``fun`` whose intermediates are recomputed in the backward pass instead of stored.

    Under ``grad``/``vjp`` the tape keeps only the inputs and outputs of ``fun``; its VJP re-runs
    ``fun`` on the saved inputs (one more evaluation of ``fun`` per backward pass). It nests:
    checkpointed functions may call checkpointed functions, and in ``grad(grad(·))`` the outer
    derivative differentiates the recomputation. Under ``jvp`` alone it is just ``fun``.
    """
    return _Checkpointed(fun)


remat = checkpoint


# ----------------------------------------------------------------------------------------------
# checkpoint_chain (the executor and the schedules are in revolve.py)
# ----------------------------------------------------------------------------------------------
def _as_apply(steps: Any, with_params: bool) -> Callable[..., Any]:
    """Normalise ``steps`` (a list of ``step_k`` or one ``step(k, …)``) to ``apply(k, x, p)``."""
    if callable(steps):
        return (lambda k, x, p: steps(k, x, p)) if with_params else (lambda k, x, p: steps(k, x))
    steps = list(steps)
    return (lambda k, x, p: steps[k](x, p)) if with_params else (lambda k, x, p: steps[k](x))


def checkpoint_chain(
    steps: Sequence[Callable[..., Any]] | Callable[..., Any],
    x0: Any,
    params: Sequence[Any] | None = None,
    *,
    policy: str = "sqrt",
    num_checkpoints: int | None = None,
    num_steps: int | None = None,
) -> Any:
    """``x_n`` of the chain ``x_{k+1} = step_k(x_k)``, differentiable on a memory budget.

    ``steps`` is a list of functions ``step_k(x)`` or one function ``step(k, x)`` with
    ``num_steps``; with ``params`` (one pytree per step, differentiated as well) they are called
    as ``step_k(x, params[k])`` / ``step(k, x, params[k])``. The state may be a pytree.

    ``policy``: ``"none"`` records every step on the caller's tape (n states); ``"sqrt"`` stores
    every ⌈n/s⌉-th state in the forward pass and re-runs each segment once on a tape in the
    backward pass (n extra steps, Chen et al. 2016); ``"binomial"`` follows revolve with ``s``
    slots, x_0 in one of them (Griewank & Walther 2000): ``p(n, s)`` steps advanced in all, the
    initial sweep included, plus ``n`` taped steps, and at most ``s`` stored states.
    ``num_checkpoints`` is ``s``, ⌈√n⌉ by default. Under ``jvp`` alone the chain is just run.
    """
    if policy not in ("none", "sqrt", "binomial"):
        raise ValueError(f"policy must be 'none', 'sqrt' or 'binomial', got {policy!r}")
    n = (
        len(steps)
        if not callable(steps)
        else (num_steps if num_steps is not None else None if params is None else len(params))
    )
    if n is None:
        raise TypeError("checkpoint_chain: with a single step function, give num_steps")
    if params is not None and len(params) != n:
        raise ValueError(f"checkpoint_chain: {len(params)} parameter sets for {n} steps")
    s = num_checkpoints if num_checkpoints is not None else max(1, math.isqrt(n - 1) + 1)
    if s < 1:
        raise ValueError(f"checkpoint_chain: num_checkpoints must be at least 1, got {s}")
    x_leaves, x_tree = tree_flatten(x0)
    p_leaves: list[Any] = []
    p_trees: list[PyTreeDef | None] = []
    for p in params if params is not None else [None] * n:
        leaves, tree = tree_flatten(p)
        p_leaves += leaves
        p_trees.append(None if params is None else tree)
    run = ChainRun(_as_apply(steps, params is not None), n, policy, s, x_tree, p_trees)
    leaves = [*x_leaves, *p_leaves]
    if not any(under_reverse(v) for v in leaves):
        out = run.plain(*leaves)
        if policy != "none" and any(under_reverse(v) for v in out):
            no_closure(run.name, out)  # the steps record on a tape: nothing would be saved
        return tree_unflatten(x_tree, out)
    watch(leaves)
    if policy == "none" or n == 0:  # the plain tape: every step on the caller's tape
        out = run.taped_in_place(leaves)
    else:
        out = list(chain_p(*leaves, run=run))
    sample()
    return tree_unflatten(x_tree, out)
