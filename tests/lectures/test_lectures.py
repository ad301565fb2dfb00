"""Lecture notebooks: both languages in step with each other and with their single source.

Their outputs are checked by nbval (``scripts/test.sh`` runs ``pytest --nbval`` on
``lectures/en`` and ``lectures/ru``); these tests check the structure.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
LECTURES = ROOT / "lectures"
sys.path.insert(0, str(LECTURES))

import build  # noqa: E402

NAMES = sorted(p.stem for p in (LECTURES / "src").glob("*.md"))


def _cells(lang: str, name: str) -> list[nbformat.NotebookNode]:
    return nbformat.read(LECTURES / lang / f"{name}.ipynb", as_version=4).cells


def test_same_notebooks_in_both_languages() -> None:
    en = sorted(p.name for p in (LECTURES / "en").glob("*.ipynb"))
    ru = sorted(p.name for p in (LECTURES / "ru").glob("*.ipynb"))
    assert en == ru, f"lecture files differ between en and ru: {sorted(set(en) ^ set(ru))}"
    assert en == [f"{n}.ipynb" for n in NAMES], (
        f"every source in lectures/src must have its notebooks and vice versa: {en} vs {NAMES}"
    )


@pytest.mark.parametrize("name", NAMES)
def test_parity(name: str) -> None:
    en, ru = _cells("en", name), _cells("ru", name)
    kinds = [c.cell_type for c in en], [c.cell_type for c in ru]
    assert kinds[0] == kinds[1], f"{name}: the cell kinds differ between en and ru"
    for i, (a, b) in enumerate(zip(en, ru, strict=True)):
        assert a.get("id") == b.get("id"), f"{name}: cell {i} has different ids (anchors)"
        if a.cell_type == "code":
            assert a.source == b.source, f"{name}: code cell {i} differs between en and ru"
        else:
            assert a.source != b.source, f"{name}: markdown cell {i} is not translated"


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_match_their_source(name: str) -> None:
    cells = build.parse(LECTURES / "src" / f"{name}.md")
    for lang in build.LANGS:
        want = build.notebook(cells, lang, name).cells
        got = _cells(lang, name)
        assert [(c.cell_type, c.source, c.metadata.get("tags")) for c in got] == [
            (c.cell_type, c.source, c.metadata.get("tags")) for c in want
        ], f"lectures/{lang}/{name}.ipynb is out of date: run python lectures/build.py {name}"


@pytest.mark.parametrize("name", NAMES)
def test_committed_executed(name: str) -> None:
    for lang in build.LANGS:
        for i, c in enumerate(_cells(lang, name)):
            if c.cell_type == "code" and c.source.strip():
                assert c.execution_count is not None, (
                    f"lectures/{lang}/{name}.ipynb cell {i} was not executed: "
                    f"run python lectures/build.py {name}"
                )
                errors = [o for o in c.outputs if o.output_type == "error"]
                tags = c.metadata.get("tags", [])
                assert not errors or "raises-exception" in tags, (
                    f"lectures/{lang}/{name}.ipynb cell {i} raised "
                    f"{errors[0].ename if errors else ''} without the raises-exception tag"
                )


def test_source_format_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.md"
    bad.write_text("<!-- ru -->\nТекст\n<!-- code -->\nx = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"x.md:1: a ru cell must be followed by its en twin"):
        build.parse(bad)


def test_build_one_language_leaves_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "99_x.md").write_text(
        "<!-- ru -->\nТекст\n<!-- en -->\nText\n<!-- code -->\nx = 1\n", encoding="utf-8"
    )
    monkeypatch.setattr(build, "SRC", tmp_path / "src")
    monkeypatch.setattr(build, "HERE", tmp_path)
    assert build.main(["99_x", "--lang", "ru", "--no-execute"]) == 0
    assert (tmp_path / "ru" / "99_x.ipynb").exists()
    assert not (tmp_path / "en").exists(), "--lang ru wrote the English notebook"
    build.main(["99_x", "--no-execute"])
    en_before = (tmp_path / "en" / "99_x.ipynb").read_bytes()
    (tmp_path / "src" / "99_x.md").write_text(
        "<!-- ru -->\nДругой текст\n<!-- en -->\nText\n<!-- code -->\nx = 1\n", encoding="utf-8"
    )
    build.main(["99_x", "--lang", "ru", "--no-execute"])
    assert (tmp_path / "en" / "99_x.ipynb").read_bytes() == en_before
    ru = nbformat.read(tmp_path / "ru" / "99_x.ipynb", as_version=4)
    assert ru.cells[0].source == "Другой текст"
    with pytest.raises(SystemExit, match="no source"):
        build.main(["98_missing", "--no-execute"])


def test_jax_pin_is_one_minor_version_and_installed() -> None:
    """The lectures' outputs are checked for the JAX range that pyproject.toml pins (README)."""
    import re
    import tomllib
    from importlib.metadata import version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    spec = next(s for s in extras["jax"] if s.startswith("jax"))
    m = re.fullmatch(r"jax>=(\d+)\.(\d+),<(\d+)\.(\d+)", spec.replace(" ", ""))
    assert m, f"pyproject.toml pins {spec!r}; expected jax>=0.X,<0.X+1"
    lo, hi = (int(m[1]), int(m[2])), (int(m[3]), int(m[4]))
    assert hi == (lo[0], lo[1] + 1), f"{spec}: the range must be one minor version"
    installed = tuple(int(x) for x in version("jax").split(".")[:2])
    assert installed == lo, f"jax {version('jax')} is installed, outside {spec}: rebuild and pin"
