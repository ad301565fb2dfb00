"""The grading kernel's bootstrap: it runs *inside* the kernel's box, before any student code.

The grader starts it as ``python -I -m course.pipeline.sandbox [options] -- <ipykernel
arguments>`` (``-I``: no working directory, user site or ``PYTHON*`` variable on ``sys.path``,
so a submitted ``json.py`` is never imported here), normally inside a bubblewrap box
(:mod:`.bwrap`, :class:`course.pipeline.kernels.SandboxKernelManager`). It

1. copies the submission's files (regular files, checked by the grader) from the read-only
   inbox into the scratch folder and makes that the working directory;
2. sets resource limits: address space (``--memory`` MiB), file size, processes, no core
   dumps, a CPU-time backstop for the whole kernel (cells are bounded by CPU time from the
   grader's side); then a seccomp filter lets the kernel start threads but no process
   (:func:`.confine._one_process`), so ``--memory`` bounds the whole box: a forked child
   cannot multiply it;
3. without a box only (``--unsafe-no-sandbox``), confines the process with Landlock;
4. installs the audit hook (PEP 578): it refuses, with a message naming the grader, writes
   outside the scratch folder, starting processes, signals and sockets — inside the box these
   would fail anyway or reach nothing; the hook's messages tell the TA what was tried;
5. connects the grading channel when ``COURSE_CHANNEL`` is set
   (``course.channel.kernel.connect_from_env``: the checks then run in the grader);
6. runs ipykernel.

Only the standard library is imported at module level: this file is the kernel's entry point.
"""

from __future__ import annotations

import json
import os
import resource
import sys

from .confine import (
    TAG,
    _install_audit_hook,
    _landlock,
    _one_process,
    _read_paths,
    _set_limits,
    landlock_abi,
)

__all__ = ["TAG", "landlock_abi", "main"]
_PRIVATE = (
    _install_audit_hook,
    _landlock,
    _one_process,
    _read_paths,
    _set_limits,
)  # imported by the tests


def _copy_inbox(inbox: str, scratch: str) -> None:
    """Copy ``inbox`` (the submission's regular files, read-only) into ``scratch``."""
    import shutil

    if inbox and os.path.isdir(inbox):
        shutil.copytree(inbox, scratch, symlinks=True, dirs_exist_ok=True)


def main(argv: list[str] | None = None) -> None:
    """``python -I -m course.pipeline.sandbox [--inbox D] [--scratch D] [--memory MB]
    [--cpu S] [--no-landlock] -- <ipykernel arguments>``."""
    import argparse

    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    p = argparse.ArgumentParser(prog="python -m course.pipeline.sandbox")
    p.add_argument("--inbox", default="", help="the submission's files, copied to the scratch")
    p.add_argument("--scratch", default="", help="the working directory (default: the current)")
    p.add_argument("--memory", type=int, default=4096, help="address-space limit, MiB")
    p.add_argument("--cpu", type=int, default=0, help="CPU-time limit, s (0: none)")
    p.add_argument("--file-size", type=int, default=256, help="largest file, MiB")
    p.add_argument("--processes", type=int, default=256, help="processes and threads")
    p.add_argument("--readable", nargs="*", default=[], help="extra readable folders")
    p.add_argument(
        "--unreadable",
        nargs="*",
        default=[],
        help="folders the audit hook refuses to read (Landlock refuses more)",
    )
    p.add_argument("--no-landlock", action="store_true")
    a = p.parse_args(argv[:split])
    kernel_argv = argv[split + 1 :]

    if a.scratch:
        os.makedirs(a.scratch, exist_ok=True)
        os.chdir(a.scratch)
    scratch = os.path.realpath(os.getcwd())
    _copy_inbox(a.inbox, scratch)
    for sub in ("tmp", "home"):
        os.makedirs(os.path.join(scratch, ".grader", sub), exist_ok=True)
    os.environ.update(
        TMPDIR=os.path.join(scratch, ".grader", "tmp"),
        HOME=os.path.join(scratch, ".grader", "home"),
        IPYTHONDIR=os.path.join(scratch, ".grader", "ipython"),
        MPLCONFIGDIR=os.path.join(scratch, ".grader", "mpl"),
    )

    connection = kernel_argv[kernel_argv.index("-f") + 1] if "-f" in kernel_argv else None
    ports: list[int] = []
    if connection:
        with open(connection) as f:
            info = json.load(f)
        ports = [int(v) for k, v in info.items() if k.endswith("_port")]

    _set_limits(a.memory, a.cpu, a.file_size)
    if a.processes > 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (a.processes, a.processes))
    if os.environ.get("COURSE_CHANNEL"):  # before the audit hook, which refuses sockets
        from course.channel.kernel import connect_from_env

        connect_from_env()  # kept in course.channel.kernel._CHANNEL
    writable = [scratch, "/dev/null"]
    if connection and info.get("transport") == "ipc":
        writable.append(os.path.dirname(str(info.get("ip"))))
    abi = 0
    if not a.no_landlock:
        readable = _read_paths(a.readable + ([connection] if connection else []))
        try:
            abi = _landlock(readable, writable, [*ports, 0])  # 0: ephemeral
        except OSError as exc:  # e.g. inside a container that blocks the syscalls
            print(f"{TAG} Landlock unavailable ({exc}); audit hook only", file=sys.stderr)
    os.environ["COURSE_SANDBOX_LANDLOCK"] = str(abi)
    unreadable = tuple(os.path.realpath(u) for u in a.unreadable)
    _install_audit_hook((scratch, "/dev/null"), unreadable)
    try:  # last: nothing above starts a process, nothing below may
        one = _one_process()
    except OSError as exc:
        one = False
        print(f"{TAG} processes not bounded ({exc}): --memory holds per process", file=sys.stderr)
    os.environ["COURSE_SANDBOX_ONE_PROCESS"] = str(int(one))

    sys.argv = [sys.argv[0], *kernel_argv]
    from ipykernel import ipkernel, kernelapp  # noqa: F401 (imported before the next line)

    sys.path.insert(0, "")  # the notebook may import its own modules, as in Jupyter
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    # run as the module `course.pipeline.sandbox` (not `__main__`)
    import course.pipeline.sandbox as _sandbox

    _sandbox.main()
