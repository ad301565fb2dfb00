"""Correct solutions written differently from the instructor's keep full marks (issue 11): for
every task at least one alternative (``tests/checks/alternatives_a.py``, ``alternatives_b.py``), run
against the task's visible and hidden checks in the solved notebook; and a regrade of the solution
gives the same verdicts and messages (seeded inputs).
"""

from __future__ import annotations

import contextlib
import io

import pytest

from course.authoring.nbgrader_setup import assignment_ids
from course.checks._core import CheckFailure
from tests.checks.alternatives_a import ALTERNATIVES as A
from tests.checks.alternatives_b import ALTERNATIVES as B
from tests.checks.assignment_utils import ROOT, check_calls, run_task_checks, solution_namespace

ALTERNATIVES = {**A, **B}
ASSIGNMENTS = assignment_ids(ROOT)


def test_every_task_has_an_alternative() -> None:
    tasks = {(aid, task) for aid in ASSIGNMENTS for task in check_calls(aid)}
    assert tasks == set(ALTERNATIVES), sorted(tasks ^ set(ALTERNATIVES))


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def solved(request: pytest.FixtureRequest) -> tuple[str, dict]:
    return request.param, solution_namespace(request.param)


def _graded(ns: dict, aid: str, task: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_task_checks(ns, aid, task)
    return out.getvalue()


def test_alternative_solutions_get_full_marks(solved: tuple[str, dict]) -> None:
    aid, base = solved
    for (a, task), source in ALTERNATIVES.items():
        if a != aid:
            continue
        ns = {**base, "__name__": "__main__"}  # as in a kernel (dataclasses look it up)
        exec(compile(source, f"<alternative {aid} {task}>", "exec"), ns)
        try:
            printed = _graded(ns, aid, task)
        except CheckFailure as exc:
            pytest.fail(f"{aid} {task}: a correct alternative failed:\n{exc}")
        assert printed.count("✓") == 2, (aid, task, printed)


def test_a_regrade_gives_the_same_verdicts(solved: tuple[str, dict]) -> None:
    aid, ns = solved
    for task in check_calls(aid):
        assert _graded(ns, aid, task) == _graded(ns, aid, task), (aid, task)
