"""``course report``: statistics of a graded class, from nbgrader's gradebook.

Per assignment: mean and median score, a score histogram; per task (nbgrader ``grade_id``):
mean, share of students with full points, the most frequent failure messages (from the
autograded notebooks' test cells); the flagged submissions with the grader's reasons. Written
to ``WORKDIR/report/report.md`` and PNG plots next to it, and printed.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .authoring.nbgrader_setup import grading_env, make_config

__all__ = ["ClassReport", "collect", "main_report", "render", "write_plots"]


@dataclass
class TaskStats:
    grade_id: str
    max_score: float
    scores: list[float] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)  # wrong answers, by message
    not_implemented: int = 0  # the stub still raises NotImplementedError

    @property
    def pass_rate(self) -> float:
        return sum(s >= self.max_score for s in self.scores) / max(len(self.scores), 1)


@dataclass
class AssignmentStats:
    name: str
    max_score: float
    scores: dict[str, float] = field(default_factory=dict)
    tasks: dict[str, TaskStats] = field(default_factory=dict)
    flagged: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # known students without a submission


@dataclass
class ClassReport:
    assignments: dict[str, AssignmentStats]
    plots: list[Path] = field(default_factory=list)


def _message_key(text: str) -> str:
    """The first line of a failure message, numbers masked, so that equal failures group."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    line = re.sub(r"-?\d+\.\d{3,}(e[-+]?\d+)?|-?\d(\.\d+)?e[-+]?\d+", "#", line)
    return line.replace("[course-sandbox] ", "")


def _not_implemented(text: str) -> bool:
    """The stub still raises (``NotImplementedError``, or the check's "not implemented yet")."""
    head = text.strip().splitlines()[0] if text.strip() else ""
    return head.startswith("NotImplementedError") or "not implemented yet" in head


def collect(workdir: Path, root: Path | None = None) -> ClassReport:
    """Read the gradebook, the autograded notebooks and the grader's state."""
    import nbformat
    from nbgrader.api import Gradebook

    from .pipeline.grading import failure_messages

    workdir = Path(workdir).resolve()
    config = make_config(root, workdir)
    state_path = workdir / "course-state.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    out: dict[str, AssignmentStats] = {}
    with grading_env(), Gradebook(config.CourseDirectory.db_url) as gb:
        for assignment in gb.assignments:
            stats = AssignmentStats(assignment.name, float(assignment.max_score))
            for sub in assignment.submissions:
                sid = sub.student.id
                stats.scores[sid] = max(0.0, float(sub.score) - float(
                    sub.late_submission_penalty or 0))  # as grades.csv has it
                for nb in sub.notebooks:
                    path = workdir / "autograded" / sid / assignment.name / f"{nb.name}.ipynb"
                    messages = failure_messages(nbformat.read(str(path), as_version=4)) \
                        if path.is_file() else {}
                    for grade in nb.grades:
                        if not grade.max_score:
                            continue
                        t = stats.tasks.setdefault(grade.name,
                                                   TaskStats(grade.name, float(grade.max_score)))
                        t.scores.append(float(grade.score))
                        if grade.score < grade.max_score and grade.name in messages:
                            if _not_implemented(messages[grade.name]):
                                t.not_implemented += 1
                            else:
                                t.failures[_message_key(messages[grade.name])] += 1
                    if nb.flagged:
                        stats.flagged.setdefault(sid, [])
                findings = state.get(f"{sid}/{assignment.name}", {}).get("findings", [])
                reasons = [f["message"] for f in findings
                           if f.get("severity") in ("zero", "flag")]
                if reasons:
                    stats.flagged[sid] = reasons
            submitted = {sub.student.id for sub in assignment.submissions}
            stats.missing = sorted(s.id for s in gb.students if s.id not in submitted)
            out[assignment.name] = stats
    return ClassReport(out)


def write_plots(report: ClassReport, dest: Path) -> list[Path]:
    """Score histograms and per-task pass rates, one PNG each per assignment."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, a in sorted(report.assignments.items()):
        if not a.scores:
            continue
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.hist(list(a.scores.values()), bins=10, range=(0, a.max_score or 1), color="#4878a8",
                edgecolor="white")
        ax.set(title=f"{name}: scores ({len(a.scores)} students)", xlabel="score",
               ylabel="students")
        fig.tight_layout()
        paths.append(dest / f"{name}-scores.png")
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)
        tasks = sorted(a.tasks.values(), key=lambda t: t.grade_id)
        fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * max(len(tasks), 1)))
        ax.barh([t.grade_id for t in tasks], [100 * t.pass_rate for t in tasks],
                color="#6a9f58")
        ax.invert_yaxis()
        ax.set(xlim=(0, 100), xlabel="% of students with full points", title=f"{name}: tasks")
        fig.tight_layout()
        paths.append(dest / f"{name}-tasks.png")
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)
    report.plots = paths
    return paths


def render(report: ClassReport, top: int = 3) -> str:
    """The report as Markdown."""
    lines = ["# Class report", ""]
    for name, a in sorted(report.assignments.items()):
        s = list(a.scores.values())
        if not s and not a.missing:
            continue
        gone = (f"; **{len(a.missing)} missing** (no submission, counted as 0 in grades.csv): "
                f"{', '.join(a.missing)}") if a.missing else "; none missing"
        lines += [f"## {name}", "",
                  f"{len(s) + len(a.missing)} students: {len(s)} submitted{gone}.", ""]
        if not s:
            continue
        lines += [f"Submissions: mean {statistics.mean(s):.1f}, median "
                  f"{statistics.median(s):g} of {a.max_score:g}.", "",
                  "| task | points | mean | full points | not implemented | most frequent "
                  "wrong answers (reason first, whole) |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for t in sorted(a.tasks.values(), key=lambda t: t.grade_id):
            fails = "<br>".join(f"{n}× {m.replace('|', '/')}" for m, n in
                                t.failures.most_common(top)) or "—"
            lines.append(f"| {t.grade_id} | {t.max_score:g} | "
                         f"{statistics.mean(t.scores) if t.scores else 0:.1f} | "
                         f"{100 * t.pass_rate:.0f}% | {t.not_implemented} | {fails} |")
        lines.append("")
        if a.flagged:
            lines += ["Flagged for review / На проверку преподавателю:", ""]
            for sid, reasons in sorted(a.flagged.items()):
                lines.append(f"* **{sid}** ({a.scores.get(sid, 0):g}): "
                             + ("; ".join(reasons[:4])
                                or "flagged in the gradebook / отмечено в журнале оценок"))
            lines.append("")
    plots = [p.name for p in report.plots]
    if plots:
        lines += ["Plots: " + ", ".join(plots), ""]
    return "\n".join(lines)


def main_report(workdir: Path, out: Path | None = None, root: Path | None = None) -> tuple[
        str, Path]:
    """Collect, plot and write ``report.md``; return the text and its path."""
    out = Path(out or Path(workdir) / "report")
    report = collect(workdir, root)
    write_plots(report, out)
    text = render(report)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(text + "\n", encoding="utf-8")
    return text, out / "report.md"
