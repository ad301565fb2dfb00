"""Planted semantic bugs (``tests/checks/mutants/semantic_bugs.py``, issue 22), run against the checks
in-process: each costs exactly its own task (every other task of the notebook still passes), and
the ones the checks catch fail with a task-headed message. The bugs listed in
``NOT_YET_CAUGHT`` must be exactly the ones that pass their task's checks: the test fails when
one more gets through and when a listed one becomes caught (then remove it from the list).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io

import pytest

from course.authoring.nbgrader_setup import assignment_ids
from course.checks._core import CheckFailure
from tests.checks.assignment_utils import ROOT, check_calls, run_task_checks, solution_namespace

_spec = importlib.util.spec_from_file_location(
    "semantic_bugs", ROOT / "tests" / "checks" / "mutants" / "semantic_bugs.py"
)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
BUGS, NOT_YET_CAUGHT = _module.BUGS, _module.NOT_YET_CAUGHT
ASSIGNMENTS = assignment_ids(ROOT)


def _run(ns: dict, aid: str, task: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_task_checks(ns, aid, task)
    return out.getvalue()


def test_bugs_cover_every_task() -> None:
    tasks = {(aid, task) for aid in ASSIGNMENTS for task in check_calls(aid)}
    covered = {(aid, b.task) for aid, bugs in BUGS.items() for b in bugs}
    assert tasks == covered, sorted(tasks ^ covered)
    names = [b.name for bugs in BUGS.values() for b in bugs]
    assert len(names) >= 25 and len(set(names)) == len(names)
    assert NOT_YET_CAUGHT <= set(names), sorted(NOT_YET_CAUGHT - set(names))


@pytest.mark.parametrize(
    "aid,bug",
    [
        pytest.param(aid, b, id=f"{aid}:{b.task}:{b.name}", marks=pytest.mark.task(b.task))
        for aid in sorted(BUGS)
        for b in BUGS[aid]
    ],
)
def test_semantic_bug_costs_its_task_only(aid: str, bug) -> None:
    ns = solution_namespace(aid, bug)
    number = bug.task[1:].replace("_", ".")
    if bug.name in NOT_YET_CAUGHT:
        try:
            printed = _run(ns, aid, bug.task)
        except CheckFailure as exc:
            pytest.fail(f"{bug.name} is caught now: remove it from NOT_YET_CAUGHT\n{exc}")
        assert printed.count("✓") == 2, printed
    else:
        with pytest.raises(CheckFailure) as info:
            _run(ns, aid, bug.task)
        message = str(info.value)
        assert message.startswith(f"Task {number} / Задача {number}: "), message
    for task in check_calls(aid):
        if task != bug.task:
            _run(ns, aid, task)  # the other tasks are graded on their own code


@pytest.mark.parametrize(
    "aid,name,expected",
    [
        (
            "04_matrix_adjoints",
            "solve-jvp-bdot-in-place",
            "input changed in place: solve_jvp modified its argument b_dot",
        ),
        (
            "03_reverse_mode",
            "mlp-backward-scales-V-bar",
            "input changed in place: mlp_backward modified its argument V_bar",
        ),
        (
            "04_matrix_adjoints",
            "solve-fwd-x-buffer",
            "result changed by a later call: what solve_fwd(A, b) returned changed",
        ),
        (
            "01_finite_differences",
            "mds-grad-buffer",
            "result changed by a later call: what mds_grad(W, D) at W of shape (4, 2) returned changed",
        ),
    ],
)
def test_an_in_place_change_is_caught_over_the_channel(
    aid: str, name: str, expected: str, tmp_path
) -> None:
    """The grader's path (the checks in the checker, the code in a kernel): an argument moved in
    place, or a returned array overwritten by a later call, costs the task there too, with the
    message of the student's own kernel: the channel's faithful calls (course/channel/faithful.py)
    bring the kernel's changes back into the checker's objects."""
    from tests.checks.assignment_utils import mutated_notebook
    from tests.grading.test_channel_notebooks import grade_through_channel

    bug = next(b for b in BUGS[aid] if b.name == name)
    verdicts = grade_through_channel(mutated_notebook(aid, bug), tmp_path, tasks={bug.task})
    (verdict,) = [v for g, v in verdicts.items() if g.startswith(bug.task)]
    assert not verdict.passed
    assert expected in " ".join(" ".join(verdict.messages).split())
