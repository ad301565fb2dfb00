"""``course export moodle|canvas``: the grade file each LMS imports and a zip of feedback files
named as each LMS's download named the submissions, for a graded Russian class."""

from __future__ import annotations

import csv
import zipfile

import pytest

from tests.grading.lms_class import AID, LONG, PEOPLE, Graded, copy_of, course_here, graded_once


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return copy_of(graded_once(tmp_path_factory), tmp_path_factory.mktemp("export") / "c")


def _rows(path: object) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:  # type: ignore[arg-type]
        return list(csv.reader(f))


def test_moodle_grading_worksheet_and_feedback_zip(work: Graded) -> None:
    r = course_here("export", "moodle", "-w", work.work, "-a", AID, "--lang", "en")
    assert r.returncode == 0, r.stderr
    rows = _rows(work.work / "export" / f"moodle-{AID}-grades.csv")
    assert (
        rows[0][:6]
        == ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade"]
        and rows[0][-1] == "Feedback comments"
    )
    by_id = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert set(by_id) == {f"Participant {uid}" for uid in PEOPLE.values()}
    vera, pyotr = by_id["Participant 101"], by_id["Participant 102"]
    assert vera["Full name"] == "Вера Смирнова" and vera["Grade"] == "100.00"
    assert pyotr["Full name"] == "Пётр Иванов" and pyotr["Grade"] == "40.00"
    assert by_id["Participant 105"]["Full name"] == LONG
    assert vera["Maximum Grade"] == "100.00" and "t1_1-fd-grad: 20/20" in vera["Feedback comments"]
    with zipfile.ZipFile(work.work / "export" / f"moodle-{AID}-feedback.zip") as zf:
        names = zf.namelist()
        assert f"Вера Смирнова_101_assignsubmission_file_/feedback-{AID}.html" in names
        assert f"John Smith_103_assignsubmission_file_/feedback-{AID}.html" in names
        assert f"john-smith_104_assignsubmission_file_/feedback-{AID}.html" in names
        assert len(names) == 5
        assert all(i.flag_bits & 0x800 for i in zf.infolist() if not i.filename.isascii())
        page = zf.read(f"Пётр Иванов_102_assignsubmission_file_/feedback-{AID}.html").decode()
        assert "Score" in page and "hidden tests" in page


def test_moodle_scaled(work: Graded) -> None:
    r = course_here("export", "moodle", "-w", work.work, "-a", AID, "--scale-to", "10")
    assert r.returncode == 0, r.stderr
    rows = _rows(work.work / "export" / f"moodle-{AID}-grades.csv")
    grade = {row[0]: (row[4], row[5]) for row in rows[1:]}
    assert grade["Participant 102"] == ("4.00", "10.00")


def test_canvas_without_matching_ids_says_who_is_left_out(work: Graded, tmp_path) -> None:
    """A Canvas download of other people (ids that were not graded): the file has Canvas's
    header and points row, and the output names who was graded but has no Canvas id."""
    src = tmp_path / "canvas.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr(f"ивановаанна_5001_6001_{AID}.ipynb", "{}")
    r = course_here("import", "canvas", src, "-a", AID, "--to", tmp_path / "subs", "-w", work.work)
    assert r.returncode == 0 and "ivanovaanna_5001" in r.stdout, r.stderr
    r = course_here(
        "export", "canvas", "-w", work.work, "-a", AID, "--column", "Конечные разности (777)"
    )
    assert r.returncode == 0, r.stderr
    assert "graded but not in the canvas import" in r.stdout and "vera_smirnova_101" in r.stdout
    assert "imported but not graded" in r.stdout and "ivanovaanna_5001" in r.stdout
    rows = _rows(work.work / "export" / f"canvas-{AID}-grades.csv")
    assert rows[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "Конечные разности (777)",
    ]
    assert rows[1][0] == "Points Possible" and len(rows) == 2


def test_canvas_with_roster_ids(work: Graded, tmp_path) -> None:
    """With a roster that names the graded ids, a Canvas download maps onto them and the
    export writes Canvas's user ids and the download's file prefixes."""
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "id,canvas_id\n" + "".join(f"{work.ids[n]},{7000 + PEOPLE[n]}\n" for n in PEOPLE),
        encoding="utf-8",
    )
    src = tmp_path / "canvas.zip"
    with zipfile.ZipFile(src, "w") as zf:
        for name, uid in PEOPLE.items():
            lms = 7000 + uid
            zf.writestr(f"{name.replace(' ', '').lower()}_{lms}_{9000 + uid}_{AID}.ipynb", "{}")
    r = course_here(
        "import",
        "canvas",
        src,
        "-a",
        AID,
        "--to",
        tmp_path / "subs",
        "--roster",
        roster,
        "-w",
        work.work,
    )
    assert r.returncode == 0, r.stderr
    r = course_here("export", "canvas", "-w", work.work, "-a", AID)
    assert r.returncode == 0, r.stderr
    rows = _rows(work.work / "export" / f"canvas-{AID}-grades.csv")
    body = {row[1]: row for row in rows[2:]}
    assert body["7101"][0] == "верасмирнова" and body["7101"][2] == "vera_smirnova_101"
    assert body["7101"][-1] == "100.00" and body["7102"][-1] == "40.00"
    with zipfile.ZipFile(work.work / "export" / f"canvas-{AID}-feedback.zip") as zf:
        names = zf.namelist()
    assert f"верасмирнова_7101_9101_feedback-{AID}.html" in names and len(names) == 5
    assert "/" not in "".join(names), "Canvas: flat, one file per student"
