"""Unit tests of :mod:`course.pipeline.submissions`: finding submissions, choosing the notebook
to grade, unpacking zips, the preflight into ``submitted/`` and the submission digest.

No grading and no kernel: small notebooks written into ``tmp_path``.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course.pipeline.findings import is_flagged
from course.pipeline.submissions import (
    choose,
    digest,
    discover,
    hash_file,
    is_regular,
    preflight,
    unpack_zips,
)

AID = "a1"


def _solution_cell(gid: str, source: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"solution": True, "grade_id": gid, "locked": False}
    return cell


def _nb(*sources: str) -> str:
    """A notebook whose solution cells ``t1_<k>-code`` hold ``sources`` (the release's stub is
    ``raise NotImplementedError``)."""
    cells = [_solution_cell(f"t1_{k}-code", s) for k, s in enumerate(sources, 1)]
    return nbformat.writes(new_notebook(cells=cells))


STUB = "raise NotImplementedError"
BLANK = {"t1_1-code": STUB, "t1_2-code": STUB}


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """``release/a1/a1.ipynb``: two blank tasks."""
    folder = tmp_path / "release" / AID
    folder.mkdir(parents=True)
    (folder / f"{AID}.ipynb").write_text(_nb(STUB, STUB))
    return tmp_path / "release"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- discover -------------------------------------------------------------------------------------
def test_discover_lists_student_assignment_folders_and_filters(tmp_path: Path) -> None:
    for sid, aid in [("alice", "a1"), ("alice", "a2"), ("bob", "a1"), (".hidden", "a1")]:
        (tmp_path / sid / aid).mkdir(parents=True)
    (tmp_path / "bob" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "stray.ipynb").write_text("{}")  # not a student folder
    (tmp_path / "eve").symlink_to(tmp_path / "alice")  # a link is never a student
    found = discover(tmp_path)
    assert [(s, a) for s, a, _ in found] == [("alice", "a1"), ("alice", "a2"), ("bob", "a1")]
    assert found[0][2] == tmp_path / "alice" / "a1"
    assert [(s, a) for s, a, _ in discover(tmp_path, assignments=["a1"])] == [
        ("alice", "a1"),
        ("bob", "a1"),
    ]
    assert [(s, a) for s, a, _ in discover(tmp_path, students=["bob"])] == [("bob", "a1")]
    assert discover(tmp_path, assignments=["a3"]) == []


def test_is_regular_refuses_links_and_folders(tmp_path: Path) -> None:
    f = _write(tmp_path / "f.txt", "x")
    (tmp_path / "link").symlink_to(f)
    os.mkfifo(tmp_path / "fifo")
    assert is_regular(f)
    assert not is_regular(tmp_path / "link")
    assert not is_regular(tmp_path / "fifo")
    assert not is_regular(tmp_path)
    assert not is_regular(tmp_path / "missing")


def test_hash_file_streams_the_same_digest(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # more than one 1 MiB piece
    f = tmp_path / "big.bin"
    f.write_bytes(data)
    h = hashlib.sha256()
    hash_file(h, f)
    assert h.hexdigest() == hashlib.sha256(data).hexdigest()


# --- choose ---------------------------------------------------------------------------------------
def test_choose_the_named_notebook_when_it_holds_the_most_work(tmp_path: Path) -> None:
    top = _write(tmp_path / f"{AID}.ipynb", _nb("x = 1", "y = 2"))
    blank = _write(tmp_path / "blank.ipynb", _nb(STUB, STUB))
    best, findings = choose(f"{AID}.ipynb", tmp_path, [top, blank], BLANK)
    assert best == top
    assert findings == [], "a blank copy is no rival"
    other = _write(tmp_path / "draft.ipynb", _nb("x = 0", STUB))
    best, findings = choose(f"{AID}.ipynb", tmp_path, [top, blank, other], BLANK)
    assert best == top, "the named notebook with the most work"
    assert len(findings) == 1 and "draft.ipynb (1 tasks with code)" in findings[0].message


def test_choose_prefers_more_work_elsewhere_and_flags_it(tmp_path: Path) -> None:
    top = _write(tmp_path / f"{AID}.ipynb", _nb(STUB, STUB))  # blank
    sub = _write(tmp_path / "work" / "mine.ipynb", _nb("x = 1", "y = 2"))
    best, findings = choose(f"{AID}.ipynb", tmp_path, [top, sub], BLANK)
    assert best == sub
    assert len(findings) == 1 and findings[0].severity == "flag", findings
    msg = findings[0].message
    assert "work/mine.ipynb" in msg and "in a subfolder" in msg and "is there but blank" in msg


def test_choose_flags_two_different_notebooks_with_work(tmp_path: Path) -> None:
    a = _write(tmp_path / f"{AID}.ipynb", _nb("x = 1", STUB))
    b = _write(tmp_path / "v2.ipynb", _nb("x = 1", "y = 2"))
    best, findings = choose(f"{AID}.ipynb", tmp_path, [a, b], BLANK)
    assert best == b, "the most work wins over the name"
    assert len(findings) == 1 and "several notebooks with work" in findings[0].message
    assert "v2.ipynb (2 tasks with code)" in findings[0].message
    assert f"{AID}.ipynb (1 tasks with code)" in findings[0].message


def test_choose_identical_copies_are_not_ambiguous(tmp_path: Path) -> None:
    text = _nb("x = 1", "y = 2")
    a = _write(tmp_path / f"{AID}.ipynb", text)
    b = _write(tmp_path / "backup" / f"{AID}.ipynb", text)
    best, findings = choose(f"{AID}.ipynb", tmp_path, [a, b], BLANK)
    assert best == a and findings == []


def test_choose_nothing_to_choose(tmp_path: Path) -> None:
    assert choose(f"{AID}.ipynb", tmp_path, [], BLANK) == (None, [])


# --- unpack_zips ----------------------------------------------------------------------------------
def test_unpack_zips_keeps_paths_inside_and_skips_junk(tmp_path: Path) -> None:
    folder = tmp_path / "sub"
    folder.mkdir()
    with zipfile.ZipFile(folder / "hw.zip", "w") as zf:
        zf.writestr("hw/a1.ipynb", _nb("x = 1", STUB))
        zf.writestr("../escape.ipynb", "{}")
        zf.writestr("/abs.ipynb", "{}")
        zf.writestr("__MACOSX/hw/._a1.ipynb", "junk")
        zf.writestr("hw/.ipynb_checkpoints/a1-checkpoint.ipynb", "{}")
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    dest = tmp_path / "unpacked"
    notebooks, problems = unpack_zips(folder, dest)
    assert notebooks == [dest / "hw" / "hw" / "a1.ipynb"], notebooks
    assert not (tmp_path / "escape.ipynb").exists()
    assert not any("MACOSX" in str(p) for p in dest.rglob("*"))
    assert (
        len(problems) == 1 and "broken.zip" in problems[0] and "not a readable zip" in problems[0]
    )


def test_unpack_zips_refuses_a_zip_over_the_limit(tmp_path: Path, monkeypatch) -> None:
    from course.pipeline import submissions

    monkeypatch.setattr(submissions, "_ZIP_LIMIT", 1000)
    folder = tmp_path / "sub"
    folder.mkdir()
    with zipfile.ZipFile(folder / "big.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a1.ipynb", " " * 5000)  # compresses to a few bytes
    notebooks, problems = unpack_zips(folder, tmp_path / "unpacked")
    assert notebooks == []
    assert len(problems) == 1 and "big.zip: larger than" in problems[0], problems
    assert not (tmp_path / "unpacked").exists(), "nothing written"


# --- preflight ------------------------------------------------------------------------------------
def _graded(work: Path) -> nbformat.NotebookNode:
    return nbformat.read(work / "submitted" / "s" / AID / f"{AID}.ipynb", as_version=4)


def test_preflight_copies_the_notebook_and_data_files(tmp_path: Path, release: Path) -> None:
    folder = tmp_path / "subs" / "s" / AID
    _write(folder / f"{AID}.ipynb", _nb("x = 1", "y = 2"))
    _write(folder / "data" / "table.csv", "a,b\n1,2\n")
    _write(folder / ".secret", "dotfiles stay out")
    work = tmp_path / "work"
    findings = preflight("s", AID, folder, release, work)
    assert findings == []
    assert [c.source for c in _graded(work).cells] == ["x = 1", "y = 2"]
    assert (work / "submitted" / "s" / AID / "data" / "table.csv").read_text() == "a,b\n1,2\n"
    assert not (work / "submitted" / "s" / AID / ".secret").exists()
    notes = json.loads((work / "notes" / "s" / f"{AID}.json").read_text())
    assert notes == []


def test_preflight_takes_the_notebook_from_a_zip(tmp_path: Path, release: Path) -> None:
    folder = tmp_path / "subs" / "s" / AID
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "upload.zip", "w") as zf:
        zf.writestr(f"{AID}.ipynb", _nb("x = 1", STUB))
    work = tmp_path / "work"
    findings = preflight("s", AID, folder, release, work)
    assert [c.source for c in _graded(work).cells] == ["x = 1", STUB]
    assert len(findings) == 1 and "(in a .zip)" in findings[0].message, findings
    assert "upload.zip" not in [p.name for p in (work / "submitted" / "s" / AID).iterdir()]


def test_preflight_notes_links_and_grades_the_blank_when_nothing_is_there(
    tmp_path: Path, release: Path
) -> None:
    folder = tmp_path / "subs" / "s" / AID
    folder.mkdir(parents=True)
    outside = _write(tmp_path / "outside.txt", "TA's secret")
    (folder / "peek.txt").symlink_to(outside)
    work = tmp_path / "work"
    findings = preflight("s", AID, folder, release, work)
    messages = " | ".join(f.message for f in findings)
    assert "not regular files, ignored: peek.txt" in messages, messages
    assert "no notebook a1.ipynb" in messages and "0 points" in messages, messages
    assert is_flagged(findings)
    assert not (work / "submitted" / "s" / AID / "peek.txt").exists()
    assert [c.source for c in _graded(work).cells] == [STUB, STUB], "the blank release"
    kept = json.loads((work / "notes" / "s" / f"{AID}.json").read_text())
    assert [f["message"] for f in kept] == [f.message for f in findings]


def test_preflight_salvages_a_broken_notebook_and_refuses_garbage(
    tmp_path: Path, release: Path
) -> None:
    folder = tmp_path / "subs" / "s" / AID
    raw = json.loads(_nb("x = 1", "y = 2"))
    raw["cells"][0]["outputs"] = "not a list"  # valid JSON, not a valid notebook
    raw["cells"][1]["execution_count"] = "seven"
    _write(folder / f"{AID}.ipynb", json.dumps(raw))
    work = tmp_path / "work"
    assert preflight("s", AID, folder, release, work) == []
    cells = _graded(work).cells
    assert [c.source for c in cells] == ["x = 1", "y = 2"]
    assert cells[1].metadata["nbgrader"]["grade_id"] == "t1_2-code"

    _write(folder / f"{AID}.ipynb", '{"cells": [ nope')
    findings = preflight("s", AID, folder, release, work)
    assert len(findings) == 1 and "could not be read (JSONDecodeError" in findings[0].message
    assert [c.source for c in _graded(work).cells] == [STUB, STUB]


def test_preflight_replaces_an_earlier_run(tmp_path: Path, release: Path) -> None:
    folder = tmp_path / "subs" / "s" / AID
    _write(folder / f"{AID}.ipynb", _nb("x = 1", "y = 2"))
    _write(folder / "old.csv", "1")
    work = tmp_path / "work"
    preflight("s", AID, folder, release, work)
    (folder / "old.csv").unlink()
    preflight("s", AID, folder, release, work)
    assert not (work / "submitted" / "s" / AID / "old.csv").exists(), "a stale file stays"


# --- digest ---------------------------------------------------------------------------------------
def test_digest_sees_bytes_names_and_links_but_not_checkpoints(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    _write(folder / "a.ipynb", "one")
    first = digest(folder)
    assert digest(folder) == first, "deterministic"
    _write(folder / ".ipynb_checkpoints" / "a-checkpoint.ipynb", "autosave")
    assert digest(folder) == first, "checkpoints are not the submission"
    (folder / "a.ipynb").write_text("two")
    changed = digest(folder)
    assert changed != first
    (folder / "a.ipynb").rename(folder / "b.ipynb")
    assert digest(folder) != changed, "a rename changes the digest"
    (folder / "b.ipynb").rename(folder / "a.ipynb")
    assert digest(folder) == changed
    (folder / "link").symlink_to("/etc/hostname")
    linked = digest(folder)
    assert linked != changed
    (folder / "link").unlink()
    (folder / "link").symlink_to("/etc/hosts")
    assert digest(folder) != linked, "a link is hashed by its target's name"


def test_preflight_keeps_the_work_of_a_notebook_without_its_version(
    tmp_path: Path, release: Path
) -> None:
    folder = tmp_path / "subs" / "s" / AID
    raw = json.loads(_nb("x = 1", "y = 2"))
    del raw["nbformat"]
    _write(folder / f"{AID}.ipynb", json.dumps(raw))
    work = tmp_path / "work"
    findings = preflight("s", AID, folder, release, work)
    sources = [c.source for c in _graded(work).cells]
    assert sources == ["x = 1", "y = 2"] or findings, (sources, findings)
