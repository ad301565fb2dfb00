"""Batching: ``vmap`` and the interpreter behind it (``BatchTrace``), as in JAX's autodidax.

``vmap(f)(xs)`` evaluates ``f`` once on the whole batch instead of once per example: every value
is a :class:`BatchTracer` holding the batched array ``val`` and the position ``bdim`` of its batch
axis, and every primitive applies its *batching rule*, which calls the primitive again on the
batched arrays (``sin`` of a batch is the batch of ``sin``; ``x @ W`` with a batch of vectors
``x`` is one matrix product). The rules live in :mod:`.batching_rules`; a value that is the same
for all examples is simply not a tracer (JAX's ``not_mapped``). Like the other transformations,
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
from .core import Primitive, Trace, Tracer, concrete, describe, shape_of
from .tree_util import PyTreeDef, tree_flatten, tree_unflatten

__all__ = ["BatchTrace", "BatchTracer", "BatchedConversionError", "vmap"]

LOOP_FALLBACK = True  # on a BatchedConversionError, evaluate example by example
FALLBACKS: list[str] = []  # the functions that fell back, with the reason (for tests, reports)


class BatchedConversionError(TypeError):
    """One NumPy array or Python value was asked of a batch whose examples differ."""

    def __init__(self, trace: BatchTrace, message: str):
        super().__init__(message)
        self.trace = trace


def _dtype(v: Any) -> np.dtype:
    return v.dtype if isinstance(v, (np.ndarray, np.generic, Tracer)) else np.result_type(v)


def move(x: Any, src: int, dst: int) -> Any:
    """``moveaxis`` with the package's transpose primitive (differentiable at lower levels)."""
    if src == dst:
        return x
    from .numpy.shape_ops import moveaxis

    return moveaxis(x, src, dst)


def take(x: Any, b: int, axis: int) -> Any:
    """Example ``b`` along ``axis`` (indexing primitive, differentiable at lower levels)."""
    return x[(slice(None),) * axis + (b,)]


class BatchTracer(Tracer):
    """A batch of values: ``val`` holds them all, stacked along axis ``bdim``.

    ``shape``/``dtype`` are those of one example, as the function being mapped sees them.
    """

    __slots__ = ("bdim",)
    _batched = True

    def __init__(self, trace: BatchTrace, val: Any, bdim: int):
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def shape(self) -> tuple[int, ...]:
        s = shape_of(self.val)
        return s[: self.bdim] + s[self.bdim + 1 :]

    @property
    def dtype(self) -> np.dtype:
        return _dtype(self.val)

    def __repr__(self) -> str:
        return (
            f"BatchTracer(level={self._trace.level}, {self._trace.axis_size} examples of "
            f"{describe(self)})"
        )

    def without_derivatives(self) -> BatchTracer:
        """The same batch with the derivatives of lower levels dropped (``concrete``)."""
        c = concrete(self.val)
        return self if c is self.val else BatchTracer(self._trace, c, self.bdim)

    # --- one value for the whole batch: only if the examples agree ------------------------
    def _uniform(self, what: str) -> Any:
        c = self.without_derivatives()
        x = move(c.val, c.bdim, 0)
        first = take(x, 0, 0)
        if not bool(np.all(np.equal(x, first))):
            raise BatchedConversionError(
                self._trace,
                (
                    f"vmap: {what} of a batched value ({describe(self)} per example) whose examples "
                    "differ; one value per example is needed here (e.g. Python control flow or "
                    "np.asarray on a traced value). Write it with reference_impl.numpy (rnp.where "
                    "instead of if, for example)."
                ),
            )
        return first

    def __bool__(self) -> bool:
        return bool(self._uniform("bool()"))

    def __float__(self) -> float:
        return float(self._uniform("float()"))

    def __int__(self) -> int:
        return int(self._uniform("int()"))

    def __index__(self) -> int:
        return int(self._uniform("an integer index"))

    # boolean masks combine with & | ^ ~ (comparisons return batches of booleans)
    def __and__(self, other: Any) -> Any:
        return np.bitwise_and(self, other)

    def __or__(self, other: Any) -> Any:
        return np.bitwise_or(self, other)

    def __xor__(self, other: Any) -> Any:
        return np.bitwise_xor(self, other)

    def __invert__(self) -> Any:
        return np.invert(self)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self._uniform("a NumPy array (np.asarray)"), dtype=dtype)

    # --- NumPy functions on batches (the engine's masks and comparisons) ------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from .numpy import _UFUNC_TO_PRIMITIVE

        fn = _UFUNC_TO_PRIMITIVE.get(ufunc.__name__)
        if method == "__call__" and isinstance(fn, Primitive) and not kwargs:
            return fn(*inputs)  # ``ndarray + tracer``: the differentiable primitive
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        if ufunc.__name__ not in _bn.NOT_DIFFERENTIABLE:
            _bn.no_derivatives(name, inputs)
        inputs = tuple(concrete(a) for a in inputs)
        if method == "__call__" and ufunc.signature is None and "out" not in kwargs:
            return _bn.elementwise(ufunc, inputs, kwargs)
        return _bn.per_example(getattr(ufunc, method), inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        name = getattr(func, "__name__", str(func))
        meta = _bn.METADATA.get(name)
        if meta is not None:
            return meta(func, args, kwargs)
        _bn.no_derivatives(name, (args, kwargs))
        args, kwargs = _bn.strip((args, kwargs))
        if name == "where" and len(args) == 3 and not kwargs:
            return _bn.elementwise(func, args, {})
        if name in _bn.REDUCTIONS and isinstance(args[0], BatchTracer):
            return _bn.reduction(func, args, kwargs)
        if name in _bn.AXIS_FUNCTIONS and isinstance(args[0], BatchTracer):
            return _bn.along_axis(func, args, kwargs)
        return _bn.per_example(func, args, kwargs)


class BatchTrace(Trace):
    """``vmap``: apply each primitive's batching rule to the batched values."""

    __slots__ = ("axis_size",)

    def __init__(self, axis_size: int):
        super().__init__()
        self.axis_size = axis_size

    def process(self, prim: Primitive, args: Any, params: dict[str, Any]) -> Any:
        vals, dims = [], []
        for a in args:
            if isinstance(a, BatchTracer) and a._trace is self:
                vals.append(a.val)
                dims.append(a.bdim)
            else:
                vals.append(a)
                dims.append(None)
        rule = prim.batch
        if rule is None:
            from .batching_rules import rule_by_name

            rule = rule_by_name(prim)
        if rule is None:
            shapes = ", ".join(describe(a) for a in args)
            raise NotImplementedError(
                f"batching rule of {prim.name} not defined (vmap of {prim.name}({shapes})). "
                "Register one with reference_impl.core.defbatch(<the primitive>, rule)."
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
    from .numpy.shape_ops import broadcast_to, expand_dims

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
    from .numpy import stack

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


from . import batching_numpy as _bn  # noqa: E402  (it builds on BatchTracer)
