"""The work dir as nbgrader's course folder: its config, roster, due dates, late penalties, and
the grades read back from the gradebook (the one source of truth, manual overrides included).

    WORKDIR/nbgrader_config.py    so that formgrader (``course formgrader``) and every nbgrader command
                                  run in WORKDIR sees this course: Manage Assignments, manual
                                  grading and overrides work as nbgrader users expect
    WORKDIR/course-config.json    the late-penalty policy (read by :func:`apply_policy`)
    WORKDIR/.gitignore            ``*``: student work is never committed by ``git add -A``
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float

from ..authoring.nbgrader_setup import URL_FILE, gradebook_url, has_gradebook

__all__ = [
    "CoursePenalty",
    "Grade",
    "apply_policy",
    "grades",
    "import_roster",
    "known_students",
    "open_gradebook",
    "policy_fingerprint",
    "prepare_workdir",
    "refresh_scores",
    "register_students",
    "set_due_date",
    "set_late_policy",
]

CONFIG = "course-config.json"

_NBGRADER_CONFIG = """\
# Written by `course autograde`: nbgrader's own tools (formgrader, export, …) on this folder.
# Run them from this folder; manual grading: `course formgrader` (= `jupyter lab` here, /formgrader).
c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "ad-course"
c.CourseDirectory.source_directory = {source!r}
c.CourseDirectory.release_directory = {release!r}
c.CourseDirectory.db_url = {db}
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".*", "feedback"]
c.Exchange.root = {exchange!r}
{late}"""


class CoursePenalty(LateSubmissionPlugin):
    """nbgrader's ``LateSubmissionPlugin`` with a percentage per started day late: the
    penalty is ``min(score, score × percent_per_day/100 × days)``; ``penalty_method = 'zero'``
    still gives 0 to any late submission."""

    percent_per_day = Float(0.0, help="percent of the score lost per started day late").tag(
        config=True
    )

    def late_submission_penalty(
        self, student_id: str, score: float, total_seconds_late: float
    ) -> float | None:
        if self.penalty_method == "zero":
            return score
        if self.percent_per_day <= 0 or total_seconds_late <= 0:
            return None
        days = -(-total_seconds_late // 86400)
        return min(score, score * self.percent_per_day / 100 * days)


def _policy(workdir: Path) -> dict[str, Any]:
    path = Path(workdir) / CONFIG
    return json.loads(path.read_text()) if path.is_file() else {}


def apply_policy(config: Any, workdir: Path) -> Any:
    """Add the work dir's late-penalty policy to an nbgrader ``Config``."""
    late = _policy(workdir).get("late")
    if late:
        config.AssignLatePenalties.plugin_class = CoursePenalty
        if late == "zero":
            config.CoursePenalty.penalty_method = "zero"
        else:
            config.CoursePenalty.percent_per_day = float(late)
    return config


def set_late_policy(workdir: Path, late: str) -> None:
    """``zero`` (a late submission scores 0), ``none``, or a percentage per started day."""
    if late not in ("zero", "none"):
        value = float(late.rstrip("%"))
        if not 0 <= value <= 100:
            raise ValueError(f"late penalty {late!r}: a percentage per day, 0–100")
        late = f"{value:g}"
    policy = _policy(workdir)
    policy["late"] = None if late == "none" else late
    (Path(workdir) / CONFIG).write_text(json.dumps(policy, indent=1))


def prepare_workdir(workdir: Path, root: Path) -> None:
    """Write ``nbgrader_config.py`` and ``.gitignore`` into the work dir."""
    workdir = Path(workdir)
    late = _policy(workdir).get("late")
    extra = ""
    if late:
        extra = (
            "from course.pipeline.gradebook import CoursePenalty\n"
            "c.AssignLatePenalties.plugin_class = CoursePenalty\n"
            + (
                'c.CoursePenalty.penalty_method = "zero"\n'
                if late == "zero"
                else f"c.CoursePenalty.percent_per_day = {float(late)!r}\n"
            )
        )
    text = _NBGRADER_CONFIG.format(
        root=str(workdir.resolve()),
        source=str((root / "solutions").resolve()),
        release=str((workdir / "release").resolve()),
        db=_db_line(workdir),
        exchange=str((workdir / "exchange").resolve()),
        late=extra,
    )
    (workdir / "nbgrader_config.py").write_text(text)
    ignore = workdir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# student work and grades: never commit this folder\n*\n")


def _db_line(workdir: Path) -> str:
    """The gradebook's URL as Python for ``nbgrader_config.py``: read from
    ``WORKDIR/gradebook-url`` (mode 600) when the work dir names a database, whose URL may hold
    a password that must not be copied into a file others can read."""
    named = Path(workdir).resolve() / URL_FILE
    if named.is_file():
        return f"open({str(named)!r}, encoding='utf-8').read().strip()  # may hold a password"
    return repr(gradebook_url(workdir))


def open_gradebook(workdir: Path) -> Any:
    """nbgrader's ``Gradebook`` of the work dir (:func:`gradebook_url`; it must exist)."""
    from nbgrader.api import Gradebook

    if not has_gradebook(workdir):
        raise FileNotFoundError(f"no gradebook in {workdir} (run course autograde first)")
    return Gradebook(gradebook_url(workdir))


def set_due_date(workdir: Path, assignment: str, due: datetime) -> None:
    """Store an assignment's due date in the gradebook (nbgrader compares it with each
    submission's ``timestamp.txt``)."""
    if due.tzinfo is not None:
        due = due.astimezone(UTC).replace(tzinfo=None)
    with open_gradebook(workdir) as gb:
        gb.update_or_create_assignment(assignment, duedate=due)


def import_roster(workdir: Path, path: Path) -> list[str]:
    """Students from a CSV with a header: ``id`` (or ``student_id``, ``username``, ``login``),
    and optionally ``first_name``, ``last_name``, ``email`` (or ``name``). Creates the gradebook
    if needed. Returns the ids."""
    from nbgrader.api import Gradebook

    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: no rows (a header line and one line per student)")
    keys = {k.strip().lower(): k for k in rows[0] if k}
    id_key = next((keys[k] for k in ("id", "student_id", "username", "login") if k in keys), None)
    if id_key is None:
        raise ValueError(
            f"{path}: no column id, student_id, username or login (columns: {', '.join(keys)})"
        )
    from .request import check_safe_ids

    check_safe_ids(
        "student",
        [(row.get(id_key) or "").strip() for row in rows if (row.get(id_key) or "").strip()],
        f" (in {path})",
        "nothing was imported: correct the id(s) in the roster",
    )
    ids = []
    Path(workdir).mkdir(parents=True, exist_ok=True)
    from ..authoring.nbgrader_setup import grading_env

    with grading_env(), Gradebook(gradebook_url(workdir)) as gb:
        for row in rows:
            sid = (row.get(id_key) or "").strip()
            if not sid:
                continue
            first = row.get(keys.get("first_name", ""), "") or ""
            last = row.get(keys.get("last_name", ""), "") or ""
            if not (first or last) and "name" in keys:
                first, _, last = (row[keys["name"]] or "").strip().partition(" ")
            email = row.get(keys.get("email", ""), "") or None
            gb.update_or_create_student(
                sid, first_name=first.strip() or None, last_name=last.strip() or None, email=email
            )
            ids.append(sid)
    return ids


def known_students(workdir: Path) -> list[str]:
    """Every student in the gradebook (roster, or graded before), sorted; [] without one."""
    if not has_gradebook(workdir):
        return []
    with open_gradebook(workdir) as gb:
        return sorted(s.id for s in gb.students)


@dataclass
class Grade:
    """One submission's grade as the gradebook has it (manual overrides included)."""

    student: str
    assignment: str
    score: float
    max_score: float
    penalty: float = 0.0
    tasks: dict[str, float] = field(default_factory=dict)
    task_max: dict[str, float] = field(default_factory=dict)


def grade_of(sub: Any) -> Grade:
    """One nbgrader ``SubmittedAssignment`` as a :class:`Grade`: score = max(0, points −
    late penalty); the points and maximum of each grade cell (task) that has points."""
    penalty = float(sub.late_submission_penalty or 0)
    g = Grade(
        sub.student.id,
        sub.assignment.name,
        max(0.0, float(sub.score) - penalty),
        float(sub.max_score),
        penalty,
    )
    for nb in sub.notebooks:
        for grade in nb.grades:
            if grade.max_score:
                g.tasks[grade.name] = float(grade.score)
                g.task_max[grade.name] = float(grade.max_score)
    return g


def grades(workdir: Path) -> Iterator[Grade]:
    """Every submission in the gradebook."""
    with open_gradebook(workdir) as gb:
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                yield grade_of(sub)


def register_students(students: Iterable[str], db_url: str) -> None:
    """Create the students in the gradebook before the workers start: nbgrader's autograde
    creates a missing student itself, and two workers grading one student's assignments at the
    same time would both try (``UNIQUE constraint failed: student.id``)."""
    from nbgrader.api import Gradebook

    from ..authoring.nbgrader_setup import grading_env

    with grading_env(), Gradebook(db_url) as gb:
        for sid in sorted(students):
            gb.update_or_create_student(sid)


def refresh_scores(workdir: Path, outcomes: dict[tuple[str, str], Any]) -> None:
    """Scores as the gradebook has them (manual overrides in formgrader, late penalties)."""
    for g in grades(workdir):
        out = outcomes.get((g.student, g.assignment))
        if out is not None and out.status != "pending":
            out.score, out.max_score = g.score, g.max_score
            out.tasks = dict(g.tasks)


def policy_fingerprint(workdir: Path, aids: list[str]) -> dict[str, str]:
    """Per assignment, what its grades depend on besides the code: due date, late penalty."""
    late = (workdir / CONFIG).read_text() if (workdir / CONFIG).is_file() else ""
    with open_gradebook(workdir) as gb:
        return {a: f"{gb.find_assignment(a).duedate}|{late}" for a in aids}
