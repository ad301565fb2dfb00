"""The fork server: kernels start from a process that has already imported everything.

One fork server (``python -m course.pipeline.sandbox --zygote ADDRESS``) per grading worker
imports NumPy, IPython, ipykernel and the checks once; each kernel is a child forked from it
that applies the sandbox (:func:`course.pipeline.sandbox.main`). jupyter_client manages a small
:func:`proxy` process in the kernel's place, so that interrupt, kill and exit status work
unchanged. Only the standard library is imported at module level.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import resource
import signal
import sys
from collections.abc import Iterable
from typing import Any

from .confine import TAG

__all__ = ["ZYGOTE_PRELOAD", "proxy", "zygote"]

#: imported once by the fork server, so that each kernel starts in milliseconds
ZYGOTE_PRELOAD = ("numpy", "numpy.testing", "IPython", "ipykernel.kernelapp",
                  "ipykernel.ipkernel", "course.checks._core", "reference_impl")


def _address(path: str) -> str:
    """``@name`` is a Linux abstract socket name."""
    return "\0" + path[1:] if path.startswith("@") else path


def _watch(pid: int) -> None:
    """Exit when process ``pid`` (the proxy jupyter_client manages) is gone."""
    import select
    import threading

    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        return

    def wait() -> None:
        select.select([fd], [], [])
        os._exit(137)

    threading.Thread(target=wait, daemon=True, name="course-sandbox-watch").start()


def zygote(path: str, preload: Iterable[str]) -> None:
    """Serve kernels on the Unix socket ``path``: import ``preload``, then fork one child per
    request; each child applies the sandbox (:func:`main`) and runs the kernel. The exit
    status of every child is sent back on its request's connection."""
    import importlib
    import selectors
    import socket
    import threading

    for name in (*ZYGOTE_PRELOAD, *preload):
        try:
            importlib.import_module(name)
        except Exception as exc:
            print(f"{TAG} zygote: could not preload {name}: {exc}", file=sys.stderr)
    if threading.active_count() > 1 or len(os.listdir("/proc/self/task")) > 1:
        print(f"{TAG} zygote: threads after preloading; not forking", file=sys.stderr)
        return
    token = sys.stdin.readline().strip()  # not in argv or the environment: kernels cannot see it
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(_address(path))  # abstract: Landlock (ABI ≥ 6) keeps sandboxed kernels out
    srv.listen(16)
    print("ready", flush=True)
    rfd, wfd = os.pipe()
    os.set_blocking(wfd, False)
    signal.set_wakeup_fd(wfd)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ)
    sel.register(rfd, selectors.EVENT_READ)
    try:  # the worker that started this server: when it ends (Ctrl-C, a crash), so does this,
        parent = os.pidfd_open(os.getppid())  # and each proxy then kills its kernel
        sel.register(parent, selectors.EVENT_READ)
    except (OSError, AttributeError):
        parent = -1
    children: dict[int, Any] = {}
    while True:
        for key, _ in sel.select():
            if key.fileobj is srv:
                conn, _ = srv.accept()
                try:
                    req = json.loads(conn.makefile("r").readline())
                    if not hmac.compare_digest(str(req.get("token", "")), token):
                        raise ValueError("bad token")
                except (OSError, ValueError, AttributeError):
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        signal.set_wakeup_fd(-1)
                        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                        sel.close()
                        srv.close()
                        conn.close()
                        for fd in (rfd, wfd, parent):
                            if fd >= 0:
                                os.close(fd)
                        os.setsid()
                        os.chdir(req["cwd"])
                        os.environ.clear()
                        os.environ.update(req["env"])
                        _watch(int(req["proxy"]))
                        from .sandbox import main

                        main(req["argv"])
                        code = 0
                    except SystemExit as exc:
                        code = exc.code if isinstance(exc.code, int) else 1
                    finally:
                        os._exit(code)
                children[pid] = conn
                conn.sendall(f"{pid}\n".encode())
            elif key.fileobj == parent:
                os._exit(0)
            else:
                os.read(rfd, 4096)
                while True:
                    try:
                        pid, status = os.waitpid(-1, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if pid == 0:
                        break
                    conn = children.pop(pid, None)
                    if conn is not None:
                        try:
                            conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
                        except OSError:
                            pass
                        conn.close()


def proxy(path: str, argv: list[str]) -> None:
    """Stand in for a kernel forked by the :func:`zygote`: forward signals to it, end as it
    ends (same exit status or signal); jupyter_client manages this process as the kernel."""
    import socket

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    token = os.environ.get("COURSE_ZYGOTE_TOKEN", "")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_ZYGOTE")}
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(_address(path))
    conn.sendall((json.dumps({"argv": argv, "cwd": os.getcwd(), "env": env, "token": token,
                              "proxy": os.getpid()}) + "\n").encode())
    reply = conn.makefile("r")
    pid = int(reply.readline())
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                signal.SIGUSR2):
        signal.signal(sig, lambda n, _f: os.kill(pid, n))
    line = reply.readline()
    if not line:  # the fork server is gone
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        os._exit(1)
    code = int(line)
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code & 0xFF)
