"""The grader's own processes and files (issue 17): nothing of a run outlives ``course``
however it dies, one run per work dir, student ids checked before any use, an error of the
grader never reused as a grade, submissions hashed streamed and their links never followed.

Seconds each, except the one end to end test that SIGKILLs ``course autograde`` mid-run
(≈ 30 s on 2 cores)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from course.authoring.demo import solved
from course.authoring.nbgrader_setup import assignment_ids
from course.pipeline import autograde as ag
from course.pipeline.autograde import Options, Outcome, prepare_run
from course.pipeline.request import RunLock, UsageError, unsafe_id
from course.pipeline.results import STATE, record_state
from course.pipeline.submissions import digest, preflight
from tests.checks.assignment_utils import ROOT

AID = "02_forward_mode"  # as test_workflow: nothing here depends on its tasks
pytestmark = [
    pytest.mark.skipif(AID not in assignment_ids(ROOT), reason=f"no assignment {AID}"),
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),
]
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def course(*args: str | Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "course.cli", *map(str, args)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _release() -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "assignments" / AID / f"{AID}.ipynb", as_version=4)


def _class(subs: Path, students: list[str], nb: nbformat.NotebookNode | None = None) -> None:
    nb = nb or _release()
    for sid in students:
        (subs / sid / AID).mkdir(parents=True)
        nbformat.write(nb, str(subs / sid / AID / f"{AID}.ipynb"))


# ---------------------------------------------------------------------------------------------
# before any work: ids, the lock, the sandbox
# ---------------------------------------------------------------------------------------------
def test_unsafe_student_ids_are_refused_one_line_each(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    bad = ["*", "al?ce", "[ab]", "-rf", "tab\there", "a..b"]
    _class(subs, ["alice", *bad])
    r = course("autograde", subs, "-w", tmp_path / "w")
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    refused = [ln for ln in lines if "refused student id" in ln]
    assert len(refused) == len(bad), r.stderr
    for name in bad:
        assert sum(repr(name) in ln for ln in refused) == 1, (name, r.stderr)
    assert "alice" not in r.stderr
    assert not (tmp_path / "w" / "gradebook.db").exists(), "nothing may be graded"
    r = course("autograde", subs, "-w", tmp_path / "w", "-s", "x" * 300)
    assert r.returncode == 2 and "longer than the file system allows" in r.stderr, r.stderr
    (tmp_path / "roster.csv").write_text("id,name\nalice,Alice A\n*,Everyone\n")
    r = course("roster", tmp_path / "roster.csv", "-w", tmp_path / "w2")
    assert r.returncode == 2 and "refused student id '*'" in r.stderr, r.stderr
    assert not (tmp_path / "w2" / "gradebook.db").exists()
    assert (
        unsafe_id("Иванов_Пётр") == ""
        and unsafe_id("a/b")
        and unsafe_id("..")
        and unsafe_id(".git")
        and unsafe_id("a\x1bb")
        and unsafe_id("я" * 128)
    )


def test_a_second_run_on_a_work_dir_is_refused_naming_the_first(tmp_path: Path) -> None:
    subs, work = tmp_path / "subs", tmp_path / "w"
    _class(subs, ["alice"])
    work.mkdir()
    with RunLock(work):
        r = course("autograde", subs, "-w", work)
        assert r.returncode == 2, r.stdout + r.stderr
        assert f"pid {os.getpid()}" in r.stderr and "another course autograde" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        with pytest.raises(UsageError, match=f"pid {os.getpid()}"):  # in-process too
            prepare_run(Options(subs, work, out=open(os.devnull, "w")))
        (tmp_path / "roster.csv").write_text("id,name\nalice,Alice A\n")
        r = course("roster", tmp_path / "roster.csv", "-w", work)  # nor a roster beside it
        assert r.returncode == 2 and f"pid {os.getpid()}" in r.stderr, r.stdout + r.stderr
        assert not (work / "gradebook.db").exists()
    with RunLock(work, "course roster"):
        r = course("autograde", subs, "-w", work)
        assert r.returncode == 2 and f"another course roster (pid {os.getpid()})" in r.stderr
    with RunLock(work):  # released
        pass


def test_no_sandbox_is_refused_unless_the_ta_says_unsafe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ag, "sandbox_problem", lambda: "no user namespaces")
    opts = Options(tmp_path, tmp_path / "w", out=open(os.devnull, "w"))
    with pytest.raises(UsageError, match=r"no user namespaces.*--unsafe-no-sandbox"):
        ag.autograde(opts)
    assert not (tmp_path / "w").exists()
    opts.unsafe_no_sandbox = True
    ag.check_sandbox(opts)  # allowed, with a warning
    monkeypatch.setattr(ag, "sandbox_problem", lambda: "")
    ag.check_sandbox(Options(tmp_path, tmp_path / "w"))
    assert "--unsafe-no-sandbox" in course("autograde", "--help").stdout


# ---------------------------------------------------------------------------------------------
# what is reused: never an error of the grader
# ---------------------------------------------------------------------------------------------
def test_an_error_of_the_grader_is_never_reused_as_a_grade(tmp_path: Path) -> None:
    subs, work = tmp_path / "subs", tmp_path / "w"
    _class(subs, ["alice", "bob"])
    quiet = open(os.devnull, "w")

    def run(**kw: object) -> ag.Run:
        return prepare_run(Options(subs, work, out=quiet, **kw))  # type: ignore[arg-type]

    first = run()
    assert sorted(first.todo) == [("alice", AID), ("bob", AID)]
    assert first.scratch.parent == work.resolve() and first.run_id in first.scratch.name
    for sid in ("alice", "bob"):  # as if graded: the outcome and its feedback
        (work / "feedback" / sid / AID).mkdir(parents=True)
        first.record(Outcome(sid, AID, 100.0, 100.0))
    first.finish(1)
    first.close()
    second = run()
    assert second.todo == [] and second.run_id != first.run_id  # unchanged: reused
    second.close()
    third = run(force=True)
    third.record(Outcome("alice", AID, 0.0, 100.0, status="error", error="database is locked"))
    third.record(Outcome("bob", AID, 100.0, 100.0))
    third.finish(1)
    third.close()
    state = json.loads((work / STATE).read_text())
    assert f"alice/{AID}" not in state and state[f"bob/{AID}"]["score"] == 100
    fourth = run()
    assert fourth.todo == [("alice", AID)], "the grader's error is graded again"
    fourth.close()
    kept: dict = {"x/y": {"fingerprint": "f"}}
    record_state(kept, Outcome("x", "y", status="pending"))
    assert "x/y" in kept, "a submission not reached keeps what it had"


# ---------------------------------------------------------------------------------------------
# submissions: hashed streamed, links never followed
# ---------------------------------------------------------------------------------------------
def test_digest_streams_and_never_follows_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "sub"
    folder.mkdir()
    big = folder / "data.bin"
    with open(big, "wb") as f:
        f.write(b"\0" * (3 << 20))
    secret = tmp_path / "secret.txt"
    secret.write_text("TA's token")
    (folder / "link.txt").symlink_to(secret)
    reads: list[int] = []
    real_open = open

    class Spy:
        def __init__(self, f: object) -> None:
            self.f = f

        def __enter__(self) -> Spy:
            return self

        def __exit__(self, *exc: object) -> None:
            self.f.close()  # type: ignore[attr-defined]

        def read(self, n: int = -1) -> bytes:
            assert n > 0, "a file read whole"
            data = self.f.read(n)  # type: ignore[attr-defined]
            reads.append(len(data))
            return data

    monkeypatch.setattr("builtins.open", lambda p, *a, **k: Spy(real_open(p, *a, **k)))
    before = digest(folder)
    monkeypatch.undo()
    assert max(reads) <= 1 << 20 and sum(reads) == 3 << 20
    secret.write_text("changed")  # the link's target is not part of the submission
    assert digest(folder) == before
    big.write_bytes(b"\1" * 10)
    assert digest(folder) != before


def test_preflight_copies_no_link_and_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "subs" / "alice" / AID
    folder.mkdir(parents=True)
    nbformat.write(_release(), str(folder / f"{AID}.ipynb"))
    secret = tmp_path / "secret.txt"
    secret.write_text("TA-SECRET")
    (folder / "data.txt").symlink_to(secret)
    (folder / "extra.ipynb").symlink_to(ROOT / "solutions" / AID / f"{AID}.ipynb")
    os.mkfifo(folder / "pipe")
    work = tmp_path / "w"
    findings = preflight("alice", AID, folder, ROOT / "assignments", work)
    dest = work / "submitted" / "alice" / AID
    assert sorted(p.name for p in dest.iterdir()) == [f"{AID}.ipynb"]
    assert "TA-SECRET" not in "".join(p.read_text() for p in dest.iterdir())
    text = " ".join(f.message for f in findings)
    assert "not regular files" in text and "data.txt" in text and "pipe" in text


# ---------------------------------------------------------------------------------------------
# end to end: SIGKILL of course autograde
# ---------------------------------------------------------------------------------------------
def _alive(pids: set[int]) -> set[int]:
    left = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                left.add(pid)
        except psutil.NoSuchProcess:
            pass
    return left


def _gradebook(work: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(work.glob("gradebook.db*")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def _inside(work: Path) -> set[int]:
    found = set()
    for proc in psutil.process_iter():
        try:
            if proc.cwd().startswith(str(work)):
                found.add(proc.pid)
        except (psutil.Error, OSError):
            continue
    return found


def test_sigkill_of_course_leaves_no_process_and_no_later_write(tmp_path: Path) -> None:
    solution = nbformat.read(ROOT / "solutions" / AID / f"{AID}.ipynb", as_version=4)
    subs, work = tmp_path / "subs", (tmp_path / "w").resolve()
    _class(subs, [f"s{i}" for i in range(6)], solved(_release(), solution))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "course.cli",
            "autograde",
            str(subs),
            "--workdir",
            str(work),
            "--jobs",
            "2",
            "--timeout",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "/100" in line:  # one graded; both workers busy with the next ones
            break
    assert any("/100" in ln for ln in seen), "".join(seen)[-3000:]
    tree = {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
    assert len(tree) >= 2, "workers (and their kernels) were running"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = _gradebook(work)
    deadline = time.monotonic() + 20
    while (_alive(tree) or _inside(work)) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not _alive(tree), f"left running: {_alive(tree)}"
    assert not _inside(work), "processes left in the work dir"
    time.sleep(3)  # a worker that outlived its run would be writing its next grade by now
    assert _gradebook(work) == at_kill, "the gradebook was written after the kill"
    with RunLock(work):  # the lock went with the process
        pass
