"""A finding: one observation about a submission, for the feedback and for the TA.

A finding's ``severity``: ``zero`` (the affected tasks score 0 — see ``scope``), ``flag`` (the
TA should look; the score is unchanged) or ``info`` (explained in the feedback).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Finding", "is_flagged", "where_of"]


@dataclass
class Finding:
    """One observation about a submission, for the feedback and for the TA."""

    kind: str  # submission, structure, reference, tamper, suspicious, crash, timeout, memory,
    #            output, sandbox, cells
    severity: str  # zero | flag | info
    message: str
    cell: int | None = None  # index of the cell in the graded notebook
    scope: str = "after"  # for zero: "after" (tasks graded at or after `cell`) or a task id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(**{k: d[k] for k in ("kind", "severity", "message", "cell", "scope") if k in d})


def is_flagged(findings: Iterable[Finding | dict[str, Any]]) -> bool:
    """Whether a TA should look at the submission."""
    return any(
        (f.severity if isinstance(f, Finding) else f.get("severity")) in ("zero", "flag")
        for f in findings
    )


def where_of(nb: Any, index: int) -> str:
    """``Task 3.4 / Задача 3.4, cell 16 / ячейка 16`` for a task's cells, else ``cell 16 /
    ячейка 16``, or ``cell 16 / ячейка 16, before Task 3.4 / перед задачей 3.4`` for a free
    cell."""

    def task(c: Any) -> str:
        gid = str(c.metadata.get("nbgrader", {}).get("grade_id", ""))
        m = re.match(r"t(\d+)_(\d+)", gid)
        return f"{m[1]}.{m[2]}" if m else ""

    cell = f"cell {index + 1} / ячейка {index + 1}"
    own = task(nb.cells[index]) if index < len(nb.cells) else ""
    if own:
        return f"Task {own} / Задача {own}, {cell}"
    nxt = next((t for c in nb.cells[index + 1 :] if (t := task(c))), "")
    return cell + (f", before Task {nxt} / перед задачей {nxt}" if nxt else "")


# cells as JSON or nbformat nodes
def _nbg(cell: Any) -> dict[str, Any]:
    meta = cell.get("metadata") or {}
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg if isinstance(nbg, dict) else {}


def _gid(cell: Any) -> str | None:
    gid = _nbg(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def _source(cell: Any) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)
