"""Submissions as they arrive: find them, and put each into nbgrader's ``submitted/`` folder.

SUBMISSIONS/<student_id>/<assignment_id>/<notebook>.ipynb     (nbgrader's submitted layout)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .findings import Finding

__all__ = ["choose", "digest", "discover", "hash_file", "is_regular", "preflight", "unpack_zips"]

_CHUNK = 1 << 20


def hash_file(h: Any, path: Path) -> None:
    """Feed ``path``'s bytes to the hash ``h`` in 1 MiB pieces (a file is never read whole)."""
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)


def is_regular(path: Path) -> bool:
    """A regular file that is not a symbolic link (devices, fifos and links are refused)."""
    return path.is_file() and not path.is_symlink()


def discover(
    submissions: Path, assignments: Iterable[str] = (), students: Iterable[str] = ()
) -> list[tuple[str, str, Path]]:
    """``(student, assignment, folder)`` for ``SUBMISSIONS/<student>/<assignment>/``."""
    wanted_a, wanted_s = set(assignments), set(students)
    found = []
    for sdir in sorted(p for p in Path(submissions).iterdir() if p.is_dir() and not p.is_symlink()):
        if sdir.name.startswith(".") or (wanted_s and sdir.name not in wanted_s):
            continue
        for adir in sorted(p for p in sdir.iterdir() if p.is_dir() and not p.is_symlink()):
            if not adir.name.startswith(".") and (not wanted_a or adir.name in wanted_a):
                found.append((sdir.name, adir.name, adir))
    return found


def _grade_ids(text: str) -> set[str]:
    try:
        nb = json.loads(text)
        return {
            c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.get("cells", [])
        } - {None}
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
    if isinstance(raw, dict) and isinstance(raw.get("cells"), list) and "nbformat" not in raw:
        # v4's layout without its version key: nbformat would read it as v3 and drop every
        # cell's source while converting
        raw = {**raw, "nbformat": 4, "nbformat_minor": raw.get("nbformat_minor", 4)}
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
            make = (
                nbformat.v4.new_markdown_cell
                if c.get("cell_type") == "markdown"
                else nbformat.v4.new_code_cell
            )
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


def _solutions(nb: Any) -> dict[str, str]:
    """grade_id → source of the solution cells (the student's work)."""
    out = {}
    for c in nb.get("cells", []) if isinstance(nb, dict) else []:
        meta = (c.get("metadata") or {}).get("nbgrader") or {}
        if meta.get("solution") and meta.get("grade_id"):
            src = c.get("source", "")
            out[meta["grade_id"]] = "".join(src) if isinstance(src, list) else str(src)
    return out


def _work(path: Path, blank: dict[str, str]) -> int:
    """How many solution cells of ``path`` differ from the blank release (-1: unreadable)."""
    try:
        mine = _solutions(json.loads(path.read_text(encoding="utf-8", errors="replace")))
    except Exception:
        return -1
    return sum(1 for g, src in mine.items() if g in blank and src.strip() != blank[g].strip())


_ZIP_LIMIT = 200 << 20  # bytes unpacked per archive


def unpack_zips(folder: Path, dest: Path) -> tuple[list[Path], list[str]]:
    """Unpack every ``.zip`` under ``folder`` into ``dest/<zip name>/`` (no paths outside it,
    at most 200 MiB); return the notebooks found and what went wrong."""
    import zipfile

    notebooks: list[Path] = []
    problems: list[str] = []
    for z in sorted(p for p in folder.rglob("*.zip") if is_regular(p)):
        target = dest / z.stem
        try:
            with zipfile.ZipFile(z) as zf:
                if sum(i.file_size for i in zf.infolist()) > _ZIP_LIMIT:
                    problems.append(
                        f"{z.name}: larger than {_ZIP_LIMIT >> 20} MiB unpacked / "
                        f"в распакованном виде больше {_ZIP_LIMIT >> 20} МиБ"
                    )
                    continue
                for info in zf.infolist():
                    name = Path(info.filename)
                    if (
                        info.is_dir()
                        or name.is_absolute()
                        or ".." in name.parts
                        or "__MACOSX" in name.parts
                    ):
                        continue
                    out = target / name
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(zf.read(info))
                    if out.suffix == ".ipynb" and ".ipynb_checkpoints" not in name.parts:
                        notebooks.append(out)
        except (zipfile.BadZipFile, OSError) as exc:
            problems.append(f"{z.name}: not a readable zip ({exc}) / zip-архив не читается")
    return notebooks, problems


def _candidates(folder: Path, unpacked: list[Path]) -> list[Path]:
    found = [
        p
        for p in folder.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
        and "__MACOSX" not in p.parts
        and not p.name.startswith(".")
        and is_regular(p)
    ]
    return sorted(found) + unpacked


def choose(
    name: str, folder: Path, candidates: list[Path], blank: dict[str, str]
) -> tuple[Path | None, list[Finding]]:
    """The notebook to grade for the release's ``name`` among ``candidates``, and why.

    The one named ``name`` at the top of the folder, unless another holds more work (solution
    cells changed from the blank release): then the one with the most work (ties: the
    newest), flagged. Two notebooks with work that differ: flagged as ambiguous for the TA.
    """
    if not candidates:
        return None, []
    work = {p: _work(p, blank) for p in candidates}
    top = folder / name
    best = max(candidates, key=lambda p: (work[p], p == top, p.stat().st_mtime))
    if top in work and work[top] >= work[best]:
        best = top

    def where(p: Path) -> str:
        try:
            return str(p.relative_to(folder))
        except ValueError:
            return f"{p.parent.name}.zip:{p.name}"

    findings = []

    def sha(p: Path) -> str:
        h = hashlib.sha256()
        hash_file(h, p)
        return h.hexdigest()

    rivals = [p for p in candidates if p != best and work[p] > 0 and sha(p) != sha(best)]
    if rivals:
        listed = ", ".join(f"{where(p)} ({work[p]} tasks with code)" for p in [best, *rivals])
        findings.append(
            Finding(
                "submission",
                "flag",
                (
                    f"several notebooks with work: {listed}; {where(best)} was graded (the most work; "
                    f"ties: the newest). Check that it is the one the student meant / несколько "
                    f"блокнотов с решениями; проверен {where(best)} (в нём больше всего решённых задач, "
                    f"при равенстве — самый новый). Проверьте, что студент имел в виду именно его"
                ),
            )
        )
    elif best != top:
        why, ru = (
            ("in a .zip", "в архиве .zip")
            if folder not in best.parents
            else (
                ("in a subfolder", "в подпапке")
                if best.parent != folder
                else ("under another name", "под другим именем")
            )
        )
        blank_note = f" ({name} is there but blank)" if top in work else ""
        blank_ru = f" ({name} есть, но пустой)" if top in work else ""
        findings.append(
            Finding(
                "submission",
                "flag",
                (
                    f"there is no {name} with work{blank_note}; {where(best)} ({why}) was graded "
                    f"in its place / нет {name} с решениями{blank_ru}; вместо него проверен "
                    f"{where(best)} ({ru})"
                ),
            )
        )
    return best, findings


def preflight(
    student: str, assignment: str, folder: Path, release_dir: Path, workdir: Path
) -> list[Finding]:
    """Put the submission into ``workdir/submitted/`` as nbgrader expects it; write and
    return the grader's notes about it (renamed, misplaced, zipped, several, missing or
    unreadable notebooks)."""
    import nbformat

    dest = workdir / "submitted" / student / assignment
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    unpacked_dir = workdir / "unpacked" / student / assignment
    if unpacked_dir.exists():
        shutil.rmtree(unpacked_dir)
    unpacked, problems = unpack_zips(folder, unpacked_dir)
    findings: list[Finding] = [Finding("submission", "flag", f"archive {p}") for p in problems]
    expected = sorted(p.name for p in (release_dir / assignment).glob("*.ipynb"))
    odd = sorted(
        str(f.relative_to(folder))
        for f in folder.rglob("*")
        if f.is_symlink() or not (f.is_dir() or f.is_file())
    )
    if odd:
        findings.append(
            Finding(
                "submission",
                "flag",
                (
                    f"not regular files, ignored: {', '.join(odd[:10])}{' …' if len(odd) > 10 else ''} "
                    f"(symbolic links, devices, fifos) / не обычные файлы, пропущены: "
                    f"{', '.join(odd[:10])}"
                ),
            )
        )
    for f in sorted(folder.rglob("*")):
        if (
            is_regular(f)
            and f.suffix not in (".ipynb", ".zip")
            and f.stat().st_size < 10 << 20
            and not any(part.startswith(".") for part in f.relative_to(folder).parts)
        ):
            target = dest / f.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
    candidates = _candidates(folder, unpacked)
    for name in expected:
        release_nb = release_dir / assignment / name
        blank = _solutions(json.loads(release_nb.read_text()))
        others = [p for p in candidates if p.name not in expected or p.parent != folder]
        path, why = choose(
            name,
            folder,
            [p for p in candidates if p.name == name and p.parent == folder] + others,
            blank,
        )
        findings += why
        if path is None:
            files = ", ".join(
                sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
            )
            findings.append(
                Finding(
                    "submission",
                    "flag" if files else "info",
                    (
                        f"no notebook {name} in the submission (files: {files or 'none'}); the "
                        f"blank assignment was graded in its place: 0 points / в решении нет блокнота "
                        f"{name}; вместо него проверено пустое задание: 0 баллов"
                    ),
                )
            )
            shutil.copyfile(release_nb, dest / name)
            continue
        nb, err = _read_notebook(path)
        if nb is None:
            findings.append(
                Finding(
                    "submission",
                    "flag",
                    (
                        f"{path.name} could not be read ({err}); the blank assignment was graded in "
                        f"its place: 0 points / не удалось прочитать {path.name}; вместо него "
                        f"проверено пустое задание: 0 баллов"
                    ),
                )
            )
            shutil.copyfile(release_nb, dest / name)
            continue
        nbformat.write(nb, str(dest / name))
    notes = workdir / "notes" / student / f"{assignment}.json"
    notes.parent.mkdir(parents=True, exist_ok=True)
    notes.write_text(json.dumps([f.to_dict() for f in findings], indent=1, ensure_ascii=False))
    return findings


def digest(folder: Path) -> str:
    """A digest of everything under a submission folder: names and bytes, streamed; a link is
    hashed as its target's name, never followed."""
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        if ".ipynb_checkpoints" in f.parts:
            continue
        name = str(f.relative_to(folder)).encode("utf-8", "surrogateescape")
        if f.is_symlink():
            h.update(b"L" + name + b"\0" + os.fsencode(os.readlink(f)) + b"\0")
        elif f.is_file():
            h.update(b"F" + name + b"\0" + str(f.stat().st_size).encode() + b"\0")
            hash_file(h, f)
    return h.hexdigest()
