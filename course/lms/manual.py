"""Manual grading after ``course autograde``: nbgrader's formgrader on the work dir, and
``course feedback``, which writes ``grades.csv``, ``grades-table.csv`` and the feedback again
from the gradebook (manual grades included) without regrading anything."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["formgrader", "regenerate"]


def regenerate(
    workdir: Path,
    assignments: Iterable[str] = (),
    students: Iterable[str] = (),
    *,
    lang: str = "both",
) -> list[Path]:
    """Feedback HTML of every graded submission (or those chosen) with the course's exporter
    in ``lang``, then ``grades.csv`` and ``grades-table.csv``; returns the pages written."""
    from ..authoring.nbgrader_setup import (
        course_feedback_config,
        formgrader_config,
        grading_env,
        make_api,
        make_config,
    )
    from ..pipeline.gradebook import apply_policy, open_gradebook
    from ..pipeline.results import export_grades

    workdir = Path(workdir).resolve()
    wanted_a, wanted_s = set(assignments), set(students)
    with open_gradebook(workdir) as gb:
        known = {a.name for a in gb.assignments}
        unknown = sorted(wanted_a - known)
        if unknown:
            raise ValueError(
                f"unknown assignment(s) {', '.join(unknown)}; graded: "
                f"{', '.join(sorted(known)) or 'none'}"
            )
        pairs = [
            (a.name, sub.student.id)
            for a in gb.assignments
            for sub in a.submissions
            if (not wanted_a or a.name in wanted_a) and (not wanted_s or sub.student.id in wanted_s)
        ]
    config = course_feedback_config(apply_policy(make_config(None, workdir), workdir), lang)
    api = make_api(config)
    pages: list[Path] = []
    with grading_env():
        for aid, sid in pairs:
            if not (workdir / "autograded" / sid / aid).is_dir():
                continue
            result = api.generate_feedback(aid, sid, force=True)
            if not result.get("success"):
                raise RuntimeError(f"feedback of {sid}/{aid} failed: {result.get('error')}")
            pages += sorted((workdir / "feedback" / sid / aid).glob("*.html"))
    export_grades(workdir)
    formgrader_config(workdir)
    return pages


def formgrader(workdir: Path, port: int = 8888, *, run: bool = True) -> int:
    """Write the formgrader block of ``nbgrader_config.py`` and run ``jupyter lab`` in the work
    dir (or print the command); returns the exit status."""
    from ..authoring.nbgrader_setup import formgrader_config

    path = formgrader_config(workdir)
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    cmd = [jupyter, "lab", "--no-browser", f"--port={port}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    print(f"{path}: Generate Feedback uses the course's exporter")
    print(
        f"manual grading: open the URL below and go to /formgrader (cd {workdir} && "
        f"{' '.join(cmd)}); afterwards: course feedback -w {workdir}"
    )
    if not run:
        return 0
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    os.chdir(workdir)
    os.execvpe(cmd[0], cmd, env)
    return 0  # not reached
