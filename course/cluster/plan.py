"""The TA's side of a cluster run, before and after the Dask tasks: the local ``course
autograde``'s own run (:func:`course.pipeline.autograde.prepare_run`, :class:`~course.pipeline.
autograde.Run`) — the same lock, id checks, fingerprints, freshness test, ``course-state.json``,
students registered, export and summary — with the gradebook at a database URL.

* :func:`make_plan`: name the database in the work dir, prepare the run, and pack the kits and
  one task per submission to grade;
* :class:`Plan` records each outcome as it arrives (:meth:`Plan.record`: the state is saved
  now and then, so that an interrupted run leaves every finished grade recorded);
* :meth:`Plan.finish`: the state, ``grades.csv``, the scores read back from the gradebook, the
  summary table with the missing students.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..authoring.nbgrader_setup import URL_FILE, gradebook_url
from ..pipeline.autograde import Options, Outcome, Run, prepare_run
from .credentials import private_file
from .gradebook import sqlalchemy_url
from .shipping import GradeTask, Kit, pack

__all__ = ["Plan", "make_plan"]

#: files of the TA's work dir that change how a submission is graded (the late policy)
SETTINGS = ("course-config.json",)


@dataclass
class Plan:
    """A class to grade on the cluster: the run, its kits and tasks, and who graded what."""

    run: Run
    db_url: str
    kits: dict[str, Kit]
    tasks: list[GradeTask]
    #: which worker process graded each submission of this run ("ADDRESS pid PID")
    graded_by: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def opts(self) -> Options:
        return self.run.opts

    @property
    def root(self) -> Path:
        return self.run.root

    @property
    def workdir(self) -> Path:
        return self.run.workdir

    @property
    def aids(self) -> list[str]:
        return self.run.aids

    @property
    def outcomes(self) -> dict[tuple[str, str], Outcome]:
        return self.run.outcomes

    @property
    def state(self) -> dict[str, Any]:
        return self.run.state

    def record(self, out: Outcome) -> None:
        """Keep ``out`` (a graded submission, its products already in the work dir)."""
        self.run.record(out)

    def save(self) -> None:
        self.run.save()

    def finish(
        self, say: Callable[[str], None], workers: int, db_wait: float | None = None
    ) -> list[Outcome]:
        """:meth:`Run.finish`: the state, ``grades.csv``, the summary; the outcomes, sorted."""
        return self.run.finish(workers, " on the cluster", db_wait)

    def close(self) -> None:
        self.run.close()


def _remember(workdir: Path, db_url: str, say: Callable[[str], None]) -> None:
    """Name the gradebook in ``WORKDIR/gradebook-url`` (readable by its owner only: the URL may
    hold a password), so that ``course report``, ``course export`` and later runs without
    ``--db-url`` use the same database; the default SQLite file needs no such line."""
    named = workdir / URL_FILE
    if db_url == f"sqlite:///{workdir / 'gradebook.db'}":
        say(
            f"no --db-url: the gradebook is {workdir / 'gradebook.db'}, which every worker "
            f"must be able to open"
        )
        named.unlink(missing_ok=True)
        return
    before = named.read_text(encoding="utf-8").strip() if named.is_file() else db_url
    if before != db_url:
        say(f"this work dir's gradebook is now {_safe(db_url)} (was {_safe(before)})")
    private_file(named, db_url + "\n")


def _safe(url: str) -> str:
    """``url`` without its password."""
    head, at, tail = url.rpartition("@")
    if not at or "://" not in head:
        return url
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.split(':')[0]}@{tail}"


def make_plan(opts: Options, db_url: str | None, say: Callable[[str], None]) -> Plan:
    """Everything up to the Dask tasks (see the module docstring); raises
    :class:`~course.pipeline.request.UsageError` as the local run does. The caller
    :meth:`Plan.close`\\ s it."""
    url = sqlalchemy_url(db_url or gradebook_url(Path(opts.workdir)))
    run = prepare_run(opts, on_workdir=lambda workdir: _remember(workdir, url, say))
    try:
        workdir, root = run.workdir, run.root
        kits = {
            aid: Kit(
                aid,
                run.fingerprints[aid],
                pack(root / "solutions" / aid),
                pack(run.release_dir / aid),
            )
            for aid in run.aids
        }
        settings = {
            name: zlib.compress((workdir / name).read_bytes())
            for name in SETTINGS
            if (workdir / name).is_file()
        }
        tasks = []
        for sid, aid in run.todo:
            notes = workdir / "notes" / sid / f"{aid}.json"
            tasks.append(
                GradeTask(
                    sid,
                    aid,
                    pack(workdir / "submitted" / sid / aid),
                    notes.read_bytes() if notes.is_file() else b"[]",
                    opts.limits,
                    url,
                    opts.db_wait,
                    str(workdir),
                    str(root),
                    settings,
                    unsafe_no_sandbox=opts.unsafe_no_sandbox,
                )
            )
        return Plan(run, url, kits, tasks)
    except BaseException:
        run.close()
        raise
