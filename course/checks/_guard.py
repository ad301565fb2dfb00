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
import functools
import gc
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

from ._codes import (
    _GENUINE,
    _OWN_DIRS,
    _TRANSPARENT,
    FORBIDDEN_PACKAGES,
    Codes,
    collect,
    genuine,
    genuine_class,
    guarded_dirs,
    trust,
)

__all__ = [
    "FORBIDDEN_PACKAGES",
    "TAG",
    "GuardState",
    "active",
    "call_student",
    "caller_for",
    "course_object",
    "guarded",
    "hand_over",
    "offence",
    "trust",
]

#: prefix of the guard's messages (the grader recognises them in feedback)
TAG = "[course-guard]"


# ---------------------------------------------------------------------------------------------
# the hook
# ---------------------------------------------------------------------------------------------
class GuardState:
    """One check's guard: what was handed over, what ran that must not."""

    def __init__(self) -> None:
        self.allowed = Codes()
        self.seen: dict[str, Any] = {}
        self.hits: list[str] = []
        self.own = False  # the guard itself is (un)installing hooks
        self.hook: Any = None

    def hand_over(self, *objs: Any) -> None:
        for obj in objs:
            collect(obj, self.allowed, self.seen)


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
    if (
        isinstance(fn, types.FunctionType)
        and ("<l" in fn.__code__.co_qualname)
        and fn.__code__ in _GENUINE
    ):
        return _call_own
    return call_student


_BOUNDARY = call_student.__code__
#: the engine's immutable result type: the methods of ``Array`` (``__array_wrap__``, the
#: rebinding operators) run whenever NumPy touches an engine result that a check handed over,
#: and compute nothing of a task; the module's other functions (``frozen_results`` wraps every
#: engine function) stay guarded
_NEUTRAL_FILE = os.path.join("reference_impl", "array.py")


def _neutral(code: types.CodeType) -> bool:
    return code.co_filename.endswith(_NEUTRAL_FILE) and (
        code.co_qualname.startswith("Array.") or code.co_qualname == "_rebinding.<locals>.inplace"
    )


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
    if isinstance(obj, type) and genuine_class(obj):
        return f"class {obj.__qualname__} ({obj.__module__})"
    return None


def _describe(code: types.CodeType) -> str:
    path = code.co_filename
    for d in guarded_dirs():
        if path.startswith(d):
            path = os.path.join(os.path.basename(os.path.dirname(d)), path[len(d) :])
            break
    return f"{code.co_qualname} ({path})"


def _make_hook(
    state: GuardState, dirs: tuple[str, ...], real: Codes
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
        if _neutral(code) and code in real:
            return
        if code.co_filename.startswith(_OWN_DIRS) and code not in real:
            hits.append(
                f"{_describe(code)}, compiled by the solution under the name of the "
                f"course's file / {_describe(code)}, скомпилировано решением под "
                f"именем файла курса"
            )
            return
        hits.append(_describe(code))
        if os.environ.get("COURSE_GUARD_DEBUG"):
            f = frame
            while f is not None:
                c = f.f_code
                print(
                    "  ",
                    _describe(c),
                    "allowed" if c in allowed else "",
                    "real" if c in real else "",
                    file=sys.stderr,
                )
                f = f.f_back

    gc_callbacks = Codes()  # the interpreter runs these (JAX registers one when imported)
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
        if caller.f_code is _THREAD_START and threading.getprofile() is state.hook:
            return  # a new thread receiving the guard's hook (threading.setprofile)
        if not state.hits:
            state.hits.append(
                f"{event}() while the check ran (the guard was switched off) / "
                f"{event}() во время проверки (защита была отключена)"
            )


_AUDIT: list[bool] = []
_THREAD_START = threading.Thread._bootstrap_inner.__code__


@contextlib.contextmanager
def guarded(*provided: Any) -> Iterator[GuardState]:
    """Run a check under the guard; ``provided``: what the notebook's locked cells hand over.
    Nested use (a check called from a solution) is itself an offence of the outer check."""
    outer = active()
    if outer is not None:
        if not outer.hits:
            outer.hits.append(
                "a check of the course, called from the solution / проверка "
                "курса, вызванная из решения"
            )
        yield outer
        return
    if not _AUDIT:
        sys.addaudithook(_audit)
        _AUDIT.append(True)
    real = genuine()
    state = GuardState()
    state.hand_over(*provided)
    hook = state.hook = _make_hook(state, guarded_dirs(), real)
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


def offence(number: str, state: GuardState) -> str | None:
    """The failure message of task ``number`` for a guard that saw forbidden code run."""
    if not state.hits:
        return None
    from ._messages import detail, headline

    return "\n".join(
        [
            *headline(
                number,
                f"{TAG} the solution ran code that computes answers for the course: "
                "this task scores 0",
            ),
            "  решение запустило код, вычисляющий ответы за него: задача оценена в 0",
            detail("where", f"ran / запущено {state.hits[0]}"),
            detail(
                "hint",
                "a solution computes its own answers: reference_impl, jax, autograd, "
                "torch and the course's reference versions are off limits / решение "
                "вычисляет ответы само: reference_impl, jax, autograd, torch и эталоны "
                "курса использовать нельзя",
            ),
        ]
    )
