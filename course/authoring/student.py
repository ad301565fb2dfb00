"""``course release --student DIR``: what students receive, and nothing more.

    DIR/lectures/{ru,en,data}/     the lecture notebooks, executed, and their data
    DIR/assignments/<id>/          the release notebooks (no solutions, no hidden tests)
    DIR/reference_impl/            the engine the lectures use
    DIR/course/checks/             the visible checks the assignments import
    DIR/pyproject.toml, README.md, setup.sh

Left out: ``solutions/``, every ``course/checks/**/_reference.py`` (the course's reference
versions of the tasks) and ``**/_hidden.py`` (the hidden checks, which the grader alone loads),
the grading pipeline, authoring tools, tests, benchmarks and git history.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

__all__ = ["EXCLUDED", "build_student", "forbidden_files"]

#: file names never shipped to students (anywhere under course/checks)
EXCLUDED = ("_reference.py", "_hidden.py")
MARKER = ".course-student-dist"
#: nbgrader's instructor parts, switched off in the student's JupyterLab by setup.sh
INSTRUCTOR_LAB = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:menu",
)
INSTRUCTOR_SERVER = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)

_PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "ad-course-student"
version = "0.1.0"
description = "Automatic differentiation course: lectures, assignments, the reference engine."
requires-python = ">=3.11"
dependencies = ["numpy>=1.26", "scipy>=1.11", "matplotlib>=3.8", "jax>=0.4.30",
                "nbgrader>=0.9.5", "jupyterlab>=4"]

[tool.setuptools.packages.find]
include = ["reference_impl*", "course*"]
"""

_SERVER_OFF = json.dumps(
    {"ServerApp": {"jpserver_extensions": dict.fromkeys(INSTRUCTOR_SERVER, False)}}
)
_NO_NEWS = json.dumps(
    {
        "@jupyterlab/apputils-extension:notification": {
            "fetchNews": "false",
            "checkForUpdates": False,
        }
    }
)
_SETUP = f"""\
#!/usr/bin/env bash
# One-time setup: a virtual environment with JupyterLab and nbgrader's Validate button,
# without the instructor's menus (formgrader, create assignment, course list).
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/pip install -q -e .
.venv/bin/jupyter labextension disable --level=sys_prefix {" ".join(INSTRUCTOR_LAB)}
.venv/bin/jupyter labextension lock --level=sys_prefix {" ".join(INSTRUCTOR_LAB)}
# after nbgrader.json in the same folder, so these win (Validate stays on)
mkdir -p .venv/etc/jupyter/jupyter_server_config.d
echo '{_SERVER_OFF}' > .venv/etc/jupyter/jupyter_server_config.d/zz-course-student.json
# no "receive official Jupyter news?" pop-up and no update check (JupyterLab's overrides)
mkdir -p .venv/share/jupyter/lab/settings
echo '{_NO_NEWS}' > .venv/share/jupyter/lab/settings/overrides.json
echo "ready: .venv/bin/jupyter lab   (run it in this folder)"
"""

_README = """\
# Automatic differentiation — student materials / материалы для студентов

```bash
bash setup.sh            # once: .venv with JupyterLab and nbgrader's Validate button
.venv/bin/jupyter lab    # in this folder: lectures/ and assignments/ are both reachable
```

* `lectures/ru/`, `lectures/en/` — the lectures (executed; *Run → Run All Cells* to rerun).
* `assignments/<id>/<id>.ipynb` — replace each `raise NotImplementedError(...)` with your
  code, run the test cell below it, then **Validate** (nbgrader's toolbar button) and submit
  the notebook. Do not use `reference_impl`, JAX, autograd or torch in your solutions: a task
  that does scores 0.

What you can see: the visible tests (`course/checks/`, the same checks the grader runs on the
inputs shown), the reference engine `reference_impl/` and the lectures. What you cannot see:
the hidden tests (other inputs, other shapes) and the course's solutions. In your feedback a
hidden test is one line, "hidden tests: passed" or "hidden tests: failed: <reason>".

* `lectures/ru/`, `lectures/en/` — лекции (уже выполнены).
* `assignments/<id>/<id>.ipynb` — замените каждый `raise NotImplementedError(...)` своим кодом,
  запустите тест под ним, нажмите **Validate** и сдайте ноутбук. Пользоваться `reference_impl`,
  JAX, autograd и torch в решениях нельзя: такая задача получает 0 баллов. Скрытые тесты в
  отзыве — одна строка: «hidden tests: passed» или «hidden tests: failed: <причина>».
"""


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {
        n
        for n in names
        if n in EXCLUDED or n == "__pycache__" or n.endswith(".pyc") or n == ".ipynb_checkpoints"
    }


def build_student(dest: Path, root: Path) -> list[Path]:
    """Write the student distribution into ``dest`` (empty, missing, or an earlier one);
    return the files written."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        if not (dest / MARKER).is_file():
            raise FileExistsError(
                f"{dest} exists and is not a student distribution; give an empty or new folder"
            )
        shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for sub in ("ru", "en", "data"):
        if (root / "lectures" / sub).is_dir():
            shutil.copytree(root / "lectures" / sub, dest / "lectures" / sub, ignore=_ignore)
    shutil.copytree(root / "assignments", dest / "assignments", ignore=_ignore)
    shutil.copytree(root / "reference_impl", dest / "reference_impl", ignore=_ignore)
    (dest / "course").mkdir()
    shutil.copytree(root / "course" / "checks", dest / "course" / "checks", ignore=_ignore)
    (dest / "course" / "__init__.py").write_text(
        '"""The course\'s visible checks (course.checks), as the assignments import them."""\n'
    )
    (dest / "pyproject.toml").write_text(_PYPROJECT)
    (dest / "setup.sh").write_text(_SETUP)
    (dest / "README.md").write_text(_README)
    (dest / ".gitignore").write_text(".venv/\n__pycache__/\n.ipynb_checkpoints/\n")
    (dest / MARKER).write_text("written by course release --student\n")
    leaks = forbidden_files(dest)
    if leaks:
        raise RuntimeError(f"student distribution would contain {leaks[:5]}")
    return sorted(p for p in dest.rglob("*") if p.is_file())


def forbidden_files(dest: Path) -> list[str]:
    """What must never reach students, if found under ``dest``: solutions, reference
    versions, hidden checks, solution or hidden-test markers in notebooks."""
    bad = [
        str(p.relative_to(dest))
        for p in Path(dest).rglob("*")
        if p.name in EXCLUDED or "solutions" in p.relative_to(dest).parts
    ]
    for nb in Path(dest).rglob("*.ipynb"):
        text = nb.read_text(encoding="utf-8", errors="replace")
        if "BEGIN SOLUTION" in text or "BEGIN HIDDEN TESTS" in text or "hidden_t" in text:
            bad.append(str(nb.relative_to(dest)))
    return bad
