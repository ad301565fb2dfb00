"""Drawing a :class:`~reference_impl.graph.Graph` with matplotlib, as in the lecture's figures.

The layout is layered, left to right: inputs in column 0, each operation one column right of its
rightmost parent, the output in the last column. Within a column the nodes are ordered by the mean
height of their parents (fewer crossing edges). Everything is deterministic.

``draw_graph(g, annotate="tangents", step=2)`` shows the figure after step 2 of forward mode
(the inputs seeded, v1 and v2 computed, v2 and its incoming edges highlighted);
``annotate="adjoints"`` walks the graph backwards instead (lecture figures 20–24).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .tracers import concrete

if TYPE_CHECKING:
    from .graph import Graph

__all__ = ["draw_graph", "format_value", "layout"]

#: binary primitives written infix in expressions and labels
_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**", "matmul": "@"}


def format_value(x: Any, digits: int = 6) -> str:
    """Scalars with ``digits`` significant digits; small arrays in full; larger ones by shape."""
    v = np.asarray(concrete(x))
    if v.ndim == 0:
        return f"{float(v):.{digits}g}"
    if v.ndim == 1 and v.size <= 4:
        return "[" + ", ".join(f"{float(e):.{digits}g}" for e in v.ravel()) + "]"
    return f"{v.dtype}{list(v.shape)}"


DX, DY, RADIUS = 2.4, 2.2, 0.38
_FILL = {"input": "#dbe9f6", "op": "#f2f2f2", "output": "#d9f0d3", "highlight": "#ffd699"}
_TEXT = {"values": "black", "tangents": "#1f5fa8", "adjoints": "#b2182b"}


def layout(graph: Graph) -> dict[int, tuple[float, float]]:
    """Node index → (x, y): column = longest path from an input; the output in the last one;
    height = the mean of the parents' heights (a column of several nodes is spread around it)."""
    column: dict[int, int] = {}
    for n in graph.nodes:
        column[n.index] = 0 if n.is_input else 1 + max(column[p] for _, p in n.parents)
    column[graph.output] = max(column.values())
    members: dict[int, list[int]] = {}
    for i in sorted(column):
        members.setdefault(column[i], []).append(i)
    y: dict[int, float] = {}
    for c in sorted(members):
        nodes, centre = members[c], 0.0
        if c > 0:  # near the parents' mean height, ordered top to bottom (then by index)

            def height(i: int) -> float:
                ps = [y[p] for _, p in graph.nodes[i].parents]
                return sum(ps) / len(ps)

            nodes = sorted(nodes, key=lambda i: (-height(i), i))
            centre = sum(height(i) for i in nodes) / len(nodes)
        for r, i in enumerate(nodes):
            y[i] = centre + ((len(nodes) - 1) / 2 - r) * DY
    return {i: (column[i] * DX, y[i]) for i in column}


def _label(name: str) -> str:
    """``v12`` → ``$v_{12}$`` (mathtext); names of another form are shown as they are."""
    m = re.fullmatch(r"([A-Za-z]+)(\d*)", name)
    if m is None:
        return name.replace("$", r"\$")
    return f"${m[1]}_{{{m[2]}}}$" if m[2] else f"${m[1]}$"


def _short(x: Any) -> str:
    """A number for a figure: 4 significant digits; an array by its shape."""
    v = np.asarray(concrete(x))
    return format_value(v, 4) if v.ndim == 0 else f"array{list(v.shape)}"


def _edges(graph: Graph) -> list[tuple[int, int, float]]:
    """(parent, child, curvature): an edge used twice (fan-out into one node, as in x * x) is
    drawn as two arcs; an edge that skips columns is bent so that it misses the nodes between."""
    pairs = [(p, n.index) for n in graph.nodes for _, p in n.parents]
    pos = layout(graph)
    out = []
    for p, c in dict.fromkeys(pairs):
        m = pairs.count((p, c))
        skips = pos[c][0] - pos[p][0] > DX + 1e-9 and abs(pos[c][1] - pos[p][1]) < 1e-9
        if m == 1:
            out.append((p, c, -0.4 if skips else 0.0))  # bent upwards
        else:
            out += [(p, c, -0.3 + 0.6 * k / (m - 1)) for k in range(m)]
    return out


def _highlighted(
    graph: Graph, highlight: Sequence[str | tuple[str, str]] | str | None
) -> tuple[set[int], set[tuple[int, int]]]:
    if highlight is None:
        return set(), set()
    items = [highlight] if isinstance(highlight, str) else list(highlight)
    nodes, edges = set(), set()
    for item in items:
        if isinstance(item, str):
            nodes.add(graph.node(item).index)
        else:
            a, b = item
            edges.add((graph.node(a).index, graph.node(b).index))
    return nodes, edges


def draw_graph(
    graph: Graph,
    ax: Any = None,
    annotate: str | None = "values",
    step: int | None = None,
    highlight: Sequence[str | tuple[str, str]] | str | None = None,
    wrt: int | str = 0,
) -> Any:
    """Draw ``graph`` on ``ax`` (a new figure if ``None``) and return the axes.

    ``annotate``: ``"values"`` (v_i), ``"tangents"`` (∂v_i/∂w_k for input ``wrt``, forward
    mode), ``"adjoints"`` (∂L/∂v_i, reverse mode) or ``None``. ``step``: show the figure after
    that step of :meth:`Graph.steps` (forward for values and tangents, reverse for adjoints):
    only the nodes reached so far are annotated, the current ones and the edges they use are
    highlighted. ``highlight``: more node names, or ``(parent, child)`` pairs, to highlight.
    Node patches have ``gid`` ``"node:<name>"``, edges ``"edge:<parent>-><child>"``.
    """
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch

    if annotate not in (None, "values", "tangents", "adjoints"):
        raise ValueError(
            f"annotate must be 'values', 'tangents', 'adjoints' or None, got {annotate!r}"
        )
    mode = "reverse" if annotate == "adjoints" else "forward"
    steps = graph.steps(mode)
    if step is not None and not 0 <= step < len(steps):
        raise ValueError(f"step={step} is out of range: this graph has steps 0…{len(steps) - 1}")
    names = graph.names
    index = {n: i for i, n in enumerate(names)}
    shown = set(names) if step is None else {n for s in steps[: step + 1] for n in s}
    current = set() if step is None else {index[n] for n in steps[step]}
    hl_nodes, hl_edges = _highlighted(graph, highlight)
    hl_nodes |= current

    pos = layout(graph)
    columns = {x for x, _ in pos.values()}
    rows = max(sum(1 for q in pos.values() if q[0] == x) for x in columns)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(max(4.0, 1.9 * len(columns) + 1.0), 1.4 * rows + 1.6))

    out_name = names[graph.output]
    w_name = names[graph._input_index(wrt)]
    if annotate == "values":
        numbers = {n.name: n.value for n in graph.nodes}
        text = {n: "" for n in names}
    elif annotate == "tangents":
        numbers = graph.forward(wrt)
        text = {n: f"∂{_label(n)}/∂{_label(w_name)}" for n in names}
    elif annotate == "adjoints":
        numbers = graph.backward()
        text = {n: f"∂{_label(out_name)}/∂{_label(n)}" for n in names}

    patches = {}
    for n in graph.nodes:
        x, y = pos[n.index]
        kind = "input" if n.is_input else "output" if n.index == graph.output else "op"
        fill = _FILL["highlight"] if n.index in hl_nodes else _FILL[kind]
        width = 2.5 if n.index in hl_nodes else 1.2
        style: dict[str, Any] = dict(
            facecolor=fill, edgecolor="black", linewidth=width, zorder=2, gid=f"node:{n.name}"
        )
        patch: Patch
        if n.is_input:
            patch = FancyBboxPatch(
                (x - RADIUS, y - RADIUS), 2 * RADIUS, 2 * RADIUS, boxstyle="round,pad=0.02", **style
            )
        else:
            patch = Circle((x, y), RADIUS, **style)
        ax.add_patch(patch)
        patches[n.index] = patch
        ax.text(x, y, _label(n.name), ha="center", va="center", fontsize=12, zorder=3)
        if not n.is_input:
            ax.text(
                x,
                y + RADIUS + 0.12,
                _INFIX.get(n.op, n.op),
                ha="center",
                va="bottom",
                fontsize=8,
                color="0.35",
                zorder=3,
            )
        if annotate is not None and n.name in shown:
            label = f"{text[n.name]}\n" if text[n.name] else ""
            ax.text(
                x,
                y - RADIUS - 0.12,
                f"{label}= {_short(numbers[n.name])}",
                ha="center",
                va="top",
                fontsize=9,
                color=_TEXT[annotate],
                zorder=3,
            )

    for p, c, rad in _edges(graph):
        on = (p, c) in hl_edges or (c in current if mode == "forward" else p in current)
        ax.add_patch(
            FancyArrowPatch(
                pos[p],
                pos[c],
                patchA=patches[p],
                patchB=patches[c],
                arrowstyle="-|>",
                mutation_scale=14,
                connectionstyle=f"arc3,rad={rad}",
                zorder=1,
                color="#d95f02" if on else "0.3",
                linewidth=2.4 if on else 1.2,
                gid=f"edge:{names[p]}->{names[c]}",
            )
        )

    xs = [q[0] for q in pos.values()]
    ys = [q[1] for q in pos.values()]
    ax.set_xlim(min(xs) - 1.1, max(xs) + 1.1)
    ax.set_ylim(min(ys) - 1.1, max(ys) + 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    title = {
        None: "computational graph",
        "values": "forward pass: values",
        "tangents": f"forward mode: ∂/∂{w_name}",
        "adjoints": f"reverse mode: adjoints ∂{out_name}/∂v",
    }[annotate]
    if step is not None:
        title += f" (step {step} of {len(steps) - 1})"
    ax.set_title(title)
    return ax
