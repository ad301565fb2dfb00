"""Numbers as each language writes them: ``3.14`` in English, ``3,14`` in Russian.

* :func:`number` formats one value for prose, tables and printed output;
* :func:`localize_axes` makes a figure's tick labels follow the same convention;
* :func:`localize_figure` does that and rewrites the decimals in every text of the figure
  (titles, labels, legends, annotations): ``0,5`` in plain text and ``0{,}5`` inside ``$…$``.
"""

from __future__ import annotations

import re
from typing import Any

from matplotlib.text import Text
from matplotlib.ticker import ScalarFormatter

__all__ = [
    "RU_GROUP",
    "CommaFormatter",
    "decimal",
    "localize_axes",
    "localize_figure",
    "localize_text",
    "number",
]


def decimal(text: str, lang: str) -> str:
    """``text`` with its decimal points written as the language writes them (comma in Russian).

    Only points between two digits change, so ``"v1.2"`` → ``"v1,2"`` but ``"end."`` stays.
    """
    if lang != "ru":
        return text
    out = list(text)
    for i, ch in enumerate(text):
        if ch == "." and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
            out[i] = ","
    return "".join(out)


#: Groups thousands in Russian: a no-break space (as wide as a digit in a monospace table).
RU_GROUP = "\u00a0"


def number(x: float, lang: str, spec: str = ".3g") -> str:
    """``format(x, spec)`` with the language's decimal separator, digit grouping and minus sign.

    A ``,`` in ``spec`` groups thousands: ``2,000`` in English, ``2 000`` (a no-break space)
    in Russian.

    >>> number(0.25, "ru"), number(-1.5e-3, "en", ".2e"), number(2e6, "ru", ",.0f")
    ('0,25', '−1.50e-03', '2\xa0000\xa0000')
    """
    text = format(x, spec).replace("-", "−", 1) if x < 0 else format(x, spec)
    if lang == "ru" and "," in spec:
        text = text.replace(",", RU_GROUP)
    return decimal(text, lang)


class CommaFormatter(ScalarFormatter):
    """matplotlib's default tick formatter, with a decimal comma."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return decimal(super().__call__(x, pos), "ru")

    def get_offset(self) -> str:
        return decimal(super().get_offset(), "ru")


def localize_axes(obj: Any, lang: str) -> None:
    """Tick labels of every axis of ``obj`` (a Figure or an Axes) in the language's convention.

    Axes with another formatter than matplotlib's default (log scales, dates) keep it.
    """
    if lang != "ru":
        return
    axes = obj.get_axes() if hasattr(obj, "get_axes") else [obj]
    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            if type(axis.get_major_formatter()) is ScalarFormatter:
                axis.set_major_formatter(CommaFormatter())


_MATH_POINT = re.compile(r"(?<=\d)\.(?=\d)")


def localize_text(text: str, lang: str) -> str:
    """A figure text with the language's decimals: ``0{,}5`` inside ``$…$`` (a bare comma would be
    spaced as punctuation in mathematics), ``0,5`` outside it.

    >>> localize_text("$y = 0.5 x$, error 2.5", "ru")
    '$y = 0{,}5 x$, error 2,5'
    """
    if lang != "ru":
        return text
    parts = text.split("$")
    for i, part in enumerate(parts):
        parts[i] = _MATH_POINT.sub("{,}", part) if i % 2 else decimal(part, lang)
    return "$".join(parts)


def localize_figure(fig: Any, lang: str) -> None:
    """:func:`localize_axes` for every axes of ``fig``, then :func:`localize_text` for every text
    in it. Call it after the figure is complete (texts added later are not rewritten)."""
    if lang != "ru":
        return
    localize_axes(fig, lang)
    for artist in fig.findobj(Text):
        text = artist.get_text()
        new = localize_text(text, lang)
        if new != text:
            artist.set_text(new)
