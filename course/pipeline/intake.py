"""Submissions as LMS downloads give them: importers for Moodle and Canvas, and an
explanation of a folder whose layout ``course autograde`` cannot read.

    course import moodle ZIP|DIR --assignment ID --to SUBMISSIONS [--roster CSV]
    course import canvas ZIP|DIR --assignment ID --to SUBMISSIONS [--roster CSV]

Both write nbgrader's submitted layout, ``SUBMISSIONS/<student_id>/<assignment_id>/…``.
Student ids: from the roster (matched by e-mail, full name or LMS id) when given, else a slug
of the name the LMS gives (``ivan_ivanov``); each import prints the mapping.
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

__all__ = ["EXPECTED_LAYOUT", "explain_layout", "import_canvas", "import_moodle"]

EXPECTED_LAYOUT = ("expected SUBMISSIONS/<student_id>/<assignment_id>/<notebook>.ipynb "
                   "(nbgrader's submitted layout), e.g. SUBMISSIONS/alice/03_reverse_mode/"
                   "03_reverse_mode.ipynb")
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<uid>\d+)_assign(?:submission|feedback)_\w*$")
_CANVAS = re.compile(r"^(?P<name>[a-z0-9-]+?)(?:_(?P<late>LATE))?_(?P<uid>\d+)_(?P<sub>\d+)_"
                     r"(?P<file>.+)$")


def _slug(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or name
    slug = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return slug or "student"


def _roster(path: Path | None) -> dict[str, str]:
    """Lower-cased e-mail, full name (both orders), LMS id → student id."""
    if path is None:
        return {}
    out: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            sid = row.get("id") or row.get("student_id") or row.get("username") or \
                row.get("login")
            if not sid:
                continue
            first, last = row.get("first_name", ""), row.get("last_name", "")
            for key in (row.get("email"), row.get("name"), f"{first} {last}", f"{last} {first}",
                        f"{last}{first}", row.get("moodle_id"), row.get("canvas_id"),
                        row.get("lms_id")):
                if key and key.strip():
                    out[key.strip().lower()] = sid
    return out


def _source(src: Path, stack: list[tempfile.TemporaryDirectory]) -> Path:
    """A folder: ``src`` itself, or a zip unpacked into a temporary folder."""
    import zipfile

    if src.is_dir():
        return src
    if not zipfile.is_zipfile(src):
        raise ValueError(f"{src}: neither a folder nor a zip file")
    tmp = tempfile.TemporaryDirectory(prefix="course-import-")
    stack.append(tmp)
    with zipfile.ZipFile(src) as zf:
        for info in zf.infolist():
            name = Path(info.filename)
            if info.is_dir() or name.is_absolute() or ".." in name.parts:
                continue
            out = Path(tmp.name) / name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(zf.read(info))
    return Path(tmp.name)


def _place(files: list[Path], base: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for f in files:
        target = dest / f.relative_to(base)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)


def import_moodle(src: Path, assignment: str, to: Path, roster: Path | None = None
                  ) -> dict[str, str]:
    """Moodle's "Download all submissions": one folder per student,
    ``Full Name_12345_assignsubmission_file_/…``. Returns {Moodle folder: student id}."""
    stack: list[tempfile.TemporaryDirectory] = []
    try:
        root = _source(Path(src), stack)
        folders = [p for p in root.rglob("*") if p.is_dir() and _MOODLE.match(p.name)]
        if not folders:
            raise ValueError(f"{src}: no Moodle submission folders "
                             f"('Full Name_12345_assignsubmission_file_')")
        names = _roster(roster)
        mapping: dict[str, str] = {}
        for folder in sorted(folders):
            m = _MOODLE.match(folder.name)
            assert m
            name = m["name"]
            sid = names.get(name.lower()) or names.get(m["uid"]) or _slug(name)
            mapping[folder.name] = sid
            files = [f for f in folder.rglob("*") if f.is_file()]
            _place(files, folder, Path(to) / sid / assignment)
        return mapping
    finally:
        for t in stack:
            t.cleanup()


def import_canvas(src: Path, assignment: str, to: Path, roster: Path | None = None
                  ) -> dict[str, str]:
    """Canvas's "Download submissions": flat files ``lastfirst[_LATE]_uid_subid_name``.
    Returns {Canvas file: student id}; late ones are marked in ``canvas-late.txt``."""
    stack: list[tempfile.TemporaryDirectory] = []
    try:
        root = _source(Path(src), stack)
        files = [p for p in root.rglob("*") if p.is_file() and _CANVAS.match(p.name)]
        if not files:
            raise ValueError(f"{src}: no Canvas submission files ('lastfirst_123_456_name')")
        names = _roster(roster)
        mapping: dict[str, str] = {}
        for f in sorted(files):
            m = _CANVAS.match(f.name)
            assert m
            sid = names.get(m["uid"]) or names.get(m["name"]) or _slug(m["name"])
            mapping[f.name] = sid
            dest = Path(to) / sid / assignment
            dest.mkdir(parents=True, exist_ok=True)
            original = re.sub(r"-\d+(\.ipynb)$", r"\1", m["file"])  # Canvas: name-1.ipynb
            shutil.copyfile(f, dest / original)
            if m["late"]:
                (dest / "canvas-late.txt").write_text("Canvas marked this submission LATE\n")
        return mapping
    finally:
        for t in stack:
            t.cleanup()


def explain_layout(submissions: Path, known: list[str]) -> str:
    """Why ``submissions`` holds nothing gradable: what is there, and what to do."""
    root = Path(submissions)
    entries = [p for p in sorted(root.iterdir()) if not p.name.startswith(".")]
    seen: Counter[str] = Counter()
    hints: list[str] = []
    for p in entries:
        if p.is_dir() and _MOODLE.match(p.name):
            seen["Moodle submission folders (Name_12345_assignsubmission_file_)"] += 1
        elif p.is_file() and _CANVAS.match(p.name):
            seen["Canvas submission files (lastfirst_123_456_name)"] += 1
        elif p.is_file() and p.suffix == ".ipynb":
            seen["notebooks directly in SUBMISSIONS"] += 1
        elif p.is_file() and p.suffix == ".zip":
            seen["zip files directly in SUBMISSIONS"] += 1
        elif p.is_dir():
            subs = [q.name for q in p.iterdir() if q.is_dir() and not q.name.startswith(".")]
            if any(s in known for s in subs):
                seen["student folders"] += 1
            elif any(q.suffix in (".ipynb", ".zip") for q in p.iterdir()):
                seen["student folders with notebooks but no assignment folder"] += 1
            elif subs:
                seen[f"folders of unknown assignments (e.g. {p.name}/{subs[0]})"] += 1
            else:
                seen["empty folders"] += 1
        else:
            seen["other files"] += 1
    what = "; ".join(f"{n} {k}" for k, n in seen.most_common()) or "nothing"
    if any("Moodle" in k for k in seen):
        hints.append("import it first: course import moodle SRC --assignment ID --to DIR")
    if any("Canvas" in k for k in seen):
        hints.append("import it first: course import canvas SRC --assignment ID --to DIR")
    if any("directly" in k or "no assignment folder" in k for k in seen):
        hints.append("put each notebook into <student_id>/<assignment_id>/")
    if any("unknown assignments" in k for k in seen):
        hints.append(f"assignment folders must be named by their id: {', '.join(known)}")
    return (f"no submissions found in {root}: {what}. {EXPECTED_LAYOUT}."
            + (" Hint: " + "; ".join(hints) + "." if hints else ""))
