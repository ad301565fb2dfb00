"""Grades and feedback back to the LMS: ``course export moodle|canvas --workdir W -a ID``.

Written to ``WORKDIR/export/``:

* **Moodle** — ``moodle-<id>-grades.csv``: the assignment's *grading worksheet* (Grading action
  "Download grading worksheet" / "Upload grading worksheet", offline grading on):
  ``Identifier`` (``Participant 1234``, the participant id of the download's folder names),
  ``Full name``, ``Email address``, ``Status``, ``Grade``, ``Maximum Grade``, ``Grade can be
  changed``, ``Last modified (submission)``, ``Last modified (grade)``, ``Feedback comments``;
  UTF-8. ``moodle-<id>-feedback.zip``: each student's feedback HTML under the download's own
  folder name (``Вера Смирнова_1234_assignsubmission_file_/feedback-<id>.html``, or with the
  file name after that prefix for a flat download), for "Upload multiple feedback files in a
  zip", which matches files to students by that prefix.
* **Canvas** — ``canvas-<id>-grades.csv``: the Gradebook's import format: ``Student``, ``ID``
  (the Canvas user id, which Canvas matches on), ``SIS User ID``, ``SIS Login ID``,
  ``Section`` and one column for the assignment (its title as in Canvas's own export,
  ``Name (12345)``, given by ``--column``; default the course's id, which Canvas creates as a
  new column), then a ``Points Possible`` row. ``canvas-<id>-feedback.zip``: the feedback HTML
  of each student named with the download's prefix (``smirnovavera_1234_5678_feedback-<id>
  .html``), as Canvas's submissions download names files, for "Re-Upload Submissions".

Students come from ``WORKDIR/lms/<lms>-<id>.json`` (written by ``course import``): a graded
student without an LMS id cannot be written and is named in the result's notes.
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .lang import say

if TYPE_CHECKING:
    from ..pipeline.gradebook import Grade

__all__ = ["Exported", "export"]

MOODLE_COLUMNS = [
    "Identifier",
    "Full name",
    "Email address",
    "Status",
    "Grade",
    "Maximum Grade",
    "Grade can be changed",
    "Last modified (submission)",
    "Last modified (grade)",
    "Feedback comments",
]
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


@dataclass
class Exported:
    grades: Path
    feedback: Path
    rows: int = 0
    files: int = 0
    notes: list[str] = field(default_factory=list)


def _imported(workdir: Path, lms: str, assignment: str) -> dict:
    path = workdir / "lms" / f"{lms}-{assignment}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: course export needs the LMS ids that course import keeps "
            f"(course import {lms} DOWNLOAD -a {assignment} --to SUBMISSIONS -w {workdir})"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def _scale(score: float, max_score: float, to: float | None) -> tuple[float, float]:
    if to is None or not max_score:
        return score, max_score
    return score * to / max_score, to


def _comment(g: Grade, lang: str) -> str:
    """The feedback comment: the points of each task (and the late penalty)."""
    tasks = "; ".join(f"{t}: {g.tasks[t]:g}/{g.task_max[t]:g}" for t in sorted(g.tasks))
    late = (
        " " + say(lang, f"Late penalty: {g.penalty:g}.", f"Штраф за опоздание: {g.penalty:g}.")
        if g.penalty
        else ""
    )
    return f"{say(lang, 'Points per task', 'Баллы по задачам')}: {tasks}.{late}"


def export(
    lms: str,
    workdir: Path,
    assignment: str,
    *,
    lang: str = "both",
    scale_to: float | None = None,
    column: str | None = None,
) -> Exported:
    """Write the grade file and the feedback zip of ``assignment`` for ``lms``."""
    from ..pipeline.gradebook import grades, open_gradebook

    workdir = Path(workdir)
    known = _imported(workdir, lms, assignment)
    students: dict[str, dict] = known.get("students", {})
    by_sid = {g.student: g for g in grades(workdir) if g.assignment == assignment}
    if not by_sid:
        raise ValueError(f"no grades of {assignment} in {workdir} (run course autograde first)")
    with open_gradebook(workdir) as gb:
        emails = {s.id: s.email or "" for s in gb.students}
    out = workdir / "export"
    out.mkdir(exist_ok=True)
    result = Exported(
        out / f"{lms}-{assignment}-grades.csv", out / f"{lms}-{assignment}-feedback.zip"
    )
    missing = sorted(set(by_sid) - set(students))
    if missing:
        result.notes.append(
            f"graded but not in the {lms} import (no LMS id), not exported: " + ", ".join(missing)
        )
    ungraded = sorted(set(students) - set(by_sid))
    if ungraded:
        result.notes.append("imported but not graded, not exported: " + ", ".join(ungraded))
    rows = [(sid, students[sid], by_sid[sid]) for sid in sorted(students) if sid in by_sid]
    with open(result.grades, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if lms == "moodle":
            w.writerow(MOODLE_COLUMNS)
            for sid, info, g in rows:
                score, top = _scale(g.score, g.max_score, scale_to)
                w.writerow(
                    [
                        f"Participant {info['uid']}",
                        info["name"],
                        emails.get(sid, ""),
                        "",
                        f"{score:.2f}",
                        f"{top:.2f}",
                        "Yes",
                        "",
                        "",
                        _comment(g, lang),
                    ]
                )
        else:
            title = column or assignment
            w.writerow([*CANVAS_COLUMNS, title])
            top = _scale(1.0, rows[0][2].max_score, scale_to)[1] if rows else 0
            w.writerow(["Points Possible", "", "", "", "", f"{top:g}"])
            for sid, info, g in rows:
                score, _ = _scale(g.score, g.max_score, scale_to)
                w.writerow([info["name"], info["uid"], sid, "", "", f"{score:.2f}"])
    result.rows = len(rows)
    flat = known.get("layout") != "folders"
    with zipfile.ZipFile(result.feedback, "w", zipfile.ZIP_DEFLATED) as zf:
        for sid, info, _ in rows:
            folder = workdir / "feedback" / sid / assignment
            pages = sorted(folder.glob("*.html")) if folder.is_dir() else []
            if not pages:
                result.notes.append(f"{sid}: no feedback in {folder}")
            for page in pages:
                name = f"feedback-{page.name}"
                arc = info["prefix"] + name if flat else f"{info['prefix']}/{name}"
                zf.write(page, arc)
                result.files += 1
    return result
