"""nbgrader, configured for untrusted code: a sandboxed kernel, a robust executor, a repaired
structure. Everything here plugs into nbgrader's own autograde pipeline (see :func:`configure`).

* :class:`RestoreStructure` — the first *sanitize* preprocessor: the submission is rebuilt on
  the release's skeleton (:func:`course.pipeline.structure.restore_structure`), before
  nbgrader's own ``OverwriteCells`` restores the locked cells' sources and hidden tests from
  the gradebook.
* :class:`~course.pipeline.kernels.SandboxKernelManager` — starts the kernel through
  :mod:`course.pipeline.sandbox` (limits, Landlock, audit hook, the channel) in a fresh
  scratch folder.
* :class:`~course.pipeline.executor.SandboxExecute` — replaces nbgrader's ``Execute`` (timeouts,
  dead kernels, capped outputs, the checker's verdicts).
* :func:`~course.pipeline.feedback.feedback_exporter` — the feedback HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from . import integrity
from .bwrap import sandbox_status
from .executor import NOTES_TITLE, SandboxExecute, _set_findings, findings_of
from .feedback import feedback_exporter, feedback_preprocessor
from .kernels import SandboxKernelManager

__all__ = [
    "NOTES_TITLE",
    "Limits",
    "RestoreStructure",
    "SandboxExecute",
    "SandboxKernelManager",
    "configure",
    "feedback_exporter",
    "findings_of",
    "sandbox_status",
]


@dataclass(frozen=True)
class Limits:
    """What one submission may use: seconds per cell, kernel memory, output per cell, cells."""

    timeout: int = 60
    memory_mb: int = 4096
    output_chars: int = 20_000
    grace: float = 5.0
    landlock: bool = True
    unsafe_no_sandbox: bool = False  # grade without bubblewrap (only where it cannot run)
    max_cells: int = 1000  # a notebook with more cells is not run (0 points, flagged)


def configure(
    config: Any,
    limits: Limits,
    *,
    scratch_root: Path,
    notes_dir: Path,
    unreadable: tuple[Path, ...] = (),
) -> Any:
    """Extend an nbgrader ``Config`` (from :func:`course.authoring.nbgrader_setup.make_config`) with the
    sandbox: our preprocessors in nbgrader's autograde pipeline and their limits."""
    from nbgrader.converters import Autograde

    traits = Autograde.class_traits()
    sanitize = [RestoreStructure, *traits["sanitize_preprocessors"].default()]
    autograde = [
        SandboxExecute if p.__name__ == "Execute" else p
        for p in traits["autograde_preprocessors"].default()
    ]
    config.Autograde.sanitize_preprocessors = sanitize
    config.Autograde.autograde_preprocessors = autograde
    config.Execute.timeout = limits.timeout
    config.SandboxExecute.timeout = limits.timeout
    config.SandboxExecute.memory_mb = limits.memory_mb
    config.SandboxExecute.output_chars = limits.output_chars
    config.SandboxExecute.grace = limits.grace
    config.SandboxExecute.landlock = limits.landlock
    config.SandboxExecute.unsafe_no_sandbox = limits.unsafe_no_sandbox
    config.SandboxExecute.max_cells = limits.max_cells
    config.SandboxExecute.scratch_root = str(scratch_root)
    config.SandboxExecute.notes_dir = str(notes_dir)
    config.SandboxExecute.unreadable = [str(p) for p in unreadable]
    config.SandboxExecute.shutdown_kernel = "immediate"  # nothing to save; the scratch goes
    config.GenerateFeedback.exporter_class = feedback_exporter()
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    config.GenerateFeedback.preprocessors = [
        GetGrades,
        CSSHTMLHeaderPreprocessor,
        feedback_preprocessor(),
    ]
    url = str(config.CourseDirectory.db_url)
    if url.startswith("sqlite:") and "timeout=" not in url:  # parallel workers share it
        config.CourseDirectory.db_url = url + ("&" if "?" in url else "?") + "timeout=120"
    config.LimitOutput.max_lines = 200
    config.LimitOutput.max_traceback = 60
    return config


# ---------------------------------------------------------------------------------------------
# sanitize: the structure
# ---------------------------------------------------------------------------------------------
class RestoreStructure(NbGraderPreprocessor):
    """Rebuild the submission on the release's skeleton (see :mod:`course.integrity`)."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        import nbformat

        info = resources["nbgrader"]
        release_dir = Path(self.config.CourseDirectory.release_directory)
        release = nbformat.read(
            release_dir / info["assignment"] / f"{info['notebook']}.ipynb", as_version=4
        )
        nb, findings = integrity.restore_structure(nb, release)
        _set_findings(nb, findings)
        return nb, resources
