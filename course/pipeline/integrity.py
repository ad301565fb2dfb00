"""What the grader checks in a submission before and after running it, outside the kernel.

* :func:`restore_structure`: the submission's cells against the release: deleted, duplicated or
  reordered locked cells, edited locked sources, edited nbgrader metadata and tags (a
  ``skip-execution`` tag on a test cell would otherwise skip it and give full marks) are put
  back as in the release; each repair is a :class:`Finding`.
* :func:`scan_code`: a static look (AST) at the student's code for imports of reference
  implementations, writes to the grader's objects (``check``, ``numpy``, ``builtins``,
  ``course``, ``sys``, IPython) and introspection that could hide either (``exec``, ``gc``,
  ``ctypes``, frames, ``__dict__``…), in :mod:`.codescan`. It cannot be tampered with: it runs
  in the grader.

A finding's ``severity``: ``zero`` (the affected tasks score 0 — see ``scope``), ``flag`` (the
TA should look; the score is unchanged) or ``info`` (explained in the feedback).
"""

from __future__ import annotations

import ast
from typing import Any

from .codescan import FORBIDDEN, PROTECTED, _to_python, scan_code
from .findings import Finding, _nbg, _source, is_flagged
from .structure import restore_structure

__all__ = [
    "FORBIDDEN",
    "PROTECTED",
    "Finding",
    "is_flagged",
    "restore_structure",
    "scan_code",
    "scan_notebook",
    "syntax_error",
]


def locked_module_names(source: str) -> set[str]:
    """Names a locked cell binds to imported modules (``check``, ``np``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
    return names


def syntax_error(source: str) -> tuple[str, int, str] | None:
    """``(kind, line, message)`` if the cell does not compile (as IPython would run it)."""
    try:
        ast.parse(_to_python(source))
    except SyntaxError as exc:  # IndentationError and TabError too
        return type(exc).__name__, int(exc.lineno or 0), " ".join(str(exc.msg or "").split())
    except (ValueError, OverflowError, MemoryError, RecursionError) as exc:
        return type(exc).__name__, 0, str(exc)[:200]
    return None


def _not_run_message(task: str, index: int, kind: str, line: int, text: str) -> str:
    """``Task 3.4 did not run: SyntaxError in cell 13, line 3 (invalid syntax)`` (bilingual)."""
    label = task[1:].replace("_", ".")
    what, what_ru = (
        (f"Task {label}", f"Задача {label}")
        if task
        else (f"Cell {index + 1}", f"Ячейка {index + 1}")
    )
    said = f" ({text[:200]})" if text else ""
    return (
        f"{what} did not run: {kind} in cell {index + 1}, line {line}{said} / {what_ru} не "
        f"запущена: {kind} в ячейке {index + 1}, строка {line}"
    )


def scan_notebook(nb: Any) -> list[Finding]:
    """Static findings for every student code cell of a restored notebook (by cell index)."""
    protected: set[str] = set()
    out: list[Finding] = []
    for i, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        meta = _nbg(cell)
        if meta.get("locked") or meta.get("grade"):
            protected |= locked_module_names(_source(cell))
            continue
        task = (meta.get("grade_id") or "").split("-")[0] if meta.get("solution") else ""
        broken = syntax_error(_source(cell))
        if broken is not None:
            out.append(Finding("syntax", "flag", _not_run_message(task, i, *broken), i))
        for kind, severity, message in scan_code(_source(cell), protected):
            if kind == "reference" and not task:
                severity = "flag"  # a free cell: the run-time guard decides
            label = task[1:].replace("_", ".")
            where = (
                f"Task {label} / Задача {label}, " if task else ""
            ) + f"cell {i + 1} / ячейка {i + 1}"
            out.append(
                Finding(
                    kind,
                    severity,
                    f"{message} ({where})",
                    i,
                    task if kind == "reference" and task else "after",
                )
            )
    return out
