"""What decides a graded notebook's cells (the verdict half of :mod:`.executor`).

* :class:`Verdicts` (mixed into :class:`~.executor.SandboxExecute`): what the outputs show
  (the sandbox's refusals, memory errors, truncations), the checker's verdict on every grade
  cell (:meth:`Verdicts._decide_channel`: nothing else scores it), the static scan's findings
  as error outputs on the cells they zero, and the notes cell on top of the graded notebook;
* :func:`findings_of` / :func:`set_findings`: the findings a graded notebook carries.
"""

from __future__ import annotations

import re
from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell, new_output

from .confine import TAG
from .findings import where_of as _where
from .integrity import Finding

__all__ = ["KIND_RU", "NOTES_TITLE", "Verdicts", "findings_of", "set_findings"]

NOTES_TITLE = "Замечания проверяющей системы / Grader's notes"


def findings_of(nb: Any) -> list[Finding]:
    """The findings a graded notebook carries (``metadata.course.findings``)."""
    raw = (nb.metadata.get("course") or {}).get("findings") or []
    return [Finding.from_dict(f) for f in raw if isinstance(f, dict)]


def _set_findings(nb: Any, findings: list[Finding], **extra: Any) -> None:
    nb.metadata["course"] = {"findings": [f.to_dict() for f in findings], **extra}


set_findings = _set_findings


def _error(ename: str, evalue: str) -> NotebookNode:
    return new_output(
        "error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"]
    )


def _is_grade(cell: Any) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("grade"))


def _is_locked(cell: Any) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("locked") or meta.get("grade"))


#: the grader's notes in Russian: what each kind of finding means
KIND_RU = {
    "tamper": "проверки или библиотеки курса изменены, задача не засчитана",
    "reference": "решение использует reference_impl, jax, autograd или torch",
    "suspicious": "подозрительный код, его посмотрит преподаватель",
    "structure": "структура ноутбука восстановлена по заданию",
    "submission": "файл решения: что именно проверено",
    "crash": "ядро Python упало, дальнейшие тесты не запускались",
    "timeout": "ячейка выполнялась слишком долго и была прервана",
    "memory": "превышен предел памяти",
    "output": "вывод ячейки обрезан",
    "exit": "вызван sys.exit()",
    "sandbox": "песочница запретила действие",
    "cells": "слишком много ячеек, ноутбук не запускался",
}


def _task_of(cell: Any) -> str:
    return str(cell.metadata.get("nbgrader", {}).get("grade_id", "")).split("-")[0]


def _expected(cell: Any) -> tuple[str, ...]:
    """The checks a grade cell calls (``check.<name>(`` at the start of a line), as released:
    nbgrader restored the locked cell's source from the gradebook before execution."""
    return tuple(re.findall(r"^\s*check\.(\w+)\(", cell.source, re.M))


class Verdicts:
    """The verdict methods of :class:`~.executor.SandboxExecute` (its traits: ``max_cells``,
    ``memory_mb``, ``output_chars``; ``_truncated``: the cells whose output was cut)."""

    max_cells: int
    memory_mb: int
    output_chars: int
    _truncated: set[int]

    def _refuse_long(self, nb: NotebookNode, findings: list[Finding]) -> NotebookNode:
        """A notebook of more than :attr:`max_cells` cells is not run (each code cell costs a
        round trip to the kernel: 5,000 cells would take minutes): every test cell gets the
        reason as its error (0 points) and the TA a flag."""
        why = (
            f"the notebook has {len(nb.cells)} cells, more than the {self.max_cells} allowed: "
            f"it was not run (delete the extra cells and submit again) / в ноутбуке "
            f"{len(nb.cells)} ячеек, больше допустимых {self.max_cells}: он не запускался "
            f"(удалите лишние ячейки и сдайте снова)"
        )
        for cell in nb.cells:
            if cell.cell_type == "code" and _is_grade(cell):
                cell.outputs = [_error("NotRun", f"{TAG} not run / не запущена: {why}")]
        findings.append(Finding("cells", "flag", why))
        self._apply(nb, findings)
        _set_findings(nb, findings, sandbox="not run", channel=False, kernel_cpu=0.0, cells={})
        return nb

    # --- verdicts ---------------------------------------------------------------------------------
    def _observe(self, nb: NotebookNode) -> list[Finding]:
        """What the outputs show: the sandbox's refusals, memory errors, truncations."""
        out = []
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            texts = [
                str(o.get("text", "")) + str(o.get("evalue", "")) for o in cell.get("outputs", [])
            ]
            refused = sorted(
                {
                    line.split(TAG, 1)[1].strip()[:400]
                    for t in texts
                    for line in t.splitlines()
                    if TAG in line and "not allowed" in line
                }
            )
            refused += sorted(
                {
                    f"the system refused access to {m} / система отказала в доступе к {m}"
                    for t in texts
                    for m in re.findall(r"\[Errno 13\] Permission denied: ('[^']*')", t)
                }
            )
            for m in refused[:3]:
                out.append(Finding("sandbox", "flag", f"refused: {m} ({_where(nb, i)})", i))
            if any(o.get("ename") == "SystemExit" for o in cell.get("outputs", [])):
                out.append(
                    Finding(
                        "exit",
                        "info",
                        (
                            f"sys.exit() was called ({_where(nb, i)}): the kernel keeps running while "
                            f"grading and the next cells were run / вызван sys.exit(): при проверке ядро "
                            f"продолжает работать, и следующие ячейки были выполнены"
                        ),
                        i,
                    )
                )
            if any(
                str(o.get("ename", "")).endswith("MemoryError") for o in cell.get("outputs", [])
            ) or any("MemoryError" in t for t in texts):  # numpy's is _ArrayMemoryError
                out.append(
                    Finding(
                        "memory",
                        "info",
                        (
                            f"out of memory: memory limit ({self.memory_mb} MiB) exceeded / не "
                            f"хватило памяти: превышен предел памяти ({self.memory_mb} МиБ) "
                            f"({_where(nb, i)})"
                        ),
                        i,
                    )
                )
            if i in self._truncated:
                out.append(
                    Finding(
                        "output",
                        "info",
                        (
                            f"output truncated to {self.output_chars} characters / вывод обрезан до "
                            f"{self.output_chars} символов ({_where(nb, i)})"
                        ),
                        i,
                    )
                )
        return out

    def _decide_channel(self, nb: NotebookNode, verdicts: dict[int, Any]) -> list[Finding]:
        """A grade cell graded over the channel scores only from the checker's
        :class:`~course.channel.CellVerdict`: on a pass its kernel errors and stderr are kept as
        stdout text (nbgrader would score either as 0), on a failure the verdict's messages
        become its error output.
        ``execute_result`` and ``display_data`` outputs are removed (nbgrader would score the
        first as the grade)."""
        out: list[Finding] = []
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not _is_grade(cell):
                continue
            v = verdicts.get(i)
            passed = v is not None and v.passed
            errored = any(o.output_type == "error" for o in cell.get("outputs", []))
            skipped = sorted(set(_expected(cell)) - set(v.ran)) if v is not None else []
            if v is not None and not passed and skipped and not errored and not v.kernel_lost:
                # the cell ran to its end without an error, yet a check its locked source
                # calls never reached the checker: replaced or bypassed in the kernel
                why = (
                    f"the course's checks did not confirm this task ({', '.join(skipped)}: "
                    f"never called; replaced or bypassed checks never earn points) / "
                    f"проверки курса не подтвердили эту задачу ({', '.join(skipped)}: не "
                    f"вызваны; подменённые или обойдённые проверки баллов не приносят)"
                )
                out.append(Finding("tamper", "zero", f"{why} ({_where(nb, i)})", i))
            kept = []
            for o in cell.get("outputs", []):
                if o.output_type in ("execute_result", "display_data"):
                    continue
                if o.output_type == "error" and o.get("ename") == "CheckFailure":
                    continue  # the kernel's copy of a failure: the verdict's text replaces it
                if passed and o.output_type == "error":
                    o = new_output(
                        "stream", name="stdout", text=(f"{o.get('ename')}: {o.get('evalue')}\n")
                    )
                elif passed and o.output_type == "stream" and o.get("name") == "stderr":
                    o = new_output("stream", name="stdout", text=o.get("text", ""))
                kept.append(o)
            cell.outputs = kept
            if passed:
                continue
            messages = list(v.messages) if v is not None else []
            if not messages:
                messages = [
                    "the checker gave no verdict for this cell / проверка не вынесла "
                    "вердикт по этой ячейке"
                ]
            cell.outputs.append(_error("CheckFailure", "\n".join(messages)))
        return out

    def _apply(self, nb: NotebookNode, findings: list[Finding]) -> None:
        """Error outputs on the test cells that findings zero; the notes cell on top."""
        for f in findings:
            if f.severity != "zero":
                continue
            for i, cell in enumerate(nb.cells):
                if not _is_grade(cell):
                    continue
                if f.scope == "after" and i < (f.cell or 0):
                    continue
                if f.scope != "after" and _task_of(cell) != f.scope:
                    continue
                why = (
                    "the solution must not use reference_impl, jax, autograd or torch / решение "
                    "не должно использовать reference_impl, jax, autograd или torch"
                    if f.kind == "reference"
                    else "the grader's checks or libraries were modified, so this test cannot be "
                    "trusted / проверки или библиотеки курса были изменены, поэтому этому "
                    "тесту нельзя доверять"
                )
                cell.outputs.append(
                    _error(
                        "IntegrityError",
                        (f"{TAG} this task scores 0 / задача оценена в 0: {why} ({f.message})"),
                    )
                )
        if findings:
            lines = [f"## {NOTES_TITLE}", ""]
            for f in findings:
                ru = KIND_RU.get(f.kind, "")
                lines.append(
                    f"* {f.message} — **{f.kind}**"
                    + (f" / {ru}" if ru else "")
                    + (
                        " — *flagged for the TA / передано преподавателю*"
                        if f.severity in ("zero", "flag")
                        else ""
                    )
                )
            notes = new_markdown_cell("\n".join(lines))
            notes.metadata["course_notes"] = True
            nb.cells.insert(0, notes)
