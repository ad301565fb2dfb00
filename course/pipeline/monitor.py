"""The integrity monitor inside a grading kernel, and the grader's probe — **no longer used by
grading**: every checks package runs in the grader over the channel (docs/GRADING_CHANNEL.md),
the kernel's bootstrap no longer starts it and the executor no longer probes (docs/TA_GUIDE.md,
"What replaced the guard, the registry and the monitor"). Kept, unused, only while
``course.pipeline.sandbox`` re-exports it for ``tests/test_cli.py``'s unit test; delete both.

:class:`Monitor` snapshots the objects grading relies on; :func:`probe` (called by the grader
through ``sys.modules['course.pipeline.sandbox'].probe`` after every cell) answers what changed
and which verdicts the checks recorded, authenticated with a key only the grader knows.
Only the standard library is imported: this code runs at the kernel's start.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["PROTECTED", "Monitor", "probe", "set_key", "start"]

#: module prefixes whose objects grading relies on
PROTECTED = ("course", "numpy", "builtins", "reference_impl")
#: names IPython puts into builtins while it runs a cell
_IPYTHON_BUILTINS = {
    "get_ipython",
    "exit",
    "quit",
    "display",
    "__IPYTHON__",
    "dreload",
    "__builtins__",
    "_",
    "__",
    "___",
}


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
        self.own[name] = {
            k
            for k, v in attrs.items()
            if getattr(v, "__module__", None) == name or (callable(v) and name == "builtins")
        }
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
            self.objects[key] = (
                label,
                obj,
                (
                    obj.__code__,
                    getattr(obj, "__defaults__", None),
                    getattr(obj, "__kwdefaults__", None),
                ),
            )

    def _sys(self) -> dict[str, Any]:
        return {
            "trace": sys.gettrace(),
            "profile": sys.getprofile(),
            "stdout": sys.stdout,
            "stderr": sys.stderr,
            "excepthook": sys.excepthook,
            "meta_path": list(sys.meta_path),
            "path_hooks": list(sys.path_hooks),
        }

    def _shell(self) -> dict[str, Any]:
        ip = _get_ipython()
        if ip is None:
            return {}
        state: dict[str, Any] = {"class": type(ip), "instance": set(vars(ip))}
        for attr in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
            state[attr] = [id(x) for x in getattr(ip, attr, [])]
        state["events"] = {
            k: [id(f) for f in v] for k, v in getattr(ip.events, "callbacks", {}).items()
        }
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
                changes.append(
                    f"sys.modules[{name!r}] was replaced / модуль sys.modules[{name!r}] подменён"
                )
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
                gone = got is missing
                where.append(
                    f"{name}.{k} was "
                    + ("deleted" if gone else "replaced")
                    + f" / {name}.{k} "
                    + ("удалён" if gone else "подменён")
                )
            if name == "builtins" and len(now) != len(attrs):
                added = set(now) - set(attrs) - _IPYTHON_BUILTINS
                if added:
                    changes.append(
                        f"builtins gained {sorted(added)[:5]} / "
                        f"в builtins добавлены {sorted(added)[:5]}"
                    )
        for label, obj, state in self.objects.values():
            if isinstance(obj, type):
                now_cls = vars(obj)
                if len(now_cls) != len(state) or any(
                    now_cls.get(k, missing) is not v for k, v in state.items()
                ):
                    diff = sorted(
                        k
                        for k in set(now_cls) | set(state)
                        if now_cls.get(k, missing) is not state.get(k, missing)
                    )
                    changes.append(
                        f"class {label} was modified ({', '.join(diff[:5])}) / "
                        f"класс {label} изменён ({', '.join(diff[:5])})"
                    )
            else:
                code, defaults, kwdefaults = state
                if (
                    obj.__code__ is not code
                    or getattr(obj, "__defaults__", None) is not defaults
                    or getattr(obj, "__kwdefaults__", None) is not kwdefaults
                ):
                    changes.append(
                        f"function {label} was modified (its code or defaults) / "
                        f"функция {label} изменена (её код или значения по умолчанию)"
                    )
        for key, value in self._sys().items():
            before = self.sys_state.get(key)
            if isinstance(value, list):
                if len(value) != len(before or []) or any(
                    a is not b for a, b in zip(value, before or [], strict=False)
                ):
                    changes.append(f"sys.{key} was modified / sys.{key} изменён")
            elif value is not before:
                changes.append(
                    f"sys.{key} was replaced / sys.{key} подменён"
                    if key in ("stdout", "stderr", "excepthook")
                    else f"a {key} hook was left installed "
                    f"(sys.set{key}) / оставлен установленный хук {key} (sys.set{key})"
                )
        shell = self._shell()
        for key, value in self.shell_state.items():
            if key == "instance":
                extra = {
                    a
                    for a in shell.get(key, set()) - value
                    if callable(getattr(_get_ipython(), a, None))
                }
                if extra:
                    changes.append(
                        f"the IPython shell's methods were replaced: {sorted(extra)} / "
                        f"подменены методы оболочки IPython: {sorted(extra)}"
                    )
            elif shell.get(key) != value:
                changes.append(f"IPython's {key} were modified / изменены {key} IPython")
        ns = _user_ns()
        for name, value in self.user.items():
            if ns.get(name, missing) is not value:
                changes.append(
                    f"the notebook name {name!r} (bound by a locked cell) was rebound / "
                    f"имя {name!r} в блокноте (задано заблокированной ячейкой) "
                    f"переопределено"
                )
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
    the checks' ledger, now removed).

    ``kind``: ``baseline`` (snapshot), ``locked`` (check, then remember ``names``) or ``check``.
    The MAC (HMAC-SHA256 with a key the grader handed over a file that is deleted at start-up)
    lets the grader tell the monitor's answer from a forged one.
    """
    monitor = _MONITOR
    if monitor is None:
        changes = ["the integrity monitor is missing / монитор целостности отсутствует"]
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


def set_key(key: bytes) -> None:
    """The key the probe's answers are authenticated with (read once, from a deleted file)."""
    _KEY[:] = [key]


def start() -> Monitor:
    """Create the kernel's monitor (its snapshot is taken by the grader's ``baseline`` probe)."""
    global _MONITOR
    _MONITOR = Monitor()
    return _MONITOR
