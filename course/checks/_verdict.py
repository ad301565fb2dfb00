"""The ledger of verdicts: every check, when it ends, records whether it passed.

The grader (:mod:`course.pipeline.sandbox`'s probe, after every cell) takes the records; a grade
cell earns its points only if each check its source calls recorded a pass during that cell and
none recorded a failure — a check that was replaced, skipped or short-circuited records nothing,
and an ``execute_result`` or printed text is never read (:mod:`course.pipeline.execution`).
"""

from __future__ import annotations

__all__ = ["record", "take"]

_LEDGER: list[tuple[str, str, bool]] = []


def record(check: str, task: str, ok: bool) -> None:
    """Record the verdict of the check ``check`` (``hidden_t1_1``) of ``task`` (``t1_1``)."""
    _LEDGER.append((check, task, bool(ok)))
    del _LEDGER[:-1000]  # a student's own kernel may run checks many times


def take() -> list[tuple[str, str, bool]]:
    """The records since the last call (and forget them)."""
    out = list(_LEDGER)
    _LEDGER.clear()
    return out
