"""How a failed check reads, in every view (the notebook, ``nbgrader validate``, the feedback).

* The reason comes first, after a short bilingual tag (``Task 3.4 / Задача 3.4: wrong …``), and the
  first line is at most :data:`FIRST_LINE` characters (``nbgrader validate`` cuts longer lines):
  a longer reason goes on at a word boundary on the next line.
* The labels of the details (input, expected, obtained, diagnosis, hint) and the messages the
  checks share are in English and Russian.
* When the student's code raised, :func:`student_frame` names their cell and line.
* :class:`~._core.CheckFailure` renders as its message only (IPython honours
  ``_render_traceback_``): no frames of the checks, no paths of the TA's machine.
"""

from __future__ import annotations

import linecache
import os
import sysconfig
import textwrap
import types
from typing import Any

__all__ = ["FIRST_LINE", "INDENT", "LABELS", "detail", "headline", "student_frame", "tag"]

#: the longest first line (``nbgrader validate`` shows about 90 characters of a line)
FIRST_LINE = 88

LABELS = {
    "input": "input / вход",
    "expected": "expected / ожидалось",
    "obtained": "obtained / получено",
    "diagnosis": "diagnosis / диагноз",
    "hint": "hint / подсказка",
    "where": "where / где",
    "task": "task / задача",
}
WIDTH = max(len(v) for v in LABELS.values()) + 1  # the "label:" column
INDENT = WIDTH + 3  # where the text of a detail starts


def detail(key: str, text: str) -> str:
    """``  expected / ожидалось:  <text>`` with the labels aligned, the text wrapped at word
    boundaries so that no line is longer than :data:`FIRST_LINE` (``nbgrader validate`` cuts
    longer lines)."""
    width = max(FIRST_LINE - INDENT, 30)
    lines: list[str] = []
    for part in str(text).split("\n"):
        lines += textwrap.wrap(
            part.rstrip(), width, break_long_words=False, break_on_hyphens=False
        ) or [""]
    return f"  {LABELS[key] + ':':<{WIDTH}} " + ("\n" + " " * INDENT).join(lines)


def tag(number: str) -> str:
    """``Task 3.4 / Задача 3.4``."""
    return f"Task {number} / Задача {number}"


def headline(number: str, reason: str) -> list[str]:
    """The first line(s): the tag and the reason, the first line within :data:`FIRST_LINE`
    (split at ``; ``, ``: ``, ``, `` or a space; whitespace-joined they give the reason back)."""
    first = f"{tag(number)}: {reason}"
    if len(first) <= FIRST_LINE or "\n" in reason[:FIRST_LINE]:
        return [first]
    budget = FIRST_LINE - len(tag(number)) - 2
    for sep in ("; ", ": ", ", ", " "):
        i = reason.rfind(sep, 0, budget - len(sep) + 1)
        if i > budget // 3:
            cut = i + len(sep)
            return [f"{tag(number)}: {reason[:cut].rstrip()}", "  " + reason[cut:]]
    return [first]


def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {paths.get(k, "") for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # course/
    root = os.path.dirname(here)
    dirs |= {here, os.path.join(root, "reference_impl")}
    return tuple(os.path.join(d, "") for d in dirs if d)


def _cell_name(filename: str) -> str | None:
    """``In[5]`` for a cell of the running IPython kernel, else None."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    fmt = getattr(getattr(shell, "compile", None), "format_code_name", None)
    name = fmt(filename) if fmt else None
    return name[1] if name else None


def student_frame(tb: types.TracebackType | None) -> str | None:
    """``cell In[5], line 3: x = A @ b`` — the last frame of the student's code in ``tb``."""
    libs = _library_dirs()
    found: Any = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if not os.path.abspath(code.co_filename).startswith(libs) or code.co_filename.startswith(
            "<"
        ):
            found = (code.co_filename, tb.tb_lineno, code.co_name)
        tb = tb.tb_next
    if found is None:
        return None
    filename, line, name = found
    text = linecache.getline(filename, line).strip()
    cell = _cell_name(filename)
    where = f"cell {cell}, line {line}" if cell else f"{os.path.basename(filename)}, line {line}"
    where += f" (in {name})" if name != "<module>" else ""
    return f"{where}: {text}" if text else where
