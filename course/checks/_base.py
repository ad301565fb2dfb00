"""What a check says (re-exported by :mod:`._core`): :class:`Task`, :class:`CheckFailure`,
:func:`fail`, :func:`assert_close` and the formatting of values in messages; and whether a
check runs in the grader's checker (:func:`remote_mode`: the student's objects are proxies).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from ._diagnose import _as_float_array, diagnose
from ._messages import FIRST_LINE, INDENT, detail, headline, student_frame, tag

__all__ = [
    "CheckFailure",
    "Task",
    "assert_close",
    "fail",
    "fmt",
    "is_dual",
    "remote_active",
    "remote_mode",
]


@dataclass(frozen=True)
class Task:
    """A task of an assignment: ``Task("t2_1", "dual-numbers", "dual numbers", …, 20)``."""

    id: str
    slug: str
    title: str
    title_ru: str
    points: float

    @property
    def number(self) -> str:
        """``"2.1"`` for ``t2_1``."""
        return self.id[1:].replace("_", ".")

    @property
    def grade_id(self) -> str:
        """nbgrader's id of the test cell: ``t2_1-dual-numbers``."""
        return f"{self.id}-{self.slug}"

    @property
    def stub(self) -> str:
        """The stub's message: ``Task 2.1: dual numbers``."""
        return f"Task {self.number}: {self.title}"

    @property
    def label(self) -> str:
        return f"Задача {self.number} ({self.title_ru}) / Task {self.number} ({self.title})"


class CheckFailure(AssertionError):
    """A failed check; its message is what the student reads in the feedback (and all they
    read: IPython shows ``_render_traceback_`` instead of a traceback through the checks)."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


# ---------------------------------------------------------------------------------------------
# formatting and diagnosis
# ---------------------------------------------------------------------------------------------
def is_dual(x: Any) -> bool:
    """A forward-mode value: anything with ``.value`` and ``.tangent``."""
    return hasattr(x, "value") and hasattr(x, "tangent")


def fmt(x: Any, width: int = 400) -> str:
    """A short readable form of numbers, arrays, dual values and containers."""
    if is_dual(x):
        return f"{type(x).__name__}(value={fmt(x.value)}, tangent={fmt(x.tangent)})"
    if isinstance(x, (float, np.floating)):
        return _fmt_float(float(x))
    if isinstance(x, np.ndarray) and x.dtype != object:
        if x.ndim == 0:
            return _fmt_float(float(x)) if np.issubdtype(x.dtype, np.number) else repr(x)
        body = np.array2string(
            x,
            precision=6,
            suppress_small=True,
            threshold=24,
            separator=", ",
            max_line_width=FIRST_LINE - INDENT,
        )
        if x.ndim == 1 and "\n" not in body:
            return f"array(shape={x.shape}) " + body
        return f"array(shape={x.shape})\n" + body  # one row per line (see _messages.detail)
    if isinstance(x, tuple):
        return "(" + ", ".join(fmt(v) for v in x) + ("," if len(x) == 1 else "") + ")"
    if isinstance(x, list):
        return "[" + ", ".join(fmt(v) for v in x) + "]"
    text = repr(x)
    return text if len(text) <= width else text[:width] + "…"


def _fmt_float(v: float) -> str:
    text = f"{v:.8g}"
    return text + ".0" if text.lstrip("-").isdigit() else text


def fail(
    task: Task,
    what: str,
    *,
    inputs: Mapping[str, Any] | None = None,
    expected: Any = None,
    obtained: Any = None,
    diagnosis: str | None = None,
    hint: str | None = None,
    show_values: bool = True,
    where: str | None = None,
) -> NoReturn:
    """Raise a :class:`CheckFailure`: the reason first (see :mod:`._messages`), then the
    student's line that raised, the inputs, the values, a diagnosis, a hint, the task."""
    lines = headline(task.number, what)
    if where:
        lines.append(detail("where", where))
    if inputs:
        lines.append(detail("input", ", ".join(f"{k} = {fmt(v)}" for k, v in inputs.items())))
    if show_values:
        lines.append(detail("expected", fmt(expected)))
        lines.append(detail("obtained", fmt(obtained)))
    if diagnosis:
        lines.append(detail("diagnosis", diagnosis))
    if hint:
        lines.append(detail("hint", hint))
    lines.append(detail("task", task.label))
    raise CheckFailure("\n".join(lines))


def _where(exc: BaseException) -> str | None:
    """The student's line that raised ``exc`` (sent by the kernel when it came over the
    channel)."""
    return getattr(exc, "channel_where", None) or student_frame(exc.__traceback__)


def _not_implemented(task: Task, exc: BaseException) -> str:
    return "\n".join(headline(task.number, f"not implemented yet / ещё не реализовано ({exc})"))


def _en_ru(task: Task, en: str, ru: str) -> str:
    """``en / ru``; the English whole on the first line where it fits, the Russian on the next."""
    fits = len(tag(task.number)) + 2 + len(en) <= FIRST_LINE and "\n" not in en
    return f"{en}\n  / {ru}" if fits else f"{en} / {ru}"


def assert_close(
    task: Task,
    what: str,
    obtained: Any,
    expected: Any,
    *,
    inputs: Mapping[str, Any] | None = None,
    hint: str | None = None,
    rtol: float = 1e-7,
    atol: float = 1e-9,
) -> None:
    """Fail unless ``obtained`` has the shape of ``expected`` and is close to it."""
    o = _as_float_array(obtained)
    e = np.asarray(expected, dtype=float)
    if o is not None and o.shape == e.shape and np.allclose(o, e, rtol=rtol, atol=atol):
        return
    fail(
        task,
        _en_ru(task, f"wrong {what}", f"неверный результат: {what}"),
        inputs=inputs,
        expected=expected,
        obtained=obtained,
        diagnosis=diagnose(obtained, expected, rtol, atol),
        hint=hint,
    )


# ---------------------------------------------------------------------------------------------
# the two transports: in the student's kernel (Validate) or in the grader's checker
# ---------------------------------------------------------------------------------------------
class _Remote(threading.local):
    """Set while a check runs in the checker (:mod:`course.channel`) with the student's objects
    as proxies: no static look (the kernel cannot reach the course's code), no
    print (the kernel's stub prints ``said``)."""

    active = False
    said = ""


_REMOTE = _Remote()


def remote_active() -> bool:
    """Whether this check runs in the grader's checker (the student's objects are proxies)."""
    return _REMOTE.active


@contextlib.contextmanager
def remote_mode() -> Iterator[_Remote]:
    """Run checks as the channel's checker does (see :class:`_Remote`)."""
    _REMOTE.active, _REMOTE.said = True, ""
    try:
        yield _REMOTE
    finally:
        _REMOTE.active = False


# ---------------------------------------------------------------------------------------------
# seeded inputs
# ---------------------------------------------------------------------------------------------
