"""Calling the student's code (re-exported by :mod:`._core`): :func:`student_call` and the
decorator of every check, :func:`task_check` — the same check in the student's kernel
(Validate) and in the grader's checker (:func:`._base.remote_mode`).
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._argwatch import write_back
from ._base import (
    _REMOTE,
    CheckFailure,
    Task,
    _en_ru,
    _not_implemented,
    _where,
    fail,
)
from ._messages import detail, headline
from ._static import forbid_reference

__all__ = ["student_call", "task_check"]


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
        return _call(task, what, fn, args, kwargs)
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


#: the checks package of a task, by the assignment's number (``t3_5`` → ``reverse_mode``)
_PACKAGES = {
    "1": "finite_differences",
    "2": "forward_mode",
    "3": "reverse_mode",
    "4": "matrix_adjoints",
    "5": "second_order",
}


def _kernel_watches(task: Task) -> bool:
    """Whether the graded kernel of ``task``'s assignment can run a ``watch`` request: its view
    holds ``course/checks/<package>/_watch.py`` (see :mod:`._argwatch`)."""
    package = _PACKAGES.get(task.id[1:2], "")
    try:
        from course.channel import kernel_view

        return f"course/checks/{package}/_watch.py" in kernel_view(package).files
    except (ImportError, NotImplementedError):
        return False


def _changeable(x: Any) -> bool:
    """An argument the kernel gets as a copy that its function could change in place."""
    if isinstance(x, (np.ndarray, list, dict)):
        return True
    return isinstance(x, tuple) and any(_changeable(v) for v in x)


def _call(
    task: Task, what: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``fn(*args, **kwargs)``; in the grader, for a kernel that can, as a ``watch`` request whose
    reply carries the arguments after the call, copied into the checker's, and the earlier calls
    of this check whose returned arrays the call changed (:mod:`._argwatch`)."""
    endpoint = sys.modules.get("course.channel.endpoint") if _REMOTE.active else None
    channel = getattr(fn, "_ch", None) if endpoint and isinstance(fn, endpoint.Proxy) else None
    if (
        channel is None
        or not any(_changeable(v) for v in (*args, *kwargs.values()))
        or not _kernel_watches(task)
    ):
        out = fn(*args, **kwargs)
        if _REMOTE.active and _REMOTE.pending:  # fn watched the call itself (04's Watch.wrap)
            reports, _REMOTE.pending = _REMOTE.pending, []
            for report in reports:
                _kept_results(task, what, report)
        return out
    out, report = channel.request("watch", h=fn, a=args, k=kwargs)
    report = report if isinstance(report, dict) else {}
    after = report.get("after")
    if after is not None:
        write_back(args, after[0])
        write_back(kwargs, after[1])
    _kept_results(task, what, report)
    return out


def _kept_results(task: Task, what: str, report: dict[str, Any]) -> None:
    """Fail if the watched call ``what`` changed an array an earlier call of this check
    returned (the kernel's ``report``); remember this call's serial."""
    known = _REMOTE.returned
    for serial in report.get("changed") or ():
        if serial in known:
            fail(
                task,
                f"result changed by a later call: what {known[serial]} returned changed when "
                f"{what} ran afterwards; it shares memory with state kept between calls"
                f" / результат изменён более поздним вызовом: то, что вернула "
                f"{known[serial]}, изменилось при вызове {what}",
                show_values=False,
                hint="return a new array on every call (a buffer reused between calls must be "
                "copied out: buf.copy()) / возвращайте новый массив при каждом вызове (буфер "
                "копируйте: buf.copy())",
            )
    if isinstance(report.get("serial"), int):
        known[report["serial"]] = what


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
