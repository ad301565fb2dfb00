"""The per-cell bounds of a graded kernel, watched from the grader: CPU time and wall-clock time.

A cell is bounded by the CPU seconds its kernel's process tree used (read on the host,
``/proc/<pid>/stat``, so a busy machine does not cut a correct solution); a cell that waits
without computing meets a wall-clock backstop scaled by the machine's load per core (a cell
whose checks run in the grader waits on the grader, which a busy machine slows down). Used by
:class:`course.pipeline.executor.SandboxExecute`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

from .confine import TAG

__all__ = ["CpuWatch", "limit_ru", "limit_text", "load_per_core", "timeout_error", "wall_error"]


def timeout_error(limit: int) -> dict[str, Any]:
    """The error output of a cell interrupted for ``limit`` s of CPU time."""
    text = (
        f"{TAG} the cell ran longer than {limit} s of CPU time and was interrupted (an "
        f"infinite loop?) / ячейка выполнялась дольше {limit} с процессорного времени и "
        f"была прервана (бесконечный цикл?)"
    )
    return {"ename": "TimeoutError", "evalue": text, "traceback": [f"TimeoutError: {text}"]}


def limit_text(cpu_limit: int, wall: int, watch: Any) -> str:
    """The bound a cell met (English): CPU time, or the wall-clock backstop."""
    if watch.by_wall:
        return f"{wall} s of wall-clock time × the machine's load per core"
    return f"{cpu_limit} s of CPU time"


def limit_ru(cpu_limit: int, wall: int, watch: Any) -> str:
    """The bound a cell met (Russian)."""
    if watch.by_wall:
        return f"{wall} с астрономического времени × загрузка машины на ядро"
    return f"{cpu_limit} с процессорного времени"


def wall_error(wall: int, watch: Any) -> dict[str, Any]:
    """The error output of a cell interrupted by the wall-clock backstop."""
    text = (
        f"{TAG} the cell waited longer than {limit_text(0, wall, watch)} and was interrupted "
        f"(a sleep, or waiting for input?) / ячейка ждала дольше {limit_ru(0, wall, watch)} "
        f"и была прервана (sleep или ожидание ввода?)"
    )
    return {"ename": "TimeoutError", "evalue": text, "traceback": [f"TimeoutError: {text}"]}


def load_per_core() -> float:
    """The machine's 1-minute load average per core, at least 1 (1: not busy)."""
    try:
        return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    except OSError:
        return 1.0


class CpuWatch(threading.Thread):
    """Bounds each cell by the CPU seconds its kernel's process tree used (read on the host,
    ``/proc/<pid>/stat``): past ``limit`` an interrupt, past ``limit + grace`` a kill. A cell
    that waits without computing (a sleep, a stuck kernel) meets the wall-clock backstop:
    ``wall`` seconds times the machine's load per core (at least 1, re-read as the cell runs),
    then an interrupt, and a kill ``grace`` × the same factor later. The factor keeps a
    correct cell whose checks run in the grader (time the kernel spends waiting) from being
    cut on a busy machine."""

    def __init__(self, km: Any, limit: float, grace: float, wall: float, period: float = 0.1):
        super().__init__(name="course-cpu-watch", daemon=True)
        self.km, self.limit, self.grace, self.wall, self.period = km, limit, grace, wall, period
        self._stop = threading.Event()
        self._cell: int | None = None
        self._t0 = self._w0 = self._fired_at = 0.0
        self.fired: int | None = None
        self.by_wall = False  # the last interrupt was the wall-clock backstop's
        self.killed: int | None = None
        self.peak = 0.0  # the largest CPU time a cell used, s
        self.cells: dict[int, tuple[float, float]] = {}  # cell → (CPU s, wall s)

    def begin(self, index: int) -> None:
        self._t0, self._w0 = self.km.cpu_seconds(), time.monotonic()
        self.fired = self.killed = None
        self.by_wall = False
        self._cell = index

    def end(self) -> None:
        cell, self._cell = self._cell, None
        if cell is not None:
            used = self.km.cpu_seconds() - self._t0
            self.peak = max(self.peak, used)
            self.cells[cell] = (round(used, 3), round(time.monotonic() - self._w0, 3))

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.wait(self.period):
            with contextlib.suppress(Exception):  # the watch must outlive any odd moment
                self._tick()

    def _tick(self) -> None:
        cell = self._cell
        if cell is None:
            return
        used = self.km.cpu_seconds() - self._t0
        now = time.monotonic()
        factor = load_per_core()
        if self.fired != cell and (used > self.limit or now - self._w0 > self.wall * factor):
            self.fired, self.by_wall, self._fired_at = cell, used <= self.limit, now
            pid = self.km.kernel_pid
            if pid is not None:
                os.kill(pid, 2)  # SIGINT: KeyboardInterrupt in the cell
        elif (
            self.fired == cell
            and self.killed != cell
            and (used > self.limit + self.grace or now - self._fired_at > self.grace * factor)
        ):
            self.killed = cell
            self.km.kill_now()
