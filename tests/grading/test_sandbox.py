"""End to end: hostile students graded beside honest victims by ``course autograde --jobs 2``,
each kernel sealed in its bubblewrap box (issue «One student, one sealed box»).

One run grades every attacker (C calls through ``ctypes`` where Python would be refused) and
three victims; then many assertions: the victims keep 100, the secret token of the grader's
environment and of another process's command line appears in no feedback or notebook, nothing
arrives at the listeners this test starts on loopback, no process or file survives. A second,
small run grades a correct 05 solution while two busy loops load both cores (cells are bounded
by CPU time; the wall-clock backstop grows with the machine's load: a cell whose checks run in
the grader waits on the grader, e.g. 2 CPU s in the kernel and 58 s of wall-clock time at load 9).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from course.authoring.demo import _free_cell, _prefix, build_class, solved
from course.authoring.nbgrader_setup import assignment_ids
from course.pipeline.bwrap import sandbox_status
from course.pipeline.view import channel_ready
from tests.checks.assignment_utils import ROOT

#: 02, as in test_workflow and test_untrusted: nothing here depends on the assignment's tasks
AID = "02_forward_mode"
PACKAGE = "forward_mode"
FIRST = "t2_1"  # the first task's grade ids start so
SECOND = "05_second_order_and_memory"
TOKEN = "tok" + secrets.token_hex(8)
DAEMON = "d" + TOKEN[3:12]  # the daemon's process name (comm, at most 15 characters)
ABSTRACT = "abs" + secrets.token_hex(8)  # an abstract socket's name (not the secret)
VICTIMS = ("victim-a", "victim-b", "victim-c")
pytestmark = [
    pytest.mark.skipif(AID not in assignment_ids(ROOT), reason=f"no assignment {AID}"),
    pytest.mark.skipif(not sandbox_status()[0], reason=f"no sandbox: {sandbox_status()[1]}"),
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),
]

_LIBC = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
ATTACKS = {
    "prlimit": _LIBC
    + (
        "class RL(ctypes.Structure):\n"
        "    _fields_ = [('cur', ctypes.c_ulong), ('max', ctypes.c_ulong)]\n"
        "pids = [int(p) for p in os.listdir('/proc') if p.isdigit()]\n"
        "hit = [p for p in pids if p != os.getpid()\n"
        "       and libc.prlimit64(p, 0, ctypes.byref(RL(1, 1)), None) == 0]\n"
        "print('PRLIMIT visible', pids, 'set', hit)"
    ),
    "daemon": _LIBC
    + (
        "pid = libc.fork()\n"
        "if pid == 0:\n"
        "    libc.setsid()\n"
        f"    libc.prctl(15, {DAEMON.encode()!r}, 0, 0, 0)\n"
        "    while True:\n"
        "        libc.sleep(1)\n"
        "print('DAEMON forked', pid)"
    ),
    "sockets": _LIBC
    + (
        "class UN(ctypes.Structure):\n"
        "    _fields_ = [('family', ctypes.c_ushort), ('path', ctypes.c_char * 108)]\n"
        "class IN(ctypes.Structure):\n"
        "    _fields_ = [('family', ctypes.c_ushort), ('port', ctypes.c_uint16),\n"
        "                ('addr', ctypes.c_uint32), ('zero', ctypes.c_char * 8)]\n"
        "for path in (UNIX_PATH, b'\\0' + ABSTRACT):\n"
        "    fd = libc.socket(1, 1, 0)\n"
        "    r = libc.connect(fd, ctypes.byref(UN(1, path)), 110)\n"
        "    libc.send(fd, b'PING', 4, 0)\n"
        "    print('UNIX', path, r, ctypes.get_errno())\n"
        "fd = libc.socket(2, 2, 0)\n"
        "sa = IN(2, ((UDP_PORT & 255) << 8) | (UDP_PORT >> 8), 0x0100007F, b'')\n"
        "print('UDP', libc.sendto(fd, b'PING', 4, 0, ctypes.byref(sa), 16), ctypes.get_errno())"
    ),
    "secrets": (
        "import glob, os\n"
        "print('ENV', dict(os.environ))\n"
        "for p in sorted(glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline')\n"
        "               + ['/proc/%d/environ' % os.getppid()]):\n"
        "    try:\n"
        "        print(p, open(p, 'rb').read()[:3000])\n"
        "    except Exception as e:\n"
        "        print(p, type(e).__name__)"
    ),
    "reader": _LIBC
    + (
        "for p in READ_PATHS:\n"
        "    try:\n"
        "        print('READ', p, open(p).read()[:4000])\n"
        "    except Exception as e:\n"
        "        print('NOREAD', p, type(e).__name__)\n"
        "    print('LIBC OPEN', p, libc.open(p.encode(), 0))"
    ),
    "symlink": "print('LINK', open('secret.txt').read())",
    "immutable": _LIBC
    + (
        "import array, fcntl\n"
        "open('keep.txt', 'w').write('x')\n"
        "fd = os.open('keep.txt', os.O_RDONLY)\n"
        "try:\n"
        "    fcntl.ioctl(fd, 0x40086602, array.array('l', [0x10]))\n"
        "    print('IMMUTABLE set')\n"
        "except OSError as e:\n"
        "    print('IMMUTABLE refused', e)"
    ),
    "json-shadow": "import json\nprint('JSON', json.__file__)",
}

#: memory bombs, each at the start of the first task's solution cell (that task must score 0)
BOMBS = {
    # 256 MiB blocks, every page touched, until refused
    "memory-bomb": "import numpy as np\n_hog = []\nwhile True:\n    _hog.append(np.ones(2**25))",
    # eight processes, 1 GiB each: four times the box's limit if children could multiply it
    "fork-bomb": _LIBC
    + (
        "import numpy as np\n"
        "for _ in range(8):\n"
        "    if libc.fork() == 0:\n"
        "        break\n"
        "_hog = np.ones(2**27)\n"
        "libc.sleep(30)"
    ),
}
MEMORY = 2048  # MiB, course autograde --memory
LONG = 2000  # extra cells of the "long" notebook


@dataclass
class Run:
    subs: Path
    work: Path
    state: dict
    stdout: str
    udp: socket.socket
    unix: socket.socket
    abstract: socket.socket
    secret_file: Path

    def feedback(self, student: str) -> str:
        return (self.work / "feedback" / student / AID / f"{AID}.html").read_text("utf-8")

    def notebook(self, student: str) -> nbformat.NotebookNode:
        return nbformat.read(self.work / "autograded" / student / AID / f"{AID}.ipynb", 4)

    def outputs(self, student: str) -> str:
        return "\n".join(
            str(o.get("text", "")) + str(o.get("evalue", ""))
            for c in self.notebook(student).cells
            for o in c.get("outputs", [])
        )


def _listeners(base: Path) -> tuple[socket.socket, socket.socket, socket.socket]:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(str(base / "listener.sock"))
    unix.listen(4)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0" + ABSTRACT)
    abstract.listen(4)
    for s in (udp, unix, abstract):
        s.setblocking(False)
    return udp, unix, abstract


def course(*args: str | Path, env: dict | None = None) -> subprocess.CompletedProcess:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        [sys.executable, "-m", "course.cli", *map(str, args)],
        env={**os.environ, "PATH": path, **(env or {})},
        capture_output=True,
        text=True,
        timeout=1200,
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    base = tmp_path_factory.mktemp("sbx")
    subs, work = base / "s", base / "w"
    udp, unix, abstract = _listeners(base)
    secret_file = base / "ta-secret.txt"
    secret_file.write_text(f"TA only {TOKEN}\n")
    build_class(subs, [AID], root=ROOT, release_dir=ROOT / "assignments", cases=("full",))
    full = subs / "full"
    release = nbformat.read(ROOT / "assignments" / AID / f"{AID}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / AID / f"{AID}.ipynb", as_version=4)
    consts = (
        f"UNIX_PATH = {str(base / 'listener.sock').encode()!r}\n"
        f"ABSTRACT = {ABSTRACT.encode()!r}\nUDP_PORT = {udp.getsockname()[1]}\n"
        f"READ_PATHS = {_read_paths()!r}\n"
    )
    for student, code in ATTACKS.items():
        folder = subs / student / AID
        folder.mkdir(parents=True)
        nb = _free_cell(solved(release, solution), consts + code)
        nbformat.write(nb, str(folder / f"{AID}.ipynb"))
    for student, code in BOMBS.items():
        folder = subs / student / AID
        folder.mkdir(parents=True)
        nbformat.write(_prefix(solved(release, solution), 0, code), str(folder / f"{AID}.ipynb"))
    long = solved(release, solution)  # past the default cap of 1000 cells: not run, flagged
    long.cells[-1:-1] = [nbformat.v4.new_code_cell(f"_x{i} = {i}") for i in range(LONG)]
    (subs / "long" / AID).mkdir(parents=True)
    nbformat.write(long, str(subs / "long" / AID / f"{AID}.ipynb"))
    (subs / "symlink" / AID / "secret.txt").symlink_to(secret_file)
    (subs / "json-shadow" / AID / "json.py").write_text(
        f"open({str(work / 'json-pwned.txt')!r}, 'w').write('pwned')\n"
        f"open('/tmp/json-pwned-{TOKEN}', 'w').write('pwned')\n"
    )
    for v in VICTIMS:
        shutil.copytree(full, subs / v)
    shutil.rmtree(full)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1200)", TOKEN])
    try:
        out = course(
            "autograde",
            subs,
            "--jobs",
            2,
            "--timeout",
            30,
            "--memory",
            MEMORY,
            "--workdir",
            work,
            env={"COURSE_TEST_SECRET": TOKEN},
        )
    finally:
        sleeper.kill()
        sleeper.wait()
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    time.sleep(1)  # a daemon that escaped would still be there
    state = json.loads((work / "course-state.json").read_text())
    return Run(subs, work, state, out.stdout, udp, unix, abstract, secret_file)


def _read_paths() -> list[str]:
    checks = ROOT / "course" / "checks" / PACKAGE
    return [
        "/etc/shadow",
        str(checks / "_hidden.py"),
        str(checks / "_reference.py"),
        str(ROOT / "solutions" / AID / f"{AID}.ipynb"),
    ]


def _score(r: Run, student: str) -> float:
    o = r.state[f"{student}/{AID}"]
    return 100 * o["score"] / o["max_score"]


def test_victims_keep_full_marks(run: Run) -> None:
    for v in VICTIMS:
        assert _score(run, v) == 100, (v, run.state[f"{v}/{AID}"]["messages"])


def test_every_kernel_was_sealed(run: Run) -> None:
    for student in (*ATTACKS, *BOMBS, *VICTIMS):
        meta = run.notebook(student).metadata.get("course", {})
        assert meta.get("sandbox") == "bwrap", (student, meta.get("sandbox"))


def test_prlimit_reaches_only_the_kernels_own_box(run: Run) -> None:
    line = next(x for x in run.outputs("prlimit").splitlines() if x.startswith("PRLIMIT"))
    visible = json.loads(line.split("visible ")[1].split(" set")[0])
    assert len(visible) <= 3, line  # bwrap's init, the kernel, at most one helper


def test_daemon_did_not_outlive_grading(run: Run) -> None:
    # the box runs one process: the fork itself ended the kernel (SIGSYS), with the reason
    assert "DAEMON forked" not in run.outputs("daemon")
    assert "SIGSYS" in run.outputs("daemon") and "fork/clone" in run.outputs("daemon")
    names = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                names.append((p / "comm").read_text().strip())
            except OSError:
                pass
    assert DAEMON not in names


def test_nothing_arrives_at_loopback_listeners(run: Run) -> None:
    text = run.outputs("sockets")
    assert "UNIX" in text and "UDP" in text, text
    with pytest.raises(BlockingIOError):
        run.udp.recvfrom(100)
    for s in (run.unix, run.abstract):
        with pytest.raises(BlockingIOError):
            s.accept()


def _notes(r: Run, student: str) -> str:
    return "\n".join(f["message"] for f in r.state[f"{student}/{AID}"]["findings"])


def test_memory_bomb_scores_0_for_its_task_with_the_limit_named(run: Run) -> None:
    o = run.state[f"memory-bomb/{AID}"]
    first = [t for t in o["tasks"] if t.startswith(FIRST)]
    assert first and all(o["tasks"][t] == 0 for t in first), o["tasks"]
    assert o["score"] > 0, o["tasks"]  # the kernel lived on: the later tasks kept their points
    note = f"memory limit ({MEMORY} MiB) exceeded"
    assert note in _notes(run, "memory-bomb") and note in run.feedback("memory-bomb")


def test_fork_bomb_cannot_multiply_the_memory_limit(run: Run) -> None:
    o = run.state[f"fork-bomb/{AID}"]
    assert o["score"] == 0, o["tasks"]  # the kernel ended at the first fork
    notes = _notes(run, "fork-bomb")
    assert "fork/clone" in notes and f"memory limit ({MEMORY} MiB)" in notes, notes
    assert "fork/clone" in run.feedback("fork-bomb")


def test_notebook_past_the_cell_cap_is_not_run_and_is_flagged(run: Run) -> None:
    o = run.state[f"long/{AID}"]
    assert o["score"] == 0 and o["max_score"] > 0, o["tasks"]
    note = "cells, more than the 1000 allowed: it was not run"
    assert note in _notes(run, "long") and note in run.feedback("long")
    assert note in " ".join(run.stdout.split()), run.stdout[-3000:]  # course autograde's table
    assert any(f["severity"] == "flag" for f in o["findings"]), o["findings"]
    meta = run.notebook("long").metadata["course"]
    assert meta["sandbox"] == "not run" and meta["cells"] == {}  # no kernel, no cell ran


def test_secret_token_appears_nowhere(run: Run) -> None:
    assert "ENV" in run.outputs("secrets")
    for path in [
        *(run.work / "feedback").rglob("*.html"),
        *(run.work / "autograded").rglob("*.ipynb"),
    ]:
        assert TOKEN not in path.read_text("utf-8", errors="replace"), path


def test_system_and_solution_files_are_not_in_the_box(run: Run) -> None:
    text = run.outputs("reader")
    assert "NOREAD /etc/shadow" in text and f"NOREAD {_read_paths()[3]}" in text, text
    shadow = Path("/etc/shadow").read_text().splitlines()[0]
    assert shadow not in run.feedback("reader")


@pytest.mark.skipif(not channel_ready(PACKAGE), reason=f"{PACKAGE} is not on the channel yet")
def test_hidden_and_reference_checks_are_not_in_the_box(run: Run) -> None:
    text = run.outputs("reader")
    for p in _read_paths()[1:3]:
        assert f"NOREAD {p}" in text and f"LIBC OPEN {p} -1" in text, text


def test_symlink_is_refused_with_a_note(run: Run) -> None:
    assert TOKEN not in run.feedback("symlink")
    notes = [f["message"] for f in run.state[f"symlink/{AID}"]["findings"]]
    assert any("secret.txt" in n for n in notes), notes


def test_immutable_flag_is_refused_and_nothing_is_left(run: Run) -> None:
    assert "IMMUTABLE refused" in run.outputs("immutable")
    assert not list(run.work.rglob("keep.txt"))
    assert not list((run.work / "scratch").glob("course-k-*"))


def test_submitted_json_module_is_never_imported_by_the_grader(run: Run) -> None:
    assert not (run.work / "json-pwned.txt").exists()
    assert not Path(f"/tmp/json-pwned-{TOKEN}").exists()
    line = next(x for x in run.outputs("json-shadow").splitlines() if x.startswith("JSON"))
    assert "/scratch/json.py" not in line and line.endswith("json/__init__.py"), line


def test_correct_05_solution_keeps_its_points_on_a_busy_machine(tmp_path: Path) -> None:
    if SECOND not in assignment_ids(ROOT):
        pytest.skip("no assignment 05")
    subs, work = tmp_path / "s", tmp_path / "w"
    build_class(subs, [SECOND], root=ROOT, release_dir=ROOT / "assignments", cases=("full",))
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        # 10 CPU seconds per cell, as in test_untrusted: a correct 05 cell takes about 1 s of
        # CPU, and far longer than 10 s of wall-clock time on this machine beside the loops
        out = course(
            "autograde", subs, "--jobs", 1, "--timeout", 10, "--memory", 2048, "--workdir", work
        )
    finally:
        for p in loops:
            p.kill()
            p.wait()
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    o = json.loads((work / "course-state.json").read_text())[f"full/{SECOND}"]
    graded = work / "autograded" / "full" / SECOND / f"{SECOND}.ipynb"
    cells = nbformat.read(graded, 4).metadata.get("course", {}).get("cells")  # CPU s, wall s
    assert o["score"] == o["max_score"], (o["tasks"], o["messages"], cells, os.getloadavg())


# ---------------------------------------------------------------------------------------------
# without a kernel: the view, the command line, the channel's verdicts
# ---------------------------------------------------------------------------------------------
def test_view_holds_only_declared_packages_and_no_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    from course.pipeline import view

    entries = view.site_entries(("numpy", "jax", "reference_impl"))
    tops = {e.split("-")[0].split(".")[0] for e in entries}
    assert {"numpy", "ipykernel", "zmq", "IPython"} <= tops, sorted(tops)
    assert not tops & {"jax", "jaxlib", "scipy", "torch", "autograd", "reference_impl"}
    monkeypatch.setattr(view, "channel_ready", lambda package: True)
    v = view.kernel_view(PACKAGE)
    if v.legacy:
        pytest.skip("course.channel has no kernel_view for this package yet")
    dests = [d for _, d in v.binds]
    assert not any(d.endswith(("_hidden.py", "_reference.py")) for d in dests), dests
    assert not any("/reference_impl" in d or "/solutions" in d or "/tests" in d for d in dests)
    assert str(ROOT / "course" / "pipeline" / "sandbox.py") in dests


def test_command_line_seals_every_namespace(tmp_path: Path) -> None:
    from course.pipeline import bwrap
    from course.pipeline.view import kernel_view

    for name in ("ipc", "inbox"):
        (tmp_path / name).mkdir()
    cmd = bwrap.command(
        ["python"],
        view=kernel_view(None),
        ipc_dir=tmp_path / "ipc",
        connection_file=tmp_path / "k.json",
        inbox=tmp_path / "inbox",
        env={"X": "1"},
    )
    for flag in (
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--cap-drop",
        "--remount-ro",
    ):
        assert flag in cmd, flag
    assert cmd[cmd.index("--uid") + 1] == "1000"
    assert ["--setenv", "X", "1"] == cmd[cmd.index("X") - 1 : cmd.index("X") + 2]
    sources = [cmd[i + 1] for i, a in enumerate(cmd) if a in ("--ro-bind", "--bind")]
    assert not any(s in ("/", "/etc", "/root", "/home", str(ROOT)) for s in sources), sources


def test_view_under_tmp_is_not_hidden_by_the_box_tmp(tmp_path: Path) -> None:
    """A course cloned under /tmp: every bind of the view comes after the tmpfs on /tmp (else the
    kernel finds no Python and every notebook of the class scores 0)."""
    from course.pipeline import bwrap
    from course.pipeline.view import View

    for name in ("ipc", "inbox"):
        (tmp_path / name).mkdir()
    venv = str(tmp_path / "venv")
    cmd = bwrap.command(
        ["python"],
        view=View(((venv, venv),), legacy=False, packages=()),
        ipc_dir=tmp_path / "ipc",
        connection_file=tmp_path / "k.json",
        inbox=tmp_path / "inbox",
        env={},
    )
    mounts = [(a, cmd[i + 1]) for i, a in enumerate(cmd) if a in ("--tmpfs", "--ro-bind", "--bind")]
    assert mounts.index(("--tmpfs", "/tmp")) < mounts.index(("--ro-bind", venv)), mounts


def test_only_the_channel_verdict_scores_a_grade_cell() -> None:
    channel = pytest.importorskip("course.channel")
    from nbformat.v4 import new_code_cell, new_notebook, new_output
    from nbgrader.utils import determine_grade

    from course.pipeline.executor import SandboxExecute

    def cell(*outputs: Any) -> Any:
        c = new_code_cell("check.t1_1(f)")
        c.metadata["nbgrader"] = {
            "grade": True,
            "grade_id": "t1_1-x",
            "points": 5,
            "solution": False,
            "locked": True,
        }
        c.outputs = list(outputs)
        return c

    nb = new_notebook(
        cells=[
            cell(
                new_output("stream", name="stderr", text="a warning\n"),
                new_output("error", ename="KeyboardInterrupt", evalue="", traceback=[]),
            ),
            cell(
                new_output("stream", name="stdout", text="✓ all tests passed\n"),
                new_output("execute_result", data={"text/plain": "5"}, execution_count=1),
            ),
            cell(),
            cell(),
        ]
    )
    ok = channel.CellVerdict(True, ("t1_1",), (), False)
    bad = channel.CellVerdict(False, ("t1_1",), ("t1_1: wrong value",), False)
    never = channel.CellVerdict(False, (), ("the cell did not run t1_1",), False)
    findings = SandboxExecute._decide_channel(None, nb, {0: ok, 1: bad, 3: never})
    assert [determine_grade(c)[0] for c in nb.cells] == [5, 0, 0, 0]  # cell 2: no verdict
    assert [(f.kind, f.severity, f.cell) for f in findings] == [("tamper", "zero", 3)]
    assert "t1_1: wrong value" in nb.cells[1].outputs[-1]["evalue"]
    assert "a warning" in nb.cells[0].outputs[0]["text"]


def test_one_process_filter_allows_threads_and_kills_a_fork() -> None:
    """The bootstrap's seccomp filter: threads and numpy work, memfd_create is refused, and
    a fork through libc (where the audit hook sees nothing) ends the process with SIGSYS."""
    code = (
        "import ctypes, threading\n"
        "from course.pipeline.confine import _one_process\n"
        "assert _one_process()\n"
        "t = threading.Thread(target=print, args=('THREAD',)); t.start(); t.join()\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print('MEMFD', libc.memfd_create(b'x', 0), ctypes.get_errno(), flush=True)\n"
        "print('FORK', libc.fork(), flush=True)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == -31, (r.returncode, r.stdout, r.stderr)  # SIGSYS
    assert "THREAD" in r.stdout and "MEMFD -1 1" in r.stdout, r.stdout
    assert "FORK" not in r.stdout, r.stdout
