"""The grader's own processes: local worker processes that die with the run, the worker
initializer shared with the Dask workers (:mod:`course.cluster.worker`), grading one submission
safely, and a watchdog that ends whatever of a run is left.

* :func:`init_worker` sets up a grading process (its :class:`~course.pipeline.grading.Grader`,
  signals, ``PR_SET_PDEATHSIG``); :func:`grade_safely` grades one submission, falling back to the
  blank release when the grader itself fails (never for a fault of the database server: that
  is raised for the caller to retry, :mod:`course.cluster.faults`);
* :func:`grade_locally` grades a run's submissions in spawned worker processes;
* :class:`Watchdog` SIGKILLs every process carrying the run's mark (:data:`RUN_ENV`) once the
  ``course`` process ends, however it ends.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import multiprocessing
import os
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..authoring.nbgrader_setup import grading_env
from .execution import Limits
from .findings import Finding
from .integrity import is_flagged
from .results import Outcome

if TYPE_CHECKING:
    from .autograde import Run

__all__ = [
    "RUN_ENV",
    "Watchdog",
    "die_with_parent",
    "grade_locally",
    "grade_safely",
    "init_worker",
    "stop_pool",
    "stop_worker",
]


def _bar(done: int, total: int, width: int = 24) -> str:
    filled = round(width * done / max(total, 1))
    return f"[{'#' * filled}{'.' * (width - filled)}] {done:>{len(str(total))}}/{total}"


#: environment variable marking every process of a run (workers, kernels that
#: inherit it): what the :class:`Watchdog` ends
RUN_ENV = "COURSE_RUN"
_PR_SET_PDEATHSIG = 1
_WORKER: dict[str, Any] = {}

_WATCHDOG = r"""
import os, signal, sys, time
mark = b"\0" + sys.argv[1].encode() + b"\0"
sys.stdin.buffer.read()  # end of file: the run ended, however it ended
me = os.getpid()
for _ in range(50):
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != me:
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    if mark in b"\0" + f.read():
                        found.append(int(name))
            except OSError:
                pass
    if not found:
        break
    for pid in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    time.sleep(0.1)
"""


class Watchdog:
    """A small process (``python -I``, its own session) that waits for the end of this one —
    the end of its stdin pipe, which only this process holds — and then SIGKILLs every process
    whose environment carries this run's mark (:data:`RUN_ENV`): what a killed worker's kernels
    would leave. Linux (``/proc``); elsewhere a no-op."""

    def __init__(self, run_id: str):
        import subprocess

        self.proc: Any = None
        if not Path("/proc/self/environ").exists():
            return
        env = {k: v for k, v in os.environ.items() if k != RUN_ENV}
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _WATCHDOG, f"{RUN_ENV}={run_id}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd="/",
            start_new_session=True,
        )

    def close(self, timeout: float = 30) -> None:
        """End the run: the watchdog sweeps, then exits."""
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            with contextlib.suppress(Exception):
                self.proc.wait(timeout)


def die_with_parent(parent: int) -> None:
    """``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills this process the moment its parent
    (the ``course`` process, pid ``parent``) ends, however it ends — a worker never grades on,
    or writes the gradebook, after its run is gone. Linux only (elsewhere: nothing)."""
    import ctypes
    import signal

    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:  # the parent ended before the prctl
        os._exit(1)


def init_worker(
    workdir: str,
    root: str,
    limits: Limits,
    prepared: tuple[str, ...],
    scratch: str = "",
    parent: int = 0,
    own_signals: bool = True,
) -> None:
    """Set up a grading process: its grader on ``workdir`` (kernels' scratch folders under
    ``scratch``). ``parent``: die with that process.
    ``own_signals``: this process's SIGINT/SIGTERM are the grader's (a local worker); False in
    a Dask worker, whose signals are Dask's (and whose tasks run outside the main thread)."""
    import warnings

    warnings.filterwarnings("ignore")
    import signal

    from .grading import Grader

    if parent:
        die_with_parent(parent)
    if own_signals:
        # Ctrl-C is the parent's to handle; it ends workers with SIGTERM: leave through
        # SystemExit, so that the kernel in use is shut down, and never fall back to the blank
        # release on the way out
        def stop(*_: Any) -> None:
            _WORKER["stopping"] = True
            sys.exit(143)

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, stop)
    env = grading_env()
    env.__enter__()  # for the worker's lifetime
    grader = Grader(Path(workdir), Path(root), prepared=prepared, limits=limits)
    if scratch:  # this run's own scratch folders
        from ..authoring.nbgrader_setup import make_api

        grader.config.SandboxExecute.scratch_root = scratch
        grader.api = make_api(grader.config)
    _WORKER["grader"] = grader


def stop_worker() -> None:
    """Forget this process's grading set-up (before a new :func:`init_worker` in the same
    process, e.g. a Dask worker given a new run)."""
    _WORKER.pop("grader", None)


def _grade(assignment: str, student: str) -> Outcome:
    """Autograde one submission and generate its feedback (in a worker)."""
    from nbgrader.api import Gradebook

    grader = _WORKER["grader"]
    t0 = time.perf_counter()
    error = ""
    for attempt in range(4):
        try:
            result = grader.grade(assignment, student)
            break
        except Exception as exc:
            error = "".join(traceback.format_exception_only(exc)).strip()
            if "locked" not in error or attempt == 3:
                raise
            time.sleep(0.5 * (attempt + 1))
    with grading_env():
        res = grader.api.generate_feedback(assignment, student, force=True)
    if not res.get("success"):
        from ..cluster.faults import is_db_fault

        failed = RuntimeError(
            f"generate_feedback {assignment}/{student} failed: "
            f"{res.get('error')}\n{str(res.get('log') or '')[-3000:]}"
        )
        if is_db_fault(failed):  # not a grade: the caller retries the whole submission
            raise failed
    if is_flagged(result.findings):
        with Gradebook(grader.config.CourseDirectory.db_url) as gb:
            sub = gb.find_submission(assignment, student)
            for nb in sub.notebooks:
                nb.flagged = True
            gb.db.commit()
    return Outcome(
        student,
        assignment,
        result.score,
        result.max_score,
        result.tasks,
        result.messages,
        result.findings,
        time.perf_counter() - t0,
    )


def grade_safely(assignment: str, student: str, workdir: str) -> Outcome:
    """:func:`_grade`; if the grader itself fails, grade the blank release in the
    submission's place (0 points, flagged) so that the student still has a grade. That
    outcome has the status ``error``: never reused as a grade, the next run grades the
    submission again. A worker being stopped never falls back, nor does a fault of the
    database server (:func:`course.cluster.faults.is_db_fault`: raised for the caller)."""
    from ..cluster.faults import is_db_fault

    try:
        return _grade(assignment, student)
    except Exception as exc:
        if is_db_fault(exc):  # the database's fault, not the submission's: the caller retries
            raise
        text = "".join(traceback.format_exception_only(exc)).strip()
    if _WORKER.get("stopping"):
        raise SystemExit(143)
    try:  # once more: a transient failure (a database lock, a kernel slow to start)
        return _grade(assignment, student)
    except Exception as exc:
        if is_db_fault(exc):
            raise
        text += "\n\nsecond attempt:\n" + "".join(traceback.format_exception_only(exc)).strip()
    if _WORKER.get("stopping"):
        raise SystemExit(143)
    why = text.splitlines()[-1][:300]
    log = Path(workdir) / "logs" / f"{student}-{assignment}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(text)
    release = Path(_WORKER["grader"].config.CourseDirectory.release_directory) / assignment
    dest = Path(workdir) / "submitted" / student / assignment
    for nb in release.glob("*.ipynb"):
        shutil.copyfile(nb, dest / nb.name)
    notes = Path(workdir) / "notes" / student / f"{assignment}.json"
    notes.parent.mkdir(parents=True, exist_ok=True)
    notes.write_text(
        json.dumps(
            [
                Finding(
                    "submission",
                    "flag",
                    (
                        f"the grader could not process this submission ({why}); the blank assignment was "
                        f"graded in its place: 0 points / проверяющая система не смогла обработать это "
                        f"решение; вместо него проверено пустое задание: 0 баллов"
                    ),
                ).to_dict()
            ]
        )
    )
    out = _grade(assignment, student)
    out.error = why or "the grader failed"
    out.status = "error"
    return out


def stop_pool(pool: cf.ProcessPoolExecutor, grace: float = 5.0) -> None:
    """Cancel what has not started; end the workers (their kernels go with
    them: SIGTERM, then SIGKILL after ``grace`` seconds)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            with contextlib.suppress(Exception):
                p.kill()


def grade_locally(run: Run, jobs: int) -> None:
    """Grade ``run.todo`` in ``jobs`` spawned workers; Ctrl-C stops them (KeyboardInterrupt
    propagates after the outcomes not reached are left ``pending``)."""
    ctx = multiprocessing.get_context("spawn")
    pending, done = list(run.todo), 0
    for _round in range(2):  # a crashed worker process: the rest is retried once
        if not pending:
            break
        saved = os.environ.get(RUN_ENV)
        os.environ[RUN_ENV] = run.run_id  # inherited by the workers, their kernels and servers
        try:
            pool = cf.ProcessPoolExecutor(
                jobs,
                mp_context=ctx,
                initializer=init_worker,
                initargs=(
                    str(run.workdir),
                    str(run.root),
                    run.opts.limits,
                    tuple(run.aids),
                    str(run.scratch),
                    os.getpid(),
                ),
            )
            futures = {
                pool.submit(grade_safely, aid, sid, str(run.workdir)): (sid, aid)
                for sid, aid in pending
            }  # every worker starts here, in this thread
        finally:
            if saved is None:
                os.environ.pop(RUN_ENV, None)
            else:
                os.environ[RUN_ENV] = saved
        pending = []
        try:
            for fut in cf.as_completed(futures):
                sid, aid = futures[fut]
                try:
                    out = fut.result()
                except cf.process.BrokenProcessPool:
                    pending.append((sid, aid))
                    continue
                except Exception as exc:
                    out = Outcome(sid, aid, status="error", error=str(exc)[:300])
                run.record(out)
                done += 1
                run.say(
                    f"{_bar(done, len(run.todo))}  {sid}/{aid}  {out.score:g}/"
                    f"{out.max_score:g}  {out.seconds:.1f}s"
                    + (" flagged" if out.flagged else "")
                    + (f"  ERROR {out.error}" if out.error else "")
                )
            pool.shutdown(wait=True)
        except BaseException:
            stop_pool(pool)
            raise
    for sid, aid in pending:
        run.record(Outcome(sid, aid, status="error", error="the worker process crashed twice"))
