"""Helpers for the assignment tests: the solutions' code in-process, planted bugs, grading."""

from __future__ import annotations

import copy
import types
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Mutant:
    """A planted bug: ``old`` → ``new`` in the solution code (each ``old`` must occur once)."""

    name: str
    task: str  # the task it breaks, e.g. "t2_1"
    edits: Sequence[tuple[str, str]]
    expect: Sequence[str] = field(default=())  # fragments of the failure message

    def apply(self, source: str) -> str:
        for old, new in self.edits:
            n = source.count(old)
            if n != 1:
                raise AssertionError(f"mutant {self.name}: {old!r} occurs {n} times, not once")
            source = source.replace(old, new)
        return source


def source_notebook(aid: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "solutions" / aid / f"{aid}.ipynb", as_version=4)


def release_notebook(aid: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "assignments" / aid / f"{aid}.ipynb", as_version=4)


def _is_test(cell: nbformat.NotebookNode) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("grade"))


def mutated_notebook(aid: str, mutant: Mutant | None) -> nbformat.NotebookNode:
    """The solution notebook with ``mutant`` applied to its non-test code cells."""
    nb = copy.deepcopy(source_notebook(aid))
    if mutant is None:
        return nb
    marker = "\n#<<cell>>\n"
    code_cells = [c for c in nb.cells if c.cell_type == "code" and not _is_test(c)]
    joined = mutant.apply(marker.join(c.source for c in code_cells))
    for cell, src in zip(code_cells, joined.split(marker), strict=True):
        cell.source = src
    return nb


def solution_namespace(aid: str, mutant: Mutant | None = None) -> dict:
    """Execute the (mutated) solution's code cells — setup and solutions, not the tests — in a
    fresh module namespace, as a notebook kernel would."""
    nb = mutated_notebook(aid, mutant)
    module = types.ModuleType("__student__")
    ns = module.__dict__
    for cell in nb.cells:
        if cell.cell_type == "code" and not _is_test(cell):
            exec(compile(cell.source, f"<{aid}:{cell.get('id', '?')}>", "exec"), ns)
    return ns


def check_calls(aid: str) -> dict[str, list[str]]:
    """``{task: ["check.t2_1(Dual, …)", "check.hidden_t2_1(…)"]}`` from the test cells."""
    calls: dict[str, list[str]] = {}
    for cell in source_notebook(aid).cells:
        if _is_test(cell):
            task = cell.metadata["nbgrader"]["grade_id"].split("-")[0]
            calls[task] = [
                line.strip()
                for line in cell.source.splitlines()
                if line.strip().startswith("check.")
            ]
    return calls


def run_task_checks(ns: dict, aid: str, task: str) -> None:
    """Run a task's visible and hidden checks, as its test cell does, in namespace ``ns``."""
    for line in check_calls(aid)[task]:
        exec(line, ns)


# ---------------------------------------------------------------------------------------------
# planted bugs, one module per assignment: tests/checks/mutants/m<id>.py. ``notebook=True`` ones are
# also autograded through nbgrader (tests/checks/test_assignments.py); all are run against the checks
# in-process (tests/checks/test_checks.py).
# Each must fail its own task with a message containing every ``expect`` fragment, and only it.
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Planted(Mutant):
    notebook: bool = False


MUTANTS: dict[str, list[Planted]] = {}


def _load_mutants() -> None:
    """Collect ``tests/checks/mutants/m<id>.py`` (one module per assignment, each with ``MUTANTS``)."""
    import importlib.util

    for path in sorted((ROOT / "tests" / "checks" / "mutants").glob("m*.py")):
        spec = importlib.util.spec_from_file_location(f"mutants_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        MUTANTS[path.stem[1:]] = list(module.MUTANTS)


_load_mutants()


def mutants_by_task(keys: list[str]) -> dict[tuple[str, str], list[str]]:
    """``aid/task/mutant`` keys (equivalent.json, semantic_equivalent.json) grouped by task."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key in keys:
        aid, task, mid = key.split("/", 2)
        out[(aid, task)].append(mid)
    return out
