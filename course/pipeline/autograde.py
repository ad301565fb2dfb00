"""``course autograde``: a whole class through nbgrader, in parallel, untrusted code sandboxed.

    SUBMISSIONS/<student_id>/<assignment_id>/<notebook>.ipynb     (nbgrader's submitted layout)
    WORKDIR/gradebook.db, submitted/, autograded/, feedback/, grades.csv, course-state.json

1. *Prepare* (:func:`prepare_run`, this process; shared with the Dask path of
   :mod:`course.cluster`): one run per work dir (a lock), safe student ids,
   ``generate_assignment`` for every assignment found, once; find each notebook (a renamed one
   is graded in place of the expected name; a missing or unreadable one is replaced by the
   blank release, which scores 0), copy it into nbgrader's ``submitted/`` and write the
   grader's notes about it. A submission whose notebook, checks, limits and late policy have
   not changed since it was last *graded* is not graded again (``--force`` regrades;
   ``--student`` regrades those); an error of the grader is never reused.
2. *Grade* (:mod:`course.pipeline.workers`: ``--jobs`` worker processes, which die with this
   one: ``PR_SET_PDEATHSIG`` and a watchdog that ends every process of the run): nbgrader's
   ``autograde`` with the sandboxed pipeline of :mod:`course.execution`, then
   ``generate_feedback``; flagged submissions are marked in the gradebook (``flagged``).
3. *Finish* (:meth:`Run.finish`): ``course-state.json``, nbgrader's CSV export to
   ``grades.csv``, scores read back from the gradebook, and a summary table.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from ..authoring.nbgrader_setup import assignment_ids, grading_env, has_gradebook, repo_root
from .execution import Limits
from .gradebook import policy_fingerprint, refresh_scores, register_students
from .request import (
    RunLock,
    UsageError,
    check_ids,
    check_safe_ids,
    missing_students,
    sandbox_problem,
)
from .results import (
    TABLE,
    Outcome,
    export_grades,
    load_state,
    record_state,
    save_state,
    summary_table,
)
from .submissions import digest, discover, hash_file, preflight
from .workers import (
    RUN_ENV,
    Watchdog,
    die_with_parent,
    grade_locally,
    grade_safely,
    init_worker,
    stop_pool,
    stop_worker,
)

__all__ = [
    "RUN_ENV",
    "Options",
    "Outcome",
    "Run",
    "UsageError",
    "Watchdog",
    "autograde",
    "die_with_parent",
    "discover",
    "export_grades",
    "grade_safely",
    "grader_fingerprint",
    "init_worker",
    "preflight",
    "prepare_run",
    "stop_pool",
    "stop_worker",
    "summary_table",
]


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
    due: datetime | None = None  # the assignments' due date (nbgrader's LateSubmissionPlugin)
    late: str | None = None  # late penalty: "zero", "none" or a percentage per started day
    #: grade even where the kernel sandbox (bubblewrap) does not work here: the TA's choice
    unsafe_no_sandbox: bool = False
    #: cluster path: seconds a fault of the database server is retried before a clean stop
    db_wait: float = 60.0


#: the grading machinery (folders and files under ``course/``) every grade depends on
_MACHINERY = ("pipeline", "authoring/nbgrader_setup.py", "checks/_core", "checks/_core.py")


def _sources(path: Path) -> list[Path]:
    """``path`` itself (a module) or the Python files under it (a package), sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    return [path] if path.is_file() else []


def grader_fingerprint(root: Path, assignment: str, limits: Limits) -> str:
    """What a grade depends on besides the submission: the source notebook, the check module
    (or package) it imports, the grading machinery, the limits (files hashed streamed)."""
    h = hashlib.sha256(json.dumps(asdict(limits), sort_keys=True).encode())
    course_dir = Path(__file__).resolve().parents[1]
    source = root / "solutions" / assignment
    files = [(source, p) for p in sorted(source.rglob("*")) if p.is_file()]
    for nb in [p for _, p in files if p.suffix == ".ipynb"]:
        for mod in sorted(set(re.findall(r"import course\.checks\.(\w+)", nb.read_text()))):
            files += [
                (course_dir, p)
                for p in _sources(course_dir / "checks" / mod)
                + _sources(course_dir / "checks" / f"{mod}.py")
            ]
    for m in _MACHINERY:
        files += [(course_dir, p) for p in _sources(course_dir / m)]
    for base, p in files:  # names relative to their folder: the same on every machine
        h.update(p.relative_to(base).as_posix().encode() + b"\0")
        hash_file(h, p)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# one run, whatever grades it (local worker processes or Dask)
# ---------------------------------------------------------------------------------------------
def _sayer(opts: Options) -> Callable[[str], None]:
    def say(text: str) -> None:
        out = opts.out or sys.stdout
        out.write(text + "\n")
        out.flush()

    return say


@dataclass
class Run:
    """A class to grade: what :func:`prepare_run` found, and the outcomes as they arrive."""

    opts: Options
    root: Path
    workdir: Path
    run_id: str
    lock: RunLock
    say: Callable[[str], None]
    aids: list[str] = field(default_factory=list)
    students: list[str] = field(default_factory=list)
    release_dir: Path = Path()
    fingerprints: dict[str, str] = field(default_factory=dict)  # grader, per assignment
    state: dict[str, Any] = field(default_factory=dict)
    outcomes: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    todo: list[tuple[str, str]] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)
    t0: float = 0.0
    t_prepared: float = 0.0
    _saved: float = 0.0

    @property
    def scratch(self) -> Path:
        """This run's scratch folders (no other run shares them)."""
        return self.workdir / f"scratch-{self.run_id}"

    def record(self, out: Outcome) -> None:
        """Keep ``out`` (its products in the work dir); save the state now and then."""
        key = (out.student, out.assignment)
        out.fingerprint = self.outcomes[key].fingerprint
        self.outcomes[key] = out
        record_state(self.state, out)
        if time.monotonic() - self._saved > 2.0:
            self.save()

    def save(self) -> None:
        save_state(self.workdir, self.state)
        self._saved = time.monotonic()

    def close(self) -> None:
        """Remove this run's scratch folders and release the work dir."""
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.lock.__exit__()

    def finish(self, workers: int, where: str = "", db_wait: float | None = None) -> list[Outcome]:
        """Save the state, export ``grades.csv``, read the scores back from the gradebook,
        print the summary (with the missing students); the outcomes, sorted. A database
        that does not answer within ``db_wait`` seconds (default ``opts.db_wait``) leaves
        ``grades.csv`` as it was, said in one line: the state and summary are still written."""
        from ..cluster.faults import DatabaseUnavailable, retry_db

        for out in self.outcomes.values():
            record_state(self.state, out)
        self.save()

        def export() -> None:
            export_grades(self.workdir, self.root)  # the work dir names its gradebook
            refresh_scores(self.workdir, self.outcomes)

        try:
            retry_db(
                export, self.opts.db_wait if db_wait is None else db_wait, "exporting grades.csv"
            )
        except DatabaseUnavailable as exc:
            self.say(
                f"grades.csv not exported: {exc}; the grades received are in "
                f"{self.workdir / 'course-state.json'} and the work dir"
            )
        results = sorted(self.outcomes.values(), key=lambda o: (o.student, o.assignment))
        self.say(summary_table([o for o in results if o.status != "pending"], self.missing))
        graded = [o for o in results if o.status not in ("cached", "pending")]
        left = [o for o in results if o.status == "pending"]
        if left:
            self.say(
                f"interrupted: {len(graded)} graded and saved, {len(left)} not graded "
                f"({', '.join(f'{o.student}/{o.assignment}' for o in left[:8])}"
                f"{' …' if len(left) > 8 else ''}); run the same command again to grade "
                f"the rest"
            )
        if graded:
            end = time.perf_counter()
            self.say(
                f"graded {len(graded)} notebook(s) in {end - self.t0:.1f} s: prepare "
                f"{self.t_prepared - self.t0:.1f} s, grading {end - self.t_prepared:.1f} s"
                f" = {(end - self.t_prepared) / len(graded):.2f} s per notebook with "
                f"{workers} worker(s){where}; grades: {self.workdir / 'grades.csv'}, "
                f"{self.workdir / TABLE}; feedback: {self.workdir / 'feedback'}"
            )
        return results


def _discover(run: Run) -> list[tuple[str, str, Path]]:
    """The submissions to consider; refuses unsafe folder names, unknown ids, empty layouts."""
    from .gradebook import known_students
    from .intake import explain_layout

    opts, known = run.opts, assignment_ids(run.root)
    everything = discover(opts.submissions)
    folders = {s for s, _, _ in everything}
    check_safe_ids("student", folders, f" (a folder in {opts.submissions})")
    run.students = sorted(set(known_students(run.workdir)) | folders)
    check_ids("student", opts.students, run.students, f" (no folder in {opts.submissions})")
    found = [
        (s, a, f)
        for s, a, f in discover(opts.submissions, opts.assignments, opts.students)
        if a in known
    ]
    unknown = sorted({a for _, a, _ in everything if a not in known})
    if unknown:
        run.say(
            f"skipping folders of unknown assignments: {', '.join(unknown)} "
            f"(known: {', '.join(known)})"
        )
    if not found:
        if everything and (opts.assignments or opts.students):
            raise UsageError(
                f"no submissions of {', '.join(opts.assignments or ['any'])} by "
                f"{', '.join(opts.students or ['anyone'])} in "
                f"{opts.submissions}"
            )
        raise UsageError(explain_layout(opts.submissions, known))
    return found


def _prepare_assignments(run: Run) -> None:
    """``generate_assignment`` for the assignments whose source or grader changed, or that the
    gradebook (a file, or the database the work dir names) does not know."""
    from .gradebook import open_gradebook, set_due_date
    from .grading import Grader

    fresh_db = not has_gradebook(run.workdir)
    prepared = {} if fresh_db else run.state.setdefault("_prepared", {})
    known: set[str] = set()
    if not fresh_db:
        with grading_env(), open_gradebook(run.workdir) as gb:
            known = {a.name for a in gb.assignments}
    with grading_env():
        grader = Grader(run.workdir, run.root, limits=run.opts.limits)
        run.release_dir = Path(grader.config.CourseDirectory.release_directory)
        for aid in run.aids:
            if (
                prepared.get(aid) != run.fingerprints[aid]
                or aid not in known
                or not (run.release_dir / aid).is_dir()
            ):
                grader.prepare(aid)  # nbgrader generate_assignment: the gradebook learns it
                prepared[aid] = run.fingerprints[aid]
        if run.opts.due:
            for aid in run.aids:
                set_due_date(run.workdir, aid, run.opts.due)
    run.state["_prepared"] = prepared
    register_students(run.students, grader.config.CourseDirectory.db_url)


def prepare_run(opts: Options, on_workdir: Callable[[Path], None] | None = None) -> Run:
    """Everything before the grading (see the module docstring, step 1). ``on_workdir`` runs
    once the work dir is locked (the cluster names its database there). The caller grades
    ``run.todo``, :meth:`Run.record`\\ s the outcomes and calls :meth:`Run.finish`, then
    :meth:`Run.close` (also on failure)."""
    import secrets

    from .gradebook import prepare_workdir, set_late_policy
    from .request import writable_workdir

    if opts.unsafe_no_sandbox and "unsafe_no_sandbox" in Limits.__dataclass_fields__:
        from dataclasses import replace

        opts.limits = replace(opts.limits, unsafe_no_sandbox=True)  # the executor's switch
    root = Path(opts.root or repo_root()).resolve()
    check_ids("assignment", opts.assignments, assignment_ids(root))
    check_safe_ids("student", opts.students)
    workdir = writable_workdir(opts.workdir)
    lock = RunLock(workdir).__enter__()
    run = Run(opts, root, workdir, secrets.token_hex(6), lock, _sayer(opts), t0=time.perf_counter())
    try:
        for stale in [*workdir.glob("scratch-*"), workdir / "scratch"]:  # of dead runs
            shutil.rmtree(stale, ignore_errors=True)
        if on_workdir is not None:
            on_workdir(workdir)
        if opts.late:
            set_late_policy(workdir, opts.late)
        prepare_workdir(workdir, root)
        found = _discover(run)
        run.aids = sorted({a for _, a, _ in found})
        run.state = load_state(workdir)
        run.fingerprints = {a: grader_fingerprint(root, a, opts.limits) for a in run.aids}
        from ..cluster.faults import retry_db

        retry_db(
            lambda: _prepare_assignments(run), opts.db_wait, "preparing the gradebook", run.say
        )
        policy = policy_fingerprint(workdir, run.aids)
        for sid, aid, folder in found:
            previous = run.state.get(f"{sid}/{aid}", {})
            fp = hashlib.sha256(
                (digest(folder) + run.fingerprints[aid] + policy[aid]).encode()
            ).hexdigest()
            if (
                not opts.force
                and not opts.students
                and previous.get("fingerprint") == fp
                and (workdir / "feedback" / sid / aid).is_dir()
            ):
                run.outcomes[(sid, aid)] = Outcome(**{**previous, "status": "cached"})
                continue
            preflight(sid, aid, folder, run.release_dir, workdir)
            run.todo.append((sid, aid))
            run.outcomes[(sid, aid)] = Outcome(sid, aid, status="pending", fingerprint=fp)
        if not opts.students:
            run.missing = missing_students(run.students, run.outcomes, run.aids)
        run.t_prepared = time.perf_counter()
    except BaseException:
        run.close()
        raise
    return run


def check_sandbox(opts: Options) -> None:
    """Refuse to grade untrusted work where the kernel sandbox does not work here, unless the
    TA passed ``--unsafe-no-sandbox`` (then say so)."""
    problem = sandbox_problem()
    if problem and not opts.unsafe_no_sandbox:
        raise UsageError(
            f"the kernel sandbox (bubblewrap) does not work here: {problem}; "
            f"student code would run with the grader's rights. Grade on a machine "
            f"where it works, or pass --unsafe-no-sandbox if you trust every "
            f"submission"
        )
    if problem:
        _sayer(opts)(
            f"WARNING: grading without the kernel sandbox (--unsafe-no-sandbox): {problem}"
        )


def autograde(opts: Options) -> list[Outcome]:
    """Grade ``opts.submissions`` into ``opts.workdir`` (see the module docstring). Ctrl-C
    stops within seconds and keeps what finished (state, grades.csv, summary); outcomes not
    graded have the status ``pending`` and a rerun grades them. Nothing of the run outlives
    it, however this process ends."""
    check_sandbox(opts)
    run = prepare_run(opts)
    try:
        jobs = max(1, opts.jobs or os.cpu_count() or 1)
        workers = min(jobs, len(run.todo) or 1)
        n = len(run.outcomes)
        run.say(
            f"{n} submissions of {len(run.aids)} assignment(s): {len(run.todo)} to grade, "
            f"{n - len(run.todo)} unchanged; {jobs} worker(s)"
            + (f" ({workers} busy)" if workers < jobs and run.todo else "")
            + f", timeout {opts.limits.timeout} s/cell, memory {opts.limits.memory_mb} MiB"
            + "".join(
                f"; missing in {a}: {len(m)} ({', '.join(m)})" for a, m in run.missing.items() if m
            )
        )
        if run.todo:
            watchdog = Watchdog(run.run_id)
            try:
                grade_locally(run, workers)
            except KeyboardInterrupt:
                run.say("interrupted: cancelling the rest, stopping the kernels …")
            finally:
                watchdog.close()  # ends whatever of the run is left (a kernel's daemon …)
        return run.finish(workers)
    finally:
        run.close()
