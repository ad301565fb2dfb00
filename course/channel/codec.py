"""The channel's wire format: plain data and handles, never a pickle, never ``eval``.

A message is one frame: its length (8 bytes, big-endian), ``len(header)`` (4 bytes), a JSON
header, then the binary buffers it refers to, each as ``len`` (8 bytes) + bytes. Values inside
the header are JSON scalars (``None``, ``bool``, ``int``, ``float`` incl. NaN/±inf, ``str``) or
tagged lists:

=============================  ===============================================================
``["t", v…]`` / ``["l", v…]``  tuple / list
``["d", [k, v]…]``             dict (keys: str, int, float, bool, None, tuples of those)
``["c", re, im]``              complex
``["y", i]``                   bytes: buffer ``i``
``["a", dtype, shape, i, s]``  NumPy array (``s = 1``: a NumPy scalar): dtype in
                               :data:`DTYPES` (never ``object``), C-order bytes in buffer ``i``
``["h", id(, cls, name)]``     a handle owned by the *sender* (the receiver sees a proxy); with
                               the handle and name of its class where that class is lent
``["r", id]``                  a handle owned by the *receiver* (its own object comes back)
=============================  ===============================================================

Everything else that is sent becomes a handle (the caller decides, :class:`Encoder`); anything
else that is received is refused (:class:`ChannelError`).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "DTYPES",
    "MAX_DEPTH",
    "MAX_FRAME",
    "MAX_ITEMS",
    "ChannelError",
    "Encoder",
    "decode",
    "decode_frame",
    "encode_frame",
]

#: the dtypes an array may have on the wire (native byte order on both ends of the socket)
DTYPES = frozenset(
    {
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    }
)
MAX_FRAME = 64 * 2**20  #: bytes in one message (header and buffers)
MAX_HEADER = 4 * 2**20  #: bytes of the JSON header
MAX_ITEMS = 100_000  #: elements of all containers in one message
MAX_DEPTH = 64  #: nesting of containers
MAX_STR = 1_000_000  #: characters of one string


class ChannelError(Exception):
    """A malformed, oversized or refused message (or a lost peer)."""


_PLAIN_SCALARS = (type(None), bool, int, float, str)


class Encoder:
    """Turn a value into the header's JSON form plus buffers; ``handle(obj) -> ["h"|"r", id]``
    is called for anything that is not plain data."""

    def __init__(self, handle: Callable[[Any], list[Any]]):
        self.handle = handle
        self.buffers: list[bytes] = []
        self.items = 0

    def _buffer(self, data: bytes) -> int:
        self.buffers.append(data)
        return len(self.buffers) - 1

    def encode(self, x: Any, depth: int = 0) -> Any:
        self.items += 1
        if self.items > MAX_ITEMS or depth > MAX_DEPTH:
            raise ChannelError("a value too large or too deeply nested for the channel")
        t = type(x)
        if t in _PLAIN_SCALARS:
            if t is str and len(x) > MAX_STR:
                raise ChannelError("a string too long for the channel")
            return x
        if t is complex:
            return ["c", x.real, x.imag]
        if t is bytes:
            return ["y", self._buffer(x)]
        if t is tuple or t is list:
            return ["t" if t is tuple else "l", *(self.encode(v, depth + 1) for v in x)]
        if t is dict:
            return [
                "d",
                *([self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in x.items()),
            ]
        if t is np.ndarray or isinstance(x, np.generic):
            a = np.asarray(x)
            if a.dtype.name in DTYPES:
                return [
                    "a",
                    a.dtype.name,
                    list(a.shape),
                    self._buffer(a.tobytes(order="C")),
                    int(t is not np.ndarray),
                ]
        return self.handle(x)  # anything else stays where it is; the peer gets a proxy


def encode_frame(header: dict[str, Any], buffers: list[bytes]) -> bytes:
    """One frame of the wire format (see the module's docstring)."""
    head = json.dumps(header, separators=(",", ":"), allow_nan=True).encode()
    if len(head) > MAX_HEADER or len(head) + sum(map(len, buffers)) > MAX_FRAME:
        raise ChannelError("a message larger than the channel allows")
    parts = [struct.pack(">I", len(head)), head]
    for b in buffers:
        parts += [struct.pack(">Q", len(b)), b]
    body = b"".join(parts)
    return struct.pack(">Q", len(body)) + body


def decode_frame(body: bytes) -> tuple[dict[str, Any], list[bytes]]:
    """Parse a frame's body (after its 8-byte length): the JSON header and the buffers."""
    if len(body) < 4:
        raise ChannelError("a malformed message: too short")
    (n_head,) = struct.unpack(">I", body[:4])
    if n_head > MAX_HEADER or 4 + n_head > len(body):
        raise ChannelError("a malformed message: a bad header length")
    head, rest = body[4 : 4 + n_head], body[4 + n_head :]
    try:
        header = json.loads(head.decode("utf-8"), parse_constant=_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ChannelError(f"a malformed message: {exc}") from None
    if not isinstance(header, dict):
        raise ChannelError("a malformed message: the header is not an object")
    buffers, pos = [], 0
    while pos < len(rest):
        if pos + 8 > len(rest):
            raise ChannelError("a malformed message: a truncated buffer length")
        (n,) = struct.unpack(">Q", rest[pos : pos + 8])
        if pos + 8 + n > len(rest):
            raise ChannelError("a malformed message: a truncated buffer")
        buffers.append(rest[pos + 8 : pos + 8 + n])
        pos += 8 + n
    return header, buffers


def _constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


def decode(
    x: Any,
    buffers: list[bytes],
    handle: Callable[[str, Any], Any],
    depth: int = 0,
    count: list[int] | None = None,
) -> Any:
    """The value of a header's JSON form; ``handle(tag, id)`` resolves ``"h"``/``"r"``."""
    count = [0] if count is None else count
    count[0] += 1
    if count[0] > MAX_ITEMS or depth > MAX_DEPTH:
        raise ChannelError("a value too large or too deeply nested for the channel")
    if x is None or type(x) in (bool, int, float, str):
        return x
    if type(x) is not list or not x or type(x[0]) is not str:
        raise ChannelError(f"a malformed value of type {type(x).__name__}")
    tag, body = x[0], x[1:]
    try:
        if tag in ("t", "l"):
            items = [decode(v, buffers, handle, depth + 1, count) for v in body]
            return tuple(items) if tag == "t" else items
        if tag == "d":
            out = {}
            for kv in body:
                k, v = (decode(e, buffers, handle, depth + 1, count) for e in kv)
                out[k] = v  # an unhashable key raises TypeError: refused below
            return out
        if tag == "c" and len(body) == 2 and all(type(v) in (int, float) for v in body):
            return complex(body[0], body[1])
        if tag == "y" and len(body) == 1:
            return bytes(buffers[body[0]])
        if tag == "a" and len(body) == 4:
            return _array(body, buffers)
        if tag == "r" and len(body) == 1 and type(body[0]) is int:
            return handle(tag, body[0])
        if (
            tag == "h"
            and len(body) in (1, 3)
            and all(type(v) is int for v in body[:2])
            and (len(body) == 1 or type(body[2]) is str)
        ):
            return handle(tag, *body)
    except (TypeError, IndexError, ValueError) as exc:
        raise ChannelError(f"a malformed value ({tag!r}): {exc}") from None
    raise ChannelError(f"a malformed value with the tag {tag!r}")


def _array(body: list[Any], buffers: list[bytes]) -> Any:
    dtype, shape, index, scalar = body
    if dtype not in DTYPES:  # never object, void or anything a buffer could smuggle
        raise ChannelError(f"an array of dtype {dtype!r}, which the channel refuses")
    if type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape):
        raise ChannelError("an array with a malformed shape")
    a = np.frombuffer(buffers[index], dtype=np.dtype(dtype))
    if a.size != math.prod(shape):
        raise ChannelError("an array whose bytes do not match its shape")
    a = a.reshape(shape).copy()  # writable, owns its memory
    return a[()] if scalar else a
