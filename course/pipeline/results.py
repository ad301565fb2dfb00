"""What a run leaves for the TA: nbgrader's CSV export and the summary table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..authoring.nbgrader_setup import grading_env, make_config

if TYPE_CHECKING:
    from .autograde import Outcome

__all__ = ["export_grades", "summary_table"]


def export_grades(workdir: Path, root: Path | None = None, to: Path | None = None) -> Path:
    """nbgrader's CSV export of the whole gradebook (``workdir/grades.csv`` by default)."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    to = Path(to or Path(workdir) / "grades.csv")
    config = make_config(root, Path(workdir))
    plugin = CsvExportPlugin(config=config)
    plugin.to = str(to)
    with grading_env(), Gradebook(config.CourseDirectory.db_url) as gb:
        plugin.export(gb)
    return to


def summary_table(outcomes: Sequence[Outcome]) -> str:
    """Students × assignments, with the notes a TA should read."""
    if not outcomes:
        return "(no submissions)"
    rows = [("student", "assignment", "score", "status", "notes")]
    for o in outcomes:
        notes = "; ".join(f["message"] for f in o.findings
                          if f.get("severity") in ("zero", "flag"))
        kinds = sorted({f["kind"] for f in o.findings if f.get("severity") in ("zero", "flag")})
        status = o.status + (" ⚑" if o.flagged else "")
        rows.append((o.student, o.assignment, f"{o.score:g}/{o.max_score:g}", status,
                     (", ".join(kinds) + ": " + notes)[:90] if kinds else
                     "; ".join(f["message"] for f in o.findings)[:90]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
        if n == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 5)
    by_a: dict[str, list[float]] = {}
    for o in outcomes:
        by_a.setdefault(o.assignment, []).append(o.score)
    for aid, scores in sorted(by_a.items()):
        s = sorted(scores)
        med = (s[len(s) // 2] + s[(len(s) - 1) // 2]) / 2
        lines.append(f"{aid}: {len(s)} students, mean {sum(s) / len(s):.1f}, median {med:g}, "
                     f"flagged {sum(o.flagged for o in outcomes if o.assignment == aid)}")
    return "\n".join(lines)
