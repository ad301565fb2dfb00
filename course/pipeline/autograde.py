"""``course autograde``: a whole class through nbgrader, in parallel, untrusted code sandboxed.

    SUBMISSIONS/<student_id>/<assignment_id>/<notebook>.ipynb     (nbgrader's submitted layout)
    WORKDIR/gradebook.db, submitted/, autograded/, feedback/, grades.csv, course-state.json

1. *Prepare* (this process): ``generate_assignment`` for every assignment found, once.
2. *Preflight* (this process, fast): find each notebook (a renamed one is graded in place of the
   expected name; a missing or unreadable one is replaced by the blank release, which scores 0),
   copy it into nbgrader's ``submitted/`` and write the grader's notes about it.
3. *Grade* (``--jobs`` worker processes): nbgrader's ``autograde`` with the sandboxed pipeline of
   :mod:`course.execution`, then ``generate_feedback``; flagged submissions are marked in the
   gradebook (``flagged``). A submission whose notebook, checks and limits have not changed since
   the last run is not graded again (``--force`` regrades; ``--student`` regrades those).
4. *Export*: nbgrader's CSV export to ``grades.csv``, and a summary table.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from ..authoring.nbgrader_setup import assignment_ids, grading_env, has_gradebook, repo_root
from .execution import Limits
from .gradebook import policy_fingerprint, refresh_scores, register_students
from .intake import explain_layout
from .integrity import Finding, is_flagged
from .request import UsageError, check_ids, missing_students, writable_workdir
from .results import TABLE, export_grades, summary_table
from .submissions import digest, discover, preflight

__all__ = ["Options", "Outcome", "UsageError", "autograde", "discover", "export_grades",
           "grader_fingerprint", "preflight", "summary_table"]

STATE = "course-state.json"


@dataclass
class Options:
    """What ``course autograde`` was asked to do."""

    submissions: Path
    workdir: Path
    assignments: Sequence[str] = ()
    students: Sequence[str] = ()
    jobs: int = 0  # 0: the number of cores
    limits: Limits = field(default_factory=Limits)
    force: bool = False
    root: Path | None = None
    out: TextIO | None = None
    zygote: bool = True  # start kernels from a pre-imported fork server (Linux)
    due: datetime | None = None  # the assignments' due date (nbgrader's LateSubmissionPlugin)
    late: str | None = None  # late penalty: "zero", "none" or a percentage per started day


@dataclass
class Outcome:
    """One graded (or reused) submission."""

    student: str
    assignment: str
    score: float = 0.0
    max_score: float = 0.0
    tasks: dict[str, float] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    status: str = "graded"  # graded | cached | error | pending (interrupted)
    fingerprint: str = ""
    error: str = ""

    @property
    def flagged(self) -> bool:
        return is_flagged(self.findings)


#: the grading machinery (folders and files under ``course/``) every grade depends on
_MACHINERY = ("pipeline", "authoring/nbgrader_setup.py", "checks/_core", "checks/_core.py")


def _sources(path: Path) -> list[Path]:
    """``path`` itself (a module) or the Python files under it (a package), sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    return [path] if path.is_file() else []


def grader_fingerprint(root: Path, assignment: str, limits: Limits) -> str:
    """What a grade depends on besides the submission: the source notebook, the check module
    (or package) it imports, the grading machinery, the limits."""
    import re

    h = hashlib.sha256(json.dumps(asdict(limits), sort_keys=True).encode())
    course_dir = Path(__file__).resolve().parents[1]
    files = [p for p in sorted((root / "solutions" / assignment).rglob("*")) if p.is_file()]
    for nb in [p for p in files if p.suffix == ".ipynb"]:
        for mod in sorted(set(re.findall(r"import course\.checks\.(\w+)", nb.read_text()))):
            files += _sources(course_dir / "checks" / mod) + _sources(
                course_dir / "checks" / f"{mod}.py")
    for m in _MACHINERY:
        files += _sources(course_dir / m)
    for p in files:
        h.update(p.read_bytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# workers
# ---------------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(workdir: str, root: str, limits: Limits, prepared: tuple[str, ...],
                 zygote: bool = True) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    import signal

    from .grading import Grader

    # Ctrl-C is the parent's to handle; it ends workers with SIGTERM: leave through SystemExit,
    # so that the kernel in use is shut down and the fork server (atexit) goes with it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = grading_env()
    env.__enter__()  # for the worker's lifetime
    _WORKER["grader"] = Grader(Path(workdir), Path(root), prepared=prepared, limits=limits)
    if zygote:
        import atexit
        import re

        from .execution import start_zygote

        modules = {f"course.checks.{m}" for aid in prepared for nb in
                   (Path(root) / "solutions" / aid).glob("*.ipynb")
                   for m in re.findall(r"import course\.checks\.(\w+)", nb.read_text())}
        logs = Path(workdir) / "logs"
        logs.mkdir(exist_ok=True)
        proc = start_zygote(tuple(sorted(modules)), logs / f"zygote-{os.getpid()}.log")
        if proc is not None:
            atexit.register(lambda: (proc.kill(), proc.wait()))  # reaped: its CPU time counts


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
        grader.api.generate_feedback(assignment, student, force=True)
    if is_flagged(result.findings):
        with Gradebook(grader.config.CourseDirectory.db_url) as gb:
            sub = gb.find_submission(assignment, student)
            for nb in sub.notebooks:
                nb.flagged = True
            gb.db.commit()
    return Outcome(student, assignment, result.score, result.max_score, result.tasks,
                   result.messages, result.findings, time.perf_counter() - t0)


def _grade_safely(assignment: str, student: str, workdir: str) -> Outcome:
    """:func:`_grade`; if the grader itself fails, grade the blank release in the
    submission's place (0 points, flagged) so that the student still has a grade."""
    try:
        return _grade(assignment, student)
    except Exception as exc:
        text = "".join(traceback.format_exception_only(exc)).strip()
    zygote = os.environ.pop("COURSE_ZYGOTE", None)
    try:  # once more, with a kernel started the usual way
        return _grade(assignment, student)
    except Exception as exc:
        text += "\n\nsecond attempt, without the fork server:\n" + "".join(
            traceback.format_exception_only(exc)).strip()
    finally:
        if zygote:
            os.environ["COURSE_ZYGOTE"] = zygote
    why = text.splitlines()[-1][:300]
    log = Path(workdir) / "logs" / f"{student}-{assignment}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(text)
    release = Path(_WORKER["grader"].config.CourseDirectory.release_directory) / assignment
    dest = Path(workdir) / "submitted" / student / assignment
    for nb in release.glob("*.ipynb"):
        shutil.copyfile(nb, dest / nb.name)
    notes = Path(workdir) / "notes" / student / f"{assignment}.json"
    notes.write_text(json.dumps([Finding("submission", "flag", (
        f"the grader could not process this submission ({why}); the blank assignment was "
        f"graded in its place: 0 points / проверяющая система не смогла обработать это "
        f"решение; вместо него проверено пустое задание: 0 баллов")).to_dict()]))
    out = _grade(assignment, student)
    out.error = why
    out.status = "error"
    return out


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------
def _say(opts: Options, text: str) -> None:
    out = opts.out or sys.stdout
    out.write(text + "\n")
    out.flush()


def _bar(done: int, total: int, width: int = 24) -> str:
    filled = round(width * done / max(total, 1))
    return f"[{'#' * filled}{'.' * (width - filled)}] {done:>{len(str(total))}}/{total}"


def _load_state(workdir: Path) -> dict[str, Any]:
    path = workdir / STATE
    return json.loads(path.read_text()) if path.is_file() else {}


def _setup(opts: Options, root: Path) -> tuple[Path, list[tuple[str, str, Path]], list[str]]:
    """Check the request (ids, work dir, layout); return the work dir, the submissions found
    and every student known (gradebook, roster, submission folders)."""
    from .gradebook import known_students, prepare_workdir, set_late_policy

    known = assignment_ids(root)
    check_ids("assignment", opts.assignments, known)
    workdir = writable_workdir(opts.workdir)
    if opts.late:
        set_late_policy(workdir, opts.late)
    prepare_workdir(workdir, root)
    everything = discover(opts.submissions)
    folders = {s for s, _, _ in everything}
    students = set(known_students(workdir)) | folders
    check_ids("student", opts.students, students, f" (no folder in {opts.submissions})")
    found = [(s, a, f) for s, a, f in discover(opts.submissions, opts.assignments,
                                                 opts.students) if a in known]
    unknown = sorted({a for _, a, _ in everything if a not in known})
    if unknown:
        _say(opts, f"skipping folders of unknown assignments: {', '.join(unknown)} "
                   f"(known: {', '.join(known)})")
    if not found:
        if everything and (opts.assignments or opts.students):
            raise UsageError(f"no submissions of {', '.join(opts.assignments or ['any'])} by "
                             f"{', '.join(opts.students or ['anyone'])} in "
                             f"{opts.submissions}")
        raise UsageError(explain_layout(opts.submissions, known))
    return workdir, found, sorted(students)


def _stop(pool: cf.ProcessPoolExecutor, grace: float = 5.0) -> None:
    """Cancel what has not started; end the workers (their kernels and fork servers go with
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


def autograde(opts: Options) -> list[Outcome]:
    """Grade ``opts.submissions`` into ``opts.workdir`` (see the module docstring). Ctrl-C
    stops within seconds and keeps what finished (state, grades.csv, summary); outcomes not
    graded have the status ``pending`` and a rerun grades them."""
    from .gradebook import set_due_date
    from .grading import Grader

    root = Path(opts.root or repo_root()).resolve()
    workdir, found, students = _setup(opts, root)
    aids = sorted({a for _, a, _ in found})
    t0 = time.perf_counter()
    state = _load_state(workdir)
    fingerprints = {aid: grader_fingerprint(root, aid, opts.limits) for aid in aids}
    prepared = state.setdefault("_prepared", {}) if has_gradebook(workdir) else {}
    with grading_env():
        grader = Grader(workdir, root, limits=opts.limits)
        release_dir = Path(grader.config.CourseDirectory.release_directory)
        for aid in aids:
            if prepared.get(aid) != fingerprints[aid] or not (release_dir / aid).is_dir():
                grader.prepare(aid)  # nbgrader generate_assignment: the gradebook learns it
                prepared[aid] = fingerprints[aid]
            if opts.due:
                set_due_date(workdir, aid, opts.due)
    state["_prepared"] = prepared
    policy = policy_fingerprint(workdir, aids)
    todo: list[tuple[str, str]] = []
    outcomes: dict[tuple[str, str], Outcome] = {}
    for sid, aid, folder in found:
        previous = state.get(f"{sid}/{aid}", {})
        fp = hashlib.sha256((digest(folder) + fingerprints[aid] + policy[aid]).encode()
                            ).hexdigest()
        fresh = not opts.force and not opts.students and previous.get("fingerprint") == fp and \
            (workdir / "feedback" / sid / aid).is_dir()
        if fresh:
            outcomes[(sid, aid)] = Outcome(**{**previous, "status": "cached"})
            continue
        preflight(sid, aid, folder, release_dir, workdir)
        todo.append((sid, aid))
        outcomes[(sid, aid)] = Outcome(sid, aid, status="pending", fingerprint=fp)
    missing = missing_students(students, outcomes, aids) if not opts.students else {}
    register_students(students, grader.config.CourseDirectory.db_url)
    t_prepared = time.perf_counter()
    jobs = max(1, opts.jobs or os.cpu_count() or 1)
    workers = min(jobs, len(todo) or 1)
    _say(opts, f"{len(found)} submissions of {len(aids)} assignment(s): {len(todo)} to grade, "
               f"{len(found) - len(todo)} unchanged; {jobs} worker(s)"
               + (f" ({workers} busy)" if workers < jobs and todo else "")
               + f", timeout {opts.limits.timeout} s/cell, memory {opts.limits.memory_mb} MiB"
               + "".join(f"; missing in {a}: {len(m)} ({', '.join(m)})"
                         for a, m in missing.items() if m))
    interrupted = False
    if todo:
        ctx = multiprocessing.get_context("spawn")
        pending = list(todo)
        done = 0
        for _round in range(2):  # a crashed worker process: the rest is retried once
            if not pending or interrupted:
                break
            pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                          initargs=(str(workdir), str(root), opts.limits,
                                                    tuple(aids), opts.zygote))
            futures = {pool.submit(_grade_safely, aid, sid, str(workdir)): (sid, aid)
                       for sid, aid in pending}
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
                    out.fingerprint = outcomes[(sid, aid)].fingerprint
                    outcomes[(sid, aid)] = out
                    done += 1
                    mark = " flagged" if out.flagged else ""
                    _say(opts, f"{_bar(done, len(todo))}  {sid}/{aid}  "
                               f"{out.score:g}/{out.max_score:g}  {out.seconds:.1f}s{mark}"
                               + (f"  ERROR {out.error}" if out.error else ""))
                pool.shutdown(wait=True)
            except KeyboardInterrupt:
                interrupted = True
                _say(opts, "interrupted: cancelling the rest, stopping the kernels …")
                _stop(pool)
        for sid, aid in [] if interrupted else pending:
            outcomes[(sid, aid)] = Outcome(sid, aid, status="error",
                                           error="the worker process crashed twice")
    for (sid, aid), out in outcomes.items():
        if out.status not in ("error", "pending") or out.max_score:
            state[f"{sid}/{aid}"] = {k: v for k, v in asdict(out).items() if k != "status"}
    (workdir / STATE).write_text(json.dumps(state, indent=1, ensure_ascii=False,
                                            sort_keys=True))
    export_grades(workdir, root)
    refresh_scores(workdir, outcomes)
    results = sorted(outcomes.values(), key=lambda o: (o.student, o.assignment))
    _say(opts, summary_table([o for o in results if o.status != "pending"], missing))
    graded = [o for o in results if o.status not in ("cached", "pending")]
    left = [o for o in results if o.status == "pending"]
    if left:
        _say(opts, f"interrupted: {len(graded)} graded and saved, {len(left)} not graded "
                   f"({', '.join(f'{o.student}/{o.assignment}' for o in left[:8])}"
                   f"{' …' if len(left) > 8 else ''}); run the same command again to grade "
                   f"the rest")
    if graded:
        end = time.perf_counter()
        _say(opts, f"graded {len(graded)} notebook(s) in {end - t0:.1f} s: prepare "
                   f"{t_prepared - t0:.1f} s, grading {end - t_prepared:.1f} s = "
                   f"{(end - t_prepared) / len(graded):.2f} s per notebook with {workers} "
                   f"worker(s); grades: {workdir / 'grades.csv'}, {workdir / TABLE}; "
                   f"feedback: {workdir / 'feedback'}")
    return results
