"""Numbers as each language writes them: ``3.14`` in English, ``3,14`` in Russian.

* :func:`number` formats one value for prose, tables and printed output;
* :func:`localize_axes` makes a figure's tick labels follow the same convention.
"""

from __future__ import annotations

from typing import Any

from matplotlib.ticker import FuncFormatter

__all__ = ["decimal", "localize_axes", "number"]


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


def localize_axes(obj: Any, lang: str) -> None:
    """Tick labels of every axis of ``obj`` (a Figure or an Axes) in the language's convention.

    Log-scale axes keep matplotlib's own formatter (powers of ten have no decimal point).
    """
    if lang != "ru":
        return
    axes = obj.get_axes() if hasattr(obj, "get_axes") else [obj]
    for ax in axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale != "linear":
                continue
            base = axis.get_major_formatter()

            def fmt(value: float, pos: int | None = None, _base: Any = base) -> str:
                return decimal(_base(value, pos), "ru")

            axis.set_major_formatter(FuncFormatter(fmt))
