"""Cyrillic → Latin for student ids: GOST 7.79-2000, system B (the same table as ISO 9:1995
system B), then reduced to an id.

System B writes each letter with Latin letters only (no diacritics): ``ж → zh``, ``х → x``,
``щ → shh``, ``ю → yu``, ``я → ya``; ``ц → cz`` before ``е, и, ы, й`` (``i, e, y, j``) and
``c`` elsewhere; the signs are written with marks: ``ъ`` as two backticks, ``ь`` as
one, ``ы → y'``, ``э → e'``. :func:`transliterate` gives system B as written; :func:`slug`
drops the marks (ids cannot hold them: ``Пётр Иванов → pyotr_ivanov``, ``Вера Смирнова →
vera_smirnova``) and keeps ``[a-z0-9_]``. The standard's Ukrainian and Belarusian letters are
included.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["slug", "transliterate"]

_TABLE = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "yo",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "j",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "x",
    "ц": "c",
    "ч": "ch",
    "ш": "sh",
    "щ": "shh",
    "ъ": "``",
    "ы": "y'",
    "ь": "`",
    "э": "e'",
    "ю": "yu",
    "я": "ya",
    # Ukrainian, Belarusian (same standard)
    "і": "i",
    "ї": "yi",
    "є": "ye",
    "ґ": "g`",
    "ў": "u`",
}
_CZ_BEFORE = set("еиыйiі")


def transliterate(text: str) -> str:
    """``text`` with every Cyrillic letter in GOST 7.79-2000 system B; other characters kept.
    Capitals follow the letter (``Щ → Shh``, ``ЩИ`` → ``SHHI`` when the next letter is upper)."""
    out: list[str] = []
    for i, ch in enumerate(text):
        low = ch.lower()
        latin = _TABLE.get(low)
        if latin is None:
            out.append(ch)
            continue
        nxt = text[i + 1].lower() if i + 1 < len(text) else ""
        if low == "ц" and nxt in _CZ_BEFORE:
            latin = "cz"
        if ch != low:  # a capital
            upper_next = i + 1 < len(text) and text[i + 1].isupper()
            latin = latin.upper() if upper_next else latin[:1].upper() + latin[1:]
        out.append(latin)
    return "".join(out)


def slug(name: str, limit: int = 40) -> str:
    """A readable id from a name: system B, the marks ``'`` and ````` dropped, accents removed,
    lower case, ``[a-z0-9]`` runs joined by ``_``, at most ``limit`` characters (cut at a
    ``_`` where possible). ``""`` when nothing readable is left."""
    text = transliterate(name).replace("'", "").replace("`", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    if len(text) > limit:
        cut = text.rfind("_", limit // 2, limit + 1)
        text = text[: cut if cut > 0 else limit].strip("_")
    return text
