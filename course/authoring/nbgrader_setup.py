"""nbgrader configuration for the course, and the release step (``solutions/`` → ``assignments/``).

The course keeps nbgrader's steps under its own names: the *source* notebooks (with solutions and
hidden tests) are ``solutions/<id>/<id>.ipynb``; the student *release* is ``assignments/<id>/``,
committed. Everything nbgrader writes besides (``gradebook.db``, ``submitted/``, ``autograded/``,
``feedback/``) goes to a work directory outside the repository.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

CODE_STUB = "# ВАШ КОД ЗДЕСЬ / YOUR CODE HERE"
TEXT_STUB = "ВАШ ОТВЕТ ЗДЕСЬ / YOUR ANSWER HERE"
DEFAULT_TIMEOUT = 60
#: environment of the grading kernels: CPU-only float64 JAX, one BLAS thread, no GPU probing
KERNEL_ENV = {
    "JAX_PLATFORMS": "cpu",
    "JAX_ENABLE_X64": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}

__all__ = [
    "CODE_STUB",
    "assignment_ids",
    "build_release",
    "course_feedback_config",
    "formgrader_config",
    "gradebook_url",
    "grading_env",
    "has_gradebook",
    "make_api",
    "make_config",
    "release",
    "repo_root",
]


def repo_root() -> Path:
    """The course repository: the folder above this package if it holds ``solutions/``, else cwd."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "solutions").is_dir() else Path.cwd()


def assignment_ids(root: Path | None = None) -> list[str]:
    """The assignments that have a source notebook ``solutions/<id>/<id>.ipynb``, sorted."""
    src = (root or repo_root()) / "solutions"
    return (
        sorted(p.name for p in src.iterdir() if (p / f"{p.name}.ipynb").is_file())
        if src.is_dir()
        else []
    )


#: a one-line file in the work dir naming its gradebook's database (written by a cluster run
#: with ``--db-url``); without it the gradebook is ``WORKDIR/gradebook.db``
URL_FILE = "gradebook-url"


def gradebook_url(workdir: Path) -> str:
    """The SQLAlchemy URL of a work dir's gradebook: the line in ``WORKDIR/gradebook-url``
    if there is one, else ``sqlite:///WORKDIR/gradebook.db``."""
    workdir = Path(workdir).resolve()
    named = workdir / URL_FILE
    if named.is_file():
        url = named.read_text(encoding="utf-8").strip()
        if url:
            return url
    return f"sqlite:///{workdir / 'gradebook.db'}"


def has_gradebook(workdir: Path) -> bool:
    """Whether the work dir has a gradebook (a ``gradebook.db`` or a ``gradebook-url``)."""
    workdir = Path(workdir)
    return (workdir / URL_FILE).is_file() or (workdir / "gradebook.db").is_file()


def make_config(
    root: Path | None,
    workdir: Path,
    *,
    release_dir: Path | None = None,
    timeout: int = DEFAULT_TIMEOUT,
) -> Any:
    """A traitlets ``Config`` for nbgrader: the course's folders, stubs, timeouts and limits.

    ``workdir`` becomes nbgrader's course root (the gradebook and the submitted, autograded and
    feedback folders live there); ``release_dir`` defaults to ``workdir/release`` so that grading
    never rewrites the committed ``assignments/`` (use :func:`release` for that).
    """
    from traitlets.config import Config

    root = Path(root or repo_root()).resolve()
    workdir = Path(workdir).resolve()
    c = Config()
    c.CourseDirectory.root = str(workdir)
    c.CourseDirectory.source_directory = str(root / "solutions")
    c.CourseDirectory.release_directory = str(Path(release_dir or workdir / "release").resolve())
    c.CourseDirectory.db_url = gradebook_url(workdir)
    c.CourseDirectory.course_id = "ad-course"
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".*", "feedback"]
    c.Exchange.root = str(workdir / "exchange")
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.text_stub = TEXT_STUB
    c.ClearSolutions.enforce_metadata = True
    c.Execute.timeout = timeout
    c.Execute.interrupt_on_timeout = True
    c.Execute.kernel_name = "python3"
    # a runaway print must not produce a huge notebook or feedback page
    c.LimitOutput.max_lines = 200
    c.LimitOutput.max_traceback = 60
    return c


@contextlib.contextmanager
def grading_env() -> Iterator[None]:
    """Put this environment's ``bin/`` on PATH (nbgrader runs ``alembic`` by name) and set
    :data:`KERNEL_ENV` for the kernels nbgrader starts; restore the environment afterwards."""
    saved = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    os.environ.update(KERNEL_ENV)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def course_feedback_config(config: Any, lang: str = "") -> Any:
    """nbgrader's ``GenerateFeedback`` with the course's exporter and student view (hidden
    tests as one line, math as MathML, no CDN; messages in ``lang``, default the work dir's
    choice) — the same as ``course autograde`` and ``course feedback`` use."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from ..pipeline.feedback import feedback_exporter, feedback_preprocessor

    config.GenerateFeedback.exporter_class = feedback_exporter()
    config.GenerateFeedback.preprocessors = [
        GetGrades,
        CSSHTMLHeaderPreprocessor,
        feedback_preprocessor(),
    ]
    if lang:
        config.StudentView.lang = lang
    return config


_FORMGRADER_MARK = "# --- course: manual grading"
_FORMGRADER_BLOCK = f"""{_FORMGRADER_MARK} (added by `course formgrader` / `course feedback`)
# Manual grading: `course formgrader -w THIS_FOLDER`, or `jupyter lab` run in this folder, then
# the /formgrader page (nbgrader 0.9.6 has no `nbgrader formgrader` command). After changing
# grades: `course feedback -w THIS_FOLDER` writes grades.csv, grades-table.csv and the feedback.
# formgrader's "Generate Feedback" uses the course's exporter below (hidden tests as one line,
# formulas as MathML, no CDN). Its grading page still loads MathJax from a CDN: nbgrader
# 0.9.6 gives no setting for it (its template calls nbconvert's mathjax macro with the CDN
# default), so formulas there need a network.
try:
    from course.authoring.nbgrader_setup import course_feedback_config
    course_feedback_config(c)  # noqa: F821
except ImportError:  # not the course's environment: nbgrader's own feedback would be wrong
    raise RuntimeError("run formgrader from the course's environment (.venv/bin/jupyter lab): "
                       "Generate Feedback needs the course's exporter") from None
"""


def formgrader_config(workdir: Path) -> Path:
    """Add the course's manual-grading block to ``WORKDIR/nbgrader_config.py`` (once) and
    correct its first lines' advice (``nbgrader formgrader`` does not exist in 0.9.6)."""
    path = Path(workdir) / "nbgrader_config.py"
    text = path.read_text(encoding="utf-8") if path.is_file() else "c = get_config()  # noqa\n"
    text = text.replace(
        "e.g. `nbgrader formgrader` or `jupyter lab` here.",
        "e.g. `jupyter lab` here, then /formgrader.",
    )
    if _FORMGRADER_MARK not in text:
        text = text.rstrip("\n") + "\n\n" + _FORMGRADER_BLOCK
    path.write_text(text, encoding="utf-8")
    return path


def make_api(config: Any) -> Any:
    """nbgrader's in-process API on ``config`` (as ``nbgrader`` itself builds it)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _check(result: dict[str, Any], what: str) -> None:
    if not result.get("success"):
        raise RuntimeError(f"nbgrader {what} failed:\n{result.get('error')}\n{result.get('log')}")


def build_release(
    ids: Sequence[str] | None, dest: Path, *, root: Path | None = None, workdir: Path | None = None
) -> list[Path]:
    """Run nbgrader's ``generate_assignment`` for ``ids`` and write normalised releases to
    ``dest/<id>/`` (replacing what was there). Returns the written notebooks.

    ``workdir`` (default: a temporary folder) receives the gradebook, which then knows the
    assignments, so it can be reused for autograding.
    """
    from . import notebook as authoring

    root = Path(root or repo_root()).resolve()
    ids = list(ids or assignment_ids(root))
    written: list[Path] = []
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="release-")))
        Path(workdir).mkdir(parents=True, exist_ok=True)
        staging = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="staging-")))
        stack.enter_context(grading_env())
        api = make_api(make_config(root, workdir, release_dir=staging))
        for aid in ids:
            if not (root / "solutions" / aid).is_dir():
                raise FileNotFoundError(f"no source folder solutions/{aid}")
            _check(
                api.generate_assignment(aid, force=True, create=True), f"generate_assignment {aid}"
            )
            out = Path(dest) / aid
            if out.exists():
                shutil.rmtree(out)
            shutil.copytree(staging / aid, out)
            for nb_path in sorted(out.rglob("*.ipynb")):
                authoring.write(authoring.read(nb_path), nb_path)
                written.append(nb_path)
    return written


def release(ids: Iterable[str] | None = None, root: Path | None = None) -> list[Path]:
    """Regenerate ``assignments/<id>/`` from ``solutions/<id>/`` in the repository (all by
    default). Deterministic: running it twice changes nothing in git."""
    root = Path(root or repo_root()).resolve()
    return build_release(list(ids) if ids else None, root / "assignments", root=root)
