"""Ctrl-C during ``course autograde`` (issue 12): pending work is cancelled within seconds, the
kernels stop, what finished is saved (state, grades.csv, summary), and a rerun grades the rest.
≈ 40 s on 2 cores."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from course.authoring.demo import _solution_cells, solved
from course.authoring.nbgrader_setup import assignment_ids
from tests.checks.assignment_utils import ROOT

#: 02 (as test_workflow): nothing here depends on the assignment's tasks
AID = "02_forward_mode"
pytestmark = [
    pytest.mark.skipif(AID not in assignment_ids(ROOT), reason=f"no assignment {AID}"),
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),
]


def _inside(work: Path) -> list[int]:
    """Processes whose working directory is inside ``work`` (kernels run in scratch folders)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(Path(os.readlink(proc / "cwd"))).startswith(str(work)):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def test_ctrl_c_saves_what_finished_and_a_rerun_grades_the_rest(tmp_path: Path) -> None:
    release = nbformat.read(ROOT / "assignments" / AID / f"{AID}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / AID / f"{AID}.ipynb", as_version=4)
    full = solved(release, solution)
    looping = solved(release, solution)
    looping.cells[_solution_cells(looping)[0]].source = "while True:\n    pass"
    subs, work = tmp_path / "subs", (tmp_path / "work").resolve()
    for sid, nb in (("alice", full), ("bob", full), ("carol", looping), ("dave", full)):
        (subs / sid / AID).mkdir(parents=True)
        nbformat.write(nb, str(subs / sid / AID / f"{AID}.ipynb"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    cmd = [
        sys.executable,
        "-m",
        "course.cli",
        "autograde",
        str(subs),
        "--workdir",
        str(work),
        "--jobs",
        "1",
        "--timeout",
        "10",  # CPU s per cell: carol's loop burns this twice (the interrupted run, the rerun)
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )  # its own group, as a terminal's
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if "bob/" in line and "/100" in line:  # alice and bob done; carol's loop is running
            break
    time.sleep(1.0)
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    # no wall-clock bound on stopping (a busy CI machine took > 60 s): what was saved is asserted
    out, _ = proc.communicate(timeout=600)
    stopped = time.monotonic() - t0
    text = "".join(lines) + out
    assert proc.returncode == 130, text[-3000:]
    assert "interrupted: 2 graded and saved, 2 not graded" in text, text[-3000:]
    state = json.loads((work / "course-state.json").read_text())
    assert {k for k in state if not k.startswith("_")} == {f"alice/{AID}", f"bob/{AID}"}
    assert "alice" in (work / "grades.csv").read_text()
    time.sleep(2.0)
    assert not _inside(work), "processes left in the work dir"
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-2000:]
    assert "2 to grade, 2 unchanged" in rerun.stdout
    state = json.loads((work / "course-state.json").read_text())
    assert state[f"dave/{AID}"]["score"] == 100 and f"carol/{AID}" in state
    print(f"stopped {stopped:.1f} s after SIGINT")
