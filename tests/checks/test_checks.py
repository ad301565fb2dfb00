"""``course.checks`` at the Python level: the solutions pass, planted bugs are caught with a
helpful message and cost their own task only; the shared machinery of ``_core``."""

from __future__ import annotations

import contextlib
import io
import types
import warnings

import numpy as np
import pytest

from course.authoring.nbgrader_setup import assignment_ids
from course.checks import _core
from course.checks._core import CheckFailure
from course.checks._messages import FIRST_LINE, headline, student_frame
from tests.checks.assignment_utils import (
    MUTANTS,
    ROOT,
    check_calls,
    run_task_checks,
    solution_namespace,
)

ASSIGNMENTS = assignment_ids(ROOT)


def _run(ns: dict, aid: str, task: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_task_checks(ns, aid, task)
    return out.getvalue()


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def solved(request: pytest.FixtureRequest) -> tuple[str, dict]:
    return request.param, solution_namespace(request.param)


def test_solution_passes_every_check(solved: tuple[str, dict]) -> None:
    aid, ns = solved
    for task in check_calls(aid):
        printed = _run(ns, aid, task)
        assert printed.count("✓") == 2, f"{aid} {task}: expected two pass lines, got {printed!r}"


@pytest.mark.parametrize(
    "aid,mutant",
    [
        pytest.param(aid, m, id=f"{aid}:{m.task}:{m.name}", marks=pytest.mark.task(m.task))
        for aid in ASSIGNMENTS
        for m in MUTANTS.get(aid, [])
    ],
)
def test_planted_bug_is_caught_in_its_task_only(aid: str, mutant) -> None:
    ns = solution_namespace(aid, mutant)
    with pytest.raises(CheckFailure) as info:
        _run(ns, aid, mutant.task)
    message = str(info.value)
    number = mutant.task[1:].replace("_", ".")
    assert message.startswith(f"Task {number} / Задача {number}: "), message
    assert len(message.splitlines()[0]) <= FIRST_LINE, message  # whole in nbgrader validate
    flat = " ".join(message.split())  # a long reason goes on on the next line
    for fragment in mutant.expect:
        assert fragment in flat, f"{mutant.name}: {fragment!r} not in\n{message}"
    for task in check_calls(aid):
        if task != mutant.task:
            _run(ns, aid, task)  # the other tasks are graded on their own code


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_every_task_has_planted_bugs(aid: str) -> None:
    """Each task has planted bugs in ``assignment_utils.MUTANTS``, one of them autograded."""
    covered = {m.task for m in MUTANTS.get(aid, [])}
    missing = set(check_calls(aid)) - covered
    assert not missing, f"{aid}: tasks without a planted bug: {sorted(missing)}"
    assert {m.task for m in MUTANTS[aid] if m.notebook} == covered


# ---------------------------------------------------------------------------------------------
# _core
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "obtained,fragment",
    [
        (lambda e: -e, "wrong sign"),
        (lambda e: 2.5 * e, "off by a factor of 2.5"),
        (lambda e: e.T, "transposed"),
        (lambda e: np.zeros_like(e), "obtained zero"),
        (lambda e: e[0], "not broadcast"),
        (lambda e: e.reshape(-1), "wrong shape"),
        (lambda e: e + np.eye(3) * 0.1, "entries differ"),
    ],
)
def test_diagnose_names_the_pattern(obtained, fragment: str) -> None:
    e = np.random.default_rng(1).normal(size=(3, 3))
    if fragment == "not broadcast":
        e = np.tile(e[0], (3, 1))
    assert fragment in (_core.diagnose(obtained(e), e) or "")


def test_assert_close_message_shows_input_expected_obtained_hint() -> None:
    task = _core.Task("t9_1", "demo", "demo", "демо", 10)
    with pytest.raises(CheckFailure) as info:
        _core.assert_close(
            task, "tangent of log(x)", 1.0, 0.5, inputs={"x": 2.0}, hint="check ∂v₁/∂w₁"
        )
    msg = str(info.value)
    lines = msg.splitlines()
    assert lines[0] == "Task 9.1 / Задача 9.1: wrong tangent of log(x)", msg
    for part in (
        "input / вход:",
        "x = 2",
        "expected / ожидалось: 0.5",
        "obtained / получено:  1",
        "off by a factor of 2",
        "hint / подсказка:     check ∂v₁/∂w₁",
        "Задача 9.1 (демо) / Task 9.1 (demo)",
    ):
        assert part in msg, msg
    assert info.value._render_traceback_() == lines  # IPython shows the message only
    _core.assert_close(task, "ok", np.array([1.0, 2.0]), [1.0, 2.0 + 1e-12])


def test_directions_are_never_constant() -> None:
    g = _core.rng("t0_0", "directions")
    for shape in [(), (1,), (2,), (3, 4)]:
        for _ in range(50):
            v = np.asarray(_core.direction(g, shape))
            assert not np.allclose(np.abs(v), 1.0)
            if v.size > 1:
                assert np.ptp(v) > 0.5
    assert _core.uniform(_core.rng("t1_1", 0)) == _core.uniform(_core.rng("t1_1", 0))


def test_call_counter_and_substituted_restore_globals() -> None:
    ns: dict = {}
    exec("def helper(x):\n    return x + 1\ndef f(x):\n    return helper(x) * 2\n", ns)
    counter = _core.CallCounter(ns["helper"])
    with _core.substituted(ns["f"], helper=counter, missing=1):
        assert ns["f"](1) == 4 and counter.count == 1 and ns["missing"] == 1
    assert ns["helper"] is not counter and "missing" not in ns


_CHEATS = {
    "alias": "import reference_impl as ri\ndef f(x):\n    return ri.grad(x)\n",
    "from-import": "from jax import grad\ndef f(x):\n    return grad(x)\n",
    "local-import": "def f(x):\n    import jax.numpy as jnp\n    return jnp.sin(x)\n",
    "helper": "def g(x):\n    return autograd.grad(x)\ndef f(x):\n    return g(x)\n",
    "closure": "import reference_impl\ndef make():\n    r = reference_impl\n"
    "    def f(x):\n        return r.jvp(x)\n    return f\nf = make()\n",
    "method": "import jax\nclass f:\n    def go(self):\n        return jax.jvp\n",
    "checks": "import course.checks.forward_mode as c\ndef f(x):\n    return c.DualBox(x)\n",
    "object": "import reference_impl\nf = reference_impl.jvp\n",
}


@pytest.mark.parametrize("name", sorted(_CHEATS))
def test_forbid_reference_catches(name: str) -> None:
    ns: dict = {"__name__": "__student__", "autograd": types.ModuleType("autograd")}
    exec(_CHEATS[name], ns)
    task = _core.Task("t9_1", "demo", "demo", "демо", 10)
    with pytest.raises(CheckFailure, match="must not use"):
        _core.forbid_reference(task, ns["f"])


def test_forbid_reference_accepts_numpy_code_and_skips_replaced_names() -> None:
    ns: dict = {"__name__": "__student__"}
    exec(
        "import numpy as np\nimport jax\ndef jvp(f):\n    return jax.jvp\n"
        "class D:\n    def __add__(self, o):\n        return np.add(self, o)\n"
        "def jac(f):\n    return jvp(f), D(), np.linalg.norm\n",
        ns,
    )
    task = _core.Task("t9_1", "demo", "demo", "демо", 10)
    _core.forbid_reference(task, ns["D"])
    _core.forbid_reference(task, ns["jac"], skip=("jvp",))
    with pytest.raises(CheckFailure):
        _core.forbid_reference(task, ns["jac"])


def test_task_check_hides_internal_frames_and_silences_warnings(capsys) -> None:
    task = _core.Task("t9_1", "demo", "demo", "демо", 10)

    @_core.task_check(task)
    def check(fn) -> None:
        _core.assert_close(task, "value", _core.student_call(task, "fn", fn), 1.0)

    def noisy() -> float:
        warnings.warn("noise", RuntimeWarning, stacklevel=1)
        np.sqrt(np.float64(-1.0))  # RuntimeWarning: invalid value
        return 1.0

    check(noisy)
    captured = capsys.readouterr()
    assert "✓" in captured.out and captured.err == ""

    def stub() -> float:
        raise NotImplementedError("Task 9.1: demo")

    with pytest.raises(CheckFailure, match="not implemented yet") as info:
        check(stub)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert info.traceback[-1].name == "wrapper"


_DYNAMIC = (
    "import sys\ndef f(x):\n    a = 'reference_'\n    m = sys.modules[a + 'impl']\n"
    "    return getattr(m, 'grad')(lambda t: t * t)(x)\n"
)
T_DYN = _core.Task("t9_1", "demo", "demo", "демо", 10)


@_core.task_check(T_DYN)
def t9_1(fn) -> None:
    """fn(3.0) must be 6.0 (the derivative of t² at 3)."""
    _core.assert_close(T_DYN, "f(3.0)", _core.student_call(T_DYN, "f(3.0)", fn, 3.0), 6.0)


def test_a_computed_route_to_the_reference_fails_when_graded(tmp_path) -> None:
    """What replaced the run-time guard: the static look does not see a computed route to
    reference_impl, and the graded kernel cannot take it — its view has no reference_impl (the
    sandbox's file view, simulated by the harness), and the check runs in the grader."""
    from tests.grading.test_channel import HarnessKernel

    ns: dict = {"__name__": "__student__"}
    exec(_DYNAMIC, ns)
    _core.forbid_reference(T_DYN, ns["f"])  # the static look does not see it
    demo = types.SimpleNamespace(__all__=["t9_1"], HIDDEN=(), t9_1=t9_1)
    k = HarnessKernel("reverse_mode", tmp_path, module=demo, view=True)  # its view, our check
    try:
        k.run("import course.checks.reverse_mode as check")
        v, _ = k.run(_DYNAMIC + "check.t9_1(f)", "t9_1", ("t9_1",))
    finally:
        k.close()
    assert not v.passed and "raised KeyError" in " ".join(v.messages), v.messages
    assert "reference_impl" in " ".join(v.messages)


def test_headline_puts_the_reason_first_within_the_first_line() -> None:
    reason = (
        "dot_product_test called jvp_fn 2 and vjp_fn 2 times for trials = 3: every trial "
        "draws fresh directions and calls each once"
    )
    lines = headline("4.3", reason)
    assert lines[0].startswith("Task 4.3 / Задача 4.3: dot_product_test called")
    assert len(lines[0]) <= FIRST_LINE and len(lines) == 2
    assert " ".join(" ".join(lines).split()) == f"Task 4.3 / Задача 4.3: {reason}"
    assert headline("1.1", "wrong gradient") == ["Task 1.1 / Задача 1.1: wrong gradient"]


def test_student_code_that_raises_is_shown_by_line() -> None:
    ns: dict = {"__name__": "__student__", "np": np}
    exec(
        compile(
            "def f(x):\n    y = x + 1\n    return np.zeros(2) @ np.ones(3)\n", "<cell 7>", "exec"
        ),
        ns,
    )
    try:
        ns["f"](1.0)
    except ValueError as exc:
        where = student_frame(exc.__traceback__)
    assert where is not None and "line 3" in where and "(in f)" in where
    task = _core.Task("t9_1", "demo", "demo", "демо", 10)

    @_core.task_check(task)
    def check(fn) -> None:
        _core.student_call(task, "f(1.0)", fn, 1.0)

    with pytest.raises(CheckFailure) as info:
        check(ns["f"])
    msg = str(info.value)
    assert msg.startswith("Task 9.1 / Задача 9.1: f(1.0) raised ValueError"), msg
    assert "where / где:" in msg and "line 3 (in f)" in msg, msg
