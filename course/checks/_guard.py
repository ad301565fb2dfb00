"""The run-time guard of every check: which code may run while a check grades a solution.

A task's answer must come from the student's code. While a check runs (from its first line to
its verdict, including the values the student's objects compute when the check reads them),
a profile hook looks at every Python function that starts and decides by *which code* it is,
not by how it was reached:

* code of ``reference_impl``, ``jax``, ``jaxlib``, ``autograd``, ``torch`` and of the ``course``
  package is *guarded*;
* guarded code may start when its caller is the course's own code (the check computing expected
  values, its helpers, ``contextlib`` running the check's context managers), identified by the
  code objects the course's modules define (:func:`genuine`), not by file names, which a student
  can fake with ``compile``;
* otherwise — called from the student's code, from a library the student called, from a thread,
  a finalizer, ``exec``'d text, a pickle — guarded code may start only if it is code the check
  has *handed over* for this check (:func:`hand_over`): the arguments it passes to the student's
  functions (counted functions, the course's node class, test functions), the course's versions
  of earlier tasks it substitutes (``substituted``), and the toolkit a locked cell imports
  (``TOOLKIT`` in the check module), with the code those call (closures, defaults, the globals
  they use, their classes' methods).

So ``_H = [check.course_fd_grad]; _H[0](…)``, ``functools.partial``, ``getattr(check, name)``,
``sys.modules``, ``gc.get_objects()``, ``importlib.reload`` and ``pickle.loads`` all end in the
same code object, which is not handed over: the task scores 0 with a message naming it.
Turning the hook off (``sys.setprofile``/``sys.settrace`` while a check runs) counts as the same
offence (an audit hook sees it).
"""

from __future__ import annotations

import contextlib
import dis
import functools
import gc
import importlib.util
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["FORBIDDEN_PACKAGES", "TAG", "GuardState", "active", "call_student", "caller_for",
           "course_object",
           "guarded",
           "hand_over",
           "trust"]

#: prefix of the guard's messages (the grader recognises them in feedback)
TAG = "[course-guard]"
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
class _Codes:
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


def _functions_in(obj: Any, depth: int = 0, seen: set[str] | None = None
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


_GENUINE = _Codes()
_OWN_DIRS = tuple(d for p in _TRUSTED_PACKAGES for d in _package_dirs(p))
_SEEN_MODULES: set[str] = set()


def genuine() -> _Codes:
    """The code objects defined by the loaded modules of ``course`` and ``reference_impl``
    (updated when new ones are imported; a module's code cannot change unnoticed: the grader's
    integrity monitor snapshots it)."""
    for name, module in list(sys.modules.items()):
        if name in _SEEN_MODULES or module is None or name.split(".")[0] not in \
                _TRUSTED_PACKAGES:
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
_TRANSPARENT = _Codes()
for _f in (contextlib._GeneratorContextManager.__enter__,
           contextlib._GeneratorContextManager.__exit__):
    _TRANSPARENT.add(_f.__code__)


# ---------------------------------------------------------------------------------------------
# what a check hands over
# ---------------------------------------------------------------------------------------------
def _global_names(code: types.CodeType) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ins.argval for ins in dis.get_instructions(code)
                               if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")))


_NAMES: dict[types.CodeType, tuple[str, ...]] = {}


def _genuine_function(obj: Any) -> bool:
    """A function the course's modules define (by its code object; ``__module__`` can lie)."""
    return isinstance(obj, types.FunctionType) and obj.__code__ in _GENUINE


def _genuine_class(klass: type) -> bool:
    """A class whose every function is the course's own (a student's subclass is not; methods
    that ``dataclasses`` generates, from ``<string>`` and the standard library, do not count)."""
    fns = [f for f in _functions_in(dict(vars(klass)))
           if f.__code__.co_filename.startswith(_OWN_DIRS) or
           not f.__code__.co_filename.startswith(("<string>", sys.prefix, sys.base_prefix))]
    return bool(fns) and all(f.__code__ in _GENUINE for f in fns)


def _collect(obj: Any, into: _Codes, seen: dict[str, Any], depth: int = 0) -> None:
    """Add the course code that ``obj`` runs (as far as can be seen without running it)."""
    if depth > 12 or isinstance(obj, (types.ModuleType, str, bytes, int, float, complex)):
        return
    marker = object.__repr__(obj)  # identity without id() (an audited call); kept alive below
    if marker in seen:
        return
    seen[marker] = obj
    if isinstance(obj, (list, tuple, set, frozenset)):
        for v in list(obj)[:64]:
            _collect(v, into, seen, depth + 1)
    elif isinstance(obj, (dict, types.SimpleNamespace)):
        for v in list((obj if isinstance(obj, dict) else vars(obj)).values())[:64]:
            _collect(v, into, seen, depth + 1)
    elif isinstance(obj, types.MethodType):
        _collect(obj.__func__, into, seen, depth + 1)
        _collect(obj.__self__, into, seen, depth + 1)
    elif isinstance(obj, functools.partial):
        _collect(obj.func, into, seen, depth + 1)
        _collect(obj.args, into, seen, depth + 1)
        _collect(obj.keywords, into, seen, depth + 1)
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
                    _collect(value, into, seen, depth + 1)
        for cell in obj.__closure__ or ():
            with contextlib.suppress(ValueError):
                _collect(cell.cell_contents, into, seen, depth + 1)
        _collect(obj.__defaults__ or (), into, seen, depth + 1)
        _collect(obj.__kwdefaults__ or {}, into, seen, depth + 1)
    elif isinstance(obj, type):
        for klass in obj.__mro__:
            if klass is not object and _genuine_class(klass):
                for fn in _functions_in(dict(vars(klass))):
                    _collect(fn, into, seen, depth + 1)
    elif _genuine_class(type(obj)):  # an instance of a course class (a counter, a node)
        _collect(type(obj), into, seen, depth + 1)
        with contextlib.suppress(TypeError):
            _collect(dict(vars(obj)), into, seen, depth + 1)


def _all_codes(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _all_codes(const)


# ---------------------------------------------------------------------------------------------
# the hook
# ---------------------------------------------------------------------------------------------
class GuardState:
    """One check's guard: what was handed over, what ran that must not."""

    def __init__(self) -> None:
        self.allowed = _Codes()
        self.seen: dict[str, Any] = {}
        self.hits: list[str] = []
        self.own = False  # the guard itself is (un)installing hooks

    def hand_over(self, *objs: Any) -> None:
        for obj in objs:
            _collect(obj, self.allowed, self.seen)


_STATE: list[GuardState] = []  # the active guard (one at a time; nested checks are offences)


def active() -> GuardState | None:
    return _STATE[-1] if _STATE else None


def hand_over(*objs: Any) -> None:
    """Allow the course code of ``objs`` while the current check runs (see module doc)."""
    state = active()
    if state is not None:
        state.hand_over(*objs)


def call_student(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the student's ``fn``: whatever starts from this frame is the student's (a
    ``functools.partial`` of the course's code, passed as the solution, is not the check's)."""
    return fn(*args, **kwargs)


def _call_own(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def caller_for(fn: Any) -> Callable[..., Any]:
    """:func:`call_student`, or a plain call for a closure the check made around the student's
    code (``lambda: est(L, w)``): that closure is the check's."""
    if isinstance(fn, types.FunctionType) and (
            "<l" in fn.__code__.co_qualname) and \
            fn.__code__ in _GENUINE:
        return _call_own
    return call_student


_BOUNDARY = call_student.__code__


def course_object(obj: Any) -> str | None:
    """The name of the course's function or class that ``obj`` is (or wraps: a partial, a bound
    method), decided by code identity; None for the student's own objects."""
    genuine()
    for _ in range(8):
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif isinstance(obj, (types.MethodType, staticmethod, classmethod)):
            obj = obj.__func__
        else:
            break
    if isinstance(obj, types.FunctionType) and obj.__code__ in _GENUINE:
        return _describe(obj.__code__)
    if isinstance(obj, type) and _genuine_class(obj):
        return f"class {obj.__qualname__} ({obj.__module__})"
    return None


def _describe(code: types.CodeType) -> str:
    path = code.co_filename
    for d in guarded_dirs():
        if path.startswith(d):
            path = os.path.join(os.path.basename(os.path.dirname(d)), path[len(d):])
            break
    return f"{code.co_qualname} ({path})"


def _make_hook(state: GuardState, dirs: tuple[str, ...], real: _Codes
               ) -> Callable[[Any, str, Any], None]:
    allowed = state.allowed
    hits = state.hits

    def trusted_caller(frame: Any) -> bool:
        caller = frame.f_back
        while caller is not None:
            code = caller.f_code
            if code in _TRANSPARENT or code in allowed:
                caller = caller.f_back  # walk through the handed-over code to its caller
                continue
            # the course's own code (not handed over): the check itself, except where it calls
            # the student's function (:func:`call_student`)
            return code is not _BOUNDARY and code in real
        return False

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event != "call" or hits:  # first: returns and C calls are most events
            return
        code = frame.f_code
        if not code.co_filename.startswith(dirs):
            return
        if code in allowed or code in gc_callbacks or trusted_caller(frame):
            return
        if code.co_filename.startswith(_OWN_DIRS) and code not in real:
            hits.append(f"{_describe(code)}, compiled by the solution under the name of the "
                        f"course's file")
            return
        hits.append(_describe(code))
        if os.environ.get("COURSE_GUARD_DEBUG"):
            f = frame
            while f is not None:
                c = f.f_code
                print("  ", _describe(c), "allowed" if c in allowed else "",
                      "real" if c in real else "", file=sys.stderr)
                f = f.f_back

    gc_callbacks = _Codes()  # the interpreter runs these (JAX registers one when imported)
    for cb in gc.callbacks:
        if isinstance(getattr(cb, "__code__", None), types.CodeType):
            gc_callbacks.add(cb.__code__)
    return hook


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in ("sys.setprofile", "sys.settrace") and _STATE and not _STATE[-1].own:
        state = _STATE[-1]
        caller = sys._getframe(1)
        if caller.f_code in _GENUINE and caller.f_code not in state.allowed:
            return  # the course's own code chaining a hook (it calls the guard's hook too)
        if not state.hits:
            state.hits.append(f"{event}() while the check ran (the guard was switched off)")


_AUDIT: list[bool] = []


@contextlib.contextmanager
def guarded(*provided: Any) -> Iterator[GuardState]:
    """Run a check under the guard; ``provided``: what the notebook's locked cells hand over.
    Nested use (a check called from a solution) is itself an offence of the outer check."""
    outer = active()
    if outer is not None:
        if not outer.hits:
            outer.hits.append("a check of the course, called from the solution")
        yield outer
        return
    if not _AUDIT:
        sys.addaudithook(_audit)
        _AUDIT.append(True)
    real = genuine()
    state = GuardState()
    state.hand_over(*provided)
    hook = _make_hook(state, guarded_dirs(), real)
    previous, previous_threads = sys.getprofile(), threading.getprofile()
    _STATE.append(state)
    state.own = True
    threading.setprofile(hook)
    sys.setprofile(hook)
    state.own = False
    try:
        yield state
    finally:
        state.own = True
        sys.setprofile(previous)
        threading.setprofile(previous_threads)
        state.own = False
        _STATE.pop()


def offence(task_label: str, state: GuardState) -> str | None:
    """The failure message for a guard that saw forbidden code run, else None."""
    if not state.hits:
        return None
    return (f"{task_label}: {TAG} the solution ran {state.hits[0]}, code that computes answers "
            f"for the course; a solution must compute its own (reference_impl, jax, autograd, "
            f"torch and the course's reference versions are off limits): this task scores 0.")
