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

When a notebook is graded the checks run in the grader's checker (:mod:`course.channel`), and
the kernel can read neither ``reference_impl`` nor the hidden and reference parts: what the
in-kernel run-time guard, its code registry and the verdict ledger once stopped is impossible
there (docs/TA_GUIDE.md, "What replaced the guard, the registry and the monitor"). In the
student's own kernel (Validate) the student is no adversary of their own grade.
* :class:`CallCounter` and :func:`substituted`: count the student's calls (passes, matvecs), and
  grade a task with the course's versions of the earlier tasks, so that a mistake costs the
  points of one task only.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from ._diagnose import _as_float_array, diagnose
from ._graph import topological_order
from ._messages import FIRST_LINE, INDENT, detail, headline, student_frame, tag
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


def student_call(
    task: Task,
    what: str,
    fn: Callable[..., Any],
    *args: Any,
    inputs: Mapping[str, Any] | None = None,
    hint: str | None = None,
    **kwargs: Any,
) -> Any:
    """Call the student's ``fn`` with ``args``; an exception becomes a :class:`CheckFailure`
    with context."""
    try:
        return fn(*args, **kwargs)
    except CheckFailure:
        raise
    except NotImplementedError as exc:
        raise CheckFailure(_not_implemented(task, exc)) from None
    except Exception as exc:
        fail(
            task,
            _en_ru(
                task,
                f"{what} raised {type(exc).__name__}: {exc}",
                f"в вызове {what} возникло исключение {type(exc).__name__}",
            ),
            inputs=inputs,
            hint=hint,
            show_values=False,
            where=_where(exc),
        )


# ---------------------------------------------------------------------------------------------
# the decorator of every check
# ---------------------------------------------------------------------------------------------
def task_check(
    task: Task, hidden: bool = False, replaces: tuple[str, ...] = ()
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Wrap a check of ``task`` whose arguments are the student's objects (see module doc).

    ``replaces`` names the earlier tasks' globals that the check substitutes with the course's
    versions; they are not inspected by :func:`forbid_reference`.
    """

    def deco(check: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(check)
        def wrapper(*student: Any) -> None:
            __tracebackhide__ = True  # IPython and pytest leave this frame out
            if _REMOTE.active:
                return _remote_check(task, hidden, check, student)
            message = _failure(task, check, student)
            try:  # the names the solution uses (a static look): a reference costs the task
                forbid_reference(task, *student, skip=replaces)
            except CheckFailure as exc:
                message = str(exc)
            if message is not None:
                raise CheckFailure(message) from None  # no frames of the checks in feedback
            print(_passed(task, hidden))
            sys.stdout.flush()

        return wrapper

    return deco


def _failure(task: Task, check: Callable[..., None], student: tuple[Any, ...]) -> str | None:
    """Run ``check(*student)``; the failure's message (None if it passed), whatever it raised."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            check(*student)
    except CheckFailure as exc:
        return str(exc)
    except NotImplementedError as exc:
        return _not_implemented(task, exc)
    except RecursionError:
        return "\n".join(
            headline(
                task.number, "infinite recursion in the solution / бесконечная рекурсия в решении"
            )
        )
    except Exception as exc:
        return "\n".join(
            [
                *headline(
                    task.number,
                    f"the solution raised / решение выбросило {type(exc).__name__}: {exc}",
                ),
                detail("where", _where(exc) or "?"),
            ]
        )
    return None


def _passed(task: Task, hidden: bool) -> str:
    part = (
        "скрытые тесты пройдены / hidden tests passed"
        if hidden
        else "видимые тесты пройдены / visible tests passed"
    )
    return f"✓ {task.label}: {part}"


def _remote_check(
    task: Task, hidden: bool, check: Callable[..., None], student: tuple[Any, ...]
) -> None:
    """A check in the checker: the same check, its failures as :class:`CheckFailure`."""
    __tracebackhide__ = True
    message = _failure(task, check, student)
    if message is not None:
        raise CheckFailure(message) from None
    _REMOTE.said = _passed(task, hidden)
