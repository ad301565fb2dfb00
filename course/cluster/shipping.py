"""What travels between the TA's machine and a Dask worker that shares no file system with it.

A grading task carries the submission as :func:`course.pipeline.autograde.preflight` left it in
``WORKDIR/submitted/<student>/<assignment>/`` (and the grader's notes about it); every worker
also receives one :class:`Kit` per assignment (the nbgrader source folder and the release the
TA's machine generated, with the grader's fingerprint). The worker sends back
:class:`Products`: the files a local worker process would have left in the work dir for this
submission, which :func:`write_products` puts in the same places on the TA's side.

Files travel as ``{relative posix path: zlib-compressed bytes}``. Paths of the worker's own
folders inside text (tracebacks, kernel logs) are rewritten to the TA's folders, so that the
work dir reads as if the grading had happened there.
"""

from __future__ import annotations

import hashlib
import shutil
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = ["Files", "GradeTask", "Kit", "Products", "hold", "pack", "unpack", "write_products"]

#: relative posix path → zlib-compressed bytes
Files = dict[str, bytes]

#: the per-submission folders of a work dir, as ``WORKDIR/<kind>/<student>/<assignment>/``
SUBMISSION_DIRS = ("submitted", "autograded", "feedback")


def pack(folder: Path, rewrite: dict[str, str] | None = None) -> Files:
    """Every file under ``folder`` (nothing if it does not exist); ``rewrite`` replaces path
    prefixes inside the files (the worker's folders by the TA's)."""
    out: Files = {}
    folder = Path(folder)
    if not folder.is_dir():
        return out
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            out[f.relative_to(folder).as_posix()] = zlib.compress(
                _rewritten(f.read_bytes(), rewrite), 6
            )
    return out


def _rewritten(data: bytes, rewrite: dict[str, str] | None) -> bytes:
    for old, new in (rewrite or {}).items():
        data = data.replace(old.encode(), new.encode())
    return data


def _safe(rel: str) -> PurePosixPath:
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"refusing to write {rel!r} outside its folder")
    return path


def unpack(files: Files, dest: Path, *, replace: bool = True) -> None:
    """Write ``files`` under ``dest`` (emptied first when ``replace``)."""
    dest = Path(dest)
    if replace and dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for rel, blob in files.items():
        target = dest / _safe(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(zlib.decompress(blob))


def digest(files: Files) -> str:
    """A short digest of packed files (names and contents)."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + files[rel])
    return h.hexdigest()[:16]


def hold(value: Any) -> Any:
    """A task that returns its argument: data the workers share (the kits) becomes a task
    result, which Dask recomputes if every worker holding it dies (scattered data would be
    lost with them)."""
    return value


@dataclass(frozen=True)
class Kit:
    """What a worker needs to grade an assignment, besides the submission."""

    assignment: str
    fingerprint: str  # :func:`course.pipeline.autograde.grader_fingerprint` on the TA's side
    source: Files  # ``solutions/<assignment>/``: nbgrader's source (hidden tests included)
    release: Files  # ``WORKDIR/release/<assignment>/``: the blank release, as generated


@dataclass(frozen=True)
class GradeTask:
    """One student × one assignment, as shipped to a worker."""

    student: str
    assignment: str
    submitted: Files  # ``WORKDIR/submitted/<student>/<assignment>/`` after the preflight
    notes: bytes  # ``WORKDIR/notes/<student>/<assignment>.json``
    limits: Any  # :class:`course.pipeline.execution.Limits`
    db_url: str  # the shared gradebook (SQLAlchemy URL)
    #: seconds a database fault is retried before the task gives up (DatabaseUnavailable)
    db_wait: float = 60.0
    #: the TA's work dir and repository root, for the paths written into the products
    ta_workdir: str = ""
    ta_root: str = ""
    #: top-level files of the TA's work dir that change the grading (the late policy)
    settings: Files = field(default_factory=dict)
    #: grade even where this worker's kernel sandbox does not work (the TA's explicit choice)
    unsafe_no_sandbox: bool = False


@dataclass
class Products:
    """What grading one submission left in the worker's work dir, and its outcome."""

    student: str
    assignment: str
    outcome: Any  # :class:`course.pipeline.autograde.Outcome`
    dirs: dict[str, Files] = field(default_factory=dict)  # by kind of :data:`SUBMISSION_DIRS`
    notes: bytes | None = None
    logs: Files = field(default_factory=dict)  # ``WORKDIR/logs/<name>``
    worker: str = ""  # the Dask worker that graded it
    pid: int = 0  # its process


def write_products(products: Products, workdir: Path) -> None:
    """Put ``products`` into the TA's ``workdir`` where a local worker would have left them."""
    sid, aid = products.student, products.assignment
    for kind in SUBMISSION_DIRS:
        if kind in products.dirs:
            unpack(products.dirs[kind], Path(workdir) / kind / sid / aid)
    if products.notes is not None:
        notes = Path(workdir) / "notes" / sid / f"{aid}.json"
        notes.parent.mkdir(parents=True, exist_ok=True)
        notes.write_bytes(products.notes)
    if products.logs:
        unpack(products.logs, Path(workdir) / "logs", replace=False)
