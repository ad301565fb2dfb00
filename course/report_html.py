"""``report.html``: the class report as one self-contained page a TA opens in a browser.

Order: the class at a glance (per assignment: students, submitted, missing, mean, median, the
score histogram and the tasks' full-points bars as embedded PNG), each task's wrong answers
grouped by reason (every reason, whole, wrapped), then the flagged submissions and the notes
they share. Nothing is loaded from elsewhere: images are ``data:`` URIs, the style and the
table sorting (a dozen lines of JavaScript: click a column header) are inline.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .lms.lang import localize, say

if TYPE_CHECKING:
    from .report import AssignmentStats, ClassReport

__all__ = ["SORT_SCRIPT", "render_html", "write_html"]

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 72em; padding: 0 1em; color: #1d1d1f; }
h1, h2, h3 { line-height: 1.2; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; width: 100%; }
th, td { border: 1px solid #d0d0d0; padding: .3em .5em; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
td.reason { width: 60%; }
th { background: #f2f4f7; } table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " \\2195"; color: #999; font-size: .8em; }
td.num { text-align: right; white-space: nowrap; }
.msg { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; font: inherit; }
.figs { display: flex; flex-wrap: wrap; gap: 1em; } .figs img { max-width: 100%; height: auto; }
.glance { display: flex; flex-wrap: wrap; gap: 1.5em; margin: .5em 0; }
.glance div { background: #f6f8fa; border-radius: 6px; padding: .4em .8em; }
.glance b { display: block; font-size: 1.4em; } .flag { color: #a33; }
"""

#: sorts a table by the clicked column (numbers as numbers), each click reversing the order
SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var dir = th.dataset.dir === "asc" ? -1 : 1; th.dataset.dir = dir > 0 ? "asc" : "desc";
    var key = function (row) { var t = row.cells[col].textContent.trim();
      var n = parseFloat(t.replace(",", ".")); return isNaN(n) ? t.toLowerCase() : n; };
    Array.from(body.rows).sort(function (a, b) { var x = key(a), y = key(b);
      return (x > y ? 1 : x < y ? -1 : 0) * dir; }).forEach(function (r) { body.appendChild(r); });
  });
});
"""


def _png(fig: object) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)  # type: ignore[attr-defined]
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _figures(a: AssignmentStats, lang: str) -> list[tuple[str, str]]:
    """The score histogram and the tasks' full-points bars: (alt text, data URI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    out = []
    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    ax.hist(
        list(a.scores.values()),
        bins=10,
        range=(0, a.max_score or 1),
        color="#4878a8",
        edgecolor="white",
    )
    ax.set(
        title=f"{a.name}: {say(lang, 'scores', 'баллы')}",
        xlabel=say(lang, "score", "балл"),
        ylabel=say(lang, "students", "студенты"),
    )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    out.append((say(lang, "score histogram", "гистограмма баллов"), _png(fig)))
    plt.close(fig)
    tasks = sorted(a.tasks.values(), key=lambda t: t.grade_id)
    fig, ax = plt.subplots(figsize=(5.0, 0.6 + 0.4 * max(len(tasks), 1)))
    ax.barh([t.grade_id for t in tasks], [100 * t.pass_rate for t in tasks], color="#6a9f58")
    ax.invert_yaxis()
    ax.set(xlim=(0, 100), xlabel=say(lang, "% with full points", "% с полным баллом"))
    fig.tight_layout()
    out.append((say(lang, "full points per task", "полный балл по задачам"), _png(fig)))
    plt.close(fig)
    return out


def _msg(text: str, lang: str) -> str:
    """A message, localized, whole; line breaks kept, long lines wrapped by the browser."""
    return f'<pre class="msg">{html.escape(localize(text, lang))}</pre>'


def _assignment(a: AssignmentStats, lang: str, who: Callable[[str], str]) -> list[str]:
    s_ = lambda en, ru: html.escape(say(lang, en, ru))  # noqa: E731
    scores = list(a.scores.values())
    out = [
        f'<section id="{html.escape(a.name)}"><h2>{html.escape(a.name)}</h2>',
        '<div class="glance">',
    ]
    facts: list[tuple[object, str]] = [
        (len(scores) + len(a.missing), s_("students", "студентов")),
        (len(scores), s_("submitted", "сдали")),
        (len(a.missing), s_("missing", "не сдали")),
        (len(a.flagged), s_("flagged", "на проверку")),
    ]
    if scores:
        facts += [
            (f"{statistics.mean(scores):.1f}", s_("mean", "среднее")),
            (f"{statistics.median(scores):g} / {a.max_score:g}", s_("median", "медиана")),
        ]
    out += [f"<div><b>{v}</b>{label}</div>" for v, label in facts] + ["</div>"]
    if a.missing:
        out.append(
            f"<p>{s_('Missing', 'Не сдали')}: "
            f"{html.escape(', '.join(who(m) for m in a.missing))}</p>"
        )
    if not scores:
        return [*out, "</section>"]
    out.append(
        '<div class="figs">'
        + "".join(f'<img alt="{html.escape(alt)}" src="{uri}">' for alt, uri in _figures(a, lang))
        + "</div>"
    )
    out += [
        f"<h3>{s_('Students', 'Студенты')}</h3>",
        '<table class="sortable"><thead><tr>'
        + "".join(
            f"<th>{h}</th>"
            for h in (s_("student", "студент"), s_("score", "балл"), s_("flagged", "на проверку"))
        )
        + "</tr></thead><tbody>",
    ]
    for sid in sorted(a.scores):
        out.append(
            f"<tr><td>{html.escape(who(sid))}</td><td class=num>{a.scores[sid]:g}</td>"
            f"<td>{'⚑' if sid in a.flagged else ''}</td></tr>"
        )
    out.append("</tbody></table>")
    out += [
        f"<h3>{s_('Tasks', 'Задачи')}</h3>",
        '<table class="sortable tasks"><thead><tr>'
        + "".join(
            f"<th>{h}</th>"
            for h in (
                s_("task", "задача"),
                s_("points", "баллы"),
                s_("mean", "среднее"),
                s_("full points, %", "полный балл, %"),
                s_("not implemented", "не реализовано"),
                s_("wrong answers", "неверные ответы"),
            )
        )
        + "</tr></thead><tbody>",
    ]
    tasks = sorted(a.tasks.values(), key=lambda t: t.grade_id)
    for t in tasks:
        wrong = sum(t.failures.values())
        out.append(
            f"<tr><td>{html.escape(t.grade_id)}</td><td class=num>{t.max_score:g}</td>"
            f"<td class=num>{statistics.mean(t.scores) if t.scores else 0:.1f}</td>"
            f"<td class=num>{100 * t.pass_rate:.0f}</td>"
            f"<td class=num>{t.not_implemented}</td><td class=num>{wrong}</td></tr>"
        )
    out.append("</tbody></table>")
    out.append(f"<h3>{s_('Wrong answers by reason', 'Неверные ответы по причинам')}</h3>")
    for t in tasks:
        if not t.failures:
            continue
        out += [
            f"<h4>{html.escape(t.grade_id)}</h4>",
            '<table class="sortable"><thead><tr>'
            f"<th>{s_('students', 'студентов')}</th><th>{s_('reason', 'причина')}</th>"
            f"<th>{s_('who', 'кто')}</th></tr></thead><tbody>",
        ]
        for msg, n in t.failures.most_common():
            note = a.notes.get(msg)
            text = (
                (
                    f'<a href="#note-{a.name}-{note}">'
                    + s_(f"see note {note}", f"см. примечание {note}")
                    + "</a>"
                )
                if note
                else _msg(msg, lang)
            )
            names = html.escape(", ".join(who(sid) for sid in sorted(set(t.who.get(msg, [])))))
            out.append(
                f"<tr><td class=num>{n}</td><td class=reason>{text}</td><td>{names}</td></tr>"
            )
        out.append("</tbody></table>")
    if a.flagged:
        out += [
            f"<h3 class=flag>{s_('Flagged for review', 'На проверку преподавателю')}</h3>",
            '<table class="sortable"><thead><tr>'
            f"<th>{s_('student', 'студент')}</th><th>{s_('score', 'балл')}</th>"
            f"<th>{s_('reasons', 'причины')}</th></tr></thead><tbody>",
        ]
        for sid, reasons in sorted(a.flagged.items()):
            refs = "".join(
                f'<p><a href="#note-{a.name}-{a.notes[m]}">'
                + s_(f"note {a.notes[m]}", f"примечание {a.notes[m]}")
                + "</a></p>"
                for m in a.notes_of.get(sid, [])
            )
            body = "".join(_msg(r, lang) for r in reasons) or s_(
                "flagged in the gradebook", "отмечено в журнале оценок"
            )
            out.append(
                f"<tr><td>{html.escape(who(sid))}</td><td class=num>"
                f"{a.scores.get(sid, 0):g}</td><td class=reason>{body}{refs}</td></tr>"
            )
        out.append("</tbody></table>")
    if a.notes:
        out.append(f"<h3>{s_('Notes', 'Примечания')}</h3><ol>")
        for msg, note in sorted(a.notes.items(), key=lambda kv: int(kv[1])):
            sids = sorted(who(sid) for sid, ms in a.notes_of.items() if msg in ms)
            out.append(
                f'<li id="note-{html.escape(a.name)}-{note}" value="{note}"><p>'
                f"{html.escape(', '.join(sids))}</p>{_msg(msg, lang)}</li>"
            )
        out.append("</ol>")
    return [*out, "</section>"]


def render_html(report: ClassReport, lang: str = "both") -> str:
    """The whole page."""
    title = html.escape(say(lang, "Class report", "Отчёт по группе"))
    body = [f"<h1>{title}</h1>"]
    names = sorted(report.assignments)
    if len(names) > 1:
        body.append(
            "<p>"
            + " · ".join(f'<a href="#{html.escape(n)}">{html.escape(n)}</a>' for n in names)
            + "</p>"
        )
    for name in names:
        body += _assignment(report.assignments[name], lang, report.who)
    page_lang = "ru" if lang == "ru" else "en"
    return (
        f'<!DOCTYPE html>\n<html lang="{page_lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(body)
        + f"\n<script>{SORT_SCRIPT}</script>\n</body></html>\n"
    )


def write_html(report: ClassReport, path: Path, lang: str = "both") -> Path:
    """Write :func:`render_html` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, lang), encoding="utf-8")
    return path
