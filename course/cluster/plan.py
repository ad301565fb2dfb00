"""The TA's side of a cluster run, before and after the Dask tasks: the same steps as a local
``course autograde`` (:mod:`course.pipeline.autograde`), with the gradebook at a database URL.

* :func:`make_plan`: discover the class, ``generate_assignment`` into the shared gradebook
  when the source or grader changed, skip submissions that have not changed since they were
  last graded (the same fingerprints and ``course-state.json`` as the local path), preflight
  the rest into ``WORKDIR/submitted/``, register the students, and pack the kits and tasks;
* :class:`Plan` records each outcome as it arrives (:meth:`Plan.record`) and saves the state
  now and then, so that an interrupted run leaves every finished grade recorded;
* :meth:`Plan.finish`: the state, ``grades.csv`` and the summary table.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..authoring.nbgrader_setup import URL_FILE, gradebook_url
from ..nbgrader_setup import assignment_ids, grading_env, repo_root
from ..pipeline.autograde import (
    Options,
    Outcome,
    discover,
    grader_fingerprint,
    preflight,
    summary_table,
)
from ..pipeline.gradebook import (
    policy_fingerprint,
    prepare_workdir,
    set_due_date,
    set_late_policy,
)
from ..pipeline.results import export_grades
from .gradebook import known_assignments, register_students, sqlalchemy_url
from .shipping import GradeTask, Kit, pack

__all__ = ["Plan", "make_plan"]

STATE = "course-state.json"
#: files of the TA's work dir that change how a submission is graded (the late policy)
SETTINGS = ("course-config.json",)


def _digest(folder: Path) -> str:
    """The local path's digest of a submission folder (names and bytes)."""
    try:
        from ..pipeline.submissions import digest
    except ImportError:  # before the pipeline's split
        from ..pipeline.autograde import _digest as digest  # type: ignore[attr-defined]
    return digest(folder)


def _load_state(workdir: Path) -> dict[str, Any]:
    path = workdir / STATE
    return json.loads(path.read_text()) if path.is_file() else {}


@dataclass
class Plan:
    """A class to grade on the cluster, and what has been graded so far."""

    opts: Options
    root: Path
    workdir: Path
    db_url: str
    aids: list[str]
    kits: dict[str, Kit]
    tasks: list[GradeTask]
    outcomes: dict[tuple[str, str], Outcome]
    state: dict[str, Any]
    fingerprints: dict[tuple[str, str], str] = field(default_factory=dict)
    #: which worker process graded each submission of this run ("ADDRESS pid PID")
    graded_by: dict[tuple[str, str], str] = field(default_factory=dict)
    t0: float = 0.0
    t_prepared: float = 0.0
    _saved: float = 0.0

    def record(self, out: Outcome) -> None:
        """Keep ``out`` (a graded submission, its products already in the work dir)."""
        key = (out.student, out.assignment)
        out.fingerprint = self.fingerprints[key]
        self.outcomes[key] = out
        if out.status != "error" or out.max_score:
            self.state[f"{out.student}/{out.assignment}"] = {
                k: v for k, v in asdict(out).items() if k != "status"}
        if time.monotonic() - self._saved > 2.0:
            self.save()

    def save(self) -> None:
        """Write ``course-state.json`` (atomically: an interrupt never leaves half a file)."""
        path = self.workdir / STATE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.state, indent=1, ensure_ascii=False, sort_keys=True))
        os.replace(tmp, path)
        self._saved = time.monotonic()

    def finish(self, say: Callable[[str], None], workers: int) -> list[Outcome]:
        """Save the state, export ``grades.csv``, print the summary; the outcomes, sorted."""
        self.save()
        export_grades(self.workdir, self.root)  # the work dir names its gradebook
        results = sorted(self.outcomes.values(), key=lambda o: (o.student, o.assignment))
        say(summary_table(results))
        graded = [o for o in results if o.status != "cached"]
        if graded:
            end = time.perf_counter()
            say(f"graded {len(graded)} notebook(s) in {end - self.t0:.1f} s: prepare "
                f"{self.t_prepared - self.t0:.1f} s, grading {end - self.t_prepared:.1f} s = "
                f"{(end - self.t_prepared) / len(graded):.2f} s per notebook with {workers} "
                f"worker(s); grades: {self.workdir / 'grades.csv'}; feedback: "
                f"{self.workdir / 'feedback'}")
        return results


def _prepare(opts: Options, root: Path, workdir: Path, db_url: str, aids: list[str],
             fingerprints: dict[str, str], state: dict[str, Any]) -> Path:
    """``generate_assignment`` for the assignments whose source or grader changed, or that
    the gradebook does not know; returns the release folder."""
    from ..pipeline.grading import Grader

    with grading_env():
        grader = Grader(workdir, root, limits=opts.limits)
        release_dir = Path(grader.config.CourseDirectory.release_directory)
        prepared = state.setdefault("_prepared", {})
        known = known_assignments(db_url)
        for aid in aids:
            if prepared.get(aid) != fingerprints[aid] or aid not in known or \
                    not (release_dir / aid).is_dir():
                grader.prepare(aid)
                prepared[aid] = fingerprints[aid]
    return release_dir


def _remember(workdir: Path, db_url: str, say: Callable[[str], None]) -> None:
    """Name the gradebook in ``WORKDIR/gradebook-url`` (readable by its owner only: the URL may
    hold a password), so that ``course report``, ``course export`` and later runs without
    ``--db-url`` use the same database; the default SQLite file needs no such line."""
    named = workdir / URL_FILE
    if db_url == f"sqlite:///{workdir / 'gradebook.db'}":
        say(f"no --db-url: the gradebook is {workdir / 'gradebook.db'}, which every worker "
            f"must be able to open")
        named.unlink(missing_ok=True)
        return
    before = named.read_text(encoding="utf-8").strip() if named.is_file() else db_url
    if before != db_url:
        say(f"this work dir's gradebook is now {_safe(db_url)} (was {_safe(before)})")
    fd = os.open(named, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(db_url + "\n")


def _safe(url: str) -> str:
    """``url`` without its password."""
    head, at, tail = url.rpartition("@")
    if not at or "://" not in head:
        return url
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.split(':')[0]}@{tail}"


def make_plan(opts: Options, db_url: str | None, say: Callable[[str], None]) -> Plan | None:
    """Everything up to the Dask tasks (see the module docstring); None: nothing found."""
    root = Path(opts.root or repo_root()).resolve()
    workdir = Path(opts.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = sqlalchemy_url(db_url or gradebook_url(workdir))
    _remember(workdir, db_url, say)
    if opts.late:
        set_late_policy(workdir, opts.late)  # course-config.json: shipped to the workers
    prepare_workdir(workdir, root)
    known = set(assignment_ids(root))
    found = discover(opts.submissions, opts.assignments, opts.students)
    unknown = sorted({a for _, a, _ in found if a not in known})
    if unknown:
        say(f"skipping folders of unknown assignments: {', '.join(unknown)}")
    found = [(s, a, f) for s, a, f in found if a in known]
    if not found:
        say("no submissions found")
        return None
    t0 = time.perf_counter()
    aids = sorted({a for _, a, _ in found})
    state = _load_state(workdir)
    grader_fps = {aid: grader_fingerprint(root, aid, opts.limits) for aid in aids}
    release_dir = _prepare(opts, root, workdir, db_url, aids, grader_fps, state)
    if opts.due:  # nbgrader compares it with each submission's timestamp.txt
        for aid in aids:
            set_due_date(workdir, aid, opts.due)
    policy = policy_fingerprint(workdir, aids)
    kits = {aid: Kit(aid, grader_fps[aid], pack(root / "solutions" / aid),
                     pack(release_dir / aid)) for aid in aids}
    settings = {name: zlib.compress((workdir / name).read_bytes()) for name in SETTINGS
                if (workdir / name).is_file()}
    plan = Plan(opts, root, workdir, db_url, aids, kits, [], {}, state, t0=t0)
    for sid, aid, folder in found:
        previous = state.get(f"{sid}/{aid}", {})
        fp = hashlib.sha256((_digest(folder) + grader_fps[aid] + policy[aid]).encode()
                            ).hexdigest()
        plan.fingerprints[(sid, aid)] = fp
        if not opts.force and not opts.students and previous.get("fingerprint") == fp and \
                (workdir / "feedback" / sid / aid).is_dir():
            plan.outcomes[(sid, aid)] = Outcome(**{**previous, "status": "cached"})
            continue
        preflight(sid, aid, folder, release_dir, workdir)
        notes = workdir / "notes" / sid / f"{aid}.json"
        plan.tasks.append(GradeTask(
            sid, aid, pack(workdir / "submitted" / sid / aid),
            notes.read_bytes() if notes.is_file() else b"[]", opts.limits, db_url,
            opts.zygote, str(workdir), str(root), settings))
        plan.outcomes[(sid, aid)] = Outcome(sid, aid, fingerprint=fp)
    register_students(db_url, {t.student for t in plan.tasks})
    plan.t_prepared = time.perf_counter()
    return plan
