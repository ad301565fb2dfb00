"""The batch tracer of ``vmap`` (:class:`BatchTracer`, a batch of values with its batch axis)
and NumPy functions on batches: what ``np.greater``, ``np.where``, ``np.sum``… do when the
engine calls them on the value of a batch tracer (:func:`.core.concrete` under ``vmap``).

Broadcasting ufuncs and ``np.where`` run once on the whole batch (the batch axis in front, the
per-example ranks aligned after it), reductions with the axes shifted past the batch axis; any
other NumPy function runs example by example and its results are stacked. A NumPy function
applied to a value that still carries derivatives is refused, as for the other tracers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .numpy.shape_ops import move, stack
from .numpy.ufuncs import UFUNC_TO_PRIMITIVE
from .primitives import Primitive
from .tracers import Trace, Tracer, concrete, describe, plain_numpy_message, shape_of
from .tree_util import tree_flatten, tree_unflatten

if TYPE_CHECKING:
    from .batching import BatchTrace

__all__ = ["BatchTracer", "BatchedConversionError"]


class BatchedConversionError(TypeError):
    """One NumPy array or Python value was asked of a batch whose examples differ."""

    def __init__(self, trace: Trace, message: str):
        super().__init__(message)
        self.trace = trace


def _dtype(v: Any) -> np.dtype:
    return v.dtype if isinstance(v, (np.ndarray, np.generic, Tracer)) else np.result_type(v)


def take(x: Any, b: int, axis: int) -> Any:
    """Example ``b`` along ``axis`` (indexing primitive, differentiable at lower levels)."""
    return x[(slice(None),) * axis + (b,)]


class BatchTracer(Tracer):
    """A batch of values: ``val`` holds them all, stacked along axis ``bdim``.

    ``shape``/``dtype`` are those of one example, as the function being mapped sees them.
    """

    __slots__ = ("bdim",)
    _trace: BatchTrace
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
        fn = UFUNC_TO_PRIMITIVE.get(ufunc.__name__)
        if method == "__call__" and isinstance(fn, Primitive) and not kwargs:
            return fn(*inputs)  # ``ndarray + tracer``: the differentiable primitive
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        if ufunc.__name__ not in NOT_DIFFERENTIABLE:
            no_derivatives(name, inputs)
        inputs = tuple(concrete(a) for a in inputs)
        if method == "__call__" and ufunc.signature is None and "out" not in kwargs:
            return elementwise(ufunc, inputs, kwargs)
        return per_example(getattr(ufunc, method), inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        name = getattr(func, "__name__", str(func))
        meta = METADATA.get(name)
        if meta is not None:
            return meta(func, args, kwargs)
        no_derivatives(name, (args, kwargs))
        args, kwargs = strip((args, kwargs))
        if name == "where" and len(args) == 3 and not kwargs:
            return elementwise(func, args, {})
        if name in REDUCTIONS and isinstance(args[0], BatchTracer):
            return reduction(func, args, kwargs)
        if name in AXIS_FUNCTIONS and isinstance(args[0], BatchTracer):
            return along_axis(func, args, kwargs)
        return per_example(func, args, kwargs)


NOT_DIFFERENTIABLE = frozenset(
    {
        "less",
        "less_equal",
        "greater",
        "greater_equal",
        "equal",
        "not_equal",
        "isfinite",
        "isnan",
        "isinf",
        "signbit",
        "logical_and",
        "logical_or",
        "logical_not",
        "logical_xor",
        "sign",
        "floor",
        "ceil",
        "rint",
        "trunc",
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
        "invert",
    }
)
REDUCTIONS = frozenset(
    {"sum", "prod", "max", "amax", "min", "amin", "any", "all", "mean", "count_nonzero"}
)

#: NumPy functions along one axis: (position of the axis argument, its default)
AXIS_FUNCTIONS = {
    "argsort": (1, -1),
    "sort": (1, -1),
    "argmax": (1, None),
    "argmin": (1, None),
    "argpartition": (2, -1),
    "partition": (2, -1),
}


def strip(tree: Any) -> Any:
    leaves, td = tree_flatten(tree)
    return tree_unflatten(td, [concrete(x) for x in leaves])


def no_derivatives(name: str, tree: Any) -> None:
    """A NumPy function on a value that carries derivatives would drop them: refuse, as the
    other tracers do (``concrete(x)`` says that dropping them is meant)."""
    for x in tree_flatten(tree)[0]:
        if isinstance(x, Tracer) and concrete(x) is not x:
            raise TypeError(plain_numpy_message(name, x))


def _top(values: Any) -> BatchTrace:
    """The innermost batch trace among the (stripped) arguments."""
    top: BatchTrace | None = None
    for x in tree_flatten(values)[0]:
        if isinstance(x, BatchTracer) and (top is None or x._trace.level > top.level):
            top = x._trace
    assert top is not None, "called only on values that hold a BatchTracer"
    return top


def elementwise(func: Any, inputs: Any, kwargs: dict[str, Any]) -> BatchTracer:
    """A broadcasting NumPy function: batch axes to the front, ranks aligned after them."""
    trace = _top(inputs)
    rank = max(len(shape_of(a)) for a in inputs)
    args = []
    for a in inputs:
        if isinstance(a, BatchTracer) and a._trace is trace:
            v = move(a.val, a.bdim, 0)
            s = shape_of(v)
            if len(s) - 1 < rank:
                v = v.reshape(s[:1] + (1,) * (rank + 1 - len(s)) + s[1:])
            a = v
        args.append(a)
    return BatchTracer(trace, func(*args, **kwargs), 0)


def reduction(func: Any, args: Any, kwargs: dict[str, Any]) -> BatchTracer:
    """``np.sum(x, axis, …)``-like: the batch axis to the front, the reduced axes shifted."""
    x, *rest = args
    trace = x._trace
    axis = kwargs.pop("axis", rest.pop(0) if rest else None)
    nd = x.ndim
    axes = (
        tuple(range(nd))
        if axis is None
        else ((axis,) if isinstance(axis, (int, np.integer)) else tuple(axis))
    )
    raw = tuple(int(a) % nd + 1 for a in axes) if nd else ()
    v = move(x.val, x.bdim, 0)
    if not raw:
        return BatchTracer(trace, v if func.__name__ != "count_nonzero" else (v != 0) * 1, 0)
    return BatchTracer(trace, func(v, raw, *rest, **kwargs), 0)


def along_axis(func: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    """``np.argsort(x, axis)``-like: the batch axis to the front, the axis shifted past it
    (``axis=None``, the flattened example, becomes axis 1 of a ``(B, -1)`` reshape)."""
    pos, default = AXIS_FUNCTIONS[func.__name__]
    args, kwargs = list(args), dict(kwargs)
    x = args[0]
    axis = args.pop(pos) if len(args) > pos else kwargs.pop("axis", default)
    v = move(x.val, x.bdim, 0)
    if axis is None:
        if kwargs.get("keepdims"):
            return per_example(func, [x, *args[1:]], dict(kwargs, axis=None))
        v, ax = v.reshape(shape_of(v)[0], -1), 1
    else:
        ax = int(axis) % x.ndim + 1
    return BatchTracer(x._trace, func(v, *args[1:], axis=ax, **kwargs), 0)


def per_example(func: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    """Any NumPy function: call it on each example and stack the results (correct, slow)."""
    trace = _top((args, kwargs))
    leaves, tree = tree_flatten((tuple(args), kwargs))
    results = []
    for b in range(trace.axis_size):
        lv = [
            take(x.val, b, x.bdim) if isinstance(x, BatchTracer) and x._trace is trace else x
            for x in leaves
        ]
        a, k = tree_unflatten(tree, lv)
        results.append(func(*a, **k))
    return stack_examples(results, trace, getattr(func, "__name__", "a NumPy function"))


def stack_examples(results: list[Any], trace: BatchTrace, what: str) -> Any:
    """Per-example results (arrays or tuples of arrays) as one batch tracer (batch axis 0)."""
    first = results[0]
    if isinstance(first, tuple):
        parts = [stack_examples([r[i] for r in results], trace, what) for i in range(len(first))]
        return type(first)(*parts) if hasattr(first, "_fields") else tuple(parts)
    if isinstance(first, (np.ndarray, np.generic, Tracer, int, float, bool, complex)):
        if any(isinstance(r, Tracer) for r in results):
            return BatchTracer(trace, stack(results), 0)
        return BatchTracer(trace, np.stack([np.asarray(r) for r in results]), 0)
    if all(r == first for r in results):
        return first
    raise TypeError(
        f"vmap: {what} returned {type(first).__name__} values that differ across the batch"
    )


def _meta_shape(func: Any, args: Any, kwargs: Any) -> Any:
    x = args[0]
    s = x.shape
    return {"shape": s, "ndim": len(s), "size": int(np.prod(s))}[func.__name__]


def _meta_dtype(func: Any, args: Any, kwargs: Any) -> Any:
    def dummy(x: Any) -> Any:
        return np.empty((0,), _dtype(x)) if isinstance(x, BatchTracer) else concrete(x)

    return func(*[dummy(a) for a in args], **kwargs)


METADATA = {
    "shape": _meta_shape,
    "ndim": _meta_shape,
    "size": _meta_shape,
    "result_type": _meta_dtype,
    "iscomplexobj": _meta_dtype,
    "isrealobj": _meta_dtype,
}
