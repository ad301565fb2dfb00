"""Mutation testing of the checks (``python -m course.mutation``): the operators, the committed list
of equivalent mutants (each still generated, each still surviving), a fast subset of the
generated mutants (each killed by its task's checks), and the committed results (every task at
≥ 95 % of its non-equivalent mutants killed). The full run is ``python -m course.mutation``.
"""

from __future__ import annotations

import json
import zlib

import pytest

from course.authoring.nbgrader_setup import assignment_ids
from course.mutation.operators import mutants, solution_lines
from course.mutation.runner import _namespace, equivalents, load_tasks, run_mutant
from tests.checks.assignment_utils import ROOT, mutants_by_task

ASSIGNMENTS = assignment_ids(ROOT)
TASKS = {(aid, t.task): t for aid in ASSIGNMENTS for t in load_tasks(aid)}
EQUIVALENT = equivalents()
PER_TASK = 2  # mutants per task in the fast subset


def test_operators_edit_only_the_solution_lines() -> None:
    src = (
        "def f(x, n):\n    y = x - 1\n    ### BEGIN SOLUTION\n    s = 0\n"
        "    for i in range(n):\n        s += max(x[i], 2) * 2\n    return s - y\n"
        "    ### END SOLUTION\n"
    )
    assert solution_lines(src) == {4, 5, 6, 7}
    found = {m.id.split("@")[0] for m in mutants(src)}
    assert {
        "binop",
        "swap-operands",
        "drop-term",
        "augassign",
        "loop-once",
        "delete",
        "constant",
        "swap-args",
    } <= found, found
    assert not any(m.id.endswith("@2:8") or "@2:" in m.id for m in mutants(src))
    ids = [m.id for m in mutants(src)]
    assert len(ids) == len(set(ids)) and ids == [m.id for m in mutants(src)]  # stable


def test_every_task_has_mutants_and_checks() -> None:
    assert {aid for aid, _ in TASKS} == set(ASSIGNMENTS)
    for (aid, task), cells in TASKS.items():
        assert len(cells.checks) == 2, (aid, task, cells.checks)
        assert mutants(cells.source), (aid, task)


@pytest.mark.parametrize("aid,task", sorted(mutants_by_task(list(EQUIVALENT))))
def test_equivalent_mutants_are_current(aid: str, task: str) -> None:
    cells = TASKS[(aid, task)]
    generated = {m.id: m for m in mutants(cells.source)}
    ns = _namespace(cells)
    for mid in mutants_by_task(list(EQUIVALENT))[(aid, task)]:
        assert mid in generated, f"{aid}/{task}/{mid}: no longer generated; update equivalent.json"
        status, reason = run_mutant(cells, ns, generated[mid].source)
        assert status == "survived", (
            f"{aid}/{task}/{mid} is killed now ({reason}): remove it from equivalent.json"
        )


def _subset(aid: str, task: str) -> list[str]:
    ids = [
        m.id for m in mutants(TASKS[(aid, task)].source) if f"{aid}/{task}/{m.id}" not in EQUIVALENT
    ]
    ids.sort(key=lambda i: zlib.crc32(f"{aid}/{task}/{i}".encode()))
    return ids[:PER_TASK]


@pytest.mark.parametrize("aid,task", sorted(TASKS))
def test_fast_subset_of_mutants_is_killed(aid: str, task: str) -> None:
    cells = TASKS[(aid, task)]
    ns = _namespace(cells)
    by_id = {m.id: m for m in mutants(cells.source)}
    for mid in _subset(aid, task):
        status, _ = run_mutant(cells, ns, by_id[mid].source, limit_s=30.0)
        assert status == "killed", f"{aid}/{task}/{mid} survived: {by_id[mid].description}"


def test_committed_results_meet_the_goal() -> None:
    data = json.loads((ROOT / "course" / "mutation" / "results.json").read_text())
    rows = {(r["assignment"], r["task"]): r for r in data["tasks"]}
    assert set(rows) == set(TASKS), "results.json is stale: rerun python -m course.mutation"
    for key, r in rows.items():
        assert r["score"] >= 0.95, (key, r["score"], r["survivors"])
        assert r["mutants"] == len(mutants(TASKS[key].source)), f"{key}: results.json is stale"
    before = {(r["assignment"], r["task"]): r["score"] for r in data["before"]}
    assert set(before) == set(TASKS)
