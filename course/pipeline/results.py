"""What a run leaves for the TA: ``course-state.json`` (what each grade depends on, so that an
unchanged submission is not graded again), ``grades.csv`` (nbgrader's export with a column per
task), ``grades-table.csv`` (students × assignments) and the summary table. Scores come from the
gradebook, so that a manual override in formgrader shows everywhere."""

from __future__ import annotations

import csv
import json
import os
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..authoring.nbgrader_setup import grading_env, make_config
from .integrity import is_flagged


@dataclass
class Outcome:
    """One graded (or reused) submission."""

    student: str
    assignment: str
    score: float = 0.0
    max_score: float = 0.0
    tasks: dict[str, float] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    status: str = "graded"  # graded | cached | error | pending (interrupted)
    fingerprint: str = ""
    error: str = ""

    @property
    def flagged(self) -> bool:
        return is_flagged(self.findings)


__all__ = [
    "STATE",
    "TABLE",
    "export_grades",
    "load_state",
    "record_state",
    "save_state",
    "summary_table",
]

STATE = "course-state.json"
TABLE = "grades-table.csv"
#: width of the summary's notes column; longer notes wrap onto further lines, never cut
NOTES_WIDTH = 100


def load_state(workdir: Path) -> dict[str, Any]:
    """``course-state.json`` of the work dir ({} if none yet)."""
    path = Path(workdir) / STATE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def save_state(workdir: Path, state: dict[str, Any]) -> None:
    """Write ``course-state.json`` atomically (a kill or a full disk never leaves half a file:
    the previous state stays)."""
    path = Path(workdir) / STATE
    tmp = path.with_name(f".{STATE}.{os.getpid()}.tmp")
    try:
        tmp.write_text(
            json.dumps(state, indent=1, ensure_ascii=False, sort_keys=True), encoding="utf-8"
        )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def record_state(state: dict[str, Any], out: Outcome) -> None:
    """Remember ``out`` in ``state``: a grade (``graded``, ``cached``) with its fingerprint, so
    that the next run reuses it; an error of the grader (a kernel that did not start, a lost
    worker, a full disk, a database error: status ``error``) is forgotten, so that the next
    run grades it again; ``pending`` (not reached) leaves what was there."""
    key = f"{out.student}/{out.assignment}"
    if out.status in ("graded", "cached") and out.fingerprint:
        state[key] = {k: v for k, v in asdict(out).items() if k != "status"}
    elif out.status != "pending":
        state.pop(key, None)


def export_grades(workdir: Path, root: Path | None = None, to: Path | None = None) -> Path:
    """nbgrader's CSV export of the whole gradebook (``workdir/grades.csv`` by default) with
    one column per task (the grade cell's id), and ``grades-table.csv`` beside it: one row
    per student, one column per assignment, the total."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    from .gradebook import grades

    to = Path(to or Path(workdir) / "grades.csv")
    config = make_config(root, Path(workdir))
    plugin = CsvExportPlugin(config=config)
    plugin.to = str(to)
    with grading_env(), Gradebook(config.CourseDirectory.db_url) as gb:
        plugin.export(gb)
        students = sorted(s.id for s in gb.students)
        assignments = sorted(a.name for a in gb.assignments)
    by_key = {(g.student, g.assignment): g for g in grades(workdir)}
    tasks = sorted({t for g in by_key.values() for t in g.tasks})
    with open(to, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0]) if rows else ["assignment", "student_id", "score", "max_score"]
    for row in rows:
        g = by_key.get((row.get("student_id", ""), row.get("assignment", "")))
        for t in tasks:
            row[t] = f"{g.tasks[t]:g}" if g and t in g.tasks else ""
    with open(to, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields + tasks)
        w.writeheader()
        w.writerows(rows)
    with open(to.parent / TABLE, "w", newline="", encoding="utf-8") as f:
        table = csv.writer(f)
        table.writerow(["student_id", *assignments, "total", "missing"])
        for sid in students:
            scores = [by_key.get((sid, a)) for a in assignments]
            table.writerow(
                [
                    sid,
                    *(f"{g.score:g}" if g else "" for g in scores),
                    f"{sum(g.score for g in scores if g):g}",
                    " ".join(a for a, g in zip(assignments, scores, strict=True) if not g),
                ]
            )
    return to


def _notes(o: Outcome) -> str:
    """The reasons a TA should read first (flags), each whole; then the rest."""
    strong = [f for f in o.findings if f.get("severity") in ("zero", "flag")]
    chosen = strong or list(o.findings)
    return "; ".join(f"{f['message']} [{f['kind']}]" for f in chosen)


def summary_table(
    outcomes: Sequence[Outcome], missing: Mapping[str, Iterable[str]] | None = None
) -> str:
    """Students × assignments with the notes a TA should read (whole, wrapped), then per
    assignment: students, submitted, missing (named), mean, median, flagged."""
    absent = {a: sorted(s) for a, s in (missing or {}).items()}
    if not outcomes and not any(absent.values()):
        return "(no submissions)"
    rows = [("student", "assignment", "score", "status", "notes")]
    for o in outcomes:
        rows.append(
            (
                o.student,
                o.assignment,
                f"{o.score:g}/{o.max_score:g}",
                o.status + (" ⚑" if o.flagged else ""),
                _notes(o),
            )
        )
    for aid, sids in sorted(absent.items()):
        for sid in sids:
            rows.append((sid, aid, "0", "missing", "no submission / нет решения"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    indent = " " * (sum(widths) + 8)
    lines = []
    for n, r in enumerate(rows):
        head = "  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  "
        notes = textwrap.wrap(r[4], NOTES_WIDTH, break_on_hyphens=False) or [""]
        lines.append(head + notes[0])
        lines += [indent + more for more in notes[1:]]
        if n == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 5)
    by_a: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_a.setdefault(o.assignment, []).append(o)
    for aid in sorted(set(by_a) | set(absent)):
        got = by_a.get(aid, [])
        s = sorted(o.score for o in got)
        gone = absent.get(aid, [])
        line = f"{aid}: {len(s) + len(gone)} students, {len(s)} submitted, {len(gone)} missing" + (
            f" ({', '.join(gone)})" if gone else ""
        )
        if s:
            med = (s[len(s) // 2] + s[(len(s) - 1) // 2]) / 2
            line += (
                f"; mean {sum(s) / len(s):.1f}, median {med:g} (of submissions), "
                f"flagged {sum(o.flagged for o in got)}"
            )
        lines.append(line)
    return "\n".join(lines)
