"""The checker's side: the checks run here, in the grader's process, outside the sandbox.

:class:`Checker` listens on a Unix socket, accepts the one kernel of one notebook and serves it
in a thread: the kernel's stub of ``check.t2_1(Dual, …)`` sends the student's objects (as
handles), the real check runs here with them as proxies, and the kernel gets the verdict's text
back. The verdict that counts is the one kept here (:class:`CellVerdict`), per grade cell.

What the kernel can reach of this side (:class:`CheckerPolicy`): only the objects a check
handed over (the arguments it passed to the student's code and what their calls return), only
their call, their public attributes (not of functions, bound methods, classes or modules; never
a name starting with ``_``) and operators. Handles are released when the check ends.
"""

from __future__ import annotations

import importlib
import os
import re
import socket
import threading
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .codec import ChannelError
from .endpoint import ChannelLost, Endpoint, Policy
from .faithful import Mirror, enabled
from .limits import BoundedEndpoint, ResultTooLarge

__all__ = ["CellVerdict", "Checker", "CheckerPolicy"]

_CHECK_NAME = re.compile(r"(hidden_)?t\d+_\d+\Z")
_PUBLIC = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
LOST = (
    "the kernel stopped while the check was running (crash, memory or time limit)"
    " / ядро остановилось во время проверки (сбой, предел памяти или времени)"
)


@dataclass(frozen=True)
class CellVerdict:
    """The checker's verdict for one grade cell (the only thing that scores it)."""

    passed: bool
    ran: tuple[str, ...]
    messages: tuple[str, ...]
    kernel_lost: bool


@dataclass
class _Cell:
    index: int
    task: str | None
    expected: tuple[str, ...]
    ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    cause: tuple[int, int, str, int, str, str] | None = None  # a broken cell (see _note)


_ERRORS = ("SyntaxError", "IndentationError", "TabError")


#: attribute names never served by the checker: files, pickles, raw memory, submodules
DENIED = frozenset(
    {
        "tofile",
        "dump",
        "dumps",
        "load",
        "loads",
        "save",
        "savez",
        "savez_compressed",
        "savetxt",
        "loadtxt",
        "genfromtxt",
        "fromfile",
        "fromregex",
        "memmap",
        "DataSource",
        "lib",
        "ctypes",
        "ctypeslib",
        "testing",
        "f2py",
        "show_config",
        "show_runtime",
        "info",
        "get_include",
        "open",
        "system",
        "popen",
        "base",
        "data",
        "__globals__",
    }
)


#: a check that passed although the kernel's code changed one of its arguments in place
ARGUMENT_CHANGED = (
    "input changed in place: the code under test wrote into an argument the check passed it "
    "(x += …, x[i] = …, x.clear()); build new arrays instead / аргумент изменён на месте: "
    "проверяемый код записал в переданный ему аргумент; создавайте новые массивы"
)


def _not_run(cell: _Cell) -> str:
    """``Task 3.4 did not run: SyntaxError in cell 13 (In [12]), line 3 (…)``, bilingual."""
    from course.checks._syntax import Broken, explain

    assert cell.cause is not None
    prompt, index, kind, line, text, name = cell.cause
    task = (cell.task or "")[1:].replace("_", ".") or None
    broken = Broken(prompt, kind, line, text, frozenset(), "")
    return explain(name, task, broken, where=f"cell {index + 1} (In [{prompt}])")


class CheckerPolicy(Policy):
    """Call and public attributes of handed-over objects only (see the module's docstring)."""

    _OPAQUE = (
        types.FunctionType,
        types.BuiltinFunctionType,
        types.MethodType,
        types.BuiltinMethodType,
        types.ModuleType,
        type,
        staticmethod,
        classmethod,
    )

    def _opaque(self, obj: Any) -> bool:
        return isinstance(obj, self._OPAQUE) or bool(getattr(type(obj), "channel_opaque", False))

    def type_of(self, obj: Any) -> type | None:
        """Only the course's own classes (not arrays: ``type(a)(shape)`` would allocate)."""
        cls = type(obj)
        if (
            self._opaque(obj)
            or issubclass(cls, np.ndarray)
            or not str(cls.__module__).startswith(("course.", "reference_impl"))
        ):
            return None
        return cls

    def check_attr(self, obj: Any, name: str, write: bool) -> None:
        if not _PUBLIC.match(name) or name in DENIED:
            raise AttributeError(f"{name!r}: the checker's objects show public attributes only")
        if self._opaque(obj):
            raise AttributeError(f"{name!r}: the checker's functions can only be called")
        if write and getattr(type(obj), "channel_readonly", False):
            raise AttributeError(f"{name!r}: this object of the checker is read-only")

    def check_call(self, obj: Any) -> None:
        if not callable(obj):
            raise TypeError(f"{type(obj).__name__} object is not callable")


class Checker:
    """Run ``package``'s checks for one kernel connected at ``socket_path`` (see the module)."""

    def __init__(
        self, package: str, socket_path: Path, *, lost_wait: float = 10.0, module: Any = None
    ):
        if not re.fullmatch(r"[a-z_]+", package):
            raise ValueError(f"not a checks package: {package!r}")
        self.package = package
        self.socket_path = Path(socket_path)
        self.lost_wait = lost_wait
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.socket_path.exists():
            self.socket_path.unlink()
        self._listener.bind(os.fspath(self.socket_path))
        os.chmod(self.socket_path, 0o666)  # the sandbox's user connects
        self._listener.listen(1)
        self._lock = threading.Condition()
        self._cell: _Cell | None = None
        self._running: str | None = None  # the check in progress
        self._lost = False
        self._thread: threading.Thread | None = None
        self._conn: socket.socket | None = None
        self.endpoint: BoundedEndpoint | None = None
        self._module: Any = module  # the checks (a test may give its own; else the package)
        self.checks_run = 0
        # the kernel's notes of cells that did not run (prompt number -> cell, kind, line, text)
        self._broken: dict[int, tuple[int, str, int, str]] = {}

    # -- the executor's API -----------------------------------------------------------------
    def start(self) -> None:
        """Accept exactly one connection and serve it in a daemon thread."""
        if self._module is None:
            self._module = importlib.import_module(f"course.checks.{self.package}")
        self._thread = threading.Thread(
            target=self._serve, name=f"checker-{self.package}", daemon=True
        )
        self._thread.start()

    def begin_cell(self, index: int, task: str | None, expected: tuple[str, ...] = ()) -> None:
        """Before a cell runs: the checks it may call (none for a cell that is not graded)."""
        with self._lock:
            self._cell = _Cell(index, task, tuple(expected))
            if self.endpoint is not None:
                self.endpoint.new_cell()  # the memory bound counts per cell

    def end_cell(self, index: int) -> CellVerdict:
        """After the cell ran (or its kernel died): the verdict of its checks."""
        with self._lock:
            deadline = time.monotonic() + self.lost_wait
            while self._running is not None and not self._lost:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            cell = self._cell
            self._cell = None
            if cell is None or cell.index != index:
                return CellVerdict(False, (), ("no checks ran in this cell",), self._lost)
            messages = list(cell.messages)
            if self._running is not None:  # stuck: the cell ended without the verdict
                messages.append(f"{self._running}: {LOST}")
            missing = [n for n in cell.expected if n not in cell.ran]
            if missing and not messages and cell.cause is not None:
                messages.append(_not_run(cell))
            elif missing and not messages:
                messages.append(
                    f"the cell did not run {', '.join(missing)} "
                    f"/ ячейка не запустила {', '.join(missing)}"
                )
            passed = bool(cell.expected) and not missing and not cell.failed and not messages
            return CellVerdict(passed, tuple(cell.ran), tuple(messages), self._lost)

    def close(self) -> None:
        """Stop listening and drop the connection (the thread ends with it)."""
        for s in (self._conn, self._listener):
            if s is not None:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.socket_path.unlink()
        except OSError:
            pass

    @property
    def kernel_lost(self) -> bool:
        return self._lost

    # -- the thread -------------------------------------------------------------------------
    def _serve(self) -> None:
        try:
            self._conn, _ = self._listener.accept()
        except OSError:
            return
        self.endpoint = ep = BoundedEndpoint(
            self._conn,
            CheckerPolicy(),
            extra={"hello": self._hello, "check": self._check, "note": self._note},
        )
        if enabled():  # the kernel's changes in place written into this side's objects
            ep.mirror = Mirror()
        try:
            while True:
                header, buffers = ep.recv()
                if "q" in header:  # a reply to no request (a forged one came first): dropped
                    ep.serve(header, buffers)
        except (ChannelLost, ChannelError, OSError):
            pass  # a malformed frame leaves the stream unreadable: nothing more can be served
        finally:
            with self._lock:
                self._lost = True
                if self._running is not None and self._cell is not None:
                    self._fail(self._cell, self._running, f"{self._running}: {LOST}")
                self._running = None
                self._lock.notify_all()
            try:  # the kernel waiting for a reply gets end-of-file now, not at its time limit
                self._conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _hello(self, ep: Endpoint, header: dict[str, Any], buffers: list[memoryview]) -> Any:
        mod = self._module
        names = [
            n
            for n in (*getattr(mod, "__all__", ()), *getattr(mod, "HIDDEN", ()))
            if _CHECK_NAME.match(n)
        ]
        return {
            "package": self.package,
            "checks": names,
            "toolkit": list(getattr(mod, "KERNEL_TOOLKIT", ())),
        }

    def _note(self, ep: Endpoint, header: dict[str, Any], buffers: list[memoryview]) -> None:
        """The kernel's word that the running cell did not run for a syntax error
        (``("syntax", prompt, kind, line, text)``) or that it failed for a name such a cell would
        have defined (``("name", prompt, name)``): used in a message only, never a verdict."""
        note = ep.value(header.get("a", ["t"]), buffers)
        with self._lock:
            cell = self._cell
            if cell is None or not isinstance(note, tuple) or not note:
                return
            if (
                note[0] == "syntax"
                and len(note) == 5
                and all(type(v) is int for v in (note[1], note[3]))
                and note[2] in _ERRORS
                and isinstance(note[4], str)
                and len(self._broken) < 1000
            ):
                text = " ".join(note[4].split())[:200]
                self._broken[note[1]] = (cell.index, note[2], note[3], text)
            elif note[0] == "name" and len(note) == 3 and type(note[1]) is int:
                broken, name = self._broken.get(note[1]), note[2]
                if broken is not None and isinstance(name, str) and _PUBLIC.match(name):
                    cell.cause = (note[1], *broken, name)

    def _fail(self, cell: _Cell, name: str, message: str) -> None:
        cell.failed.append(name)
        cell.messages.append(message)

    def _check(self, ep: BoundedEndpoint, header: dict[str, Any], buffers: list[memoryview]) -> Any:
        from course.checks._core import CheckFailure, remote_mode

        name = ep.value(header.get("name"), buffers)
        with self._lock:
            cell = self._cell
            refused = None
            if not isinstance(name, str) or not _CHECK_NAME.match(name):
                refused = "not a check of this assignment"
            elif self._running is not None:
                refused = f"called while {self._running} runs (a check inside a check)"
            elif cell is None or cell.task is None or name not in cell.expected:
                refused = (
                    "checks count only in their own grade cell / проверка засчитывается "
                    "только в своей ячейке"
                )
            if refused:
                if cell is not None and cell.task is not None:
                    self._fail(cell, str(name), f"{name}: {refused}")
                return {"passed": False, "message": f"{name}: {refused}", "say": ""}
            assert cell is not None  # else refused above
            self._running = name
        message, say, lost = None, "", False
        ep.too_large = None
        try:
            args = ep.value(header.get("a", ["t"]), buffers)
            kwargs = ep.value(header.get("k", ["d"]), buffers)
            if not isinstance(args, tuple) or not isinstance(kwargs, dict):
                raise ChannelError("malformed arguments of a check")
            if ep.mirror is not None:
                ep.mirror.arguments_changed = 0
            with remote_mode() as state:
                getattr(self._module, name)(*args, **kwargs)
            say = state.said
            if ep.mirror is not None and ep.mirror.arguments_changed:
                # the kernel's code wrote into what the check passed it: in one process a check
                # that compares its inputs after the call sees it; here every such change fails
                # the check, so a kernel cannot move the data a check computes its expected
                # values from
                message = f"{name}: {ARGUMENT_CHANGED}"
        except CheckFailure as exc:
            message = str(exc)
        except ResultTooLarge as exc:
            message = f"{name}: {exc} / результат слишком велик"
        except ChannelLost:
            message, lost = f"{name}: {LOST}", True
        except ChannelError as exc:
            message = f"{name}: a malformed message from the kernel ({exc})"
        except Exception as exc:
            message = f"{name}: the check could not finish: {type(exc).__name__}: {exc}"
        finally:
            if ep.too_large is not None and not lost:  # refused, whatever the check made of it
                message = f"{name}: {ep.too_large} / результат слишком велик"
            ep.release_all()
            with self._lock:
                self._running = None
                self._lost = self._lost or lost  # before end_cell wakes: the kernel is gone
                self.checks_run += 1
                cell.ran.append(name)
                if message is not None:
                    self._fail(cell, name, message)
                self._lock.notify_all()
        if lost:
            raise ChannelLost(message)
        return {"passed": message is None, "message": message or "", "say": say}
