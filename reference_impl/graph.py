"""The computational graph of a call, for teaching: evaluation trace, tangents, adjoints, figures.

``trace_graph(f, w1, w2)`` runs ``f`` once under a small tracing interpreter that records every
primitive the engine executes, giving the lecture's *evaluation trace*::

    L(w1, w2) = w2·log w1 + √(w2·log w1)          w1 = 2, w2 = 3
    v1 = log(w1)  = 0.693147
    v2 = w2 * v1  = 2.07944
    v3 = sqrt(v2) = 1.44203
    L  = v2 + v3  = 3.52147

Along this graph the two modes of AD are plain loops over the nodes, using the primitives' own
rules from :mod:`reference_impl.core` (no separate table of derivatives):

* forward mode, for one input w_k:  v̇_i = ∂v_i/∂w_k = Σ_j ∂v_i/∂x_j · ẋ_j  (parents x_j, first to
  last node);
* reverse mode: v̄_N = ∂L/∂L = 1, and for every parent x_j of v_i, from last node to first,
  x̄_j += v̄_i · ∂v_i/∂x_j (a value used twice receives the sum of both contributions).

``Graph.draw`` (in :mod:`reference_impl.graph_draw`) draws the graph annotated with values,
tangents or adjoints, step by step, as in the lecture's figures 6–25.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .api_util import as_float_leaf, fun_name
from .core import _fit_cotangent, _fit_tangent
from .graph_draw import _INFIX, draw_graph, format_value
from .primitives import Primitive, bind
from .tracers import Trace, Tracer, concrete, shape_of
from .tree_util import tree_flatten, tree_unflatten

__all__ = ["Graph", "GraphTrace", "GraphTracer", "Node", "trace_graph"]


@dataclass(eq=False)
class Node:
    """One vertex of the graph: an input (``prim is None``) or one executed primitive call.

    ``parents`` holds ``(argument position, parent node index)`` pairs for the arguments that are
    themselves nodes; ``args`` holds the values of all arguments (constants included).
    """

    index: int
    name: str
    op: str
    value: Any
    prim: Primitive | None = None
    args: list[Any] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    parents: list[tuple[int, int]] = field(default_factory=list)

    @property
    def is_input(self) -> bool:
        return self.prim is None


class GraphTracer(Tracer):
    """A value that knows which graph node produced it."""

    __slots__ = ("node",)

    def __init__(self, trace: GraphTrace, val: Any, node: int):
        self._trace = trace
        self.val = val
        self.node = node


class GraphTrace(Trace):
    """Records each primitive call as a :class:`Node`, then evaluates it as usual."""

    __slots__ = ("nodes",)

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[Node] = []

    def new_input(self, name: str, val: Any) -> GraphTracer:
        self.nodes.append(Node(len(self.nodes), name, "input", val))
        return GraphTracer(self, val, len(self.nodes) - 1)

    def process(self, prim: Primitive, args: Sequence[Any], params: dict[str, Any]) -> Any:
        if prim.multiple_results:
            raise NotImplementedError(
                f"trace_graph: the primitive {prim.name} has several results (custom_jvp / "
                "custom_vjp functions); the graph view handles single-result primitives only"
            )
        vals, parents = [], []
        for i, a in enumerate(args):
            if isinstance(a, GraphTracer) and a._trace is self:
                vals.append(a.val)
                parents.append((i, a.node))
            else:
                vals.append(a)
        ans = bind(prim, vals, params)
        self.nodes.append(
            Node(len(self.nodes), "", prim.name, ans, prim, vals, dict(params), parents)
        )
        return GraphTracer(self, ans, len(self.nodes) - 1)


def trace_graph(
    f: Callable[..., Any],
    *args: Any,
    input_names: Sequence[str] | None = None,
    output_name: str | None = "L",
) -> Graph:
    """Run ``f(*args)`` once and return its computational graph of primitive operations.

    Inputs are named ``w1, w2, …`` (or ``input_names``), operations ``v1, v2, …`` in the order they
    run, and the output ``output_name`` (``None`` keeps its ``v`` number). Arguments are float
    scalars, arrays or pytrees of them (one input node per leaf, in ``tree_flatten`` order);
    ``f`` must use :mod:`reference_impl.numpy` and return one array.
    """
    name = f"trace_graph({fun_name(f)})"
    leaves, tree = tree_flatten(args)
    names = (
        list(input_names) if input_names is not None else [f"w{k + 1}" for k in range(len(leaves))]
    )
    if len(names) != len(leaves):
        raise ValueError(f"{name}: {len(leaves)} input array(s) but {len(names)} input name(s)")
    trace = GraphTrace()
    boxed = [
        trace.new_input(n, as_float_leaf(a, name, f"input {k} ({n})"))
        for k, (n, a) in enumerate(zip(names, leaves, strict=True))
    ]
    out = f(*tree_unflatten(tree, boxed))
    if not (isinstance(out, GraphTracer) and out._trace is trace):
        raise ValueError(
            f"{name}: the function must return one array computed from its inputs "
            f"with reference_impl.numpy; it returned {type(out).__name__}"
        )
    if trace.nodes[out.node].is_input:
        raise ValueError(
            f"{name}: the function returned its input {names[out.node]} unchanged; "
            "there is no operation to show"
        )
    k = 0
    for node in trace.nodes[len(leaves) :]:
        if node.index == out.node and output_name is not None:
            node.name = output_name
        else:
            k += 1
            node.name = f"v{k}"
    all_names = [n.name for n in trace.nodes]
    if len(set(all_names)) != len(all_names):
        raise ValueError(
            f"{name}: node names must be distinct, got {all_names}; choose other "
            "input_names / output_name"
        )
    return Graph(trace.nodes, out.node, fun_name(f))


class Graph:
    """A traced computational graph: ``nodes`` in execution order (a topological order)."""

    def __init__(self, nodes: list[Node], output: int, name: str = "f"):
        self.nodes = nodes
        self.output = output
        self.name = name
        self.inputs = [n.index for n in nodes if n.is_input]

    # --- structure ----------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]

    @property
    def num_operations(self) -> int:
        """N: the number of primitive operations (nodes that are not inputs)."""
        return len(self.nodes) - len(self.inputs)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no node named {name!r}; the nodes are {self.names}")

    def children(self, index: int) -> list[int]:
        """Indices of the nodes that use node ``index`` (once per use)."""
        return [n.index for n in self.nodes for _, p in n.parents if p == index]

    def expression(self, node: Node) -> str:
        """``log(w1)``, ``w2 * v1``, ``sum(v3, axes=(0,), keepdims=False)``; inputs: ``input``."""
        if node.is_input:
            return "input"
        by_pos = {pos: self.nodes[p].name for pos, p in node.parents}
        parts = [by_pos.get(i, _const(a)) for i, a in enumerate(node.args)]
        if node.op in _INFIX and len(parts) == 2 and not node.params:
            return f"{parts[0]} {_INFIX[node.op]} {parts[1]}"
        parts += [f"{k}={v!r}" for k, v in node.params.items()]
        return f"{node.op}({', '.join(parts)})"

    def steps(self, mode: str = "forward") -> list[list[str]]:
        """Node names revealed at each step of a figure sequence (lecture figures 7–11, 20–24).

        Forward: step 0 seeds the inputs, step i computes operation i. Reverse: step 0 seeds
        ∂L/∂L = 1, then the operations from last to first, and the inputs last.
        """
        ops = [n.name for n in self.nodes if not n.is_input]
        ins = [self.nodes[i].name for i in self.inputs]
        if mode == "forward":
            return [ins] + [[o] for o in ops]
        if mode == "reverse":
            out = self.nodes[self.output].name
            return [[out]] + [[o] for o in reversed(ops) if o != out] + [ins]
        raise ValueError(f"mode must be 'forward' or 'reverse', got {mode!r}")

    # --- the two modes along the graph --------------------------------------------------------
    def forward(self, wrt: int | str = 0, direction: Any = None) -> dict[str, Any]:
        """Forward mode for input ``wrt``: every tangent v̇_i = ∂v_i/∂w_k, by node name.

        The input's tangent is ``direction`` (default: ones, i.e. ∂w_k/∂w_k = 1), the other
        inputs' tangents are 0; then, node by node, v̇_i = Σ_j JVP rule_j(ẋ_j).
        """
        k = self._input_index(wrt)
        dots: list[Any] = []
        for node in self.nodes:
            if node.is_input:
                seed = np.ones_like(node.value) if direction is None else np.asarray(direction)
                if node.index == k and np.shape(seed) != np.shape(node.value):
                    raise ValueError(
                        f"direction has shape {np.shape(seed)} but input "
                        f"{node.name} has shape {np.shape(node.value)}"
                    )
                dots.append(seed if node.index == k else np.zeros_like(node.value))
            else:
                dots.append(_fit_tangent(self._jvp(node, dots), shape_of(node.value)))
        return dict(zip(self.names, dots, strict=True))

    def _jvp(self, node: Node, dots: list[Any]) -> Any:
        prim = node.prim
        assert prim is not None
        if prim.jvp_full is not None:
            arg_dots: list[Any] = [None] * len(node.args)
            for pos, p in node.parents:
                arg_dots[pos] = dots[p]
            return prim.jvp_full(arg_dots, node.value, *node.args, **node.params)
        total = None
        for pos, p in node.parents:
            rule = prim.jvps.get(pos)
            if rule is None:
                raise NotImplementedError(
                    f"JVP of {prim.name} with respect to argument {pos} not defined"
                )
            term = rule(dots[p], node.value, *node.args, **node.params)
            total = term if total is None else total + term
        return total

    def backward(self, cotangent: Any = None) -> dict[str, Any]:
        """Reverse mode: every adjoint v̄_i = ∂L/∂v_i, by node name.

        v̄_N = ``cotangent`` (default 1 for a scalar output); then from the last node to the
        first, each parent gets x̄_j += v̄_i · ∂v_i/∂x_j (the VJP rules). Nodes that do not
        influence the output get 0.
        """
        out = self.nodes[self.output]
        if cotangent is None:
            if np.shape(out.value) != ():
                raise ValueError(
                    f"the output {out.name} has shape {np.shape(out.value)}: pass "
                    "a cotangent of that shape (the default 1 is for scalars)"
                )
            cotangent = np.ones((), np.result_type(out.value))
        if np.shape(cotangent) != np.shape(out.value):
            raise ValueError(
                f"cotangent has shape {np.shape(cotangent)} but the output "
                f"{out.name} has shape {np.shape(out.value)}"
            )
        adj: list[Any] = [None] * len(self.nodes)
        adj[self.output] = cotangent
        for node in reversed(self.nodes):
            ct = adj[node.index]
            if ct is None or node.is_input:
                continue
            for pos, p, g in self._vjp(node, ct):
                g = _fit_cotangent(g, shape_of(node.args[pos]), node.args[pos])
                adj[p] = g if adj[p] is None else adj[p] + g  # fan-out: v̄_p += contribution
        adj = [
            np.zeros_like(n.value) if a is None else a for a, n in zip(adj, self.nodes, strict=True)
        ]
        return dict(zip(self.names, adj, strict=True))

    def _vjp(self, node: Node, ct: Any) -> list[tuple[int, int, Any]]:
        prim = node.prim
        assert prim is not None
        if prim.vjp_full is not None:
            grads = prim.vjp_full(ct, node.value, *node.args, **node.params)
            return [(pos, p, grads[pos]) for pos, p in node.parents]
        out = []
        for pos, p in node.parents:
            rule = prim.vjps.get(pos)
            if rule is None:
                raise NotImplementedError(
                    f"VJP of {prim.name} with respect to argument {pos} not defined"
                )
            out.append((pos, p, rule(ct, node.value, *node.args, **node.params)))
        return out

    def gradient(self) -> list[Any]:
        """∇L: the adjoints of the inputs, in input order."""
        adj = self.backward()
        return [adj[self.nodes[i].name] for i in self.inputs]

    def _input_index(self, wrt: int | str) -> int:
        ins = [self.nodes[i].name for i in self.inputs]
        if isinstance(wrt, str):
            if wrt not in ins:
                raise ValueError(f"wrt={wrt!r} is not an input; the inputs are {ins}")
            return self.inputs[ins.index(wrt)]
        if not -len(ins) <= wrt < len(ins):
            raise ValueError(f"wrt={wrt} is out of range for {len(ins)} input(s) {ins}")
        return self.inputs[wrt]

    # --- tables -------------------------------------------------------------------------------
    def to_rows(
        self, wrt: int | str | Sequence[int | str] | None = None, adjoints: bool = False
    ) -> list[dict[str, Any]]:
        """The evaluation trace as dicts (``name, op, parents, expression, value``), plus
        ``tangent_<w>`` (∂v_i/∂w for each input in ``wrt``) and ``adjoint`` (∂L/∂v_i)."""
        tangents = {self.nodes[self._input_index(w)].name: self.forward(w) for w in _as_list(wrt)}
        adj = self.backward() if adjoints else None
        rows = []
        for n in self.nodes:
            row = {
                "name": n.name,
                "op": n.op,
                "parents": [self.nodes[p].name for _, p in n.parents],
                "expression": self.expression(n),
                "value": concrete(n.value),
            }
            for w, dots in tangents.items():
                row[f"tangent_{w}"] = concrete(dots[n.name])
            if adj is not None:
                row["adjoint"] = concrete(adj[n.name])
            rows.append(row)
        return rows

    def table(
        self, wrt: int | str | Sequence[int | str] | None = None, adjoints: bool = False
    ) -> str:
        """The evaluation trace ``v_i = expression = value`` as text, one line per node, with
        columns ∂v_i/∂w for the inputs ``wrt`` and ∂L/∂v_i if ``adjoints``."""
        rows = self.to_rows(wrt, adjoints)
        keys = [k for k in rows[0] if k.startswith("tangent_")] + (["adjoint"] if adjoints else [])
        out = self.nodes[self.output].name
        header = ["node", "expression", "value"] + [
            f"∂{out}/∂v" if k == "adjoint" else f"∂v/∂{k[len('tangent_') :]}" for k in keys
        ]
        lines = [
            [r["name"], "" if r["op"] == "input" else r["expression"], format_value(r["value"])]
            + [format_value(r[k]) for k in keys]
            for r in rows
        ]
        widths = [max(len(x) for x in col) for col in zip(header, *lines, strict=True)]
        fmt = [
            " | ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip()
            for row in [header, *lines]
        ]
        return "\n".join([fmt[0], "-" * len(fmt[0]), *fmt[1:]])

    def __repr__(self) -> str:
        ins = ", ".join(self.nodes[i].name for i in self.inputs)
        return (
            f"<Graph of {self.name}({ins}): {self.num_operations} operations, output "
            f"{self.nodes[self.output].name}>\n{self.table()}"
        )

    def draw(
        self,
        ax: Any = None,
        annotate: str | None = "values",
        step: int | None = None,
        highlight: Sequence[str | tuple[str, str]] | str | None = None,
        wrt: int | str = 0,
    ) -> Any:
        """Draw the graph with matplotlib; see :func:`reference_impl.graph_draw.draw_graph`."""
        return draw_graph(self, ax=ax, annotate=annotate, step=step, highlight=highlight, wrt=wrt)


def _const(a: Any) -> str:
    v = np.asarray(concrete(a))
    return f"{v.item():g}" if v.ndim == 0 and v.dtype.kind in "fiub" else format_value(v, 4)


def _as_list(wrt: int | str | Sequence[int | str] | None) -> list[int | str]:
    if wrt is None:
        return []
    return [wrt] if isinstance(wrt, (int, str)) else list(wrt)
