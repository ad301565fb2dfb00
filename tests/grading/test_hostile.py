"""Hostile students, end to end through ``course autograde``: each route to the course's answers
(the reference versions behind ``check``, ``reference_impl``) or to a grade the checks did not give
(checks patched to return True, a number, None; a reloaded check module) costs at most the task
it is used in — the tasks graded before and after keep their points — and the hidden checks'
text reaches no feedback. Every package is graded over the channel (docs/GRADING_CHANNEL.md):
the kernel has neither the reference parts nor ``reference_impl``, so the routes that once needed
the in-kernel guard are impossible, and the grader's static scan flags each of them for the TA.
Honest solutions using the same Python features keep full marks.

One autograde run grades every route (one student per route, ``--jobs 2``).
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from course.authoring.demo import _solution_cells, solved
from course.pipeline.integrity import scan_notebook
from tests.checks.assignment_utils import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")


@dataclass(frozen=True)
class Route:
    student: str
    aid: str
    task: int  # position of the solution cell whose task it costs (and of its test cell)
    code: str  # appended to that solution cell
    message: str  # in the feedback (asserted for the replaced checks; the guard's tag is history)
    guard: bool = True  # reaches for the course's code (the guard's routes, before the channel)


_CALL_AND_KEEP = (
    "_honest = {name}\n"
    "def {name}(*a, **k):\n"
    "    try:\n"
    "        {call}\n"
    "    except Exception:\n"
    "        pass\n"
    "    return _honest(*a, **k)\n"
)


def _keep(name: str, call: str) -> str:
    """The honest function, which also runs ``call`` (and ignores its result and errors)."""
    return _CALL_AND_KEEP.format(name=name, call=call)


GUARD = "course-guard"
ROUTES = [
    # 01: finite differences
    Route(
        "container",
        "01_finite_differences",
        0,
        (
            "_H = [check._reference.course_fd_grad]\n"
            "def fd_grad(f, x, eps, method='central'):\n    return _H[0](f, x, eps, method)"
        ),
        GUARD,
    ),
    Route(
        "partial",
        "01_finite_differences",
        0,
        ("import functools\nfd_grad = functools.partial(check._reference.course_fd_grad)"),
        GUARD,
    ),
    Route(
        "getattr-computed",
        "01_finite_differences",
        2,
        _keep(
            "two_point_estimator",
            "getattr(getattr(check, '_ref' + 'erence'), 'course_' + 'two_point')(*a)",
        ),
        GUARD,
    ),
    Route(
        "patch-true",
        "01_finite_differences",
        4,
        "check.t1_5 = check.hidden_t1_5 = lambda *a, **k: True",
        "IntegrityError",
        False,
    ),
    # 02: forward mode
    Route(
        "closure",
        "02_forward_mode",
        3,
        (
            "def _make(g):\n    def jvp(f, primals, tangents):\n        return g(f, primals, tangents)"
            "\n    return jvp\njvp = _make(check.t2_4_5.course_jvp)"
        ),
        GUARD,
    ),
    Route(
        "default-arg",
        "02_forward_mode",
        3,
        (
            "def jvp(f, primals, tangents, _g=check.t2_4_5.course_jvp):\n"
            "    return _g(f, primals, tangents)"
        ),
        "scores 0",
    ),
    Route(
        "vars-computed",
        "02_forward_mode",
        2,
        ("DualArray = vars(check._common)['Dual' + 'Box']"),
        GUARD,
    ),
    Route(
        "patch-number",
        "02_forward_mode",
        4,
        (
            "import sys\nsetattr(sys.modules['course.checks.forward_mode'], 'hidden_t2_5', "
            "lambda *a, **k: 0.5)"
        ),
        "IntegrityError",
        False,
    ),
    # 03: reverse mode
    Route(
        "gc",
        "03_reverse_mode",
        1,
        (
            "import gc\n"
            "def topological_order(output):\n"
            "    f = next(o for o in gc.get_objects()\n"
            "             if type(o).__name__ == 'function'\n"
            "             and o.__name__ == 'course_topological_order')\n"
            "    return f(output)"
        ),
        GUARD,
    ),
    Route(
        "inspect",
        "03_reverse_mode",
        2,
        _keep(
            "backward",
            "__import__('inspect').getmembers(check)[0] and "
            "dict(__import__('inspect').getmembers(check._reference))['course_backward'](*a)",
        ),
        GUARD,
    ),
    Route(
        "exec-string",
        "03_reverse_mode",
        1,
        (
            "exec('def topological_order(output):\\n"
            "    return check._reference.course_topological_order(output)\\n')"
        ),
        GUARD,
    ),
    Route(
        "compile-as-course",
        "03_reverse_mode",
        2,
        (
            "_src = 'def backward(output, cotangent=1.0):\\n"
            "    return course_backward(output, cotangent)\\n'\n"
            "_ns = dict(vars(check._reference))\n"
            "exec(compile(_src, check.__file__, 'exec'), _ns)\n"
            "backward = _ns['backward']"
        ),
        GUARD,
    ),
    Route(
        "patch-none",
        "03_reverse_mode",
        5,
        "check.hidden_t3_6 = lambda *a, **k: None",
        "IntegrityError",
        False,
    ),
    # 04: matrix adjoints
    Route(
        "importlib",
        "04_matrix_adjoints",
        0,
        _keep(
            "solve_jvp",
            (
                "__import__('importlib').import_module('course.checks.' + 'matrix_adjoints.t4_3')"
                ".course_solve_jvp(*a)"
            ),
        ),
        GUARD,
    ),
    Route(
        "pickle",
        "04_matrix_adjoints",
        1,
        (
            "import pickle, sys\n_f = pickle.loads(pickle.dumps(\n"
            "    sys.modules['course.checks.matrix_adjoints.t4_3'].course_solve_vjp))\n"
            + _keep("solve_bwd", "_f((a[0][0], a[0][1]), a[1])")
        ),
        GUARD,
    ),
    Route(
        "sys-modules-reference",
        "04_matrix_adjoints",
        3,
        (
            "import sys\n"
            + _keep("svd_values_jvp", "sys.modules['reference' + '_impl'].numpy.sum(a[1])")
        ),
        GUARD,
    ),
    Route(
        "thread",
        "04_matrix_adjoints",
        3,
        (
            "import sys\nfrom concurrent.futures import ThreadPoolExecutor\n"
            "_pool = ThreadPoolExecutor(1)\n"
            "_m = sys.modules['course.checks.matrix_adjoints.t4_3']\n"
            + _keep(
                "svd_values_vjp",
                "_pool.submit(_m.course_solve_jvp, (a[0], a[1]), (a[0], a[1])).result()",
            )
        ),
        GUARD,
    ),
    Route(
        "patch-int",
        "04_matrix_adjoints",
        4,
        "check.t4_5 = check.hidden_t4_5 = lambda *a, **k: 7",
        "IntegrityError",
        False,
    ),
    # 05: second order and memory
    Route(
        "object-attribute",
        "05_second_order_and_memory",
        3,
        (
            "class _Box:\n    pass\n_b = _Box()\n_b.f = check._reference.course_chain_vjp\n"
            "def chain_vjp(step, step_vjp, x0, n, xn_bar):\n"
            "    return _b.f(step, step_vjp, x0, n, xn_bar)"
        ),
        GUARD,
    ),
    Route(
        "eval-string",
        "05_second_order_and_memory",
        1,
        _keep(
            "hessian_from_hvp",
            "eval('check._reference.course_' + 'chain_vjp')(None, None, None, 0, None)",
        ),
        GUARD,
    ),
    Route(
        "guard-off",
        "05_second_order_and_memory",
        2,
        _keep("hutchinson", "__import__('sys').setprofile(None)"),
        GUARD,
    ),
    Route(
        "reload-checks",
        "05_second_order_and_memory",
        4,
        ("import importlib\nimportlib.reload(check)"),
        "IntegrityError",
        False,
    ),
]
#: honest solutions with the same Python features: a dict of helpers, functools.partial, closures
HONEST = [
    Route(
        "honest-features",
        "01_finite_differences",
        0,
        (
            "import functools\n_impl = {'fd': fd_grad}\n"
            "def _wrap(g):\n    def inner(f, x, eps, method='central'):\n"
            "        return g(f, x, eps, method)\n    return inner\n"
            "fd_grad = functools.partial(_wrap(lambda *a: _impl['fd'](*a)))"
        ),
        "",
    ),
    Route(
        "honest-toolkit",
        "05_second_order_and_memory",
        0,
        (
            "import functools\n_tools = {'jvp': jvp, 'grad': grad}\n"
            "_hvp = hvp_fwd_over_rev\n"
            "hvp_fwd_over_rev = functools.partial(lambda g, x, v, _d=_tools: _hvp(g, x, v))"
        ),
        "",
    ),
]
ASSIGNMENTS = sorted({r.aid for r in ROUTES})


def _notebook(route: Route) -> nbformat.NotebookNode:
    release = nbformat.read(ROOT / "assignments" / route.aid / f"{route.aid}.ipynb", 4)
    solution = nbformat.read(ROOT / "solutions" / route.aid / f"{route.aid}.ipynb", 4)
    nb = solved(release, solution)
    cell = nb.cells[_solution_cells(nb)[route.task]]
    cell.source += "\n" + route.code
    return nb


@dataclass
class Graded:
    work: Path
    state: dict
    report: str


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    base = tmp_path_factory.mktemp("hostile")
    subs, work = base / "submissions", base / "work"
    for r in ROUTES + HONEST:
        folder = subs / r.student / r.aid
        folder.mkdir(parents=True)
        nbformat.write(_notebook(r), str(folder / f"{r.aid}.ipynb"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    cmd = [sys.executable, "-m", "course.cli"]
    run = subprocess.run(
        [
            *cmd,
            "autograde",
            str(subs),
            "--jobs",
            "2",
            "--timeout",
            "30",
            "--memory",
            "2048",
            "--workdir",
            str(work),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    rep = subprocess.run(
        [*cmd, "report", "--workdir", str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rep.returncode == 0, rep.stderr[-2000:]
    return Graded(
        work,
        json.loads((work / "course-state.json").read_text()),
        (work / "report" / "report.md").read_text(),
    )


def _task_ids(aid: str) -> list[str]:
    release = nbformat.read(ROOT / "assignments" / aid / f"{aid}.ipynb", 4)
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in release.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    ]


def _points(aid: str) -> dict[str, float]:
    source = nbformat.read(ROOT / "solutions" / aid / f"{aid}.ipynb", 4)
    return {
        c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


def _on_channel(aid: str) -> bool:
    """Whether ``aid`` is graded over the channel (docs/GRADING_CHANNEL.md says ``ready``)."""
    from course.pipeline.view import channel_ready
    from tests.grading.test_channel_notebooks import package_of

    return channel_ready(package_of(nbformat.read(ROOT / "solutions" / aid / f"{aid}.ipynb", 4)))


@pytest.mark.parametrize("route", ROUTES, ids=[r.student for r in ROUTES])
def test_route_costs_exactly_its_task(graded: Graded, route: Route) -> None:
    """Over the channel the route is impossible (the kernel has no reference, no hidden checks,
    no ledger; a replaced stub runs no check): the task scores 0, or — where the route's code
    only failed and the honest definition before it stayed — the honest code's points; never
    more; the other tasks keep theirs, and the hidden parts appear nowhere in the feedback."""
    assert _on_channel(route.aid), f"{route.aid} is not graded over the channel"
    o = graded.state[f"{route.student}/{route.aid}"]
    ids = _task_ids(route.aid)
    lost = ids[route.task]
    feedback = graded.work / "feedback" / route.student / route.aid / f"{route.aid}.html"
    text = html.unescape(feedback.read_text(encoding="utf-8"))
    for gid in ids:
        if gid != lost:
            assert o["tasks"][gid] > 0, (route.student, gid, o["tasks"], o["messages"])
    full = _points(route.aid)[lost]
    # the route's code failed where it reached for the course (its error in the feedback),
    # or it only wraps the honest function and swallows what it tried, or reloads the stub
    blocked = (
        any(t in text for t in ("has no attribute", "No module named", "KeyError"))
        or "_honest" in route.code
        or "reload(" in route.code
    )
    assert o["tasks"][lost] == 0 or (o["tasks"][lost] == full and blocked), (
        route.student,
        o["tasks"],
        o["messages"],
    )
    for line in _hidden_lines(route.aid):
        assert line not in text, (route.student, line)
    if not route.guard and "reload(" not in route.code:  # a replaced check: 0, flagged
        assert o["tasks"][lost] == 0 and any(f["severity"] == "zero" for f in o["findings"])
        assert route.message in text
    assert route.student in graded.report or o["tasks"][lost] == full


@pytest.mark.parametrize("route", HONEST, ids=[r.student for r in HONEST])
def test_honest_features_keep_full_marks(graded: Graded, route: Route) -> None:
    o = graded.state[f"{route.student}/{route.aid}"]
    assert o["score"] == o["max_score"] == 100, (o["tasks"], o["messages"], o["findings"])


def test_routes_cover_every_assignment() -> None:
    assert len({r.student for r in ROUTES}) == len(ROUTES) >= 20
    assert set(ASSIGNMENTS) == {p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()}


@pytest.mark.parametrize("route", [r for r in ROUTES if r.guard], ids=lambda r: r.student)
def test_static_scan_flags_the_route_for_the_ta(route: Route) -> None:
    """What replaced the in-kernel guard's message: the route is impossible when graded (above),
    and the grader's static scan of the notebook flags the cell that tries it for the TA (in
    the student's own kernel — Validate — the student is no adversary of their own grade)."""
    nb = _notebook(route)
    cell = _solution_cells(nb)[route.task]
    found = [f for f in scan_notebook(nb) if f.cell == cell and f.severity in ("zero", "flag")]
    assert found, (route.student, [f.message for f in scan_notebook(nb)])


# ---------------------------------------------------------------------------------------------
# issue 18: routes against a grade decided outside the student's process. Each is graded with
# the checks in this process (the grader's checker) and the notebook in a subprocess kernel over
# the channel, the sandbox's file view simulated (course.channel.kernel_view); the same
# notebooks go through ``course autograde`` in the executor's channel mode.
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelRoute:
    name: str
    aid: str
    task: int  # the solution cell the code is appended to (and the task it must cost)
    code: str
    honest: bool = False  # the route changes nothing: the task keeps its points


_FRAMES = (
    "import sys\n"
    "def _steal(shape):\n"
    "    f = {getframe}(1)\n"
    "    while f is not None:\n"
    "        for k, v in f.f_locals.items():\n"
    "            if k in ('expected', 'ref', 'want') and \\\n"
    "                    getattr(v, 'shape', None) == shape:\n"
    "                return v\n"
    "        f = f.f_back\n"
    "    return None\n"
)
CHANNEL_ROUTES = [
    # frames: the expected value is computed in the checker, no frame of the kernel holds it
    ChannelRoute(
        "frames-getframe",
        "04_matrix_adjoints",
        4,
        _FRAMES.format(getframe="sys._getframe")
        + (
            "def svd_vjp(U, s, Vt, U_bar, s_bar, Vt_bar):\n"
            "    got = _steal((U.shape[0], Vt.shape[1]))\n"
            "    return got if got is not None else 0 * U @ Vt\n"
        ),
    ),
    ChannelRoute(
        "frames-getattr-getframe",
        "04_matrix_adjoints",
        4,
        _FRAMES.format(getframe="getattr(sys, '_getframe')")
        + (
            "def svd_vjp(U, s, Vt, U_bar, s_bar, Vt_bar):\n"
            "    got = _steal((U.shape[0], Vt.shape[1]))\n"
            "    return got if got is not None else 0 * U @ Vt\n"
        ),
    ),
    ChannelRoute(
        "frames-array-hook",
        "01_finite_differences",
        0,
        _FRAMES.format(getframe="sys._getframe")
        + (
            "class _Lazy:\n"
            "    def __init__(self, shape): self.shape = shape\n"
            "    def __array__(self, dtype=None, copy=None):\n"
            "        import numpy\n"
            "        got = _steal(self.shape)\n"
            "        return numpy.zeros(self.shape) if got is None else got\n"
            "def fd_grad(f, x, eps, method='central'):\n"
            "    return _Lazy(x.shape)\n"
        ),
    ),
    # the check's counter, the counted function and the check's globals are out of reach
    ChannelRoute(
        "counter-reset",
        "01_finite_differences",
        0,
        (
            "_honest = fd_grad\n"
            "def fd_grad(f, x, eps, method='central'):\n"
            "    for _ in range(5):\n"
            "        f(x)\n"
            "    for reset in (lambda: f.calls.clear(), lambda: setattr(f, 'calls', []),\n"
            "                  lambda: f.__dict__.clear()):\n"
            "        try:\n"
            "            reset()\n"
            "        except Exception:\n"
            "            pass\n"
            "    return _honest(f, x, eps, method)\n"
        ),
    ),
    ChannelRoute(
        "uncounted-inner-function",
        "01_finite_differences",
        0,
        (
            "_honest = fd_grad\n"
            "def fd_grad(f, x, eps, method='central'):\n"
            "    inner = f\n"
            "    for name in ('fn', '__wrapped__', '__func__'):\n"
            "        try:\n"
            "            inner = getattr(f, name)\n"
            "            break\n"
            "        except Exception:\n"
            "            pass\n"
            "    inner(x)\n"
            "    return _honest(f, x, eps, method)\n"
        ),
    ),
    ChannelRoute(
        "raw-endpoint-extra-calls",
        "01_finite_differences",
        0,
        (
            "import course.channel.kernel as _K\n"
            "_honest = fd_grad\n"
            "def fd_grad(f, x, eps, method='central'):\n"
            "    _K._CHANNEL[0].endpoint.request('call', h=f, a=(x,))\n"
            "    return _honest(f, x, eps, method)\n"
        ),
    ),
    ChannelRoute(
        "checker-globals",
        "01_finite_differences",
        0,
        (
            "def fd_grad(f, x, eps, method='central'):\n"
            "    g = f.__globals__\n"
            "    return g['rfd'].fd_grad(g['fun'], x, method, eps).value\n"
        ),
    ),
    # forging: the check replaced, the verdict printed, the ledger written
    ChannelRoute(
        "stub-replaced",
        "01_finite_differences",
        0,
        (
            "check.t1_1 = check.hidden_t1_1 = lambda *a, **k: None\n"
            "def fd_grad(f, x, eps, method='central'):\n    return x * 0\n"
        ),
    ),
    ChannelRoute(
        "verdict-printed",
        "02_forward_mode",
        0,
        (
            "import builtins\n"
            "check.t2_1 = check.hidden_t2_1 = lambda *a: print('✓ Task 2.1: tests passed')\n"
            "class Dual(Dual):\n"
            "    def __mul__(self, o):\n"
            "        return Dual(0.0, 0.0)\n"
        ),
    ),
    ChannelRoute(
        "ledger-written",
        "01_finite_differences",
        0,
        (
            "try:\n"
            "    from course.checks import _verdict\n"
            "    _verdict.record('t1_1', 't1_1', True)\n"
            "    _verdict.record('hidden_t1_1', 't1_1', True)\n"
            "except Exception:\n"
            "    pass\n"
            "def fd_grad(f, x, eps, method='central'):\n    return x * 0\n"
        ),
    ),
    ChannelRoute(
        "exception-hook",
        "01_finite_differences",
        0,
        (
            "import sys\n"
            "sys.excepthook = lambda *a: None\n"
            "try:\n"
            "    exit._ip.set_custom_exc((BaseException,), lambda *a, **k: None)\n"
            "except Exception:\n"
            "    pass\n"
            "def fd_grad(f, x, eps, method='central'):\n    return x * 0\n"
        ),
    ),
    ChannelRoute(
        "forged-check-failure-class",
        "01_finite_differences",
        0,
        (
            "class CheckFailure(AssertionError):\n"
            "    def _render_traceback_(self):\n"
            "        return ['✓ passed']\n"
            "def fd_grad(f, x, eps, method='central'):\n"
            "    raise CheckFailure('✓ Task 1.1: visible tests passed')\n"
        ),
    ),
    # what the integrity monitor once watched: numpy patched in the kernel (the comparisons run
    # in the checker, with the grader's numpy)
    ChannelRoute(
        "patched-numpy-builtins",
        "01_finite_differences",
        0,
        (
            "import numpy as _n\n"
            "for _name in ('allclose', 'isclose', 'array_equal'):\n"
            "    setattr(_n, _name, lambda *a, **k: True)\n"
            "_n.testing.assert_allclose = lambda *a, **k: None\n"
            "def fd_grad(f, x, eps, method='central'):\n    return x * 0\n"
        ),
    ),
    # the reference and the hidden checks are not in the kernel's view
    ChannelRoute(
        "reference-import",
        "01_finite_differences",
        0,
        (
            "def fd_grad(f, x, eps, method='central'):\n"
            "    from reference_impl import finite_diff\n"
            "    return finite_diff.fd_grad(f, x, method, eps).value\n"
        ),
    ),
    ChannelRoute(
        "hidden-module-import",
        "01_finite_differences",
        0,
        (
            "def fd_grad(f, x, eps, method='central'):\n"
            "    import course.checks.finite_differences._reference as r\n"
            "    return r.course_fd_grad(f, x, eps, method)\n"
        ),
    ),
    ChannelRoute(
        "stub-private-reference",
        "01_finite_differences",
        0,
        (
            "def fd_grad(f, x, eps, method='central'):\n"
            "    return check._reference.course_fd_grad(f, x, eps, method)\n"
        ),
    ),
    # positive evidence: NaN, inf and duck-typed results fail every comparison
    ChannelRoute(
        "nan-step",
        "01_finite_differences",
        1,
        (
            "import numpy as _np\n"
            "def default_step(x, method='central'):\n"
            "    return _np.full(_np.shape(x), _np.nan)\n"
        ),
    ),
    ChannelRoute(
        "inf-step",
        "01_finite_differences",
        1,
        (
            "import numpy as _np\n"
            "def default_step(x, method='central'):\n"
            "    return _np.full(_np.shape(x), _np.inf)\n"
        ),
    ),
    ChannelRoute(
        "duck-typed-step",
        "01_finite_differences",
        1,
        (
            "class _Agree:\n"
            "    shape = ()\n"
            "    def __eq__(self, o): return True\n"
            "    def __lt__(self, o): return False\n"
            "    def __gt__(self, o): return False\n"
            "    def __le__(self, o): return True\n"
            "    def __ge__(self, o): return True\n"
            "    def __float__(self): return float('nan')\n"
            "    def __bool__(self): return True\n"
            "def default_step(x, method='central'):\n"
            "    return _Agree()\n"
        ),
    ),
    ChannelRoute(
        "duck-typed-gradient",
        "02_forward_mode",
        3,
        (
            "class _Agree:\n"
            "    def __eq__(self, o): return True\n"
            "    def __array__(self, dtype=None, copy=None):\n"
            "        raise TypeError('no')\n"
            "def jvp(f, primals, tangents):\n"
            "    return _Agree(), _Agree()\n"
        ),
    ),
    # a handle kept from one check and used in another, a check called from a free cell
    ChannelRoute(
        "handle-kept",
        "02_forward_mode",
        3,
        (
            "_kept = []\n"
            "_jvp = jvp\n"
            "def jvp(f, primals, tangents):\n"
            "    _kept.append(f)\n"
            "    return _jvp(_kept[0], primals, tangents)\n"
        ),
    ),
    # honest solutions that use the same features keep their points
    ChannelRoute(
        "honest-frames",
        "04_matrix_adjoints",
        4,
        (
            "import sys\n_svd_vjp = svd_vjp\n"
            "def svd_vjp(*a):\n"
            "    assert sys._getframe(0).f_code.co_name == 'svd_vjp'\n"
            "    return _svd_vjp(*a)\n"
        ),
        honest=True,
    ),
    ChannelRoute(
        "honest-hooks",
        "01_finite_differences",
        0,
        (
            "import sys\nsys.setprofile(None)\nsys.excepthook = sys.__excepthook__\n"
            "_h = fd_grad\n"
            "def fd_grad(f, x, eps, method='central'):\n"
            "    return _h(f, x, eps, method)\n"
        ),
        honest=True,
    ),
    ChannelRoute(
        "honest-duck-typed",
        "02_forward_mode",
        3,
        (
            "class _Vec:\n"
            "    def __init__(self, a): self.a = np.asarray(a, dtype=float)\n"
            "    def __array__(self, dtype=None, copy=None):\n"
            "        return self.a if dtype is None else self.a.astype(dtype)\n"
            "_jvp = jvp\n"
            "def jvp(f, primals, tangents):\n"
            "    y, t = _jvp(f, primals, tangents)\n"
            "    return y, _Vec(t)\n"
        ),
        honest=True,
    ),
]


def _channel_notebook(route: ChannelRoute) -> nbformat.NotebookNode:
    return _notebook(Route(route.name, route.aid, route.task, route.code, ""))


def _hidden_lines(aid: str) -> list[str]:
    """Distinctive lines of the hidden checks' source (must never reach a student)."""
    from tests.grading.test_channel_notebooks import package_of

    pkg = package_of(nbformat.read(ROOT / "solutions" / aid / f"{aid}.ipynb", 4))
    text = (ROOT / "course" / "checks" / pkg / "_hidden.py").read_text(encoding="utf-8")
    return [
        line.strip()
        for line in text.splitlines()
        if len(line.strip()) > 40
        and not line.strip().startswith(("#", '"', "from", "@"))
        and "import" not in line
    ][:40]


@pytest.mark.parametrize("route", CHANNEL_ROUTES, ids=[r.name for r in CHANNEL_ROUTES])
def test_channel_route(route: ChannelRoute, tmp_path: Path) -> None:
    """Graded over the channel: the route's task scores 0 (an honest use keeps it), the task
    graded before it keeps its points, and no line of the hidden checks reaches the kernel."""
    from tests.grading.test_channel_notebooks import grade_through_channel

    ids = _task_ids(route.aid)
    target = ids[route.task].split("-")[0]
    other = ids[route.task - 1 if route.task else 1].split("-")[0]
    outputs: list[str] = []
    source = nbformat.read(ROOT / "solutions" / route.aid / f"{route.aid}.ipynb", 4)
    locked = {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in source.cells  # as autograde does
        if c.metadata.get("nbgrader", {}).get("grade")
    }
    verdicts = grade_through_channel(
        _channel_notebook(route),
        tmp_path,
        locked=locked,
        tasks={target, other},
        view=True,
        outputs=outputs,
    )
    verdicts.pop("round trips")
    by_task = {g.split("-")[0]: v for g, v in verdicts.items()}
    assert any(r.startswith("hidden_") for r in by_task[other].ran)
    assert by_task[target].passed == route.honest, (route.name, by_task[target])
    assert by_task[other].passed, (route.name, other, by_task[other])
    seen = "\n".join(outputs + [m for v in verdicts.values() for m in v.messages])
    for line in _hidden_lines(route.aid):
        assert line not in seen, (route.name, line)


def test_channel_routes_are_many_and_cover_the_kinds() -> None:
    names = " ".join(r.name for r in CHANNEL_ROUTES)
    for kind in (
        "frames",
        "counter",
        "ledger",
        "hook",
        "reference",
        "hidden",
        "nan",
        "duck",
        "stub",
        "handle",
        "honest",
    ):
        assert kind in names, kind
    assert sum(not r.honest for r in CHANNEL_ROUTES) >= 18
