"""A synthetic class built from the real release and solutions: full marks, blank, partial, and
hostile submissions. ``course demo`` grades it; ``tests/grading/test_untrusted.py`` asserts every case.

Each :class:`Case` writes ``<dest>/<student>/<assignment>/…`` and states what the grader must
do with it: its score (``expect``), a fragment of the message the student reads
(``message``), and whether the TA is alerted (``flagged``). Scores that depend on the
assignment's code are stated against *controls* graded in the same batch: ``control-first``
(the first solution cell does nothing) and ``control-last`` (the last one does nothing).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

__all__ = ["CASES", "DEMO_CASES", "Case", "build_class", "expected_score", "solved"]


@dataclass(frozen=True)
class Case:
    """One synthetic student."""

    student: str
    what: str
    expect: str  # "full", "zero", "partial", "minus-first", or "like:<student>"
    message: str = ""
    flagged: bool = False
    #: (release, solution, context) → notebook text, or None for no notebook
    build: Callable[[Any, Any, dict[str, Any]], str | None] | None = None
    filename: str | None = None  # "{aid}" is the assignment id


# ---------------------------------------------------------------------------------------------
# notebook surgery
# ---------------------------------------------------------------------------------------------
def _meta(cell: Any) -> dict[str, Any]:
    return cell.metadata.get("nbgrader", {})


def _solution_cells(nb: Any) -> list[int]:
    return [
        i for i, c in enumerate(nb.cells) if _meta(c).get("solution") and not _meta(c).get("grade")
    ]


def _student_source(source: str) -> str:
    """A solution block as a student writes it: no markers, no stub after the block."""
    out: list[str] = []
    skip_stub = False
    for line in source.splitlines():
        if "### BEGIN SOLUTION" in line:
            continue
        if "### END SOLUTION" in line:
            skip_stub = True
            continue
        if skip_stub and line.strip().startswith("raise NotImplementedError"):
            skip_stub = False
            continue
        skip_stub = False
        out.append(line)
    return "\n".join(out)


def solved(release: Any, solution: Any, tasks: Iterable[int] | None = None) -> Any:
    """The release with the solution cells (all, or those at positions ``tasks``) filled in."""
    nb = copy.deepcopy(release)
    source = {_meta(c).get("grade_id"): c.source for c in solution.cells}
    for n, i in enumerate(_solution_cells(nb)):
        if tasks is None or n in set(tasks):
            nb.cells[i].source = _student_source(source[_meta(nb.cells[i])["grade_id"]])
    return nb


def _setup_index(nb: Any) -> int:
    return next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and _meta(c).get("locked") and not _meta(c).get("grade")
    )


def _free_cell(nb: Any, code: str, after: int | None = None) -> Any:
    nb = copy.deepcopy(nb)
    at = _setup_index(nb) if after is None else after
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(code))
    return nb


def _prefix(nb: Any, which: int, code: str) -> Any:
    nb = copy.deepcopy(nb)
    cell = nb.cells[_solution_cells(nb)[which]]
    cell.source = code + "\n" + cell.source
    return nb


def _suffix(nb: Any, which: int, code: str) -> Any:
    nb = copy.deepcopy(nb)
    cell = nb.cells[_solution_cells(nb)[which]]
    cell.source = cell.source + "\n" + code
    return nb


def _replace(nb: Any, which: int, code: str) -> Any:
    nb = copy.deepcopy(nb)
    nb.cells[_solution_cells(nb)[which]].source = code
    return nb


def _text(nb: Any) -> str:
    return nbformat.writes(nb, version=4)


def _restructured(rel: Any, sol: Any, ctx: dict[str, Any]) -> str:
    nb = solved(rel, sol)
    tests = [i for i, c in enumerate(nb.cells) if _meta(c).get("grade")]
    nb.cells[tests[-1]].metadata["nbgrader"]["points"] = 1000  # edited metadata
    del nb.cells[tests[0]]  # a deleted test cell
    setup = _setup_index(nb)
    nb.cells.insert(setup + 1, copy.deepcopy(nb.cells[setup]))  # a duplicated locked cell
    nb.cells[setup + 1].id = "setup-copy"
    last = _solution_cells(nb)[-1]
    nb.cells.append(nb.cells.pop(last))  # a solution cell moved below its test
    return _text(nb)


def _skip_tests(rel: Any, sol: Any, ctx: dict[str, Any]) -> str:
    nb = copy.deepcopy(rel)
    for c in nb.cells:
        if _meta(c).get("grade"):
            c.metadata["tags"] = ["skip-execution", "raises-exception"]
    return _text(nb)


def _fake_pass(rel: Any, sol: Any, ctx: dict[str, Any]) -> str:
    nb = copy.deepcopy(rel)
    for i in reversed([i for i, c in enumerate(nb.cells) if _meta(c).get("grade")]):
        nb.cells.insert(
            i + 1,
            nbformat.v4.new_code_cell(
                'print("✓ all tests passed / все тесты пройдены")\nprint("Score: 100/100")'
            ),
        )
    return _text(nb)


def _plagiarise(rel: Any, sol: Any, ctx: dict[str, Any]) -> str:
    path = Path(ctx["root"]) / "solutions" / ctx["aid"] / f"{ctx['aid']}.ipynb"
    return _text(
        _free_cell(
            rel,
            (
                "import json\n"
                "try:\n"
                f"    _nb = json.load(open({str(path)!r}))\n"
                "    for _c in _nb['cells']:\n"
                "        if _c['cell_type'] == 'code' and not _c['metadata'].get('nbgrader', {})"
                ".get('grade'):\n"
                "            exec(''.join(_c['source']))\n"
                "except Exception as e:\n"
                "    print('no luck:', e)"
            ),
        )
    )


# ---------------------------------------------------------------------------------------------
# the cases
# ---------------------------------------------------------------------------------------------
def _nb(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any, dict[str, Any]], str]:
    return lambda rel, sol, ctx: _text(fn(rel, sol))


_LOOP = "while True:\n    pass"
_STUBBORN = (
    "while True:  # ignores the interrupt\n    try:\n        while True:\n"
    "            pass\n    except KeyboardInterrupt:\n        pass"
)
_PATCH_CHECKS = (
    "for _n in dir(check):\n    if not _n.startswith('_'):\n"
    "        setattr(check, _n, lambda *a, **k: None)"
)
_HIDDEN_PATCH = (
    "_m = globals()['che' + 'ck']\nfor _n in list(vars(_m)):\n"
    "    if _n[:1] in 'th':\n        setattr(_m, _n, lambda *a, **k: None)"
)
_TRANSFORMER = (
    "get_ipython().input_transformers_cleanup.append(\n"
    "    lambda lines: ['pass\\n'] if any('check.' in l for l in lines) else lines)"
)
_WRITES = (
    "import os, shutil\n"
    "for _target in ['../../../pwned.txt', '/tmp/course-pwned.txt']:\n"
    "    try:\n"
    "        open(_target, 'w').write('pwned')\n"
    "    except OSError as e:\n"
    "        print('write refused:', e)\n"
    "try:\n"
    "    os.remove('../../../gradebook.db')\n"
    "except OSError as e:\n"
    "    print('remove refused:', e)\n"
    "open('my_scratch_file.txt', 'w').write('allowed')"
)
_KILL = (
    "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n"
    "except OSError as e:\n    print('kill refused:', e)"
)

CASES: list[Case] = [
    Case("full", "complete, correct solution", "full", build=_nb(solved)),
    Case(
        "blank",
        "the untouched release",
        "zero",
        "not implemented yet",
        build=lambda rel, sol, ctx: _text(rel),
    ),
    Case(
        "partial",
        "first half of the tasks solved",
        "partial",
        "not implemented yet",
        build=lambda rel, sol, ctx: _text(
            solved(rel, sol, range((len(_solution_cells(rel)) + 1) // 2))
        ),
    ),
    Case(
        "control-first",
        "control: the first solution cell is empty",
        "like:control-first",
        build=_nb(lambda r, s: _replace(solved(r, s), 0, "pass")),
    ),
    Case(
        "control-last",
        "control: the last solution cell is empty",
        "like:control-last",
        build=_nb(lambda r, s: _replace(solved(r, s), -1, "pass")),
    ),
    Case(
        "infinite-loop",
        "`while True: pass` in the first solution cell",
        "like:control-first",
        "ran longer than",
        build=_nb(lambda r, s: _prefix(solved(r, s), 0, _LOOP)),
    ),
    Case(
        "stubborn-loop",
        "a loop that swallows KeyboardInterrupt, last solution cell",
        "like:control-last",
        "ignored the interrupt",
        build=_nb(lambda r, s: _prefix(solved(r, s), -1, _STUBBORN)),
    ),
    Case(
        "sys-exit",
        "`sys.exit(3)` in a cell of its own",
        "full",
        "SystemExit",
        build=_nb(lambda r, s: _free_cell(solved(r, s), "import sys\nsys.exit(3)")),
    ),
    Case(
        "os-exit",
        "`os._exit(0)` in the last solution cell",
        "like:control-last",
        "exited with status 0",
        build=_nb(lambda r, s: _prefix(solved(r, s), -1, "import os\nos._exit(0)")),
    ),
    Case(
        "segfault",
        "`ctypes.string_at(0)` in the last solution cell",
        "like:control-last",
        "SIGSEGV",
        True,
        build=_nb(lambda r, s: _prefix(solved(r, s), -1, "import ctypes\nctypes.string_at(0)")),
    ),
    Case(
        "memory-bomb",
        "allocates 1 GiB blocks until refused, first solution cell",
        "like:control-first",
        "out of memory",
        build=_nb(
            lambda r, s: _prefix(
                solved(r, s), 0, ("_hog = []\nwhile True:\n    _hog.append(bytearray(2**30))")
            )
        ),
    ),
    Case(
        "huge-output",
        "prints 200 000 lines and a 5-MB line",
        "full",
        "truncated",
        build=_nb(
            lambda r, s: _free_cell(
                solved(r, s),
                ("for _i in range(200_000):\n    print('spam', _i)\nprint('x' * 5_000_000)"),
            )
        ),
    ),
    Case(
        "malformed",
        "a file that is not JSON",
        "zero",
        "could not be read",
        True,
        build=lambda rel, sol, ctx: '{"cells": [ this is not json',
    ),
    Case(
        "renamed",
        "the notebook saved as <id>-Copy1.ipynb",
        "full",
        "was graded in its place",
        True,
        build=_nb(solved),
        filename="{aid}-Copy1.ipynb",
    ),
    Case(
        "missing",
        "no notebook in the folder, a README (flagged: never a silent 0)",
        "zero",
        "no notebook",
        True,
        build=lambda rel, sol, ctx: None,
    ),
    Case(
        "restructured",
        "a test cell deleted, setup duplicated, a solution cell moved, points edited",
        "full",
        "was deleted",
        True,
        build=_restructured,
    ),
    Case(
        "skip-tests",
        "blank, test cells tagged skip-execution (plain nbgrader: 100)",
        "zero",
        "tags",
        True,
        build=_skip_tests,
    ),
    Case(
        "fake-pass",
        "blank, prints fake 'all tests passed' lines",
        "zero",
        "not implemented yet",
        build=_fake_pass,
    ),
    Case(
        "reference-import",
        "`import reference_impl` in the first solution cell",
        "minus-first",
        "must not use",
        True,
        build=_nb(lambda r, s: _suffix(solved(r, s), 0, "import reference_impl as _ri")),
    ),
    Case(
        "reference-dunder",
        "`__import__('jax')` in the first solution cell",
        "minus-first",
        "must not use",
        True,
        build=_nb(lambda r, s: _suffix(solved(r, s), 0, "_j = __import__('jax')")),
    ),
    Case(
        "reference-importlib",
        "`importlib.import_module('torch')`, first solution cell",
        "minus-first",
        "must not use",
        True,
        build=_nb(
            lambda r, s: _suffix(
                solved(r, s),
                0,
                (
                    "import importlib\ntry:\n    _t = importlib.import_module('torch')\n"
                    "except ImportError:\n    _t = None"
                ),
            )
        ),
    ),
    Case(
        "reference-sys-modules",
        "`sys.modules['reference_impl']`, first solution cell",
        "minus-first",
        "must not use",
        True,
        build=_nb(
            lambda r, s: _suffix(
                solved(r, s), 0, ("import sys\n_ri = sys.modules.get('reference_impl')")
            )
        ),
    ),
    Case(
        "tamper-checks",
        "blank; replaces every check with a no-op (plain nbgrader: 100)",
        "zero",
        "IntegrityError",
        True,
        build=_nb(lambda r, s: _free_cell(r, _PATCH_CHECKS)),
    ),
    Case(
        "tamper-hidden",
        "blank; the same through globals() and computed names",
        "zero",
        "IntegrityError",
        True,
        build=_nb(lambda r, s: _free_cell(r, _HIDDEN_PATCH)),
    ),
    Case(
        "tamper-ipython",
        "blank; an IPython input transformer blanks the test cells (plain nbgrader: 100)",
        "zero",
        "IntegrityError",
        True,
        build=_nb(lambda r, s: _free_cell(r, _TRANSFORMER)),
    ),
    Case(
        "tamper-numpy",
        "solved; patches numpy.allclose and numpy.testing",
        "zero",
        "IntegrityError",
        True,
        build=_nb(
            lambda r, s: _free_cell(
                solved(r, s),
                (
                    "np.allclose = lambda *a, **k: True\n"
                    "np.testing.assert_allclose = lambda *a, **k: None"
                ),
            )
        ),
    ),
    Case(
        "tamper-builtins",
        "solved; wraps builtins.isinstance",
        "zero",
        "IntegrityError",
        True,
        build=_nb(
            lambda r, s: _free_cell(
                solved(r, s),
                (
                    "import builtins\n_isinstance = builtins.isinstance\n"
                    "builtins.isinstance = lambda o, t: _isinstance(o, t)"
                ),
            )
        ),
    ),
    Case(
        "tamper-course",
        "solved; patches course.checks._core.assert_close",
        "zero",
        "IntegrityError",
        True,
        build=_nb(
            lambda r, s: _free_cell(
                solved(r, s),
                ("import course.checks._core as _core\n_core.assert_close = lambda *a, **k: None"),
            )
        ),
    ),
    Case(
        "write-outside",
        "solved; writes to the grader's folder and /tmp, removes the gradebook",
        "full",
        "refused",
        True,
        build=_nb(lambda r, s: _free_cell(solved(r, s), _WRITES)),
    ),
    Case(
        "read-solutions",
        "blank; reads and runs the instructor's solutions (plain nbgrader: 100)",
        "zero",
        "not implemented yet",
        True,
        build=_plagiarise,
    ),
    Case(
        "kill-grader",
        "solved; sends SIGKILL to the grading process",
        "full",
        "refused",
        True,
        build=_nb(lambda r, s: _free_cell(solved(r, s), _KILL)),
    ),
]
#: the demo's smaller class
DEMO_CASES = (
    "full",
    "blank",
    "partial",
    "control-first",
    "control-last",
    "infinite-loop",
    "os-exit",
    "malformed",
    "missing",
    "renamed",
    "skip-tests",
    "tamper-checks",
    "read-solutions",
)


def build_class(
    dest: Path,
    assignments: Iterable[str],
    *,
    root: Path,
    release_dir: Path,
    cases: Iterable[str] | None = None,
) -> dict[str, Case]:
    """Write the submissions of ``cases`` (default: all) for ``assignments`` under ``dest``
    (``<student>/<assignment>/<notebook>``); return the cases by student."""
    chosen = [c for c in CASES if cases is None or c.student in set(cases)]
    for aid in assignments:
        release = nbformat.read(Path(release_dir) / aid / f"{aid}.ipynb", as_version=4)
        solution = nbformat.read(Path(root) / "solutions" / aid / f"{aid}.ipynb", as_version=4)
        ctx = {"aid": aid, "root": str(root)}
        for case in chosen:
            folder = Path(dest) / case.student / aid
            folder.mkdir(parents=True, exist_ok=True)
            text = case.build(release, solution, ctx) if case.build else None
            if text is None:
                (folder / "README.txt").write_text("I forgot to upload my notebook.\n")
                continue
            name = (case.filename or "{aid}.ipynb").format(aid=aid)
            (folder / name).write_text(text, encoding="utf-8")
    return {c.student: c for c in chosen}


def task_points(release: Any) -> list[float]:
    """Points of the test cells, in order."""
    return [float(_meta(c).get("points", 0)) for c in release.cells if _meta(c).get("grade")]


def expected_score(case: Case, release: Any, scores: dict[str, float]) -> float:
    """The score ``case`` must get, given the batch's ``scores`` (for controls)."""
    points = task_points(release)
    if case.expect == "full":
        return sum(points)
    if case.expect == "zero":
        return 0.0
    if case.expect == "partial":
        return sum(points[: (len(_solution_cells(release)) + 1) // 2])
    if case.expect == "minus-first":
        return sum(points) - points[0]
    if case.expect.startswith("like:"):
        return scores[case.expect[5:]]
    raise ValueError(case.expect)


def check_outcomes(cases: dict[str, Case], outcomes: Iterable[Any], release_dir: Path) -> list[str]:
    """Where the grades differ from what the cases expect (an empty list: all as expected)."""
    by_a: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        by_a.setdefault(o.assignment, {})[o.student] = o
    problems = []
    for aid, subs in sorted(by_a.items()):
        release = nbformat.read(Path(release_dir) / aid / f"{aid}.ipynb", as_version=4)
        scores = {sid: o.score for sid, o in subs.items()}
        for sid, o in sorted(subs.items()):
            case = cases.get(sid)
            if case is None:
                continue
            want = expected_score(case, release, scores)
            text = " ".join([*o.messages.values(), *(f["message"] for f in o.findings)])
            if abs(o.score - want) > 1e-9:
                problems.append(f"{sid}/{aid}: score {o.score:g}, expected {want:g}")
            if case.message and case.message not in text:
                problems.append(f"{sid}/{aid}: no {case.message!r} in the messages")
            if case.flagged and not o.flagged:
                problems.append(f"{sid}/{aid}: not flagged")
    return problems


def run_demo(
    workdir: Path,
    assignments: Iterable[str] = (),
    *,
    jobs: int = 0,
    limits: Any = None,
    all_cases: bool = False,
    root: Path | None = None,
) -> int:
    """``course demo``: release, build the class, autograde it in parallel, report."""
    import shutil

    from ..pipeline.autograde import Options, autograde
    from ..pipeline.execution import Limits
    from ..pipeline.grading import Grader
    from ..report import main_report
    from .nbgrader_setup import assignment_ids, grading_env, repo_root

    root = Path(root or repo_root()).resolve()
    workdir = Path(workdir).resolve()
    aids = list(assignments) or assignment_ids(root)
    if not aids:
        print("no assignments in solutions/")
        return 2
    limits = limits or Limits(timeout=10)
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / "course-state.json").is_file() and not (workdir / "submissions").is_dir():
            print(f"refusing to clear {workdir}: not a folder of an earlier `course demo`")
            return 2
        shutil.rmtree(workdir)
    print(f"1. release: nbgrader generate_assignment for {', '.join(aids)}")
    with grading_env():
        grader = Grader(workdir, root, limits=limits)
        for aid in aids:
            grader.prepare(aid)
    release_dir = Path(grader.config.CourseDirectory.release_directory)
    subs = workdir / "submissions"
    cases = build_class(
        subs, aids, root=root, release_dir=release_dir, cases=None if all_cases else DEMO_CASES
    )
    print(f"2. a synthetic class in {subs}: {len(cases)} students × {len(aids)} assignment(s)")
    for c in cases.values():
        print(f"   {c.student:<22} {c.what}")
    print("3. course autograde (sandboxed, parallel)")
    outcomes = autograde(Options(subs, workdir, jobs=jobs, limits=limits, root=root))
    print("4. course report")
    text, path = main_report(workdir, root=root)
    print(text)
    problems = check_outcomes(cases, outcomes, release_dir)
    print(f"report: {path}; feedback: {workdir / 'feedback'}; grades: {workdir / 'grades.csv'}")
    if problems:
        print("UNEXPECTED:\n  " + "\n  ".join(problems))
        return 1
    print(f"every grade is as expected ({len(outcomes)} submissions)")
    return 0
