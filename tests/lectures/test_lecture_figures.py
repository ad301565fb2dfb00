"""Each language's figures speak that language only.

The two notebooks of a lecture share byte-identical code cells; a notebook learns its language
from its folder (``LANG = "ru" if Path.cwd().name == "ru" else "en"``) and every word that ends
up in a figure goes through ``tr("по-русски", "in English")``. This test reads the code cells of
the sources statically:

* a string with words passed to a labelling call (``set_xlabel``, ``set_title``, ``legend``,
  ``annotate``, ``label=`` …) must come from ``tr(...)`` — unless it is mathematics (``$…$``),
  a format field or a proper name from :data:`NAMES`;
* in ``tr(ru, en)`` the Russian text is Russian (it has Cyrillic) and the English text has none;
* a code cell has no Cyrillic outside the first argument of ``tr`` (it would reach the English
  notebook's figures and output).

What it cannot see: labels built at run time from data or from variables that hold plain English
strings far from the plotting call; reviewers still look at the figures.
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lectures"))

import build  # noqa: E402

NAMES_SRC = sorted(p.stem for p in (ROOT / "lectures" / "src").glob("*.md"))

#: Calls whose string arguments are drawn into a figure.
LABEL_CALLS = {
    "set_xlabel",
    "set_ylabel",
    "set_zlabel",
    "set_title",
    "suptitle",
    "title",
    "xlabel",
    "ylabel",
    "text",
    "figtext",
    "annotate",
    "legend",
    "set_xticklabels",
    "set_yticklabels",
    "set_label",
    "supxlabel",
    "supylabel",
    "table",
    "bar_label",
}
#: Keyword arguments that become figure text.
LABEL_KWARGS = {"label", "title", "xlabel", "ylabel", "labels", "tick_label"}
#: Proper names and symbols that read the same in both languages.
NAMES = {
    "JAX",
    "NumPy",
    "SciPy",
    "reference_impl",
    "ri",
    "jnp",
    "rnp",
    "np",
    "jax",
    "SVD",
    "LU",
    "HVP",
    "HVPs",
    "MLP",
    "Hutch",
    "Hutchinson",
    "FD",
    "AD",
    "jit",
    "vmap",
    "grad",
    "jvp",
    "vjp",
    "jacfwd",
    "jacrev",
    "hessian",
    "ReLU",
    "relu",
    "tanh",
    "sin",
    "cos",
    "log",
    "exp",
    "sqrt",
    "abs",
    "max",
    "softplus",
    "logsumexp",
    "eps",
    "float64",
    "float32",
    "Adam",
    "GD",
    "revolve",
    "Newton",
    "Rademacher",
    "Gauss",
    "Gaussian",
}
CYRILLIC = re.compile("[А-Яа-яЁё]")
WORD = re.compile(r"[A-Za-zА-Яа-яЁё_]{3,}")  # identifiers such as reference_impl stay whole


def _words(text: str) -> list[str]:
    """Words of a label outside mathematics ($…$) and format fields ({…})."""
    text = re.sub(r"\$[^$]*\$", " ", text)
    text = re.sub(r"\{[^{}]*\}", " ", text)
    text = re.sub(r"\\[A-Za-z]+", " ", text)
    return [w for w in WORD.findall(text) if w not in NAMES]


def _literal_text(node: ast.AST) -> str | None:
    """The literal text of a str constant or f-string (format fields dropped), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def _is_tr(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "tr"


def _label_args(call: ast.Call) -> list[ast.AST]:
    name = (
        call.func.attr
        if isinstance(call.func, ast.Attribute)
        else call.func.id
        if isinstance(call.func, ast.Name)
        else ""
    )
    args = list(call.args) if name in LABEL_CALLS else []
    args += [k.value for k in call.keywords if k.arg in LABEL_KWARGS]
    return args


def _strings_outside_tr(node: ast.AST):
    """Literal strings inside ``node`` that are not inside a ``tr(...)`` call."""
    if _is_tr(node):
        return
    text = _literal_text(node)
    if text is not None:
        yield node, text
        return
    for child in ast.iter_child_nodes(node):
        yield from _strings_outside_tr(child)


def problems(code: str) -> list[str]:
    """What in one code cell breaks the one-language-per-figure rule."""
    lines = [ln for ln in code.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    with warnings.catch_warnings():  # "\l" in a non-raw string is the cell's business, not ours
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        tree = ast.parse("\n".join(lines))
    out = []
    # every node inside the Russian argument of a tr() call
    russian = {id(n) for t in ast.walk(tree) if _is_tr(t) and t.args for n in ast.walk(t.args[0])}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if _is_tr(node):
            if len(node.args) != 2:
                out.append(f"line {node.lineno}: tr() takes (russian, english)")
                continue
            ru, en = (_literal_text(a) for a in node.args)
            if ru is not None and _words(ru) and not CYRILLIC.search(ru):
                out.append(f"line {node.lineno}: tr({ru!r}, …): the Russian text is not Russian")
            if en is not None and CYRILLIC.search(en):
                out.append(f"line {node.lineno}: tr(…, {en!r}): Cyrillic in the English text")
            continue
        for arg in _label_args(node):
            for lit, text in _strings_outside_tr(arg):
                words = _words(text)
                if words:
                    out.append(
                        f"line {lit.lineno}: figure text {text!r} is not in tr(ru, en) "
                        f"(words {words[:3]}); wrap it, or add a proper name to NAMES"
                    )
    for node in ast.walk(tree):
        text = _literal_text(node)
        if text and CYRILLIC.search(text) and id(node) not in russian:
            out.append(
                f"line {node.lineno}: Cyrillic outside tr(): {text[:40]!r} "
                f"would reach the English notebook"
            )
    return out


@pytest.mark.parametrize("name", NAMES_SRC)
def test_figures_speak_one_language(name: str) -> None:
    cells = build.parse(ROOT / "lectures" / "src" / f"{name}.md")
    found = []
    for c in cells:
        if c["kind"] == "code":
            found += [f"{name}.md:{c['line']}: {p}" for p in problems(c["text"])]
    assert not found, "figures must speak the reader's language:\n" + "\n".join(found)


def test_the_check_can_fail() -> None:
    bad = (
        'ax.set_xlabel("step size")\nax.plot(x, y, label="рус / eng")\n'
        'ax.set_title(tr("Error", "Error"))\nprint("шаг")\n'
    )
    found = problems(bad)
    assert len(found) == 5, found  # the double label breaks two rules
    good = (
        'ax.set_xlabel(tr("шаг", "step"))\nax.plot(x, y, label="$\\\\varepsilon$")\n'
        'ax.legend([tr("ошибка {k}", "error {k}") for k in ks])\nax.set_title("JAX")\n'
        'ax.text(0, 0, f"{v:.1f}")\n'
    )
    assert problems(good) == [], problems(good)


def test_lecture_tools_numbers_and_labels() -> None:
    """The helpers the notebooks import: Russian numbers, and labels that do not collide."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from lecture_tools.fmt import localize_axes, number
    from lecture_tools.labels import place_labels

    assert number(0.45, "ru", ".2f") == "0,45" and number(0.45, "en", ".2f") == "0.45"
    assert number(2_000_000, "ru", ",d") == "2\u00a0000\u00a0000"
    assert number(-1.5, "en", ".1f") == "−1.5"
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 0.5, 1], [0, 0.25, 1])
    localize_axes(fig, "ru")
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert any("," in t for t in ticks) and not any("." in t for t in ticks), ticks
    from lecture_tools.fmt import localize_figure

    ax.set_title(r"$x_{k+1} = \sin x_k + 0.5\,x_k$, step 2.5")
    ax.text(0.1, 0.1, "v1.2 = 0.25")
    localize_figure(fig, "ru")
    assert ax.get_title() == r"$x_{k+1} = \sin x_k + 0{,}5\,x_k$, step 2,5", ax.get_title()
    assert ax.texts[-1].get_text() == "v1,2 = 0,25"
    # three points in a cluster: each label must land where it covers no other label
    X = np.array([[0.5, 0.5], [0.52, 0.5], [0.5, 0.52]])
    ax.set_xlim(0, 1), ax.set_ylim(0, 1)
    fig.canvas.draw()
    placed = place_labels(ax, X, ["Moscow", "Dolgoprudny", "Khimki"])
    boxes = [a.get_window_extent(fig.canvas.get_renderer()) for a in placed]
    assert len(placed) == 3
    assert not any(boxes[i].overlaps(boxes[j]) for i in range(3) for j in range(i)), boxes
    with pytest.raises(ValueError, match="2 texts for 3 points"):
        place_labels(ax, X, ["a", "b"])
    plt.close(fig)
