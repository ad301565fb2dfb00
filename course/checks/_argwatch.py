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

The kernel's side (:class:`Watch`) needs nothing but the standard library: a graded kernel runs
it from its read-only view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Watch", "write_back"]


class Watch:
    """The kernel's side of a ``watch`` request: the call, then its arguments."""

    def __init__(self) -> None:
        self.after: tuple[tuple[Any, ...], dict[str, Any]] | None = None

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def watched(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                self.after = (args, kwargs)

        return watched

    def report(self) -> dict[str, Any]:
        """No counted calls; the arguments of the call as they are after it."""
        return {"calls": [], "after": self.after}


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
