"""Batching: ``vmap`` and the interpreter behind it (``BatchTrace``), as in JAX's autodidax.

``vmap(f)(xs)`` evaluates ``f`` once on the whole batch instead of once per example: every value
is a :class:`BatchTracer` holding the batched array ``val`` and the position ``bdim`` of its batch
axis, and every primitive applies its *batching rule*, which calls the primitive again on the
batched arrays (``sin`` of a batch is the batch of ``sin``; ``x @ W`` with a batch of vectors
``x`` is one matrix product). Each primitive is given its rule where it is made (``batch=``;
the rules shared by families of primitives are in :mod:`.numpy.batching_rules`, and
:func:`body_rule` here serves the primitives that carry a function). The batch tracer itself
is in :mod:`.batching_numpy`. A value that is the same for all examples is simply not a tracer
(JAX's ``not_mapped``). Like the other transformations,
``BatchTrace`` has a level, so ``vmap`` nests and composes with ``grad``/``jvp`` in both orders.

The engine reads plain values in places (masks, comparisons: :func:`.core.concrete`). Under
``vmap`` ``concrete`` returns the batch tracer without its derivatives, whose NumPy operations
(``np.greater``, ``np.where``, ``np.sum``…) are evaluated for the whole batch, example by
example where no faster way is known. Where code asks for *one* NumPy array or Python value of a
batch (``np.asarray``, ``bool``), it gets it if all examples agree (control flow that takes the
same branch for every example is fine); otherwise :class:`BatchedConversionError` is raised and
``vmap`` evaluates ``f`` example by example instead (:data:`LOOP_FALLBACK`), which is always
correct, only slower.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .api_util import (
    broadcast_prefix,
    check_inputs,
    check_spec,
    flatten_with_paths,
    fun_name,
)
from .array import transformation
from .batching_numpy import BatchedConversionError, BatchTracer, take
from .numpy.shape_ops import broadcast_to, expand_dims, move, stack
from .primitives import Primitive
from .tracers import Trace, Tracer, describe, shape_of
from .tree_util import PyTreeDef, tree_flatten, tree_unflatten

__all__ = ["BatchTrace", "BatchTracer", "BatchedConversionError", "vmap"]

LOOP_FALLBACK = True  # on a BatchedConversionError, evaluate example by example
FALLBACKS: list[str] = []  # the functions that fell back, with the reason (for tests, reports)


class BatchTrace(Trace):
    """``vmap``: apply each primitive's batching rule to the batched values."""

    __slots__ = ("axis_size",)

    def __init__(self, axis_size: int):
        super().__init__()
        self.axis_size = axis_size

    def process(self, prim: Primitive, args: Any, params: dict[str, Any]) -> Any:
        vals: list[Any] = []
        dims: list[int | None] = []
        for a in args:
            if isinstance(a, BatchTracer) and a._trace is self:
                vals.append(a.val)
                dims.append(a.bdim)
            else:
                vals.append(a)
                dims.append(None)
        rule = prim.batch
        if rule is None:
            shapes = ", ".join(describe(a) for a in args)
            raise NotImplementedError(
                f"batching rule of {prim.name} not defined (vmap of {prim.name}({shapes})). "
                "Give one when making the primitive: primitive(name, impl, batch=rule)."
            )
        if getattr(rule, "needs_trace", False):
            ans, ans_dim = rule(self, vals, dims, **params)
        else:
            ans, ans_dim = rule(vals, dims, **params)
        if prim.multiple_results:
            return tuple(
                a if d is None else BatchTracer(self, a, d)
                for a, d in zip(ans, ans_dim, strict=True)
            )
        return ans if ans_dim is None else BatchTracer(self, ans, ans_dim)


# --- primitives that carry a function: run it on the batch ----------------------------------
def body_rule(run: Callable[..., Any]) -> Callable[..., Any]:
    """``run(prim_params, *args)`` evaluates the primitive's function; here on batch tracers."""

    def rule(trace: BatchTrace, vals: list[Any], dims: list[Any], **params: Any) -> tuple[Any, Any]:
        boxed = [
            v if d is None else BatchTracer(trace, v, d) for v, d in zip(vals, dims, strict=True)
        ]
        outs = run(params, *boxed)
        ans = [o.val if isinstance(o, BatchTracer) and o._trace is trace else o for o in outs]
        ans_dims = [
            o.bdim if isinstance(o, BatchTracer) and o._trace is trace else None for o in outs
        ]
        return tuple(ans), tuple(ans_dims)

    rule.needs_trace = True  # type: ignore[attr-defined]
    return rule


# ----------------------------------------------------------------------------------------------
# vmap
# ----------------------------------------------------------------------------------------------
def vmap(
    fun: Callable[..., Any],
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: Any = None,
    axis_size: int | None = None,
    spmd_axis_name: Any = None,
) -> Callable[..., Any]:
    """``fun`` mapped over an axis of its arguments: ``vmap(f)(xs)[i] = f(xs[i])``, as
    ``jax.vmap``.

    ``in_axes``: an int, ``None`` (not mapped) or a tuple with one entry per positional
    argument, each a pytree prefix of that argument (negative axes count from the end); keyword
    arguments are mapped along axis 0. ``out_axes`` likewise for the output. ``axis_name`` is
    accepted for compatibility (there are no collective operations); ``axis_size`` is needed
    only when no argument is mapped.
    """
    name = fun_name(fun)
    if isinstance(in_axes, list):  # JAX reads a top-level list as a tuple
        in_axes = tuple(in_axes)
    check_spec(in_axes, "in_axes", name)
    check_spec(out_axes, "out_axes", name)

    @functools.wraps(fun)
    def vmapped(*args: Any, **kwargs: Any) -> Any:
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(
                f"vmap({name}): in_axes must be an int, None, or a tuple of entries "
                f"corresponding to the positional arguments passed to the function, but got "
                f"len(in_axes)={len(in_axes)}, len(args)={len(args)}"
            )
        per_arg = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        paths, leaves, tree = flatten_with_paths(fun, args, kwargs)
        axes = broadcast_prefix(
            name, "in_axes", (per_arg, {k: 0 for k in kwargs}), (tuple(args), kwargs)
        )
        leaves, axes, size = check_inputs(name, paths, leaves, axes, axis_size)
        trace = BatchTrace(size)
        try:
            boxed = [
                x if a is None else BatchTracer(trace, x, a)
                for x, a in zip(leaves, axes, strict=True)
            ]
            a, k = tree_unflatten(tree, boxed)
            out = fun(*a, **k)
            out_leaves, out_tree = tree_flatten(out)
            oaxes = broadcast_prefix(name, "out_axes", out_axes, out)
            return tree_unflatten(
                out_tree,
                [_unbox(name, o, ax, trace) for o, ax in zip(out_leaves, oaxes, strict=True)],
            )
        except BatchedConversionError as err:
            if err.trace is not trace or not LOOP_FALLBACK or size == 0:
                raise
            FALLBACKS.append(f"{name}: {err}")
            warnings.warn(
                f"vmap({name}) is evaluated example by example: {err}", RuntimeWarning, stacklevel=2
            )
            return _looped(fun, tree, leaves, axes, size, out_axes, name)

    vmapped.__name__ = f"vmap_{name}"
    return transformation(vmapped)


def _unbox(name: str, o: Any, ax: Any, trace: BatchTrace) -> Any:
    """An output leaf with its batch axis at ``ax`` (an unbatched one is broadcast)."""
    if isinstance(o, BatchTracer) and o._trace is trace:
        if ax is None:
            raise ValueError(f"vmap({name}) has mapped output but out_axes is None")
        nd = o.ndim + 1
        if not -nd <= ax < nd:
            raise ValueError(
                f"vmap({name}): out_axes={ax} is out of range for an output of "
                f"rank {nd - 1} (plus the batch axis)"
            )
        return move(o.val, o.bdim, ax % nd)
    if ax is None:
        return o
    if not isinstance(o, (np.ndarray, Tracer)):
        o = np.asarray(o)
    s = shape_of(o)
    ax = ax % (len(s) + 1)
    return broadcast_to(expand_dims(o, ax), (*s[:ax], trace.axis_size, *s[ax:]))


def _looped(
    fun: Callable[..., Any],
    tree: PyTreeDef,
    leaves: list[Any],
    axes: list[Any],
    size: int,
    out_axes: Any,
    name: str,
) -> Any:
    """The definition of vmap: ``fun`` on each example, the results stacked."""
    outs = []
    for b in range(size):
        lv = [x if a is None else take(x, b, a) for x, a in zip(leaves, axes, strict=True)]
        a, k = tree_unflatten(tree, lv)
        outs.append(tree_flatten(fun(*a, **k)))
    out_tree = outs[0][1]
    oaxes = broadcast_prefix(name, "out_axes", out_axes, tree_unflatten(out_tree, outs[0][0]))
    result = []
    for i, ax in enumerate(oaxes):
        column = [o[0][i] for o in outs]
        if ax is None:
            result.append(column[0])
        elif any(isinstance(c, Tracer) for c in column):
            result.append(stack(column, axis=ax))
        else:
            result.append(np.stack([np.asarray(c) for c in column], axis=ax))
    return tree_unflatten(out_tree, result)
