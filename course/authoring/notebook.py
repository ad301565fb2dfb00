"""Authoring nbgrader source notebooks: cell builders, a text format, normalisation and a lint.

An assignment's source is ``solutions/<id>/<id>.ipynb``. It can be edited in Jupyter, or as text:

    python -m course.authoring export solutions/02_forward_mode/02_forward_mode.ipynb > /tmp/a.txt
    # edit /tmp/a.txt
    python -m course.authoring import /tmp/a.txt solutions/02_forward_mode/02_forward_mode.ipynb

In the text format every cell starts with a header line at column 0,
``# %% <kind> [key=value …]``, and its body follows verbatim (markdown is not commented out).
Kinds: ``markdown`` (a locked statement when it has a ``grade_id``), ``code`` (a free cell),
``setup`` (locked code), ``solution`` (``### BEGIN SOLUTION``/``### END SOLUTION`` inside) and
``tests`` (an autograded cell with ``points``). ``lint`` checks the course's conventions.

Conventions (assignment ``k``, task ``j``; ``tests/checks/test_assignments.py`` enforces them):

* one ID per task, ``tk_j``: the check module's ``TASKS["tk_j"] = Task("tk_j", slug, title,
  title_ru, points)``; the test cell's ``grade_id`` ``tk_j-<slug>``; the solution cell's
  ``tk_j-<slug>-code``; its statement's ``tk_j-statement``; every ``### END SOLUTION`` followed by
  ``raise NotImplementedError("Task k.j: <title>")``; the pytest marker ``task("tk_j")``;
* cells: ``intro`` (markdown: RU, ``---``, EN, a table of points), ``setup`` (locked:
  ``import course.checks.<module> as check`` and given helpers), then per task a statement
  (Russian first, then English, LaTeX), a solution cell, a test cell;
* a test cell calls ``check.tk_j(<the student's objects>)`` and, between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``, ``check.hidden_tk_j(…)``; it prints
  nothing that depends on other tasks' code (an error there would cost this task's points);
* points add up to 100; each task is graded on its own code (see ``_core.substituted``);
* planted bugs for every task in ``tests/checks/mutants/m<id>.py`` (``MUTANTS``), one per task with
  ``notebook=True``; after editing ``solutions/``, run ``course.release([id])`` and commit both.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

NBGRADER_SCHEMA = 3
HEADER = re.compile(
    r"^# %% (?P<kind>markdown|code|setup|solution|tests)(?P<args>(?: +\S+=\S+)*) *$"
)
TASK_ID = re.compile(r"^t(?P<a>\d+)_(?P<j>\d+)$")
GRADE_ID = re.compile(r"^(?P<task>t\d+_\d+)-(?P<slug>[a-z0-9-]+)$")
STUB = re.compile(r'raise NotImplementedError\("Task (?P<num>\d+\.\d+): (?P<title>[^"]+)"\)')
CHECK_CALL = re.compile(r"\bcheck\.(?P<hidden>hidden_)?(?P<task>t\d+_\d+)\(")

__all__ = [
    "code",
    "from_text",
    "lint",
    "markdown",
    "new_notebook",
    "normalize",
    "read",
    "setup",
    "solution",
    "tests",
    "to_text",
    "write",
]


def _meta(
    grade_id: str,
    *,
    grade: bool = False,
    solution: bool = False,
    locked: bool = False,
    points: float | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": NBGRADER_SCHEMA,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return meta


def markdown(source: str, grade_id: str | None = None) -> NotebookNode:
    """A markdown cell; with ``grade_id`` it is locked (students cannot edit the statement)."""
    cell = nbformat.v4.new_markdown_cell(source.strip("\n"))
    if grade_id:
        cell.metadata["nbgrader"] = _meta(grade_id, locked=True)
    return cell


def code(source: str) -> NotebookNode:
    """A free code cell: students may edit it; it is not graded."""
    return nbformat.v4.new_code_cell(source.strip("\n"))


def setup(source: str, grade_id: str = "setup") -> NotebookNode:
    """A locked code cell (imports, given helpers): restored from the source when grading."""
    cell = nbformat.v4.new_code_cell(source.strip("\n"))
    cell.metadata["nbgrader"] = _meta(grade_id, locked=True)
    return cell


def solution(source: str, grade_id: str) -> NotebookNode:
    """A cell whose ``### BEGIN SOLUTION`` … ``### END SOLUTION`` blocks students fill in."""
    cell = nbformat.v4.new_code_cell(source.strip("\n"))
    cell.metadata["nbgrader"] = _meta(grade_id, solution=True)
    return cell


def tests(source: str, grade_id: str, points: float) -> NotebookNode:
    """An autograded test cell worth ``points`` (visible part, then a hidden-tests block)."""
    cell = nbformat.v4.new_code_cell(source.strip("\n"))
    cell.metadata["nbgrader"] = _meta(grade_id, grade=True, locked=True, points=points)
    return cell


def new_notebook(cells: Iterable[NotebookNode]) -> NotebookNode:
    """A normalised notebook with the Python 3 kernel."""
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return normalize(nb)


_CELL_META_KEEP = ("nbgrader", "tags", "deletable", "editable")
_NBGRADER_KEEP = (
    "grade",
    "grade_id",
    "locked",
    "points",
    "schema_version",
    "solution",
    "task",
    "checksum",
    "cell_type",
)


def normalize(nb: NotebookNode) -> NotebookNode:
    """Strip volatile data (outputs, counts, timings, UI state); give every cell a stable id.

    The id of a cell with a ``grade_id`` is the ``grade_id``; other cells get ``cell-<n>``.
    """
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = {k: nb.metadata[k] for k in ("kernelspec", "language_info") if k in nb.metadata}
    if "language_info" in nb.metadata:
        nb.metadata["language_info"] = {"name": nb.metadata["language_info"].get("name", "python")}
    for n, cell in enumerate(nb.cells):
        meta = {k: cell.metadata[k] for k in _CELL_META_KEEP if k in cell.metadata}
        if "nbgrader" in meta:
            meta["nbgrader"] = {
                k: meta["nbgrader"][k] for k in _NBGRADER_KEEP if k in meta["nbgrader"]
            }
        cell.metadata = meta
        gid = meta.get("nbgrader", {}).get("grade_id")
        cell.id = gid if gid else f"cell-{n}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.pop("attachments", None)
    return nb


def read(path: str | Path) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)


def write(nb: NotebookNode, path: str | Path) -> None:
    """Write ``nb`` normalised, with nbformat's layout and a final newline (stable in git)."""
    nb = normalize(nb)
    nbformat.validate(nb)
    text = nbformat.writes(nb, version=4)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# text format
# ---------------------------------------------------------------------------------------------
def to_text(nb: NotebookNode) -> str:
    """The notebook in the ``# %% kind key=value`` text format (see the module docstring)."""
    parts = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if cell.cell_type == "markdown":
            head = "markdown" + (f" grade_id={gid}" if gid else "")
        elif not meta:
            head = "code"
        elif meta.get("grade"):
            head = f"tests grade_id={gid} points={meta.get('points', 0):g}"
        elif meta.get("solution"):
            head = f"solution grade_id={gid}"
        else:
            head = f"setup grade_id={gid}"
        parts.append(f"# %% {head}\n{cell.source}\n")
    return "\n".join(parts)


def from_text(text: str) -> NotebookNode:
    """Parse the text format back into a normalised notebook."""
    cells: list[NotebookNode] = []
    kind: str | None = None
    args: dict[str, str] = {}
    body: list[str] = []

    def flush() -> None:
        if kind is None:
            if "".join(body).strip():
                raise ValueError("text before the first '# %%' cell header")
            return
        src = "\n".join(body).strip("\n")
        if kind == "markdown":
            cells.append(markdown(src, args.get("grade_id")))
        elif kind == "code":
            cells.append(code(src))
        elif kind == "setup":
            cells.append(setup(src, args.get("grade_id", "setup")))
        elif kind == "solution":
            cells.append(solution(src, args["grade_id"]))
        else:
            pts = float(args["points"])
            cells.append(tests(src, args["grade_id"], int(pts) if pts.is_integer() else pts))

    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            flush()
            kind = m["kind"]
            args = dict(a.split("=", 1) for a in m["args"].split())
            body = []
        else:
            body.append(line)
    flush()
    return new_notebook(cells)


# ---------------------------------------------------------------------------------------------
# lint: the course's conventions
# ---------------------------------------------------------------------------------------------
def lint(
    nb: NotebookNode, assignment: int, tasks: Mapping[str, Any] | None = None, total: float = 100
) -> list[str]:
    """Problems with a source notebook's conventions (an empty list when it follows them).

    For every test cell ``t<a>_<j>-<slug>``: the task belongs to assignment ``a``; the solution
    cell ``t<a>_<j>-<slug>-code`` precedes it and ends its blocks with
    ``raise NotImplementedError("Task <a>.<j>: …")`` after ``### END SOLUTION``; the test cell
    calls ``check.t<a>_<j>(`` and, inside ``### BEGIN HIDDEN TESTS``, ``check.hidden_t<a>_<j>(``.
    Points add up to ``total``. ``tasks`` (the check module's ``TASKS``) must list the same tasks
    with the same points. Statement cells hold Cyrillic text before the English text.
    """
    problems: list[str] = []
    seen_solutions: dict[str, str] = {}
    graded: dict[str, float] = {}
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    dup = {i for i in ids if i and ids.count(i) > 1}
    if dup:
        problems.append(f"duplicate grade_id: {sorted(dup)}")
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id", "")
        src = cell.source
        if (
            cell.cell_type == "markdown"
            and re.search(r"[А-Яа-я]", src)
            and re.search(r"\b(the|and|of)\b", src)
        ):
            cyr, eng = re.search(r"[А-Яа-я]", src), re.search(r"\b(the|and|of)\b", src)
            if cyr and eng and cyr.start() > eng.start():
                problems.append(f"{gid or 'markdown cell'}: English comes before Russian")
        if meta.get("solution"):
            m = re.match(r"^(t\d+_\d+-[a-z0-9-]+)-code$", gid)
            if not m:
                problems.append(f"solution cell {gid!r}: expected '<task grade_id>-code'")
                continue
            seen_solutions[m[1]] = src
            n_begin = src.count("### BEGIN SOLUTION")
            if n_begin == 0 or n_begin != src.count("### END SOLUTION"):
                problems.append(f"{gid}: unbalanced or missing SOLUTION markers")
            head = GRADE_ID.match(m[1])
            num = f"{head['task'][1:].replace('_', '.')}" if head else "?"
            for block_end in re.finditer(r"### END SOLUTION\n(?P<next>.*)", src):
                stub = STUB.search(block_end["next"])
                if not stub or stub["num"] != num:
                    problems.append(
                        f"{gid}: the line after '### END SOLUTION' must be "
                        f'raise NotImplementedError("Task {num}: …")'
                    )
        if meta.get("grade"):
            m = GRADE_ID.match(gid)
            if not m:
                problems.append(f"test cell {gid!r}: expected 't<a>_<j>-<slug>'")
                continue
            task = m["task"]
            tid = TASK_ID.match(task)
            if not tid or tid["a"] != str(assignment):
                problems.append(f"{gid}: task of another assignment")
            if gid not in seen_solutions:
                problems.append(f"{gid}: no solution cell '{gid}-code' before it")
            calls = {(bool(c["hidden"]), c["task"]) for c in CHECK_CALL.finditer(src)}
            if (False, task) not in calls:
                problems.append(f"{gid}: does not call check.{task}(…)")
            hidden = re.search(r"### BEGIN HIDDEN TESTS(.*)### END HIDDEN TESTS", src, re.S)
            if not hidden or f"check.hidden_{task}(" not in hidden[1]:
                problems.append(f"{gid}: no 'check.hidden_{task}(' in a HIDDEN TESTS block")
            if any(t != task for _, t in calls):
                problems.append(f"{gid}: calls the checks of another task")
            graded[task] = meta.get("points", 0)
            stub_titles = {s["num"] for s in STUB.finditer(seen_solutions.get(gid, ""))}
            if stub_titles and stub_titles != {task[1:].replace("_", ".")}:
                problems.append(f"{gid}: stubs name tasks {sorted(stub_titles)}")
    if abs(sum(graded.values()) - total) > 1e-9:
        problems.append(f"points add up to {sum(graded.values()):g}, not {total:g}")
    if tasks is not None:
        listed = {k: getattr(v, "points", v) for k, v in tasks.items()}
        if listed != graded:
            problems.append(f"check module TASKS {listed} != notebook {graded}")
        for t, info in tasks.items():
            gid = getattr(info, "grade_id", None)
            if gid and not any(
                c.metadata.get("nbgrader", {}).get("grade_id") == gid for c in nb.cells
            ):
                problems.append(f"{t}: grade_id {gid!r} not in the notebook")
    return problems


def main(argv: list[str] | None = None) -> int:
    """``python -m course.authoring export|import|lint``."""
    p = argparse.ArgumentParser(
        prog="python -m course.authoring",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export", help="print a notebook in the text format")
    ex.add_argument("notebook")
    im = sub.add_parser("import", help="write a notebook from the text format")
    im.add_argument("text")
    im.add_argument("notebook")
    li = sub.add_parser("lint", help="check a source notebook's conventions")
    li.add_argument("notebook")
    li.add_argument("--assignment", type=int, required=True)
    a = p.parse_args(argv)
    if a.cmd == "export":
        sys.stdout.write(to_text(read(a.notebook)))
    elif a.cmd == "import":
        write(from_text(Path(a.text).read_text(encoding="utf-8")), a.notebook)
    else:
        problems = lint(read(a.notebook), a.assignment)
        print("\n".join(problems) or "ok")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
