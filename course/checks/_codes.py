"""The code objects the guard (:mod:`._guard`) reasons about.

* :func:`genuine`: the code objects the loaded modules of ``course`` and ``reference_impl``
  define (functions, methods, properties, the originals of decorated functions, functions kept
  in containers and in the package's own objects), compared by identity — a student's code
  compiled under a course file's name is not among them;
* :func:`collect`: the course code an object the check hands over runs (its code, closures,
  defaults, the globals it uses, its class's methods), as far as can be seen without running it.
"""

from __future__ import annotations

import contextlib
import dis
import functools
import importlib.util
import os
import sys
import types
from collections.abc import Iterator
from typing import Any

__all__ = [
    "FORBIDDEN_PACKAGES",
    "Codes",
    "collect",
    "genuine",
    "genuine_class",
    "guarded_dirs",
    "own_dirs",
    "trust",
]

#: packages whose code computes answers; ``course`` is guarded too (its reference versions)
FORBIDDEN_PACKAGES = ("reference_impl", "jax", "jaxlib", "autograd", "torch")
_TRUSTED_PACKAGES = ("course", "reference_impl")  # their genuine code may call guarded code

Key = tuple[str, int, str]


def _key(code: types.CodeType) -> Key:
    return (code.co_filename, code.co_firstlineno, code.co_qualname)


def _package_dirs(name: str) -> list[str]:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return []
    out = []
    for d in (spec.submodule_search_locations or []) if spec else []:
        out += [os.path.join(d, ""), os.path.join(os.path.realpath(d), "")]
    return out


@functools.cache
def guarded_dirs() -> tuple[str, ...]:
    """Source folders whose code is guarded (found without importing the packages)."""
    dirs = set(_package_dirs("course"))
    for root in FORBIDDEN_PACKAGES:
        dirs.update(_package_dirs(root))
    return tuple(sorted(dirs))


# ---------------------------------------------------------------------------------------------
# genuine code: what the course's and reference_impl's modules define
# ---------------------------------------------------------------------------------------------
class Codes:
    """Code objects by ``(file, line, qualname)``, compared by identity."""

    def __init__(self) -> None:
        self.by_key: dict[Key, list[types.CodeType]] = {}

    def add(self, code: types.CodeType) -> bool:
        same = self.by_key.setdefault(_key(code), [])
        if any(c is code for c in same):
            return False
        same.append(code)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                self.add(const)
        return True

    def __contains__(self, code: types.CodeType) -> bool:
        same = self.by_key.get(_key(code))
        return same is not None and any(c is code for c in same)


def _functions_in(
    obj: Any, depth: int = 0, seen: set[str] | None = None
) -> Iterator[types.FunctionType]:
    """Functions in a module attribute: functions (with the originals of decorated ones),
    methods and properties of classes, and functions kept in containers or in the attributes
    of the package's own objects (``_RULES = {"add": (2, lambda …)}``, a primitive's rules)."""
    if depth > 4 or isinstance(obj, (types.ModuleType, str, bytes, int, float)):
        return
    seen = set() if seen is None else seen
    marker = object.__repr__(obj)
    if marker in seen:
        return
    seen.add(marker)
    nxt = depth + 1
    if isinstance(obj, types.FunctionType):
        yield obj
        inner = [getattr(obj, "__wrapped__", None), obj.__defaults__]
        for cell in obj.__closure__ or ():
            with contextlib.suppress(ValueError):
                inner.append(cell.cell_contents)
        for f in inner:
            yield from _functions_in(f, nxt, seen)
    elif isinstance(obj, (staticmethod, classmethod)):
        yield from _functions_in(obj.__func__, nxt, seen)
    elif isinstance(obj, property):
        for f in (obj.fget, obj.fset, obj.fdel):
            yield from _functions_in(f, nxt, seen)
    elif isinstance(obj, functools.partial):
        yield from _functions_in(obj.func, nxt, seen)
    elif isinstance(obj, (tuple, list, set, frozenset)):
        for v in list(obj)[:512]:
            yield from _functions_in(v, nxt, seen)
    elif isinstance(obj, types.SimpleNamespace):
        yield from _functions_in(dict(vars(obj)), nxt, seen)
    elif isinstance(obj, dict):
        for k, v in list(obj.items())[:512]:
            yield from _functions_in(k, nxt, seen)
            yield from _functions_in(v, nxt, seen)
    elif isinstance(obj, type):
        if str(getattr(obj, "__module__", "")).split(".")[0] in _TRUSTED_PACKAGES:
            for v in list(vars(obj).values()):
                yield from _functions_in(v, nxt, seen)
    elif str(getattr(type(obj), "__module__", "")).split(".")[0] in _TRUSTED_PACKAGES:
        values = list(getattr(obj, "__dict__", {}).values())
        for klass in type(obj).__mro__:  # objects with __slots__ (reference_impl's primitives)
            slots = vars(klass).get("__slots__", ())
            for slot in (slots,) if isinstance(slots, str) else slots:
                with contextlib.suppress(AttributeError):
                    values.append(getattr(obj, slot))
        for v in values:
            yield from _functions_in(v, nxt, seen)


_GENUINE = Codes()
own_dirs = _OWN_DIRS = tuple(d for p in _TRUSTED_PACKAGES for d in _package_dirs(p))
_SEEN_MODULES: set[str] = set()


def genuine() -> Codes:
    """The code objects defined by the loaded modules of ``course`` and ``reference_impl``
    (updated when new ones are imported; a module's code cannot change unnoticed: the grader's
    integrity monitor snapshots it)."""
    for name, module in list(sys.modules.items()):
        if name in _SEEN_MODULES or module is None or name.split(".")[0] not in _TRUSTED_PACKAGES:
            continue
        _SEEN_MODULES.add(name)
        try:
            attrs = list(vars(module).values())
        except TypeError:
            continue
        seen: set[str] = set()
        for value in attrs:
            for fn in _functions_in(value, 0, seen):
                if fn.__code__.co_filename.startswith(_OWN_DIRS):
                    _GENUINE.add(fn.__code__)
    return _GENUINE


def trust(*objs: Any) -> None:
    """Count the code of ``objs`` as the course's own (checks written outside ``course``,
    e.g. in the course's tests)."""
    for obj in objs:
        for fn in _functions_in(obj):
            _GENUINE.add(fn.__code__)


#: library frames the course's own code runs through (``with`` on a generator context manager)
_TRANSPARENT = Codes()
for _f in (
    contextlib._GeneratorContextManager.__enter__,
    contextlib._GeneratorContextManager.__exit__,
):
    _TRANSPARENT.add(_f.__code__)


# ---------------------------------------------------------------------------------------------
# what a check hands over
# ---------------------------------------------------------------------------------------------
def _global_names(code: types.CodeType) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(
            ins.argval
            for ins in dis.get_instructions(code)
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")
        )
    )


_NAMES: dict[types.CodeType, tuple[str, ...]] = {}


def _genuine_function(obj: Any) -> bool:
    """A function the course's modules define (by its code object; ``__module__`` can lie)."""
    return isinstance(obj, types.FunctionType) and obj.__code__ in _GENUINE


def genuine_class(klass: type) -> bool:
    """A class whose every function is the course's own (a student's subclass is not; methods
    that ``dataclasses`` generates, from ``<string>`` and the standard library, do not count)."""
    fns = [
        f
        for f in _functions_in(dict(vars(klass)))
        if f.__code__.co_filename.startswith(_OWN_DIRS)
        or not f.__code__.co_filename.startswith(("<string>", sys.prefix, sys.base_prefix))
    ]
    return bool(fns) and all(f.__code__ in _GENUINE for f in fns)


def collect(obj: Any, into: Codes, seen: dict[str, Any], depth: int = 0) -> None:
    """Add the course code that ``obj`` runs (as far as can be seen without running it)."""
    if depth > 12 or isinstance(obj, (types.ModuleType, str, bytes, int, float, complex)):
        return
    marker = object.__repr__(obj)  # identity without id() (an audited call); kept alive below
    if marker in seen:
        return
    seen[marker] = obj
    if isinstance(obj, (list, tuple, set, frozenset)):
        for v in list(obj)[:64]:
            collect(v, into, seen, depth + 1)
    elif isinstance(obj, (dict, types.SimpleNamespace)):
        for v in list((obj if isinstance(obj, dict) else vars(obj)).values())[:64]:
            collect(v, into, seen, depth + 1)
    elif isinstance(obj, types.MethodType):
        collect(obj.__func__, into, seen, depth + 1)
        collect(obj.__self__, into, seen, depth + 1)
    elif isinstance(obj, functools.partial):
        collect(obj.func, into, seen, depth + 1)
        collect(obj.args, into, seen, depth + 1)
        collect(obj.keywords, into, seen, depth + 1)
    elif isinstance(obj, types.FunctionType):
        if not _genuine_function(obj):
            return  # the student's function: not course code, nothing to hand over
        code = obj.__code__
        into.add(code)
        for c in _all_codes(code):
            names = _NAMES.get(c)
            if names is None:
                names = _NAMES[c] = _global_names(c)
            for name in names:
                value = obj.__globals__.get(name)
                if value is not None:
                    collect(value, into, seen, depth + 1)
        for cell in obj.__closure__ or ():
            with contextlib.suppress(ValueError):
                collect(cell.cell_contents, into, seen, depth + 1)
        collect(obj.__defaults__ or (), into, seen, depth + 1)
        collect(obj.__kwdefaults__ or {}, into, seen, depth + 1)
    elif isinstance(obj, type):
        for klass in obj.__mro__:
            if klass is not object and genuine_class(klass):
                for fn in _functions_in(dict(vars(klass))):
                    collect(fn, into, seen, depth + 1)
    elif genuine_class(type(obj)):  # an instance of a course class (a counter, a node)
        collect(type(obj), into, seen, depth + 1)
        with contextlib.suppress(TypeError):
            collect(dict(vars(obj)), into, seen, depth + 1)


def _all_codes(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _all_codes(const)
