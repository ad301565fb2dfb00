"""What a graded kernel sees of this machine: a read-only filesystem view, built per assignment.

The view (:func:`kernel_view`) lists read-only bind mounts for bubblewrap (:mod:`.bwrap`):

* the interpreter and ``libpython`` (at the paths the grader uses), the standard library
  (``lib/python3.X`` without its ``site-packages``) and the venv's ``pyvenv.cfg``;
* in the venv's ``site-packages``, only the distributions ipykernel needs (the closure of its
  requirements) and those of the third-party packages the assignment declares (e.g. 01:
  ``numpy``), each with its ``.dist-info`` and the closure of its own requirements; plus the
  editable install's finder of this course, so that ``course`` and ``reference_impl`` resolve
  to the repository;
* of the repository, only the kernel's bootstrap and the files :func:`course.channel.kernel_view`
  names for the assignment's checks package (never ``reference_impl/``, ``solutions/``,
  ``tests/``, ``.git``, a check, ``_hidden.py`` or ``_reference.py``);
* ``/usr`` (shared libraries) and a few files of ``/etc`` (``ld.so.cache``, ``localtime``).

Everything else — the work dir, other submissions, the gradebook, the TA's home (where pyenv
keeps Python: only the parts above are mounted), ``/etc/shadow``, the host's ``/proc`` — is not
in the sandbox at all.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import os
import re
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FORBIDDEN", "View", "channel_ready", "kernel_view", "site_entries"]

#: top-level names never mounted, whatever an assignment declares
FORBIDDEN = frozenset({"reference_impl", "jax", "jaxlib", "autograd", "torch"})
#: what ipykernel itself needs (with the closure of their requirements)
KERNEL_DISTS = ("ipykernel",)
_REPO = Path(__file__).resolve().parents[2]
#: the kernel's bootstrap (:mod:`course.pipeline.sandbox`) and what it imports
BOOTSTRAP = (
    "course/__init__.py",
    "course/pipeline/__init__.py",
    "course/pipeline/sandbox.py",
    "course/pipeline/confine.py",
)
_CHANNEL_DOC = _REPO / "docs" / "GRADING_CHANNEL.md"


@dataclass(frozen=True)
class View:
    """Read-only bind mounts ``(source, destination)`` and the third-party packages among them."""

    binds: tuple[tuple[str, str], ...]
    #: always False: checks never run in the kernel (kept while tests/grading/test_sandbox.py reads it)
    legacy: bool
    packages: tuple[str, ...]
    hidden: tuple[str, ...] = ()  # folders inside the binds replaced by an empty tmpfs


def channel_ready(package: str) -> bool:
    """Whether ``docs/GRADING_CHANNEL.md`` says ``ready: <package>`` (CHAN's word that the
    package's checks run in the grader over the channel)."""
    try:
        text = _CHANNEL_DOC.read_text(encoding="utf-8")
    except OSError:
        return False
    return any(m.group(1) == package for m in re.finditer(r"^\s*ready:\s*(\w+)\s*$", text, re.M))


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _top_to_dists() -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in md.packages_distributions().items()}


def _closure(dists: Iterable[str]) -> set[str]:
    """The distributions ``dists`` need (their requirements without extras, recursively)."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = list(dists)
    while todo:
        name = todo.pop()
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        key = _norm(dist.metadata["Name"])
        if key in seen:
            continue
        seen.add(key)
        for r in dist.requires or []:
            req = Requirement(r)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


@functools.lru_cache(maxsize=64)
def site_entries(packages: tuple[str, ...]) -> tuple[str, ...]:
    """Entries of ``site-packages`` (relative names) for ipykernel and the top-level import
    names ``packages``: their distributions' files, ``.dist-info`` folders and ``.libs``."""
    dists = set(KERNEL_DISTS)
    for top in packages:
        if top in FORBIDDEN:
            continue
        dists.update(_top_to_dists().get(top, ()))
    tops: set[str] = set()
    for name in _closure(dists):
        for f in md.distribution(name).files or ():
            first = f.parts[0]
            if first not in ("..", "__pycache__") and not first.endswith(".pth"):
                tops.add(first)
    return tuple(sorted(t for t in tops if t.split(".")[0] not in FORBIDDEN))


def _site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def _python_binds() -> list[tuple[str, str]]:
    """The interpreter, libpython, the standard library, ``pyvenv.cfg``."""
    exe = sys.executable
    out = [(os.path.realpath(exe), exe)]
    stdlib = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})[
        "stdlib"
    ]
    out.append((stdlib, stdlib))
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    ldlib = sysconfig.get_config_var("LDLIBRARY") or ""
    lib = os.path.join(libdir, ldlib)
    if ldlib.endswith(".so") or ".so." in ldlib:
        for cand in (lib, lib + ".1.0"):
            if os.path.isfile(cand):
                out.append((os.path.realpath(cand), cand))
        for path in Path(libdir).glob(ldlib + "*"):
            out.append((os.path.realpath(path), str(path)))
    cfg = Path(sys.prefix) / "pyvenv.cfg"
    if cfg.is_file():
        out.append((str(cfg), str(cfg)))
    return out


def kernel_view(package: str | None) -> View:
    """The read-only view of a kernel that grades an assignment whose checks package is
    ``package``: the bootstrap and :func:`course.channel.kernel_view`'s files and packages
    (``None``: no checks, the bootstrap and ipykernel only). A package the channel does not
    serve is an error: its checks would have to run in the kernel."""
    site = _site_packages()
    binds = _python_binds()
    packages: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    if package:
        if not channel_ready(package):
            raise NotImplementedError(
                f"{package}'s checks are not graded over the channel (docs/GRADING_CHANNEL.md)"
            )
        from course.channel import kernel_view as channel_view

        kv = channel_view(package)
        files, packages = tuple(kv.files), tuple(kv.packages)
    for entry in site_entries(packages):
        binds.append((str(site / entry), str(site / entry)))
    for f in site.glob("__editable__*ad_course*"):
        binds.append((str(f), str(f)))
    for rel in dict.fromkeys((*BOOTSTRAP, *files)):
        p = _REPO / rel
        if p.is_file() and p.name not in ("_hidden.py", "_reference.py"):
            binds.append((str(p), str(p)))
    base_site = sysconfig.get_paths(vars={"base": sys.base_prefix})["purelib"]
    hidden = (base_site,) if os.path.isdir(base_site) and Path(base_site) != site else ()
    return View(tuple(binds), False, packages, hidden)
