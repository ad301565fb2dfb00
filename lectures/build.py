"""Build the bilingual lecture notebooks from their single sources.

Each lecture has ONE source, ``lectures/src/NN_name.md``, holding both languages::

    <!-- ru -->
    Русский текст ячейки (Markdown, формулы в LaTeX)…
    <!-- en -->
    The same cell in English…
    <!-- code -->
    x = 1.0                      # code cells are shared: byte-identical in both notebooks
    <!-- code tags=nbval-ignore-output -->
    ...

A ``ru`` cell must be followed by its ``en`` twin, so both notebooks have the same cells in the
same order and the same code. ``python lectures/build.py [NAMES…]`` writes
``lectures/ru/NN_name.ipynb`` and ``lectures/en/NN_name.ipynb`` and executes each of them, with
the settings CI's nbval run uses; ``--lang ru`` (or ``en``) rebuilds that language only and leaves
the other notebook untouched, so a change to the Russian prose rewrites two files, not three.
Notebooks run with their own folder (``lectures/ru`` or
``lectures/en``) as the working directory, as under nbval and in JupyterLab, so data files are read
as ``../data/NAME`` and a notebook learns its language from that folder's name
(``LANG = Path.cwd().name``): figures are labelled in the reader's language while the code cells
stay byte-identical. ``--no-execute`` only regenerates the cells
(``tests/lectures/test_lectures.py`` checks that the committed notebooks match their sources).
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SRC, LANGS = HERE / "src", ("ru", "en")
MARKER = re.compile(r"^<!-- (ru|en|code)(?: tags=([\w,-]+))? -->\s*$")
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}

# What the notebooks see when executed: the same as tests/lectures/test_lectures.py (nbval) and CI.
EXEC_ENV = {
    "JAX_PLATFORMS": "cpu",
    "JAX_ENABLE_X64": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
}


def parse(path: Path) -> list[dict]:
    """Split a source into cells: ``{"kind": "ru"|"en"|"code", "text": str, "tags": [...]}``."""
    cells: list[dict] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = MARKER.match(line)
        if m:
            cells.append(
                {"kind": m[1], "tags": m[2].split(",") if m[2] else [], "lines": [], "line": lineno}
            )
        elif cells:
            cells[-1]["lines"].append(line)
        elif line.strip():
            raise ValueError(f"{path.name}:{lineno}: text before the first cell marker")
    for c in cells:
        c["text"] = "\n".join(c.pop("lines")).strip("\n")
    for i, c in enumerate(cells):
        if c["kind"] == "ru" and (i + 1 >= len(cells) or cells[i + 1]["kind"] != "en"):
            raise ValueError(f"{path.name}:{c['line']}: a ru cell must be followed by its en twin")
        if c["kind"] == "en" and (i == 0 or cells[i - 1]["kind"] != "ru"):
            raise ValueError(f"{path.name}:{c['line']}: an en cell must follow its ru twin")
        if not c["text"]:
            raise ValueError(f"{path.name}:{c['line']}: empty {c['kind']} cell")
    return cells


def notebook(cells: list[dict], lang: str, name: str) -> nbformat.NotebookNode:
    """The notebook of one language: its Markdown cells and the shared code cells."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    k = 0
    for c in cells:
        if c["kind"] == "code":
            cell = nbformat.v4.new_code_cell(c["text"])
            if c["tags"]:
                cell.metadata["tags"] = c["tags"]
        elif c["kind"] == lang:
            cell = nbformat.v4.new_markdown_cell(c["text"])
        else:
            continue
        cell["id"] = f"{name[:2]}-{k:03d}"  # stable ids, shared by both languages
        k += 1
        nb.cells.append(cell)
    return nb


def execute(nb: nbformat.NotebookNode, lang: str, timeout: int = 600) -> nbformat.NotebookNode:
    """Run ``nb`` in ``lectures/<lang>``, the folder it is committed in."""
    from nbclient import NotebookClient

    os.environ.update(EXEC_ENV)
    nb = copy.deepcopy(nb)
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(HERE / lang)}},
    ).execute()
    for cell in nb.cells:  # execution counts and timings are noise in diffs
        cell.metadata.pop("execution", None)
    return nb


def build(name: str, run: bool = True, langs: tuple[str, ...] = LANGS) -> float:
    """Write (and, with ``run``, execute) the notebooks of ``name`` in ``langs`` only.

    Returns the seconds spent executing.
    """
    path = SRC / f"{name}.md"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in SRC.glob("*.md")))
        raise SystemExit(f"build.py: no source {path.relative_to(HERE.parent)} (known: {known})")
    cells = parse(path)
    nbs = {lang: notebook(cells, lang, name) for lang in langs}
    seconds = 0.0
    if run:  # each language on its own: its figures carry its own labels
        t0 = time.perf_counter()
        nbs = {lang: execute(nb, lang) for lang, nb in nbs.items()}
        seconds = time.perf_counter() - t0
    for lang in langs:
        (HERE / lang).mkdir(exist_ok=True)
        nbformat.write(nbs[lang], HERE / lang / f"{name}.ipynb")
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="lecture names (default: all in lectures/src)")
    ap.add_argument("--no-execute", action="store_true", help="regenerate cells only")
    ap.add_argument(
        "--lang",
        choices=LANGS,
        action="append",
        help="rebuild this language only (repeatable; default: both)",
    )
    args = ap.parse_args(argv)
    names = args.names or sorted(p.stem for p in SRC.glob("*.md"))
    langs = tuple(args.lang) if args.lang else LANGS
    for name in names:
        secs = build(name, run=not args.no_execute, langs=langs)
        print(
            f"{name} ({', '.join(langs)}): built"
            + ("" if args.no_execute else f", executed in {secs:.1f} s")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
