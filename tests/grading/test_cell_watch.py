"""The per-cell watch of :class:`course.pipeline.cellwatch.SandboxExecute` without a kernel: a
process stands in for the kernel. CPU time past the limit interrupts; a cell that only waits
meets the wall-clock backstop, scaled by the machine's load per core; an ignored interrupt
ends in a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from course.pipeline import cellwatch
from course.pipeline.kernels import tree_cpu_seconds


class FakeKernel:
    """What the watch uses of a kernel manager, for a plain child process."""

    def __init__(self, code: str):
        self.proc = subprocess.Popen([sys.executable, "-c", code])
        self.kernel_pid = self.proc.pid

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.proc.pid)

    def kill_now(self) -> None:
        self.proc.kill()


SLEEPER = "import time\ntime.sleep(60)"
STUBBORN = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(60)"
SPINNER = "while True: pass"


def _watch(km: FakeKernel, limit: float, wall: float, grace: float = 0.5) -> cellwatch.CpuWatch:
    w = cellwatch.CpuWatch(km, limit, grace=grace, wall=wall, period=0.05)
    w.start()
    time.sleep(0.5)  # the interpreter starts
    w.begin(7)
    return w


def _wait(km: FakeKernel, seconds: float) -> int | None:
    try:
        return km.proc.wait(seconds)
    except subprocess.TimeoutExpired:
        return None


@pytest.fixture
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cellwatch, "load_per_core", lambda: 1.0)


def test_a_sleeping_cell_meets_the_wall_backstop(quiet: None) -> None:
    km = FakeKernel(SLEEPER)
    # a long grace: the interrupt alone must end it (a busy machine took > 0.5 s to exit)
    w = _watch(km, limit=30, wall=1.0, grace=30.0)
    try:
        code = _wait(km, 20)
        assert code is not None and code != 0  # KeyboardInterrupt ended it
        assert w.fired == 7 and w.by_wall and w.killed is None
    finally:
        w.stop()
        km.kill_now()


def test_an_ignored_interrupt_ends_in_a_kill(quiet: None) -> None:
    km = FakeKernel(STUBBORN)
    w = _watch(km, limit=30, wall=1.0)
    try:
        assert _wait(km, 20) == -signal.SIGKILL
        assert w.fired == 7 and w.killed == 7
    finally:
        w.stop()
        km.kill_now()


def test_the_backstop_waits_longer_on_a_busy_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cellwatch, "load_per_core", lambda: 30.0)  # 1 s × 30
    km = FakeKernel(SLEEPER)
    w = _watch(km, limit=30, wall=1.0)
    try:
        assert _wait(km, 3) is None and w.fired is None
    finally:
        w.stop()
        km.kill_now()


def test_cpu_time_past_the_limit_interrupts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cellwatch, "load_per_core", lambda: 1000.0)  # no wall backstop
    km = FakeKernel(SPINNER)
    w = _watch(km, limit=0.5, wall=1.0)
    try:
        code = _wait(km, 60)
        assert code is not None and code != 0
        assert w.fired == 7 and not w.by_wall
    finally:
        w.stop()
        km.kill_now()


def test_load_per_core_is_at_least_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.0, 0.0))
    assert cellwatch.load_per_core() == 1.0
    monkeypatch.setattr(os, "getloadavg", lambda: (40.0 * (os.cpu_count() or 1), 0.0, 0.0))
    assert cellwatch.load_per_core() == 40.0
