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


def test_write_back_copies_the_kernel_s_changes_into_the_checker_s_arguments() -> None:
    """Over the channel arrays travel by value: the kernel reports its arguments after a watched
    call and the checker copies them back, so that the checks' in-place comparison sees what the
    function did (course/checks/_argwatch.py)."""
    import numpy as np

    from course.checks._argwatch import write_back
    from course.checks.matrix_adjoints._watch import Watch

    a, lst, d = np.zeros(3), [np.ones(2), 1.0], {"k": np.ones(1), "gone": 2}
    write_back((a, lst, d), (np.arange(3.0), [np.zeros(2), 5.0], {"k": np.zeros(1)}))
    assert a.tolist() == [0.0, 1.0, 2.0] and lst[0].tolist() == [0.0, 0.0] and lst[1] == 5.0
    assert set(d) == {"k"} and d["k"][0] == 0.0
    emptied = [1.0, 2.0]
    write_back(emptied, [])
    assert emptied == []
    w = Watch()
    x = np.ones(2)

    def triple(v: np.ndarray) -> None:
        v *= 3.0

    w.wrap(triple)(x)
    assert w.report()["after"][0][0] is x  # the kernel reports its (changed) argument
    from course.checks._argwatch import changed_results, keep_results

    buf = np.zeros(2)
    kept, dropped = keep_results((buf, [buf[:1]])), keep_results(np.ones(2))
    assert kept not in changed_results() and dropped not in changed_results()
    buf += 1.0  # a returned array the kernel's code kept and overwrote
    assert kept in changed_results() and kept not in changed_results()  # reported once


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
            "result changed by a later call: what mds_grad(W, D) returned changed",
        ),
    ],
)
def test_an_in_place_change_is_caught_over_the_channel(
    aid: str, name: str, expected: str, tmp_path, monkeypatch
) -> None:
    """The grader's path (the checks in the checker, the code in a kernel): an argument moved in
    place, or a returned array overwritten by a later call, costs the task there too. 04's
    kernel view holds its _watch.py; for 01 and 03 the view is given _argwatch.py and the
    package's _watch.py here (course.channel.PACKAGES does not list them yet; the harness
    kernel reads every file, so 04's kernel finds _argwatch.py as well)."""
    import course.channel as channel
    from tests.checks.assignment_utils import mutated_notebook
    from tests.grading.test_channel_notebooks import grade_through_channel

    package = {"01": "finite_differences", "03": "reverse_mode"}.get(aid[:2])
    if package:
        files, packages = channel.PACKAGES[package]
        extra = ("course/checks/_argwatch.py", f"course/checks/{package}/_watch.py")
        monkeypatch.setitem(channel.PACKAGES, package, (files + extra, packages))
    bug = next(b for b in BUGS[aid] if b.name == name)
    verdicts = grade_through_channel(mutated_notebook(aid, bug), tmp_path, tasks={bug.task})
    (verdict,) = [v for g, v in verdicts.items() if g.startswith(bug.task)]
    assert not verdict.passed
    assert expected in " ".join(" ".join(verdict.messages).split())
