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
import signal
import socket
import struct
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from .codec import MAX_FRAME, ChannelError, decode, decode_frame, frame_parts
from .faithful import Mirror, Tracker
from .proxy import DUNDERS, Proxy, _make_proxy
from .remote import (
    _BUILTINS,
    _NAME,
    _STR_CAP,
    ChannelLost,
    Policy,
    RemoteError,
    _no_handles,
    _same_method,
    _short,
    _ufunc,
    _where,
    remote_exception,
)

__all__ = ["DUNDERS", "ChannelLost", "Endpoint", "Policy", "Proxy", "RemoteError"]

_READ_BUFFER = 1 << 18  #: bytes of an endpoint's reusable read buffer
_IOV_MAX = 1024
_FRAME_LEN = struct.Struct(">I")
_Q = struct.Struct("<q")
_RECEIVER = b"r"[0]
_INTERRUPTS = frozenset({signal.SIGINT})


class Endpoint:
    """A socket, a table of own objects lent to the peer, and the peer's objects as proxies."""

    #: hold SIGINT back while a frame is written (the kernel's side: an interrupt mid-frame
    #: would leave the peer's stream unreadable; it is raised once the frame is sent)
    defer_interrupts = False

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
        self._big: bytearray | None = None  # a frame larger than the read buffer, being read
        self._big_have = 0
        # requests whose wait was interrupted (SIGINT from the executor's timeout): their
        # replies are dropped when they come, and a new top-level request first lets those
        # exchanges finish (see request)
        self.abandoned: set[int] = set()
        self._depth = 0  # requests in progress (nested)
        self.frames_sent = 0
        # faithful calls (faithful.py): changes in place in the kernel reach the checker's objects
        self.tracker: Tracker | None = None
        self.mirror: Mirror | None = None

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
        for side in (self.tracker, self.mirror):
            if side is not None:
                side.clear()

    # -- frames -----------------------------------------------------------------------------
    def send(self, header: dict[str, Any], **values: Any) -> None:
        """Send one message: ``header``'s fields and ``values`` (encoded; the rest as handles)."""
        if values:
            header.update(values)
        if self._released:
            header["rel"], self._released[:] = list(self._released), []
        parts = frame_parts(header, self._handle)
        mask = (
            signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS) if self.defer_interrupts else None
        )
        try:
            self._send_gathered(parts)
            self.frames_sent += 1
        except OSError as exc:
            raise ChannelLost(f"the channel failed: {exc}") from None
        finally:
            if mask is not None:  # a SIGINT that came meanwhile is raised here, frame sent
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)

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

    def _fill(self, k: int) -> None:
        """At least ``k`` unread bytes in the read buffer (``k`` ≤ its size). The buffer's state
        is kept on the endpoint after every read, so an interrupt loses no byte."""
        if self._rend - self._rpos >= k:
            return
        if self._rpos + k > len(self._rbuf):  # what is left to the front
            left = self._rend - self._rpos
            self._rbuf[:left] = self._rbuf[self._rpos : self._rend]
            self._rpos, self._rend = 0, left
        while self._rend - self._rpos < k:
            self._rend += self._recv_into(self._rview[self._rend :])

    def recv(self) -> tuple[dict[str, Any], list[memoryview]]:
        """The next message: its fields (see :func:`~.codec.decode_frame`) and its buffers. One
        ``recv_into`` of the reusable read buffer gets a small frame whole. Interrupted
        (``KeyboardInterrupt``) before it returns, it gives the same message next time."""
        if self._big is None:
            self._fill(4)
            (n,) = _FRAME_LEN.unpack_from(self._rbuf, self._rpos)
            if n > MAX_FRAME:
                raise ChannelError("a message larger than the channel allows")
            if n + 4 <= len(self._rbuf):
                self._fill(4 + n)
                start = self._rpos + 4
                body: bytes | bytearray = bytes(self._rview[start : start + n])
                header, buffers = decode_frame(body)
                self._rpos = start + n  # consumed only once decoded
                if self._rpos == self._rend:
                    self._rpos = self._rend = 0
                return self._released_by_peer(header, buffers)
            big = bytearray(n)  # larger than the read buffer: read into one of its own
            have = min(n, self._rend - self._rpos - 4)
            big[:have] = self._rbuf[self._rpos + 4 : self._rpos + 4 + have]
            self._big, self._big_have = big, have
            self._rpos = self._rend = 0
        view = memoryview(self._big)
        while self._big_have < len(view):
            self._big_have += self._recv_into(view[self._big_have :])
        header, buffers = decode_frame(self._big)
        self._big = None
        return self._released_by_peer(header, buffers)

    def _released_by_peer(
        self, header: dict[str, Any], buffers: list[memoryview]
    ) -> tuple[dict[str, Any], list[memoryview]]:
        """Forget the own objects a message says the peer no longer holds (``rel``)."""
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
        """Send the request ``op`` and serve the peer until its reply; the reply's value.

        Interrupted (``KeyboardInterrupt``) after it was sent, the request is *abandoned*: its
        reply, when it comes, is dropped; and the next top-level request first serves the peer
        until every abandoned reply came (the peer's side of that exchange finishes: the
        objects of an interrupted check are released, so its calls fail), then is sent — so
        the peer never gets a new request while it still works on an old one."""
        if self.abandoned and not self._depth:
            self._drain()
        seq = next(self._seq)
        self.requests += 1
        sent = self.frames_sent
        if self.mirror is not None and "a" in fields:
            ai = self.mirror.arguments(fields["a"], fields.get("k"))
            if ai is not None:
                fields["ai"] = ai
        self._depth += 1
        try:
            self.send({"q": op, "i": seq}, **fields)
            while True:
                header, buffers = self.recv()
                if "q" in header:
                    self.serve(header, buffers)
                    continue
                re = header.get("re")
                if re != seq:
                    if re in self.abandoned:
                        self.abandoned.discard(re)
                        continue
                    raise ChannelError("a reply out of order")
                if "up" in header and self.mirror is not None:
                    self.mirror.apply(self.value(header["up"], buffers))
                if "err" in header:
                    err = (*tuple(self.value(header["err"], buffers)), "", "", "")
                    kind, message, where = err[:3]
                    raise remote_exception(str(kind), str(message), str(where))
                if header.get("ni"):
                    return NotImplemented
                self._reply_same = header.get("c") == 1
                out = self.value(header.get("ok"), buffers)
                if "ri" in header and self.mirror is not None:
                    self.mirror.results(out, self.value(header["ri"], buffers))
                return out
        except KeyboardInterrupt:
            if self.frames_sent > sent:  # the request went out: its reply will come
                self.abandoned.add(seq)
            raise
        finally:
            self._depth -= 1

    def _drain(self) -> None:
        """Serve the peer until the replies of every abandoned request came (see request)."""
        while self.abandoned:
            header, buffers = self.recv()
            if "q" in header:
                self.serve(header, buffers)
            else:
                self.abandoned.discard(header.get("re"))

    def serve(self, header: dict[str, Any], buffers: list[memoryview]) -> None:
        """Answer one request of the peer (its exceptions become an error reply)."""
        self.served += 1
        seq = header.get("i")
        self._serve_same = False
        held: list[Any] = []  # the arguments the tracker follows, until the reply is sent
        try:
            result = self._dispatch(header, buffers, held)
        except ChannelLost:
            raise
        except BaseException as exc:
            more = self.tracker.reply(held) if self.tracker is not None else {}
            self.send({"re": seq}, err=(type(exc).__name__, _short(exc), _where(exc)), **more)
            return
        more = self.tracker.reply(held, result) if self.tracker is not None else {}
        if result is NotImplemented:
            self.send({"re": seq, "ni": 1}, **more)
        elif self._serve_same:
            self._serve_same = False
            self.send({"re": seq, "c": 1}, ok=result, **more)
        else:
            self.send({"re": seq}, ok=result, **more)

    def _dispatch(self, header: dict[str, Any], buffers: list[memoryview], held: list[Any]) -> Any:
        op = header.get("q")
        if op in self.extra:
            return self.extra[op](self, header, buffers)
        obj = self.value(header.get("h"), buffers)
        if isinstance(obj, Proxy):
            raise ChannelError(f"a request ({op}) about an object that is not this side's")
        args = self.value(header.get("a", ["t"]), buffers)
        kwargs = self.value(header["k"], buffers) if op == "call" and "k" in header else None
        if self.tracker is not None and "ai" in header:
            held += self.tracker.arguments(header["ai"], args, kwargs)
        pol = self.policy
        if op == "call":
            pol.check_call(obj)
            if kwargs is None:
                return obj(*args)
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
