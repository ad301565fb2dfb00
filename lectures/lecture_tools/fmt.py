"""Numbers as each language writes them: ``3.14`` in English, ``3,14`` in Russian.

* :func:`number` formats one value for prose, tables and printed output;
* :func:`localize_axes` makes a figure's tick labels follow the same convention.
"""

from __future__ import annotations

from typing import Any

from matplotlib.ticker import ScalarFormatter

__all__ = ["CommaFormatter", "decimal", "localize_axes", "number"]


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


def number(x: float, lang: str, spec: str = ".3g") -> str:
    """``format(x, spec)`` with the language's decimal separator and minus sign.

    >>> number(0.25, "ru"), number(-1.5e-3, "en", ".2e")
    ('0,25', '−1.50e-03')
    """
    text = format(x, spec).replace("-", "−", 1) if x < 0 else format(x, spec)
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
