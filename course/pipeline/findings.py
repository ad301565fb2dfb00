"""A finding: one observation about a submission, for the feedback and for the TA.

A finding's ``severity``: ``zero`` (the affected tasks score 0 — see ``scope``), ``flag`` (the
TA should look; the score is unchanged) or ``info`` (explained in the feedback).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Finding", "is_flagged"]


@dataclass
class Finding:
    """One observation about a submission, for the feedback and for the TA."""

    kind: str  # submission, structure, reference, tamper, suspicious, crash, timeout, memory,
    #            output, sandbox
    severity: str  # zero | flag | info
    message: str
    cell: int | None = None  # index of the cell in the graded notebook
    scope: str = "after"  # for zero: "after" (tasks graded at or after `cell`) or a task id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(**{k: d[k] for k in ("kind", "severity", "message", "cell", "scope")
                      if k in d})


def is_flagged(findings: Iterable[Finding | dict[str, Any]]) -> bool:
    """Whether a TA should look at the submission."""
    return any((f.severity if isinstance(f, Finding) else f.get("severity")) in ("zero", "flag")
               for f in findings)


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
