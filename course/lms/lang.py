"""The TA's language for the report and the feedback: ``ru``, ``en`` or ``both``.

Chosen with ``--lang`` and kept in ``WORKDIR/course-lang`` for later commands; without either,
from the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``ru…`` → ``ru``, else ``en``).

The checks and the grader write their messages in both languages, pair by pair: ``wrong
tangent / неверная касательная: …``. :func:`localize` keeps one side of each pair, or in
``both`` writes the English line and then the Russian one. A pair is ``A / B`` where B holds a
Cyrillic letter and A none, each side running to the next ``:``, ``;``, parenthesis or line end
(a parenthesised group without Cyrillic, such as a call ``f(x, y)``, belongs to its side;
one with Cyrillic is localized inside; `` — `` separates too; Markdown emphasis and a list
bullet or heading mark are kept; ``русский / English`` is read too). Text that is not such a
pair — a formula ``(a / b)' = …``, a value — is left as it is.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["LANGS", "LANG_FILE", "default_lang", "localize", "resolve", "say"]

LANGS = ("ru", "en", "both")
LANG_FILE = "course-lang"

_CYR = re.compile(r"[А-Яа-яЁё]")


def _parts(text: str) -> list[str]:
    """``text`` as top-level pieces: balanced parenthesised groups and the text between
    (an unbalanced parenthesis is text)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            if depth == 0 and i > start:
                out.append(text[start:i])
                start = i
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            if depth == 0:
                out.append(text[start : i + 1])
                start = i + 1
    if start < len(text):
        out.append(text[start:])
    return out


def _segment(text: str, which: str) -> str:
    """One delimiter-free stretch: ``en / ru`` (the first piece that holds Cyrillic starts
    the Russian side; no Cyrillic before it), else unchanged."""
    core = text.strip()
    if " / " not in core or not _CYR.search(core):
        return text
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    bullet = re.match(r"^(?:[*-]|\d+\.|#+)\s+", core)
    if bullet:
        lead, core = lead + bullet[0], core[bullet.end() :]
    mark = re.match(r"^(\*{1,2}|_)(?=\S)", core)
    if mark and core.endswith(mark[1]) and len(core) > 2 * len(mark[1]):  # *text / текст*
        inner = _segment(core[len(mark[1]) : -len(mark[1])], which)
        return lead + mark[1] + inner + mark[1] + trail
    pieces, depth, last = [], 0, 0
    i = 0
    while i < len(core):
        ch = core[i]
        depth += ch == "("
        depth -= ch == ")" and depth > 0
        if depth == 0 and core.startswith(" / ", i):
            pieces.append(core[last:i])
            last = i + 3
            i += 3
            continue
        i += 1
    pieces.append(core[last:])
    k = next(n for n, piece in enumerate(pieces) if _CYR.search(piece))
    if k == 0:  # русский / English?
        j = next((n for n, piece in enumerate(pieces) if not _CYR.search(piece)), 0)
        if j == 0 or any(_CYR.search(piece) for piece in pieces[j:]):
            return text
        return lead + " / ".join(pieces[j:] if which == "en" else pieces[:j]) + trail
    shared = ""  # a parenthesised note after a space, without Cyrillic: both sides' own
    tail = _parts(pieces[-1])
    if (
        len(tail) > 1
        and tail[-1].startswith("(")
        and not _CYR.search(tail[-1])
        and tail[-2].endswith((" ", "\n"))
    ):
        pieces[-1] = "".join(tail[:-1]).rstrip()
        shared = " " + tail[-1]
    side = " / ".join(pieces[:k] if which == "en" else pieces[k:])
    return lead + side + shared + trail


def _side(text: str, which: str) -> str:
    """``text`` with every bilingual pair reduced to ``which`` (``en`` or ``ru``)."""
    out: list[str] = []
    segment = ""
    for part in _parts(text):
        if part.startswith("(") and part.endswith(")") and _CYR.search(part):
            out.append(_segment(segment, which))  # a bilingual group: its own pairs
            segment = ""
            out.append("(" + _side(part[1:-1], which) + ")")
            continue
        if part.startswith("("):
            segment += part  # a call, a formula: part of the text around it
            continue
        for piece in re.split(r"([:;\n]| — )", part):
            if piece in (":", ";", "\n", " — "):
                out.append(_segment(segment, which) + piece)
                segment = ""
            else:
                segment += piece
    out.append(_segment(segment, which))
    return "".join(out)


def default_lang() -> str:
    """``ru`` when the locale is Russian, else ``en``."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "ru" if value.lower().startswith("ru") else "en"
    return "en"


def resolve(workdir: Path | None, requested: str | None = None) -> str:
    """The language to use: ``requested`` (then kept in the work dir), else the work dir's,
    else :func:`default_lang`."""
    if requested is not None:
        if requested not in LANGS:
            raise ValueError(f"language {requested!r}: one of {', '.join(LANGS)}")
        if workdir is not None and Path(workdir).is_dir():
            (Path(workdir) / LANG_FILE).write_text(requested + "\n", encoding="utf-8")
        return requested
    path = Path(workdir) / LANG_FILE if workdir is not None else None
    if path is not None and path.is_file():
        value = path.read_text(encoding="utf-8").strip()
        if value in LANGS:
            return value
    return default_lang()


def localize(text: str, lang: str) -> str:
    """``text`` in ``lang``: one side of every bilingual pair. In ``both``, each line that
    has pairs becomes its English line followed by its Russian line; when the two versions
    do not have the same lines, the English text and then the Russian."""
    if lang in ("en", "ru"):
        return _side(text, lang)
    en, ru = _side(text, "en"), _side(text, "ru")
    if en == ru:
        return text
    en_lines, ru_lines = en.split("\n"), ru.split("\n")
    if len(en_lines) != len(ru_lines):
        return en + "\n" + ru
    out: list[str] = []
    for e, r in zip(en_lines, ru_lines, strict=True):
        out += [e] if e == r else [e, r]
    return "\n".join(out)


def say(lang: str, en: str, ru: str) -> str:
    """The course's own words in ``lang`` (``both``: ``en / ru`` on one line for a heading)."""
    return en if lang == "en" else ru if lang == "ru" else f"{en} / {ru}"
