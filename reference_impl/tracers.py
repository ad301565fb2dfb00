"""Tracers: the values a transformation carries through a function, and how to look inside.

A :class:`Trace` is one running transformation (``jvp``, ``grad``, ``vmap``…); its ``level``
orders nested transformations (the inner one is higher). A :class:`Tracer` is a value of one
trace; ``val`` is the value one level down, which may itself be a tracer of an outer
transformation. :func:`concrete` strips all the levels. NumPy functions called on a tracer are
refused with a message that says what to call instead (:func:`plain_numpy_message`).
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "Trace",
    "Tracer",
    "concrete",
    "describe",
    "is_complex",
    "plain_numpy_message",
    "shape_of",
]

_levels = itertools.count(1)


class Trace:
    """One running transformation; ``level`` orders nested transformations (inner = higher)."""

    __slots__ = ("level",)

    def __init__(self) -> None:
        self.level = next(_levels)

    def process(self, prim: Any, args: Sequence[Any], params: dict[str, Any]) -> Any:
        """Apply primitive ``prim`` to ``args``, some of which are this trace's tracers."""
        raise NotImplementedError


class Tracer:
    """A value carried through a transformation. ``val`` is the value one level down.

    Operators and array methods (``+``, ``@``, ``.T``, indexing…) are attached in
    :mod:`reference_impl.numpy`. Python control flow works on the concrete value inside.
    """

    __slots__ = ("_trace", "val")
    _trace: Trace
    val: Any
    __array_priority__ = 100
    _batched = False  # True for vmap's BatchTracer: its value is a whole batch

    @property
    def shape(self) -> tuple[int, ...]:
        return shape_of(concrete(self))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def dtype(self) -> np.dtype:
        v = concrete(self)
        return v.dtype if isinstance(v, (np.ndarray, np.generic, Tracer)) else np.result_type(v)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d traced array")
        return self.shape[0]

    def __iter__(self) -> Iterator[Any]:
        # __getitem__ is attached in reference_impl.numpy, where mypy does not see it
        return (self[i] for i in range(len(self)))  # type: ignore[index]

    def __bool__(self) -> bool:
        return bool(concrete(self))

    def __float__(self) -> float:
        return float(concrete(self))

    def __int__(self) -> int:
        return int(concrete(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(level={self._trace.level}, {concrete(self)!r})"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(
            f"A plain NumPy function tried to convert a traced value ({describe(self)}) into a "
            "numpy.ndarray. Inside a function being differentiated use reference_impl.numpy "
            "(import reference_impl.numpy as rnp; rnp.sin(x)) instead of numpy. "
            "To read the value without its derivative, use reference_impl.concrete(x)."
        )

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        name = getattr(func, "__name__", str(func))
        if name in _METADATA_FUNCTIONS:  # shape queries do not need the derivative
            return func(*[concrete(a) for a in args], **kwargs)
        module = getattr(func, "__module__", "numpy") or "numpy"
        sub = ".".join(p for p in module.split(".")[1:] if not p.startswith("_"))
        raise TypeError(plain_numpy_message(f"{sub}.{name}" if sub else name, self))

    # ``__array_ufunc__`` (``ndarray + tracer``) and the operators (``+``, ``@``, ``.T``,
    # indexing…) are attached in :mod:`reference_impl.numpy`, next to the primitives they call.


_METADATA_FUNCTIONS = frozenset(
    {"shape", "ndim", "size", "result_type", "iscomplexobj", "isrealobj"}
)


def concrete(x: Any) -> Any:
    """The plain NumPy value inside any number of nested tracers.

    Under ``vmap`` a value is a whole batch: there ``concrete`` stops at the batch tracer and
    returns it without its derivatives (a batch tracer whose NumPy operations are batched, see
    :mod:`reference_impl.batching`), so comparisons and masks stay per example.
    """
    while isinstance(x, Tracer):
        if x._batched:
            # only vmap's BatchTracer sets _batched, and it defines without_derivatives
            return x.without_derivatives()  # type: ignore[attr-defined]
        x = x.val
    return x


def describe(x: Any) -> str:
    """``float64[3, 2]``: the dtype and shape of a (traced) value, for error messages."""
    v = concrete(x)
    if not isinstance(v, (np.ndarray, np.generic, Tracer)):
        v = np.asarray(v)
    return f"{v.dtype}{list(v.shape)}"


#: the dtypes NumPy gives Python scalars (``np.result_type(0.1)`` …), looked up, not computed
_PY_DTYPES: dict[type, np.dtype] = {t: np.result_type(t(0)) for t in (bool, int, float, complex)}


def shape_of(x: Any) -> tuple[int, ...]:
    """``np.shape(x)``, fast for arrays, NumPy scalars, tracers (which have ``.shape``) and
    Python scalars."""
    shape = getattr(x, "shape", None)
    if shape is not None:
        return shape
    return () if type(x) in _PY_DTYPES else np.shape(x)


def is_complex(x: Any) -> bool:
    """``np.iscomplexobj(x)`` without NumPy's function dispatch, which on every call looks up
    ``__array_function__`` on ``type(x)`` and, for ``np.float64``, builds and discards an
    ``AttributeError`` (≈ 2,000 machine instructions, 4 % of a scalar reverse-mode step)."""
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    if kind is not None:
        return kind == "c"
    return type(x) is complex if type(x) in _PY_DTYPES else np.iscomplexobj(x)


def plain_numpy_message(name: str, x: Tracer) -> str:
    """Like JAX's TracerArrayConversionError: say what happened and what to call instead."""
    module, _, attr = f"reference_impl.numpy.{name}".rpartition(".")
    available = hasattr(sys.modules.get(module), attr)
    advice = (
        f"Use reference_impl.numpy.{name} (import reference_impl.numpy as rnp; rnp.{name}) instead."
        if available
        else f"reference_impl.numpy has no {name}: write it with reference_impl.numpy's "
        "operations, or define a primitive with its rules (reference_impl.core.primitive, "
        "defjvp, defvjp)."
    )
    return (
        f"numpy.{name} was called on a traced value ({describe(x)}) inside a function "
        f"being differentiated; NumPy cannot differentiate it. {advice} "
        "To read the value without its derivative, use reference_impl.concrete(x)."
    )
