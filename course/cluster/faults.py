"""Faults of the gradebook's database server: retried with backoff for a bounded time.

A PostgreSQL server that restarts, refuses connections for a while, or aborts a transaction
(serialization failure, deadlock, an advisory lock's connection lost) is waited for: the
operation runs again after 0.5, 1, 2, 4, 5, 5 … seconds until it succeeds or ``bound`` seconds
have passed since the first failure; then :class:`DatabaseUnavailable` (one line naming the
database fault). A grading task that meets it is not a grade: the TA's process stops the run
cleanly (what was graded is saved, the summary printed) and the next run grades the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["DB_WAIT", "DatabaseUnavailable", "is_db_fault", "retry_db"]

T = TypeVar("T")

#: default bound (seconds) on waiting for the database
DB_WAIT = 60.0

#: what a fault of the server looks like in an error's text (nbgrader reports its converters'
#: failures as text: the exception's type and message are in its log)
_SIGNS = (
    "operationalerror",
    "interfaceerror",
    "disconnectionerror",
    "could not connect",
    "connection refused",
    "server closed the connection",
    "terminating connection",
    "connection is closed",
    "the connection is closed",
    "connection to server",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "could not serialize access",
    "serializationfailure",
    "deadlock detected",
    "adminshutdown",
    "is the server running",
    "ssl connection has been closed",
    "lost synchronization with server",
    "consuming input failed",
)


class DatabaseUnavailable(RuntimeError):
    """The gradebook's database did not answer within the bound (the message is one line)."""


def is_db_fault(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is a fault of the database server
    rather than of the submission or the grader: SQLAlchemy's ``OperationalError``,
    ``InterfaceError`` and ``DisconnectionError``, psycopg's ``OperationalError``, or an error
    whose text says so (a connection refused or closed, a server starting or shutting down, a
    serialization failure or deadlock)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, DatabaseUnavailable):
            return True
        names = {f"{c.__module__}.{c.__name__}" for c in type(e).__mro__}
        if names & {
            "sqlalchemy.exc.OperationalError",
            "sqlalchemy.exc.InterfaceError",
            "sqlalchemy.exc.DisconnectionError",
            "psycopg.OperationalError",
            "psycopg.errors.SerializationFailure",
            "psycopg.errors.DeadlockDetected",
        }:
            return not _sqlite_lock(e)
        text = str(e).lower()
        if any(s in text for s in _SIGNS) and not _sqlite_lock(e):
            return True
        e = e.__cause__ or e.__context__
    return False


def _sqlite_lock(e: BaseException) -> bool:
    """SQLite's "database is locked": another local worker writing, retried where it happens."""
    return "database is locked" in str(e).lower()


def first_line(exc: BaseException) -> str:
    """The exception's type and the first line of its message that says something."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    sign = next((ln for ln in lines if any(s in ln.lower() for s in _SIGNS)), "")
    return f"{type(exc).__name__}: {sign or (lines[0] if lines else '')}"[:200]


def retry_db(
    fn: Callable[[], T],
    bound: float,
    what: str,
    on_retry: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``fn()``, run again after a database fault with backoff (0.5 s doubling, at most 5 s
    between tries) until ``bound`` seconds have passed since the first fault; then
    :class:`DatabaseUnavailable` naming ``what`` and the fault. Other errors propagate at once.
    ``on_retry`` receives a line for each retry."""
    start: float | None = None
    delay = 0.5
    while True:
        try:
            return fn()
        except Exception as exc:
            if not is_db_fault(exc):
                raise
            if isinstance(exc, DatabaseUnavailable):
                raise
            now = time.monotonic()
            start = now if start is None else start
            if now - start >= bound:
                raise DatabaseUnavailable(
                    f"the gradebook database did not answer for {bound:g} s ({what}: "
                    f"{first_line(exc)})"
                ) from None
            if on_retry is not None:
                on_retry(f"database fault ({what}: {first_line(exc)}); retrying in {delay:g} s")
            sleep(min(delay, max(0.05, start + bound - now)))
            delay = min(delay * 2, 5.0)
