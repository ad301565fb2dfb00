"""The engine's structure: no import cycles, modules of at most 400 lines, and one way to
register a primitive's rules (all of them in the module that creates the primitive).

The import graph is read from the source (``ast``), not from ``sys.modules``, so an import
inside a function counts as much as one at the top of a module: a cycle hidden in a function
is still a cycle (it only moves the failure from import time to the first call). Importing
``a.b.c`` also runs the ``__init__`` of ``a.b``: that edge counts too (``core`` importing
``numpy.shape_ops`` runs ``numpy/__init__``, which imports every ``numpy`` module), except to a
package the importing module is itself in (that ``__init__`` is already running). Imports under
``if TYPE_CHECKING:`` are not counted: they never run (annotations only).
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

import reference_impl
from reference_impl.core import Primitive

ROOT = Path(reference_impl.__file__).resolve().parent
PACKAGE = ROOT.name
MAX_LINES = 400

#: Modules allowed over MAX_LINES, with the reason. Kept short; a stale entry fails.
LONG_MODULES_PENDING: dict[str, str] = {}  # module -> why it may be long for now

#: Import edges not counted, each with its reason. Kept short.
ALLOWED_EDGES: dict[tuple[str, str], str] = {
    (f"{PACKAGE}.numpy.breadth", f"{PACKAGE}.batching"): (
        "jnp.vectorize is vmap, a transformation that batches the numpy namespace's own "
        "primitives: imported when vectorize's result is called, inside that function"
    ),
}


def _modules() -> dict[str, tuple[Path, list[str]]]:
    """Module name → (file, the package it is in as a list of names)."""
    mods = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
            package = parts
        else:
            package = parts[:-1]
        mods[".".join(parts)] = (path, package)
    return mods


def _targets(node: ast.Import | ast.ImportFrom, package: list[str], mods: dict) -> list[str]:
    """The engine modules an import statement loads (``from .x import y`` loads ``x.y`` when
    ``y`` is a module, else ``x``)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = package[: len(package) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        names = [
            f"{module}.{a.name}" if f"{module}.{a.name}" in mods else module for a in node.names
        ]
    return [n for n in names if n in mods]


def import_graph() -> dict[str, dict[str, int]]:
    """``graph[a][b]``: the first line of module ``a`` that imports module ``b`` (anywhere in
    ``a``: at the top, in a function, under ``if``)."""
    mods = _modules()
    graph: dict[str, dict[str, int]] = {m: {} for m in mods}
    for name, (path, package) in mods.items():
        tree = ast.parse(path.read_text(), str(path))
        typing_only = {
            id(n)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING")
            for stmt in block.body
            for n in ast.walk(stmt)
        }
        own = {".".join(package[:k]) for k in range(1, len(package) + 1)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in typing_only:
                for target in _targets(node, package, mods):
                    parts = target.split(".")
                    inits = {".".join(parts[:k]) for k in range(1, len(parts))} - own
                    for t in {target} | (inits & mods.keys()):
                        if t != name and (name, t) not in ALLOWED_EDGES:
                            graph[name].setdefault(t, node.lineno)
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One cycle ``[a, b, …, a]`` of the graph, or ``None`` (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                return [*path[path.index(t) :], t]
            if t not in state and (found := visit(t)) is not None:
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)) is not None:
            return found
    return None


def test_the_cycle_finder_finds_cycles() -> None:
    """The check itself can fail: a two-module cycle, a longer one, and none."""
    assert find_cycle({"a": {"b": 1}, "b": {"a": 3}}) == ["a", "b", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {}}) is None


def test_import_graph_sees_imports_in_functions() -> None:
    """``reference_impl/__init__.py`` imports ``batching``; ``core``, importing a ``numpy``
    submodule, also imports the ``numpy`` package; ``_targets`` resolves a relative
    ``from . import x`` in a function to the submodule ``x``."""
    graph = import_graph()
    assert f"{PACKAGE}.batching" in graph[PACKAGE]
    assert f"{PACKAGE}.numpy" in graph[PACKAGE]
    assert f"{PACKAGE}.numpy" in graph[f"{PACKAGE}.core"]
    assert f"{PACKAGE}.numpy" not in graph[f"{PACKAGE}.numpy.elementwise"]
    tree = ast.parse("def f():\n    from .numpy import shape_ops\n")
    node = tree.body[0].body[0]  # type: ignore[attr-defined]
    assert _targets(node, [PACKAGE], _modules()) == [f"{PACKAGE}.numpy.shape_ops"]


def test_no_import_cycles() -> None:
    graph = import_graph()
    cycle = find_cycle(graph)
    if cycle is not None:
        steps = ", ".join(
            f"{a} imports {b} (line {graph[a][b]})" for a, b in itertools.pairwise(cycle)
        )
        pytest.fail(f"import cycle in the engine: {' -> '.join(cycle)}: {steps}")


def test_modules_are_at_most_400_lines() -> None:
    too_long = {}
    for path in sorted(ROOT.rglob("*.py")):
        n = len(path.read_text().splitlines())
        rel = path.relative_to(ROOT).as_posix()
        if n > MAX_LINES and rel not in LONG_MODULES_PENDING:
            too_long[rel] = n
    assert not too_long, (
        f"modules over {MAX_LINES} lines (split them by responsibility): {too_long}"
    )


RULE_ATTRIBUTES = {"batch", "jvp_full", "jvps", "residuals", "vjp_full", "vjps"}


def test_batching_rules_are_given_where_the_primitive_is_made() -> None:
    """Every primitive the package makes (``primitive(...)`` or ``Primitive(...)``) gets its
    batching rule there (``batch=``) and its other rules from the ``def*`` functions of
    :mod:`reference_impl.primitives`: no module sets a rule attribute itself or resolves
    rules by name or by a string table (``importlib``)."""
    missing, setters = [], []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        source = path.read_text()
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if (
                rel != "primitives.py"  # where primitive() hands ``batch`` to Primitive()
                and isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("primitive", "Primitive")
                and not any(k.arg == "batch" for k in node.keywords)
            ):
                missing.append(f"{rel}:{node.lineno}")
            if (
                rel != "primitives.py"  # Primitive.__init__ stores it
                and isinstance(node, ast.Attribute)
                and node.attr in RULE_ATTRIBUTES
                and isinstance(node.ctx, ast.Store)
            ):
                setters.append(f"{rel}:{node.lineno}")
        if "importlib" in source and rel != "api_util.py":
            setters.append(f"{rel}: importlib")
    assert not missing, f"primitive(...) without batch=: {missing}"
    assert not setters, f"rules set outside primitive(...) and def*(...): {setters}"


def test_every_primitive_of_the_package_has_its_rules_on_import() -> None:
    """Importing ``reference_impl`` alone is enough for every primitive to have a batching
    rule (no side-effect import)."""
    import reference_impl.numpy as rnp  # noqa: F401

    seen = [
        p
        for mod in list(__import__("sys").modules.values())
        if getattr(mod, "__name__", "").startswith(PACKAGE)
        for p in vars(mod).values()
        if isinstance(p, Primitive)
    ]
    assert len(seen) > 80, f"only {len(seen)} primitives found"
    assert not [p.name for p in seen if p.batch is None]


def test_pending_exemptions_are_still_needed() -> None:
    for rel in LONG_MODULES_PENDING:
        path = ROOT / rel
        if path.exists() and len(path.read_text().splitlines()) <= MAX_LINES:
            pytest.fail(f"{rel} is now at most {MAX_LINES} lines: remove its exemption")
