"""Autograding with nbgrader's own machinery, in-process: one gradebook for many submissions.

    from course.grading import Grader
    grader = Grader(workdir)                      # gradebook.db, submitted/, autograded/ there
    result = grader.grade("02_forward_mode", "alice", path_to_notebook)
    result.score, result.tasks["t2_1-dual-numbers"], result.messages

The first use of an assignment runs ``generate_assignment`` into ``workdir/release`` so that the
gradebook knows the source's test cells (nbgrader restores them, hidden tests included, before
executing a submission). Each submission is copied to
``workdir/submitted/<student>/<assignment>/<assignment>.ipynb`` and graded by ``autograde``.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..authoring.nbgrader_setup import (
    DEFAULT_TIMEOUT,
    grading_env,
    make_api,
    make_config,
    repo_root,
)

__all__ = ["Grader", "Result", "failure_messages"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Result:
    """A graded notebook: total and per-task scores (by ``grade_id``), failure messages."""

    assignment: str
    student: str
    score: float
    max_score: float
    tasks: dict[str, float] = field(default_factory=dict)
    max_tasks: dict[str, float] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    log: str = ""
    #: what the sandboxed grader noticed (``course.integrity.Finding`` dicts); see ``limits``
    findings: list[dict[str, Any]] = field(default_factory=list)


def failure_messages(nb: Any) -> dict[str, str]:
    """``{grade_id: "ExceptionName: message"}`` for the test cells that failed in an executed
    notebook (ANSI colours removed)."""
    out: dict[str, str] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                out[meta["grade_id"]] = _ANSI.sub("", f"{o.get('ename')}: {o.get('evalue')}")
            elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                out.setdefault(meta["grade_id"], "stderr: " + _ANSI.sub("", o.get("text", "")))
    return out


class Grader:
    """nbgrader's API on one work directory (one gradebook for all students)."""

    def __init__(
        self,
        workdir: Path,
        root: Path | None = None,
        timeout: int = DEFAULT_TIMEOUT,
        prepared: tuple[str, ...] = (),
        limits: Any = None,
    ):
        """``prepared``: assignments already in this gradebook (e.g. by a parent process), so
        that parallel workers do not all run ``generate_assignment``. ``limits``: a
        :class:`course.execution.Limits` to grade untrusted code in the sandbox (its timeout
        replaces ``timeout``); None grades as plain nbgrader does."""
        self.root = Path(root or repo_root()).resolve()
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = make_config(self.root, self.workdir, timeout=timeout)
        from .gradebook import apply_policy

        apply_policy(self.config, self.workdir)  # late penalties, if the TA set them
        if limits is not None:
            from .execution import configure

            configure(
                self.config,
                limits,
                scratch_root=self.workdir / "scratch",
                notes_dir=self.workdir / "notes",
                unreadable=(
                    self.root / "solutions",
                    self.root / ".git",
                    self.root / "tests",
                    self.workdir,
                ),
            )
        self._known: set[str] = set(prepared)
        with grading_env():
            self.api = make_api(self.config)

    def prepare(self, assignment: str) -> None:
        """Record the assignment's source in the gradebook (``generate_assignment``)."""
        if assignment in self._known:
            return
        with grading_env():
            res = self.api.generate_assignment(assignment, force=True, create=True)
        if not res.get("success"):
            raise RuntimeError(f"generate_assignment {assignment} failed:\n{res.get('error')}")
        self._known.add(assignment)

    def release(self, assignments: list[str], dest: Path) -> list[Path]:
        """Generate the releases of ``assignments`` into ``dest`` (as :func:`course.release`
        does into the repository) with this gradebook, which then knows them."""
        from ..authoring.nbgrader_setup import build_release

        written = build_release(assignments, dest, root=self.root, workdir=self.workdir)
        self._known.update(assignments)
        return written

    def submitted_path(self, assignment: str, student: str) -> Path:
        return self.workdir / "submitted" / student / assignment / f"{assignment}.ipynb"

    def autograded_path(self, assignment: str, student: str) -> Path:
        return self.workdir / "autograded" / student / assignment / f"{assignment}.ipynb"

    def grade(self, assignment: str, student: str, notebook: Path | None = None) -> Result:
        """Autograde ``notebook`` (or what is already in ``submitted/``) for ``student``."""
        import nbformat

        self.prepare(assignment)
        if notebook is not None:
            dest = self.submitted_path(assignment, student)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(notebook, dest)
        t0 = time.perf_counter()
        with grading_env():
            res = self.api.autograde(assignment, student, force=True, create=True)
        seconds = time.perf_counter() - t0
        if not res.get("success"):
            log = str(res.get("log") or "")[-3000:]
            raise RuntimeError(
                f"autograde {assignment}/{student} failed:\n{res.get('error')}\n{log}"
            )
        result = self.scores(assignment, student)
        result.seconds = seconds
        result.log = res.get("log", "")
        path = self.autograded_path(assignment, student)
        if path.exists():
            nb = nbformat.read(str(path), as_version=4)
            result.messages = failure_messages(nb)
            result.findings = list((nb.metadata.get("course") or {}).get("findings") or [])
        return result

    def scores(self, assignment: str, student: str) -> Result:
        """The gradebook's scores of one submission."""
        from nbgrader.api import Gradebook

        from .gradebook import grade_of

        with Gradebook(self.config.CourseDirectory.db_url) as gb:
            g = grade_of(gb.find_submission(assignment, student))
        return Result(
            assignment, student, g.score, g.max_score, tasks=g.tasks, max_tasks=g.task_max
        )
