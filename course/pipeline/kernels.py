"""The grading kernel, seen from the grader: a kernel manager that seals each kernel in a
bubblewrap box (:mod:`.bwrap`), and the CPU time its process tree has used.

:class:`SandboxKernelManager` runs ``bwrap … -- python -I -m course.pipeline.sandbox
<sandbox_args> -- <ipykernel arguments>``; the Jupyter channels are ``ipc`` sockets in the box's
own folder (:class:`Box`). Interrupts go to the kernel itself (the box's PID 2), not to the
``bwrap`` process, which would end the box. Without a working bubblewrap (``--unsafe-no-sandbox``)
the same bootstrap runs directly, confined by Landlock and the audit hook only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import List, Unicode

from . import bwrap
from .view import View

__all__ = ["Box", "SandboxKernelManager", "death_reason", "tree_cpu_seconds"]

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Box:
    """The host-side folder of one kernel (``/tmp/course-k-…``, only the grader can write it):
    ``ipc/`` (the Jupyter sockets; the only host folder the kernel can write), ``kernel.json``,
    ``inbox/`` (the submission's files, regular files only). ``sealed``: run under bubblewrap."""

    view: View
    sealed: bool = True
    channel_dir: Path | None = None
    scratch_mb: int = 256
    env: dict[str, str] = field(default_factory=dict)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="course-k-")))

    def __post_init__(self) -> None:
        for sub in ("ipc", "inbox"):
            (self.root / sub).mkdir(exist_ok=True)

    @property
    def ipc(self) -> Path:
        return self.root / "ipc"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def connection_file(self) -> Path:
        return self.root / "kernel.json"

    def remove(self) -> None:
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)


class SandboxKernelManager(AsyncKernelManager):
    """Starts the kernel sealed in its :class:`Box` (set :attr:`box` before starting)."""

    sandbox_args = List(Unicode(), default_value=[])
    box: Box | None = None

    def pre_start_kernel_box(self) -> None:
        """Point the connection at the box: ``ipc`` transport, sockets in ``box.ipc``."""
        if self.box is None:
            return
        self.transport = "ipc"
        self.ip = str(self.box.ipc / "k")
        self.connection_file = str(self.box.connection_file)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        if "ipykernel_launcher" not in cmd or self.box is None:
            return cmd
        rest = cmd[cmd.index("ipykernel_launcher") + 1 :]
        box = self.box
        if not box.sealed:
            inner = [
                sys.executable,
                "-I",
                "-m",
                "course.pipeline.sandbox",
                "--inbox",
                str(box.inbox),
                "--scratch",
                str(box.root / "scratch"),
                *self.sandbox_args,
                "--",
                *rest,
            ]
            return inner
        inner = [
            sys.executable,
            "-I",
            "-m",
            "course.pipeline.sandbox",
            "--inbox",
            bwrap.INBOX,
            "--scratch",
            bwrap.SCRATCH,
            "--no-landlock",
            *self.sandbox_args,
            "--",
            *rest,
        ]
        return bwrap.command(
            inner,
            view=box.view,
            ipc_dir=box.ipc,
            connection_file=box.connection_file,
            inbox=box.inbox,
            env=box.env,
            channel_dir=box.channel_dir,
            scratch_mb=box.scratch_mb,
        )

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        """Launch with a scrubbed environment: bubblewrap's own init process (the box's PID 1)
        keeps the environment it was started with, readable in the box as /proc/1/environ, so
        ``bwrap`` gets only ``PATH`` and the run's mark (the kernel's variables are ``--setenv``
        arguments);
        without a box, the kernel gets the allow-list itself."""
        if self.box is not None:
            allowed = {k: os.environ[k] for k in bwrap.ENV_ALLOWED if k in os.environ}
            mark = {k: os.environ[k] for k in ("COURSE_RUN",) if k in os.environ}  # not secret:
            # the run's mark, by which course autograde's watchdog finds what a run left
            kw["env"] = (
                {"PATH": "/usr/bin:/bin", **mark}
                if self.box.sealed
                else {**allowed, "PATH": "/usr/bin:/bin", **self.box.env, **mark}
            )
        await super()._async_launch_kernel(kernel_cmd, **kw)

    @property
    def pid(self) -> int | None:
        proc = getattr(self.provisioner, "process", None)
        return proc.pid if proc is not None else None

    @property
    def kernel_pid(self) -> int | None:
        """The host pid of the kernel process itself (PID 2 of the box; the bootstrap when
        unsealed)."""
        root = self.pid
        if root is None or self.box is None or not self.box.sealed:
            return root
        for pid in _descendants(root):
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("NSpid:"):
                            ids = line.split()[1:]
                            if len(ids) > 1 and ids[-1] == "2":
                                return pid
        return None

    async def _async_signal_kernel(self, signum: int) -> None:
        """SIGINT (an interrupt) goes to the kernel inside the box; other signals to the box."""
        pid = self.kernel_pid if signum == signal.SIGINT else None
        if pid is not None and pid != self.pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signum)
            return
        await super()._async_signal_kernel(signum)

    @property
    def exit_status(self) -> int | None:
        """The kernel's exit code (negative: killed by that signal), if it ended. bubblewrap
        reports a kernel killed by signal ``n`` as ``128 + n``."""
        proc = getattr(self.provisioner, "process", None)
        code = proc.poll() if proc is not None else None
        if code is not None and self.box is not None and self.box.sealed and 128 < code < 160:
            return -(code - 128)
        return code

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the kernel's whole process tree (host side)."""
        pid = self.pid
        return tree_cpu_seconds(pid) if pid is not None else 0.0

    def kill_now(self) -> None:
        proc = getattr(self.provisioner, "process", None)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
            with contextlib.suppress(OSError):
                proc.kill()


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    return out


def _descendants(pid: int) -> list[int]:
    """``pid``'s descendants, breadth first (``/proc/<pid>/task/*/children``)."""
    out, todo = [], [pid]
    while todo:
        kids = _children(todo.pop(0))
        out += kids
        todo += kids
    return out


def _cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # fields[11..14]: utime, stime, cutime, cstime (stat fields 14–17), in clock ticks
    return sum(int(x) for x in fields[11:15]) / _TICK


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its descendants, including reaped children's (``cutime``):
    Σ (utime + stime + cutime + cstime) / CLK_TCK over the tree."""
    return _cpu(pid) + sum(_cpu(p) for p in _descendants(pid))


def _death_reason(status: int | None, memory_mb: int) -> str:
    if status is None:
        return "the kernel stopped responding / ядро перестало отвечать"
    if status < 0:
        sig = -status
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        reasons: dict[int, tuple[str, str]] = {
            signal.SIGSEGV: (
                "a segmentation fault (e.g. ctypes reading address 0)",
                "ошибка сегментации (например, ctypes читает адрес 0)",
            ),
            signal.SIGABRT: (
                f"an abort (often a C library out of memory; the limit is {memory_mb} MiB)",
                f"аварийное завершение (часто библиотеке на C "
                f"не хватило памяти; предел {memory_mb} МиБ)",
            ),
            signal.SIGKILL: ("it was killed", "процесс был убит"),
            signal.SIGXCPU: ("the CPU-time limit", "исчерпан лимит процессорного времени"),
            signal.SIGBUS: ("a bus error", "ошибка шины"),
            signal.SIGSYS: (
                f"it tried to start a process (fork/clone), which graded code may not do: "
                f"the box runs one process, so that its memory limit ({memory_mb} MiB) "
                f"cannot be multiplied",
                f"попытка запустить процесс (fork/clone), что проверяемому коду запрещено: "
                f"в песочнице один процесс, чтобы предел памяти ({memory_mb} МиБ) нельзя "
                f"было умножить",
            ),
        }
        why, ru = reasons.get(sig, ("a signal", "сигнал"))
        return f"the kernel crashed with {name}: {why} / ядро упало с {name}: {ru}"
    return (
        f"the kernel exited with status {status} (os._exit, or a crash) / "
        f"ядро завершилось с кодом {status} (os._exit или сбой)"
    )


death_reason = _death_reason
