"""The Dask task: grade one shipped submission in a worker process, as a local worker does.

:func:`grade_task` runs in a ``dask worker`` process (one task at a time per process: a lock
serialises tasks if the worker was started with several threads). The first task of a run
unpacks the kits into a folder of the worker's own (``<dask local directory>/course-grader-PID``:
``root/solutions/<id>`` and ``work/release/<id>``), checks that this worker's ``course`` package
grades exactly as the TA's (the grader fingerprints must agree), and starts the grading
machinery with the local path's own initializer
(:func:`course.pipeline.workers.init_worker`: the sandbox configuration, the limits, the
the process's signals stay Dask's), its gradebook pointed at the shared
database. Each task then writes the submission into ``work/submitted/``, grades it with the
local path's :func:`course.pipeline.workers.grade_safely` (the same sandbox, integrity checks and
fallbacks) under the submission's database lock, and returns what that left in the work dir.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from .credentials import password_of, scrub
from .faults import DatabaseUnavailable, retry_db
from .gradebook import sqlalchemy_url, submission_lock
from .shipping import SUBMISSION_DIRS, GradeTask, Kit, Products, pack, unpack

__all__ = ["GraderMismatch", "SandboxMissing", "grade_task"]

_LOCK = threading.Lock()
#: this process's grading set-up: its folder and what it was initialised for
_PROCESS: dict[str, Any] = {}


class GraderMismatch(RuntimeError):
    """This worker's ``course`` package (or source notebooks) differs from the TA's."""


def grade_task(task: GradeTask, kits: dict[str, Kit]) -> Products:
    """Grade ``task`` with the assignments' ``kits``; return its products (see the module
    docstring)."""
    with _LOCK:
        return _grade(task, kits)


def _base() -> Path:
    try:
        from distributed import get_worker

        folder = Path(get_worker().local_directory)
    except (ImportError, ValueError):  # not in a Dask worker (a test calling it directly)
        folder = Path(tempfile.gettempdir())
    return folder / f"course-grader-{os.getpid()}"


def _setup(task: GradeTask, kits: dict[str, Kit]) -> tuple[Path, Path]:
    """The worker's root and work dir, ready for ``kits`` (initialised again when a run with
    other assignments, checks or limits arrives)."""
    from ..pipeline.autograde import grader_fingerprint

    base = _PROCESS.setdefault("base", _base())
    root, work = base / "root", base / "work"
    key = (
        tuple(sorted((k.assignment, k.fingerprint) for k in kits.values())),
        task.limits,
        task.db_url,
        tuple(sorted(task.settings.items())),
    )
    if _PROCESS.get("key") == key:
        return root, work
    work.mkdir(parents=True, exist_ok=True)
    for stale in work.glob("*.json"):  # settings of an earlier run
        stale.unlink()
    unpack(task.settings, work, replace=False)
    for aid, kit in kits.items():
        unpack(kit.source, root / "solutions" / aid)
        unpack(kit.release, work / "release" / aid)
        mine = grader_fingerprint(root, aid, task.limits)
        if mine != kit.fingerprint:
            raise GraderMismatch(
                f"worker {_address()} grades {aid} differently from the TA's machine (grader "
                f"fingerprint {mine[:12]} ≠ {kit.fingerprint[:12]}): install the same version "
                f"of the course repository on every worker and restart them"
            )
    _start(task, root, work, tuple(sorted(kits)))
    _PROCESS["key"] = key
    return root, work


def _start(task: GradeTask, root: Path, work: Path, aids: tuple[str, ...]) -> None:
    """The local worker initializer on the worker's folders, gradebook at ``task.db_url``.
    The process's signals stay Dask's (``own_signals=False``); a machine whose kernel
    sandbox does not work grades nothing unless the TA allowed it (``--unsafe-no-sandbox``)."""
    from ..authoring.nbgrader_setup import grading_env, make_api
    from ..pipeline import workers as local
    from ..pipeline.request import sandbox_problem

    problem = sandbox_problem()
    if problem and not task.unsafe_no_sandbox:
        raise SandboxMissing(
            f"worker {_address()}: the kernel sandbox (bubblewrap) does not "
            f"work here ({problem}); fix this worker, or pass "
            f"--unsafe-no-sandbox if you trust every submission"
        )
    local.stop_worker()
    work.mkdir(parents=True, exist_ok=True)
    local.init_worker(str(work), str(root), task.limits, aids, own_signals=False)
    grader = local._WORKER["grader"]
    grader.config.CourseDirectory.db_url = sqlalchemy_url(task.db_url)
    with grading_env():
        grader.api = make_api(grader.config)  # nbgrader's API reads the URL when built


class SandboxMissing(RuntimeError):
    """This worker cannot sandbox kernels, and the TA did not pass ``--unsafe-no-sandbox``."""


def _address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def _grade(task: GradeTask, kits: dict[str, Kit]) -> Products:
    from ..pipeline.workers import Outcome, grade_safely

    root, work = _setup(task, kits)
    sid, aid = task.student, task.assignment
    for kind in SUBMISSION_DIRS:
        shutil.rmtree(work / kind / sid / aid, ignore_errors=True)
    unpack(task.submitted, work / "submitted" / sid / aid)
    notes = work / "notes" / sid / f"{aid}.json"
    notes.parent.mkdir(parents=True, exist_ok=True)
    notes.write_bytes(task.notes)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    before = {p.name: p.stat().st_mtime_ns for p in logs.iterdir()}
    retries: list[str] = []

    def attempt() -> Outcome:
        for kind in ("autograded", "feedback"):  # of a try the database interrupted
            shutil.rmtree(work / kind / sid / aid, ignore_errors=True)
        with submission_lock(task.db_url, aid, sid):
            return grade_safely(aid, sid, str(work))

    try:
        outcome = retry_db(attempt, task.db_wait, f"grading {sid}/{aid}", retries.append)
    except DatabaseUnavailable as exc:
        raise DatabaseUnavailable(scrub(str(exc), task.db_url)) from None
    if retries:  # a note in the run's logs: the database was waited for
        (logs / f"{sid}-{aid}-database.log").write_text(
            scrub("\n".join(retries), task.db_url) + "\n", encoding="utf-8"
        )
    outcome.error = scrub(outcome.error, task.db_url)
    rewrite = {str(work): task.ta_workdir or str(work), str(root): task.ta_root or str(root)}
    if len(secret := password_of(task.db_url)) >= 4:  # never in what goes back
        rewrite[secret] = "***"
    products = Products(sid, aid, outcome, worker=_address(), pid=os.getpid())
    for kind in SUBMISSION_DIRS:
        products.dirs[kind] = pack(work / kind / sid / aid, rewrite)
        shutil.rmtree(work / kind / sid / aid, ignore_errors=True)
    products.notes = notes.read_bytes() if notes.is_file() else None
    notes.unlink(missing_ok=True)
    fresh = [
        p for p in logs.iterdir() if p.is_file() and before.get(p.name) != p.stat().st_mtime_ns
    ]
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        for p in fresh:
            shutil.move(str(p), Path(tmp) / p.name)
        products.logs = pack(Path(tmp), rewrite)
    return products
