"""Every assignment graded through the channel (course.channel), the checks in this process and
the notebook's code in a plain subprocess kernel: the solution notebook earns every grade cell,
the released (blank) notebook none, and the cost per notebook is printed; planted bugs in memory
shared with the caller (an argument changed in place, a result overwritten later) lose their task
graded as in one process (faithful calls), through the harness and through ``course autograde``."""

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


# ---------------------------------------------------------------------------------------------
# faithful calls (course/channel/faithful.py): mistakes in memory shared with the caller
# ---------------------------------------------------------------------------------------------
#: planted bugs of tests/checks/mutants/semantic_bugs.py that change an argument in place or
#: return a buffer a later call overwrites, and what their task's failure says. Graded without
#: faithful calls, the kernel's copies changed and the checker's never did: each kept its task
#: (COURSE_CHANNEL_FAITHFUL=0 shows it). 02's sub-into-self and neg-in-place change the kernel's
#: own objects (the checker holds proxies of them), so they were caught without faithful calls.
SHARED_MEMORY = {
    "error-model-halves-eps": "input changed in place",
    "error-model-rounds-eps": "input changed in place",
    "coordinate-buffer": "result changed by a later call",
    "mds-grad-buffer": "result changed by a later call",
    "gd-moves-W0": "input changed in place",
    "jvp-tangent-buffer": "result changed by a later call",
    "mlp-backward-scales-V-bar": "mlp_backward modified its argument V_bar",
    "solve-jvp-bdot-in-place": "input changed in place",
    "values-vjp-out-buffer": "result changed by a later call",
    "values-jvp-out-buffer": "result changed by a later call",
    "svd-vjp-moves-U-bar": "input changed in place",
    "hessian-buffer": "the Hessian returned by the first call changed",
    "hessian-zeroes-x": "input changed in place",
    "chain-xbar-buffer": "result changed by a later call",
    # added with 03's checks: a list refilled, a table overwritten, a buffer per shape, an x
    # stepped in place
    "fd-grad-steps-in-place": "input changed in place",
    "topo-order-shared-list": "changed by a later call",
    "lecture-table-reused": "changed by a later call",
    "solve-fwd-x-buffer": "result changed by a later call",
}


def planted(name: str) -> tuple[str, Any]:
    """(assignment, planted bug) of tests/checks/mutants/semantic_bugs.py named ``name``."""
    import importlib.util

    from tests.checks.assignment_utils import ROOT

    spec = importlib.util.spec_from_file_location(
        "semantic_bugs", ROOT / "tests" / "checks" / "mutants" / "semantic_bugs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = [(aid, b) for aid, bugs in module.BUGS.items() for b in bugs if b.name == name]
    assert found, f"no planted bug {name!r} in tests/checks/mutants/semantic_bugs.py (renamed?)"
    return found[0]


@pytest.mark.parametrize("name", list(SHARED_MEMORY))
def test_shared_memory_bugs_lose_their_task_over_the_channel(name: str, tmp_path: Path) -> None:
    """Each planted bug of these kinds, graded through the channel, loses its task with the
    message the checks give it in one process."""
    from tests.checks.assignment_utils import mutated_notebook

    aid, bug = planted(name)
    verdicts = grade_through_channel(
        mutated_notebook(aid, bug), tmp_path, tasks={bug.task}, view=True
    )
    verdicts.pop("round trips")
    assert verdicts, "no grade cell of the task ran"
    flat = " ".join(" ".join(m for v in verdicts.values() for m in v.messages).split())
    assert not all(v.passed for v in verdicts.values()), f"{name} kept task {bug.task}"
    assert SHARED_MEMORY[name] in flat, flat


@pytest.mark.slow  # end to end through course autograde
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_autograde_a_class_with_shared_memory_bugs(tmp_path: Path) -> None:
    """``course autograde --jobs 2`` (the sandboxed kernels, the checkers in the grader's
    workers): a student whose ``solve_jvp`` changes its ``b_dot`` in place loses task 4.1 with
    "input changed in place", one whose ``values_vjp`` returns a buffer that the next call
    overwrites loses task 4.4 with "result changed by a later call", each keeps every other
    task, and an honest classmate graded beside them keeps full marks."""
    import json
    import os
    import subprocess
    import sys

    from course.authoring.demo import solved
    from tests.checks.assignment_utils import ROOT, mutated_notebook

    aid = "04_matrix_adjoints"
    release = nbformat.read(ROOT / "assignments" / aid / f"{aid}.ipynb", 4)
    students = {"honest": (None, "", "")}
    students["mover"] = (planted("solve-jvp-bdot-in-place")[1], "t4_1", "input changed in place")
    students["aliaser"] = (
        planted("values-vjp-out-buffer")[1],
        "t4_4",
        "result changed by a later call",
    )
    subs, work = tmp_path / "subs", tmp_path / "work"
    for sid, (bug, _, _) in students.items():
        (subs / sid / aid).mkdir(parents=True)
        nb = solved(release, mutated_notebook(aid, bug))
        nbformat.write(nb, str(subs / sid / aid / f"{aid}.ipynb"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    cli = (sys.executable, "-m", "course.cli", "autograde", str(subs), "--jobs", "2")
    run = subprocess.run(
        [*cli, "--timeout", "60", "--workdir", str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    state = json.loads((work / "course-state.json").read_text())
    assert state[f"honest/{aid}"]["score"] == 100, state[f"honest/{aid}"]
    for sid, (_, task, message) in list(students.items())[1:]:
        tasks = state[f"{sid}/{aid}"]["tasks"]
        assert [k for k, v in tasks.items() if v == 0] == [
            k for k in tasks if k.startswith(task + "-")
        ], (sid, tasks)
        assert all(v > 0 for k, v in tasks.items() if not k.startswith(task)), (sid, tasks)
        graded = nbformat.read(work / "autograded" / sid / aid / f"{aid}.ipynb", 4)
        text = json.dumps([c.get("outputs", []) for c in graded.cells], ensure_ascii=False)
        assert message in text, (sid, text[-2000:])
