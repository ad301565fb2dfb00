"""Confinement of a grading kernel: resource limits, Landlock and the audit hook.

Used by :mod:`course.pipeline.sandbox` inside the kernel process, before any student code runs.
Only the standard library is imported: this code runs at the kernel's start.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["TAG", "install_audit_hook", "landlock", "landlock_abi", "read_paths", "set_limits"]

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
    write_rights = (
        _FS_WRITE_FILE
        | _FS_WRITE_DIR
        | (_FS_REFER if abi >= 2 else 0)
        | (_FS_TRUNCATE if abi >= 3 else 0)
    )
    attr = _RulesetAttr(
        read_rights | write_rights,
        (_NET_BIND | _NET_CONNECT) if abi >= 4 else 0,
        (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0,
    )
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    fd = libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        file_rights = (
            _FS_EXECUTE | _FS_READ_FILE | _FS_WRITE_FILE | (_FS_TRUNCATE if abi >= 3 else 0)
        )

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
_SPAWN_EVENTS = {
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "os.startfile",
}
_PATH_EVENTS = {
    "os.remove",
    "os.rmdir",
    "os.mkdir",
    "os.rename",
    "os.symlink",
    "os.link",
    "os.truncate",
    "os.chmod",
    "os.chown",
    "os.utime",
    "shutil.rmtree",
    "os.chflags",
    "os.setxattr",
    "os.removexattr",
    "os.lockf",
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
#: every event the hook acts on; all others return at once (the checks' own run-time guard
#: alone raises hundreds of thousands of ``object.__getattr__`` events per notebook)
_WATCHED = frozenset(
    {"open", "os.kill", "os.killpg", "socket.connect", "socket.bind", "socket.sendto"}
    | _SPAWN_EVENTS
    | _PATH_EVENTS
)


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
                isinstance(mode, str) and any(c in mode for c in "wax+")
            )
            if writing and not _inside(path, writable):
                raise deny(
                    f"{TAG} writing {os.fsdecode(path)!r} is not allowed: only the "
                    f"scratch folder (the working directory) is writable while grading"
                    f" / запись в {os.fsdecode(path)!r} запрещена: при проверке можно "
                    f"писать только во временную папку (рабочий каталог)"
                )
            if (
                unreadable
                and isinstance(path, (str, bytes, os.PathLike))
                and _inside(path, unreadable)
                and not _inside(path, writable)
            ):
                raise deny(
                    f"{TAG} reading {os.fsdecode(path)!r} is not allowed while grading / "
                    f"чтение {os.fsdecode(path)!r} при проверке запрещено"
                )
        elif event in _PATH_EVENTS:
            for path in args[:2]:
                if isinstance(path, (str, bytes, os.PathLike)) and not _inside(path, writable):
                    raise deny(
                        f"{TAG} {event} on {os.fsdecode(path)!r} is not allowed "
                        f"outside the scratch folder / {event} для "
                        f"{os.fsdecode(path)!r} запрещён вне временной папки"
                    )
        elif event in _SPAWN_EVENTS:
            raise deny(
                f"{TAG} starting processes ({event}) is not allowed while grading / "
                f"запуск процессов ({event}) при проверке запрещён"
            )
        elif event in ("os.kill", "os.killpg"):
            if event == "os.killpg" or (args and args[0] not in (me, 0)):
                raise deny(
                    f"{TAG} signalling other processes is not allowed while grading / "
                    f"посылать сигналы другим процессам при проверке запрещено"
                )
        elif event in ("socket.connect", "socket.bind", "socket.sendto"):
            raise deny(
                f"{TAG} network access is not allowed while grading / "
                f"доступ к сети при проверке запрещён"
            )

    sys.addaudithook(hook)


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

    paths = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        "/usr",
        "/lib",
        "/lib64",
        "/bin",
        "/etc",
        "/proc",
        "/sys",
        "/dev",
        "/opt",
    }
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


# public names (the leading underscores are kept for older imports)
landlock = _landlock
install_audit_hook = _install_audit_hook
set_limits = _set_limits
read_paths = _read_paths


# ---------------------------------------------------------------------------------------------
# One process per box: a seccomp filter (include/uapi/linux/seccomp.h, filter.h)
# ---------------------------------------------------------------------------------------------
#: syscall numbers per audit architecture: clone, fork, vfork, clone3, and those refused
#: with EPERM (ptrace, process_vm_writev, memfd_create, shmget, memfd_secret)
_SYSCALLS = {
    0xC000003E: (56, 57, 58, 435, (101, 311, 319, 29, 447)),  # x86_64
    0xC00000B7: (220, -1, -1, 435, (117, 271, 279, 194, 447)),  # aarch64
}
_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_CLONE_THREAD = 0x00010000
_RET_KILL_PROCESS, _RET_ALLOW, _RET_ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
_LD, _JEQ, _JSET, _JGE, _RET = 0x20, 0x15, 0x45, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|…|K, BPF_RET|K
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _one_process_program(arch: int) -> list[tuple[int, int, int, int]]:
    """The BPF program of :func:`one_process`: ``(code, jt, jf, k)`` instructions."""
    import errno

    clone, fork, vfork, clone3, refused = _SYSCALLS[arch]
    kill = (_RET, 0, 0, _RET_KILL_PROCESS)
    allow = (_RET, 0, 0, _RET_ALLOW)
    prog = [
        (_LD, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 1, 0, arch),
        kill,  # another ABI (i386 through int 0x80): never
        (_LD, 0, 0, 0),  # seccomp_data.nr
        (_JGE, 0, 1, 0x40000000),
        kill,  # x32 numbers
        (_JEQ, 0, 1, clone3),
        (_RET, 0, 0, _RET_ERRNO | errno.ENOSYS),  # its flags are in memory: glibc falls back
    ]
    for nr in refused:
        prog += [(_JEQ, 0, 1, nr), (_RET, 0, 0, _RET_ERRNO | errno.EPERM)]
    for nr in (fork, vfork):
        if nr >= 0:
            prog += [(_JEQ, 0, 1, nr), kill]
    prog += [
        (_JEQ, 1, 0, clone),
        allow,
        (_LD, 0, 0, 16),  # the low half of args[0]: clone's flags
        (_JSET, 1, 0, _CLONE_THREAD),
        kill,  # a new process
        allow,  # a thread: shares the address space, and its limit
    ]
    return prog


def _one_process() -> bool:
    """Let this process start threads but no process, ever (a seccomp filter, inherited and
    irrevocable): a ``fork``, ``vfork`` or ``clone`` of a process kills it with SIGSYS, and
    ``ptrace``, ``process_vm_writev``, ``memfd_create``, ``shmget``, ``memfd_secret`` fail with
    EPERM. Then the address-space limit bounds all the memory of the box: a forked child cannot
    multiply it, nor memory held outside any address space (a memfd, a SysV segment). False
    where unsupported (not Linux x86_64 or aarch64)."""
    import platform

    arch = _ARCH.get(platform.machine())
    if not sys.platform.startswith("linux") or arch is None:
        return False
    prog = _one_process_program(arch)
    table = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    fprog = _SockFprog(len(prog), table)
    libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")
    return True
