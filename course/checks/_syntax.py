"""A syntax error named where it bites: "Task 3.4 did not run: SyntaxError in cell [12], line 3".

A solution cell with a syntax error defines nothing, so the test cell after it fails with
``NameError: name 'lecture_reverse' is not defined`` — which sends a student looking in the
wrong place. :func:`install` (called when a notebook's first cell imports ``course.checks``,
in the student's own kernel and in a graded one alike) registers two IPython hooks:

* ``post_run_cell`` records each cell that did not run for a :class:`SyntaxError` (or
  ``IndentationError``, ``TabError``): its prompt number ``[n]``, line, message and the names
  it would have defined;
* a custom exception handler for :class:`NameError` shows, when the missing name is one such
  a cell would have defined, :class:`TaskNotRun` instead: the task of the running cell, the
  broken cell and its line.

In a graded kernel (connected to the grader's checker, :mod:`course.channel.kernel`) both events
are also sent to the checker as notes, so that the verdict of the test cell — decided there,
never here — names the syntax error too (:meth:`course.channel.checker.Checker.end_cell`). A note
changes a message only, never a verdict.
"""

from __future__ import annotations

import re
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

__all__ = ["TaskNotRun", "explain", "install", "record"]

_DEFINES = re.compile(
    r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)"
    r"|^([A-Za-z_]\w*)(?:[ \t]*,[ \t]*[A-Za-z_]\w*)*[ \t]*(?::[^=\n]*)?=(?!=)",
    re.M,
)
_TASK = re.compile(r"\bcheck\.(?:hidden_)?t(\d+)_(\d+)\s*\(")
_KEEP = 50  # broken cells remembered


@dataclass(frozen=True)
class Broken:
    """A cell that did not run: its prompt number, the error, the names it would define."""

    count: int
    kind: str
    line: int
    message: str
    names: frozenset[str]
    source: str


_BROKEN: list[Broken] = []
_RUNNING: list[str] = [""]  # the source of the cell being run


class TaskNotRun(NameError):
    """A name a broken cell would have defined; shown as its message only."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


def _names(source: str) -> frozenset[str]:
    return frozenset(a or b for a, b in _DEFINES.findall(source))


def record(count: int, exc: BaseException | None, source: str) -> Broken | None:
    """Remember that cell ``[count]`` did not run because of ``exc`` (a SyntaxError)."""
    if not isinstance(exc, SyntaxError):
        return None
    broken = Broken(
        int(count or 0),
        type(exc).__name__,
        int(exc.lineno or 0),
        " ".join(str(exc.msg or "").split())[:200],
        _names(source),
        source,
    )
    _BROKEN.append(broken)
    del _BROKEN[:-_KEEP]
    return broken


def cause(name: str) -> Broken | None:
    """The latest broken cell that would have defined ``name`` (or that mentions it)."""
    for b in reversed(_BROKEN):
        if name in b.names:
            return b
    word = re.compile(rf"\b{re.escape(name)}\b")
    return next((b for b in reversed(_BROKEN) if word.search(b.source)), None)


def task_of(source: str) -> str | None:
    """``"3.4"`` for a test cell that calls ``check.t3_4(…)``."""
    m = _TASK.search(source)
    return f"{m[1]}.{m[2]}" if m else None


def explain(name: str, task: str | None, broken: Broken, where: str | None = None) -> str:
    """The message of a task that did not run because of ``broken`` (``where``: how the
    grader names the cell; by default its prompt ``[n]``), lines within 88 characters."""
    where = where or f"cell [{broken.count}]"
    what, what_ru = (f"Task {task}", f"Задача {task}") if task else ("This cell", "Эта ячейка")
    said = f" ({broken.message})" if broken.message else ""
    parts = [
        f"{what} did not run: {broken.kind} in {where}, line {broken.line}{said}",
        f"/ {what_ru} не запущена: {broken.kind} в {where.replace('cell', 'ячейке', 1)}, "
        f"строка {broken.line}",
        f"{name!r} is not defined because that cell did not run: fix it and run it again",
        f"/ {name!r} не определено, потому что та ячейка не выполнилась: исправьте её и "
        "запустите снова",
    ]
    lines: list[str] = []
    for k, part in enumerate(parts):
        lines += textwrap.wrap(
            part,
            88,
            initial_indent="" if k == 0 else "  ",
            subsequent_indent="    ",
            break_long_words=False,
        )
    return "\n".join(lines)


def _note(*fields: Any) -> None:
    """Tell the grader's checker (a graded kernel only); never fails the student's cell."""
    kernel = sys.modules.get("course.channel.kernel")
    channels = getattr(kernel, "_CHANNEL", None)
    if not channels:
        return
    try:
        channels[0].endpoint.request("note", a=fields)
    except BaseException as exc:  # a message, not a verdict: never the student's error
        if isinstance(exc, KeyboardInterrupt):
            raise


def _pre_run_cell(info: Any) -> None:
    _RUNNING[0] = str(getattr(info, "raw_cell", "") or "")


def _post_run_cell(result: Any) -> None:
    exc = getattr(result, "error_before_exec", None)
    info = getattr(result, "info", None)
    broken = record(
        getattr(result, "execution_count", 0) or 0, exc, str(getattr(info, "raw_cell", "") or "")
    )
    if broken is not None:
        _note("syntax", broken.count, broken.kind, broken.line, broken.message)
    elif getattr(result, "success", False) and _BROKEN:  # a fixed cell defined its names
        ns = getattr(sys.modules["IPython"].get_ipython(), "user_ns", {})
        _BROKEN[:] = [b for b in _BROKEN if not (b.names and b.names <= ns.keys())]


def _name_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None):
    name: str | None = getattr(value, "name", None)
    if not isinstance(name, str):
        m = re.search(r"name '(\w+)' is not defined", str(value))
        name = m[1] if m else None
    broken = cause(name) if name else None
    if broken is None or name is None:
        return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    task = task_of(_RUNNING[0])
    _note("name", broken.count, name)
    err = TaskNotRun(explain(name, task, broken))
    # shown as a NameError (nbgrader adds the reply's error to the outputs unless an error
    # output of the same name is there), its text ours
    return shell.showtraceback((etype, err, tb), tb_offset=tb_offset)


def install() -> bool:
    """Register the hooks in the running IPython shell (once); False outside IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return False
    if getattr(shell, "_course_syntax_hooks", False):
        return True
    shell.events.register("pre_run_cell", _pre_run_cell)
    shell.events.register("post_run_cell", _post_run_cell)
    if not shell.custom_exceptions:  # a handler the notebook set itself stays
        shell.set_custom_exc((NameError,), _name_error)
    shell._course_syntax_hooks = True
    return True
