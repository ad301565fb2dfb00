"""Proxies: the peer's objects on this side of the channel (see :mod:`.endpoint`).

Every Python operation on a :class:`Proxy` — a call, an attribute, an operator, ``len``,
``float``, NumPy's ``__array__`` and ufuncs — is a request to the object's owner; nothing of
the owner's code runs here. Calling the class of a proxy calls the peer's class.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .codec import ChannelError

if TYPE_CHECKING:
    from .endpoint import Endpoint

__all__ = ["BINARY", "DUNDERS", "Proxy"]

#: operators a proxy forwards (and their reflected forms), served with ``type(obj).<name>``
BINARY = (
    "add",
    "sub",
    "mul",
    "truediv",
    "floordiv",
    "mod",
    "pow",
    "matmul",
    "and",
    "or",
    "xor",
    "lshift",
    "rshift",
)
DUNDERS = frozenset(
    [f"__{n}__" for n in BINARY]
    + [f"__r{n}__" for n in BINARY]
    + [f"__{n}__" for n in ("lt", "le", "gt", "ge", "eq", "ne", "neg", "pos", "abs", "invert")]
)
#: dunder attributes a proxy asks for (the rest are answered locally: NumPy's probes…)
_NAMES = frozenset({"__name__", "__qualname__", "__module__", "__doc__"})


def _req(p: Proxy, op: str, *args: Any, **kwargs: Any) -> Any:
    ch = object.__getattribute__(p, "_ch")
    if ch.proxies.get(object.__getattribute__(p, "_h")) is not p:
        raise ChannelError("an object of the other side used after its check ended")
    if kwargs:
        return ch.request(op, h=p, a=args, k=kwargs)
    return ch.request(op, h=p, a=args)


def _make_proxy(cls: type, ch: Endpoint, h: int) -> Proxy:
    p: Proxy = object.__new__(cls)
    object.__setattr__(p, "_ch", ch)
    object.__setattr__(p, "_h", h)
    return p


class Proxy:
    """An object of the other side; operations on it are requests (see :class:`Endpoint`).
    Calling the class of a proxy (``type(x)(value, tangent)``) calls the peer's class."""

    __slots__ = ("__weakref__", "_ch", "_h")
    __array_priority__ = 1000
    _peer_class: Any = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls._peer_class is None:
            raise TypeError("an object of the other side cannot be made here")
        return cls._peer_class(*args, **kwargs)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # made by _make_proxy, or by the peer's class (see __new__)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__") and name not in _NAMES:  # probes
            raise AttributeError(name)
        ch = object.__getattribute__(self, "_ch")
        key = (object.__getattribute__(self, "_h"), name)
        hit = ch._methods.get(key)
        if hit is not None and hit[0] is self and ch.proxies.get(key[0]) is self:
            return hit[1]
        out = _req(self, "getattr", name)
        if ch._reply_same and isinstance(out, Proxy):
            # kept with its object until the check ends: the object is not released, so the
            # peer lends it again under the same handle and the method is found here
            ch._methods[key] = (self, out)
        return out

    def __setattr__(self, name: str, value: Any) -> None:
        _req(self, "setattr", name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _req(self, "call", *args, **kwargs)

    def __hash__(self) -> int:
        return hash((id(object.__getattribute__(self, "_ch")), object.__getattribute__(self, "_h")))

    def __repr__(self) -> str:
        try:
            return str(_req(self, "repr"))
        except Exception:
            return "<object of the other side>"

    def __str__(self) -> str:
        return str(_req(self, "str"))

    def __format__(self, spec: str) -> str:
        return str(_req(self, "format", spec))

    def __len__(self) -> int:
        return int(_req(self, "len"))

    def __iter__(self) -> Any:
        return _req(self, "iter")

    def __next__(self) -> Any:
        return _req(self, "next")

    def __getitem__(self, key: Any) -> Any:
        return _req(self, "getitem", key)

    def __setitem__(self, key: Any, value: Any) -> None:
        _req(self, "setitem", key, value)

    def __contains__(self, item: Any) -> bool:
        return bool(_req(self, "contains", item))

    def __bool__(self) -> bool:
        return bool(_req(self, "bool"))

    def __float__(self) -> float:
        return float(_req(self, "float"))

    def __int__(self) -> int:
        return int(_req(self, "int"))

    def __index__(self) -> int:
        return operator.index(_req(self, "index"))

    def __complex__(self) -> complex:
        return complex(_req(self, "complex"))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = _req(self, "array")
        a = np.asarray(a)
        return a if dtype is None else a.astype(dtype)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if kwargs.get("out") is not None:
            return NotImplemented
        return _req(
            self,
            "ufunc",
            ufunc.__name__,
            method,
            *inputs,
            **{k: v for k, v in kwargs.items() if k != "out"},
        )

    def __instancecheck__(self, instance: Any) -> bool:  # isinstance(x, <a proxied class>)
        return bool(_req(self, "instancecheck", instance))

    def __subclasscheck__(self, cls: Any) -> bool:
        return bool(_req(self, "subclasscheck", cls))

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("an object of the other side cannot be pickled or copied")

    def __round__(self, ndigits: int | None = None) -> Any:
        v = float(self)
        return round(v) if ndigits is None else round(v, ndigits)

    def __trunc__(self) -> int:
        return math.trunc(float(self))


def _forward(name: str) -> Callable[..., Any]:
    def method(self: Proxy, *args: Any) -> Any:
        return _req(self, name, *args)

    method.__name__ = name
    return method


for _name in DUNDERS:
    setattr(Proxy, _name, _forward(_name))
