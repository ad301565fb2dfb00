"""What ``course`` is asked to do, checked before any work: known assignment and student ids,
ids safe to use as folder names and nbgrader arguments, a work dir that exists (for reading) or
can be written and that no other run is using, a layout that holds submissions. Every problem
is one :class:`UsageError` whose text is one line for the TA (one line per refused id)."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..authoring.nbgrader_setup import has_gradebook

__all__ = [
    "LOCK",
    "RunLock",
    "UsageError",
    "check_ids",
    "check_safe_ids",
    "missing_students",
    "readable_workdir",
    "unsafe_id",
    "writable_workdir",
]

#: the file a run of ``course autograde`` holds locked in its work dir
LOCK = ".course-run.lock"


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
        raise UsageError(f"cannot write to the work dir {workdir}: {exc.strerror or exc}") from None
    return workdir.resolve()


def readable_workdir(workdir: Path) -> Path:
    """A work dir ``course autograde`` has written (with a gradebook); nothing is created."""
    workdir = Path(workdir)
    if not workdir.is_dir():
        raise UsageError(
            f"no work dir {workdir} (grade first: course autograde SUBMISSIONS --workdir {workdir})"
        )
    if not has_gradebook(workdir):
        raise UsageError(
            f"{workdir} has no gradebook: nothing graded there yet "
            f"(course autograde SUBMISSIONS --workdir {workdir})"
        )
    if not os.access(workdir, os.R_OK | os.X_OK):
        raise UsageError(f"cannot read the work dir {workdir}")
    return workdir.resolve()


def missing_students(
    students: Iterable[str], submitted: Iterable[tuple[str, str]], assignments: Iterable[str]
) -> dict[str, list[str]]:
    """Per assignment, the students (roster, gradebook, other submissions) without one."""
    have = set(submitted)
    everyone = sorted(set(students))
    return {a: [s for s in everyone if (s, a) not in have] for a in sorted(set(assignments))}


#: characters nbgrader (``--student`` globs, ``fnmatch``) or a shell would read as a pattern
_GLOB = set("*?[]")


def unsafe_id(name: str, max_bytes: int = 255) -> str:
    """Why ``name`` cannot be a student (or assignment) id, or "" if it can: it becomes a folder
    name in the work dir and a pattern for nbgrader (``*`` would regrade the whole class)."""
    if not name:
        return "empty"
    if name in (".", "..") or ".." in name:
        return "contains '..'"
    if "/" in name or "\\" in name or os.sep in name:
        return "contains a path separator"
    bad = sorted(set(name) & _GLOB)
    if bad:
        return f"contains the glob character(s) {' '.join(bad)}"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        return "contains a control character"
    if name[0] in ".-":
        return f"starts with {name[0]!r}"
    if name != name.strip():
        return "starts or ends with a space"
    if len(name.encode("utf-8", "surrogateescape")) > max_bytes:
        return f"longer than the file system allows ({max_bytes} bytes in UTF-8)"
    return ""


def check_safe_ids(
    kind: str,
    ids: Iterable[str],
    where: str = "",
    then: str = "nothing was graded: rename or remove the folder(s)",
) -> None:
    """Refuse the ids :func:`unsafe_id` rejects: one line per refused id, then ``then``."""
    refused = [(i, why) for i in sorted(set(ids)) if (why := unsafe_id(i))]
    if refused:
        lines = [f"refused {kind} id {i!r}{where}: {why}" for i, why in refused]
        raise UsageError("\n".join([*lines, then]))


class RunLock:
    """One command writing a work dir at a time (``course autograde``, ``course roster``): an
    exclusive ``flock`` on ``WORKDIR/.course-run.lock`` for the command's lifetime (the kernel
    drops it when the process ends, however it ends). The file names the holder's pid and
    command, which a refused second one reports."""

    def __init__(self, workdir: Path, command: str = "course autograde"):
        self.path = Path(workdir) / LOCK
        self.command = command
        self.fd: int | None = None

    def __enter__(self) -> RunLock:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, _, command = os.read(fd, 128).decode(errors="replace").strip().partition(" ")
            os.close(fd)
            command = command or "course autograde"
            raise UsageError(
                f"another {command} (pid {pid or 'unknown'}) is "
                f"{'grading into' if 'autograde' in command else 'writing'} "
                f"{self.path.parent}; wait for it to finish or stop it, or use "
                f"another --workdir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {self.command}\n".encode())
        self.fd = fd
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd = None


def sandbox_problem() -> str:
    """Why the kernel sandbox (bubblewrap: :func:`course.pipeline.bwrap.sandbox_status`) cannot
    work on this machine, or "" if it can (or if this tree has no such sandbox)."""
    try:
        from .bwrap import sandbox_status
    except ImportError:
        return ""
    sealed, why = sandbox_status()
    return "" if sealed else (why or "bubblewrap cannot run here")
