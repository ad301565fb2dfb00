"""``course report``: statistics of a graded class, from nbgrader's gradebook.

Per assignment: mean and median score, a score histogram; per task (nbgrader ``grade_id``):
mean, share of students with full points, the wrong answers grouped by reason (whole: wrapped,
never cut; from the autograded notebooks' test cells); the flagged submissions with the
grader's reasons. A long message that one submission gets in several tasks (a tamper note) is
stated once, as a note of that submission, and the task rows refer to it. Written to
``WORKDIR/report/report.md`` (with PNG plots beside it) and ``report.html`` (one
self-contained page, :mod:`course.report_html`), in the TA's language (:mod:`course.lms.lang`).
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .authoring.nbgrader_setup import grading_env, make_config
from .lms.lang import localize, say

__all__ = ["ClassReport", "collect", "main_report", "render", "write_plots"]

#: a failure message at least this long, met by one submission in two tasks or more, is a
#: note of that submission (stated once) rather than a row's text
NOTE_LENGTH = 150


@dataclass
class TaskStats:
    grade_id: str
    max_score: float
    scores: list[float] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)  # wrong answers, by message
    who: dict[str, list[str]] = field(default_factory=dict)  # message → students
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
    notes: dict[str, str] = field(default_factory=dict)  # message → "note N"
    notes_of: dict[str, list[str]] = field(default_factory=dict)  # student → messages

    def find_notes(self) -> None:
        """Long messages one submission got in two tasks or more: numbered notes."""
        per: dict[tuple[str, str], int] = Counter()
        for t in self.tasks.values():
            for msg, sids in t.who.items():
                if len(msg) >= NOTE_LENGTH:
                    for sid in set(sids):
                        per[sid, msg] += 1
        for (sid, msg), n in sorted(per.items()):
            if n >= 2:
                self.notes.setdefault(msg, f"{len(self.notes) + 1}")
                self.notes_of.setdefault(sid, []).append(msg)


@dataclass
class ClassReport:
    assignments: dict[str, AssignmentStats]
    plots: list[Path] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # student id → name (gradebook, LMS)

    def who(self, sid: str) -> str:
        """``vera_smirnova_101 (Вера Смирнова)``, or the id alone."""
        name = self.names.get(sid)
        return f"{sid} ({name})" if name else sid


_LABEL = re.compile(r"^\s+[\w ]+ / [^:]+:\s")  # "  expected / ожидалось:  …": a detail line
_TAG = re.compile(r"^(?:\w+: )?Task (\S+) / Задача \1: ")


def _message_key(text: str) -> str:
    """The reason of a failure message, whole (its first line and the lines that continue it,
    before the details), numbers masked and the task tag dropped, so that equal failures
    group."""
    lines = text.strip().splitlines() or [""]
    reason = [lines[0]]
    for line in lines[1:]:
        if not line.startswith("  ") or _LABEL.match(line):
            break
        reason.append(line.strip())
    key = " ".join(reason)
    key = re.sub(r"-?\d+\.\d{3,}(e[-+]?\d+)?|-?\d(\.\d+)?e[-+]?\d+", "#", key)
    key = key.replace("[course-sandbox] ", "")
    exc, _, rest = key.partition(": ")
    if rest and _TAG.match(rest):
        key = f"{exc}: {_TAG.sub('', rest)}"
    return _TAG.sub("", key)


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
                stats.scores[sid] = max(
                    0.0, float(sub.score) - float(sub.late_submission_penalty or 0)
                )  # as grades.csv has it
                for nb in sub.notebooks:
                    path = workdir / "autograded" / sid / assignment.name / f"{nb.name}.ipynb"
                    messages = (
                        failure_messages(nbformat.read(str(path), as_version=4))
                        if path.is_file()
                        else {}
                    )
                    for grade in nb.grades:
                        if not grade.max_score:
                            continue
                        t = stats.tasks.setdefault(
                            grade.name, TaskStats(grade.name, float(grade.max_score))
                        )
                        t.scores.append(float(grade.score))
                        if grade.score < grade.max_score and grade.name in messages:
                            if _not_implemented(messages[grade.name]):
                                t.not_implemented += 1
                            else:
                                key = _message_key(messages[grade.name])
                                t.failures[key] += 1
                                t.who.setdefault(key, []).append(sid)
                    if nb.flagged:
                        stats.flagged.setdefault(sid, [])
                findings = state.get(f"{sid}/{assignment.name}", {}).get("findings", [])
                reasons = [f["message"] for f in findings if f.get("severity") in ("zero", "flag")]
                if reasons:
                    stats.flagged[sid] = reasons
            submitted = {sub.student.id for sub in assignment.submissions}
            stats.missing = sorted(s.id for s in gb.students if s.id not in submitted)
            stats.find_notes()
            out[assignment.name] = stats
        names = {s.id: " ".join(p for p in (s.first_name, s.last_name) if p) for s in gb.students}
    for path in sorted((workdir / "lms").glob("*.json")):  # the names the LMS gave
        for sid, info in json.loads(path.read_text(encoding="utf-8")).get("students", {}).items():
            names[sid] = names.get(sid) or info.get("name", "")
    return ClassReport(out, names={k: v for k, v in names.items() if v})


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
        ax.hist(
            list(a.scores.values()),
            bins=10,
            range=(0, a.max_score or 1),
            color="#4878a8",
            edgecolor="white",
        )
        ax.set(
            title=f"{name}: scores ({len(a.scores)} students)", xlabel="score", ylabel="students"
        )
        fig.tight_layout()
        paths.append(dest / f"{name}-scores.png")
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)
        tasks = sorted(a.tasks.values(), key=lambda t: t.grade_id)
        fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * max(len(tasks), 1)))
        ax.barh([t.grade_id for t in tasks], [100 * t.pass_rate for t in tasks], color="#6a9f58")
        ax.invert_yaxis()
        ax.set(xlim=(0, 100), xlabel="% of students with full points", title=f"{name}: tasks")
        fig.tight_layout()
        paths.append(dest / f"{name}-tasks.png")
        fig.savefig(paths[-1], dpi=100)
        plt.close(fig)
    report.plots = paths
    return paths


def _cell(text: str, lang: str) -> str:
    """A message in a Markdown table cell: localized, each line its own (``<br>``)."""
    return "<br>".join(line.strip() for line in localize(text, lang).split("\n")).replace("|", "/")


def failures(t: TaskStats, a: AssignmentStats) -> list[tuple[int, str, str | None]]:
    """A task's wrong answers, most frequent first: (count, message, note number or None)."""
    return [(n, m, a.notes.get(m)) for m, n in t.failures.most_common()]


def render(report: ClassReport, top: int = 3, lang: str = "both") -> str:
    """The report as Markdown (``top`` reasons per task row; the rest in the HTML page)."""
    say_ = lambda en, ru: say(lang, en, ru)  # noqa: E731
    lines = [f"# {say_('Class report', 'Отчёт по группе')}", ""]
    for name, a in sorted(report.assignments.items()):
        s = list(a.scores.values())
        if not s and not a.missing:
            continue
        why = say_("no submission, counted as 0 in grades.csv", "нет работы, 0 в grades.csv")
        gone = (
            (
                f"; **{len(a.missing)} {say_('missing', 'не сдали')}** ({why}): "
                f"{', '.join(a.missing)}"
            )
            if a.missing
            else f"; {say_('none missing', 'сдали все')}"
        )
        lines += [
            f"## {name}",
            "",
            f"{len(s) + len(a.missing)} {say_('students', 'студентов')}: {len(s)} "
            f"{say_('submitted', 'сдали')}{gone}.",
            "",
        ]
        if not s:
            continue
        lines += [
            f"{say_('Submissions', 'Работы')}: {say_('mean', 'среднее')} "
            f"{statistics.mean(s):.1f}, {say_('median', 'медиана')} "
            f"{statistics.median(s):g} {say_('of', 'из')} {a.max_score:g}.",
            "",
            f"| {say_('task', 'задача')} | {say_('points', 'баллы')} | "
            f"{say_('mean', 'среднее')} | {say_('full points', 'полный балл')} | "
            f"{say_('not implemented', 'не реализовано')} | "
            f"{say_('most frequent wrong answers (reason first, whole)', 'частые ошибки')} |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for t in sorted(a.tasks.values(), key=lambda t: t.grade_id):
            fails = (
                "<br>".join(
                    f"{n}× "
                    + (
                        say_(f"see note {note}", f"см. примечание {note}")
                        if note
                        else _cell(m, lang)
                    )
                    for n, m, note in failures(t, a)[:top]
                )
                or "—"
            )
            lines.append(
                f"| {t.grade_id} | {t.max_score:g} | "
                f"{statistics.mean(t.scores) if t.scores else 0:.1f} | "
                f"{100 * t.pass_rate:.0f}% | {t.not_implemented} | {fails} |"
            )
        lines.append("")
        if a.notes:
            lines += [f"{say_('Notes', 'Примечания')}:", ""]
            for msg, note in sorted(a.notes.items(), key=lambda kv: int(kv[1])):
                sids = sorted(report.who(sid) for sid, ms in a.notes_of.items() if msg in ms)
                lines.append(
                    f"{note}. ({', '.join(sids)}) " + localize(msg, lang).replace("\n", "  \n   ")
                )
            lines.append("")
        if a.flagged:
            lines += [f"{say_('Flagged for review', 'На проверку преподавателю')}:", ""]
            for sid, reasons in sorted(a.flagged.items()):
                refs = [
                    say_(f"see note {a.notes[m]}", f"см. примечание {a.notes[m]}")
                    for m in a.notes_of.get(sid, [])
                ]
                lines.append(
                    f"* **{report.who(sid)}** ({a.scores.get(sid, 0):g})"
                    + (f": {', '.join(refs)}" if refs else "")
                )
                for r in reasons or [say_("flagged in the gradebook", "отмечено в журнале оценок")]:
                    lines.append("  - " + localize(r, lang).replace("\n", "  \n    "))
            lines.append("")
    plots = [p.name for p in report.plots]
    if plots:
        lines += [f"{say_('Plots', 'Графики')}: " + ", ".join(plots), ""]
    return "\n".join(lines)


def main_report(
    workdir: Path, out: Path | None = None, root: Path | None = None, *, lang: str = "both"
) -> tuple[str, Path]:
    """Collect, plot and write ``report.md`` and ``report.html``; return the Markdown and its
    path."""
    from .report_html import write_html

    out = Path(out or Path(workdir) / "report")
    report = collect(workdir, root)
    write_plots(report, out)
    text = render(report, lang=lang)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(text + "\n", encoding="utf-8")
    write_html(report, out / "report.html", lang=lang)
    return text, out / "report.md"
