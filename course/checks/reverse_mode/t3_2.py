"""Checks of task 3.2: topological order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._core import (
    CheckFailure,
    fail,
    rng,
    student_call,
    task_check,
    uniform,
)
from ._common import (
    T2,
    _Raw,
)
from ._tape import _parents_of, graph_state, graph_unchanged, nodes_of


# ---------------------------------------------------------------------------------------------
# task 3.2: topological order
# ---------------------------------------------------------------------------------------------
class _Budget:
    def __init__(self, limit: int, describe: str):
        self.limit, self.reads, self.describe = limit, 0, describe


class GraphNode:
    """A node of the test graphs of task 3.2. Reading ``.parents`` is counted: a traversal
    without a set of visited nodes re-expands shared nodes (exponentially on diamonds)."""

    def __init__(self, name: str, parents: Sequence[tuple[GraphNode, float]], budget: _Budget):
        self.name = name
        self.value = 0.0
        self.adj = 0.0
        self._parents = tuple(parents)
        self._budget = budget

    @property
    def parents(self) -> tuple[tuple[GraphNode, float], ...]:
        b = self._budget
        b.reads += 1
        if b.reads > b.limit:
            try:
                fail(
                    T2,
                    f"topological_order read .parents more than {b.limit} times on "
                    f"{b.describe}"
                    f" / topological_order прочитала .parents более {b.limit} раз на "
                    f"{b.describe}",
                    show_values=False,
                    diagnosis="nodes shared by several children (fan-out, diamonds) are "
                    "expanded again and again: on a chain of k diamonds that is 2^k "
                    "times / общие вершины раскрываются снова и снова",
                    hint="keep a set of visited nodes and expand every node once / храните "
                    "множество посещённых вершин",
                )
            except CheckFailure as exc:  # raised from a property: no frames of the check
                raise CheckFailure(str(exc)) from None
        return self._parents

    def __repr__(self) -> str:
        return f"Node({self.name!r})"


# a graph: [(name, [parent names])] in creation order; the output is the last node
Spec = list[tuple[str, list[str]]]


def _build_graph(
    spec: Spec, describe: str, seed: object
) -> tuple[dict[str, GraphNode], GraphNode, _Budget]:
    g = rng(T2, seed)
    budget = _Budget(4 * len(spec) + 10, describe)
    nodes: dict[str, GraphNode] = {}
    for name, parents in spec:
        nodes[name] = GraphNode(name, [(nodes[p], uniform(g)) for p in parents], budget)
    return nodes, nodes[spec[-1][0]], budget


def _describe(spec: Spec) -> str:
    if len(spec) > 12:
        return f"a graph of {len(spec)} nodes, output {spec[-1][0]!r}"
    edges = "; ".join(f"{n} ← {', '.join(ps)}" if ps else f"{n}: input" for n, ps in spec)
    return f"graph (node ← parents): {edges}; output {spec[-1][0]}"


def _names(nodes: Sequence[Any]) -> list[str]:
    return [getattr(n, "name", repr(n)) for n in nodes]


def _order_case(
    topological_order: Callable,
    label: str,
    spec: Spec,
    seed: object,
    kept: list[tuple[str, Any, list[int]]] | None = None,
) -> None:
    """One graph, two calls; with ``kept``, the lists returned for earlier graphs must not
    have changed (and this one's is kept)."""
    describe = _describe(spec)
    nodes, out, _budget = _build_graph(spec, f"{label} ({len(spec)} nodes)", (label, seed))
    inputs = {"graph": _Raw(f"{label}: {describe}")}
    saved = graph_state(out)
    got = student_call(T2, "topological_order(output)", topological_order, out, inputs=inputs)
    graph_unchanged(T2, "topological_order", saved, inputs)
    expected = nodes_of(out)
    shown = _names(expected)
    if not isinstance(got, (list, tuple)):
        fail(
            T2,
            f"topological_order returned {type(got).__name__}, not a list of nodes"
            f" / topological_order вернула {type(got).__name__}, а не список вершин",
            inputs=inputs,
            expected=shown,
            obtained=got,
        )
    returned, got = got, list(got)
    members = {id(n) for n in nodes.values()}
    strangers = [n for n in got if id(n) not in members]
    if strangers:
        fail(
            T2,
            "the order contains objects that are not nodes of the graph"
            " / в порядке есть объекты, не являющиеся вершинами графа",
            inputs=inputs,
            expected=shown,
            obtained=strangers[:5],
            hint="return the node objects themselves / возвращайте сами объекты вершин",
        )
    counts: dict[int, int] = {}
    for n in got:
        counts[id(n)] = counts.get(id(n), 0) + 1
    dup = [n.name for n in got if counts[id(n)] > 1]
    if dup:
        fail(
            T2,
            f"node {dup[0]!r} appears {counts[id(nodes[dup[0]])]} times in the order"
            f" / вершина {dup[0]!r} встречается в порядке {counts[id(nodes[dup[0]])]} раз",
            inputs=inputs,
            expected=shown,
            obtained=_names(got),
            hint="every node once: a node used by several children (fan-out) is added only "
            "the first time it is reached; keep a set of visited nodes"
            " / каждая вершина ровно один раз: вершина с несколькими потомками добавляется "
            "при первом посещении; храните множество посещённых вершин",
        )
    reach = {id(n) for n in expected}
    missing = [n.name for n in expected if id(n) not in counts]
    if missing:
        fail(
            T2,
            f"nodes missing from the order: {missing[:8]}"
            f" / в порядке не хватает вершин: {missing[:8]}",
            inputs=inputs,
            expected=shown,
            obtained=_names(got),
            hint="visit every parent of every node (all pairs in "
            ".parents), recursively, down to the inputs"
            " / обходите всех родителей каждой вершины (все пары в .parents) рекурсивно, до "
            "входов",
        )
    extra = [n.name for n in got if id(n) not in reach]
    if extra:
        fail(
            T2,
            f"nodes not reachable from the output are in the order: {extra[:8]}"
            f" / в порядке есть вершины, недостижимые из выхода: {extra[:8]}",
            inputs=inputs,
            expected=shown,
            obtained=_names(got),
            hint="start from the output and follow .parents only"
            " / начинайте с выхода и идите только по .parents",
        )
    pos = {id(n): i for i, n in enumerate(got)}
    for n in got:
        for p in _parents_of(n):
            if pos[id(p)] > pos[id(n)]:
                fail(
                    T2,
                    f"node {n.name!r} comes before its parent {p.name!r}"
                    f" / вершина {n.name!r} стоит раньше своего родителя {p.name!r}",
                    inputs=inputs,
                    expected=shown,
                    obtained=_names(got),
                    hint="append a node only after all its parents (post-order of a "
                    "depth-first search): parents first, the output last"
                    " / добавляйте вершину только после всех её родителей (обратный порядок"
                    " обхода в глубину): сначала родители, выход последним",
                )
    ids = [id(n) for n in returned]  # the list returned, and its nodes then
    again = student_call(
        T2,
        "topological_order(output), a second call on the same graph",
        topological_order,
        out,
        inputs=inputs,
    )
    graph_unchanged(T2, "topological_order (a second call)", saved, inputs)
    again = list(again) if isinstance(again, (list, tuple)) else []
    if sorted(map(id, again)) != sorted(map(id, got)):
        fail(
            T2,
            f"a second call on the same graph returned {len(again)} nodes, the first "
            f"{len(got)}: state is kept between calls (a visited set that outlives the "
            f"call?) / второй вызов на том же графе вернул {len(again)} вершин, первый — "
            f"{len(got)}: состояние сохраняется между вызовами (множество посещённых "
            "вершин живёт дольше вызова?)",
            inputs=inputs,
            expected=shown,
            obtained=_names(again),
            hint="create the visited set and the order inside the function, on every call"
            " / создавайте множество посещённых и порядок внутри функции при каждом "
            "вызове",
        )
    earlier = [*(kept or []), (label, returned, ids)]
    for which, lst, ids in earlier:
        if [id(n) for n in lst] != ids:
            fail(
                T2,
                f"result changed by a later call: the list topological_order returned for "
                f"{which} changed when it was called again; it shares memory with state kept "
                "between calls / результат изменён более поздним вызовом: список, который "
                "вернула topological_order, изменился при следующем вызове",
                inputs={"graph": _Raw(which), "later call / потом": _Raw(f"on {label}")},
                expected=f"{len(ids)} nodes, as returned",
                obtained=_names(lst),
                hint="build a new list on every call / создавайте новый список при каждом вызове",
            )
    if kept is not None:
        kept.append((label, returned, ids))


_LECTURE_GRAPH: Spec = [
    ("w1", []),
    ("w2", []),
    ("v1", ["w1"]),
    ("v2", ["w2", "v1"]),
    ("v3", ["v2"]),
    ("L", ["v2", "v3"]),
]
_VISIBLE_GRAPHS: list[tuple[str, Spec]] = [
    ("the lecture's L(w1, w2)", _LECTURE_GRAPH),
    ("a diamond", [("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"])]),
]


@task_check(T2)
def t3_2(topological_order: Callable) -> None:
    """The lecture's graph and a diamond."""
    kept: list[tuple[str, Any, list[int]]] = []
    for label, spec in _VISIBLE_GRAPHS:
        _order_case(topological_order, label, spec, "visible", kept)
