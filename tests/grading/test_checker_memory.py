"""The checker's memory bound (course.channel.limits): a kernel cannot make the grader allocate.

With a plain subprocess kernel (the harness of test_channel.py): a forged reply written by hand
in the binary wire format (``tests/channel_forgery.py``) declaring 2 GiB (one 8 MiB buffer
referred to 256 times), ``np.ones(10**10)`` asked of a handed-over NumPy, a 2 GiB broadcast view
returned, and many medium results in one cell are each refused with "result too large: N bytes >
limit", cost nothing, and the next check runs as usual. End to end through ``course autograde``: the forging student scores 0 for that task only, a classmate keeps
full marks, and no grader process grows by the declared size."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from course.channel.codec import decode, decode_frame
from course.channel.limits import MAX_CELL, MAX_MESSAGE, declared_bytes
from course.checks._core import Task, assert_close, student_call, task_check
from tests.checks.assignment_utils import ROOT
from tests.grading.channel_forgery import FORGE, forged_reply
from tests.grading.test_channel import HarnessKernel

T1 = Task("t9_1", "memory-one", "memory one", "память один", 10)
T2 = Task("t9_2", "memory-two", "memory two", "память два", 10)
T3 = Task("t9_3", "memory-three", "memory three", "память три", 10)
GIB2 = 2 * 2**30


@task_check(T1)
def t9_1(fn: Any) -> None:
    """fn(x) must return 2x."""
    x = np.arange(4.0)
    assert_close(T1, "fn(x)", student_call(T1, "fn(x)", fn, x), 2 * x)


@task_check(T2)
def t9_2(fn: Any) -> None:
    """fn(xp) must return xp.tanh(1.0); ``xp`` is NumPy lent by the check."""
    xp = types.SimpleNamespace(tanh=np.tanh, ones=np.ones, zeros=np.zeros)
    assert_close(T2, "fn(xp)", student_call(T2, "fn(xp)", fn, xp), np.tanh(1.0))


@task_check(T3)
def t9_3(fn: Any) -> None:
    """fn(k) 25 times: each an array of 12 MiB (within one message, too much for one cell)."""
    for k in range(25):
        got = student_call(T3, "fn(k)", fn, k)
        assert_close(T3, "fn(k)", np.asarray(got)[:2], [k, k])


DEMO = types.SimpleNamespace(
    __all__=["t9_1", "t9_2", "t9_3"], HIDDEN=(), t9_1=t9_1, t9_2=t9_2, t9_3=t9_3
)


@pytest.fixture
def kernel(tmp_path: Path) -> Any:
    k = HarnessKernel("memory_demo", tmp_path, module=DEMO)
    k.run("import numpy as np\nimport course.checks.memory_demo as check")
    yield k
    k.close()


def _flat(v: Any) -> str:
    return " ".join(" ".join(v.messages).split())


def _honest_next(kernel: HarnessKernel) -> None:
    """After a refusal, the next task's check runs as usual."""
    v, _ = kernel.run("def g(x):\n    return 2 * x\ncheck.t9_1(g)", "t9_1", ("t9_1",))
    assert v.passed, v.messages


def test_declared_bytes_counts_every_reference() -> None:
    ok = ["l", *[["a", "float64", [2**20], 0, 0]] * 256]
    assert declared_bytes(ok, [b"\0" * 8]) == GIB2
    assert declared_bytes(["t", ["y", 0], ["y", 0]], [b"abc"]) == 6
    assert declared_bytes(["a", "object", [10**12], 0, 0], [b""]) == 0  # refused by the codec


def test_the_forged_reply_is_a_well_formed_binary_frame() -> None:
    """FORGE's frame is what the wire format says, so the refusals below are the memory bound's
    and not a malformed message's: a small one decodes to its arrays, the real one declares
    2 GiB in one 8 MiB buffer."""
    frame = forged_reply(7, arrays=3, elements=4)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    header, buffers = decode_frame(frame[4:])
    assert header["re"] == 7 and [len(b) for b in buffers] == [32], (header, buffers)
    got = decode(header["ok"], buffers, lambda *h: pytest.fail(f"a handle {h}"))
    assert [(a.dtype, a.shape) for a in got] == [(np.dtype("float64"), (4,))] * 3, got
    assert declared_bytes(header["ok"], buffers) == 3 * 32
    frame = forged_reply(7)
    header, buffers = decode_frame(frame[4:])
    assert [len(b) for b in buffers] == [8 * 2**20] and len(frame) < 8 * 2**20 + 8192
    assert declared_bytes(header["ok"], buffers) == GIB2


def test_forged_reply_declaring_2gib_is_refused_before_decoding(kernel: HarnessKernel) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    v, reply = kernel.run(
        FORGE + "def fn(x):\n    _forge_reply()\ncheck.t9_1(fn)", "t9_1", ("t9_1",)
    )
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB
    assert not v.passed and not v.kernel_lost
    assert f"result too large: {GIB2} bytes > {MAX_MESSAGE} (in one message)" in _flat(v)
    assert reply["err"].startswith("CheckFailure") and "result too large" in reply["err"]
    assert grown < 256 * 1024, grown  # the 8 MiB frame, never 2 GiB of copies
    _honest_next(kernel)


def test_forged_updates_declaring_2gib_are_refused_before_decoding(kernel: HarnessKernel) -> None:
    """Faithful calls' updates (``up``, course/channel/faithful.py) are decoded under the same
    bound: a forged reply whose updates declare 2 GiB is refused like a result."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    src = FORGE + "def fn(x):\n    _forge_reply('up')\ncheck.t9_1(fn)"
    v, _ = kernel.run(src, "t9_1", ("t9_1",))
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB
    assert not v.passed and not v.kernel_lost
    assert f"result too large: {GIB2} bytes > {MAX_MESSAGE} (in one message)" in _flat(v)
    assert grown < 256 * 1024, grown
    _honest_next(kernel)


def test_numpy_asked_to_allocate_too_much_is_refused(kernel: HarnessKernel) -> None:
    src = (
        "def fn(xp):\n"
        "    try:\n        xp.ones(10**10)\n    except Exception as e:\n"
        "        print(type(e).__name__, e)\n"
        "    return xp.tanh(1.0)\n"
        "check.t9_2(fn)"
    )
    v, reply = kernel.run(src, "t9_2", ("t9_2",))
    assert "ResultTooLarge result too large: 80000000000 bytes" in reply["out"]
    assert not v.passed, "a refusal the student swallowed still fails the check"
    assert "(asked of the checker)" in _flat(v)
    v, _ = kernel.run("def fn(xp):\n    return xp.tanh(1.0)\ncheck.t9_2(fn)", "t9_2", ("t9_2",))
    assert v.passed, v.messages  # an honest use of the lent NumPy


def test_a_2gib_broadcast_view_returned_is_an_error_not_a_hang(kernel: HarnessKernel) -> None:
    src = "def fn(x):\n    return np.broadcast_to(np.zeros(1), (2**28,))\ncheck.t9_1(fn)"
    v, _ = kernel.run(src, "t9_1", ("t9_1",))
    assert not v.passed and not v.kernel_lost
    assert f"result too large: {GIB2} bytes > {MAX_MESSAGE}" in _flat(v), v.messages
    _honest_next(kernel)


def test_one_cell_decodes_at_most_max_cell(kernel: HarnessKernel) -> None:
    src = "def fn(k):\n    return np.full(3 * 2**19, float(k))\ncheck.t9_3(fn)"  # 12 MiB each
    v, _ = kernel.run(src, "t9_3", ("t9_3",))
    assert not v.passed
    assert "result too large" in _flat(v) and f"> {MAX_CELL} (in one cell)" in _flat(v)
    _honest_next(kernel)  # a new cell, a new budget


# ---------------------------------------------------------------------------------------------
# end to end: course autograde, the forging student beside an honest classmate
# ---------------------------------------------------------------------------------------------
AID = "03_reverse_mode"
WRAPPER = (
    "import resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:])\n"
    "print('MAXRSS_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(r.returncode)\n"
)


@pytest.mark.slow  # end to end through course autograde
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_hostile_kernel_costs_the_grader_nothing(tmp_path: Path) -> None:
    from course.authoring.demo import _solution_cells, solved

    release = nbformat.read(ROOT / "assignments" / AID / f"{AID}.ipynb", 4)
    solution = nbformat.read(ROOT / "solutions" / AID / f"{AID}.ipynb", 4)
    subs, work = tmp_path / "subs", tmp_path / "work"
    forger = solved(release, solution)
    cell = forger.cells[_solution_cells(forger)[1]]
    cell.source += "\n" + FORGE + "def topological_order(output):\n    _forge_reply()\n"
    for sid, nb in (("forger", forger), ("classmate", solved(release, solution))):
        (subs / sid / AID).mkdir(parents=True)
        nbformat.write(nb, str(subs / sid / AID / f"{AID}.ipynb"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    cli = (sys.executable, "-c", WRAPPER, sys.executable, "-m", "course.cli")
    run = subprocess.run(
        [*cli, "autograde", str(subs), "--jobs", "2", "--timeout", "30", "--workdir", str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    maxrss = int(run.stdout.rsplit("MAXRSS_KIB", 1)[1].split()[0])
    assert maxrss < 1536 * 1024, f"a grader process reached {maxrss} KiB"
    state = json.loads((work / "course-state.json").read_text())
    assert state[f"classmate/{AID}"]["score"] == 100, state[f"classmate/{AID}"]
    tasks = state[f"forger/{AID}"]["tasks"]
    assert tasks["t3_2-topological-order"] == 0, tasks
    assert all(v > 0 for k, v in tasks.items() if not k.startswith("t3_2")), tasks
    graded = nbformat.read(work / "autograded" / "forger" / AID / f"{AID}.ipynb", 4)
    text = json.dumps([c.get("outputs", []) for c in graded.cells], ensure_ascii=False)
    assert f"result too large: {GIB2} bytes > {MAX_MESSAGE}" in text


def test_the_kernels_notes_change_a_message_never_a_verdict(kernel: HarnessKernel) -> None:
    """The syntax-error notes (course.checks._syntax) are the kernel's word: malformed or
    oversized ones are ignored, a well-formed one only names the broken cell in a failure."""
    src = (
        "import course.channel.kernel as K\n"
        "ep = K._CHANNEL[0].endpoint\n"
        "for a in [('syntax', 'x', 'SyntaxError', 1, 'm'), ('syntax', 3, 'RuntimeError', 1, 'm'),\n"
        "          ('name', 99, 'g'), ('name', 3, '__import__'), ('syntax', 3), (), 'junk',\n"
        "          ('syntax', 3, 'SyntaxError', 2, 'x' * 10_000)]:\n"
        "    ep.request('note', a=a)\n"
        "def g(x):\n    return 2 * x\n"
        "check.t9_1(g)\n"
    )
    v, reply = kernel.run(src, "t9_1", ("t9_1",))
    assert v.passed and reply["err"] is None, (v, reply)  # notes never fail a passing cell
    v, _ = kernel.run("ep.request('note', a=('name', 3, 'g'))\nundefined_name", "t9_1", ("t9_1",))
    text = _flat(v)
    assert not v.passed and "Task 9.1 did not run: SyntaxError in cell" in text, text
    assert "line 2" in text and len(text) < 1000, text  # the note's text is capped
