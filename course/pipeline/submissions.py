"""Submissions as they arrive: find them, and put each into nbgrader's ``submitted/`` folder.

    SUBMISSIONS/<student_id>/<assignment_id>/<notebook>.ipynb     (nbgrader's submitted layout)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .findings import Finding

__all__ = ["discover", "preflight"]


def discover(submissions: Path, assignments: Iterable[str] = (), students: Iterable[str] = ()
             ) -> list[tuple[str, str, Path]]:
    """``(student, assignment, folder)`` for ``SUBMISSIONS/<student>/<assignment>/``."""
    wanted_a, wanted_s = set(assignments), set(students)
    found = []
    for sdir in sorted(p for p in Path(submissions).iterdir() if p.is_dir()):
        if sdir.name.startswith(".") or (wanted_s and sdir.name not in wanted_s):
            continue
        for adir in sorted(p for p in sdir.iterdir() if p.is_dir()):
            if not adir.name.startswith(".") and (not wanted_a or adir.name in wanted_a):
                found.append((sdir.name, adir.name, adir))
    return found


def _grade_ids(text: str) -> set[str]:
    try:
        nb = json.loads(text)
        return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                for c in nb.get("cells", [])} - {None}
    except Exception:
        return set()


def _read_notebook(path: Path) -> tuple[Any | None, str]:
    """(notebook, "") or (None, why it could not be read). JSON whose notebook structure is
    broken is salvaged: the cells' types, sources and nbgrader metadata."""
    import nbformat

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except Exception as exc:
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    try:
        nb = nbformat.reads(json.dumps(raw), as_version=4)
        nbformat.validate(nb)
        return nb, ""
    except Exception:
        pass
    try:
        cells = []
        for c in raw.get("cells", []):
            src = c.get("source", "")
            src = "".join(src) if isinstance(src, list) else str(src)
            make = (nbformat.v4.new_markdown_cell if c.get("cell_type") == "markdown"
                    else nbformat.v4.new_code_cell)
            cell = make(src)
            meta = c.get("metadata")
            if isinstance(meta, dict) and isinstance(meta.get("nbgrader"), dict):
                cell.metadata["nbgrader"] = meta["nbgrader"]
            cells.append(cell)
        nb = nbformat.v4.new_notebook(cells=cells)
        nbformat.validate(nb)
    except Exception as exc:
        return None, f"not a valid notebook ({str(exc).splitlines()[0][:200]})"
    return nb, ""


def preflight(student: str, assignment: str, folder: Path, release_dir: Path, workdir: Path
              ) -> list[Finding]:
    """Put the submission into ``workdir/submitted/`` as nbgrader expects it; write and
    return the grader's notes about it (renamed, missing, unreadable notebooks)."""
    import nbformat

    dest = workdir / "submitted" / student / assignment
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    findings: list[Finding] = []
    expected = sorted(p.name for p in (release_dir / assignment).glob("*.ipynb"))
    present = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.suffix != ".ipynb" and f.stat().st_size < 10 << 20 and \
                not any(part.startswith(".") for part in f.relative_to(folder).parts):
            target = dest / f.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
    for name in expected:
        release_nb = release_dir / assignment / name
        path = folder / name
        if not path.is_file():
            others = [p for p in present if p.name not in expected]
            if others:
                ids = _grade_ids(release_nb.read_text())
                path = max(others, key=lambda p: (len(_grade_ids(p.read_text(errors="replace"))
                                                      & ids), p.stat().st_mtime))
                findings.append(Finding("submission", "flag", (
                    f"there is no {name}; {path.relative_to(folder)} was graded in its place")))
            else:
                files = ", ".join(sorted(p.name for p in folder.rglob("*") if p.is_file()))
                findings.append(Finding("submission", "info", (
                    f"no notebook {name} in the submission (files: {files or 'none'}); the "
                    f"blank assignment was graded in its place: 0 points")))
                shutil.copyfile(release_nb, dest / name)
                continue
        nb, why = _read_notebook(path)
        if nb is None:
            findings.append(Finding("submission", "flag", (
                f"{path.name} could not be read ({why}); the blank assignment was graded in "
                f"its place: 0 points")))
            shutil.copyfile(release_nb, dest / name)
            continue
        nbformat.write(nb, str(dest / name))
    notes = workdir / "notes" / student / f"{assignment}.json"
    notes.parent.mkdir(parents=True, exist_ok=True)
    notes.write_text(json.dumps([f.to_dict() for f in findings], indent=1, ensure_ascii=False))
    return findings
