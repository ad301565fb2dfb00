"""What every assignment's checks share.

* :class:`Task`: one ID per task (``t2_1``), from which the stub's message, nbgrader's
  ``grade_id`` and the pytest marker derive.
* :func:`task_check`: the decorator of every check. It refuses solutions whose code names a
  reference implementation (:func:`forbid_reference`, a static look), silences warnings
  (nbgrader gives 0 points to a test cell that writes to stderr), turns the student's exceptions
  into a readable :class:`CheckFailure`, and hides the check's own frames from the traceback
  shown in feedback.
* :func:`assert_close` and :func:`diagnose`: compare with a reference and explain the difference
  (wrong sign, off by a factor, transposed, not broadcast, lost tangent…).
* :func:`rng`, :func:`uniform`, :func:`direction`: seeded inputs and random tangents or
  cotangents, never all ones (an all-ones direction hides transposition and summation bugs).
* :func:`student_call`: every call of the student's code, with context on errors.

* :class:`CallCounter` and :func:`substituted`: count the student's calls (passes, matvecs), and
  grade a task with the course's versions of the earlier tasks, so that a mistake costs the
  points of one task only.

When a notebook is graded the checks run in the grader's checker (:mod:`course.channel`), and
the kernel can read neither ``reference_impl`` nor the hidden and reference parts: what the
in-kernel run-time guard, its code registry and the verdict ledger once stopped is impossible
there (docs/TA_GUIDE.md, "What replaced the guard, the registry and the monitor"). In the
student's own kernel (Validate) the student is no adversary of their own grade.

The parts live in :mod:`._base` (tasks, failures, comparisons, the remote flag) and
:mod:`._calls` (calling the student, the decorator); every name is imported from here.
"""

from __future__ import annotations

import contextlib
import functools
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ._base import (
    _REMOTE,
    CheckFailure,
    Task,
    assert_close,
    fail,
    fmt,
    is_dual,
    remote_active,
    remote_mode,
)
from ._calls import student_call, task_check
from ._diagnose import diagnose
from ._graph import topological_order
from ._static import FORBIDDEN_MODULES, forbid_reference

__all__ = [
    "FORBIDDEN_MODULES",
    "CallCounter",
    "CheckFailure",
    "Task",
    "assert_close",
    "diagnose",
    "direction",
    "fail",
    "fmt",
    "forbid_reference",
    "is_dual",
    "remote_active",
    "remote_mode",
    "rng",
    "student_call",
    "substituted",
    "task_check",
    "topological_order",
    "uniform",
]


def rng(task: Task | str, salt: object = "") -> np.random.Generator:
    """A generator seeded by the task and a salt: the same inputs on every run and machine."""
    tid = task.id if isinstance(task, Task) else task
    return np.random.default_rng(zlib.crc32(f"{tid}:{salt}".encode()))


def uniform(
    gen: np.random.Generator, shape: tuple[int, ...] = (), low: float = -2.0, high: float = 2.0
) -> Any:
    """Uniform values; a Python float for ``shape == ()``."""
    a = gen.uniform(low, high, size=shape)
    return float(a) if shape == () else a


def direction(gen: np.random.Generator, shape: tuple[int, ...] = ()) -> Any:
    """A random tangent or cotangent: normal entries, far from constant (never all ones)."""
    while True:
        v = gen.normal(size=shape)
        if shape == () and abs(float(v)) > 0.2 and abs(abs(float(v)) - 1) > 0.2:
            return float(v)
        if v.size == 1 and shape != () and abs(abs(float(v.flat[0])) - 1) > 0.2:
            return v
        if v.size > 1 and np.ptp(v) > 0.5 and np.all(np.abs(v) > 0.05):
            return v


# ---------------------------------------------------------------------------------------------
# calling the student's code
# ---------------------------------------------------------------------------------------------
class CallCounter:
    """Wrap a function; count its calls and keep their arguments (``.calls``). Over the channel
    the kernel can only call it (``channel_opaque``)."""

    channel_opaque = True

    def __init__(self, fn: Callable[..., Any]):
        self.fn = fn
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        return self.fn(*args, **kwargs)

    @property
    def count(self) -> int:
        return len(self.calls)


_MISSING = object()


@contextlib.contextmanager
def substituted(fn: Any, **names: Any) -> Iterator[None]:
    """Temporarily rebind global ``names`` in the module (notebook) where ``fn`` is defined.

    Grading ``jacfwd`` with the course's ``jvp`` keeps a bug in the student's ``jvp`` from
    costing the points of both tasks. A name given None is left alone: the course's version is
    absent (the student distribution has no ``_reference``), the student's own is used.
    """
    names = {k: v for k, v in names.items() if v is not None}
    remote = getattr(fn, "_ch", None)
    if _REMOTE.active and remote is not None:  # a proxy: the kernel rebinds, the versions stay here
        token = remote.request("subst", h=fn, a=names)
        try:
            yield
        finally:
            remote.request("unsubst", a=token)
        return
    g = getattr(fn, "__globals__", None)
    if g is None:
        init = getattr(fn, "__init__", None)
        g = getattr(init, "__globals__", None)
    if g is None:
        yield
        return
    saved = {k: g.get(k, _MISSING) for k in names}
    g.update(names)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is _MISSING:
                g.pop(k, None)
            else:
                g[k] = v
