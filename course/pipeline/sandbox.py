"""The grading kernel's sandbox: resource limits, a filesystem jail, and an integrity monitor.

This module runs *inside* the kernel process that executes a student's notebook; the grader
starts it as ``python -m course.pipeline.sandbox [options] -- <ipykernel arguments>`` (see
:class:`course.pipeline.kernels.SandboxKernelManager`). Before any student code runs it

1. sets resource limits: address space (``--memory`` MiB, default 4096), file size, no core
   dumps, a CPU-time backstop;
2. confines the process with Landlock (Linux ≥ 5.13, no privileges needed), when the kernel
   offers it: files can be written only under the scratch folder (the kernel's working
   directory) and read only from the Python installation, the course's packages, system folders
   and the scratch folder (not ``solutions/``, not the grader's work folder, not other
   students' submissions); no TCP connections, no signals to processes outside the sandbox;
3. installs an audit hook (PEP 578) that refuses, with a message naming the grader, writes
   outside the scratch folder, starting processes, signalling other processes and sockets — the
   same rules at the Python level, and the only ones where Landlock is missing;
4. imports the checks named by the grader and snapshots the objects grading relies on
   (:class:`Monitor`); the grader asks the monitor after every cell whether any of them changed.

The parts live in :mod:`.confine` (limits, Landlock, audit hook), :mod:`.monitor` (the
integrity monitor and the grader's probe) and :mod:`.forkserver` (kernels forked from a
pre-imported server). Only the standard library is imported at module level: this file is the
kernel's entry point.
"""

from __future__ import annotations

import json
import os
import sys

from . import monitor as _monitor
from .confine import TAG, _install_audit_hook, _landlock, _read_paths, _set_limits, landlock_abi
from .forkserver import ZYGOTE_PRELOAD, proxy, zygote
from .monitor import PROTECTED, Monitor, probe

__all__ = ["PROTECTED", "TAG", "ZYGOTE_PRELOAD", "Monitor", "landlock_abi", "main", "probe",
           "proxy", "zygote"]
_PRIVATE = (_install_audit_hook, _landlock, _read_paths, _set_limits)  # imported by the tests


def main(argv: list[str] | None = None) -> None:
    """``python -m course.pipeline.sandbox [--memory MB] [--cpu S] [--preload MOD…] [--key-file F]
    [--unreadable DIR…] [--readable DIR…] -- <ipykernel arguments>``."""
    import argparse

    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    p = argparse.ArgumentParser(prog="python -m course.pipeline.sandbox")
    p.add_argument("--memory", type=int, default=4096, help="address-space limit, MiB")
    p.add_argument("--cpu", type=int, default=0, help="CPU-time limit, s (0: none)")
    p.add_argument("--file-size", type=int, default=256, help="largest file, MiB")
    p.add_argument("--preload", nargs="*", default=[], help="modules to import and protect")
    p.add_argument("--key-file", default="", help="the monitor's key (deleted when read)")
    p.add_argument("--readable", nargs="*", default=[], help="extra readable folders")
    p.add_argument("--unreadable", nargs="*", default=[],
                   help="folders the audit hook refuses to read (Landlock refuses more)")
    p.add_argument("--no-landlock", action="store_true")
    a = p.parse_args(argv[:split])
    kernel_argv = argv[split + 1:]

    scratch = os.path.realpath(os.getcwd())
    for sub in ("tmp", "home"):
        os.makedirs(os.path.join(scratch, ".grader", sub), exist_ok=True)
    os.environ.update(TMPDIR=os.path.join(scratch, ".grader", "tmp"),
                      HOME=os.path.join(scratch, ".grader", "home"),
                      IPYTHONDIR=os.path.join(scratch, ".grader", "ipython"))
    if a.key_file:
        with open(a.key_file, "rb") as f:
            _monitor.set_key(f.read())
        os.unlink(a.key_file)

    connection = kernel_argv[kernel_argv.index("-f") + 1] if "-f" in kernel_argv else None
    ports: list[int] = []
    if connection:
        with open(connection) as f:
            info = json.load(f)
        ports = [int(v) for k, v in info.items() if k.endswith("_port")]

    _set_limits(a.memory, a.cpu, a.file_size)
    readable = _read_paths(a.readable + ([connection] if connection else []))
    devnull = ["/dev/null"]
    abi = 0
    if not a.no_landlock:
        try:
            abi = _landlock(readable, [scratch, *devnull], [*ports, 0])  # 0: ephemeral
        except OSError as exc:  # e.g. inside a container that blocks the syscalls
            print(f"{TAG} Landlock unavailable ({exc}); audit hook only", file=sys.stderr)
    os.environ["COURSE_SANDBOX_LANDLOCK"] = str(abi)
    unreadable = tuple(os.path.realpath(u) for u in a.unreadable)
    _install_audit_hook((scratch, *devnull), unreadable)

    _monitor.start()
    import importlib

    for name in ("numpy", "numpy.testing", "course", "course.checks", "course.checks._core",
                 *a.preload):
        try:
            importlib.import_module(name)
        except Exception as exc:  # a broken check module fails in the notebook, visibly
            print(f"{TAG} could not preload {name}: {exc}", file=sys.stderr)

    sys.argv = [sys.argv[0], *kernel_argv]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    # run as the module `course.pipeline.sandbox` (not `__main__`): the grader's probe finds it
    import course.pipeline.sandbox as _sandbox

    if sys.argv[1:2] == ["--zygote"]:
        _sandbox.zygote(sys.argv[2], sys.argv[3:])
    elif sys.argv[1:2] == ["--proxy"]:
        _sandbox.proxy(sys.argv[2], sys.argv[3:])
    else:
        _sandbox.main()
