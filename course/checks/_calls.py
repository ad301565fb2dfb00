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
