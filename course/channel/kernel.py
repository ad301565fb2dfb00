"""The kernel's side (inside the sandbox): the checks are stubs that ask the checker.

:func:`connect_from_env` (called by the kernel's bootstrap before any student code runs) connects
to ``$COURSE_CHANNEL`` and installs an import hook: ``import course.checks.<package>`` then gives a
stub module whose checks (``t2_1``, ``hidden_t2_1``, …) send their arguments to the checker as
handles, serve the checker's requests (calls of the student's functions, attributes, operators)
until the verdict comes, and raise :class:`CheckFailure` with the checker's message or print its
"✓" line. Nothing here decides anything: the checker keeps the verdict.

The checker may also substitute names in the notebook's globals while it grades a task with the
course's versions of earlier tasks (``subst`` / ``unsubst``); those versions stay in the checker
and are proxies here.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import os
import socket
import sys
import types
from collections.abc import Callable
from typing import Any

from .codec import ChannelError
from .endpoint import Endpoint
from .faithful import Tracker, enabled
from .limits import reply_too_large

__all__ = ["CheckFailure", "KernelChannel", "connect", "connect_from_env"]

_MISSING = object()


class CheckFailure(AssertionError):
    """A failed check, with the checker's message (shown without a traceback)."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


class KernelEndpoint(Endpoint):
    """The kernel's endpoint: a reply it cannot send — larger than the checker takes (a 2 GB
    ``np.broadcast_to`` view), or not encodable — goes back as an error, so the checker is never
    left waiting for it (and the later tasks' checks still run)."""

    defer_interrupts = True
    held: list[Any]  # what the tracker holds for the request being served (see _watch)

    def _dispatch(self, header: dict[str, Any], buffers: list[memoryview], held: list[Any]) -> Any:
        self.held = held
        return super()._dispatch(header, buffers, held)

    def send(self, header: dict[str, Any], **values: Any) -> None:
        if "re" in header and "ok" in values:
            why = reply_too_large(values)
            if why is None:
                try:
                    super().send(dict(header), **values)
                    return
                except (ChannelError, MemoryError, ValueError, TypeError, OverflowError) as exc:
                    why = f"{type(exc).__name__}: {str(exc)[:2000]}"
            err = ("ResultTooLarge" if why.startswith("result") else "ChannelError", why, "")
            if "up" in values:  # faithful calls' updates still go, if they can
                try:
                    super().send(dict(header), err=err, up=values["up"])
                    return
                except (ChannelError, MemoryError, ValueError, TypeError, OverflowError):
                    pass
            values = {"err": err}
        super().send(header, **values)


class KernelChannel:
    """The kernel's connection: its endpoint, the package and its check names."""

    def __init__(self, sock: socket.socket):
        self._saved: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._tokens = itertools.count(1)
        self.endpoint = KernelEndpoint(
            sock, extra={"subst": self._subst, "unsubst": self._unsubst, "watch": self._watch}
        )
        if enabled():  # arguments changed in place, results overwritten later: sent back
            self.endpoint.tracker = Tracker()
        info = self.endpoint.request("hello")
        self.package: str = info["package"]
        self.checks: tuple[str, ...] = tuple(info["checks"])
        self.toolkit: tuple[Any, ...] = tuple(info["toolkit"])

    def stub(self, name: str) -> Callable[..., None]:
        """The kernel's ``check.<name>``: ask the checker, then raise or print its verdict."""

        def check(*args: Any, **kwargs: Any) -> None:
            __tracebackhide__ = True
            try:
                verdict = self.endpoint.request("check", name=name, a=args, k=kwargs)
            finally:
                self.endpoint.release_all()
            if not verdict.get("passed"):
                raise CheckFailure(str(verdict.get("message") or f"{name}: failed"))
            if verdict.get("say"):
                print(verdict["say"], flush=True)

        check.__name__ = check.__qualname__ = name
        check.__module__ = f"course.checks.{self.package}"
        return check

    # -- substitution of globals (the checker's requests) ---------------------------------
    def _subst(self, ep: Endpoint, header: dict[str, Any], buffers: list[memoryview]) -> int:
        fn = ep.value(header.get("h"), buffers)
        names = ep.value(header.get("a"), buffers)
        g = getattr(fn, "__globals__", None)
        if g is None:
            g = getattr(getattr(fn, "__init__", None), "__globals__", None)
        if not isinstance(g, dict) or not isinstance(names, dict):
            return 0
        token = next(self._tokens)
        self._saved[token] = (g, {k: g.get(k, _MISSING) for k in names})
        g.update(names)
        return token

    def _unsubst(self, ep: Endpoint, header: dict[str, Any], buffers: list[memoryview]) -> None:
        token = ep.value(header.get("a"), buffers)
        g, saved = self._saved.pop(token, (None, {}))
        for k, v in saved.items():
            if v is _MISSING:
                g.pop(k, None)  # type: ignore[union-attr]
            else:
                g[k] = v  # type: ignore[index]

    def _watch(self, ep: Endpoint, header: dict[str, Any], buffers: list[memoryview]) -> Any:
        """Call a function under the package's ``_watch.Watch`` (04: factorisations and
        solves): ``(result, calls as plain data)``."""
        fn = ep.value(header.get("h"), buffers)
        args = ep.value(header.get("a", ["t"]), buffers)
        kwargs = ep.value(header.get("k", ["d"]), buffers)
        if ep.tracker is not None and "ai" in header:  # faithful calls: as in Endpoint._dispatch
            self.endpoint.held += ep.tracker.arguments(header["ai"], args, kwargs)
        watch = importlib.import_module(f"course.checks.{self.package}._watch").Watch()
        out = watch.wrap(fn)(*args, **kwargs)
        return out, watch.report()


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serve ``course.checks.<package>`` as the stub module (nothing of the real one runs)."""

    def __init__(self, channel: KernelChannel):
        self.channel = channel
        self.name = f"course.checks.{channel.package}"

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        spec = importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        import course.checks as parent

        spec.submodule_search_locations = [
            os.path.join(p, self.channel.package) for p in parent.__path__
        ]
        return spec

    def create_module(self, spec: Any) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        ch = self.channel
        module.__doc__ = (
            f"The checks of {ch.package}: they run in the grader, which calls your "
            "functions over a channel."
        )
        for name in ch.checks:
            setattr(module, name, ch.stub(name))
        if ch.toolkit:  # e.g. ["_toolkit", ["grad", "jvp", "vjp"]]: given to the students
            sub, names = ch.toolkit
            tools = importlib.import_module(f"{self.name}.{sub}")
            for n in names:
                setattr(module, n, getattr(tools, n))
        # a module made here: ModuleType does not declare __all__, but any module may have one
        module.__all__ = [*ch.checks, *(ch.toolkit[1] if ch.toolkit else ())]  # type: ignore[attr-defined]


_CHANNEL: list[KernelChannel] = []


def connect(path: str) -> KernelChannel:
    """Connect to the checker at ``path`` and install the stub module's import hook."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    channel = KernelChannel(sock)
    sys.meta_path.insert(0, _StubFinder(channel))
    sys.modules.pop(f"course.checks.{channel.package}", None)
    _CHANNEL[:] = [channel]
    return channel


def connect_from_env() -> KernelChannel | None:
    """:func:`connect` to ``$COURSE_CHANNEL``; None (and nothing done) when it is unset."""
    path = os.environ.get("COURSE_CHANNEL")
    return connect(path) if path else None
