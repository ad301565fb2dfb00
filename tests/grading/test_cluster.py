"""``course autograde`` on a Dask cluster with the gradebook in PostgreSQL (course.cluster).

Everything runs on this machine, started by the tests: a PostgreSQL server from the
``pgserver`` wheel, ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1. One class
(10 students of one assignment, six of them hostile: a segfault, a memory bomb, a kill of the
grading process, tampered checks, an unreadable file, a renamed notebook; 3 of another) is graded locally
(``--jobs 2``, SQLite) and on the cluster, where one worker process is killed with SIGKILL
while it grades; the grades, flags, messages, feedback and files must be the same, and every
submission must be in the gradebook exactly once. A third run is interrupted with SIGINT
(Ctrl-C) and run again: the rest is graded, nothing twice; once more: nothing is regraded.
PostgreSQL is stopped mid-run and started again (every grade right, each once), and stopped for
longer than ``--db-wait`` (a clean stop: exit 3, one line, the summary; a rerun grades the rest).
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.checks.assignment_utils import ROOT

try:
    import distributed  # noqa: F401
    import pgserver  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    pytest.skip(
        f"the cluster path needs Dask distributed and pgserver "
        f"(pip install -e '.[cluster,test]'): {exc}",
        allow_module_level=True,
    )

from course.authoring.demo import build_class, check_outcomes
from course.cluster import autograde_on_cluster
from course.cluster.faults import DatabaseUnavailable
from course.cluster.gradebook import submission_counts
from course.cluster.loopback import (
    DaskProcesses,
    create_database,
    postgres,
    start_postgres,
    stop_postgres,
)
from course.pipeline.autograde import Options, Outcome, autograde
from course.pipeline.execution import Limits

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

#: the first gets every case (and the interrupted and faulted runs); the second a few: one
#: run, one gradebook, two assignments (each submission is graded twice, locally and on the
#: cluster)
AIDS = ["02_forward_mode", "01_finite_differences"]
CASES = {
    "full",
    "blank",
    "partial",
    "control-last",
    "segfault",
    "memory-bomb",
    "kill-grader",
    "tamper-checks",
    "malformed",
    "renamed",
}
SECOND_CASES = ("full", "segfault", "tamper-checks")
LIMITS = Limits(timeout=30, memory_mb=1024)
#: the students of the interrupted run (one assignment)
INTERRUPTED = ("blank", "control-last", "full", "malformed", "partial", "renamed")
#: the students of the runs that meet a database fault (one assignment)
FAULTED = ("blank", "control-last", "full", "partial")
#: the PostgreSQL data folder of the module's server (stopped and started by the fault tests)
PG_DATA: list[Path] = []


@dataclass
class Runs:
    subs: Path
    local: Path
    cluster: Path
    local_out: dict[tuple[str, str], Outcome]
    cluster_out: dict[tuple[str, str], Outcome]
    graded_by: dict[tuple[str, str], str]
    killed: dict[str, Any]
    counts: dict[tuple[str, str], int]
    progress: str
    db: str


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, DaskProcesses]]:
    base = tmp_path_factory.mktemp("services")
    env = {"JAX_PLATFORMS": "cpu", "JAX_ENABLE_X64": "1", "OPENBLAS_NUM_THREADS": "1"}
    # PostgreSQL runs as user pgserver when we are root: its folder must not be under pytest's
    # private (0700) temporary folders
    pg = Path(tempfile.mkdtemp(prefix="course-pg-"))
    PG_DATA.append(pg / "data")
    try:
        with postgres(pg / "data") as url, DaskProcesses(base / "dask", 2, env) as dask:
            yield url, dask
    finally:
        shutil.rmtree(pg, ignore_errors=True)


#: a progress line that reports a finished task ("… ETA 12s  alice/01_finite_differences  …");
#: "0/6 done, 2 running" lines come before any result (more of them on a busy machine)
_RESULT_LINE = re.compile(r"ETA \S+  (\S+)/(\S+)  ")


def _reports_result(text: str) -> bool:
    return " done, " in text and _RESULT_LINE.search(text) is not None


class _KillOnFirstResult:
    """``opts.out`` that SIGKILLs worker ``w1``'s process at the first finished task, noting
    the tasks it was processing then."""

    def __init__(self, client: Any, dask: DaskProcesses):
        self.client, self.dask, self.lines, self.killed = client, dask, [], {}

    def write(self, text: str) -> None:
        self.lines.append(text)
        if _reports_result(text) and not self.killed:
            pids = self.dask.worker_pids(self.client)
            names = {a: w["name"] for a, w in self.client.scheduler_info()["workers"].items()}
            addr = next(a for a in pids if names.get(a) == "w1")
            busy = self.client.processing(workers=[addr]).get(addr, [])
            os.kill(pids[addr], signal.SIGKILL)
            self.killed = {"address": addr, "pid": pids[addr], "keys": list(busy)}

    def flush(self) -> None:
        pass


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, services: tuple[str, DaskProcesses]) -> Runs:
    url, dask = services
    base = tmp_path_factory.mktemp("cluster")
    subs = base / "submissions"
    build_class(subs, AIDS[:1], root=ROOT, release_dir=ROOT / "assignments", cases=CASES)
    build_class(subs, AIDS[1:], root=ROOT, release_dir=ROOT / "assignments", cases=SECOND_CASES)
    db = create_database(url, "gradebook")
    local_out: list[Outcome] = []
    # the local run alongside (the same code: the tree may change between two runs)
    local = threading.Thread(
        target=lambda: local_out.extend(
            autograde(Options(subs, base / "local", jobs=2, limits=LIMITS, out=_Sink()))
        )
    )
    local.start()
    with dask.client() as client:
        out = _KillOnFirstResult(client, dask)
        plans: list[Any] = []
        cluster_out = autograde_on_cluster(
            Options(subs, base / "cluster", limits=LIMITS, out=out),
            dask.address,
            db,
            client=client,
            on_plan=plans.append,
        )
    local.join()
    return Runs(
        subs,
        base / "local",
        base / "cluster",
        {(o.student, o.assignment): o for o in local_out},
        {(o.student, o.assignment): o for o in cluster_out},
        plans[0].graded_by,
        out.killed,
        submission_counts(db),
        "".join(out.lines),
        db,
    )


class _Sink:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def _findings(o: Outcome) -> list[tuple[str, str, str]]:
    return sorted((f["kind"], f["severity"], f["message"]) for f in o.findings)


def test_grades_flags_and_messages_equal_a_local_run(runs: Runs) -> None:
    assert len(runs.local_out) == len(runs.cluster_out) == len(CASES) + len(SECOND_CASES) >= 13
    for key, local in runs.local_out.items():
        remote = runs.cluster_out[key]
        assert remote.status == local.status == "graded", (key, remote.error, local.error)
        assert (remote.score, remote.max_score, remote.tasks) == (
            local.score,
            local.max_score,
            local.tasks,
        ), key
        assert remote.flagged == local.flagged and _findings(remote) == _findings(local), key
        assert remote.messages == local.messages, key
    assert {k for k, o in runs.cluster_out.items() if o.flagged} >= {
        ("segfault", a) for a in AIDS
    } | {("tamper-checks", a) for a in AIDS}
    full = runs.cluster_out[("full", AIDS[0])]
    assert full.score == full.max_score > 0


def _text(path: Path) -> str:
    """What a reader sees: tags, timestamps, execution counts and the chunking of the output
    streams aside."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))
    text = re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?", "T", text)
    text = re.sub(r"In\s*\[\d*\]", "In [ ]", text)  # a crashing cell's count: a race, locally too
    return " ".join(text.split())


#: what grading leaves in the work dir, per submission (the fork servers' logs stay on the workers)
PRODUCTS = ("submitted", "autograded", "feedback", "notes", "logs")


def _files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for kind in PRODUCTS
        for p in (folder / kind).rglob("*")
        if p.is_file()
    } | {
        name
        for name in (
            "grades.csv",
            "grades-table.csv",
            "course-state.json",
            "nbgrader_config.py",
            ".gitignore",
        )
        if (folder / name).is_file()
    }


def test_work_dir_and_feedback_as_a_local_run_leaves_them(runs: Runs) -> None:
    assert _files(runs.cluster) == _files(runs.local)
    for page in sorted((runs.local / "feedback").rglob("*.html")):
        twin = runs.cluster / page.relative_to(runs.local)
        assert _text(twin) == _text(page), page.relative_to(runs.local)
        assert "course-grader-" not in twin.read_text(), "worker paths are rewritten"
    for notes in sorted((runs.local / "notes").rglob("*.json")):
        twin = runs.cluster / notes.relative_to(runs.local)
        assert json.loads(twin.read_text()) == json.loads(notes.read_text())
    local_csv, cluster_csv = _csv(runs.local / "grades.csv"), _csv(runs.cluster / "grades.csv")
    columns = set(cluster_csv[0])
    assert columns == set(local_csv[0]) and {"student_id", "score", "t1_1-fd-grad"} <= columns
    assert sorted(tuple(r[k] for k in sorted(columns)) for r in cluster_csv) == sorted(
        tuple(r[k] for k in sorted(columns)) for r in local_csv
    )
    assert _csv(runs.cluster / "grades-table.csv") == _csv(runs.local / "grades-table.csv")


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_work_dir_names_its_gradebook_and_course_report_reads_it(runs: Runs) -> None:
    """``WORKDIR/gradebook-url`` (owner-only) names the PostgreSQL gradebook; nbgrader's
    config and ``course report`` use it, and the report equals the local run's."""
    named = runs.cluster / "gradebook-url"
    assert (
        named.read_text().strip().startswith("postgresql")
        and not (runs.cluster / "gradebook.db").exists()
    )
    assert named.stat().st_mode & 0o077 == 0
    from traitlets.config.loader import PyFileConfigLoader

    config = (runs.cluster / "nbgrader_config.py").read_text()
    url = named.read_text().strip()
    assert str(named) in config and url not in config, "the config reads the URL, never holds it"
    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(runs.cluster)).load_config()
    assert loaded.CourseDirectory.db_url == url
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    reports = []
    for work in (runs.local, runs.cluster):
        run = subprocess.run(
            [sys.executable, "-m", "course.cli", "report", "--workdir", str(work)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        reports.append((work / "report" / "report.md").read_text())
    assert reports[0] == reports[1] and "tamper-checks" in reports[1]


def test_killed_worker_tasks_regraded_and_each_counted_once(runs: Runs) -> None:
    killed = runs.killed
    assert killed, "a worker was killed during the run"
    assert runs.counts == {k: 1 for k in runs.local_out}, "one gradebook row per submission"
    lines = [ln for ln in runs.progress.splitlines() if " done, " in ln]
    graded = [m.groups() for ln in lines if (m := re.search(r"ETA \S+  (\S+)/(\S+)  ", ln))]
    assert sorted(graded) == sorted(runs.local_out), "each submission reported once"
    assert f"{len(runs.local_out)}/{len(runs.local_out)} done" in lines[-1]
    for key in killed["keys"]:  # what the dead worker had: graded by another process
        aid, sid = re.fullmatch(r"course-grade-(\d\d_\w+?)-(.+)-\d+", key).groups()
        assert f"pid {killed['pid']}" not in runs.graded_by[(sid, aid)], key
        assert runs.cluster_out[(sid, aid)].status == "graded", key


def test_interrupted_run_is_finished_by_a_rerun(
    runs: Runs, services: tuple[str, Any], tmp_path: Path
) -> None:
    """SIGINT to the ``course`` process after 2 results, then the same command again (the
    rest is graded), and once more (nothing: unchanged submissions are not regraded)."""
    url, dask = services
    db = create_database(url, "interrupted")
    subs, work = tmp_path / "submissions", tmp_path / "work"
    for sid in INTERRUPTED:
        shutil.copytree(runs.subs / sid / AIDS[0], subs / sid / AIDS[0])
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "JAX_ENABLE_X64": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "course.cluster",
            str(subs),
            "--scheduler",
            dask.address,
            "--db-url",
            db,
            "--workdir",
            str(work),
            "--timeout",
            str(LIMITS.timeout),
            "--memory",
            str(LIMITS.memory_mb),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    seen = []
    timer = threading.Timer(600, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            seen.append(line)
            if sum(_reports_result(ln) for ln in seen) == 2:
                proc.send_signal(signal.SIGINT)
                break
        seen += proc.communicate(timeout=120)[0]
    finally:
        timer.cancel()
    log = "".join(seen)
    assert proc.returncode == 130, log[-3000:]
    assert "run the same command again" in log, log[-3000:]
    first = {
        k for k in json.loads((work / "course-state.json").read_text()) if not k.startswith("_")
    }
    assert 2 <= len(first) < len(INTERRUPTED), log[-3000:]
    plans: list[Any] = []
    again = autograde_on_cluster(
        Options(subs, work, limits=LIMITS, out=_Sink()), dask.address, db, on_plan=plans.append
    )
    again_fps = {aid: kit.fingerprint for aid, kit in plans[0].kits.items()}
    cached = {f"{o.student}/{o.assignment}" for o in again if o.status == "cached"}
    graded = {f"{o.student}/{o.assignment}" for o in again if o.status == "graded"}
    assert cached == first and not graded & cached
    assert len(graded) + len(cached) == len(INTERRUPTED)
    assert submission_counts(db) == {(s, AIDS[0]): 1 for s in INTERRUPTED}
    for o in again:
        local = runs.local_out[(o.student, o.assignment)]
        assert (o.score, o.tasks, o.flagged) == (local.score, local.tasks, local.flagged)
    third = autograde_on_cluster(
        Options(subs, work, limits=LIMITS, out=_Sink()), dask.address, db, on_plan=plans.append
    )
    # (in a working tree being edited, the grader itself may have changed: then all regraded)
    unchanged = again_fps == {aid: kit.fingerprint for aid, kit in plans[1].kits.items()}
    assert {o.status for o in third} == ({"cached"} if unchanged else {"graded"})
    assert submission_counts(db) == {(s, AIDS[0]): 1 for s in INTERRUPTED}
    # a due date and a late penalty, as locally: "full" handed in 1.5 days late, 10 % a day
    (subs / "full" / AIDS[0] / "timestamp.txt").write_text("2026-12-02 12:00:00 UTC\n")
    late = autograde_on_cluster(
        Options(
            subs,
            work,
            students=["full"],
            limits=LIMITS,
            out=_Sink(),
            due=datetime(2026, 12, 1, tzinfo=UTC),
            late="10",
        ),
        dask.address,
        db,
    )
    assert [(o.student, o.status, o.score) for o in late] == [("full", "graded", 80.0)]
    rows = {r["student_id"]: r for r in _csv(work / "grades.csv")}
    assert float(rows["full"]["late_submission_penalty"]) == pytest.approx(20)
    assert float(rows["blank"]["late_submission_penalty"] or 0) == 0
    assert submission_counts(db) == {(s, AIDS[0]): 1 for s in INTERRUPTED}


def test_a_worker_lost_for_good_costs_only_its_submission() -> None:
    """A submission whose every worker died (Dask's ``KilledWorker``) is an error of that
    student, reported as such; the others are unaffected."""
    from distributed import KilledWorker

    from course.cluster.driver import _outcome

    class Lost:
        def result(self) -> None:
            raise KilledWorker("course-grade-x", "tcp://127.0.0.1:1", 4)

    out = _outcome(Lost(), "alice", AIDS[0], None)  # type: ignore[arg-type]
    assert out.status == "error" and "died" in out.error and out.student == "alice"


class _StopDatabaseOnFirstResult:
    """``opts.out`` that stops PostgreSQL at the first finished task while others are still
    to grade, and starts it again ``down`` seconds later (never, if ``down`` is None)."""

    def __init__(self, down: float | None):
        self.down, self.lines, self.stopped_at = down, [], ""

    def write(self, text: str) -> None:
        self.lines.append(text)
        if _reports_result(text) and not self.stopped_at:
            self.stopped_at = text.strip()
            stop_postgres(PG_DATA[0])
            if self.down is not None:
                threading.Timer(self.down, start_postgres, (PG_DATA[0],)).start()

    def flush(self) -> None:
        pass


def _wrong_scores(cases: dict[str, Any], outcomes: list[Outcome]) -> list[str]:
    """The cases' scores and flags that differ from what the demo's cases expect."""
    return [
        p
        for p in check_outcomes(cases, outcomes, ROOT / "assignments")
        if "in the messages" not in p
    ]


def _faulted_class(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    subs = tmp_path / "submissions"
    cases = build_class(subs, AIDS[:1], root=ROOT, release_dir=ROOT / "assignments", cases=FAULTED)
    return subs, cases


def test_postgres_restarted_mid_run_every_grade_right(
    services: tuple[str, DaskProcesses], tmp_path: Path
) -> None:
    """PostgreSQL stopped at the first result and started 4 s later: the tasks that met it
    retry with backoff (a note in the run's logs), and the run ends with every grade right,
    each submission once in the gradebook, grades.csv exported."""
    url, dask = services
    db = create_database(url, "restarted")
    subs, cases = _faulted_class(tmp_path)
    work = tmp_path / "work"
    out = _StopDatabaseOnFirstResult(down=4.0)
    with dask.client() as client:
        outcomes = autograde_on_cluster(
            Options(subs, work, limits=LIMITS, out=out, db_wait=60), dask.address, db, client=client
        )
    log = "".join(out.lines)
    assert out.stopped_at and f"1/{len(FAULTED)} done" in out.stopped_at, log[-3000:]
    assert {o.status for o in outcomes} == {"graded"}, log[-3000:]
    assert _wrong_scores(cases, outcomes) == []
    assert submission_counts(db) == {(s, AIDS[0]): 1 for s in FAULTED}
    retried = sorted(p.name for p in (work / "logs").glob("*-database.log"))
    assert retried, f"no task met the stopped database: {log[-3000:]}"
    assert "retrying" in (work / "logs" / retried[0]).read_text()
    rows = {r["student_id"]: r for r in _csv(work / "grades.csv")}
    assert set(rows) >= set(FAULTED)
    assert float(rows["full"]["score"]) == max(o.max_score for o in outcomes)
    assert float(rows["blank"]["score"]) == 0


def _wait_for_a_grade(state: Path, then: Any, stop: threading.Event) -> None:
    while not stop.wait(0.2):
        try:
            if any(not k.startswith("_") for k in json.loads(state.read_text())):
                then()
                return
        except (OSError, ValueError):
            pass


def test_postgres_down_past_the_bound_stops_cleanly_and_a_rerun_grades_the_rest(
    services: tuple[str, DaskProcesses], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``course autograde --db-wait 3`` with PostgreSQL stopped after the first grade and not
    started again: exit status 3, one line on stderr (no traceback), the summary printed, the
    grades received saved; the failed tasks are not recorded as graded, and once the database
    is back the same command grades exactly the rest."""
    from course.cli import main

    url, dask = services
    db = create_database(url, "stopped")
    subs, cases = _faulted_class(tmp_path)
    work = tmp_path / "work"
    url_file = tmp_path / "db-url"
    url_file.write_text(db + "\n")
    url_file.chmod(0o600)
    argv = [
        "autograde",
        str(subs),
        "--workdir",
        str(work),
        "--scheduler",
        dask.address,
        "--db-url-file",
        str(url_file),
        "--db-wait",
        "3",
        "--timeout",
        str(LIMITS.timeout),
        "--memory",
        str(LIMITS.memory_mb),
    ]
    done = threading.Event()
    watcher = threading.Thread(
        target=_wait_for_a_grade,
        args=(work / "course-state.json", lambda: stop_postgres(PG_DATA[0]), done),
    )
    watcher.start()
    try:
        status = main(argv)
    finally:
        done.set()
        watcher.join()
        captured = capsys.readouterr()
        start_postgres(PG_DATA[0])
    err = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert status == 3, captured.out[-3000:] + captured.err[-3000:]
    assert "Traceback" not in captured.out + captured.err
    stop_lines = [ln for ln in err if ln.startswith("course autograde: stopped: ")]
    assert len(stop_lines) == 1 and "did not answer for 3 s" in stop_lines[0], err
    assert "student" in captured.out and "score" in captured.out  # the summary table
    assert "stopped (DatabaseUnavailable" in captured.out
    state = json.loads((work / "course-state.json").read_text())
    first = {k for k in state if not k.startswith("_")}
    assert 1 <= len(first) < len(FAULTED), captured.out[-3000:]
    assert all(state[k]["student"] in FAULTED for k in first)
    # the database is back: the same command grades the rest, and nothing twice
    assert main(argv) == 0
    again = capsys.readouterr().out
    assert f"{len(FAULTED) - len(first)} to grade, {len(first)} unchanged" in again, again
    after = json.loads((work / "course-state.json").read_text())
    outcomes = [Outcome(**{**after[f"{s}/{AIDS[0]}"], "status": "graded"}) for s in FAULTED]
    assert _wrong_scores(cases, outcomes) == []
    assert submission_counts(db) == {(s, AIDS[0]): 1 for s in FAULTED}


def test_database_faults_are_told_from_other_errors() -> None:
    """What counts as a fault of the database (retried), and the bound."""
    from sqlalchemy.exc import OperationalError

    from course.cluster.faults import is_db_fault, retry_db

    refused = OperationalError("connect", {}, Exception("connection refused"))
    assert is_db_fault(refused)
    assert is_db_fault(
        RuntimeError(
            "autograde a/b failed:\nsqlalchemy.exc.OperationalError: "
            "(psycopg.OperationalError) server closed the connection"
        )
    )
    assert not is_db_fault(OperationalError("x", {}, Exception("database is locked")))
    assert not is_db_fault(RuntimeError("NameError: name 'x' is not defined"))
    clock: list[float] = []
    tries = []

    def failing() -> None:
        tries.append(1)
        raise refused

    with pytest.raises(DatabaseUnavailable, match=r"did not answer for 2 s \(grading x/y"):
        retry_db(failing, 2, "grading x/y", sleep=lambda s: (clock.append(s), _sleep(s)))
    assert len(tries) >= 3 and clock[:2] == [0.5, 1.0] and sum(clock) <= 2.5
    with pytest.raises(ValueError):
        retry_db(lambda: int("x"), 2, "not a fault")


def _sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)


def _sandboxed() -> str:
    """Why kernels on this machine's workers are not sealed ("" if they are)."""
    try:
        from course.pipeline.bwrap import sandbox_status
    except ImportError:
        return "BOXA's bubblewrap sandbox (course.pipeline.bwrap) is not in this tree yet"
    sealed, why = sandbox_status()
    return "" if sealed else f"bubblewrap cannot seal kernels here: {why}"


PROBE = """\
import os, socket
reached = []
def attempt(name, fn):
    try:
        fn()
        reached.append(name)
    except Exception:
        pass
attempt("scheduler", lambda: socket.create_connection(("127.0.0.1", {sport}), timeout=3))
def database():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect({pgsock!r})
attempt("database", database)
attempt("database-tcp", lambda: socket.create_connection(("127.0.0.1", 5432), timeout=3))
def udp():
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"PROBE", ("127.0.0.1", {uport}))
attempt("udp", udp)
texts = [repr(dict(os.environ))]
for pid in os.listdir("/proc"):
    if pid.isdigit():
        for part in ("cmdline", "environ"):
            try:
                raw = open(f"/proc/{{pid}}/{{part}}", "rb").read()
                texts.append(raw.decode("utf-8", "replace"))
            except OSError:
                pass
print("REACHED", [n for n in reached if n != "udp"])
print("SEEN", [t for t in texts if "DECOY" in t or "postgres" in t])
"""


@pytest.mark.skipif(bool(_sandboxed()), reason=_sandboxed() or "sealed")
def test_a_kernel_on_a_worker_reaches_no_socket_and_no_credentials(
    services: tuple[str, DaskProcesses], tmp_path: Path
) -> None:
    """A kernel graded on a Dask worker: no connection to the scheduler, to PostgreSQL (its
    socket or TCP), nothing at a UDP listener on the host's loopback; the database password
    (in the task, and planted in another process's command line and environment) appears in no
    notebook or feedback."""
    import socket
    from urllib.parse import parse_qs, urlsplit

    import nbformat

    from course.authoring.demo import _solution_cells

    url, dask = services
    db = create_database(url, "probe")
    password = urlsplit(db).password or ""
    assert len(password) >= 16, "the loopback PostgreSQL has a password"
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.5)
    pgsock = parse_qs(urlsplit(db).query)["host"][0] + "/.s.PGSQL.5432"
    assert Path(pgsock).exists()
    decoy = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(300)", f"DECOY-{password}"],
        env={**os.environ, "DECOY": password},
    )
    try:
        nb = nbformat.read(ROOT / "assignments" / AIDS[0] / f"{AIDS[0]}.ipynb", as_version=4)
        nb.cells[_solution_cells(nb)[0]].source = PROBE.format(
            sport=int(dask.address.rsplit(":", 1)[1]),
            pgsock=pgsock,
            uport=listener.getsockname()[1],
        )
        (tmp_path / "subs" / "probe" / AIDS[0]).mkdir(parents=True)
        nbformat.write(nb, str(tmp_path / "subs" / "probe" / AIDS[0] / f"{AIDS[0]}.ipynb"))
        out = autograde_on_cluster(
            Options(tmp_path / "subs", tmp_path / "work", limits=LIMITS, out=_Sink()),
            dask.address,
            db,
        )
    finally:
        decoy.kill()
        decoy.wait()
    assert [o.status for o in out] == ["graded"], out[0].error
    graded = tmp_path / "work" / "autograded" / "probe" / AIDS[0] / f"{AIDS[0]}.ipynb"
    text = graded.read_text(encoding="utf-8")
    assert "REACHED []" in text, re.findall(r"REACHED[^\\]*\]", text)
    assert "SEEN" in text, "the probe ran"
    try:
        got = listener.recv(64)
    except TimeoutError:
        got = b""
    assert got == b"", "a datagram reached the host's loopback"
    for path in (tmp_path / "work").rglob("*"):
        if path.is_file() and path.name != "gradebook-url":
            assert password not in path.read_text(encoding="utf-8", errors="replace"), path
