"""Run mutants of a task's solution against that task's visible and hidden checks, in-process.

The solution notebook's setup and solution cells run once in a namespace (as a kernel would);
each mutant runs in a forked child (a timeout and a memory limit stop loops and blow-ups): it
executes the mutated cell in that namespace and calls the task's checks as its test cell does.
A mutant is *killed* when a check fails (or the child crashes or times out), *survived* when every
check passes, *equivalent* when it survives and the committed list says why it cannot be told
apart from the solution.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from .operators import Mutant, mutants

__all__ = ["TaskCells", "Verdict", "equivalents", "load_tasks", "run_mutant", "run_task"]

ROOT = Path(__file__).resolve().parents[2]
EQUIVALENT_FILE = Path(__file__).with_name("equivalent.json")


@dataclass
class TaskCells:
    """One task of a solution notebook: its solution cell and its check calls."""

    aid: str
    task: str
    cell: int  # index of the solution cell among the notebook's code cells
    source: str
    checks: list[str]
    code_cells: list[str] = field(repr=False, default_factory=list)


def _nbg(cell: Any) -> dict[str, Any]:
    return cell.metadata.get("nbgrader", {})


def load_tasks(aid: str, root: Path = ROOT) -> list[TaskCells]:
    """The tasks of ``solutions/<aid>/<aid>.ipynb`` in notebook order."""
    nb = nbformat.read(root / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    sources = [c.source for c in code if not _nbg(c).get("grade")]
    tasks: dict[str, TaskCells] = {}
    k = 0
    for c in code:
        gid = _nbg(c).get("grade_id", "")
        task = gid.split("-")[0]
        if _nbg(c).get("grade"):
            calls = [ln.strip() for ln in c.source.splitlines() if ln.strip().startswith("check.")]
            if task in tasks:
                tasks[task].checks = calls
            continue
        if "### BEGIN SOLUTION" in c.source and task.startswith("t"):
            tasks[task] = TaskCells(aid, task, k, c.source, [], sources)
        k += 1
    return [t for t in tasks.values() if t.checks]


def _namespace(task: TaskCells) -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "__student__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for i, src in enumerate(task.code_cells):
            exec(compile(src, f"<{task.aid}:cell{i}>", "exec"), ns)
    return ns


@dataclass
class Verdict:
    """What became of one mutant."""

    id: str
    description: str
    status: str  # killed | survived | equivalent
    reason: str = ""


def _child(task: TaskCells, ns: dict[str, Any], source: str, write: int, limit_s: float) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    status, reason = "survived", ""
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(source, f"<{task.aid}:cell{task.cell}>", "exec"), ns)
            for line in task.checks:
                exec(line, ns)
    except BaseException as exc:  # any failure (a timeout too) kills the mutant
        status, reason = (
            "killed",
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            if str(exc)
            else type(exc).__name__,
        )
    os.write(write, json.dumps({"status": status, "reason": reason}).encode())
    os._exit(0)


def run_mutant(
    task: TaskCells, ns: dict[str, Any], source: str, limit_s: float = 30.0
) -> tuple[str, str]:
    """``(status, reason)`` of one mutated cell source (forked child; killed on timeout)."""
    read, write = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover  (the child)
        os.close(read)
        _child(task, ns, source, write, limit_s)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        return "killed", f"the child ended without a verdict (status {status}): timeout or crash"
    out = json.loads(data)
    return out["status"], out["reason"]


def equivalents(path: Path = EQUIVALENT_FILE) -> dict[str, str]:
    """``{"<aid>/<task>/<mutant id>": reason}`` from the committed file."""
    if not path.exists():
        return {}
    return {k: v for k, v in json.loads(path.read_text()).items() if not k.startswith("_")}


def run_task(
    task: TaskCells,
    only: Iterable[str] | None = None,
    limit_s: float = 30.0,
    known: dict[str, str] | None = None,
) -> tuple[list[Verdict], float]:
    """Every mutant of ``task`` (or those in ``only``): verdicts and the seconds taken."""
    start = time.perf_counter()
    known = equivalents() if known is None else known
    ns = _namespace(task)
    wanted = set(only) if only is not None else None
    out = []
    for m in mutants(task.source):
        if wanted is not None and m.id not in wanted:
            continue
        status, reason = run_mutant(task, ns, m.source, limit_s)
        key = f"{task.aid}/{task.task}/{m.id}"
        if status == "survived" and key in known:
            status, reason = "equivalent", known[key]
        out.append(Verdict(m.id, m.description, status, reason))
    return out, time.perf_counter() - start


def mutant_by_id(task: TaskCells, mid: str) -> Mutant | None:
    """The mutant ``mid`` of ``task`` (None if the solution no longer has it)."""
    return next((m for m in mutants(task.source) if m.id == mid), None)
