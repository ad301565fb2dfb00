"""The channel's wire format: plain data and handles in a binary encoding; never a pickle, never
``eval``, never JSON (whose encoding cost more than a round trip's socket work).

A message is one frame: ``len(body)`` (4 bytes, big-endian) and the body::

    fields:  count (1 byte), then per field: len(key) (1 byte), key (ASCII),
             len(value) (4 bytes), value
    buffers: count (2 bytes), then per buffer: len (8 bytes), bytes   (large arrays' bytes)

A field's value is decoded when it is used (:func:`decode`), so a request can be refused before
its arguments become proxies; a plain scalar field (``None``, bool, int, float, str) is decoded
with the frame. A value is a tag byte and what it says (numbers little-endian):

==========  ====================================================================================
``N T F``   None / True / False
``i`` ``I`` int: 8 bytes signed; larger: len (4) + decimal ASCII
``f`` ``c`` float64 (NaN and ±inf as they are) / complex: two float64
``s`` ``y`` str (UTF-8) / bytes: len (4) + bytes
``t l d``   tuple / list / dict: count (4) + the items (a dict's: key, value, key, value…)
``a`` ``A`` NumPy array: dtype code (1, an index into :data:`DTYPES`: never ``object``), scalar
            flag (1: a NumPy scalar), ndim (1), the shape (8 each), then the C-order bytes inline
            (``a``) or the index (4) of the frame's buffer that holds them (``A``, from 64 KiB:
            sent from the array's memory, not copied)
``h`` ``H`` a handle owned by the *sender* (8; the receiver sees a proxy); ``H`` adds the handle of
            its class (8) and the class's name (len (1) + ASCII), where that class is lent
``r``       a handle owned by the *receiver* (8): its own object comes back
==========  ====================================================================================

Everything else that is sent becomes a handle (the caller decides, :class:`Encoder`); anything
else that is received, a truncated value or trailing bytes are refused (:class:`ChannelError`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, TypeAlias

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
    "frame_parts",
]

#: the dtypes an array may have on the wire, in the order of their codes (native byte order)
DTYPES = (
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
)
MAX_FRAME = 64 * 2**20  #: bytes in one message (its body)
MAX_ITEMS = 100_000  #: values (scalars and containers) in one field of a message
MAX_DEPTH = 64  #: nesting of containers
MAX_STR = 1_000_000  #: characters of one string
MAX_FIELDS = 32  #: fields of one message

Buffer: TypeAlias = "bytes | bytearray | memoryview"


class ChannelError(Exception):
    """A malformed, oversized or refused message (or a lost peer)."""


_DTYPE_OF = tuple(np.dtype(n) for n in DTYPES)
_CODE_OF = {dt: i for i, dt in enumerate(_DTYPE_OF)}  # native byte order only
_OUT_OF_LINE = 1 << 16  #: array bytes from this size travel as a buffer, not copied
_MAX_INT = 1 << 63

# tags (their byte values)
_NONE, _TRUE, _FALSE = b"N"[0], b"T"[0], b"F"[0]
_INT, _BIGINT, _FLOAT, _COMPLEX = b"i"[0], b"I"[0], b"f"[0], b"c"[0]
_STR, _BYTES, _TUPLE, _LIST, _DICT = b"s"[0], b"y"[0], b"t"[0], b"l"[0], b"d"[0]
_ARRAY, _ARRAY_OUT = b"a"[0], b"A"[0]
_HANDLE, _HANDLE_CLS, _RECEIVER = b"h"[0], b"H"[0], b"r"[0]

_TAG_INT = struct.Struct("<Bq")
_TAG_FLOAT = struct.Struct("<Bd")
_TAG_COMPLEX = struct.Struct("<Bdd")
_TAG_LEN = struct.Struct("<BI")
_TAG_ARRAY = struct.Struct("<BBBB")
_TAG_HANDLE_CLS = struct.Struct("<BqqB")
_Q = struct.Struct("<q")
_D = struct.Struct("<d")
_DD = struct.Struct("<dd")
_QQ = struct.Struct("<qq")
_I = struct.Struct("<I")
_FRAME_LEN = struct.Struct(">I")
_FIELD_INT = struct.Struct("<IBq")  # a field's length and an int value
_KEYS: dict[str, bytes] = {}  # the fields' keys as sent (length, ASCII)
_BUF_LEN = struct.Struct("<Q")
_NBUF = struct.Struct("<H")
_SHAPES = [struct.Struct(f"<{n}Q") for n in range(65)]  # NumPy's ndim is at most 64
_CONSTANTS = {_NONE: None, _TRUE: True, _FALSE: False}
_EAGER = frozenset({_NONE, _TRUE, _FALSE, _INT, _FLOAT, _STR})  # decoded with the frame


def _refuse_handle(obj: Any) -> list[Any]:
    raise ChannelError(f"{type(obj).__name__} is not plain data (no handles in this message)")


class Encoder:
    """Append values to ``out``; ``handle(obj) -> ["h", id] | ["h", id, class id, name] |
    ["r", id]`` is called for anything that is not plain data (it stays on this side)."""

    __slots__ = ("buffers", "handle", "items", "out")

    def __init__(self, handle: Callable[[Any], list[Any]] = _refuse_handle):
        self.handle = handle
        self.out = bytearray()
        self.buffers: list[Buffer] = []
        self.items = 0

    def encode(self, x: Any, depth: int = 0) -> None:
        self.items += 1
        if self.items > MAX_ITEMS or depth > MAX_DEPTH:
            raise ChannelError("a value too large or too deeply nested for the channel")
        out, t = self.out, type(x)
        if t is float:
            out += _TAG_FLOAT.pack(_FLOAT, x)
        elif t is tuple or t is list:
            out += _TAG_LEN.pack(_TUPLE if t is tuple else _LIST, len(x))
            for v in x:
                self.encode(v, depth + 1)
        elif t is np.ndarray or isinstance(x, np.generic):
            self._array(x, t is not np.ndarray)
        elif t is int:
            if -_MAX_INT <= x < _MAX_INT:
                out += _TAG_INT.pack(_INT, x)
            else:
                try:
                    digits = str(x).encode()
                except ValueError:  # more digits than Python converts
                    raise ChannelError("an int too large for the channel") from None
                out += _TAG_LEN.pack(_BIGINT, len(digits))
                out += digits
        elif t is str:
            if len(x) > MAX_STR:
                raise ChannelError("a string too long for the channel")
            data = x.encode("utf-8", "surrogatepass")
            out += _TAG_LEN.pack(_STR, len(data))
            out += data
        elif x is None:
            out.append(_NONE)
        elif t is bool:
            out.append(_TRUE if x else _FALSE)
        elif t is dict:
            out += _TAG_LEN.pack(_DICT, len(x))
            for k, v in x.items():
                self.encode(k, depth + 1)
                self.encode(v, depth + 1)
        elif t is complex:
            out += _TAG_COMPLEX.pack(_COMPLEX, x.real, x.imag)
        elif t is bytes:
            out += _TAG_LEN.pack(_BYTES, len(x))
            out += x
        else:
            self._handle(x)

    def _array(self, x: Any, scalar: bool) -> None:
        a = x if type(x) is np.ndarray else np.asarray(x)
        code = _CODE_OF.get(a.dtype)
        if code is None:  # another byte order of an allowed dtype is converted; else a handle
            native = a.dtype.newbyteorder("=") if a.dtype.kind in "biufc" else None
            code = _CODE_OF.get(native) if native is not None and not a.dtype.fields else None
            if code is None:
                self._handle(x)
                return
            a = a.astype(native)
        out = self.out
        big = a.nbytes >= _OUT_OF_LINE
        out += _TAG_ARRAY.pack(_ARRAY_OUT if big else _ARRAY, code, scalar, a.ndim)
        out += _SHAPES[a.ndim].pack(*a.shape)
        if not big:
            out += a.tobytes()
            return
        if not a.flags.c_contiguous:
            a = np.ascontiguousarray(a)
        out += _I.pack(len(self.buffers))
        self.buffers.append(memoryview(a.reshape(-1).view(np.uint8)))  # type: ignore[arg-type]

    def _handle(self, obj: Any) -> None:
        h = self.handle(obj)
        if h[0] == "r":
            self.out += _TAG_INT.pack(_RECEIVER, h[1])
        elif len(h) == 2:
            self.out += _TAG_INT.pack(_HANDLE, h[1])
        else:
            name = h[3].encode("ascii", "replace")[:100]
            self.out += _TAG_HANDLE_CLS.pack(_HANDLE_CLS, h[1], h[2], len(name))
            self.out += name


def frame_parts(
    fields: dict[str, Any], handle: Callable[[Any], list[Any]] = _refuse_handle
) -> list[Buffer]:
    """One frame (see the module's docstring) of ``fields``' values as the parts to send in
    order: the first holds the length, the fields and the buffers' count; then each buffer's
    length and bytes (views of arrays, not copies)."""
    enc = Encoder(handle)
    out = enc.out
    out += b"\0\0\0\0"  # the length, set below
    out.append(len(fields))
    if len(fields) > MAX_FIELDS:
        raise ChannelError("a message with too many fields")
    for key, value in fields.items():
        k = _KEYS.get(key)
        if k is None:
            k = key.encode("ascii")
            k = bytes([len(k)]) + k
            if len(_KEYS) < 64:
                _KEYS[key] = k
        out += k
        if type(value) is int and -_MAX_INT <= value < _MAX_INT:  # the sequence numbers
            out += _FIELD_INT.pack(9, _INT, value)
            continue
        at = len(out)
        out += b"\0\0\0\0"
        enc.encode(value)
        _I.pack_into(out, at, len(out) - at - 4)
        enc.items = 0
    buffers = enc.buffers
    out += _NBUF.pack(len(buffers))
    size = len(out) - 4
    if buffers:
        size += sum(len(b) for b in buffers) + 8 * len(buffers)
    if size > MAX_FRAME:
        raise ChannelError("a message larger than the channel allows")
    _FRAME_LEN.pack_into(out, 0, size)
    if not buffers:
        return [out]
    parts: list[Buffer] = [out]
    for b in buffers:
        parts += [_BUF_LEN.pack(len(b)), b]
    return parts


def encode_frame(
    fields: dict[str, Any], handle: Callable[[Any], list[Any]] = _refuse_handle
) -> bytes:
    """One frame of ``fields``' values as bytes (its 4-byte length first)."""
    return b"".join(frame_parts(fields, handle))


# the decoder imports this module's constants: imported last (a cycle by design)
from .decoding import decode, decode_frame  # noqa: E402
