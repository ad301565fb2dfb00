"""Grading helpers for the course (checks, integrity, the `course` command)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["release"]


def release(ids: Iterable[str] | None = None, root: Path | None = None) -> list[Path]:
    """Regenerate ``assignments/<id>/`` from ``solutions/<id>/`` with nbgrader (all by default).

    See :func:`course.authoring.nbgrader_setup.release`; imported lazily, so that
    ``import course.checks`` in a student's kernel does not load nbgrader.
    """
    from .authoring.nbgrader_setup import release as _release

    return _release(ids, root)
