"""The gradebook's credentials: where they may be, and where they must never be.

The database URL (``postgresql://USER:PASSWORD@HOST/DB``) is the key to every student's grade.
It lives in the TA's ``WORKDIR/gradebook-url`` (mode 0600), in the file given to
``--db-url-file`` (so that it is never on a command line, which ``ps`` and ``/proc/PID/cmdline``
show to every process of the machine), in the grading task sent to a Dask worker, and in that
worker's nbgrader configuration — never in an environment variable, a command line, a log, a
notebook or anything a kernel inherits. :func:`scrub` removes it from text that leaves the
grader (error messages, logs shipped back to the TA).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["password_of", "private_file", "read_url_file", "scrub"]


def read_url_file(path: Path) -> str:
    """The URL in the first line of ``path``; refused if other users may read the file."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(
            f"cannot read the database URL from {path}: {exc.strerror or exc}"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(
            f"{path} may be read by other users (mode {stat.S_IMODE(mode):o}): chmod 600 {path}"
        )
    url = (text.strip().splitlines() or [""])[0].strip()
    if "://" not in url:
        raise ValueError(f"{path}: the first line is not a database URL (postgresql://…)")
    return url


def password_of(url: str) -> str:
    """The password in ``url`` ("" if none)."""
    head, at, _ = url.rpartition("@")
    if not at or "://" not in head:
        return ""
    _, _, userinfo = head.partition("://")
    _user, colon, password = userinfo.partition(":")
    return password if colon else ""


def scrub(text: str, url: str) -> str:
    """``text`` with the password of ``url`` replaced by ``***``."""
    secret = password_of(url)
    return text.replace(secret, "***") if len(secret) >= 4 else text


def private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (created so, never widened)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
