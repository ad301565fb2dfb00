"""The owner's side of a request (see :mod:`.endpoint`): what an endpoint may serve on its own
objects (:class:`Policy`), the operations it serves with builtins and NumPy, and how an
exception crosses the channel (by its class's name and message: no object of the peer's).
"""

from __future__ import annotations

import linecache
import operator
import os
import re
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from .codec import ChannelError

__all__ = ["ChannelLost", "Policy", "RemoteError", "remote_exception"]

#: other operations, served with builtins on the owner's side
_BUILTINS: dict[str, Callable[..., Any]] = {
    "len": len,
    "iter": iter,
    "next": next,
    "bool": bool,
    "float": float,
    "int": int,
    "index": operator.index,
    "complex": complex,
    "getitem": operator.getitem,
    "setitem": operator.setitem,
    "contains": operator.contains,
    "format": format,
    "repr": repr,
    "str": str,
    "instancecheck": lambda cls, x: isinstance(x, cls),
    "subclasscheck": lambda cls, c: issubclass(c, cls),
}
_STR_CAP = 4000
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}\Z")


class ChannelLost(BaseException):
    """The peer went away mid-request (a check cannot catch it as the student's exception)."""


class RemoteError(RuntimeError):
    """An exception raised on the other side; its class is named as the original was."""


_BUILTIN_ERRORS = {
    e.__name__: e
    for e in (
        AttributeError,
        TypeError,
        ValueError,
        IndexError,
        KeyError,
        StopIteration,
        ZeroDivisionError,
        ArithmeticError,
        FloatingPointError,
        OverflowError,
        NotImplementedError,
        RecursionError,
        AssertionError,
        RuntimeError,
        LookupError,
        MemoryError,
    )
}
_REMOTE_CLASSES: dict[str, type] = {}


def remote_exception(kind: str, message: str, where: str = "") -> BaseException:
    """A local exception standing for the peer's ``kind: message`` (no code of the peer runs);
    ``channel_where`` is the peer's line that raised."""
    if kind in _BUILTIN_ERRORS:
        exc: BaseException = _BUILTIN_ERRORS[kind](message)
    else:
        if not _NAME.match(kind):
            kind = "RemoteError"
        cls = _REMOTE_CLASSES.get(kind)
        if cls is None:
            cls = _REMOTE_CLASSES[kind] = type(kind, (RemoteError,), {})
        exc = cls(message)
    exc.channel_where = where or None  # type: ignore[attr-defined]
    return exc


def _where(exc: BaseException) -> str:
    """``file, line N (in fn): text`` of the last frame in ``exc``'s traceback outside here."""
    here, found, tb = os.path.dirname(os.path.abspath(__file__)), None, exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if not os.path.abspath(code.co_filename).startswith(here):
            found = (code.co_filename, tb.tb_lineno, code.co_name)
        tb = tb.tb_next
    if found is None:
        return ""
    text = linecache.getline(found[0], found[1]).strip()
    where = f"{os.path.basename(found[0])}, line {found[1]}"
    where += f" (in {found[2]})" if found[2] != "<module>" else ""
    return f"{where}: {text}"[:_STR_CAP] if text else where


class Policy:
    """What an endpoint serves on its own objects. The default serves everything (the kernel)."""

    def type_of(self, obj: Any) -> type | None:
        """The class lent with ``obj`` (the peer's ``type(x)(…)`` constructs through it), or
        None; never ``type`` itself, builtins' or function types."""
        cls = type(obj)
        if cls is type or cls.__module__ == "builtins" or isinstance(obj, type):
            return None
        return cls

    def check_attr(self, obj: Any, name: str, write: bool) -> None:
        """Raise AttributeError if ``name`` of ``obj`` may not be read (or written)."""

    def check_call(self, obj: Any) -> None:
        """Raise TypeError if ``obj`` may not be called."""


_UFUNC_BINARY = {
    "add": "add",
    "subtract": "sub",
    "multiply": "mul",
    "divide": "truediv",
    "true_divide": "truediv",
    "floor_divide": "floordiv",
    "remainder": "mod",
    "power": "pow",
    "matmul": "matmul",
}
_UFUNC_COMPARE = {
    "less": ("lt", "gt"),
    "less_equal": ("le", "ge"),
    "greater": ("gt", "lt"),
    "greater_equal": ("ge", "le"),
    "equal": ("eq", "eq"),
    "not_equal": ("ne", "ne"),
}
_UFUNC_UNARY = {"negative": "neg", "positive": "pos", "absolute": "abs"}


def _operator(obj: Any, name: str, inputs: list[Any]) -> Any:
    """What Python's operators do for ``obj`` whose class opts out of ufuncs
    (``__array_ufunc__ = None``): an array on the other side deferred to it."""
    cls = type(obj)
    if name in _UFUNC_UNARY and len(inputs) == 1:
        return getattr(cls, f"__{_UFUNC_UNARY[name]}__")(obj)
    if len(inputs) == 2 and (name in _UFUNC_BINARY or name in _UFUNC_COMPARE):
        fwd, rev = (
            (_UFUNC_BINARY[name], "r" + _UFUNC_BINARY[name])
            if name in _UFUNC_BINARY
            else _UFUNC_COMPARE[name]
        )
        a, b = inputs
        dunder, other = (fwd, b) if a is obj else (rev, a)
        fn = getattr(cls, f"__{dunder}__", None)
        out = NotImplemented if fn is None else fn(obj, other)
        if out is not NotImplemented:
            return out
    raise TypeError(f"operand {cls.__name__!r} does not support ufuncs (__array_ufunc__=None)")


def _ufunc(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``np.<name>.<method>(*inputs)`` where one of the inputs is this side's ``obj``."""
    name, method, *inputs = args
    uf = getattr(np, name, None) if isinstance(name, str) and _NAME.match(name) else None
    if not isinstance(uf, np.ufunc) or method not in ("__call__", "reduce", "accumulate", "outer"):
        raise TypeError(f"not a NumPy ufunc: {name}.{method}")
    if getattr(type(obj), "__array_ufunc__", False) is None and method == "__call__":
        return _operator(obj, name, inputs)
    kwargs = {k: v for k, v in kwargs.items() if k in ("axis", "dtype", "keepdims")}
    return getattr(uf, method)(*inputs, **kwargs)


def _same_method(obj: Any, name: str, value: Any) -> bool:
    """Whether ``getattr(obj, name)`` gives this method every time: a function of ``obj``'s
    class bound to ``obj``, found by the default lookup, on an object without a ``__dict__``
    (nothing can rebind the name on it), e.g. a NumPy ``Generator``'s ``normal``."""
    return (
        type(value) is types.MethodType
        and value.__self__ is obj
        and not hasattr(obj, "__dict__")
        and type(obj).__getattribute__ is object.__getattribute__
        and getattr(type(obj), name, None) is value.__func__
    )


def _no_handles(*handle: Any) -> Any:
    raise ChannelError("a malformed message: a handle among released handles")


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= _STR_CAP else text[:_STR_CAP] + "…"
