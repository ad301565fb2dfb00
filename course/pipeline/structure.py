"""The submission's cells against the release, repaired before anything runs.

:func:`restore_structure`: deleted, duplicated or reordered locked cells, edited locked sources,
edited nbgrader metadata and tags (a ``skip-execution`` tag on a test cell would otherwise skip
it and give full marks) are put back as in the release; each repair is a :class:`Finding`.
"""

from __future__ import annotations

import copy
import re
from collections import Counter, defaultdict
from typing import Any

from .findings import Finding, _gid, _nbg, _source

__all__ = ["restore_structure"]

_KEYS = ("grade", "solution", "locked", "points", "grade_id", "task")


def restore_structure(nb: Any, release: Any) -> tuple[Any, list[Finding]]:
    """Rebuild ``nb`` on the release's skeleton; return it and what had to be repaired.

    Locked cells (statements, setup, tests) come from the release; the student's solution
    cells (by ``grade_id``; of duplicates the last one, as nbgrader keeps it, earlier copies
    stay as free code) get the release's metadata; free cells keep their place after the
    locked or solution cell they followed. Tags of locked and solution cells are dropped.
    """
    findings: list[Finding] = []

    def note(message: str, severity: str = "flag") -> None:
        findings.append(Finding("structure", severity, message))

    skeleton = {g: c for c in release.cells if (g := _gid(c))}
    solution_ids = {
        g for g, c in skeleton.items() if _nbg(c).get("solution") and not _nbg(c).get("grade")
    }
    counts = Counter(g for c in nb.cells if (g := _gid(c)) in skeleton)
    last = {g: c for c in nb.cells if (g := _gid(c)) in skeleton}
    gid: str | None
    for gid, n in sorted(counts.items()):
        if n > 1:
            last_kept = gid in solution_ids
            note(
                f"cell {gid} appears {n} times"
                + (
                    "; the last copy was graded"
                    if last_kept
                    else "; one copy from the release was kept"
                )
                + f" / ячейка {gid} встречается {n} раз(а); "
                + ("оценена последняя копия" if last_kept else "оставлена одна копия из задания")
            )
    free_after: dict[str | None, list[Any]] = defaultdict(list)
    anchor: str | None = None
    order: list[str] = []
    stray_meta = 0
    for cell in nb.cells:
        gid = _gid(cell)
        if gid in skeleton:
            if gid in solution_ids and cell is not last[gid]:
                free = copy.deepcopy(cell)
                free.metadata.pop("nbgrader", None)
                free_after[anchor].append(free)
                continue
            if gid in order:
                continue  # a second copy of a locked cell: dropped, free cells stay in place
            order.append(gid)
            anchor = gid
            continue
        free = copy.deepcopy(cell)
        if "nbgrader" in (free.get("metadata") or {}):
            free.metadata.pop("nbgrader")
            stray_meta += 1
        free_after[anchor].append(free)
    if stray_meta:
        note(
            f"nbgrader metadata on {stray_meta} cell(s) not in the assignment was removed / "
            f"метаданные nbgrader удалены из ячеек, которых нет в задании ({stray_meta})"
        )
    expected = [g for g in skeleton if g in counts]
    if order != expected:
        note(
            "locked cells were moved; the assignment's order was restored / "
            "заблокированные ячейки были переставлены; восстановлен порядок задания"
        )

    cells = list(free_after[None])
    for rel in release.cells:
        gid = _gid(rel)
        if gid is None:
            continue
        sub = last.get(gid)
        if gid in solution_ids:
            if sub is None:
                note(
                    f"the solution cell {gid} was deleted; the release's stub was put back / "
                    f"ячейка решения {gid} была удалена; возвращена заготовка из задания"
                )
                cell = copy.deepcopy(rel)
            else:
                cell = copy.deepcopy(sub)
                if cell.get("cell_type") != rel.cell_type:
                    note(
                        f"the solution cell {gid} was turned into {cell.get('cell_type')} / "
                        f"ячейка решения {gid} превращена в {cell.get('cell_type')}"
                    )
                cell = _as_type(cell, rel.cell_type)
                _restore_meta(cell, rel, gid, note)
        else:
            cell = copy.deepcopy(rel)
            if sub is None:
                note(
                    f"the locked cell {gid} was deleted; it was restored / "
                    f"заблокированная ячейка {gid} была удалена; она восстановлена"
                )
            else:
                if (
                    _source(sub).strip() != _source(rel).strip()
                    or sub.get("cell_type") != rel.cell_type
                ):
                    # a statement is never run: editing it (or an erratum after release)
                    # changes nothing; an edited setup or test cell is worth a look
                    note(
                        f"the locked cell {gid} was edited; it was restored / "
                        f"заблокированная ячейка {gid} была изменена; она восстановлена",
                        "info"
                        if rel.cell_type == "markdown" and sub.get("cell_type") == "markdown"
                        else "flag",
                    )
                _restore_meta(copy.deepcopy(sub), rel, gid, note)
        cells.append(cell)
        cells.extend(free_after.get(gid, []))
    seen: set[str] = set()
    for n, cell in enumerate(cells):
        cid = cell.get("id")
        if not isinstance(cid, str) or not re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", cid) or cid in seen:
            cell["id"] = f"free-{n}"
        seen.add(cell["id"])
    out = copy.deepcopy(release)
    out.cells = cells
    return out, findings


def _as_type(cell: Any, cell_type: str) -> Any:
    import nbformat

    if cell.get("cell_type") == cell_type:
        return cell
    make = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    new = make(_source(cell))
    new.metadata = cell.get("metadata", {})
    return new


def _restore_meta(cell: Any, rel: Any, gid: str, note: Any) -> None:
    mine, theirs = _nbg(cell), _nbg(rel)
    changed = sorted(k for k in _KEYS if mine.get(k) != theirs.get(k))
    tags = [t for t in (cell.get("metadata", {}).get("tags") or [])]
    if changed:
        note(
            f"the metadata of cell {gid} was edited ({', '.join(changed)}); restored / "
            f"метаданные ячейки {gid} были изменены ({', '.join(changed)}); восстановлены"
        )
    if tags:
        note(f"tags {tags} on cell {gid} were removed / теги {tags} ячейки {gid} удалены")
    cell.metadata = copy.deepcopy(rel.metadata)
