"""Semantic mutation testing (``python -m course.mutation --semantic``, issue 22): each wrapper of
:mod:`course.mutation.semrt` is right on a first call and wrong in its own way afterwards; the
operators find the task's functions and independent calls; the committed equivalent semantic
mutants are still generated and still survive; the committed results cover every task.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from course.authoring.nbgrader_setup import assignment_ids
from course.mutation import semrt
from course.mutation.runner import _namespace, load_tasks
from course.mutation.semantic import (
    _PRELUDE,
    _fork,
    _swaps,
    equivalents,
    profile_task,
    semantic_mutants,
    targets,
)
from tests.checks.assignment_utils import ROOT, mutants_by_task

ASSIGNMENTS = assignment_ids(ROOT)
EQUIVALENT = equivalents()


def _double(x, scale=2.0):
    return np.asarray(x, dtype=float) * scale


def test_cache_result_is_keyed_by_shapes_only() -> None:
    f = semrt.cache_result(_double, "f")
    assert f(np.ones(2))[0] == 2.0
    assert f(np.full(2, 5.0))[0] == 2.0 and "f" in semrt.FIRED  # stale
    assert f(np.ones(3))[0] == 2.0


def test_cache_inputs_reuses_the_first_arrays() -> None:
    f = semrt.cache_inputs(_double, "g")
    f(np.ones(2))
    assert f(np.full(2, 5.0))[0] == 2.0


def test_alias_overwrites_the_kept_result() -> None:
    f = semrt.alias(_double, "h")
    a = f(np.ones(2))
    b = f(np.full(2, 5.0))
    assert a is b and a[0] == 10.0


def test_mutate_arg_moves_the_caller_s_array_and_empties_lists() -> None:
    x = np.ones(2)
    out = semrt.mutate_arg(_double, "m")(x)
    assert out[0] == 2.0 and x[0] == 2.0
    lst = [1.0, 2.0]
    semrt.mutate_arg(lambda v: sum(v), "m")(lst)
    assert lst == []


def test_ignore_default_reseed_accumulate() -> None:
    assert semrt.ignore_default(_double, "d", "scale")(np.ones(1), scale=3.0)[0] == 2.0

    def draw(rng):
        return rng.standard_normal(2)

    f = semrt.reseed(draw, "r")
    rng = np.random.default_rng(5)
    assert np.array_equal(f(rng), f(rng))
    acc = semrt.accumulate(_double, "a")
    assert acc(np.ones(1))[0] == 2.0 and acc(np.ones(1))[0] == 4.0


def test_returned_functions_break_on_their_second_call() -> None:
    def make(k):
        return lambda x: k * x

    f = semrt.returned_once(make, "o", stale=False)(2)
    assert f(1) == 2
    with pytest.raises(RuntimeError):
        f(1)
    g = semrt.returned_once(make, "o", stale=True)(2)
    assert g(1) == 2 and g(5) == 2
    latest = semrt.latest_closure(make, "l")
    two, three = latest(2), latest(3)
    assert two(1) == 3 and three(1) == 3


def test_backward_reads_the_last_forward() -> None:
    fwd, bwd = semrt.use_last_forward(lambda a: (a, a * 10), lambda res, g: res * g, "p", 0, 1)
    _, r1 = fwd(1)
    fwd(2)
    assert bwd(r1, 1) == 20  # the residuals of the second call


def test_targets_and_swaps() -> None:
    src = (
        "class C:\n    def m(self, a=1):\n        ### BEGIN SOLUTION\n        return a\n"
        "        ### END SOLUTION\n\n\ndef f(x, y=2):\n    ### BEGIN SOLUTION\n"
        "    a = g(x)\n    b = h(y)\n    c = k(b)\n    return a + b + c - g(c) * h(a)\n"
        "    ### END SOLUTION\n\n\ndef plain(x):\n    return x\n"
    )
    assert targets(src) == [("C.m", ["a"]), ("f", ["y"])]
    # b = h(y) may move, c = k(b) not; g(c) * h(a) evaluated right to left
    assert [m.id for m in _swaps(src)] == ["swap-calls@10", "swap-calls@13:23-13:34"]
    env = {"g": lambda v: calls.append("g") or v, "h": lambda v: calls.append("h") or v}
    calls: list[str] = []
    exec(
        _swaps("def t():\n    ### BEGIN SOLUTION\n    return g(2) * h(3)\n    ### END SOLUTION\n")[
            0
        ].source
        + "\nr = t()\n",
        env,
    )
    assert calls == ["h", "g"] and env["r"] == 6
    prof = {
        "f": {
            "calls": 1,
            "movable": True,
            "rng": False,
            "arrays_in": True,
            "arrays_out": True,
            "ndarray_out": True,
            "callable_out": False,
            "non_default": [],
        }
    }
    ids = {m.id for m in semantic_mutants(src, prof)}
    assert {"cache-result@f", "alias@f", "mutate-arg@f", "ignore-arg@f:y", "swap-calls@10"} <= ids
    assert not any("C.m" in i for i in ids)  # never called under the checks: no mutant


@pytest.mark.parametrize(
    "aid,task",
    [
        ("01_finite_differences", "t1_5"),
        ("02_forward_mode", "t2_1"),
        ("03_reverse_mode", "t3_5"),
        ("04_matrix_adjoints", "t4_2"),
        ("05_second_order_and_memory", "t5_5"),
    ],
)
def test_a_wrapper_that_changes_nothing_survives(aid: str, task: str) -> None:
    """The control: a kill is the wrapper's behaviour, not the wrapping (functions, methods,
    returned closures, a check's substitutions in the function's globals)."""
    cells = next(t for t in load_tasks(aid) if t.task == task)
    lines = [f"{n} = _S.identity({n}, {n!r})" for n, _ in targets(cells.source)]
    got = _fork(
        cells, _namespace(cells), cells.source + _PRELUDE + "\n".join(lines) + "\n", 120.0, "fired"
    )
    assert got["status"] == "survived", got["reason"]


@pytest.mark.parametrize("aid,task", sorted(mutants_by_task(list(EQUIVALENT))))
def test_equivalent_semantic_mutants_are_current(aid: str, task: str) -> None:
    cells = next(t for t in load_tasks(aid) if t.task == task)
    ns = _namespace(cells)
    generated = {m.id: m for m in semantic_mutants(cells.source, profile_task(cells, ns))}
    for mid in mutants_by_task(list(EQUIVALENT))[(aid, task)]:
        assert mid in generated, (
            f"{aid}/{task}/{mid}: no longer generated; update semantic_equivalent.json"
        )
        got = _fork(cells, ns, generated[mid].source, 60.0, "fired")
        assert got["status"] == "survived", (
            f"{aid}/{task}/{mid} is killed now ({got['reason']}): remove it from the list"
        )


def test_committed_semantic_results_cover_every_task() -> None:
    data = json.loads((ROOT / "course" / "mutation" / "semantic_results.json").read_text())
    tasks = {(aid, t.task) for aid in ASSIGNMENTS for t in load_tasks(aid)}
    for run in ("tasks", "before"):
        rows = {(r["assignment"], r["task"]) for r in data[run]}
        assert rows == tasks, f"semantic_results.json ({run}) is stale"
    assert sum(r["equivalent"] for r in data["tasks"]) == len(EQUIVALENT)
