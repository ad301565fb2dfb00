"""Watching the factorisations and solves that a student's function makes (assignment 04).

It needs nothing of the course but NumPy and SciPy: a graded kernel runs it on the checker's
request (``watch``, :mod:`course.channel.kernel`) around a call of the student's function and
reports the calls as plain data; the checker compares the counts with what the task allows.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["Call", "Watch"]

#: the events that ``sys.setprofile`` hands its function (typeshed's ``ProfileFunction``)
_ProfileEvent = Literal["call", "return", "c_call", "c_return", "c_exception"]


def _is_proxy(fn: Any) -> bool:
    """``fn`` is the channel's proxy of a kernel's object (the grader's checker)."""
    endpoint = sys.modules.get("course.channel.endpoint")  # never imported here: no channel,
    return endpoint is not None and isinstance(fn, endpoint.Proxy)  # no proxies


#: routines that factorise a matrix (O(n³)); a call from inside another one is not counted
_FACTORISING = {
    "numpy.linalg": (
        "solve",
        "inv",
        "det",
        "slogdet",
        "lstsq",
        "pinv",
        "cholesky",
        "qr",
        "svd",
        "svdvals",
        "eig",
        "eigh",
        "eigvals",
        "eigvalsh",
        "tensorsolve",
        "tensorinv",
        "matrix_rank",
        "cond",
    ),
    "scipy.linalg": (
        "lu_factor",
        "lu",
        "solve",
        "inv",
        "det",
        "lstsq",
        "pinv",
        "pinvh",
        "cho_factor",
        "cholesky",
        "qr",
        "svd",
        "svdvals",
        "eig",
        "eigh",
        "ldl",
        "schur",
        "null_space",
        "orth",
    ),
}
#: routines that solve with given factors (O(n²) per right-hand side)
_SOLVING = {"scipy.linalg": ("lu_solve", "cho_solve", "solve_triangular")}


@functools.cache
def _watched_codes() -> dict[types.CodeType, tuple[str, str]]:
    """``{code object: (kind, "numpy.linalg.solve")}`` of the routines above (decorators
    unwrapped, so that the profile hook sees the function that does the work)."""
    import inspect

    codes: dict[types.CodeType, tuple[str, str]] = {}
    for kind, table in (("factorisation", _FACTORISING), ("solve", _SOLVING)):
        for module_name, names in table.items():
            module = importlib.import_module(module_name)
            for name in names:
                fn = getattr(module, name, None)
                code = getattr(inspect.unwrap(fn), "__code__", None) if fn else None
                if code is not None:
                    codes.setdefault(code, (kind, f"{module_name}.{name}"))
    return codes


@dataclass
class Call:
    """A watched call: ``kind`` ("factorisation" or "solve"), the routine, its arguments."""

    kind: str
    name: str
    args: dict[str, Any]


class Watch:
    """Record the factorisations and solves made inside :meth:`wrap`-ped calls.

    A profile hook (``sys.setprofile``) sees every Python-level call, however the routine was
    reached (``np.linalg.solve``, ``from scipy.linalg import lu_factor``, the notebook's given
    ``lu_factor``); only outermost watched calls count (``pinv`` calling ``svd`` is one). It
    chains the hook already active (the run-time guard of :func:`student_call`).
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def of(self, kind: str) -> list[Call]:
        return [c for c in self.calls if c.kind == kind]

    @property
    def factorisations(self) -> list[Call]:
        return self.of("factorisation")

    @property
    def solves(self) -> list[Call]:
        return self.of("solve")

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        outer = sys.getprofile()
        codes = _watched_codes()
        active: set[int] = set()

        def profile(frame: types.FrameType, event: _ProfileEvent, arg: Any) -> None:
            if outer is not None:
                outer(frame, event, arg)
            found = codes.get(frame.f_code)
            if found is None:
                return
            if event == "call":
                if not active:
                    self.calls.append(Call(found[0], found[1], dict(frame.f_locals)))
                active.add(id(frame))
            elif event == "return":
                active.discard(id(frame))

        sys.setprofile(profile)
        try:
            yield
        finally:
            sys.setprofile(outer)

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` with its calls watched; over the channel (``fn`` a proxy of the kernel's
        function) the kernel runs it under its own :class:`Watch` and reports the calls."""
        channel = getattr(fn, "_ch", None) if _is_proxy(fn) else None
        if channel is not None:

            def watched_there(*args: Any, **kwargs: Any) -> Any:
                out, calls = channel.request("watch", h=fn, a=args, k=kwargs)
                self.calls.extend(Call(str(k), str(n), dict(a)) for k, n, a in calls)
                return out

            return watched_there

        def watched(*args: Any, **kwargs: Any) -> Any:
            with self.watching():
                return fn(*args, **kwargs)

        return watched

    def report(self) -> list[tuple[str, str, dict[str, Any]]]:
        """The calls as plain data: the arguments that are arrays, numbers or strings."""
        plain = (np.ndarray, np.generic, int, float, complex, bool, str, type(None))
        return [
            (
                c.kind,
                c.name,
                {
                    k: v
                    for k, v in c.args.items()
                    if isinstance(v, plain)
                    or (isinstance(v, tuple) and all(isinstance(e, plain) for e in v))
                },
            )
            for c in self.calls
        ]
