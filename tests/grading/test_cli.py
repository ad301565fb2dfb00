"""The ``course`` command and the grader's parts that need no kernel: the static scan, the
structure repair, the preflight, the sandbox's Landlock and audit hook, the integrity monitor.
The whole pipeline on a hostile class: ``tests/grading/test_untrusted.py``."""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from course.authoring.nbgrader_setup import assignment_ids
from course.cli import main
from course.pipeline import integrity, sandbox
from course.pipeline.autograde import preflight
from tests.checks.assignment_utils import ROOT

ASSIGNMENTS = assignment_ids(ROOT)


# ---------------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [[], ["release"], ["autograde"], ["report"], ["demo"]])
def test_every_command_has_help(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: course" in out
    if argv == ["autograde"]:
        for option in (
            "--jobs",
            "--timeout",
            "--workdir",
            "--assignment",
            "--student",
            "--memory",
            "--force",
        ):
            assert option in out, option


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).parent / "course"
    assert exe.is_file(), "pip install -e . creates the `course` console script"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "autograde" in out.stdout


def test_autograde_refuses_a_missing_folder(tmp_path: Path, capsys) -> None:
    assert main(["autograde", str(tmp_path / "nowhere"), "--workdir", str(tmp_path)]) == 2


# ---------------------------------------------------------------------------------------------
# the static scan
# ---------------------------------------------------------------------------------------------
def _kinds(code: str, protected: set[str] | None = None) -> set[tuple[str, str]]:
    return {
        (k, s)
        for k, s, _ in integrity.scan_code(textwrap.dedent(code), protected or {"check", "np"})
    }


@pytest.mark.parametrize(
    "code,expected",
    [
        ("import jax.numpy as jnp", ("reference", "zero")),
        ("from reference_impl import grad", ("reference", "zero")),
        ("m = __import__('torch')", ("reference", "zero")),
        ("import importlib\nm = importlib.import_module('autograd')", ("reference", "zero")),
        ("import sys\nm = sys.modules['reference_impl']", ("reference", "zero")),
        ("check.t2_1 = print", ("tamper", "zero")),
        ("setattr(check, 'hidden_t2_1', print)", ("tamper", "zero")),
        ("np.testing.assert_allclose = lambda *a, **k: None", ("tamper", "zero")),
        ("vars(np)['allclose'] = lambda *a: True", ("tamper", "zero")),
        ("import builtins\nbuiltins.isinstance = lambda *a: True", ("tamper", "zero")),
        ("__builtins__['print'] = None", ("tamper", "zero")),
        ("import course.checks._core as c\nc.assert_close = print", ("tamper", "zero")),
        ("get_ipython().input_transformers_cleanup.append(f)", ("tamper", "zero")),
        ("del np.allclose", ("tamper", "zero")),
        ("exec('x = 1')", ("suspicious", "flag")),
        ("import gc\ngc.get_objects()", ("suspicious", "flag")),
        ("import ctypes", ("suspicious", "flag")),
        ("getattr(obj, name)", ("suspicious", "flag")),
        ("f = g.__globals__", ("suspicious", "flag")),
        ("import sys\nsys._getframe(1).f_globals", ("suspicious", "flag")),
        ("check = None", ("suspicious", "flag")),
        ("!ls /", ("suspicious", "flag")),
        ("import sys\nsys.path.append('..')", ("suspicious", "flag")),
    ],
)
def test_scan_finds(code: str, expected: tuple[str, str]) -> None:
    assert expected in _kinds(code), integrity.scan_code(code, {"check", "np"})


@pytest.mark.parametrize(
    "code",
    [
        "import numpy as np\nx = np.ones(3)\nx[0] = 2\nnp.ones(3)[0] = 1",
        "class D:\n    __array_ufunc__ = None\n"
        "    def __add__(self, o):\n        return o.__radd__(self)",
        "import math\nself_value = math.sqrt(2)\nnp.random.seed(0)\nprint(type(x).__name__)",
        "%time y = 2 * 3",
        "def f(x):\n    return super().__init__(x)",
    ],
)
def test_scan_accepts_ordinary_code(code: str) -> None:
    assert not _kinds(code), integrity.scan_code(code, {"check", "np"})


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_the_solutions_raise_no_flag(aid: str) -> None:
    """The instructor's solutions are what good students write: no finding may fire."""
    from course.authoring.demo import _student_source

    nb = nbformat.read(ROOT / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = _student_source(cell.source)
    assert integrity.scan_notebook(nb) == []


# ---------------------------------------------------------------------------------------------
# the structure
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def release() -> nbformat.NotebookNode:
    aid = "02_forward_mode" if "02_forward_mode" in ASSIGNMENTS else ASSIGNMENTS[0]
    return nbformat.read(ROOT / "assignments" / aid / f"{aid}.ipynb", as_version=4)


def _ids(nb: nbformat.NotebookNode) -> list[str | None]:
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def test_restore_structure_keeps_a_clean_notebook(release) -> None:
    nb, findings = integrity.restore_structure(copy.deepcopy(release), release)
    assert findings == [] and _ids(nb) == _ids(release)
    assert [c.source for c in nb.cells] == [c.source for c in release.cells]


def test_restore_structure_repairs_and_reports(release) -> None:
    nb = copy.deepcopy(release)
    tests = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade")]
    nb.cells[tests[0]].metadata["tags"] = ["skip-execution"]
    nb.cells[tests[1]].source = "pass"
    nb.cells[tests[1]].metadata["nbgrader"]["points"] = 1000
    del nb.cells[tests[2]]
    nb.cells.insert(0, nbformat.v4.new_code_cell("helper = 1"))
    nb.cells.append(copy.deepcopy(nb.cells[1]))  # a duplicated locked cell
    nb.cells.append(nbformat.v4.new_code_cell("x = 2"))
    nb.cells[-1].metadata["nbgrader"] = {"grade": True, "grade_id": "fake", "points": 99}
    fixed, findings = integrity.restore_structure(nb, release)
    text = " ".join(f.message for f in findings)
    for fragment in (
        "tags ['skip-execution']",
        "was edited",
        "(points)",
        "was deleted",
        "appears 2 times",
        "metadata on 1 cell",
    ):
        assert fragment in text, text
    assert [i for i in _ids(fixed) if i] == [i for i in _ids(release) if i]
    assert fixed.cells[0].source == "helper = 1" and fixed.cells[-1].source == "x = 2"
    assert "nbgrader" not in fixed.cells[-1].metadata
    for cell, ref in zip(
        [c for c in fixed.cells if c.metadata.get("nbgrader")],
        [c for c in release.cells if c.metadata.get("nbgrader")],
        strict=True,
    ):
        if not cell.metadata["nbgrader"].get("solution"):
            assert cell.source == ref.source and cell.metadata == ref.metadata
    nbformat.validate(fixed)


# ---------------------------------------------------------------------------------------------
# preflight: finding the notebook
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layout,kind,fragment",
    [
        ({"{aid}.ipynb": "ok"}, None, ""),
        ({"{aid} (1).ipynb": "ok", "notes.txt": "hi"}, "flag", "was graded in its place"),
        ({"README.txt": "forgot"}, "flag", "no notebook"),  # files but no notebook: look
        ({}, "info", "no notebook"),
        ({"{aid}.ipynb": '{"cells": [ nope'}, "flag", "could not be read"),
        (
            {
                "{aid}.ipynb": '{"cells": [{"cell_type": "code", "source": "x = 1"}], "metadata": {}, '
                '"nbformat": 4, "nbformat_minor": 5}'
            },
            None,
            "",
        ),
    ],
)
def test_preflight(
    layout: dict[str, str], kind: str | None, fragment: str, release, tmp_path: Path
) -> None:
    aid = "a"
    rel = tmp_path / "release" / aid
    rel.mkdir(parents=True)
    nbformat.write(release, str(rel / f"{aid}.ipynb"))
    folder = tmp_path / "subs" / "s" / aid
    folder.mkdir(parents=True)
    for name, text in layout.items():
        (folder / name.format(aid=aid)).write_text(
            nbformat.writes(release) if text == "ok" else text
        )
    findings = preflight("s", aid, folder, tmp_path / "release", tmp_path / "work")
    assert [f.severity for f in findings] == ([kind] if kind else [])
    assert all(fragment in f.message for f in findings)
    graded = tmp_path / "work" / "submitted" / "s" / aid / f"{aid}.ipynb"
    nbformat.validate(nbformat.read(graded, as_version=4))


# ---------------------------------------------------------------------------------------------
# the sandbox, in subprocesses (an audit hook or Landlock cannot be undone)
# ---------------------------------------------------------------------------------------------
def _run(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_audit_hook_refuses_writes_processes_and_signals(tmp_path: Path) -> None:
    out = _run(
        f"""
        import os, subprocess
        from course.pipeline.sandbox import _install_audit_hook
        _install_audit_hook(({str(tmp_path)!r},), ({str(ROOT / "solutions")!r},))
        open('inside.txt', 'w').write('ok')
        for attempt in (lambda: open({str(tmp_path.parent / "outside.txt")!r}, 'w'),
                        lambda: open({str(ROOT / "solutions" / "x")!r}),
                        lambda: os.remove({str(tmp_path.parent)!r}),
                        lambda: subprocess.run(['true']),
                        lambda: os.kill(os.getppid(), 0)):
            try:
                attempt()
                print('ALLOWED')
            except PermissionError as e:
                print('refused', e)
        """,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "ALLOWED" not in out.stdout and out.stdout.count("refused [course-sandbox]") == 5
    assert (tmp_path / "inside.txt").is_file()
    assert not (tmp_path.parent / "outside.txt").exists()


@pytest.mark.skipif(sandbox.landlock_abi() < 1, reason="no Landlock in this kernel")
def test_landlock_confines_even_code_that_bypasses_python(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden tests")
    jail = tmp_path / "jail"
    jail.mkdir()
    out = _run(
        f"""
        import ctypes, os, sys
        from course.pipeline.sandbox import _landlock, _read_paths
        _landlock(_read_paths([]), [{str(jail)!r}], [])
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.open({str(tmp_path / "escape.txt").encode()!r}, os.O_WRONLY | os.O_CREAT, 0o644)
        print('libc open outside:', fd)
        for path in ({str(secret)!r}, {str(ROOT / "solutions")!r}):
            try:
                open(path).read() if path.endswith('.txt') else os.listdir(path)
                print('READ', path)
            except PermissionError:
                print('refused read')
        open('inside.txt', 'w').write('ok')
        import numpy, course.checks._core  # imports still work
        print('ok')
        """,
        jail,
    )
    assert out.returncode == 0, out.stderr
    assert "libc open outside: -1" in out.stdout and "READ" not in out.stdout
    assert out.stdout.count("refused read") == 2 and out.stdout.strip().endswith("ok")
    assert not (tmp_path / "escape.txt").exists() and (jail / "inside.txt").is_file()
