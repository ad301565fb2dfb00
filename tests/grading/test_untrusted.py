"""End to end: a class with every hostile case, built from the real release and solutions,
graded by ``course autograde --jobs 2``; each student's score and message, ``grades.csv``,
nbgrader's flags, the report; a second run changes nothing; one student is regraded alone.

The primary assignment (02_forward_mode) gets every case of ``course.authoring.demo.CASES``; the other
assignments a few, so that the file stays within about three minutes.
"""

from __future__ import annotations

import csv
import html
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from course.authoring.demo import CASES, Case, build_class, expected_score
from course.authoring.nbgrader_setup import assignment_ids
from tests.checks.assignment_utils import ROOT

ASSIGNMENTS = assignment_ids(ROOT)
PRIMARY = "02_forward_mode" if "02_forward_mode" in ASSIGNMENTS else (ASSIGNMENTS or [""])[0]
OTHERS = [a for a in ASSIGNMENTS if a != PRIMARY]
FEW = ("full", "blank", "partial", "tamper-checks")
# CPU seconds per cell (course.pipeline.cellwatch; a cell that waits meets a wall-clock backstop
# scaled by the load): the two loops burn this much each; a correct 05 cell took 0.98 s of CPU
TIMEOUT, MEMORY = 5, 2048
pytestmark = [
    pytest.mark.skipif(not ASSIGNMENTS, reason="no assignments yet"),
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),
]


def course(*args: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, "-m", "course.cli", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@dataclass
class Graded:
    subs: Path
    work: Path
    cases: dict[str, Case]
    state: dict
    stdout: str

    def outcome(self, student: str, aid: str) -> dict:
        return self.state[f"{student}/{aid}"]

    def feedback(self, student: str, aid: str) -> str:
        path = self.work / "feedback" / student / aid / f"{aid}.html"
        return html.unescape(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    base = tmp_path_factory.mktemp("class")
    subs, work = base / "submissions", base / "work"
    release = ROOT / "assignments"
    cases = build_class(subs, [PRIMARY], root=ROOT, release_dir=release)
    build_class(subs, OTHERS, root=ROOT, release_dir=release, cases=FEW)
    for stale in (Path("/tmp/course-pwned.txt"),):
        stale.unlink(missing_ok=True)
    run = course(
        "autograde", subs, "--jobs", 2, "--timeout", TIMEOUT, "--memory", MEMORY, "--workdir", work
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    state = json.loads((work / "course-state.json").read_text())
    return Graded(subs, work, cases, state, run.stdout)


def _scores(g: Graded, aid: str) -> dict[str, float]:
    return {
        k.split("/")[0]: v["score"]
        for k, v in g.state.items()
        if k.endswith(f"/{aid}") and not k.startswith("_")
    }


def _check_case(g: Graded, case: Case, aid: str) -> None:
    release = nbformat.read(ROOT / "assignments" / aid / f"{aid}.ipynb", as_version=4)
    o = g.outcome(case.student, aid)
    want = expected_score(case, release, _scores(g, aid))
    notes = [f["message"] for f in o["findings"]]
    assert o["score"] == pytest.approx(want), (case.what, o["tasks"], o["messages"], notes)
    feedback = g.feedback(case.student, aid)
    assert case.message in feedback, f"{case.message!r} not in the feedback of {case.student}"
    flagged = any(f["severity"] in ("zero", "flag") for f in o["findings"])
    assert flagged == case.flagged, notes


@pytest.mark.parametrize("student", [c.student for c in CASES])
def test_each_case_gets_its_score_message_and_flag(graded: Graded, student: str) -> None:
    _check_case(graded, graded.cases[student], PRIMARY)


@pytest.mark.parametrize("aid,student", [(a, s) for a in OTHERS for s in FEW])
def test_other_assignments(graded: Graded, aid: str, student: str) -> None:
    _check_case(graded, graded.cases[student], aid)


def test_grades_csv_has_every_student(graded: Graded) -> None:
    with open(graded.work / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {"assignment", "student_id", "score", "max_score"} <= set(rows[0])
    got = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    for student in graded.cases:
        for aid in [PRIMARY, *(OTHERS if student in FEW else [])]:
            assert got[(student, aid)] == pytest.approx(graded.outcome(student, aid)["score"])


def test_gradebook_marks_flagged_submissions(graded: Graded) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded.work / 'gradebook.db'}") as gb:
        flagged = {
            sub.student.id
            for sub in gb.find_assignment(PRIMARY).submissions
            if any(nb.flagged for nb in sub.notebooks)
        }
    assert flagged == {c.student for c in CASES if c.flagged}


def test_nothing_escaped_the_scratch_folders(graded: Graded) -> None:
    assert not Path("/tmp/course-pwned.txt").exists()
    assert not list(graded.work.rglob("pwned.txt"))
    assert (graded.work / "gradebook.db").is_file()
    assert not (graded.work / "scratch").exists() or not any(
        (graded.work / "scratch").rglob("my_scratch_file.txt")
    )


def test_huge_output_is_truncated(graded: Graded) -> None:
    path = graded.work / "autograded" / "huge-output" / PRIMARY / f"{PRIMARY}.ipynb"
    assert path.stat().st_size < 500_000
    assert (
        graded.work / "feedback" / "huge-output" / PRIMARY / f"{PRIMARY}.html"
    ).stat().st_size < 1_500_000


def test_summary_table_and_progress(graded: Graded) -> None:
    out = graded.stdout
    assert "[" in out and f"{len(graded.state) - 1}/" in out  # the progress bar
    for student in ("full", "tamper-checks", "malformed"):
        assert student in out
    assert "⚑" in out


def test_report(graded: Graded) -> None:
    run = course("report", "--workdir", graded.work)
    assert run.returncode == 0, run.stderr[-2000:]
    text = (graded.work / "report" / "report.md").read_text()
    assert f"## {PRIMARY}" in text and "Flagged for review" in text
    assert "tamper-checks" in text and "| not implemented |" in text
    section = text.split(f"## {PRIMARY}")[1].split("\n## ")[0]
    rows = [r for r in section.splitlines() if r.startswith("| t") and not r.startswith("| task")]
    stubs = [int(r.split("|")[5]) for r in rows]
    assert stubs and min(stubs) >= 1, section  # "blank" leaves every task a stub
    assert (graded.work / "report" / f"{PRIMARY}-scores.png").stat().st_size > 1000
    assert (graded.work / "report" / f"{PRIMARY}-tasks.png").stat().st_size > 1000


def _snapshot(work: Path) -> dict[tuple[str, str], bytes]:
    """``{(assignment, what): bytes}``: autograded notebooks and grades.csv rows."""
    out = {(p.parent.name, str(p)): p.read_bytes() for p in (work / "autograded").rglob("*.ipynb")}
    for row in (work / "grades.csv").read_text().splitlines()[1:]:
        out[(row.split(",")[0], row)] = b""
    return out


def _without(snapshot: dict, skip: set[str]) -> dict:
    return {k: v for k, v in snapshot.items() if k[0] not in skip}


def _gradebook_scores(work: Path, skip: set[str]) -> dict[tuple[str, str, str], float]:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        for a in gb.assignments:
            for sub in a.submissions:
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        if a.name not in skip:
                            out[(a.name, sub.student.id, grade.name)] = grade.score
    return out


def _edited_meanwhile(work: Path, before: dict[str, str]) -> set[str]:
    """Assignments whose source or checks someone changed between two runs (the repository is
    shared while it is developed): their submissions are rightly graded again."""
    after = json.loads((work / "course-state.json").read_text())["_prepared"]
    return {aid for aid, fp in after.items() if before.get(aid) != fp}


def test_second_run_changes_nothing(graded: Graded) -> None:
    prepared = dict(graded.state["_prepared"])
    before, scores = _snapshot(graded.work), _gradebook_scores(graded.work, set())
    run = course(
        "autograde",
        graded.subs,
        "--jobs",
        2,
        "--timeout",
        TIMEOUT,
        "--memory",
        MEMORY,
        "--workdir",
        graded.work,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    edited = _edited_meanwhile(graded.work, prepared)
    regraded = sum(1 for k in graded.state if not k.startswith("_") and k.split("/")[1] in edited)
    assert f" {regraded} to grade" in run.stdout, (edited, run.stdout[:300])
    assert _without(_snapshot(graded.work), edited) == _without(before, edited)
    assert _gradebook_scores(graded.work, edited) == {
        k: v for k, v in scores.items() if k[0] not in edited
    }
    graded.state["_prepared"] = json.loads((graded.work / "course-state.json").read_text())[
        "_prepared"
    ]


def test_one_student_is_regraded_alone(graded: Graded) -> None:
    scores = _gradebook_scores(graded.work, set())
    csv_before = (graded.work / "grades.csv").read_bytes()
    run = course(
        "autograde",
        graded.subs,
        "--jobs",
        2,
        "--timeout",
        TIMEOUT,
        "--memory",
        MEMORY,
        "--workdir",
        graded.work,
        "--student",
        "partial",
        "--assignment",
        PRIMARY,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "1 submissions of 1 assignment(s): 1 to grade" in run.stdout
    assert _gradebook_scores(graded.work, set()) == scores
    assert (graded.work / "grades.csv").read_bytes() == csv_before


def test_plain_nbgrader_would_have_been_fooled(graded: Graded, tmp_path: Path) -> None:
    """Why the structure repair exists: nbgrader itself gives a blank notebook whose test
    cells are tagged ``skip-execution`` full marks."""
    from course.pipeline.grading import Grader

    nb = graded.subs / "skip-tests" / PRIMARY / f"{PRIMARY}.ipynb"
    result = Grader(tmp_path).grade(PRIMARY, "skip-tests", nb)
    assert result.score == result.max_score
    assert graded.outcome("skip-tests", PRIMARY)["score"] == 0
