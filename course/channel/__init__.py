"""The channel between the grader's checker and a student's kernel (see docs/GRADING_CHANNEL.md).

* :mod:`.codec` — the wire format: plain data (numbers, strings, bytes, arrays of allowed dtypes,
  tuples, lists, dicts) and handles; never a pickle, never ``eval``; :mod:`.decoding` reads it;
* :mod:`.endpoint` — handle tables, frames on the socket, re-entrant requests;
  :mod:`.proxy` — the peer's objects, whose operations are requests; :mod:`.remote` — what the
  owner of an object serves (policy, operations) and how exceptions cross;
* :mod:`.checker` — the grader's side: :class:`Checker` runs the real checks, keeps the verdicts
  (:class:`CellVerdict`);
* :mod:`.kernel` — the kernel's side: :func:`connect_from_env`, the stub checks module;
* :mod:`.faithful` — changes in place in the kernel (an argument moved, a kept result
  overwritten) written back into the checker's objects; :mod:`.limits` — the checker's memory
  bound;
* :func:`kernel_view` — what of this repository a graded kernel needs to see.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PACKAGES", "CellVerdict", "Checker", "KernelView", "kernel_view"]

_CHANNEL_FILES = (
    "course/__init__.py",
    "course/checks/__init__.py",
    "course/checks/_syntax.py",
    "course/channel/__init__.py",
    "course/channel/codec.py",
    "course/channel/decoding.py",
    "course/channel/endpoint.py",
    "course/channel/faithful.py",
    "course/channel/proxy.py",
    "course/channel/remote.py",
    "course/channel/kernel.py",
    "course/channel/limits.py",
    "course/channel/checker.py",
)

#: per checks package: (the extra course files its kernel imports, third-party import names)
PACKAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "finite_differences": ((), ("numpy",)),
    "forward_mode": ((), ("numpy",)),
    "reverse_mode": ((), ("numpy",)),
    # the kernel counts its factorisations and solves on the checker's request (_watch)
    "matrix_adjoints": (("course/checks/matrix_adjoints/_watch.py",), ("numpy", "scipy")),
    # the setup cell imports grad, jvp, vjp: the students' toolkit (first-order forward and
    # reverse mode, no answer of a task), run in the kernel from its read-only source
    "second_order": (
        ("course/checks/_graph.py", "course/checks/second_order/_toolkit.py"),
        ("numpy",),
    ),
}


@dataclass(frozen=True)
class KernelView:
    """What a graded kernel sees: repository files (read-only) and third-party packages."""

    files: tuple[str, ...]
    packages: tuple[str, ...]


def kernel_view(package: str) -> KernelView:
    """The view of the kernel of an assignment whose checks package is ``package``: the channel's
    kernel side and the stub's parent packages, plus what the setup cell imports (05's toolkit);
    never ``_hidden.py``, ``_reference.py``, a check, ``reference_impl``, jax or torch."""
    if package not in PACKAGES:
        raise NotImplementedError(f"the checks package {package!r} has no channel view")
    extra, packages = PACKAGES[package]
    return KernelView(files=_CHANNEL_FILES + extra, packages=packages)


def __getattr__(name: str) -> object:  # the checker's side is imported only where it runs
    if name in ("Checker", "CellVerdict"):
        from . import checker

        return getattr(checker, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
