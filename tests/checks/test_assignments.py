"""Every assignment through nbgrader's real pipeline: the committed release is what
``generate_assignment`` makes of the source, it hides solutions and hidden tests, the solution
gets full marks, the blank release gets 0, and each planted bug costs exactly its task.

One gradebook (in a temporary work directory) serves all the submissions of a session.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course import authoring
from course.authoring.nbgrader_setup import CODE_STUB, assignment_ids
from course.pipeline.grading import Grader, Result
from tests.checks.assignment_utils import (
    MUTANTS,
    ROOT,
    mutated_notebook,
    release_notebook,
    source_notebook,
)

ASSIGNMENTS = assignment_ids(ROOT)
pytestmark = [
    pytest.mark.skipif(not ASSIGNMENTS, reason="no assignments yet"),
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),
]


def _check_module(aid: str):
    import importlib

    setup = next(
        c
        for c in source_notebook(aid).cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "setup"
    )
    name = re.search(r"import (course\.checks\.\w+) as check", setup.source)[1]
    return importlib.import_module(name)


def _number(aid: str) -> int:
    return int(aid.split("_")[0])


# ---------------------------------------------------------------------------------------------
# the release
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def grader(tmp_path_factory: pytest.TempPathFactory) -> Grader:
    return Grader(tmp_path_factory.mktemp("grading"))


@pytest.fixture(scope="module")
def regenerated(grader: Grader, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("release")
    grader.release(ASSIGNMENTS, dest)
    return dest


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_source_follows_the_conventions(aid: str) -> None:
    problems = authoring.lint(source_notebook(aid), _number(aid), _check_module(aid).TASKS)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_release_is_what_nbgrader_generates(aid: str, regenerated: Path) -> None:
    committed = ROOT / "assignments" / aid
    fresh = regenerated / aid
    files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    fix = f"regenerate with: python -c 'import course; course.release([\"{aid}\"])'"
    for rel in files:
        new, old = (fresh / rel).read_bytes(), (committed / rel).read_bytes()
        if rel.suffix == ".ipynb" and new != old:
            a, b = (nbformat.reads(x.decode(), as_version=4) for x in (new, old))
            for ca, cb in zip(a.cells, b.cells, strict=False):
                assert (ca.source, ca.metadata) == (cb.source, cb.metadata), (
                    f"{rel}: cell {ca.get('id')} drifted; {fix}"
                )
        assert new == old, f"{rel} drifted; {fix}"


def _solution_lines(nb: nbformat.NotebookNode) -> set[str]:
    """Substantial lines inside solution blocks that occur nowhere else in the source."""
    inside, outside = set(), set()
    for cell in nb.cells:
        state = False
        for line in cell.source.splitlines():
            s = line.strip()
            if "### BEGIN SOLUTION" in s or "### BEGIN HIDDEN TESTS" in s:
                state = True
            elif "### END SOLUTION" in s or "### END HIDDEN TESTS" in s:
                state = False
            elif len(s) >= 12 and not s.startswith("#"):
                (inside if state else outside).add(s)
    return inside - outside


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_release_hides_solutions_and_hidden_tests(aid: str) -> None:
    release = release_notebook(aid)
    text = "\n".join(c.source for c in release.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "check.hidden_"):
        assert marker not in text, f"{marker!r} in the release of {aid}"
    leaked = {line for line in _solution_lines(source_notebook(aid)) if line in text}
    assert not leaked, f"solution lines in the release: {sorted(leaked)}"
    for task in _check_module(aid).TASKS.values():
        assert f'raise NotImplementedError("{task.stub}")' in text, task.stub
    assert CODE_STUB in text
    assert all(not c.get("outputs") for c in release.cells if c.cell_type == "code")


# ---------------------------------------------------------------------------------------------
# autograding
# ---------------------------------------------------------------------------------------------
_graded: dict[str, dict[str, Result]] = {}


def _graded_submissions(
    aid: str, grader: Grader, regenerated: Path, workdir: Path
) -> dict[str, Result]:
    """Grade the solution, the blank release and the notebook mutants of ``aid`` (once)."""
    if aid not in _graded:
        subs = {
            "solution": ROOT / "solutions" / aid / f"{aid}.ipynb",
            "blank": regenerated / aid / f"{aid}.ipynb",
        }
        for m in MUTANTS.get(aid, []):
            if m.notebook:
                path = workdir / f"{aid}-{m.name}.ipynb"
                nbformat.write(mutated_notebook(aid, m), str(path))
                subs[f"bug-{m.name}"] = path
        _graded[aid] = {sid: grader.grade(aid, sid, path) for sid, path in subs.items()}
    return _graded[aid]


@pytest.fixture
def graded(grader: Grader, regenerated: Path, tmp_path_factory: pytest.TempPathFactory):
    return lambda aid: _graded_submissions(
        aid, grader, regenerated, tmp_path_factory.mktemp("subs")
    )


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_solution_gets_full_marks(aid: str, graded) -> None:
    r = graded(aid)["solution"]
    assert not r.messages, r.messages
    assert (r.score, r.max_score) == (100, 100), r.tasks
    assert r.tasks == r.max_tasks


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_blank_release_gets_zero(aid: str, graded) -> None:
    r = graded(aid)["blank"]
    assert (r.score, r.max_score) == (0, 100), r.tasks
    assert set(r.messages) == set(r.tasks), r.messages
    for gid, msg in r.messages.items():
        assert "not implemented yet" in msg, (gid, msg)


@pytest.mark.parametrize(
    "aid,mutant",
    [
        pytest.param(aid, m, id=f"{aid}:{m.task}:{m.name}", marks=pytest.mark.task(m.task))
        for aid in ASSIGNMENTS
        for m in MUTANTS.get(aid, [])
        if m.notebook
    ],
)
def test_planted_bug_loses_its_task_only(aid: str, mutant, graded) -> None:
    r = graded(aid)[f"bug-{mutant.name}"]
    broken = {gid for gid in r.tasks if gid.split("-")[0] == mutant.task}
    assert len(broken) == 1
    for gid, score in r.tasks.items():
        assert score == (0 if gid in broken else r.max_tasks[gid]), (gid, r.tasks, r.messages)
    (gid,) = broken
    flat = " ".join(r.messages[gid].split())  # messages wrap long lines (nbgrader validate)
    for fragment in mutant.expect:
        assert fragment in flat, r.messages[gid]
    assert set(r.messages) == broken


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_report_autograde_time(aid: str, graded, record_property) -> None:
    """Seconds per notebook (reported, not asserted: wall-clock depends on the machine's load)."""
    times = {sid: round(r.seconds, 2) for sid, r in graded(aid).items()}
    record_property(f"autograde_seconds_{aid}", times)
    print(f"\nautograde seconds per notebook, {aid}: {times}")
