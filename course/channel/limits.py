"""The checker's memory bound: what the kernel's messages make the grader hold.

The checker decodes what the kernel sends (the student's results, the arguments of the calls it
asks for) and computes what the kernel asks of the objects a check handed over (03's counted
``np``…). Without a bound a kernel could make the grader's worker allocate without limit: an
array whose header declares 2 GB, one buffer referred to 100 000 times in one message (each
reference decoded as its own copy), ``np.ones(10**10)`` asked of a handed-over ``np``, or many
64 MiB messages in one cell.

:class:`BoundedEndpoint` (the checker's endpoint) counts, *before* decoding, the bytes each value
declares (arrays: ``prod(shape) × itemsize`` per reference; bytes) and refuses:

* more than :data:`MAX_MESSAGE` bytes in one message;
* more than :data:`MAX_CELL` bytes decoded in one grade cell (reset by ``Checker.begin_cell``);
* a call of a NumPy function it serves whose integer arguments ask for more than
  :data:`MAX_MESSAGE` bytes, and a result it would send back larger than that.

A refusal raises :class:`ResultTooLarge` (a ``BaseException``: a check's ``except Exception``
cannot swallow it) or, where the kernel asked, sends it back as the kernel's error; either way
:attr:`BoundedEndpoint.too_large` keeps the reason, and the check that was running fails with
"result too large: N bytes > limit" (:meth:`course.channel.checker.Checker._check`).
"""

from __future__ import annotations

import math
import socket
from collections.abc import Callable
from typing import Any

import numpy as np

from .codec import DTYPES, MAX_ITEMS
from .endpoint import Endpoint, Policy, Proxy

__all__ = [
    "MAX_CELL",
    "MAX_MESSAGE",
    "BoundedEndpoint",
    "ResultTooLarge",
    "declared_bytes",
    "reply_too_large",
]

MAX_MESSAGE = 16 * 2**20  #: bytes one message may decode to (honest peak: 4 KiB, 05)
MAX_CELL = 256 * 2**20  #: bytes the messages of one cell may decode to (honest: 1.2 MiB, 01)


class ResultTooLarge(BaseException):
    """A value from (or asked by) the kernel larger than the checker's bound."""


_SCAN_FROM = 1 << 16  #: a field of fewer bytes (and no buffer in its frame) decodes to little
_ITEMSIZE = tuple(np.dtype(n).itemsize for n in DTYPES)
_FIXED = {b"N"[0]: 0, b"T"[0]: 0, b"F"[0]: 0, b"i"[0]: 8, b"f"[0]: 8, b"c"[0]: 16}
_HANDLES = {b"h"[0]: 8, b"r"[0]: 8}
_COUNTED = frozenset(b"tld")  # a 4-byte count, then the items (which follow inline)
_SIZED = frozenset(b"syI")  # a 4-byte length, then that many bytes


def _declared_binary(mv: memoryview, buffers: list[Any]) -> int:
    """:func:`declared_bytes` of one field's bytes in the binary format (:mod:`.codec`): values
    are written in prefix order, so one linear scan of the tags finds every array, with every
    reference to a frame buffer counted (the decoder copies each)."""
    total, pos, size, seen = 0, 0, len(mv), 0
    try:
        while pos < size and seen <= MAX_ITEMS:
            seen += 1
            tag = mv[pos]
            pos += 1
            if tag in _FIXED:
                pos += _FIXED[tag]
            elif tag in _HANDLES:
                pos += 8
            elif tag == b"H"[0]:
                pos += 17 + mv[pos + 16]
            elif tag in _COUNTED:
                pos += 4
            elif tag in _SIZED:
                n = int.from_bytes(mv[pos : pos + 4], "little")
                total += n
                pos += 4 + n
            elif tag in (b"a"[0], b"A"[0]):
                code, ndim = mv[pos], mv[pos + 2]
                if code >= len(_ITEMSIZE) or ndim > 64:
                    return total
                shape = [
                    int.from_bytes(mv[pos + 3 + 8 * k : pos + 11 + 8 * k], "little")
                    for k in range(ndim)
                ]
                nbytes = math.prod(shape) * _ITEMSIZE[code]
                total += nbytes
                pos += 3 + 8 * ndim + (4 if tag == b"A"[0] else nbytes)
            else:
                return total  # malformed: the decoder refuses it
    except IndexError:
        pass
    return total


def declared_bytes(x: Any, buffers: list[memoryview]) -> int:
    """The bytes a field's value decodes to (every reference to a buffer counted), read from
    the declarations only: nothing is allocated. ``x`` is the field's bytes (the binary format)
    or, as the wire once was, the JSON form (``["a", dtype, shape, …]``). Malformed parts count
    0 (the codec refuses them when decoding)."""
    if isinstance(x, memoryview):
        return _declared_binary(x, buffers)
    total, stack, seen = 0, [x], 0
    while stack and seen <= MAX_ITEMS:
        v = stack.pop()
        seen += 1
        if type(v) is not list or not v or type(v[0]) is not str:
            continue
        tag = v[0]
        if tag in ("t", "l"):
            stack.extend(v[1:])
        elif tag == "d":
            stack.extend(kv for pair in v[1:] if type(pair) is list for kv in pair)
        elif tag == "a" and len(v) == 5 and v[1] in DTYPES and type(v[2]) is list:
            if all(type(n) is int and n >= 0 for n in v[2]):
                total += math.prod(v[2]) * np.dtype(v[1]).itemsize
        elif tag == "y" and len(v) == 2 and type(v[1]) is int and 0 <= v[1] < len(buffers):
            total += len(buffers[v[1]])
    return total


def _asked_bytes(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """What a call of the NumPy function ``fn`` asks to allocate, from its integer and shape
    arguments (``np.ones(10**10)``, ``np.zeros((a, b))``, ``np.eye(n)``), 8 bytes an element."""
    most = 0
    for a in (*args, *kwargs.values()):
        if type(a) is int:
            n = abs(a)
        elif type(a) in (tuple, list) and a and all(type(k) is int for k in a):
            n = math.prod(abs(k) for k in a)
        else:
            continue
        if getattr(fn, "__name__", "") in ("eye", "identity", "tri"):
            n = n * n
        most = max(most, n * 8)
    return most


def reply_too_large(values: dict[str, Any], limit: int = MAX_MESSAGE) -> str | None:
    """ "result too large: N bytes > limit" if a reply's arrays hold more than ``limit`` bytes
    (read from their sizes: a broadcast view is not materialised)."""
    n = _nbytes(values.get("ok")) if "ok" in values else 0
    return f"result too large: {n} bytes > {limit}" if n > limit else None


def _nbytes(x: Any, depth: int = 0) -> int:
    if isinstance(x, np.ndarray):
        return int(x.nbytes)
    if isinstance(x, (tuple, list)) and depth < 8:
        return sum(_nbytes(v, depth + 1) for v in x[:1000])
    if isinstance(x, dict) and depth < 8:
        return sum(_nbytes(v, depth + 1) for v in list(x.values())[:1000])
    return 0


class BoundedEndpoint(Endpoint):
    """The checker's endpoint, with the bounds of the module's docstring."""

    def __init__(
        self,
        sock: socket.socket,
        policy: Policy | None = None,
        extra: dict[str, Callable[..., Any]] | None = None,
        *,
        max_message: int = MAX_MESSAGE,
        max_cell: int = MAX_CELL,
    ):
        super().__init__(sock, policy, extra)
        self.max_message, self.max_cell = max_message, max_cell
        self.message_bytes = 0  # declared by the message being decoded
        self.cell_bytes = 0  # declared by the messages of this cell
        self.peak_message = self.peak_cell = 0  # the largest seen (figures for the docs)
        self.too_large: str | None = None  # the reason of a refusal, until the check ends

    def _refuse(self, size: int, limit: int, where: str) -> ResultTooLarge:
        why = f"result too large: {size} bytes > {limit} ({where})"
        self.too_large = self.too_large or why
        return ResultTooLarge(why)

    def new_cell(self) -> None:
        self.cell_bytes = 0

    def recv(self) -> tuple[dict[str, Any], list[memoryview]]:
        header, buffers = super().recv()
        self.message_bytes = 0
        return header, buffers

    def value(self, x: Any, buffers: list[Any]) -> Any:
        if buffers or (type(x) is memoryview and len(x) > _SCAN_FROM):
            n = declared_bytes(x, buffers)
            if self.message_bytes + n > self.max_message:
                raise self._refuse(self.message_bytes + n, self.max_message, "in one message")
            if self.cell_bytes + n > self.max_cell:
                raise self._refuse(self.cell_bytes + n, self.max_cell, "in one cell")
            self.message_bytes += n
            self.cell_bytes += n
            self.peak_message = max(self.peak_message, self.message_bytes)
            self.peak_cell = max(self.peak_cell, self.cell_bytes)
        return super().value(x, buffers)

    def serve(self, header: dict[str, Any], buffers: list[memoryview]) -> None:
        if header.get("q") == "call" and self._asks_too_much(header, buffers):
            self.send({"re": header.get("i")}, err=("ResultTooLarge", str(self.too_large), ""))
            return
        super().serve(header, buffers)

    def _asks_too_much(self, header: dict[str, Any], buffers: list[memoryview]) -> bool:
        """Whether a call of a NumPy function this side lent asks for too much memory."""
        before = self.message_bytes, self.cell_bytes
        try:
            fn = self.value(header.get("h"), buffers)
            if isinstance(fn, Proxy) or not str(getattr(fn, "__module__", "") or "").startswith(
                "numpy"
            ):
                return False
            args = self.value(header.get("a", ["t"]), buffers)
            kwargs = self.value(header.get("k", ["d"]), buffers)
            asked = _asked_bytes(fn, tuple(args), dict(kwargs))
        except ResultTooLarge:
            return True
        except Exception:  # malformed: the request fails as usual when served
            return False
        finally:
            self.message_bytes, self.cell_bytes = before  # decoded again when served
        if asked > self.max_message:
            self._refuse(asked, self.max_message, "asked of the checker")
            return True
        return False

    def send(self, header: dict[str, Any], **values: Any) -> None:
        if "re" in header and "ok" in values:  # a reply of this side: what it computed
            n = _nbytes(values["ok"])
            if n > self.max_message:
                exc = self._refuse(n, self.max_message, "computed for the kernel")
                values = {"err": ("ResultTooLarge", str(exc), "")}
            elif n and self.cell_bytes + n > self.max_cell:
                exc = self._refuse(self.cell_bytes + n, self.max_cell, "in one cell")
                values = {"err": ("ResultTooLarge", str(exc), "")}
            else:
                self.cell_bytes += n
        super().send(header, **values)
