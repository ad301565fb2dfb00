"""Decoding the channel's wire format (see :mod:`.codec` for the format): a frame's fields and
buffers (:func:`decode_frame`), then one field's value when it is used (:func:`decode`).
Every length is checked against the bytes there are and the limits of :mod:`.codec`;
a truncated value, an unknown tag or trailing bytes are refused (:class:`~.codec.ChannelError`).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

from .codec import (
    _ARRAY,
    _ARRAY_OUT,
    _BIGINT,
    _BUF_LEN,
    _BYTES,
    _COMPLEX,
    _CONSTANTS,
    _D,
    _DD,
    _DICT,
    _DTYPE_OF,
    _EAGER,
    _FLOAT,
    _HANDLE,
    _HANDLE_CLS,
    _I,
    _INT,
    _LIST,
    _NBUF,
    _Q,
    _QQ,
    _RECEIVER,
    _SHAPES,
    _STR,
    _TUPLE,
    MAX_DEPTH,
    MAX_FIELDS,
    MAX_ITEMS,
    MAX_STR,
    Buffer,
    ChannelError,
)

__all__ = ["decode", "decode_frame"]


def decode_frame(body: Buffer) -> tuple[dict[str, Any], list[memoryview]]:
    """Parse a frame's body (after its 4-byte length): ``{key: value}`` (a plain scalar decoded,
    anything else the value's bytes for :func:`decode`) and the buffers (views of ``body``,
    which must not change while they are used)."""
    mv = memoryview(body)
    size = len(mv)
    try:
        n_fields, pos, fields = mv[0], 1, {}
        if n_fields > MAX_FIELDS:
            raise ChannelError("a malformed message: too many fields")
        for _ in range(n_fields):
            end = pos + 1 + mv[pos]
            key = str(mv[pos + 1 : end], "ascii")
            (n,) = _I.unpack_from(mv, end)
            pos = end + 4 + n
            if pos > size or n == 0:
                raise ChannelError("a malformed message: a truncated field")
            tag = mv[end + 4]
            if tag == _INT and n == 9:
                fields[key] = _Q.unpack_from(mv, end + 5)[0]
            elif tag in _EAGER:
                fields[key] = decode(mv[end + 4 : pos], [], _refuse_resolve)
            else:
                fields[key] = mv[end + 4 : pos]
        (n_buf,) = _NBUF.unpack_from(mv, pos)
        pos += 2
        buffers = []
        for _ in range(n_buf):
            (n,) = _BUF_LEN.unpack_from(mv, pos)
            if pos + 8 + n > size:
                raise ChannelError("a malformed message: a truncated buffer")
            buffers.append(mv[pos + 8 : pos + 8 + n])
            pos += 8 + n
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise ChannelError(f"a malformed message: {exc}") from None
    if pos != size:
        raise ChannelError("a malformed message: bytes after its last buffer")
    return fields, buffers


def _refuse_resolve(*handle: Any) -> Any:
    raise ChannelError("a malformed message: a handle where none may be")


def decode(raw: Buffer, buffers: list[memoryview], handle: Callable[..., Any]) -> Any:
    """The value encoded in ``raw`` (one field's bytes); ``handle("h"|"r", id(, class id,
    name))`` resolves handles, ``buffers`` are the frame's."""
    mv = memoryview(raw)
    try:
        value, pos = _decode(mv, 0, buffers, handle, 0, [0])
    except (IndexError, struct.error, TypeError, ValueError, OverflowError) as exc:
        raise ChannelError(f"a malformed value: {exc}") from None
    if pos != len(mv):
        raise ChannelError("a malformed value: bytes after its end")
    return value


def _decode(
    mv: memoryview, pos: int, buffers: list[memoryview], handle: Any, depth: int, count: list[int]
) -> tuple[Any, int]:
    count[0] += 1
    if count[0] > MAX_ITEMS or depth > MAX_DEPTH:
        raise ChannelError("a value too large or too deeply nested for the channel")
    tag = mv[pos]
    pos += 1
    if tag == _FLOAT:
        return _D.unpack_from(mv, pos)[0], pos + 8
    if tag == _TUPLE or tag == _LIST:
        (n,) = _I.unpack_from(mv, pos)
        pos += 4
        if n > len(mv) - pos:  # each item takes a byte at least
            raise ChannelError("a malformed value: a truncated container")
        items = []
        for _ in range(n):
            v, pos = _decode(mv, pos, buffers, handle, depth + 1, count)
            items.append(v)
        return (tuple(items) if tag == _TUPLE else items), pos
    if tag == _ARRAY or tag == _ARRAY_OUT:
        return _array(mv, pos, buffers, tag == _ARRAY_OUT)
    if tag == _INT:
        return _Q.unpack_from(mv, pos)[0], pos + 8
    if tag == _RECEIVER:
        return handle("r", _Q.unpack_from(mv, pos)[0]), pos + 8
    if tag == _HANDLE:
        return handle("h", _Q.unpack_from(mv, pos)[0]), pos + 8
    if tag == _HANDLE_CLS:
        h, cls = _QQ.unpack_from(mv, pos)
        end = pos + 17 + mv[pos + 16]
        if end > len(mv):
            raise ChannelError("a malformed value: a truncated class name")
        return handle("h", h, cls, str(mv[pos + 17 : end], "ascii")), end
    if tag == _STR or tag == _BYTES or tag == _BIGINT:
        (n,) = _I.unpack_from(mv, pos)
        end = pos + 4 + n
        if end > len(mv) or (tag == _STR and n > 4 * MAX_STR):
            raise ChannelError("a malformed value: a truncated or too long string")
        data = mv[pos + 4 : end]
        if tag == _STR:
            return str(data, "utf-8", "surrogatepass"), end
        if tag == _BYTES:
            return bytes(data), end
        if n > 5000:
            raise ChannelError("an int too large for the channel")
        return int(str(data, "ascii")), end
    if tag in _CONSTANTS:
        return _CONSTANTS[tag], pos
    if tag == _DICT:
        (n,) = _I.unpack_from(mv, pos)
        pos += 4
        if n > len(mv) - pos:
            raise ChannelError("a malformed value: a truncated container")
        out = {}
        for _ in range(n):
            k, pos = _decode(mv, pos, buffers, handle, depth + 1, count)
            v, pos = _decode(mv, pos, buffers, handle, depth + 1, count)
            out[k] = v  # an unhashable key raises TypeError: refused
        return out, pos
    if tag == _COMPLEX:
        re, im = _DD.unpack_from(mv, pos)
        return complex(re, im), pos + 16
    raise ChannelError(f"a malformed value with the tag {tag!r}")


def _array(mv: memoryview, pos: int, buffers: list[memoryview], out: bool) -> tuple[Any, int]:
    code, scalar, ndim = mv[pos], mv[pos + 1], mv[pos + 2]
    if code >= len(_DTYPE_OF):  # never object, void or anything a buffer could smuggle
        raise ChannelError(f"an array of dtype code {code}, which the channel refuses")
    if ndim > 64 or (scalar and ndim):
        raise ChannelError("an array with a malformed shape")
    dt = _DTYPE_OF[code]
    shape = _SHAPES[ndim].unpack_from(mv, pos + 3)
    pos += 3 + 8 * ndim
    nbytes = math.prod(shape) * dt.itemsize
    if out:
        (index,) = _I.unpack_from(mv, pos)
        pos += 4
        data = buffers[index]
        if len(data) != nbytes:
            raise ChannelError("an array whose bytes do not match its shape")
    else:
        if nbytes > len(mv) - pos:
            raise ChannelError("an array whose bytes do not match its shape")
        data = mv[pos : pos + nbytes]
        pos += nbytes
    a = np.frombuffer(data, dtype=dt).reshape(shape).copy()  # writable, owns its memory
    return (a[()] if scalar else a), pos
