"""A small graded Russian class for the export, report and manual-grading tests: a Moodle
download (Вера Смирнова: full marks, Пётр Иванов: half done, John Smith / john-smith: blank and
a tampering notebook, a 130-character name: task 1.1 wrong — central differences without
the factor 1/2 — and the rest blank) imported and graded once with
``course import`` and ``course autograde`` (assignment 01, the quickest)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course.authoring.demo import solved
from tests.checks.assignment_utils import ROOT

AID = "01_finite_differences"
LONG = "Константин" + "о" * 110 + " Иванов-Петров"
PEOPLE = {"Вера Смирнова": 101, "Пётр Иванов": 102, "John Smith": 103, "john-smith": 104, LONG: 105}
IDS = {
    "Вера Смирнова": "vera_smirnova_101",
    "Пётр Иванов": "pyotr_ivanov_102",
    "John Smith": "john_smith_103",
    "john-smith": "john_smith_104",
}


def course(*args: str | Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, "-m", "course.cli", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def course_here(*args: str | Path) -> subprocess.CompletedProcess:
    """``course ARGS`` run in this process (``course.cli.main``, its output captured): for the
    commands that only read and write files (report, export), without a new interpreter
    importing the course, nbgrader and matplotlib for each call (2–25 s apiece here)."""
    import contextlib
    import io

    from course.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = [str(a) for a in args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's errors and --help
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


@dataclass
class Graded:
    root: Path
    subs: Path
    work: Path
    ids: dict[str, str]  # name → student id


def _tampered(release: nbformat.NotebookNode, solution: nbformat.NotebookNode) -> str:
    nb = solved(release, solution)
    setup = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(
        setup + 1,
        nbformat.v4.new_code_cell(
            "import course.checks as _c\nfor _n in dir(_c):\n    if _n.startswith('t1_'):\n"
            "        setattr(_c, _n, lambda *a, **k: True)"
        ),
    )
    return nbformat.writes(nb)


def _wrong(release: nbformat.NotebookNode, solution: nbformat.NotebookNode) -> str:
    nb = solved(release, solution, tasks=[0])
    cell = next(c for c in nb.cells if "def fd_grad" in c.source)
    assert "(2 * eps)" in cell.source, cell.source
    cell.source = cell.source.replace("(2 * eps)", "eps")
    return nbformat.writes(nb)


def build(root: Path) -> Graded:
    release = nbformat.read(ROOT / "assignments" / AID / f"{AID}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / AID / f"{AID}.ipynb", as_version=4)
    texts = {
        "Вера Смирнова": nbformat.writes(solved(release, solution)),
        "Пётр Иванов": nbformat.writes(solved(release, solution, tasks=[0, 1])),
        "John Smith": nbformat.writes(release),
        "john-smith": _tampered(release, solution),
        LONG: _wrong(release, solution),
    }
    download = root / "moodle.zip"
    with zipfile.ZipFile(download, "w") as zf:
        for name, uid in PEOPLE.items():
            zf.writestr(f"{name}_{uid}_assignsubmission_file_/{AID}.ipynb", texts[name])
    subs, work = root / "subs", root / "grading"
    r = course("import", "moodle", download, "-a", AID, "--to", subs, "-w", work)
    assert r.returncode == 0, r.stderr
    r = course("autograde", subs, "-w", work, "-a", AID, "--jobs", "2", "--timeout", "30")
    assert r.returncode == 0, r.stdout + r.stderr
    ids = dict(IDS)
    ids[LONG] = next(p.name for p in subs.iterdir() if p.name.endswith("_105"))
    return Graded(root, subs, work, ids)


_BUILT: dict[str, Graded] = {}


def graded_once(factory: object) -> Graded:
    """The class built once per test session (``factory``: pytest's ``tmp_path_factory``)."""
    if "class" not in _BUILT:
        _BUILT["class"] = build(factory.mktemp("lms-class"))  # type: ignore[attr-defined]
    return _BUILT["class"]


def copy_of(g: Graded, dest: Path) -> Graded:
    """A copy of the graded class that a test may change (the gradebook is found by the work
    dir's path, so the copy is independent)."""
    import shutil

    shutil.copytree(g.root, dest)
    return Graded(dest, dest / "subs", dest / "grading", dict(g.ids))
