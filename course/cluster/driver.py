"""``course autograde --scheduler ADDRESS --db-url URL``: the class graded on a Dask cluster.

One Dask task per student × assignment (:func:`course.cluster.worker.grade_task`); the kits
(sources and releases) are one shared task result every grading task depends on. The TA's
process writes each task's products into the work dir as the task finishes and prints a
progress line across the cluster: done, running, failed, workers, ETA.

Faults:

* a worker that dies (killed, its machine lost) — Dask runs its tasks again on other workers;
  each submission has one Dask key, so its result is written and counted once, and a grade
  written to the database by the dead worker is overwritten by the rerun (see
  :mod:`course.cluster.gradebook`); a submission that kills
  ``distributed.scheduler.allowed-failures`` + 1 workers in a row (default 4) is reported as an
  error for that student only (``KilledWorker``);
* Ctrl-C, or the scheduler gone: the pending tasks are cancelled, every grade received so far
  is in ``course-state.json``, ``grades.csv`` is exported, and rerunning the same command
  grades the rest (the finished submissions are unchanged, so they are not graded again);
* a notebook that crashes or exhausts its kernel: the sandbox's business, as locally;
* the database server restarting, refusing connections, aborting a transaction: each task
  retries with backoff for ``opts.db_wait`` seconds (:mod:`course.cluster.faults`); past that
  the task raises :class:`~course.cluster.faults.DatabaseUnavailable` and the run stops as on
  Ctrl-C (grades received saved, summary printed) and raises it: one line for the TA.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any

from ..pipeline.autograde import Options, Outcome
from .credentials import scrub
from .faults import DatabaseUnavailable
from .plan import Plan, make_plan
from .shipping import hold, write_products
from .worker import grade_task

__all__ = ["autograde_on_cluster"]


def _sayer(opts: Options) -> Callable[[str], None]:
    def say(text: str) -> None:
        out = opts.out or sys.stdout
        out.write(text + "\n")
        out.flush()

    return say


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """Progress across the cluster: done / running / failed, workers and ETA."""

    def __init__(self, client: Any, total: int, say: Callable[[str], None]):
        self.client, self.total, self.say = client, total, say
        self.done = self.failed = 0
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.workers = len(client.nthreads())

    def running(self) -> int:
        """Tasks executing now (a worker thread runs one at a time)."""
        try:
            threads = self.client.nthreads()
            busy = self.client.processing()
        except Exception:
            return 0
        now = len(threads)
        if now != self.workers:
            self.say(
                f"workers: {self.workers} → {now}"
                + (
                    " (the tasks of a lost worker run again elsewhere)"
                    if now < self.workers
                    else ""
                )
            )
            self.workers = now
        return sum(min(len(keys), threads.get(w, 1)) for w, keys in busy.items())

    def line(self, what: str = "") -> str:
        width = 24
        filled = round(width * self.done / max(self.total, 1))
        elapsed = time.perf_counter() - self.t0
        eta = _duration(elapsed / self.done * (self.total - self.done)) if self.done else "?"
        self.last = time.perf_counter()
        return (
            f"[{'#' * filled}{'.' * (width - filled)}] {self.done:>{len(str(self.total))}}"
            f"/{self.total} done, {self.running()} running, {self.failed} failed, "
            f"{self.workers} worker(s), ETA {eta}" + (f"  {what}" if what else "")
        )

    def finished(self, out: Outcome) -> None:
        self.done += 1
        self.failed += out.status == "error"
        mark = " flagged" if out.flagged else ""
        self.say(
            self.line(
                f"{out.student}/{out.assignment}  {out.score:g}/{out.max_score:g}  "
                f"{out.seconds:.1f}s{mark}" + (f"  ERROR {out.error}" if out.error else "")
            )
        )

    def heartbeat(self) -> None:
        if time.perf_counter() - self.last > 30:
            self.say(self.line())


def _outcome(fut: Any, sid: str, aid: str, plan: Plan) -> Outcome:
    """The finished task's outcome, its products written into the work dir."""
    from distributed import KilledWorker

    try:
        products = fut.result()
    except DatabaseUnavailable:
        raise  # the run stops: this submission stays "pending"
    except KilledWorker:
        return Outcome(
            sid,
            aid,
            status="error",
            error=(
                "every worker that graded this submission died (a notebook that crashes its "
                "worker process?); the rest of the class is unaffected"
            ),
        )
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        return Outcome(
            sid,
            aid,
            status="error",
            error=(scrub(text, plan.db_url) if plan is not None else text)[:300],
        )
    write_products(products, plan.workdir)
    plan.graded_by[(sid, aid)] = f"{products.worker} pid {products.pid}"
    return products.outcome


def _run(plan: Plan, client: Any, say: Callable[[str], None]) -> None:
    from distributed import wait

    stamp = time.time_ns()
    kits = client.submit(hold, plan.kits, pure=False, key=f"course-kits-{stamp}")
    futures = {}
    for task in plan.tasks:
        key = f"course-grade-{task.assignment}-{task.student}-{stamp}"
        futures[client.submit(grade_task, task, kits, key=key, pure=False, retries=0)] = (
            task.student,
            task.assignment,
        )
    progress = Progress(client, len(futures), say)
    pending = set(futures)
    try:
        while pending:
            try:
                done, pending = wait(pending, timeout=5, return_when="FIRST_COMPLETED")
            except TimeoutError:
                progress.heartbeat()
                continue
            fault: DatabaseUnavailable | None = None
            for fut in done:  # every finished one is kept, then the run stops on a fault
                sid, aid = futures[fut]
                try:
                    out = _outcome(fut, sid, aid, plan)
                except DatabaseUnavailable as exc:
                    fault = fault or exc
                    plan.outcomes[(sid, aid)].error = "not graded: the database did not answer"
                    continue
                fut.release()
                plan.record(out)
                progress.finished(out)
            if fault is not None:
                raise fault
    finally:
        if pending:
            with contextlib.suppress(Exception):  # the scheduler may be gone
                client.cancel(list(pending))
            for fut in pending:  # still "pending" (with its fingerprint) in plan.outcomes
                sid, aid = futures[fut]
                plan.outcomes[(sid, aid)].error = "not graded: the run was stopped"
        with contextlib.suppress(Exception):
            kits.release()


def autograde_on_cluster(
    opts: Options,
    scheduler_address: str,
    db_url: str | None,
    client: Any = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> list[Outcome]:
    """Grade ``opts.submissions`` into ``opts.workdir`` on the Dask cluster at
    ``scheduler_address`` (``tcp://HOST:8786``; or an open ``client``), nbgrader's gradebook
    at ``db_url`` (``postgresql://…``; None: ``WORKDIR/gradebook.db``, for workers that share
    this file system): the same outcomes, work dir and gradebook contents
    as :func:`course.pipeline.autograde.autograde` (``opts.jobs`` is ignored: the cluster's
    workers grade). Interrupted (Ctrl-C): what was graded is saved, the rest is returned with
    the status ``pending``, and rerunning grades it; the scheduler lost: the same, and the
    exception propagates. ``on_plan`` receives the
    :class:`~course.cluster.plan.Plan` before the tasks start (tests, benchmarks)."""
    say = _sayer(opts)
    plan = make_plan(opts, db_url, say)
    if on_plan is not None:
        on_plan(plan)
    own = client is None
    try:
        if own:
            from distributed import Client

            client = Client(scheduler_address, timeout=60)
        workers = len(client.nthreads())
        say(
            f"{len(plan.outcomes)} submissions of {len(plan.aids)} assignment(s): "
            f"{len(plan.tasks)} to grade, {len(plan.outcomes) - len(plan.tasks)} unchanged; "
            f"cluster {client.scheduler.address} with {workers} worker(s), timeout "
            f"{opts.limits.timeout} s/cell, memory {opts.limits.memory_mb} MiB"
        )
        if plan.tasks:
            try:
                _run(plan, client, say)
            except BaseException as exc:
                left = sum(o.status == "pending" for o in plan.outcomes.values())
                why = f": {exc}" if isinstance(exc, DatabaseUnavailable) else ""
                say(
                    f"stopped ({type(exc).__name__}{why}): {left} submission(s) not graded; "
                    f"the grades received are saved; run the same command again to grade the "
                    f"rest"
                )
                results = plan.finish(
                    say, workers, db_wait=0.0 if isinstance(exc, DatabaseUnavailable) else None
                )
                if isinstance(exc, KeyboardInterrupt):
                    return results  # as locally: the rest has the status "pending"
                raise
        return plan.finish(say, workers)
    finally:
        if own and client is not None:
            client.close()
        plan.close()
