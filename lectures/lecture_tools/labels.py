"""Labels beside scattered points that cover neither each other nor the points.

Lecture 01 writes the names of 22 cities on two maps; matplotlib's ``annotate`` puts every
label at the same offset, and near Moscow the names pile up. :func:`place_labels` tries six spots
around each point and keeps the first that clashes with nothing (a greedy, deterministic search):

    fig.canvas.draw()  # fix the layout first: labels are placed in screen coordinates
    place_labels(ax, X, names)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

__all__ = ["SPOTS", "place_labels"]

#: Where a label may go: offset (points) from its point and the text alignment there.
SPOTS = [
    (4, 2, "left", "bottom"),
    (4, -2, "left", "top"),
    (-4, 2, "right", "bottom"),
    (-4, -2, "right", "top"),
    (0, 5, "center", "bottom"),
    (0, -5, "center", "top"),
]

_OUTSIDE = 100  # a label leaving the axes costs more than any number of overlaps


def place_labels(
    ax: Axes, X: np.ndarray, texts: Sequence[str], fontsize: float = 7, marker_radius: float = 4
) -> list[Annotation]:
    """Write ``texts[i]`` beside the point ``X[i]`` of ``ax``; an empty text is skipped.

    Each label takes the first of :data:`SPOTS` whose box overlaps no label placed before,
    covers no other point (a point is a square of ``marker_radius`` points around it) and stays
    inside the axes; if every spot clashes, the one with the fewest clashes. Returns the
    annotations. Call it after the figure's layout is fixed (``fig.canvas.draw()``).
    """
    X = np.asarray(X, dtype=float)
    if len(texts) != len(X):
        raise ValueError(f"place_labels: {len(texts)} texts for {len(X)} points")
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg's canvas
    pts, frame = ax.transData.transform(X), ax.get_window_extent(renderer)
    r = marker_radius * ax.figure.dpi / 72  # in pixels
    taken: list[Bbox] = []
    placed: list[Annotation] = []
    for i, (text, xy) in enumerate(zip(texts, X, strict=True)):
        if not text:
            continue
        best: tuple[float, Annotation, Bbox] | None = None
        for dx, dy, ha, va in SPOTS:
            ann = ax.annotate(
                text,
                xy,
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=fontsize,
            )
            box = ann.get_window_extent(renderer)
            near = (
                (pts[:, 0] > box.x0 - r)
                & (pts[:, 0] < box.x1 + r)
                & (pts[:, 1] > box.y0 - r)
                & (pts[:, 1] < box.y1 + r)
            )
            outside = (
                box.x0 < frame.x0 or box.x1 > frame.x1 or box.y0 < frame.y0 or box.y1 > frame.y1
            )
            clash = (
                sum(box.overlaps(b) for b in taken)
                + int(near.sum())
                - int(near[i])
                + _OUTSIDE * outside
            )
            if best is None or clash < best[0]:
                if best is not None:
                    best[1].remove()
                best = (clash, ann, box)
            else:
                ann.remove()
            if clash == 0:
                break
        assert best is not None  # SPOTS is not empty
        taken.append(best[2])
        placed.append(best[1])
    return placed
