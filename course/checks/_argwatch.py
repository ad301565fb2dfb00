"""A call of the student's function as the grader makes it, with the arguments seen afterwards.

Over the channel (:mod:`course.channel`) arrays, lists and dicts travel by value: the kernel's
function gets copies, and a change it makes in place (``x += …``, ``lst.clear()``) would go
unseen by the checks, which compare the arguments with saved copies — the solution would earn
points in the grader that it loses in the student's own kernel. So, for the packages whose
kernel view holds ``course/checks/<package>/_watch.py`` (``course.channel.PACKAGES``),
:func:`._calls.student_call` sends such a call as a ``watch`` request: the kernel runs it under
that module's ``Watch`` (this module's for 01, 02, 03 and 05; 04's own also counts
factorisations), which reports the arguments as they are after the call, and :func:`write_back`
copies the changes into the checker's arguments.

Results too travel by value, so a returned array that the function keeps and overwrites on its
next call (a buffer shared with the caller) looks fine to the checker. The kernel's side keeps a
weak reference and a copy of every array a watched call returned (:data:`_RETURNED`; an array
nobody else keeps dies with its entry); each watched call reports, by serial number, the earlier
calls whose returned arrays have changed since, and :func:`._calls.student_call` fails the task
("result changed by a later call").

The kernel's side (:class:`Watch`) needs only NumPy: a graded kernel runs it from its read-only
view.
"""

from __future__ import annotations

import functools
import itertools
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["Watch", "changed_results", "keep_results", "write_back"]

#: the kernel's arrays returned by watched calls: id → (weak reference, copy, serial of the call)
_RETURNED: dict[int, tuple[Any, Any, int]] = {}
_SERIAL = itertools.count(1)


class Watch:
    """The kernel's side of a ``watch`` request: the call, then its arguments and the earlier
    results it changed."""

    def __init__(self) -> None:
        self.after: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self.out: Any = None

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def watched(*args: Any, **kwargs: Any) -> Any:
            try:
                self.out = fn(*args, **kwargs)
                return self.out
            finally:
                self.after = (args, kwargs)

        return watched

    def report(self) -> dict[str, Any]:
        """No counted calls; the arguments of the call as they are after it; this call's serial
        and those of the earlier calls whose results it changed."""
        changed = changed_results()
        return {
            "calls": [],
            "after": self.after,
            "serial": keep_results(self.out),
            "changed": changed,
        }


def changed_results() -> list[int]:
    """Serials of the calls whose returned arrays changed since they were returned (each
    reported once)."""
    import numpy as np

    out = set()
    for key, (ref, copy, serial) in list(_RETURNED.items()):
        now = ref()
        if now is None:
            _RETURNED.pop(key, None)
        elif now.shape != copy.shape or not np.array_equal(now, copy, equal_nan=True):
            out.add(serial)
            _RETURNED.pop(key, None)
    return sorted(out)


def keep_results(out: Any) -> int:
    """Remember the arrays in ``out`` (weakly, with a copy) under a new serial; the serial."""
    import numpy as np

    serial = next(_SERIAL)
    stack = [out]
    while stack:
        x = stack.pop()
        if isinstance(x, np.ndarray) and x.dtype.kind in "biufc":
            ref = weakref.ref(x, functools.partial(_forget, id(x)))
            _RETURNED[id(x)] = (ref, np.array(x, copy=True), serial)
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
    return serial


def _forget(key: int, ref: Any) -> None:
    entry = _RETURNED.get(key)
    if entry is not None and entry[0] is ref:
        del _RETURNED[key]


def write_back(local: Any, remote: Any) -> None:
    """Make the checker's arguments ``local`` (arrays, lists, tuples and dicts of them) hold what
    the kernel's copies ``remote`` hold after the student's call."""
    import numpy as np  # the checker's side only

    if isinstance(local, np.ndarray):
        if (
            isinstance(remote, np.ndarray)
            and remote.shape == local.shape
            and local.flags.writeable
            and not np.array_equal(local, remote, equal_nan=local.dtype.kind in "fc")
        ):
            np.copyto(local, remote, casting="unsafe")
    elif isinstance(local, (list, tuple)) and isinstance(remote, (list, tuple)):
        if len(local) == len(remote):
            for i, (a, b) in enumerate(zip(local, remote, strict=True)):
                if isinstance(a, (np.ndarray, list, tuple, dict)):
                    write_back(a, b)
                elif isinstance(local, list) and not _same(a, b):
                    local[i] = b
        elif isinstance(local, list):
            local[:] = list(remote)
    elif isinstance(local, dict) and isinstance(remote, dict):
        for k in [k for k in local if k not in remote]:
            del local[k]
        for k, b in remote.items():
            if isinstance(local.get(k), (np.ndarray, list, tuple, dict)):
                write_back(local[k], b)
            elif k not in local or not _same(local[k], b):
                local[k] = b


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or a == b)
    except Exception:
        return False
