"""Unit tests of :mod:`course.pipeline.executor`: what :class:`SandboxExecute` makes of a
notebook's run, without nbgrader or an autograde run.

The findings' metadata needs no kernel. The run needs one: a single kernel (in the sandbox
where bubblewrap works, else unconfined) executes one small notebook for the whole module
(~3 s) — output flooding, a grade cell clearing its own output or ending in an expression, a
submission's data file and symbolic link, and a kernel that dies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course.pipeline.bwrap import sandbox_status
from course.pipeline.executor import NOTES_TITLE, SandboxExecute, findings_of, set_findings
from course.pipeline.findings import Finding


def test_findings_round_trip_through_the_metadata() -> None:
    nb = new_notebook()
    assert findings_of(nb) == []
    found = [Finding("timeout", "info", "slow", 3), Finding("tamper", "zero", "x", 5, "t1_2")]
    set_findings(nb, found, sandbox="bwrap")
    assert findings_of(nb) == found
    assert nb.metadata["course"]["sandbox"] == "bwrap"
    nb.metadata["course"]["findings"].append("not a finding")  # ignored, not fatal
    assert findings_of(nb) == found
    reread = nbformat.reads(nbformat.writes(nb), as_version=4)
    assert findings_of(reread) == found


# --- one run --------------------------------------------------------------------------------------
OUTPUT_CHARS = 2000


def _grade(source: str, gid: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": gid,
        "points": 1,
        "locked": True,
        "solution": False,
        "schema_version": 3,
    }
    return cell


CELLS = [
    new_markdown_cell("# a small assignment"),
    new_code_cell("x = 1\nprint(open('data.txt').read())"),  # 1: the submission's file
    new_code_cell("print('a' * 10_000)\nprint('b' * 10_000)"),  # 2: a flood
    _grade(  # 3: student code tries to erase the test cell's output
        "from IPython.display import clear_output\nprint('seen by the TA')\nclear_output()",
        "t1_1-a",
    ),
    _grade("assert x == 1\nx", "t1_2-b"),  # 4: ends in an expression nbgrader would score
    _grade("assert x == 2, 'x is not 2'", "t1_3-c"),  # 5: a failure keeps its error
    new_code_cell("import os\nos._exit(3)"),  # 6: the kernel dies
    _grade("assert x == 1", "t1_4-d"),  # 7: never runs
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    base = tmp_path_factory.mktemp("executor")
    sub = base / "submitted" / "s" / "a1"
    sub.mkdir(parents=True)
    (sub / "data.txt").write_text("from the student's folder\n")
    (sub / "secret-link").symlink_to(base / "outside.txt")
    (base / "outside.txt").write_text("not for the kernel")
    sealed, _why = sandbox_status()
    ex = SandboxExecute(
        timeout=60,
        output_chars=OUTPUT_CHARS,
        scratch_root=str(base / "scratch"),
        unsafe_no_sandbox=not sealed,
    )
    nb = new_notebook(cells=[nbformat.from_dict(c) for c in CELLS])
    resources = {"metadata": {"path": str(sub)}, "nbgrader": {"student": "s", "assignment": "a1"}}
    out, _ = ex.preprocess(nb, resources)
    return out, base


def _cell(nb: Any, source_start: str) -> Any:
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(source_start))


def _text(cell: Any) -> str:
    return "".join(str(o.get("text", "")) + str(o.get("evalue", "")) for o in cell.outputs)


def test_notes_cell_on_top_and_findings_in_the_metadata(run: tuple[Any, Path]) -> None:
    nb, _ = run
    top = nb.cells[0]
    assert top.cell_type == "markdown" and top.metadata.get("course_notes") is True
    assert top.source.startswith(f"## {NOTES_TITLE}")
    kinds = {f.kind for f in findings_of(nb)}
    assert {"output", "crash", "submission"} <= kinds, findings_of(nb)
    for f in findings_of(nb):
        assert f.message.split(" / ")[0] in top.source, f"{f.kind} not explained on top"
    meta = nb.metadata["course"]
    assert meta["sandbox"] in ("bwrap", "unsafe-no-sandbox")
    assert meta["kernel_cpu"] >= 0  # read from /proc; 0 once the kernel is dead


def test_the_submissions_files_are_there_but_not_its_links(run: tuple[Any, Path]) -> None:
    nb, _ = run
    assert "from the student's folder" in _text(_cell(nb, "x = 1"))
    link = [f for f in findings_of(nb) if f.kind == "submission"]
    assert len(link) == 1 and "'secret-link' was not copied" in link[0].message, link
    assert link[0].severity == "flag"


def test_output_is_capped_per_cell(run: tuple[Any, Path]) -> None:
    nb, _ = run
    flood = _cell(nb, "print('a'")
    text = _text(flood)
    assert len(text) < OUTPUT_CHARS + 500, len(text)
    assert f"output truncated: more than {OUTPUT_CHARS} characters" in text
    assert "b" * 100 not in text, "the output after the cap is dropped"
    (note,) = [f for f in findings_of(nb) if f.kind == "output"]
    assert note.cell == nb.cells.index(flood) - 1, "the cell's index before the notes cell"


def test_student_code_cannot_clear_a_test_cells_output(run: tuple[Any, Path]) -> None:
    nb, _ = run
    assert "seen by the TA" in _text(_cell(nb, "from IPython.display import clear_output"))


def test_a_grade_cell_keeps_no_result_that_nbgrader_would_score(run: tuple[Any, Path]) -> None:
    """A grade cell's points are the checker's verdict: a cell that calls no check (here a bare
    ``assert``) gets an error saying so, whatever the kernel printed or returned."""
    nb, _ = run
    for source in ("assert x == 1\nx", "assert x == 2"):
        cell = _cell(nb, source)
        assert all(o.output_type not in ("execute_result", "display_data") for o in cell.outputs)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors and "the checker gave no verdict" in errors[-1].evalue, cell.outputs


def test_a_dead_kernel_ends_the_run_and_says_why(run: tuple[Any, Path]) -> None:
    nb, _ = run
    after = nb.cells[-1]
    assert after.source == "assert x == 1"
    not_run = [o for o in after.outputs if o.output_type == "error" and o.ename == "NotRun"]
    assert len(not_run) == 1, after.outputs
    error = not_run[0]
    (crash,) = [f for f in findings_of(nb) if f.kind == "crash"]
    assert crash.cell == nb.cells.index(_cell(nb, "import os")) - 1
    assert crash.message in error.evalue
