"""nbgrader's gradebook in a database server shared by every worker (PostgreSQL).

nbgrader opens its gradebook with SQLAlchemy (``Gradebook(db_url)``), so any SQLAlchemy URL
works; it creates its tables on first use (running ``alembic`` by name, hence
:func:`course.authoring.nbgrader_setup.grading_env`). What makes concurrent workers safe:

* the TA's process creates the tables, the assignments (``generate_assignment``) and the
  students before any task starts, so workers only *update* those rows (nbgrader's own
  ``update_or_create_*`` would race to insert them);
* a submission is graded under a PostgreSQL advisory lock on ``(assignment, student)``
  (:func:`submission_lock`): a task Dask runs again (its worker died, or a cancelled task still
  finishing while a rerun starts) waits for the other instead of inserting the same
  submission twice; nbgrader's unique constraints (one submission per student × assignment, one
  grade per cell) and its find-or-update writes make a regrade an update, never a second row.
  A lock held by a worker that dies goes with its connection, and so does one whose server
  restarted (the task then retries: :mod:`course.cluster.faults`).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

__all__ = ["sqlalchemy_url", "submission_counts", "submission_lock"]


def sqlalchemy_url(url: str) -> str:
    """``url`` as SQLAlchemy needs it: ``postgresql://`` (and ``postgres://``) name the
    psycopg (3) driver unless psycopg2 is installed, which SQLAlchemy would pick by default."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            try:
                import psycopg2  # noqa: F401
            except ImportError:
                return "postgresql+psycopg://" + url[len(scheme) :]
            return "postgresql://" + url[len(scheme) :]
    return url


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql", "postgres:"))


def _key(name: str) -> int:
    """A signed 64-bit advisory lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def submission_lock(db_url: str, assignment: str, student: str) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock of one submission (no lock for other databases: a
    SQLite gradebook is only shared by workers on one machine, and SQLite locks the file)."""
    if not is_postgres(db_url):
        yield
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(sqlalchemy_url(db_url), poolclass=NullPool)
    key = _key(f"course-autograde/{assignment}/{student}")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:  # a connection the server dropped took its lock with it
                with contextlib.suppress(Exception):
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
    finally:
        with contextlib.suppress(Exception):
            engine.dispose()


def submission_counts(db_url: str) -> dict[tuple[str, str], int]:
    """``{(student, assignment): rows}`` in nbgrader's ``submitted_assignment`` table: 1 for
    each graded submission, whatever happened to the workers."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(sqlalchemy_url(db_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.student_id, a.name, count(*) FROM submitted_assignment s "
                    "JOIN assignment a ON a.id = s.assignment_id GROUP BY s.student_id, a.name"
                )
            )
            return {(sid, aid): int(n) for sid, aid, n in rows}
    finally:
        engine.dispose()
