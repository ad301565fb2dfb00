"""``course report`` writes one self-contained HTML page beside the Markdown, in the TA's
language: checked by parsing it (no external reference, tables, the sorting script, Russian
names and messages whole, a repeated long note stated once), and — where Chromium is installed
— in a headless browser (a screenshot, no console error, a click sorts a table)."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.grading.lms_class import AID, LONG, Graded, copy_of, course_here, graded_once

TAMPER_RU = "проверки или библиотеки курса были изменены"
TAMPER_EN = "the grader's checks or libraries were modified"


class Page(HTMLParser):
    """Tags, references, tables and scripts of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tables: list[dict] = []
        self.scripts: list[str] = []
        self.images: list[str] = []
        self._script = False
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        for key in ("src", "href"):
            if a.get(key) and not a[key].startswith(("#", "data:")):
                self.refs.append(f"{tag} {key}={a[key]}")
        if tag == "link":
            self.refs.append(f"link {a}")
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "table":
            self.tables.append(a)
        self._script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._script else self.text).append(data)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return copy_of(graded_once(tmp_path_factory), tmp_path_factory.mktemp("report") / "c")


def _report(work: Graded, *lang: str) -> tuple[str, str]:
    r = course_here("report", "-w", work.work, *lang)
    assert r.returncode == 0, r.stderr
    out = work.work / "report"
    return (out / "report.md").read_text(encoding="utf-8"), (out / "report.html").read_text(
        encoding="utf-8"
    )


def test_html_is_self_contained_with_sortable_tables(work: Graded) -> None:
    _, page = _report(work, "--lang", "both")
    p = Page(page)
    assert p.refs == [], f"references outside the page: {p.refs}"
    assert "http" not in "".join(p.scripts) and "cdn" not in page.lower()
    assert len(p.images) == 2 and all(i.startswith("data:image/png;base64,") for i in p.images)
    sortable = [t for t in p.tables if "sortable" in t.get("class", "")]
    assert len(sortable) >= 3, p.tables
    script = "".join(p.scripts)
    assert "table.sortable th" in script and "addEventListener" in script
    text = "".join(p.text)
    # the order a TA reads: the class at a glance, wrong answers by reason, flagged
    glance, reasons, flagged = (
        text.index(s)
        for s in ("submitted / сдали", "Wrong answers by reason", "Flagged for review")
    )
    assert glance < reasons < flagged
    students = text.split("Students / Студенты")[1].split("Tasks / Задачи")[0]
    for name, sid in work.ids.items():
        assert f"{sid} ({name})" in students, f"{name}: the LMS's name, whole, beside the id"
    assert len(sortable) >= 4, "students, tasks, a task's wrong answers, flagged"


def test_both_languages_on_their_own_lines_and_a_long_note_once(work: Graded) -> None:
    md, page = _report(work, "--lang", "both")
    text = "".join(Page(page).text)
    for body in (md, text):
        assert body.count(TAMPER_RU) == 1 and body.count(TAMPER_EN) == 1, (
            "the tamper message is a note stated once, not in every task row"
        )
        lines = body.splitlines()
        assert not any(TAMPER_EN in line and TAMPER_RU in line for line in lines), (
            "English and Russian on separate lines"
        )
        assert body.count("see note 1") >= 5, "the five task rows refer to the note"
    full = next(line for line in md.splitlines() if TAMPER_RU in line)
    assert full.rstrip().endswith("(ячейка 3))"), f"not cut: {full!r}"
    # the wrong answer of task 1.1 (central differences without 1/2), grouped, whole
    t11 = page.split("<h4>t1_1-fd-grad</h4>")[1].split("</table>")[0]
    assert LONG in t11, "who got it: the 130-character name, whole"
    assert "not implemented" not in t11


def test_language_is_chosen_and_kept(work: Graded) -> None:
    md, page = _report(work, "--lang", "ru")
    assert "Отчёт по группе" in md and "Class report" not in md
    assert TAMPER_RU in page and TAMPER_EN not in page
    assert (work.work / "course-lang").read_text().strip() == "ru"
    md, _ = _report(work)  # no --lang: the work dir's choice
    assert "Отчёт по группе" in md and "Class report" not in md
    md, page = _report(work, "--lang", "en")
    assert "Class report" in md and "Отчёт" not in md and TAMPER_RU not in page


def test_localize_splits_pairs_and_leaves_formulas() -> None:
    from course.lms.lang import localize

    tamper = (
        "IntegrityError: [course-sandbox] this task scores 0 / задача оценена в 0: "
        "checks modified / проверки изменены (setattr(_c, …) / вызывает setattr(_c, …) "
        "(cell 3 / ячейка 3))"
    )
    assert localize(tamper, "en") == (
        "IntegrityError: [course-sandbox] this task scores 0: "
        "checks modified (setattr(_c, …) (cell 3))"
    )
    assert localize(tamper, "ru") == (
        "IntegrityError: задача оценена в 0: проверки изменены (вызывает setattr(_c, …) (ячейка 3))"
    )
    assert localize(tamper, "both").split("\n") == [localize(tamper, "en"), localize(tamper, "ru")]
    rule = "quotient rule: (a / b)' = (a'·b − a·b') / b² / правило частного"
    assert localize(rule, "en") == "quotient rule: (a / b)' = (a'·b − a·b') / b²"
    assert localize("d log x = dx / x", "ru") == "d log x = dx / x", "a formula is no pair"
    assert localize("  expected / ожидалось:  [1.0, 2.0]", "ru") == "  ожидалось:  [1.0, 2.0]"
    notes = "## Замечания проверяющей системы / Grader's notes"
    assert localize(notes, "en") == "## Grader's notes"
    bullet = "* imports x / импортирует x — *flagged for the TA / передано преподавателю*"
    assert localize(bullet, "ru") == "* импортирует x — *передано преподавателю*"


def _chromium() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


@pytest.mark.skipif(_chromium() is None, reason="no Chromium on PATH (CI has none)")
def test_in_a_headless_browser(work: Graded, tmp_path: Path) -> None:
    _report(work, "--lang", "both")
    page = work.work / "report" / "report.html"
    base = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    shot = tmp_path / "report.png"
    r = subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert shot.is_file() and shot.stat().st_size > 20_000, r.stderr[-2000:]
    console = [line for line in r.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    # a click on the "mean" header of the tasks table sorts its rows by that column
    probe = tmp_path / "probe.html"
    probe.write_text(
        page.read_text(encoding="utf-8").replace(
            "</body>",
            (
                "<script>var t = document.querySelector('table.sortable.tasks');"
                "t.tHead.rows[0].cells[2].click();"
                "document.body.setAttribute('data-order', Array.from(t.tBodies[0].rows)"
                ".map(function (r) { return r.cells[2].textContent; }).join(','));</script></body>"
            ),
        ),
        encoding="utf-8",
    )
    r = subprocess.run(
        [*base, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=180
    )
    order = re.search(r'data-order="([^"]*)"', r.stdout)
    assert order, r.stderr[-2000:]
    values = [float(v) for v in order[1].split(",")]
    assert values == sorted(values) and len(values) == 5, values
    assert not [line for line in r.stderr.splitlines() if "Uncaught" in line]


def test_assignment_id_used(work: Graded) -> None:
    _, page = _report(work, "--lang", "en")
    assert f'<section id="{AID}">' in page
