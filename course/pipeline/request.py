"""What ``course`` is asked to do, checked before any work: known assignment and student ids,
a work dir that exists (for reading) or can be written, a layout that holds submissions.
Every problem is one :class:`UsageError` whose text is one line for the TA."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..authoring.nbgrader_setup import has_gradebook

__all__ = ["UsageError", "check_ids", "missing_students", "readable_workdir",
           "writable_workdir"]


class UsageError(Exception):
    """A request ``course`` cannot carry out; the message says why and what is known."""


def _names(ids: Iterable[str]) -> str:
    ids = sorted(ids)
    return ", ".join(ids) if ids else "none"


def check_ids(kind: str, asked: Sequence[str], known: Iterable[str], where: str = "") -> None:
    """``asked`` ids must all be ``known``: else an error naming the known ones."""
    known = set(known)
    unknown = [a for a in asked if a not in known]
    if unknown:
        raise UsageError(f"unknown {kind} {', '.join(unknown)}{where}; known: {_names(known)}")


def writable_workdir(workdir: Path) -> Path:
    """Create ``workdir`` if needed and check that it can be written."""
    workdir = Path(workdir)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        probe = workdir / ".course-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write to the work dir {workdir}: "
                         f"{exc.strerror or exc}") from None
    return workdir.resolve()


def readable_workdir(workdir: Path) -> Path:
    """A work dir ``course autograde`` has written (with a gradebook); nothing is created."""
    workdir = Path(workdir)
    if not workdir.is_dir():
        raise UsageError(f"no work dir {workdir} (grade first: course autograde SUBMISSIONS "
                         f"--workdir {workdir})")
    if not has_gradebook(workdir):
        raise UsageError(f"{workdir} has no gradebook: nothing graded there yet "
                         f"(course autograde SUBMISSIONS --workdir {workdir})")
    if not os.access(workdir, os.R_OK | os.X_OK):
        raise UsageError(f"cannot read the work dir {workdir}")
    return workdir.resolve()


def missing_students(students: Iterable[str], submitted: Iterable[tuple[str, str]],
                     assignments: Iterable[str]) -> dict[str, list[str]]:
    """Per assignment, the students (roster, gradebook, other submissions) without one."""
    have = set(submitted)
    everyone = sorted(set(students))
    return {a: [s for s in everyone if (s, a) not in have] for a in sorted(set(assignments))}
