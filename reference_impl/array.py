"""Immutable results, as in JAX: the arrays the engine hands back cannot be changed in place.

NumPy arrays are mutable, so without care ``p -= lr * g; path.append(p)`` would store one array
many times (JAX rebinds ``p`` to a new array), and ``rnp.asarray(x)`` would hand back the
caller's own array, which a later ``x[0] = 1`` changes. The engine therefore returns
:class:`Array`, a read-only ``numpy.ndarray`` subclass that behaves as an ndarray everywhere
except that

* ``a += b`` (and every other augmented assignment) *rebinds* ``a`` to ``a + b``, as in JAX;
* ``a[idx] = v`` raises and says what to write instead, ``a = a.at[idx].set(v)``;
* ``a.at[idx].set/add/multiply/min/max/get`` are JAX's out-of-place updates (differentiable);
* its ``repr`` is NumPy's (``array([1., 2.])``).

What is returned never shares memory with an array the caller can still write: a result that
*is* an argument, or a view into one, is copied; a fresh result is only wrapped (a view, no
copy). Inside a transformation (``grad``, ``vjp``, ``jvp``, ``vmap``) values stay plain NumPy
arrays (no cost on the hot path); the transformation freezes its outputs when it returns.

Arithmetic on an :class:`Array` outside the engine (``a + 1``, ``np.sin(a)``, ``a.sum(0)``,
``a.mean()``, ``np.median(a)``, ``a[[0, 2]]``…) gives a read-only :class:`Array` too, so
``q = a + 1; q[0] = 5`` raises like ``a[0] = 5``. NumPy's own functions and ``mean``/``var``/``std`` write
into their temporaries: while they run (``_NUMPY.depth`` > 0) results stay writeable, and
what they return is frozen afterwards. ``np.copy``/``np.*_like`` keep NumPy's meaning (a
buffer to fill), as do ``a.copy()``/``a.astype()`` (NumPy and the engine write into such
copies), and a NumPy function that returns a plain ``ndarray`` still does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .tree_util import tree_flatten, tree_unflatten

__all__ = ["STATE", "Array", "freeze", "freeze_tree", "frozen_results", "transformation"]

_IMMUTABLE = (
    "reference_impl arrays are immutable, like JAX arrays: instead of "
    "``x[idx] = y`` write ``x = x.at[idx].set(y)`` (or ``.add``, ``.multiply``, "
    "``.min``, ``.max``); for a mutable copy use ``numpy.array(x)``"
)


class _State:
    """``depth`` > 0 while a transformation runs: its intermediate values are not frozen."""

    __slots__ = ("depth",)

    def __init__(self) -> None:
        self.depth = 0


STATE = _State()
_NUMPY = _State()  # depth > 0 while one of NumPy's functions runs on an Array

# NumPy functions whose result is meant to be written (a buffer or a mutable copy)
_BUFFERS = frozenset(
    f.__name__ for f in (np.copy, np.empty_like, np.zeros_like, np.ones_like, np.full_like)
)


def _freeze_fresh(r: Any, given: Any) -> Any:
    """Make the writeable :class:`Array` objects in ``r`` (a result, or a tuple/list of them)
    read-only, except those the caller passed in (``given``: e.g. an ``out=`` buffer)."""
    for x in r if isinstance(r, (tuple, list)) else (r,):
        if type(x) is Array and x.flags.writeable and not any(x is g for g in given):
            x.flags.writeable = False
    return r


def _inside_numpy(method: Callable[..., Any]) -> Callable[..., Any]:
    """An ndarray method that writes into its own temporaries (``mean``, ``var``, ``std``): run
    it with NumPy's semantics, then freeze its result."""

    @functools.wraps(method)
    def frozen(self: Array, *args: Any, **kwargs: Any) -> Any:
        _NUMPY.depth += 1
        try:
            r = method(self, *args, **kwargs)
        finally:
            _NUMPY.depth -= 1
        return r if _NUMPY.depth else _freeze_fresh(r, (*args, *kwargs.values()))

    return frozen


def _rebinding(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def inplace(self: Array, other: Any) -> Any:
        return op(self, other)

    inplace.__name__ = f"__i{op.__name__.strip('_')}__"
    inplace.__doc__ = "``a op= b`` rebinds ``a`` to a new array (JAX's semantics)."
    return inplace


class Array(np.ndarray):
    """A read-only NumPy array returned by the engine (see the module docstring)."""

    __iadd__ = _rebinding(np.ndarray.__add__)
    __isub__ = _rebinding(np.ndarray.__sub__)
    __imul__ = _rebinding(np.ndarray.__mul__)
    __itruediv__ = _rebinding(np.ndarray.__truediv__)
    __ifloordiv__ = _rebinding(np.ndarray.__floordiv__)
    __imod__ = _rebinding(np.ndarray.__mod__)
    __ipow__ = _rebinding(np.ndarray.__pow__)
    __imatmul__ = _rebinding(np.ndarray.__matmul__)
    __iand__ = _rebinding(np.ndarray.__and__)
    __ior__ = _rebinding(np.ndarray.__or__)
    __ixor__ = _rebinding(np.ndarray.__xor__)
    __ilshift__ = _rebinding(np.ndarray.__lshift__)
    __irshift__ = _rebinding(np.ndarray.__rshift__)

    def __getitem__(self, idx: Any) -> Any:
        r = super().__getitem__(idx)  # a view of a read-only array is read-only already
        if type(r) is Array and r.flags.writeable and not _NUMPY.depth and self is not r:
            r.flags.writeable = False  # advanced indexing: a fresh copy
        return r

    def __setitem__(self, idx: Any, value: Any) -> None:
        if not self.flags.writeable:
            raise TypeError(
                f"'{type(self).__name__}' object does not support item assignment: " + _IMMUTABLE
            )
        super().__setitem__(idx, value)

    def __array_wrap__(
        self, arr: np.ndarray, context: Any = None, return_scalar: bool = False
    ) -> Any:
        if return_scalar:  # a full reduction gives a NumPy scalar, as for a plain ndarray
            return arr[()]
        r = super().__array_wrap__(arr, context, return_scalar)
        if type(arr) is np.ndarray and not _NUMPY.depth:  # a fresh result (not an out= array)
            r.flags.writeable = False
        return r

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        _NUMPY.depth += 1
        try:
            r = super().__array_function__(func, types, args, kwargs)
        finally:
            _NUMPY.depth -= 1
        if r is NotImplemented or _NUMPY.depth or func.__name__ in _BUFFERS:
            return r  # (called by another NumPy function: it may write into r)
        return _freeze_fresh(r, (*args, *kwargs.values()))

    mean = _inside_numpy(np.ndarray.mean)
    var = _inside_numpy(np.ndarray.var)
    std = _inside_numpy(np.ndarray.std)

    def __repr__(self) -> str:
        return repr(self.view(np.ndarray))

    def __reduce__(self) -> Any:  # pickles (and deep-copies) as a plain ndarray
        return np.ndarray.__reduce__(np.array(self.view(np.ndarray)))

    # copies are plain ndarrays on purpose; NumPy's stubs say a copy has the type of self
    def __copy__(self) -> np.ndarray:  # type: ignore[override]
        return np.array(self.view(np.ndarray))

    def __deepcopy__(self, memo: Any) -> np.ndarray:  # type: ignore[override]
        return np.array(self.view(np.ndarray))

    # ``x.at[idx].set(v)`` (out-of-place updates) is attached in :mod:`reference_impl.numpy`,
    # next to the tracers' operators: it calls the engine's primitives.


def _owner(a: np.ndarray) -> np.ndarray | None:
    """The array whose memory ``a`` views, or ``None`` if that memory is immutable (a frozen
    :class:`Array`: NumPy keeps the subclass in the ``base`` chain, so views stop there)."""
    while True:
        if type(a) is Array and not a.flags.writeable:
            return None
        b = a.base
        if not isinstance(b, np.ndarray):
            return a
        a = b


def _wrap(r: np.ndarray) -> Array:
    v = r.view(Array)
    v.flags.writeable = False
    return v


def freeze(r: Any, args: Any = ()) -> Any:
    """``r`` as a frozen :class:`Array`; copied if it is, or views, an array among ``args``
    (the caller's, which the caller may still write). Non-arrays pass through."""
    t = type(r)
    if t is not np.ndarray and t is not Array:
        return r
    if t is Array and not r.flags.writeable:
        return r
    if r.base is None:
        for a in args:
            if a is r:
                return _wrap(r.copy())
        return _wrap(r)
    owner = _owner(r)
    if owner is None:
        return _wrap(r)
    roots = {id(_owner(a)) for a in _arrays(args)}
    if id(owner) in roots or owner.base is not None:  # the caller's, or foreign memory
        return _wrap(r.copy())
    return _wrap(r)


def _arrays(tree: Any) -> list[np.ndarray]:
    """The NumPy arrays among (nested tuples, lists and dicts of) ``tree``."""
    out: list[np.ndarray] = []
    stack = [tree]
    while stack:
        t = stack.pop()
        if isinstance(t, np.ndarray):
            out.append(t)
        elif isinstance(t, (tuple, list)):
            stack.extend(t)
        elif isinstance(t, dict):
            stack.extend(t.values())
        elif hasattr(t, "__dict__") and not callable(t):
            stack.extend(v for v in vars(t).values() if isinstance(v, (np.ndarray, tuple, list)))
    return out


def freeze_tree(tree: Any, args: Any = ()) -> Any:
    """:func:`freeze` every array leaf of ``tree`` (a pytree), against the arrays in ``args``."""
    if type(tree) in (float, int, bool, complex, np.float64):
        return tree
    if isinstance(tree, np.ndarray):
        return freeze(tree, _arrays(args))
    leaves, treedef = tree_flatten(tree)
    if not any(
        isinstance(x, np.ndarray) and not (type(x) is Array and not x.flags.writeable)
        for x in leaves
    ):
        return tree
    user = _arrays(args)
    return tree_unflatten(treedef, [freeze(x, user) for x in leaves])


def transformation(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``fun`` as a transformed function (``grad(f)``, ``vmap(f)``, ``vjp_fn`` …): while
    it runs the engine's values stay plain arrays; what it returns to the caller is frozen."""

    @functools.wraps(fun)
    def transformed(*args: Any, **kwargs: Any) -> Any:
        state = STATE
        state.depth += 1
        try:
            out = fun(*args, **kwargs)
        finally:
            state.depth -= 1
        if state.depth:
            return out
        return freeze_tree(out, (args, kwargs))

    return transformed


def frozen_results(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a public array function: called by the user (not inside a transformation), its
    array results are frozen (:func:`freeze`), copied where they alias an argument."""

    @functools.wraps(fun)
    def public(*args: Any, **kwargs: Any) -> Any:
        out = fun(*args, **kwargs)
        if STATE.depth:
            return out
        if isinstance(out, (tuple, list)):
            user = _arrays((args, kwargs))
            frozen = [freeze(o, user) for o in out]
            if type(out) is list:
                return frozen
            return type(out)(*frozen) if hasattr(out, "_fields") else tuple(frozen)
        return freeze(out, _arrays((args, kwargs)) if isinstance(out, np.ndarray) else ())

    public.__wrapped_public__ = True  # type: ignore[attr-defined]
    return public


def freeze_namespace(namespace: dict[str, Any], module: str) -> None:
    """Apply :func:`frozen_results` to every public plain function of ``namespace`` (a module's
    ``globals()``) that is not a primitive (primitives freeze their own results)."""
    import types

    for name, value in list(namespace.items()):
        if name.startswith("_") or not isinstance(value, types.FunctionType):
            continue
        if getattr(value, "__wrapped_public__", False):
            continue
        namespace[name] = frozen_results(value)
