"""Every assignment graded through the channel (course.channel), the checks in this process and
the notebook's code in a plain subprocess kernel: the solution notebook earns every grade cell,
the released (blank) notebook none, and the cost per notebook is printed."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.checks.assignment_utils import release_notebook, source_notebook
from tests.grading.test_channel import HarnessKernel

AIDS = (
    "01_finite_differences",
    "02_forward_mode",
    "03_reverse_mode",
    "04_matrix_adjoints",
    "05_second_order_and_memory",
)
_CHECK_CALL = re.compile(r"\bcheck\.((?:hidden_)?t\d+_\d+)\s*\(")


def package_of(nb: nbformat.NotebookNode) -> str:
    for cell in nb.cells:
        m = re.search(r"import course\.checks\.(\w+) as check", cell.source)
        if m:
            return m.group(1)
    raise AssertionError("no checks package imported")


def grade_cells(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    }


def grade_through_channel(
    nb: nbformat.NotebookNode,
    tmp: Path,
    locked: dict[str, nbformat.NotebookNode] | None = None,
    tasks: set[str] | None = None,
    view: bool = False,
    outputs: list[str] | None = None,
) -> dict[str, Any]:
    """Run ``nb``'s code cells in a harness kernel; grade cells (their source from ``locked``, as
    nbgrader's autograde restores them; only ``tasks`` if given) scored by the checker:
    ``{grade_id: CellVerdict}``. ``view``: the sandbox's file view simulated; ``outputs``
    collects what the cells printed and raised."""
    kernel = HarnessKernel(package_of(nb), tmp, view=view)
    verdicts: dict[str, Any] = {"round trips": 0}
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                gid = meta["grade_id"]
                if tasks is not None and gid.split("-")[0] not in tasks:
                    continue
                src = (locked or {}).get(gid, cell).source
                expected = tuple(dict.fromkeys(_CHECK_CALL.findall(src)))
                verdicts[gid], reply = kernel.run(src, gid.split("-")[0], expected)
            else:
                _, reply = kernel.run(cell.source)
            if outputs is not None and reply:
                outputs += [reply.get("out") or "", reply.get("err") or ""]
    finally:
        verdicts["round trips"] = kernel.round_trips
        kernel.close()
    return verdicts


@pytest.mark.parametrize("aid", AIDS)
def test_solution_earns_every_grade_cell(aid: str, tmp_path: Path, capsys: Any) -> None:
    t0 = time.perf_counter()
    verdicts = grade_through_channel(source_notebook(aid), tmp_path)
    elapsed = time.perf_counter() - t0
    trips = verdicts.pop("round trips")
    assert verdicts and len(verdicts) == len(grade_cells(source_notebook(aid)))
    failed = {g: v.messages for g, v in verdicts.items() if not v.passed}
    assert not failed, failed
    for v in verdicts.values():
        assert any(r.startswith("hidden_") for r in v.ran) and not v.kernel_lost
    with capsys.disabled():
        print(f"\n{aid}: graded through the channel in {elapsed:.2f} s, {trips} round trips")


@pytest.mark.parametrize("aid", AIDS)
def test_blank_release_earns_nothing(aid: str, tmp_path: Path) -> None:
    verdicts = grade_through_channel(
        release_notebook(aid), tmp_path, locked=grade_cells(source_notebook(aid))
    )
    verdicts.pop("round trips")
    assert verdicts and not [g for g, v in verdicts.items() if v.passed]
    for v in verdicts.values():
        assert v.messages and not v.kernel_lost


def _mutants(task_prefix: str) -> list[Any]:
    from tests.checks.assignment_utils import MUTANTS

    return [m for ms in MUTANTS.values() for m in ms if m.task.startswith(task_prefix)]


@pytest.mark.parametrize("mutant", _mutants("t5_5"), ids=lambda m: m.name)
def test_checkpointing_mutants_fail_over_the_channel(mutant: Any, tmp_path: Path) -> None:
    """5.5's stored states are counted by the checker: the states stay there, the kernel holds
    handles, released when it drops them."""
    from tests.checks.assignment_utils import mutated_notebook

    aid = "05_second_order_and_memory"
    verdicts = grade_through_channel(
        mutated_notebook(aid, mutant), tmp_path, tasks={"t5_4", "t5_5"}, view=True
    )
    verdicts.pop("round trips")
    by_task = {g.split("-")[0]: v for g, v in verdicts.items()}
    assert by_task["t5_4"].passed and not by_task["t5_5"].passed, by_task
    flat = " ".join(" ".join(by_task["t5_5"].messages).split())
    expect = (
        ["No module named 'reference_impl'"] if "reference_impl" in mutant.expect else mutant.expect
    )  # the kernel's view has no reference_impl
    assert any(" ".join(e.split()) in flat for e in expect), (expect, flat)


def _alternatives() -> list[tuple[str, str, str]]:
    from tests.checks.alternatives_a import ALTERNATIVES as A
    from tests.checks.alternatives_b import ALTERNATIVES as B

    return [(aid, task, src) for (aid, task), src in {**A, **B}.items()]


@pytest.mark.parametrize(
    "aid, task, source", _alternatives(), ids=[f"{a}:{t}" for a, t, _ in _alternatives()]
)
def test_alternative_solutions_keep_full_marks_over_the_channel(
    aid: str, task: str, source: str, tmp_path: Path
) -> None:
    """The alternatives of tests/checks/alternatives_*.py, appended to the solution cell before their
    task's grade cell, pass their visible and hidden checks over the channel too."""
    import copy

    nb = copy.deepcopy(source_notebook(aid))
    cells = [c for c in nb.cells if c.cell_type == "code"]
    grade = next(
        i
        for i, c in enumerate(cells)
        if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith(task + "-")
    )
    cells[grade - 1].source += "\n" + source
    verdicts = grade_through_channel(nb, tmp_path, tasks={task}, view=True)
    verdicts.pop("round trips")
    (v,) = verdicts.values()
    assert v.passed and len(v.ran) == 2, (aid, task, v.messages)
