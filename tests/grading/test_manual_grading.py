"""Manual grading as documented: a grade changed in the gradebook (as formgrader changes it,
through nbgrader's API) reaches ``grades.csv``, ``grades-table.csv`` and the feedback after
``course feedback``; the work dir's ``nbgrader_config.py`` names the right command and makes
formgrader's Generate Feedback use the course's exporter."""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import pytest

from course.authoring.nbgrader_setup import gradebook_url, grading_env
from tests.grading.lms_class import AID, Graded, copy_of, course_here, graded_once


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return copy_of(graded_once(tmp_path_factory), tmp_path_factory.mktemp("manual") / "c")


def _score(path: Path, sid: str, column: str) -> str:
    with open(path, newline="", encoding="utf-8") as f:
        return next(
            r[column]
            for r in csv.DictReader(f)
            if r.get("student_id") == sid and r.get("assignment", AID) == AID
        )


def test_manual_grade_reaches_csv_and_feedback(work: Graded) -> None:
    from nbgrader.api import Gradebook

    sid = work.ids["Пётр Иванов"]
    page = work.work / "feedback" / sid / AID / f"{AID}.html"
    assert _score(work.work / "grades.csv", sid, "score") == "40.0"
    before = page.read_text(encoding="utf-8")
    with grading_env(), Gradebook(gradebook_url(work.work)) as gb:
        sub = gb.find_submission(AID, sid)
        grade = next(
            g for nb in sub.notebooks for g in nb.grades if g.max_score and g.score < g.max_score
        )
        task, points = grade.name, float(grade.max_score)
        grade.manual_score = points  # what formgrader writes
        gb.db.commit()
    r = course_here("feedback", "-w", work.work, "-a", AID, "--lang", "ru")
    assert r.returncode == 0, r.stderr
    want = f"{40 + points:g}"
    assert float(_score(work.work / "grades.csv", sid, "score")) == 40 + points
    assert _score(work.work / "grades.csv", sid, task) == f"{points:g}"
    assert _score(work.work / "grades-table.csv", sid, AID) == want
    after = page.read_text(encoding="utf-8")
    assert after != before
    scores = re.findall(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", html.unescape(after))
    assert scores and float(scores[0][0]) == 40 + points, scores[:3]
    assert "### BEGIN HIDDEN TESTS" not in after and "cdn" not in after.lower()
    assert "hidden tests: пройдены" in after or "hidden tests: не запускались" in after
    assert "passed / пройдены" not in after, "--lang ru: one language"
    assert (work.work / "course-lang").read_text().strip() == "ru"


def test_config_names_the_right_command_and_the_course_exporter(work: Graded) -> None:
    course_here("feedback", "-w", work.work, "-a", AID)
    text = (work.work / "nbgrader_config.py").read_text(encoding="utf-8")
    assert "/formgrader" in text and "course feedback" in text
    assert "`nbgrader formgrader` or" not in text, "the command that does not exist"
    assert text.count("course: manual grading") == 1, "added once"
    r = course_here("formgrader", "-w", work.work, "--print-only")
    assert r.returncode == 0 and "jupyter" in r.stdout and "/formgrader" in r.stdout, r.stdout
    # the config, loaded as nbgrader loads it, gives Generate Feedback the course's exporter
    from traitlets.config import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(work.work)).load_config()
    assert cfg.GenerateFeedback.exporter_class.__name__ == "FeedbackExporter"
    assert [p.__name__ for p in cfg.GenerateFeedback.preprocessors][-1] == "StudentView"


def test_feedback_in_both_languages_puts_each_on_its_own_line(work: Graded) -> None:
    r = course_here(
        "feedback", "-w", work.work, "-a", AID, "--lang", "both", "-s", work.ids["john-smith"]
    )
    assert r.returncode == 0 and "1 feedback page" in r.stdout, r.stdout + r.stderr
    page = html.unescape(
        (work.work / "feedback" / work.ids["john-smith"] / AID / f"{AID}.html").read_text(
            encoding="utf-8"
        )
    )
    en, ru = "this task scores 0", "задача оценена в 0"
    lines = page.splitlines()
    assert any(en in line for line in lines) and any(ru in line for line in lines)
    assert not any(en in line and ru in line for line in lines), "one language per line"
