"""The grading kernel, seen from the grader: a sandboxed kernel manager and the fork server.

* :class:`SandboxKernelManager` starts ``python -m course.pipeline.sandbox`` (limits, Landlock,
  audit hook, integrity monitor) in the submission's scratch folder, or a proxy for a kernel
  forked from the worker's fork server (:func:`start_zygote`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import List, Unicode

__all__ = ["SandboxKernelManager", "death_reason", "start_zygote", "zygote_alive"]


class SandboxKernelManager(AsyncKernelManager):
    """Starts ``python -m course.pipeline.sandbox <sandbox_args> -- <ipykernel arguments>``, or,
    with a fork server (:func:`start_zygote`), a proxy for a kernel forked from it."""

    sandbox_args = List(Unicode(), default_value=[])
    zygote = Unicode("")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        if "ipykernel_launcher" in cmd:
            rest = cmd[cmd.index("ipykernel_launcher") + 1:]
            via = ["--proxy", self.zygote] if self.zygote else []
            return [sys.executable, "-m", "course.pipeline.sandbox", *via, *self.sandbox_args, "--",
                    *rest]
        return cmd

    @property
    def exit_status(self) -> int | None:
        """The kernel process's exit code (negative: killed by that signal), if it ended."""
        proc = getattr(self.provisioner, "process", None)
        return proc.poll() if proc is not None else None

    def kill_now(self) -> None:
        proc = getattr(self.provisioner, "process", None)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
            with contextlib.suppress(OSError):
                proc.kill()


def start_zygote(preload: tuple[str, ...] = (), log: Path | None = None) -> Any:
    """Start a fork server for sandboxed kernels (one per worker process) and point this
    process's kernels at it (``COURSE_ZYGOTE`` in the environment). Returns the process, or
    None where it cannot work (then kernels start the usual way)."""
    import select
    import subprocess

    if not hasattr(os, "fork") or not hasattr(os, "pidfd_open") or not sys.platform.startswith(
            "linux"):
        return None
    address = "@course-zygote-" + secrets.token_hex(8)
    token = secrets.token_hex(16)
    err = open(log, "ab") if log else subprocess.DEVNULL
    from ..authoring.nbgrader_setup import KERNEL_ENV

    proc = subprocess.Popen([sys.executable, "-m", "course.pipeline.sandbox", "--zygote", address,
                             *preload], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=err, env={**os.environ, **KERNEL_ENV})  # one BLAS thread
    proc.stdin.write(token.encode() + b"\n")
    proc.stdin.close()
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    if not ready or proc.stdout.readline().strip() != b"ready":
        proc.kill()
        return None
    os.environ["COURSE_ZYGOTE"] = address
    os.environ["COURSE_ZYGOTE_TOKEN"] = token
    return proc


def _zygote_alive(address: str) -> bool:
    import socket

    from .sandbox import _address

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(_address(address))
        return True
    except OSError:
        return False


def _death_reason(status: int | None, memory_mb: int) -> str:
    if status is None:
        return "the kernel stopped responding / ядро перестало отвечать"
    if status < 0:
        sig = -status
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        why, ru = {
            signal.SIGSEGV: ("a segmentation fault (e.g. ctypes reading address 0)",
                             "ошибка сегментации (например, ctypes читает адрес 0)"),
            signal.SIGABRT: (f"an abort (often a C library out of memory; the limit is "
                             f"{memory_mb} MiB)", f"аварийное завершение (часто библиотеке на C "
                                                  f"не хватило памяти; предел {memory_mb} МиБ)"),
            signal.SIGKILL: ("it was killed", "процесс был убит"),
            signal.SIGXCPU: ("the CPU-time limit", "исчерпан лимит процессорного времени"),
            signal.SIGBUS: ("a bus error", "ошибка шины")}.get(sig, ("a signal", "сигнал"))
        return f"the kernel crashed with {name}: {why} / ядро упало с {name}: {ru}"
    return (f"the kernel exited with status {status} (os._exit, or a crash) / "
            f"ядро завершилось с кодом {status} (os._exit или сбой)")


zygote_alive = _zygote_alive
death_reason = _death_reason
