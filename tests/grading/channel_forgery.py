"""A forged reply, written by hand in the channel's binary wire format (docs/GRADING_CHANNEL.md,
course/channel/codec.py), for the tests of the checker's memory bound: :func:`forged_reply` in
the test's process, :data:`FORGE` (its source and ``_forge_reply()``) in a student's kernel.
Used by tests/grading/test_channel.py and tests/grading/test_checker_memory.py."""

from __future__ import annotations

import inspect
import textwrap


def forged_reply(seq: int, arrays: int = 256, elements: int = 2**20, field: str = "ok") -> bytes:
    """A reply to request ``seq``: its ``field`` (``ok``, or ``up``: faithful calls' updates)
    is a list of ``arrays`` float64 arrays of ``elements`` elements each, all referring to the
    frame's one buffer of ``8 * elements`` bytes. With the defaults: 8 MiB on the wire, 2 GiB
    once decoded (the decoder copies every reference). Its source runs in the student's kernel
    too (see :data:`FORGE`): it imports what it needs."""
    import struct

    from course.channel.codec import DTYPES

    one = b"A" + bytes([DTYPES.index("float64"), 0, 1]) + struct.pack("<QI", elements, 0)
    key = field.encode()
    fields = {b"re": b"i" + struct.pack("<q", seq), key: b"l" + struct.pack("<I", arrays)}
    fields[key] += one * arrays
    body = bytes([len(fields)])
    for key, value in fields.items():
        body += bytes([len(key)]) + key + struct.pack("<I", len(value)) + value
    body += struct.pack("<H", 1) + struct.pack("<Q", 8 * elements) + bytes(8 * elements)
    return struct.pack(">I", len(body)) + body


#: the student's side of a forged reply: ``_forge_reply()``, called while the kernel serves the
#: checker's call of the student's function, writes its own frame on the socket answering that
#: call (declaring 2 GiB) and raises
FORGE = inspect.getsource(forged_reply) + textwrap.dedent(
    """
    import sys as _sys
    import course.channel.kernel as _K
    def _forge_reply(field="ok"):
        f = _sys._getframe(1)
        while f is not None and not (
                f.f_code.co_name == "serve" and isinstance(f.f_locals.get("header"), dict)):
            f = f.f_back
        frame = forged_reply(f.f_locals["header"]["i"], field=field)
        _K._CHANNEL[0].endpoint.sock.sendall(frame)
        raise RuntimeError("forged")
    """
)
