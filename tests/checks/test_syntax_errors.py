"""A syntax error in a solution cell is named as such (issue 21, item 5): in the test cell's
message ("Task 3.4 did not run: SyntaxError in cell 13 (In [..]), line 3"), in the report and
in Validate — not as "NameError: name 'lecture_reverse' is not defined". End to end through
``course import moodle``, ``course autograde`` (the checks in the grader, over the channel)
and ``course report``, for a Russian-named student; Validate is ``nbgrader validate``."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course.authoring.demo import _solution_cells, solved
from tests.checks.assignment_utils import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

#: the student's own kernel, as IPython runs cells (in a subprocess: a shell is a singleton)
SHELL = r"""
from IPython.core.interactiveshell import InteractiveShell
sh = InteractiveShell.instance()
run = lambda src: sh.run_cell(src, store_history=True)
run("import course.checks.reverse_mode as check")
run("def lecture_reverse(w1, w2):\n  x = 1\n    return x\n")  # IndentationError, line 3
run("check.t3_4(lecture_reverse, None)")  # named
run("print(not_defined_anywhere)")  # an unrelated NameError stays as it is
run("def lecture_reverse(w1, w2):\n    return {}\n")  # fixed and run again
run("print(lecture_gradient)")  # no broken cell would define it: a plain NameError
run("del lecture_reverse")
run("print(lecture_reverse)")  # the fixed cell is forgotten: a plain NameError now
"""

AID = "03_reverse_mode"
NAME, UID = "Анна Кузнецова", 207


def _broken_notebook() -> tuple[nbformat.NotebookNode, int]:
    """The solution with line 3 of task 3.4's solution cell broken; (notebook, cell index)."""
    release = nbformat.read(ROOT / "assignments" / AID / f"{AID}.ipynb", 4)
    solution = nbformat.read(ROOT / "solutions" / AID / f"{AID}.ipynb", 4)
    nb = solved(release, solution)
    index = _solution_cells(nb)[3]
    cell = nb.cells[index]
    assert "def lecture_reverse" in cell.source
    lines = cell.source.split("\n")
    lines[2] = lines[2] + " +* )"  # line 3 of the cell
    cell.source = "\n".join(lines)
    return nb, index


def _course(*args: object, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, "-m", "course.cli", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_hook_names_only_what_a_broken_cell_would_define() -> None:
    out = subprocess.run([sys.executable, "-c", SHELL], capture_output=True, text=True, timeout=300)
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    assert "Task 3.4 did not run: IndentationError in cell [2], line 3" in text, text
    assert "name 'not_defined_anywhere' is not defined" in text, text
    assert "name 'lecture_gradient' is not defined" in text, text
    assert "name 'lecture_reverse' is not defined" in text, text
    assert text.count("Task 3.4 did not run") == 1, text


@pytest.mark.slow  # end to end: course import, autograde, report, nbgrader validate
def test_syntax_error_is_named_in_test_cell_report_and_validate(tmp_path: Path) -> None:
    nb, index = _broken_notebook()
    download = tmp_path / "moodle.zip"
    with zipfile.ZipFile(download, "w") as zf:
        zf.writestr(f"{NAME}_{UID}_assignsubmission_file_/{AID}.ipynb", nbformat.writes(nb))
    subs, work = tmp_path / "subs", tmp_path / "grading"
    r = _course("import", "moodle", download, "-a", AID, "--to", subs, "-w", work)
    assert r.returncode == 0, r.stdout + r.stderr
    (sid,) = [p.name for p in subs.iterdir()]
    r = _course("autograde", subs, "-w", work, "-a", AID, "--jobs", "1", "--timeout", "30")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    state = json.loads((work / "course-state.json").read_text())[f"{sid}/{AID}"]
    tasks = state["tasks"]
    assert tasks["t3_4-lecture-example"] == 0, tasks
    assert all(v > 0 for k, v in tasks.items() if not k.startswith("t3_4")), tasks

    # the test cell: the checker's verdict names the broken cell (notebook position and prompt)
    want = f"Task 3.4 did not run: SyntaxError in cell {index + 1} (In ["
    graded = nbformat.read(work / "autograded" / sid / AID / f"{AID}.ipynb", 4)
    test_cell = next(
        c
        for c in graded.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "t3_4-lecture-example"
    )
    errors = [o for o in test_cell.outputs if o.output_type == "error"]
    text = "\n".join(f"{o.ename}: {o.evalue}\n" + "\n".join(o.traceback) for o in errors)
    assert want in text and "line 3" in text, text
    assert "Задача 3.4 не запущена: SyntaxError" in text, text
    assert "name 'lecture_reverse' is not defined" not in text, text
    feedback = work / "feedback" / sid / AID / f"{AID}.html"
    assert want in html.unescape(feedback.read_text(encoding="utf-8"))

    # the report: the submission is flagged, the broken cell named
    finding = next(f for f in state["findings"] if f["kind"] == "syntax")
    assert finding["severity"] == "flag" and finding["cell"] is not None
    static = f"Task 3.4 did not run: SyntaxError in cell {index + 1}, line 3"
    assert finding["message"].startswith(static), finding
    r = _course("report", "--workdir", work)
    assert r.returncode == 0, r.stderr[-2000:]
    report = (work / "report" / "report.md").read_text(encoding="utf-8")
    assert static in report and sid in report
    page = html.unescape((work / "report" / "report.html").read_text(encoding="utf-8"))
    assert static in page

    # Validate: the student's own kernel, the checks in-process
    mine = tmp_path / "mine" / f"{AID}.ipynb"
    mine.parent.mkdir()
    nbformat.write(nb, str(mine))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    v = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", str(mine)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=mine.parent,
    )
    out = re.sub(r"\x1b\[[0-9;]*m", "", v.stdout + v.stderr)
    assert re.search(r"Task 3\.4 did not run: SyntaxError in cell \[\d+\], line 3", out), out
    assert "name 'lecture_reverse' is not defined" not in out, out
