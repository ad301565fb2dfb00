"""The parts of a checks package that the student distribution leaves out, loaded lazily.

Every checks package keeps its hidden checks in ``_hidden.py`` and the course's versions of its
tasks (substituted when later tasks are graded) in ``_reference.py``. ``course release --student``
copies ``course/checks`` without those two files: the visible checks must work without them, and
``check.hidden_t3_3(...)`` explains that hidden tests run only in the grader.

* :func:`hidden_getattr`: the module ``__getattr__`` of a package, which imports ``_hidden`` on the
  first use of a hidden check (so the grader's guard and verdicts see the same functions);
* :func:`reference`: the package's ``_reference`` module, or None where it is absent.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any, NoReturn

__all__ = [
    "HIDDEN_UNAVAILABLE",
    "HiddenTestsUnavailable",
    "hidden_getattr",
    "reference",
    "reference_names",
]

HIDDEN_UNAVAILABLE = (
    "hidden tests run only when the course grades your notebook\n"
    "  скрытые тесты запускаются только при проверке тетрадки курсом"
)


class HiddenTestsUnavailable(RuntimeError):
    """A hidden check called where the hidden part of the checks is not installed (shown as
    its message only, like a failed check)."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


def _optional(package: str, name: str) -> ModuleType | None:
    full = f"{package}.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name != full:
            raise
        return None


def reference(package: str) -> ModuleType | None:
    """The course's versions of ``package``'s tasks, or None in the student distribution."""
    return _optional(package, "_reference")


def _unavailable(name: str) -> Callable[..., NoReturn]:
    def hidden_check(*args: Any, **kwargs: Any) -> NoReturn:
        raise HiddenTestsUnavailable(f"{name}: {HIDDEN_UNAVAILABLE}")

    hidden_check.__name__ = hidden_check.__qualname__ = name
    return hidden_check


def hidden_getattr(package: str, names: tuple[str, ...]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` serving the hidden checks ``names``."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = _optional(package, "_hidden")
        return _unavailable(name) if module is None else getattr(module, name)

    return __getattr__


def reference_names(package: str, *names: str) -> tuple[Any, ...]:
    """The course's versions ``names`` from ``package._reference``; Nones where it is absent."""
    module = reference(package)
    return tuple(None if module is None else getattr(module, n) for n in names)
