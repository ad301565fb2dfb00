"""A number the prose quotes from an output is asserted in the cell that prints it.

The rule (issue 20, §1), the same for every lecture and both languages:

* take every code cell with a text output (a ``stream``, or ``text/plain`` of a result that is
  not a figure) and the numbers in that output — integers and decimals, scientific notation read
  as one number; 0, 1 and 2 are ignored, and so are numbers inside memory addresses
  (``0x7f…``), figure sizes (``640x480``) and shapes such as ``(3, 4)``;
* take the numbers in the Markdown cells among the cell just before it and the two just after;
* a Russian decimal comma (``0,45``, ``2{,}2`` in LaTeX) reads as a point in both the prose and
  the outputs of ``lectures/ru``; in ``lectures/en`` a comma before three digits groups
  thousands;
* if a number (by value, sign ignored) appears in both, the code cell must hold an ``assert``
  statement — so that a regression in the engine fails the notebook instead of rewriting it —
  or carry the tag ``claims-exempt`` together with a ``# claims-exempt: reason`` comment.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
LECTURES = ROOT / "lectures"
NOTEBOOKS = sorted(
    p.relative_to(LECTURES).as_posix()
    for lang in ("en", "ru")
    for p in (LECTURES / lang).glob("*.ipynb")
)

IGNORED = {0.0, 1.0, 2.0}
NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\w])")
ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
SIZE = re.compile(r"\b\d+x\d+\b")
SHAPE = re.compile(r"\(\s*\d+\s*(?:,\s*\d+\s*)*,?\s*\)")
FIGURE = re.compile(r"<Figure size [^>]*>")
ASSERT = re.compile(r"^\s*assert\b", re.MULTILINE)
EXEMPT = re.compile(r"#\s*claims-exempt:\s*\S")
GROUP_SPACE = re.compile(r"(?<=\d)(?:\u00a0|\u202f|\u2009|\\,|\{\\,\}|\\ )(?=\d{3}(?!\d))")


def numbers(text: str, lang: str) -> set[float]:
    """The numbers in ``text`` as the rule reads them (see the module docstring)."""
    text = FIGURE.sub(" ", text)
    text = ADDRESS.sub(" ", text)
    text = SIZE.sub(" ", text)
    text = SHAPE.sub(" ", text)
    text = text.replace("{,}", ",")
    text = GROUP_SPACE.sub("", text)
    if lang == "ru":
        text = re.sub(r"(?<=\d),(?=\d)", ".", text)
    else:
        text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    found = set()
    for token in NUMBER.findall(text):
        value = float(token)
        if value not in IGNORED:
            found.add(value)
    return found


def output_text(cell: nbformat.NotebookNode) -> str:
    """The text a code cell shows: its streams and the plain text of non-figure results."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            data = out.get("data", {})
            if "text/plain" in data and not any(k.startswith("image/") for k in data):
                parts.append(data["text/plain"])
    return "\n".join(parts)


def _show(x: float) -> str:
    return str(int(x)) if x == int(x) and abs(x) < 1e15 else repr(x)


def violations(nb: nbformat.NotebookNode, lang: str, where: str) -> list[str]:
    """Every code cell whose printed numbers the nearby prose quotes, without an assert."""
    cells, found = nb.cells, []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        shown = numbers(output_text(cell), lang)
        if not shown:
            continue
        near = [
            j
            for j in (i - 1, i + 1, i + 2)
            if 0 <= j < len(cells) and cells[j].cell_type == "markdown"
        ]
        quoted = set()
        for j in near:
            quoted |= numbers(cells[j].source, lang)
        common = sorted(shown & quoted)
        if not common:
            continue
        tags = cell.metadata.get("tags", [])
        if "claims-exempt" in tags:
            if not EXEMPT.search(cell.source):
                found.append(
                    f"{where} cell {i}: tagged claims-exempt without a "
                    f"'# claims-exempt: reason' comment"
                )
            continue
        if not ASSERT.search(cell.source):
            nums = ", ".join(_show(x) for x in common)
            found.append(
                f"{where} cell {i}: prints {nums}, which the prose of cells "
                f"{near} quotes, but holds no assert (assert the claim, or tag the "
                f"cell claims-exempt with a '# claims-exempt: reason' comment)"
            )
    return found


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_quoted_numbers_are_asserted(rel: str) -> None:
    nb = nbformat.read(LECTURES / rel, as_version=4)
    found = violations(nb, rel.split("/")[0], f"lectures/{rel}")
    assert not found, "numbers the prose quotes from an output must be asserted:\n" + "\n".join(
        found
    )


def _nb(cells: list[tuple[str, str, str, list[str]]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for kind, source, output, tags in cells:
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            c = nbformat.v4.new_code_cell(source)
            if output:
                c.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
            if tags:
                c.metadata["tags"] = tags
            nb.cells.append(c)
    return nb


def test_the_rule_can_fail() -> None:
    nb = _nb(
        [
            ("md", "Count the passes.", "", []),
            ("code", "print(passes)", "passes: 10\n", []),
            ("md", "It took 10 passes.", "", []),
        ]
    )
    found = violations(nb, "en", "x.ipynb")
    assert len(found) == 1 and "x.ipynb cell 1" in found[0] and "prints 10" in found[0], found
    nb.cells[1].source = "assert passes == 10\nprint(passes)"
    assert violations(nb, "en", "x.ipynb") == []
    nb.cells[1].source = "print(passes)"
    nb.cells[1].metadata["tags"] = ["claims-exempt"]
    assert "without a '# claims-exempt: reason'" in violations(nb, "en", "x.ipynb")[0]
    nb.cells[1].source = "print(passes)  # claims-exempt: the count is the definition"
    assert violations(nb, "en", "x.ipynb") == []


def test_what_the_rule_reads() -> None:
    assert numbers("slope 0,45 and 2{,}2 and 10\u00a0000", "ru") == {0.45, 2.2, 10000.0}
    assert numbers("ratio 0.45, 2,000,000 calls; 3, 4", "en") == {0.45, 2e6, 3.0, 4.0}
    assert numbers("<Figure size 640x480 with 1 Axes> at 0x7f3a12 shape (3, 4)", "en") == set()
    assert numbers("0 1 2 2.0 float64 w_1 x1 1e-08", "en") == {1e-8}
    # the rule is the same far from the cell: prose 3 cells after it is not read
    nb = _nb(
        [
            ("code", "print(n)", "n = 7\n", []),
            ("md", "a", "", []),
            ("md", "b", "", []),
            ("md", "7 passes", "", []),
        ]
    )
    assert violations(nb, "en", "y") == []
