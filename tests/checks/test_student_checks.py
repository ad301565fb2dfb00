"""The checks as the student distribution ships them: ``course release --student`` copies
``course/checks`` without any ``_hidden.py`` or ``_reference.py``. Every checks package must import
without them, its visible checks must pass on the solution, and a hidden check must say that
hidden tests run only when the course grades the notebook.

The copy of ``course/`` lives in a temporary folder and runs in a subprocess, so that nothing of
the full package is imported there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course.authoring.nbgrader_setup import assignment_ids
from tests.checks.assignment_utils import ROOT

LEFT_OUT = ("_hidden.py", "_reference.py")

_RUNNER = r"""
import contextlib, io, json, sys
sys.path.insert(0, sys.argv[1])
import nbformat
import course
assert course.__file__.startswith(sys.argv[1]), course.__file__
from course.checks._lazy import HIDDEN_UNAVAILABLE, HiddenTestsUnavailable

aid, root = sys.argv[2], sys.argv[3]
nb = nbformat.read(f"{root}/solutions/{aid}/{aid}.ipynb", as_version=4)
ns = {"__name__": "__student__"}
visible, hidden = [], []
for cell in nb.cells:
    if cell.cell_type != "code":
        continue
    if not cell.metadata.get("nbgrader", {}).get("grade"):
        exec(compile(cell.source, f"<{aid}>", "exec"), ns)
        continue
    for line in cell.source.splitlines():
        line = line.strip()
        if line.startswith("check.hidden_"):
            hidden.append(line)
        elif line.startswith("check."):
            visible.append(line)
out = io.StringIO()
with contextlib.redirect_stdout(out):
    for line in visible:
        exec(line, ns)
result = {"passed": out.getvalue().count("visible tests passed"), "visible": len(visible),
          "loaded": sorted(m for m in sys.modules if m.endswith(("._hidden", "._reference")))}
try:
    exec(hidden[0], ns)
    result["hidden"] = "ran"
except HiddenTestsUnavailable as exc:
    result["hidden"] = str(exc)
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def student_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("student")
    shutil.copytree(
        ROOT / "course", base / "course", ignore=shutil.ignore_patterns("__pycache__", *LEFT_OUT)
    )
    left = [p for p in (base / "course").rglob("*.py") if p.name in LEFT_OUT]
    assert not left, left
    return base


@pytest.mark.parametrize("aid", assignment_ids(ROOT))
def test_visible_checks_work_without_hidden_and_reference(student_copy: Path, aid: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(student_copy)}
    run = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(student_copy), aid, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=student_copy,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["passed"] == result["visible"] > 0, result
    assert result["loaded"] == [], result
    assert "hidden tests run only when the course grades your notebook" in result["hidden"]
    assert "скрытые тесты" in result["hidden"]


def test_hidden_checks_load_lazily_in_the_full_package() -> None:
    code = (
        "import sys, course.checks.second_order as c\n"
        "assert 'course.checks.second_order._hidden' not in sys.modules\n"
        "f = c.hidden_t5_3\n"
        "assert 'course.checks.second_order._hidden' in sys.modules\n"
        "assert f is c.hidden_t5_3 and f.__module__.endswith('_hidden')\n"
        "assert 'hidden_t5_3' not in c.__all__ and 'hidden_t5_3' in c.HIDDEN\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert run.returncode == 0, run.stderr[-2000:]
