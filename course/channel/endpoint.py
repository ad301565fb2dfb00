"""One end of the channel: a handle table, proxies of the peer's objects, re-entrant requests.

Both ends are the same :class:`Endpoint`; they differ in what they *serve* (a :class:`Policy`):
the kernel serves every request on its own objects (the checker is trusted), the checker serves
only the calls, public attributes and operators of the objects it handed over.

A request is sent and then, until its reply comes, the endpoint serves the peer's requests (the
checker calls a student function, which calls back a function the checker handed over, which
calls a student method…): one socket, strictly nested, no threads.
"""

from __future__ import annotations

import itertools
import linecache
import math
import operator
import os
import re
import socket
import struct
import types
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from .codec import MAX_FRAME, ChannelError, decode, decode_frame, frame_parts

__all__ = ["DUNDERS", "ChannelLost", "Endpoint", "Policy", "Proxy", "RemoteError"]

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
#: dunder attributes a proxy asks for (the rest are answered locally: NumPy's probes…)
_NAMES = frozenset({"__name__", "__qualname__", "__module__", "__doc__"})
_STR_CAP = 4000
_READ_BUFFER = 1 << 18  #: bytes of an endpoint's reusable read buffer
_IOV_MAX = 1024
_FRAME_LEN = struct.Struct(">I")
_Q = struct.Struct("<q")
_RECEIVER = b"r"[0]
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


class Endpoint:
    """A socket, a table of own objects lent to the peer, and the peer's objects as proxies."""

    def __init__(
        self,
        sock: socket.socket,
        policy: Policy | None = None,
        extra: dict[str, Callable[..., Any]] | None = None,
    ):
        self.sock = sock
        self.policy = policy or Policy()
        self.extra = extra or {}  # more ops: name -> fn(endpoint, header-args…)
        self.own: dict[int, Any] = {}  # handle -> own object lent to the peer
        self.own_ids: dict[int, int] = {}  # id(object) -> handle
        # peer's handle -> its proxy here, weakly: a dropped proxy is released on the owner's
        # side with the next message ("rel"), so the owner sees what the other side still holds
        self.proxies: weakref.WeakValueDictionary[int, Proxy] = weakref.WeakValueDictionary()
        self._released: list[int] = []
        self.classes: dict[int, type] = {}  # peer's class handle -> the proxies' class here
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)
        self.requests = 0  # sent (for the cost figures)
        self.served = 0
        # (object, method) proxies per (handle, name) where the peer said that every later
        # getattr gives the same method (see _same_method): one round trip per call of
        # rng.normal instead of two, also when rng is handed over again
        self._methods: dict[tuple[int, str], tuple[Proxy, Proxy]] = {}
        self._reply_same = False  # the last reply received said so
        self._serve_same = False  # the getattr just served gives the same method every time
        # the read buffer: bytes received and not yet used are _rbuf[_rpos:_rend]
        self._rbuf = bytearray(_READ_BUFFER)
        self._rview = memoryview(self._rbuf)
        self._rpos = self._rend = 0

    # -- handles ----------------------------------------------------------------------------
    def _lend(self, obj: Any) -> int:
        h = self.own_ids.get(id(obj))
        if h is None or self.own.get(h) is not obj:
            h = next(self._ids)
            self.own[h], self.own_ids[id(obj)] = obj, h
        return h

    def _handle(self, obj: Any) -> list[Any]:
        if isinstance(obj, Proxy):
            if object.__getattribute__(obj, "_ch") is not self:
                raise ChannelError("an object of another channel")
            return ["r", object.__getattribute__(obj, "_h")]
        cls = self.policy.type_of(obj)
        if cls is None:
            return ["h", self._lend(obj)]
        return ["h", self._lend(obj), self._lend(cls), str(cls.__name__)[:100]]

    def _resolve(self, tag: str, h: int, tid: int | None = None, name: str = "") -> Any:
        if tag == "r":
            if h not in self.own:
                raise ChannelError(f"a stale or unknown handle {h} (released after its check)")
            return self.own[h]
        p = self.proxies.get(h)
        if p is None:
            p = _make_proxy(self._proxy_class(tid, name), self, h)
            self.proxies[h] = p
            if h in self._released:  # lent again before its release was sent
                self._released.remove(h)
            weakref.finalize(p, self._released.append, h)
        return p

    def _proxy_class(self, tid: int | None, name: str) -> type:
        """``Proxy`` or, for an object whose class was lent, one subclass per class: so
        ``type(x)(…)`` constructs through the peer's class and ``type(x) is type(y)`` holds."""
        if tid is None:
            return Proxy
        cls = self.classes.get(tid)
        if cls is None:
            name = name if _NAME.match(name) else "Proxy"
            cls = self.classes[tid] = type(
                name,
                (Proxy,),
                {
                    "__slots__": (),
                    "_peer_class": self._resolve("h", tid),
                    "__module__": "course.channel.proxy",
                },
            )
        return cls

    def release_all(self) -> None:
        """Forget every lent object and every proxy (at the end of a check, on both sides)."""
        self.own.clear()
        self.own_ids.clear()
        self.proxies.clear()
        self._methods.clear()
        self.classes.clear()
        self._released.clear()

    # -- frames -----------------------------------------------------------------------------
    def send(self, header: dict[str, Any], **values: Any) -> None:
        """Send one message: ``header``'s fields and ``values`` (encoded; the rest as handles)."""
        if values:
            header.update(values)
        if self._released:
            header["rel"], self._released[:] = list(self._released), []
        parts = frame_parts(header, self._handle)
        try:
            if len(parts) == 1:
                self.sock.sendall(parts[0])
            else:
                self._send_gathered(parts)
        except OSError as exc:
            raise ChannelLost(f"the channel failed: {exc}") from None

    def _send_gathered(self, parts: list[Any]) -> None:
        """``sendall`` of a frame's parts without joining them (``sendmsg``)."""
        views = [memoryview(p).cast("B") for p in parts]
        while views:
            sent = self.sock.sendmsg(views[:_IOV_MAX])
            while views and sent >= len(views[0]):
                sent -= len(views.pop(0))
            if views and sent:
                views[0] = views[0][sent:]

    def _recv_into(self, view: memoryview) -> int:
        try:
            got = self.sock.recv_into(view)
        except OSError as exc:
            raise ChannelLost(f"the channel failed: {exc}") from None
        if not got:
            raise ChannelLost("the other side closed the channel (the kernel died?)")
        return got

    def recv(self) -> tuple[dict[str, Any], list[memoryview]]:
        """The next message: its fields (see :func:`~.codec.decode_frame`) and its buffers. One
        ``recv_into`` of the reusable read buffer gets a small frame whole."""
        buf, pos, end = self._rbuf, self._rpos, self._rend
        if end - pos < 4:
            if pos:  # what is left to the front
                buf[: end - pos] = buf[pos:end]
                pos, end = 0, end - pos
            while end < 4:
                end += self._recv_into(self._rview[end:])
        (n,) = _FRAME_LEN.unpack_from(buf, pos)
        if n > MAX_FRAME:
            raise ChannelError("a message larger than the channel allows")
        pos += 4
        if n <= len(buf):
            if pos + n > len(buf):
                buf[: end - pos] = buf[pos:end]
                pos, end = 0, end - pos
            while end - pos < n:
                end += self._recv_into(self._rview[end:])
            body: bytes | bytearray = bytes(self._rview[pos : pos + n])
            pos += n
        else:  # larger than what the read buffer holds: read it into one of its own
            body = bytearray(n)
            have = end - pos
            body[:have] = buf[pos:end]
            view = memoryview(body)
            while have < n:
                have += self._recv_into(view[have:])
            pos = end = 0
        if pos == end:
            pos = end = 0
        self._rpos, self._rend = pos, end
        header, buffers = decode_frame(body)
        rel = header.get("rel")
        rel = decode(rel, buffers, _no_handles) if type(rel) is memoryview else None
        if type(rel) is list:
            for h in rel:
                obj = self.own.pop(h, None) if type(h) is int else None
                if obj is not None and self.own_ids.get(id(obj)) == h:
                    del self.own_ids[id(obj)]
        return header, buffers

    def value(self, x: Any, buffers: list[memoryview]) -> Any:
        """The value of a message's field ``x`` (its handles resolved: proxies of the peer's
        objects, this side's own objects)."""
        t = type(x)
        if t is memoryview:
            if len(x) == 9 and x[0] == _RECEIVER:  # one of this side's objects: the usual "h"
                return self._resolve("r", _Q.unpack_from(x, 1)[0])
            return decode(x, buffers, self._resolve)
        if x is None or t is int or t is float or t is str or t is bool:
            return x  # decoded with the frame
        if x == ["t"]:  # the defaults of older callers: header.get("a", ["t"])
            return ()
        if x == ["d"]:
            return {}
        raise ChannelError(f"not a field of a message: {t.__name__}")

    # -- requests ---------------------------------------------------------------------------
    def request(self, op: str, **fields: Any) -> Any:
        """Send the request ``op`` and serve the peer until its reply; the reply's value."""
        seq = next(self._seq)
        self.requests += 1
        self.send({"q": op, "i": seq}, **fields)
        while True:
            header, buffers = self.recv()
            if "q" in header:
                self.serve(header, buffers)
                continue
            if header.get("re") != seq:
                raise ChannelError("a reply out of order")
            if "err" in header:
                err = (*tuple(self.value(header["err"], buffers)), "", "", "")
                kind, message, where = err[:3]
                raise remote_exception(str(kind), str(message), str(where))
            if header.get("ni"):
                return NotImplemented
            self._reply_same = header.get("c") == 1
            return self.value(header.get("ok"), buffers)

    def serve(self, header: dict[str, Any], buffers: list[bytes]) -> None:
        """Answer one request of the peer (its exceptions become an error reply)."""
        self.served += 1
        seq = header.get("i")
        self._serve_same = False
        try:
            result = self._dispatch(header, buffers)
        except ChannelLost:
            raise
        except BaseException as exc:
            self.send({"re": seq}, err=(type(exc).__name__, _short(exc), _where(exc)))
            return
        if result is NotImplemented:
            self.send({"re": seq, "ni": 1})
        elif self._serve_same:
            self._serve_same = False
            self.send({"re": seq, "c": 1}, ok=result)
        else:
            self.send({"re": seq}, ok=result)

    def _dispatch(self, header: dict[str, Any], buffers: list[bytes]) -> Any:
        op = header.get("q")
        if op in self.extra:
            return self.extra[op](self, header, buffers)
        obj = self.value(header.get("h"), buffers)
        if isinstance(obj, Proxy):
            raise ChannelError(f"a request ({op}) about an object that is not this side's")
        args = self.value(header.get("a", ["t"]), buffers)
        pol = self.policy
        if op == "call":
            pol.check_call(obj)
            if "k" not in header:
                return obj(*args)
            kwargs = self.value(header["k"], buffers)
            if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
                raise ChannelError("malformed keyword arguments")
            return obj(*args, **kwargs)
        if op in ("getattr", "setattr", "hasattr"):
            name = args[0] if args and isinstance(args[0], str) else ""
            pol.check_attr(obj, name, op == "setattr")
            if op == "setattr":
                setattr(obj, name, args[1])
                return None
            out = getattr(obj, name)
            self._serve_same = op == "getattr" and _same_method(obj, name, out)
            return out
        if op in DUNDERS:
            fn = getattr(type(obj), op, None)
            return NotImplemented if fn is None else fn(obj, *args)
        if op in _BUILTINS:
            out = _BUILTINS[op](obj, *args)
            return out[:_STR_CAP] if op in ("repr", "str", "format") else out
        if op == "array":
            a = np.asarray(obj)
            if a.dtype == object:
                raise TypeError(f"{type(obj).__name__} is not an array of numbers")
            return a
        if op == "ufunc":
            return _ufunc(obj, args, self.value(header.get("k", ["d"]), buffers))
        raise ChannelError(f"an unknown request {op!r}")


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


# ---------------------------------------------------------------------------------------------
# proxies: every Python operation is a request to the owner
# ---------------------------------------------------------------------------------------------
def _req(p: Proxy, op: str, *args: Any, **kwargs: Any) -> Any:
    ch = object.__getattribute__(p, "_ch")
    if ch.proxies.get(object.__getattribute__(p, "_h")) is not p:
        raise ChannelError("an object of the other side used after its check ended")
    if kwargs:
        return ch.request(op, h=p, a=args, k=kwargs)
    return ch.request(op, h=p, a=args)


def _make_proxy(cls: type, ch: Endpoint, h: int) -> Proxy:
    p = object.__new__(cls)
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
