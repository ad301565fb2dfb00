"""Submissions as LMS downloads give them: importers for Moodle and Canvas, and an
explanation of a folder whose layout ``course autograde`` cannot read.

    course import moodle ZIP|DIR --assignment ID --to SUBMISSIONS [--roster CSV]
    course import canvas ZIP|DIR --assignment ID --to SUBMISSIONS [--roster CSV]

Both write nbgrader's submitted layout, ``SUBMISSIONS/<student_id>/<assignment_id>/…``, and
remember where each student came from (``WORKDIR/lms/<lms>-<assignment>.json``) for
``course export``. Student ids: from the roster (matched by the LMS id, e-mail or full name)
when given; with ``ids="lms"`` the LMS's user id; else the name transliterated
(GOST 7.79-2000 system B, :mod:`course.lms.translit`) and the LMS id: ``vera_smirnova_1234``.
Two LMS users that would get one id are an error naming both, before anything is written.
Entries that are not taken (a symbolic link, a path outside the download, a file over the
caps of :mod:`course.lms.archive`, a name no layout explains) are reported one line each.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..lms.archive import LIMITS, Limits, TooLarge, copy_entry, open_download
from ..lms.translit import slug

__all__ = [
    "EXPECTED_LAYOUT",
    "Imported",
    "explain_layout",
    "import_canvas",
    "import_download",
    "import_moodle",
]

EXPECTED_LAYOUT = (
    "expected SUBMISSIONS/<student_id>/<assignment_id>/<notebook>.ipynb "
    "(nbgrader's submitted layout), e.g. SUBMISSIONS/alice/03_reverse_mode/"
    "03_reverse_mode.ipynb"
)
#: Moodle, "download submissions in folders": ``Full Name_12345_assignsubmission_file_/…``
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<uid>\d+)_assign(?:submission|feedback)_[a-z]+_?$")
#: Moodle, flat: ``Full Name_12345_assignsubmission_file_original.ipynb``
_MOODLE_FLAT = re.compile(
    r"^(?P<name>.+?)_(?P<uid>\d+)_(?P<plugin>assignsubmission_[a-z]+)_"
    r"(?P<file>.+)$"
)
#: Canvas: ``lastfirst[_LATE]_userid_submissionid_original.ipynb`` (a name may be Cyrillic)
_CANVAS = re.compile(
    r"^(?P<name>[^_/]+?)(?:_(?P<late>LATE))?_(?P<uid>\d+)_(?P<sub>\d+)_"
    r"(?P<file>.+)$"
)
_NAME_BYTES = 200  # a file name component written, in UTF-8 bytes (the limit is 255)


@dataclass
class Imported:
    """What an import did: origin → student id, per student the LMS facts export needs,
    notes, and the entries not taken."""

    mapping: dict[str, str] = field(default_factory=dict)
    students: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    files: int = 0


def _roster(path: Path | None) -> dict[str, str]:
    """Lower-cased e-mail, full name (both orders), LMS id → student id."""
    if path is None:
        return {}
    out: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            sid = row.get("id") or row.get("student_id") or row.get("username") or row.get("login")
            if not sid:
                continue
            first, last = row.get("first_name", ""), row.get("last_name", "")
            for key in (
                row.get("email"),
                row.get("name"),
                f"{first} {last}",
                f"{last} {first}",
                f"{last}{first}",
                row.get("moodle_id"),
                row.get("canvas_id"),
                row.get("lms_id"),
            ):
                if key and key.strip():
                    out[key.strip().lower()] = sid
    return out


def _short(name: str) -> str:
    """A file name that fits the file system (≤ 200 UTF-8 bytes), its suffix kept."""
    if len(name.encode()) <= _NAME_BYTES:
        return name
    stem, dot, suffix = name.rpartition(".") if "." in name[-12:] else (name, "", "")
    keep = stem.encode()[: _NAME_BYTES - len(suffix.encode()) - 1].decode("utf-8", "ignore")
    return keep + dot + suffix


@dataclass
class _Found:
    name: str  # the name the LMS gives
    uid: str
    prefix: str  # what the LMS's upload of feedback files matches on
    files: list = field(default_factory=list)  # (relative parts, Entry)
    late: bool = False
    origin: str = ""


def _moodle(entries: list, skipped: list) -> tuple[dict[str, _Found], str]:
    found: dict[str, _Found] = {}
    layouts: set[str] = set()
    for e in entries:
        k = next((k for k, p in enumerate(e.parts) if _MOODLE.match(p)), None)
        if k is not None and k < len(e.parts) - 1:
            m = _MOODLE.match(e.parts[k])
            assert m is not None  # k is where it matched
            rel, origin, layout = e.parts[k + 1 :], e.parts[k], "folders"
        else:
            m = _MOODLE_FLAT.match(e.parts[-1])
            if m is None or len(e.parts) > 2:
                skipped.append(
                    (
                        e.name,
                        "not in a Moodle submission folder or file "
                        "(Full Name_12345_assignsubmission_file_…)",
                    )
                )
                continue
            rel, origin, layout = (m["file"],), f"{m['name']}_{m['uid']}_{m['plugin']}_", "flat"
        layouts.add(layout)
        f = found.setdefault(
            m["uid"], _Found(m["name"], m["uid"], origin.rstrip("_") + "_", origin=origin)
        )
        f.files.append((rel, e))
    return found, "folders" if "folders" in layouts or not layouts else "flat"


def _canvas(entries: list, skipped: list) -> dict[str, _Found]:
    found: dict[str, _Found] = {}
    for e in entries:
        m = _CANVAS.match(e.parts[-1])
        if m is None:
            skipped.append((e.name, "not a Canvas submission file (lastfirst_123_456_name)"))
            continue
        if m["file"] in (".", "..") or not m["file"].strip("."):
            skipped.append((e.name, f"the file name after the ids is {m['file']!r}"))
            continue
        f = found.setdefault(
            m["uid"],
            _Found(
                m["name"],
                m["uid"],
                f"{m['name']}_{m['uid']}_{m['sub']}_",
                origin=m["name"] + "_" + m["uid"],
            ),
        )
        f.late = f.late or bool(m["late"])
        f.files.append(((m["file"],), e))
    for f in found.values():  # Canvas renames a second upload of a name to name-1.ext
        names = Counter(re.sub(r"-\d+(\.[^.]+)$", r"\1", p[-1]) for p, _ in f.files)
        f.files = [
            (
                (re.sub(r"-\d+(\.[^.]+)$", r"\1", p[-1]),)
                if names[re.sub(r"-\d+(\.[^.]+)$", r"\1", p[-1])] == 1
                else p,
                e,
            )
            for p, e in f.files
        ]
    return found


def import_download(
    lms: str,
    src: Path,
    assignment: str,
    to: Path,
    roster: Path | None = None,
    *,
    ids: str = "name",
    workdir: Path | None = None,
    limits: Limits = LIMITS,
) -> Imported:
    """Import a Moodle or Canvas download (see the module's docstring)."""
    result = Imported()
    names = _roster(roster)
    with open_download(Path(src), limits) as listing:
        result.notes += listing.notes
        result.skipped += listing.skipped
        layout = "files"
        if lms == "moodle":
            found, layout = _moodle(listing.entries, result.skipped)
        else:
            found = _canvas(listing.entries, result.skipped)
        if not found:
            what = (
                "Moodle submission folders or files (Full Name_12345_assignsubmission_file_…)"
                if lms == "moodle"
                else "Canvas submission files (lastfirst_123_456_name)"
            )
            raise ValueError(
                f"{src}: no {what}"
                + (
                    f"; {len(result.skipped)} entries skipped: "
                    + "; ".join(f"{n}: {r}" for n, r in result.skipped[:3])
                    if result.skipped
                    else ""
                )
            )
        owners: dict[str, list[_Found]] = {}
        for f in found.values():
            sid = (
                names.get(f.uid)
                or names.get(f.name.lower())
                or names.get(f.name.replace(" ", "").lower())
            )
            if not sid:
                sid = f.uid if ids == "lms" else f"{slug(f.name) or 'student'}_{f.uid}"
            owners.setdefault(sid, []).append(f)
        clash = {sid: fs for sid, fs in owners.items() if len(fs) > 1}
        if clash:
            sid, fs = next(iter(clash.items()))
            raise ValueError(
                f"{' and '.join(repr(f.origin) for f in fs)} would both be student {sid!r} "
                f"(check the roster); nothing was written"
            )
        total = 0
        for sid, (f,) in sorted(owners.items()):
            dest = Path(to) / sid / assignment
            if dest.exists():
                shutil.rmtree(dest)  # a newer download replaces the older one
            dest.mkdir(parents=True)
            for rel, entry in f.files:
                target = dest.joinpath(*(_short(p) for p in rel))
                try:
                    total += copy_entry(entry, target, limits)
                except TooLarge as exc:
                    result.skipped.append((entry.name, str(exc)))
                    continue
                except OSError as exc:
                    result.skipped.append((entry.name, f"cannot be written: {exc.strerror}"))
                    continue
                if total > limits.total:
                    raise TooLarge(
                        f"the download unpacked to more than "
                        f"{limits.total >> 20} MiB; stopped at {entry.name}"
                    )
                result.files += 1
            if f.late:
                (dest / "canvas-late.txt").write_text("Canvas marked this submission LATE\n")
            result.mapping[f.origin] = sid
            result.students[sid] = {
                "uid": f.uid,
                "name": f.name,
                "prefix": f.prefix,
                "late": f.late,
            }
    if workdir is not None:
        _remember(Path(workdir), lms, assignment, layout, result.students)
    return result


def _remember(workdir: Path, lms: str, assignment: str, layout: str, students: dict) -> Path:
    """``WORKDIR/lms/<lms>-<assignment>.json``: what ``course export`` needs (merged with an
    earlier import of the same assignment)."""
    path = workdir / "lms" / f"{lms}-{assignment}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    merged = {**old.get("students", {}), **students}
    path.write_text(
        json.dumps(
            {"lms": lms, "assignment": assignment, "layout": layout, "students": merged},
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    return path


def import_moodle(
    src: Path, assignment: str, to: Path, roster: Path | None = None, **kw: object
) -> dict[str, str]:
    """Moodle's "Download all submissions" (folders or flat). Returns {origin: student id}."""
    return import_download("moodle", src, assignment, to, roster, **kw).mapping  # type: ignore


def import_canvas(
    src: Path, assignment: str, to: Path, roster: Path | None = None, **kw: object
) -> dict[str, str]:
    """Canvas's "Download submissions". Returns {origin: student id}."""
    return import_download("canvas", src, assignment, to, roster, **kw).mapping  # type: ignore


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
    return f"no submissions found in {root}: {what}. {EXPECTED_LAYOUT}." + (
        " Hint: " + "; ".join(hints) + "." if hints else ""
    )
