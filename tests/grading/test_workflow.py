"""Students and TAs as they really work (issue 12), end to end through the ``course`` command.

One class of assignment 02 is graded once (module fixture) and read by most
tests: submissions as they arrive (a blank notebook beside a complete one, a subfolder, a zip,
two notebooks with work), a roster with a student who submitted nothing, a due date with a late
penalty, a manual override, per-task CSV columns, the formgrader config, the feedback's hidden
tests and math. Errors, layouts, importers and the student distribution need no grading.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from course.authoring.demo import solved
from course.authoring.nbgrader_setup import assignment_ids
from tests.checks.assignment_utils import ROOT
from tests.grading.lms_class import course_here

#: 02: its solution is graded in ~1.4 s through the channel, 01's in ~21 s (36,041 round trips);
#: nothing here depends on the assignment's tasks
AID = "02_forward_mode"
TASK = "t2_"  # the prefix of its tasks' grade ids
pytestmark = [
    pytest.mark.skipif(AID not in assignment_ids(ROOT), reason=f"no assignment {AID}"),
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),
]


def course(
    *args: str | Path, cwd: Path | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, "-m", "course.cli", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def notebooks() -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    release = nbformat.read(ROOT / "assignments" / AID / f"{AID}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / AID / f"{AID}.ipynb", as_version=4)
    return release, solution


def write(path: Path, nb: nbformat.NotebookNode) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


ROSTER = (
    "id,first_name,last_name,email\nalice,Alice,Liddell,alice@example.org\n"
    "bob,Bob,Ivanov,bob@example.org\ncarol,Carol,C,c@example.org\n"
    "dave,Dave,D,d@example.org\nerin,Erin,E,e@example.org\n"
    "frank,Frank,F,f@example.org\nzoe,Zoe,Z,z@example.org\n"
)


@dataclass
class Graded:
    subs: Path
    work: Path
    stdout: str
    state: dict

    def feedback(self, student: str) -> str:
        path = self.work / "feedback" / student / AID / f"{AID}.html"
        return path.read_text(encoding="utf-8")

    def csv(self, name: str = "grades.csv") -> list[dict[str, str]]:
        with open(self.work / name, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    base = tmp_path_factory.mktemp("workflow")
    subs, work = base / "subs", base / "work"
    release, solution = notebooks()
    full, half = solved(release, solution), solved(release, solution, tasks=[0, 1])
    write(subs / "alice" / AID / f"{AID}.ipynb", full)
    write(subs / "bob" / AID / f"{AID}.ipynb", release)  # blank, and beside it the real one
    write(subs / "bob" / AID / f"{AID}_Ivanov_final.ipynb", full)
    write(subs / "carol" / AID / "my work" / f"{AID}.ipynb", full)  # in a subfolder
    (subs / "dave" / AID).mkdir(parents=True)
    with zipfile.ZipFile(subs / "dave" / AID / "submission.zip", "w") as zf:
        zf.writestr(f"{AID}.ipynb", nbformat.writes(full))
    write(subs / "erin" / AID / f"{AID}.ipynb", half)  # two different notebooks with work
    write(subs / "erin" / AID / f"{AID} (2).ipynb", full)
    write(subs / "frank" / AID / f"{AID}.ipynb", full)  # 1.5 days late
    (subs / "frank" / AID / "timestamp.txt").write_text("2026-12-02 12:00:00 UTC\n")
    (base / "roster.csv").write_text(ROSTER)
    r = course("roster", base / "roster.csv", "--workdir", work)
    assert r.returncode == 0, r.stderr
    run = course(
        "autograde",
        subs,
        "--workdir",
        work,
        "--jobs",
        2,
        "--timeout",
        30,
        "--due",
        "2026-12-01T00:00:00+00:00",
        "--late-penalty",
        10,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    state = json.loads((work / "course-state.json").read_text())
    return Graded(subs, work, run.stdout, state)


def _findings(g: Graded, sid: str) -> str:
    return " ".join(f["message"] for f in g.state[f"{sid}/{AID}"]["findings"])


def test_the_evident_submission_is_graded_and_flagged(graded: Graded) -> None:
    for sid in ("alice", "bob", "carol", "dave", "erin"):
        assert graded.state[f"{sid}/{AID}"]["score"] == 100, (sid, _findings(graded, sid))
    assert "blank" in _findings(graded, "bob") and "_Ivanov_final" in _findings(graded, "bob")
    assert "subfolder" in _findings(graded, "carol")
    assert ".zip" in _findings(graded, "dave")
    assert "several notebooks with work" in _findings(graded, "erin")
    for sid in ("bob", "carol", "dave", "erin"):
        assert any(f["severity"] == "flag" for f in graded.state[f"{sid}/{AID}"]["findings"])
    assert "2 worker(s)" in graded.stdout


def test_missing_students_are_listed_and_counted_everywhere(graded: Graded) -> None:
    assert "zoe" in graded.stdout and "missing" in graded.stdout
    assert "7 students, 6 submitted, 1 missing (zoe)" in graded.stdout
    rows = {r["student_id"]: r for r in graded.csv() if r["assignment"] == AID}
    assert set(rows) == {"alice", "bob", "carol", "dave", "erin", "frank", "zoe"}
    table = {r["student_id"]: r for r in graded.csv("grades-table.csv")}
    assert table["zoe"]["missing"] == AID and table["zoe"][AID] == ""
    r = course_here("report", "--workdir", graded.work)
    assert r.returncode == 0, r.stderr
    assert "7 students: 6 submitted; **1 missing**" in r.stdout and "zoe" in r.stdout


def test_late_penalty_roster_and_per_task_columns(graded: Graded) -> None:
    rows = {r["student_id"]: r for r in graded.csv() if r["assignment"] == AID}
    assert float(rows["frank"]["late_submission_penalty"]) == pytest.approx(20)  # 2 days × 10%
    assert float(rows["frank"]["score"]) == pytest.approx(80)
    assert float(rows["alice"]["score"]) == 100 and rows["alice"]["email"] == "alice@example.org"
    tasks = [k for k in rows["alice"] if k.startswith(TASK)]
    assert len(tasks) >= 3 and sum(float(rows["alice"][t]) for t in tasks) == 100
    assert "frank" in graded.stdout and "80/100" in graded.stdout


def test_formgrader_config_and_gitignore(graded: Graded) -> None:
    config = (graded.work / "nbgrader_config.py").read_text()
    assert "CoursePenalty" in config and str(graded.work.resolve()) in config
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    r = subprocess.run(
        [sys.executable, "-m", "nbgrader", "db", "student", "list"],
        cwd=graded.work,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert "zoe" in r.stdout + r.stderr and "alice" in r.stdout + r.stderr
    assert (graded.work / ".gitignore").read_text().strip().endswith("*")
    ignored = subprocess.run(
        ["git", "check-ignore", "grading/x", "course-demo/x"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ignored.stdout.split() == ["grading/x", "course-demo/x"], ignored


def test_feedback_hides_hidden_tests_and_needs_no_network(graded: Graded) -> None:
    page = graded.feedback("alice")
    assert "BEGIN HIDDEN TESTS" not in page and f"hidden_{TASK}" not in page
    assert "hidden tests: passed" in page
    assert "cdnjs" not in page and not re.search(r"<script[^>]*mathjax", page, re.I)
    assert "<math" in page and "white-space: pre-wrap" in page


def test_hidden_failure_is_one_line() -> None:
    from nbformat.v4 import new_code_cell, new_output

    from course.pipeline.feedback import hide_hidden_tests

    cell = new_code_cell(
        "check.t1_1(f)\n### BEGIN HIDDEN TESTS\ncheck.hidden_t1_1(f, 3)\n### END HIDDEN TESTS"
    )
    cell.outputs = [
        new_output(
            "error",
            ename="CheckFailure",
            evalue="wrong for x = 3",
            traceback=["Cell In[7], line 3", "----> 3 check.hidden_t1_1(f, 3)"],
        )
    ]
    hide_hidden_tests(cell)
    assert "hidden_t1_1" not in cell.source + str(cell.outputs)
    assert "# hidden tests: failed: CheckFailure: wrong for x = 3" in cell.source


def test_manual_override_is_the_grade_everywhere(graded: Graded) -> None:
    from course.pipeline.gradebook import open_gradebook

    with open_gradebook(graded.work) as gb:
        sub = gb.find_submission(AID, "alice")
        grade = next(g for nb in sub.notebooks for g in nb.grades if g.max_score)
        grade.manual_score = float(grade.max_score) - 5
        gb.db.commit()
    run = course(
        "autograde", graded.subs, "--workdir", graded.work, "--jobs", 2, "--timeout", 30
    )  # due date and late penalty: kept from the first run
    assert run.returncode == 0, run.stderr[-2000:]
    assert "0 to grade" in run.stdout
    line = next(x for x in run.stdout.splitlines() if x.startswith("alice "))
    assert "95/100" in line
    rows = {r["student_id"]: r for r in graded.csv() if r["assignment"] == AID}
    assert float(rows["alice"]["score"]) == 95
    # (95 + 4 × 100 + 80 late) / 6
    assert "mean 95.8" in course_here("report", "--workdir", graded.work).stdout


# ---------------------------------------------------------------------------------------------
# errors, layouts, importers: no grading (``course`` run in this process: lms_class.course_here)
# ---------------------------------------------------------------------------------------------
def test_unknown_ids_and_bad_work_dirs_give_one_line(tmp_path: Path) -> None:
    release, _ = notebooks()
    write(tmp_path / "subs" / "alice" / AID / f"{AID}.ipynb", release)
    cases = [
        (
            ("autograde", tmp_path / "subs", "-a", "03_reverse", "-w", tmp_path / "w"),
            "unknown assignment 03_reverse",
            AID,
        ),
        (
            ("autograde", tmp_path / "subs", "-s", "zoe", "-w", tmp_path / "w"),
            "unknown student zoe",
            "alice",
        ),
        (("release", "07_nope"), "unknown assignment 07_nope", AID),
        (("report", "--workdir", tmp_path / "none"), "no work dir", ""),
        (("report", "--workdir", tmp_path / "subs"), "has no gradebook: nothing graded", ""),
        (
            (
                "autograde",
                tmp_path / "subs",
                "-w",
                tmp_path / "subs" / "alice" / AID / f"{AID}.ipynb" / "w",
            ),
            "cannot write to the work dir",
            "",
        ),
    ]
    for args, message, known in cases:
        r = course_here(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert message in r.stderr and known in r.stderr, r.stderr
    assert not (tmp_path / "subs" / "gradebook.db").exists()
    assert not (tmp_path / "none").exists()


def test_wrong_layouts_are_explained_and_imported(tmp_path: Path) -> None:
    release, _ = notebooks()
    text = nbformat.writes(release)
    moodle = tmp_path / "moodle"
    for name in (
        "Ivan Ivanov_1234_assignsubmission_file_",
        "Анна Петрова_99_assignsubmission_file_",
    ):
        (moodle / name).mkdir(parents=True)
        (moodle / name / f"{AID}.ipynb").write_text(text)
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / f"alice_{AID}.ipynb").write_text(text)
    zips = tmp_path / "zips"
    zips.mkdir()
    with zipfile.ZipFile(zips / "alice.zip", "w") as zf:
        zf.writestr(f"{AID}.ipynb", text)
    for folder, hint in ((moodle, "course import moodle"), (flat, "directly"), (zips, "zip")):
        r = course_here("autograde", folder, "-w", tmp_path / "w")
        assert r.returncode == 2 and "no submissions found" in r.stderr, r.stderr
        assert hint in r.stderr and "<student_id>/<assignment_id>" in r.stderr, r.stderr
    r = course_here(
        "import", "moodle", moodle, "-a", AID, "--to", tmp_path / "in", "-w", tmp_path / "lmsw"
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "in" / "ivan_ivanov_1234" / AID / f"{AID}.ipynb").is_file()
    canvas = tmp_path / "canvas.zip"
    with zipfile.ZipFile(canvas, "w") as zf:
        zf.writestr(f"ivanovivan_1234_5678_{AID}.ipynb", text)
        zf.writestr(f"petrovaanna_LATE_99_5679_{AID}-1.ipynb", text)
    (tmp_path / "roster.csv").write_text("id,name,canvas_id\nivan,Ivan Ivanov,1234\n")
    r = course_here(
        "import",
        "canvas",
        canvas,
        "-a",
        AID,
        "--to",
        tmp_path / "in2",
        "--roster",
        tmp_path / "roster.csv",
        "-w",
        tmp_path / "lmsw",
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "in2" / "ivan" / AID / f"{AID}.ipynb").is_file()
    assert (tmp_path / "in2" / "petrovaanna_99" / AID / f"{AID}.ipynb").is_file()


def test_every_option_has_help() -> None:
    import argparse

    from course.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        for action in parser._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"course {name} {action.dest}: no help text"


def test_student_distribution_has_no_solutions_or_hidden_checks(tmp_path: Path) -> None:
    from course.authoring.student import forbidden_files

    dest = tmp_path / "student"
    r = course_here("release", "--student", dest)
    assert r.returncode == 0, r.stderr
    assert not forbidden_files(dest)
    assert not (dest / "solutions").exists() and not (dest / "course" / "pipeline").exists()
    assert {p.name for p in (dest / "assignments").iterdir()} >= {AID}
    assert (dest / "lectures" / "ru").is_dir() and (dest / "reference_impl").is_dir()
    setup = (dest / "setup.sh").read_text()
    assert "labextension disable" in setup
    assert '"fetchNews": "false"' in setup and "lab/settings/overrides.json" in setup, (
        "no news pop-up in the student's JupyterLab"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = (
        "import importlib, pkgutil, course.checks as c\n"
        "for m in pkgutil.iter_modules(c.__path__):\n"
        "    importlib.import_module('course.checks.' + m.name)\n"
        f"assert c.__file__.startswith({str(dest)!r}), c.__file__\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=dest,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    r = course_here("release", "--student", tmp_path / "other")
    assert r.returncode == 2 and (tmp_path / "other" / "keep.txt").exists()


def test_report_tells_not_implemented_from_wrong() -> None:
    from course.report import _not_implemented

    assert _not_implemented("NotImplementedError: Task 1.1: finite differences")
    assert _not_implemented("CheckFailure: Task 1.1 / Задача 1.1: not implemented yet / ещё нет")
    assert not _not_implemented("CheckFailure: Task 1.1: for x = [1. 2.] expected 3, got 4")


def test_summary_keeps_notes_whole() -> None:
    from course.pipeline.autograde import Outcome
    from course.pipeline.results import summary_table

    reason = "the course's checks did not confirm this task " * 6 + "END"
    o = Outcome(
        "alice", AID, 0, 100, findings=[{"kind": "tamper", "severity": "zero", "message": reason}]
    )
    text = summary_table([o], {AID: ["zoe"]})
    assert "END [tamper]" in text and all(len(x) < 180 for x in text.splitlines())
    assert "".join(x.strip() for x in text.splitlines()).count("confirm this task") == 6
    assert "zoe" in text and "1 missing (zoe)" in text
