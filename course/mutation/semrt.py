"""Run-time wrappers of the semantic mutants (:mod:`.semantic`): each takes a student's function
and returns one that computes the same thing but is wrong in the way code that keeps state is
wrong — a cache keyed by shapes only, a returned view of a buffer that the next call overwrites,
an argument moved in place, an argument replaced by its default, a generator reseeded on every
call, an accumulator never reset, a returned function that breaks or goes stale on its second
call, a backward pass that reads the last forward pass's residuals instead of its own.

:data:`FIRED` records which wrappers actually changed something (a mutant whose wrapper never
fired under the checks is *not applicable*, not a survivor). :func:`profile` records how the
checks call a function (what the operators can apply to).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "FIRED",
    "PROFILE",
    "accumulate",
    "alias",
    "cache_inputs",
    "cache_result",
    "identity",
    "ignore_default",
    "latest_closure",
    "mutate_arg",
    "profile",
    "reseed",
    "returned_once",
    "use_last_forward",
]

FIRED: set[str] = set()
PROFILE: dict[str, dict[str, Any]] = {}
Fn = Callable[..., Any]


def _key(x: Any) -> Any:
    """What a wrongly keyed cache looks at: shapes and types, never values or identities."""
    if isinstance(x, np.ndarray):
        return ("a", x.shape, x.dtype.str)
    if isinstance(x, (list, tuple)):
        return ("s", len(x), tuple(_key(v) for v in x))
    if isinstance(x, (bool, int, float, complex, str, type(None))):
        return ("n", type(x).__name__)
    return ("o", type(x).__name__)


def _map(x: Any, f: Callable[[Any, tuple], Any], path: tuple = ()) -> Any:
    """``x`` with every array or float leaf ``v`` (at ``path``) replaced by ``f(v, path)``."""
    if isinstance(x, np.ndarray) and x.dtype.kind in "fc":
        return f(x, path)
    if isinstance(x, (float, np.floating)) and not isinstance(x, bool):
        return f(x, path)
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return tuple(_map(v, f, (*path, i)) for i, v in enumerate(x))
    if isinstance(x, list):
        return [_map(v, f, (*path, i)) for i, v in enumerate(x)]
    if isinstance(x, dict):
        return {k: _map(v, f, (*path, k)) for k, v in x.items()}
    return x


def identity(fn: Fn, name: str) -> Fn:
    """The control: a wrapper that changes nothing (its mutant must survive)."""

    @functools.wraps(fn)
    def w(*a: Any, **k: Any) -> Any:
        return fn(*a, **k)

    return w


def cache_result(fn: Fn, name: str) -> Fn:
    """The first result for each combination of argument *shapes* is returned ever after."""
    store: dict[Any, Any] = {}

    @functools.wraps(fn)
    def w(*a: Any, **k: Any) -> Any:
        key = (_key(a), tuple(sorted((n, _key(v)) for n, v in k.items())))
        if key in store:
            FIRED.add(name)
            return store[key]
        store[key] = out = fn(*a, **k)
        return out

    return w


def cache_inputs(fn: Fn, name: str) -> Fn:
    """The first call's array arguments are kept and used again by later calls of equal shape."""
    first: dict[tuple, np.ndarray] = {}

    @functools.wraps(fn)
    def w(*a: Any, **k: Any) -> Any:
        args = list(a)
        for i, v in enumerate(args):
            if isinstance(v, np.ndarray) and v.dtype.kind in "fc":
                kept = first.setdefault((i, v.shape), v.copy())
                if not np.array_equal(kept, v):
                    args[i] = kept
                    FIRED.add(name)
        return fn(*args, **k)

    return w


def alias(fn: Fn, name: str) -> Fn:
    """Returned arrays are one internal buffer per output, overwritten by the next call."""
    bufs: dict[tuple, np.ndarray] = {}

    def put(v: Any, path: tuple) -> Any:
        if not isinstance(v, np.ndarray):
            return v
        b = bufs.get(path)
        if b is None or b.shape != v.shape or b.dtype != v.dtype:
            b = bufs[path] = np.empty_like(v)
        else:
            FIRED.add(name)
        b[...] = v
        return b

    @functools.wraps(fn)
    def w(*a: Any, **k: Any) -> Any:
        return _map(fn(*a, **k), put)

    return w


def mutate_arg(fn: Fn, name: str) -> Fn:
    """After computing its result the function moves its first movable argument in place
    (an array: += 1; a list: emptied; an object with a ``value``: value + 1)."""

    @functools.wraps(fn)
    def w(*a: Any, **k: Any) -> Any:
        out = fn(*a, **k)
        for v in (*a, *k.values()):
            if isinstance(v, np.ndarray) and v.dtype.kind in "fc" and v.flags.writeable and v.size:
                v += 1.0
            elif isinstance(v, list) and v:
                v.clear()
            elif hasattr(v, "__dict__") and isinstance(
                getattr(v, "value", None), (float, np.ndarray)
            ):
                try:
                    v.value = v.value + 1.0
                except (AttributeError, TypeError):
                    continue
            else:
                continue
            FIRED.add(name)
            break
        return out

    return w


def ignore_default(fn: Fn, name: str, param: str) -> Fn:
    """The argument ``param`` is ignored: the function always uses its default."""
    sig = inspect.signature(fn)
    default = sig.parameters[param].default

    @functools.wraps(fn)
    def w(*a: Any, **k: Any) -> Any:
        bound = sig.bind(*a, **k)
        if param in bound.arguments:
            given = bound.arguments[param]
            if not (given is default or _same(given, default)):
                FIRED.add(name)
            bound.arguments[param] = default
        return fn(*bound.args, **bound.kwargs)

    return w


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.all(np.asarray(a) == np.asarray(b))) and type(a) is type(b)
    except (TypeError, ValueError):
        return False


def reseed(fn: Fn, name: str) -> Fn:
    """Every random generator argument is replaced by ``np.random.default_rng(0)``."""

    @functools.wraps(fn)
    def w(*a: Any, **k: Any) -> Any:
        def swap(v: Any) -> Any:
            if isinstance(v, np.random.Generator):
                FIRED.add(name)
                return np.random.default_rng(0)
            return v

        return fn(*(swap(v) for v in a), **{n: swap(v) for n, v in k.items()})

    return w


def accumulate(fn: Fn, name: str) -> Fn:
    """State never reset: each result is added to the sum of the earlier ones of its shape."""
    acc: dict[Any, Any] = {}

    @functools.wraps(fn)
    def w(*a: Any, **k: Any) -> Any:
        def add(v: Any, path: tuple) -> Any:
            key = (path, np.shape(v))
            if key in acc:
                FIRED.add(name)
                acc[key] = acc[key] + v
            else:
                acc[key] = v * 1.0
            return acc[key] * 1.0 if isinstance(v, np.ndarray) else type(v)(acc[key])

        return _map(fn(*a, **k), add)

    return w


def _callables(out: Any, wrap: Callable[[Fn], Fn]) -> Any:
    if callable(out) and not isinstance(out, type):
        return wrap(out)
    if isinstance(out, tuple):
        return tuple(_callables(v, wrap) for v in out)
    return out


def returned_once(fn: Fn, name: str, stale: bool) -> Fn:
    """A returned function breaks on its second call: it raises, or (``stale``) it returns
    its first result again."""

    def wrap(g: Fn) -> Fn:
        first: list[Any] = []

        @functools.wraps(g)
        def once(*a: Any, **k: Any) -> Any:
            if first:
                FIRED.add(name)
                if not stale:
                    raise RuntimeError("this function can only be called once")
                return first[0]
            first.append(g(*a, **k))
            return first[0]

        return once

    @functools.wraps(fn)
    def w(*a: Any, **k: Any) -> Any:
        return _callables(fn(*a, **k), wrap)

    return w


def latest_closure(fn: Fn, name: str) -> Fn:
    """Every returned function runs the most recently returned one (state kept in a global)."""
    latest: list[Fn] = []

    def wrap(g: Fn) -> Fn:
        latest[:] = [g]

        @functools.wraps(g)
        def current(*a: Any, **k: Any) -> Any:
            if latest[0] is not g:
                FIRED.add(name)
            return latest[0](*a, **k)

        return current

    @functools.wraps(fn)
    def w(*a: Any, **k: Any) -> Any:
        return _callables(fn(*a, **k), wrap)

    return w


def use_last_forward(fwd: Fn, bwd: Fn, name: str, arg: int, part: int | None) -> tuple[Fn, Fn]:
    """Works only when forward and backward alternate: the backward pass ignores the residuals
    it is given (argument ``arg``) and reads those of the last forward pass."""
    last: list[Any] = []

    @functools.wraps(fwd)
    def f(*a: Any, **k: Any) -> Any:
        out = fwd(*a, **k)
        last[:] = [out if part is None else out[part]]
        return out

    @functools.wraps(bwd)
    def b(*a: Any, **k: Any) -> Any:
        args = list(a)
        if last and len(args) > arg:
            if args[arg] is not last[0]:
                FIRED.add(name)
            args[arg] = last[0]
        return bwd(*args, **k)

    return f, b


def profile(fn: Fn, name: str) -> Fn:
    """Record how ``fn`` is called: array/list/object arguments, generators, non-default
    arguments, what it returns."""
    sig = inspect.signature(fn)
    rec = PROFILE.setdefault(
        name,
        {
            "calls": 0,
            "movable": False,
            "rng": False,
            "arrays_in": False,
            "arrays_out": False,
            "ndarray_out": False,
            "callable_out": False,
            "non_default": [],
        },
    )

    @functools.wraps(fn)
    def w(*a: Any, **k: Any) -> Any:
        rec["calls"] += 1
        for v in (*a, *k.values()):
            if isinstance(v, (np.ndarray, list)) or (
                hasattr(v, "__dict__")
                and isinstance(getattr(v, "value", None), (float, np.ndarray))
            ):
                rec["movable"] = True
            if isinstance(v, np.random.Generator):
                rec["rng"] = True
            if isinstance(v, np.ndarray) and v.dtype.kind in "fc":
                rec["arrays_in"] = True
        try:
            bound = sig.bind(*a, **k)
        except TypeError:
            bound = None
        if bound is not None:
            for p, v in bound.arguments.items():
                d = sig.parameters[p].default
                if (
                    d is not inspect.Parameter.empty
                    and not _same(v, d)
                    and p not in rec["non_default"]
                ):
                    rec["non_default"].append(p)
        out = fn(*a, **k)
        leaves: list[Any] = []

        def keep(v: Any, _p: tuple) -> Any:
            leaves.append(v)
            return v

        _map(out, keep)
        rec["arrays_out"] |= bool(leaves)
        rec["ndarray_out"] |= any(isinstance(v, np.ndarray) for v in leaves)
        rec["callable_out"] |= (callable(out) and not isinstance(out, type)) or (
            isinstance(out, tuple) and any(callable(v) for v in out)
        )
        return out

    return w
