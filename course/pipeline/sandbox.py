"""The grading kernel's sandbox: resource limits, a filesystem jail, and an integrity monitor.

This module runs *inside* the kernel process that executes a student's notebook; the grader
starts it as ``python -m course.pipeline.sandbox [options] -- <ipykernel arguments>`` (see
:class:`course.execution.SandboxKernelManager`). Before any student code runs it

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

Only the standard library is imported at module level: this file is the kernel's entry point.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import hmac
import json
import os
import resource
import signal
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["TAG", "Monitor", "landlock_abi", "main", "probe"]

#: prefix of every message of the sandbox, so that the grader can recognise denials in outputs
TAG = "[course-sandbox]"

# ---------------------------------------------------------------------------------------------
# Landlock (include/uapi/linux/landlock.h), through raw syscalls
# ---------------------------------------------------------------------------------------------
_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446  # same numbers on x86_64 and arm64
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_WRITE_DIR = sum(1 << b for b in range(4, 13))  # remove dir/file, make char/dir/reg/sock/…
_FS_REFER, _FS_TRUNCATE = 1 << 13, 1 << 14
_NET_BIND, _NET_CONNECT = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1
_PR_SET_NO_NEW_PRIVS = 38


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPort(ctypes.Structure):
    _fields_ = [("allowed", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: not available)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        r = _libc().syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(int(r), 0)


def _landlock(read: Iterable[str], write: Iterable[str], bind_ports: Iterable[int]) -> int:
    """Restrict this process (and its future threads and children); return the ABI used."""
    abi = landlock_abi()
    if abi < 1:
        return 0
    libc = _libc()
    read_rights = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
    write_rights = _FS_WRITE_FILE | _FS_WRITE_DIR | (_FS_REFER if abi >= 2 else 0) | (
        _FS_TRUNCATE if abi >= 3 else 0)
    attr = _RulesetAttr(read_rights | write_rights, (_NET_BIND | _NET_CONNECT) if abi >= 4 else 0,
                        (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    fd = libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        file_rights = _FS_EXECUTE | _FS_READ_FILE | _FS_WRITE_FILE | (
            _FS_TRUNCATE if abi >= 3 else 0)

        def allow(path: str, rights: int) -> None:
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                return
            try:
                if not os.path.isdir(path):
                    rights &= file_rights
                rule = _PathBeneath(rights, pfd)
                if libc.syscall(_SYS_ADD_RULE, fd, 1, ctypes.byref(rule), 0) < 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
            finally:
                os.close(pfd)

        for path in read:
            allow(path, read_rights)
        for path in write:
            allow(path, read_rights | write_rights)
        if abi >= 4:
            for port in bind_ports:
                rule = _NetPort(_NET_BIND, port)
                if libc.syscall(_SYS_ADD_RULE, fd, 2, ctypes.byref(rule), 0) < 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule port {port}")
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(_SYS_RESTRICT, fd, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(fd)
    return abi


# ---------------------------------------------------------------------------------------------
# the audit hook
# ---------------------------------------------------------------------------------------------
_SPAWN_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                 "os.fork", "os.forkpty", "pty.spawn", "os.startfile"}
_PATH_EVENTS = {"os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.symlink", "os.link",
                "os.truncate", "os.chmod", "os.chown", "os.utime", "shutil.rmtree",
                "os.chflags", "os.setxattr", "os.removexattr", "os.lockf"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
#: every event the hook acts on; all others return at once (the checks' own run-time guard
#: alone raises hundreds of thousands of ``object.__getattr__`` events per notebook)
_WATCHED = frozenset({"open", "os.kill", "os.killpg", "socket.connect", "socket.bind",
                      "socket.sendto"} | _SPAWN_EVENTS | _PATH_EVENTS)


def _inside(path: Any, roots: tuple[str, ...]) -> bool:
    if isinstance(path, int) or path is None:
        return True  # an already open descriptor: checked when it was opened
    try:
        real = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    return any(real == r or real.startswith(r + os.sep) for r in roots)


def _install_audit_hook(writable: tuple[str, ...], unreadable: tuple[str, ...]) -> None:
    """Refuse writes outside ``writable``, reads under ``unreadable``, processes, signals to
    other processes and sockets (raised as PermissionError in the student's code)."""
    me = os.getpid()
    deny = PermissionError

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in _WATCHED:
            return
        if event == "open":
            path, mode, flags = (*args, None, None, None)[:3]
            writing = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+"))
            if writing and not _inside(path, writable):
                raise deny(f"{TAG} writing {os.fsdecode(path)!r} is not allowed: only the "
                           f"scratch folder (the working directory) is writable while grading")
            if unreadable and isinstance(path, (str, bytes, os.PathLike)) and _inside(
                    path, unreadable) and not _inside(path, writable):
                raise deny(f"{TAG} reading {os.fsdecode(path)!r} is not allowed while grading")
        elif event in _PATH_EVENTS:
            for path in args[:2]:
                if isinstance(path, (str, bytes, os.PathLike)) and not _inside(path, writable):
                    raise deny(f"{TAG} {event} on {os.fsdecode(path)!r} is not allowed "
                               f"outside the scratch folder")
        elif event in _SPAWN_EVENTS:
            raise deny(f"{TAG} starting processes ({event}) is not allowed while grading")
        elif event in ("os.kill", "os.killpg"):
            if event == "os.killpg" or (args and args[0] not in (me, 0)):
                raise deny(f"{TAG} signalling other processes is not allowed while grading")
        elif event in ("socket.connect", "socket.bind", "socket.sendto"):
            raise deny(f"{TAG} network access is not allowed while grading")

    sys.addaudithook(hook)


# ---------------------------------------------------------------------------------------------
# the integrity monitor
# ---------------------------------------------------------------------------------------------
#: module prefixes whose objects grading relies on
PROTECTED = ("course", "numpy", "builtins", "reference_impl")
#: names IPython puts into builtins while it runs a cell
_IPYTHON_BUILTINS = {"get_ipython", "exit", "quit", "display", "__IPYTHON__", "dreload",
                     "__builtins__", "_", "__", "___"}


def _protected(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PROTECTED)


class Monitor:
    """Snapshots of what grading relies on; :meth:`check` lists what changed since.

    Protected: every attribute of the modules of ``course``, ``numpy`` (``numpy.testing``
    included), ``reference_impl`` and ``builtins``, with the code, defaults and class
    dictionaries behind them; the profile/trace hooks, ``sys.stdout``/``stderr``, import hooks;
    IPython's input and AST transformers, event callbacks and execution methods; and the names
    that locked cells bind to protected modules in the notebook (``check``, ``np``).
    """

    def __init__(self) -> None:
        self.modules: dict[str, tuple[Any, dict[str, Any]]] = {}
        self.own: dict[str, set[str]] = {}  # names a module defines (reported first)
        self.objects: dict[int, tuple[str, Any, Any]] = {}
        self.user: dict[str, Any] = {}
        self.sys_state: dict[str, Any] = {}
        self.shell_state: dict[str, Any] = {}

    # snapshots (references, compared with `is`: no id() calls, which are audited events) ----
    def _snapshot_module(self, name: str, module: Any) -> None:
        try:
            attrs = dict(vars(module))
        except TypeError:
            return
        self.modules[name] = (module, attrs)
        self.own[name] = {k for k, v in attrs.items()
                          if getattr(v, "__module__", None) == name or (callable(v) and
                                                                        name == "builtins")}
        for k, v in attrs.items():
            if getattr(v, "__module__", None) == name or name == "builtins":
                self._snapshot_object(f"{name}.{k}", v)

    def _snapshot_object(self, label: str, obj: Any) -> None:
        key = id(obj)
        if key in self.objects:
            return
        if isinstance(obj, type):
            self.objects[key] = (label, obj, dict(vars(obj)))
        elif hasattr(obj, "__code__"):
            self.objects[key] = (label, obj, (obj.__code__, getattr(obj, "__defaults__", None),
                                              getattr(obj, "__kwdefaults__", None)))

    def _sys(self) -> dict[str, Any]:
        return {"trace": sys.gettrace(), "profile": sys.getprofile(), "stdout": sys.stdout,
                "stderr": sys.stderr, "excepthook": sys.excepthook,
                "meta_path": list(sys.meta_path), "path_hooks": list(sys.path_hooks)}

    def _shell(self) -> dict[str, Any]:
        ip = _get_ipython()
        if ip is None:
            return {}
        state: dict[str, Any] = {"class": type(ip), "instance": set(vars(ip))}
        for attr in ("input_transformers_cleanup", "input_transformers_post",
                     "ast_transformers"):
            state[attr] = [id(x) for x in getattr(ip, attr, [])]
        state["events"] = {k: [id(f) for f in v]
                           for k, v in getattr(ip.events, "callbacks", {}).items()}
        for klass in type(ip).__mro__[:4]:
            self._snapshot_object(f"IPython {klass.__name__}", klass)
        return state

    def baseline(self) -> None:
        """Snapshot everything (called before any student code runs)."""
        for name, module in list(sys.modules.items()):
            if _protected(name) and module is not None:
                self._snapshot_module(name, module)
        self.sys_state = self._sys()
        self.shell_state = self._shell()

    def bind_user(self, names: Iterable[str]) -> None:
        """After a locked cell: remember which notebook names it bound to protected modules."""
        ns = _user_ns()
        for name in names:
            value = ns.get(name)
            if isinstance(value, type(sys)) and _protected(value.__name__):
                self.user[name] = value

    # checks -------------------------------------------------------------------------------------
    def check(self) -> list[str]:
        """What changed since the snapshots (an empty list when nothing did)."""
        changes: list[str] = []
        minor: list[str] = []  # imported names rebound: reported after the module's own
        missing = object()
        for name, (module, attrs) in self.modules.items():
            if sys.modules.get(name) is not module:
                changes.append(f"sys.modules[{name!r}] was replaced")
            try:
                now = vars(module)
            except TypeError:
                continue
            own = self.own.get(name, ())
            for k, v in attrs.items():
                got = now.get(k, missing)
                if got is v or (name == "builtins" and k in _IPYTHON_BUILTINS):
                    continue
                where = changes if k in own else minor
                where.append(f"{name}.{k} was " + ("deleted" if got is missing else "replaced"))
            if name == "builtins" and len(now) != len(attrs):
                added = set(now) - set(attrs) - _IPYTHON_BUILTINS
                if added:
                    changes.append(f"builtins gained {sorted(added)[:5]}")
        for label, obj, state in self.objects.values():
            if isinstance(obj, type):
                now_cls = vars(obj)
                if len(now_cls) != len(state) or any(now_cls.get(k, missing) is not v
                                                     for k, v in state.items()):
                    diff = sorted(k for k in set(now_cls) | set(state)
                                  if now_cls.get(k, missing) is not state.get(k, missing))
                    changes.append(f"class {label} was modified ({', '.join(diff[:5])})")
            else:
                code, defaults, kwdefaults = state
                if obj.__code__ is not code or getattr(obj, "__defaults__", None) is not \
                        defaults or getattr(obj, "__kwdefaults__", None) is not kwdefaults:
                    changes.append(f"function {label} was modified (its code or defaults)")
        for key, value in self._sys().items():
            before = self.sys_state.get(key)
            if isinstance(value, list):
                if len(value) != len(before or []) or any(
                        a is not b for a, b in zip(value, before or [], strict=False)):
                    changes.append(f"sys.{key} was modified")
            elif value is not before:
                changes.append(f"sys.{key} was replaced" if key in ("stdout", "stderr",
                                                                      "excepthook")
                               else f"a {key} hook was left installed (sys.set{key})")
        shell = self._shell()
        for key, value in self.shell_state.items():
            if key == "instance":
                extra = {a for a in shell.get(key, set()) - value
                         if callable(getattr(_get_ipython(), a, None))}
                if extra:
                    changes.append(f"the IPython shell's methods were replaced: {sorted(extra)}")
            elif shell.get(key) != value:
                changes.append(f"IPython's {key} were modified")
        ns = _user_ns()
        for name, value in self.user.items():
            if ns.get(name, missing) is not value:
                changes.append(f"the notebook name {name!r} (bound by a locked cell) was rebound")
        return changes + minor


def _get_ipython() -> Any:
    mod = sys.modules.get("IPython.core.getipython")
    return mod.get_ipython() if mod else None


def _user_ns() -> dict[str, Any]:
    ip = _get_ipython()
    return ip.user_ns if ip is not None else {}


_MONITOR: Monitor | None = None
_KEY: list[bytes] = []


def probe(kind: str, nonce: str, names: tuple[str, ...] = ()) -> str:
    """The grader's question after a cell: JSON ``{"changes": […], "verdicts": […], "mac": …}``
    (``verdicts``: what the checks recorded since the last probe, see
    :mod:`course.checks._verdict`).

    ``kind``: ``baseline`` (snapshot), ``locked`` (check, then remember ``names``) or ``check``.
    The MAC (HMAC-SHA256 with a key the grader handed over a file that is deleted at start-up)
    lets the grader tell the monitor's answer from a forged one.
    """
    monitor = _MONITOR
    if monitor is None:
        changes = ["the integrity monitor is missing"]
    elif kind == "baseline":
        monitor.baseline()
        changes = []
    else:
        changes = monitor.check()
        if kind == "locked":
            monitor.bind_user(names)
    ledger = sys.modules.get("course.checks._verdict")
    verdicts = [list(v) for v in ledger.take()] if ledger is not None else []
    payload = json.dumps([changes, verdicts])
    mac = hmac.new(_KEY[0] if _KEY else b"", (nonce + payload).encode(), hashlib.sha256)
    return json.dumps({"changes": changes, "verdicts": verdicts, "mac": mac.hexdigest()})


# ---------------------------------------------------------------------------------------------
# the launcher
# ---------------------------------------------------------------------------------------------
def _set_limits(memory_mb: int, cpu_s: int, file_mb: int) -> None:
    if memory_mb > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    if cpu_s > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    if file_mb > 0:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb << 20, file_mb << 20))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-large write fails, no kill
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _read_paths(extra: Iterable[str]) -> list[str]:
    """Where a grading kernel may read: Python, the course's packages, system folders."""
    import importlib.util

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             "/usr", "/lib", "/lib64", "/bin", "/etc", "/proc", "/sys", "/dev", "/opt"}
    paths.update(p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p)
    for pkg in ("course", "reference_impl"):
        spec = importlib.util.find_spec(pkg)
        paths.update(spec.submodule_search_locations or [] if spec else [])
    paths.update(extra)
    out = set()
    for p in paths:
        if p and os.path.exists(p):
            out.update({p, os.path.realpath(p)})
    return sorted(out)


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
            _KEY.append(f.read())
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

    global _MONITOR
    _MONITOR = Monitor()
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


# ---------------------------------------------------------------------------------------------
# the fork server: kernels start from a process that has already imported everything
# ---------------------------------------------------------------------------------------------
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
                        for fd in (rfd, wfd):
                            os.close(fd)
                        os.setsid()
                        os.chdir(req["cwd"])
                        os.environ.clear()
                        os.environ.update(req["env"])
                        _watch(int(req["proxy"]))
                        main(req["argv"])
                        code = 0
                    except SystemExit as exc:
                        code = exc.code if isinstance(exc.code, int) else 1
                    finally:
                        os._exit(code)
                children[pid] = conn
                conn.sendall(f"{pid}\n".encode())
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


if __name__ == "__main__":
    # run as the module `course.pipeline.sandbox` (not `__main__`): the grader's probe finds it
    import course.pipeline.sandbox as _sandbox

    if sys.argv[1:2] == ["--zygote"]:
        _sandbox.zygote(sys.argv[2], sys.argv[3:])
    elif sys.argv[1:2] == ["--proxy"]:
        _sandbox.proxy(sys.argv[2], sys.argv[3:])
    else:
        _sandbox.main()
