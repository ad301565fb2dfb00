"""The task table of ``tests/README.md`` against the repository: one row per task of
``solutions/`` (the IDs of the stubs' ``NotImplementedError("Task k.j: …")`` messages), every
path in it exists, the module named as a task's checks defines the check ``t<k>_<j>``, the
planted-bug and alternative files name the task, and the ``-k`` of its command is its own ID.
Also: no two test files share a name (``tests/conftest.py`` keys its tables by file name)."""

from __future__ import annotations

import ast
import re
from collections import Counter

import nbformat
import pytest

from tests.checks.assignment_utils import ROOT

README = ROOT / "tests" / "README.md"
STUB = re.compile(r"""NotImplementedError\(\s*(["'])Task (\d+)\.(\d+): (.*?)\1\)""")


def solution_tasks() -> dict[str, str]:
    """``{"t3_2": "Task 3.2: topological order", …}`` from the stubs of every solution notebook."""
    tasks: dict[str, str] = {}
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                for _, k, j, title in STUB.findall(cell.source):
                    tasks.setdefault(f"t{k}_{j}", f"Task {k}.{j}: {title}")
    return tasks


def table_rows() -> dict[str, list[str]]:
    """The task table's rows by task ID: the cells of each ``| `t…` | … |`` line."""
    rows: dict[str, list[str]] = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        if re.match(r"\|\s*`t\d+_\d+`", line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            task = cells[0].strip("`")
            assert task not in rows, f"tests/README.md: task {task} has two rows"
            rows[task] = cells
    return rows


def paths_in(cell: str) -> list[str]:
    """The repository paths in a cell's code spans (words that contain a ``/``)."""
    return [w for span in re.findall(r"`([^`]*)`", cell) for w in span.split() if "/" in w]


def string_constants(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


TASKS = solution_tasks()
ROWS = table_rows()


def test_every_task_of_the_solutions_has_a_row_and_no_other_row() -> None:
    assert len(TASKS) >= 20, f"only {len(TASKS)} stubs found in solutions/: is STUB out of date?"
    missing = sorted(set(TASKS) - set(ROWS))
    extra = sorted(set(ROWS) - set(TASKS))
    assert not missing, f"tasks of solutions/ missing from the table of tests/README.md: {missing}"
    assert not extra, f"rows of tests/README.md for tasks no stub of solutions/ names: {extra}"


@pytest.mark.parametrize("task", sorted(ROWS))
def test_row(task: str) -> None:
    cells = ROWS[task]
    assert len(cells) == 6, f"tests/README.md, row {task}: 6 cells expected, got {cells}"
    _, message, checks, command, planted, alternatives = cells
    if task in TASKS:
        assert message == TASKS[task], (
            f"tests/README.md, row {task}: the stub's message is {TASKS[task]!r}, not {message!r}"
        )
    for cell in cells[2:]:
        for rel in paths_in(cell):
            assert (ROOT / rel).exists(), f"tests/README.md, row {task}: {rel} does not exist"
    (module,) = paths_in(checks)
    defined = {
        n.name
        for n in ast.parse((ROOT / module).read_text(encoding="utf-8")).body
        if isinstance(n, ast.FunctionDef)
    }
    assert task in defined, f"tests/README.md, row {task}: {module} defines no check {task}()"
    assert re.search(rf"-k {task}`$", command), (
        f"tests/README.md, row {task}: the command {command} does not select -k {task}"
    )
    assert paths_in(command), f"tests/README.md, row {task}: the command names no test file"
    for cell, what in ((planted, "planted bugs"), (alternatives, "alternatives")):
        files = paths_in(cell)
        assert files, f"tests/README.md, row {task}: no {what} file"
        for rel in files:
            assert task in string_constants(ROOT / rel), (
                f"tests/README.md, row {task}: {rel} has no {what} for {task}"
            )


def test_test_file_names_are_unique_across_folders() -> None:
    names = Counter(p.name for p in (ROOT / "tests").rglob("test_*.py"))
    twice = sorted(n for n, c in names.items() if c > 1)
    assert not twice, f"test files with the same name in two folders of tests/: {twice}"
