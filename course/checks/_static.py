"""The static look of the checks: the names a solution's functions and classes use.

:func:`forbid_reference` follows the names a solution's code loads (with the helpers it calls
from the notebook), closures, defaults and base classes, after the check ran in the student's
own kernel (Validate): a solution that names ``reference_impl``, jax or the course's checks
scores 0 there with a message saying so — as it would when graded, where the kernel cannot
import them at all. String constants are never read: a docstring, comment, message or f-string
that mentions JAX, torch or the course costs nothing. The grader's own static scan of the
notebook (``course.pipeline.integrity.scan_notebook``) flags the rest for a TA.
"""

from __future__ import annotations

import builtins
import dis
import inspect
import textwrap
import types
from collections.abc import Iterator
from typing import Any

__all__ = ["FORBIDDEN_MODULES", "forbid_reference"]

#: packages a solution must not use (their roots; ``course`` holds the checks themselves)
FORBIDDEN_MODULES = ("reference_impl", "jax", "jaxlib", "autograd", "torch", "course")


def _forbidden_root(name: str | None) -> str | None:
    if not name:
        return None
    root = name.split(".")[0]
    return root if root in FORBIDDEN_MODULES else None


def _forbidden_object(obj: Any) -> str | None:
    if isinstance(obj, types.ModuleType):
        return _forbidden_root(obj.__name__)
    mod = getattr(obj, "__module__", None)
    return _forbidden_root(mod) if isinstance(mod, str) else None


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _global_names(code: types.CodeType) -> list[str]:
    """The global names a code object loads (``co_names`` also holds attribute names)."""
    return list(
        dict.fromkeys(
            ins.argval
            for ins in dis.get_instructions(code)
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")
        )
    )


def _imports(code: types.CodeType) -> list[str]:
    """The modules a code object imports (not attribute names: ``self.course`` is no use)."""
    return [ins.argval for ins in dis.get_instructions(code) if ins.opname == "IMPORT_NAME"]


def _functions_of(obj: Any) -> Iterator[Any]:
    if isinstance(obj, type):
        for base in obj.__mro__:
            if base is object:
                continue
            for attr in vars(base).values():
                if isinstance(attr, (staticmethod, classmethod)):
                    attr = attr.__func__
                if isinstance(attr, property):
                    yield from (f for f in (attr.fget, attr.fset, attr.fdel) if f)
                elif inspect.isfunction(attr):
                    yield attr
    elif inspect.ismethod(obj):
        yield obj.__func__
    elif inspect.isfunction(obj):
        yield obj
    elif inspect.isfunction(vars(type(obj)).get("__call__")):
        yield vars(type(obj))["__call__"]


def _reference_use(obj: Any, seen: set[int], skip: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """Where ``obj`` (a class or function from the notebook) reaches a forbidden package
    (in English and in Russian)."""
    if id(obj) in seen:
        return None
    seen.add(id(obj))
    root = _forbidden_object(obj)
    if root:
        name = f"{getattr(obj, '__qualname__', obj)!s}"
        return f"{name} comes from {root}", f"{name} взят из {root}"
    if isinstance(obj, type):
        for base in obj.__mro__[1:]:
            if _forbidden_object(base):
                base_name = f"{base.__module__}.{base.__name__}"
                return (
                    f"class {obj.__name__} derives from {base_name}",
                    f"класс {obj.__name__} унаследован от {base_name}",
                )
    for fn in _functions_of(obj):
        where = getattr(fn, "__qualname__", "?")
        g = getattr(fn, "__globals__", {})
        for code in _code_objects(fn.__code__):
            for name in _imports(code):  # ``import jax`` inside the function
                if _forbidden_root(name):
                    return f"{where} imports {name!r}", f"{where} импортирует {name!r}"
            for name in _global_names(code):  # follow globals only, not ``self.grad``
                if name in skip:
                    continue
                value = g.get(name, getattr(builtins, name, None))
                if value is None or value is obj:
                    continue
                root = _forbidden_object(value)
                if root:
                    return (
                        f"{where} uses {name!r}, which comes from {root}",
                        f"{where} использует {name!r} из {root}",
                    )
                if getattr(value, "__module__", None) == fn.__module__ and (
                    inspect.isfunction(value) or isinstance(value, type)
                ):
                    found = _reference_use(value, seen, skip)
                    if found:
                        return found
        for cell in fn.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            root = _forbidden_object(value)
            if root:
                return (
                    f"{where} captures an object from {root}",
                    f"{where} захватывает объект из {root}",
                )
            if inspect.isfunction(value) or isinstance(value, type):
                found = _reference_use(value, seen, skip)
                if found:
                    return found
        for default in fn.__defaults__ or ():
            root = _forbidden_object(default)
            if root:
                return (
                    f"{where} has a default argument from {root}",
                    f"у {where} значение аргумента по умолчанию взято из {root}",
                )
    return None


def forbid_reference(task: Any, *objs: Any, skip: tuple[str, ...] = ()) -> None:
    """Fail if the student's functions or classes reach ``reference_impl``, ``jax``, …

    Looks at the names the code uses (with the helpers it calls from the notebook), closures,
    defaults and base classes, never at strings. Global names in
    ``skip`` (earlier tasks that the check replaces, see :func:`substituted`) are not followed.
    When graded, the kernel cannot import them (the sandbox's file view).
    """
    seen: set[int] = set()
    for obj in objs:
        found = _reference_use(obj, seen, skip)
        if found:
            from ._messages import detail, headline

            mods = ", ".join(FORBIDDEN_MODULES[:5])
            raise _failure()(
                "\n".join(
                    [
                        *headline(
                            task.number, f"the solution must not use {found[0]}; this task scores 0"
                        ),
                        *textwrap.wrap(
                            f"решение не должно использовать {mods} и проверки курса "
                            f"({found[1]}): задача оценена в 0",
                            86,
                            initial_indent="  ",
                            subsequent_indent="  ",
                            break_long_words=False,
                        ),
                        detail(
                            "hint",
                            f"{mods} and the course's checks are off limits: compute with "
                            f"NumPy / {mods} и проверки курса использовать нельзя: "
                            "считайте с помощью NumPy",
                        ),
                    ]
                )
            )


def _failure() -> type:
    from ._core import CheckFailure

    return CheckFailure
