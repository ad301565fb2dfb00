"""The graph view (``reference_impl.graph``): tracing, the two modes along the graph, tables and
drawings, on array functions, fan-out, broadcasting and the error cases."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import FancyArrowPatch

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.demo import lecture_loss, mlp_loss, mlp_problem
from reference_impl.graph import trace_graph
from reference_impl.graph_draw import _FILL, layout

TOL = 1e-12


def assert_close(a: object, b: object, what: str, tol: float = TOL) -> None:
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape, f"{what}: shape {a.shape}, expected {b.shape}"
    err = float(np.max(np.abs(a - b), initial=0.0))
    assert err <= tol * max(1.0, float(np.max(np.abs(b), initial=0.0))), (
        f"{what}: max error {err:.2e}\ngot {a}\nexpected {b}"
    )


def mlp_layer(x, W):
    return rnp.sum(rnp.tanh(W @ x) * x)


@pytest.fixture
def arrays(rng):
    return rng.standard_normal(3), rng.standard_normal((3, 3))


@pytest.fixture
def figure():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


# --- tracing and the two modes on arrays ------------------------------------------------------
def test_array_graph_structure(arrays) -> None:
    g = trace_graph(mlp_layer, *arrays, input_names=["x", "W"])
    assert g.names == ["x", "W", "v1", "v2", "v3", "L"], f"names: {g.names}"
    assert [g.expression(n) for n in g.nodes[2:4]] == ["W @ x", "tanh(v1)"], g.table()
    assert np.shape(g.node("v3").value) == (3,), "v3 = tanh(W x) · x is a vector"
    assert_close(g.node("L").value, np.sum(np.tanh(arrays[1] @ arrays[0]) * arrays[0]), "L")


def test_array_graph_gradient_matches_grad_and_jax(arrays, jax_x64) -> None:
    x, W = arrays
    g = trace_graph(mlp_layer, x, W)
    ours = ri.grad(mlp_layer, argnums=(0, 1))(x, W)
    jnp = jax_x64.numpy
    theirs = jax_x64.grad(lambda x, W: jnp.sum(jnp.tanh(W @ x) * x), argnums=(0, 1))(x, W)
    for k, (gk, a, b) in enumerate(zip(g.gradient(), ours, theirs, strict=True)):
        assert_close(gk, a, f"graph vs reference_impl.grad, input {k}")
        assert_close(gk, np.asarray(b), f"graph vs jax.grad, input {k}")
    adj = g.backward()
    for n in g.nodes:
        assert np.shape(adj[n.name]) == np.shape(n.value), f"adjoint of {n.name}: wrong shape"


def test_array_forward_mode_is_a_directional_derivative(arrays, rng) -> None:
    x, W = arrays
    dW = rng.standard_normal(W.shape)
    g = trace_graph(mlp_layer, x, W)
    tangents = g.forward("w2", direction=dW)
    _, expected = ri.jvp(mlp_layer, (x, W), (np.zeros_like(x), dW))
    assert_close(tangents["L"], expected, "∂L along dW: graph vs jvp")
    assert_close(tangents["w1"], np.zeros(3), "the other input's tangent is 0")
    # the pairing ⟨L̄, L̇⟩ = ⟨W̄, dW⟩: forward and reverse mode agree (dot-product test)
    assert_close(tangents["L"], np.sum(g.backward()["w2"] * dW), "⟨∇_W L, dW⟩ vs forward mode")


def test_pytree_inputs_mlp_graph() -> None:
    """One input node per pytree leaf: the MLP's gradient from the graph equals ``grad``'s."""
    params, x, y = mlp_problem()
    g = trace_graph(lambda p: mlp_loss(p, x, y), params, input_names=["W1", "b1", "W2", "b2"])
    assert g.names[:4] == ["W1", "b1", "W2", "b2"], g.names
    assert "logsumexp" in [n.op for n in g.nodes], g.table()
    expected = [a for wb in ri.grad(mlp_loss)(params, x, y) for a in wb]
    for name, gk, e in zip(g.names, g.gradient(), expected, strict=False):
        assert_close(gk, e, f"∂L/∂{name}: graph vs grad")


def test_broadcasting_adjoint_is_summed_to_shape(rng, jax_x64) -> None:
    x, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    g = trace_graph(lambda x, b: rnp.sum((x + b) ** 2), x, b)
    jnp = jax_x64.numpy
    expected = jax_x64.grad(lambda x, b: jnp.sum((x + b) ** 2), argnums=1)(x, b)
    assert_close(g.backward()["w2"], np.asarray(expected), "adjoint of the broadcast bias")


def test_non_scalar_output_needs_a_cotangent(rng) -> None:
    x, u = rng.standard_normal(4), rng.standard_normal(4)
    g = trace_graph(lambda x: rnp.sin(x) * x, x)
    with pytest.raises(ValueError, match="cotangent"):
        g.backward()
    _, pullback = ri.vjp(lambda x: rnp.sin(x) * x, x)
    assert_close(g.backward(u)["w1"], pullback(u)[0], "graph reverse mode vs vjp, random ct")


def test_primitive_with_full_rules(rng) -> None:
    """concatenate registers jvp_full / vjp_full instead of per-argument rules."""
    x, y = rng.standard_normal(2), rng.standard_normal(3)

    def f(x, y):
        return rnp.sum(rnp.concatenate([x, y]) ** 2)

    g = trace_graph(f, x, y)
    assert_close(g.backward()["w2"], 2 * y, "∂/∂y of Σ concat(x, y)²")
    assert_close(g.forward("w1")["L"], np.sum(2 * x), "forward mode through concatenate")


# --- fan-out -----------------------------------------------------------------------------------
def test_fan_out_adjoints_accumulate() -> None:
    """x is used three times: in x · x (twice) and in sin x; its adjoint is the sum 2x + cos x."""
    x = 0.7
    g = trace_graph(lambda x: x * x + rnp.sin(x), x, input_names=["x"])
    assert [p for _, p in g.node("v1").parents] == [0, 0], "x * x has x as both parents"
    assert g.children(0) == [1, 1, 2], f"x feeds v1 twice and v2 once, got {g.children(0)}"
    adj = g.backward()
    assert_close(adj["v1"], 1.0, "∂L/∂v1")
    assert_close(adj["v2"], 1.0, "∂L/∂v2")
    assert_close(adj["x"], 2 * x + np.cos(x), "∂L/∂x accumulated over three uses")
    assert_close(g.forward("x")["L"], 2 * x + np.cos(x), "forward mode sums both paths")


def test_unused_node_has_zero_adjoint() -> None:
    def f(x):
        rnp.log(x)  # computed, but the output does not depend on it
        return rnp.exp(x)

    g = trace_graph(f, 1.5)
    assert g.names == ["w1", "v1", "L"], g.names
    assert_close(g.backward()["v1"], 0.0, "a dead node's adjoint")
    assert_close(g.backward()["w1"], np.exp(1.5), "∂L/∂w1")


# --- tables ------------------------------------------------------------------------------------
def test_table_text() -> None:
    g = trace_graph(lecture_loss, 2.0, 3.0)
    assert g.table().splitlines() == [
        "node | expression | value",
        "-------------------------",
        "w1   |            | 2",
        "w2   |            | 3",
        "v1   | log(w1)    | 0.693147",
        "v2   | w2 * v1    | 2.07944",
        "v3   | sqrt(v2)   | 1.44203",
        "L    | v2 + v3    | 3.52147",
    ], g.table()
    lines = g.table(wrt=["w1", "w2"], adjoints=True).splitlines()
    header = [c.strip() for c in lines[0].split("|")]
    assert header == ["node", "expression", "value", "∂v/∂w1", "∂v/∂w2", "∂L/∂v"], lines[0]
    assert lines[4].split() == [
        "v1",
        "|",
        "log(w1)",
        "|",
        "0.693147",
        "|",
        "0.5",
        "|",
        "0",
        "|",
        "4.0402",
    ], lines[4]
    assert repr(g).startswith("<Graph of lecture_loss(w1, w2): 4 operations, output L>\n"), repr(g)


def test_rows_for_notebooks(arrays) -> None:
    g = trace_graph(mlp_layer, *arrays)
    rows = g.to_rows(wrt=0, adjoints=True)
    assert [r["name"] for r in rows] == g.names, "one row per node"
    assert set(rows[2]) == {
        "name",
        "op",
        "parents",
        "expression",
        "value",
        "tangent_w1",
        "adjoint",
    }, rows[2].keys()
    assert rows[2]["parents"] == ["w2", "w1"] and rows[2]["op"] == "matmul", rows[2]
    assert_close(rows[-1]["adjoint"], 1.0, "∂L/∂L")
    assert_close(rows[0]["adjoint"], g.gradient()[0], "row adjoint of w1")


# --- drawing -----------------------------------------------------------------------------------
def node_patches(ax):
    return {p.get_gid()[5:]: p for p in ax.patches if (p.get_gid() or "").startswith("node:")}


def edge_patches(ax):
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def test_draw_has_one_artist_per_node_and_edge(figure) -> None:
    g = trace_graph(lambda x: x * x + rnp.sin(x), 0.7, input_names=["x"])
    ax = g.draw(figure, annotate="values")
    assert ax is figure, "draw returns the axes it drew on"
    assert sorted(node_patches(ax)) == sorted(g.names), f"node artists: {list(node_patches(ax))}"
    gids = sorted(p.get_gid() for p in edge_patches(ax))
    assert gids == ["edge:v1->L", "edge:v2->L", "edge:x->v1", "edge:x->v1", "edge:x->v2"], (
        f"one arrow per use (x * x gives two), got {gids}"
    )
    texts = [t.get_text() for t in ax.texts]
    assert "= 0.49" in texts and "$x$" in texts, f"values and labels missing: {texts}"


def test_draw_without_axes_makes_a_figure() -> None:
    g = trace_graph(lecture_loss, 2.0, 3.0)
    ax = g.draw(annotate="adjoints")
    try:
        assert len(node_patches(ax)) == 6, "six nodes: w1, w2, v1, v2, v3, L"
        assert any("∂$L$/∂$w_{2}$" in t.get_text() for t in ax.texts), "adjoint labels missing"
    finally:
        plt.close(ax.figure)


def test_layout_is_layered_left_to_right() -> None:
    g = trace_graph(lecture_loss, 2.0, 3.0)
    pos = layout(g)
    assert pos == layout(g), "the layout is deterministic"
    xs = {g.nodes[i].name: x for i, (x, _) in pos.items()}
    assert xs["w1"] == xs["w2"] == 0.0, f"inputs on the left: {xs}"
    assert xs["L"] == max(xs.values()), f"output on the right: {xs}"
    for n in g.nodes:
        for _, p in n.parents:
            assert pos[p][0] < pos[n.index][0], f"edge {g.nodes[p].name}→{n.name} goes left"
    assert pos[0][1] > pos[1][1], "w1 above w2"


@pytest.mark.parametrize(
    ("annotate", "step", "shown", "current"),
    [
        ("tangents", 0, ["w1", "w2"], ["w1", "w2"]),
        ("tangents", 2, ["w1", "w2", "v1", "v2"], ["v2"]),
        ("adjoints", 0, ["L"], ["L"]),
        ("adjoints", 2, ["L", "v3", "v2"], ["v2"]),
        ("adjoints", 4, ["L", "v3", "v2", "v1", "w1", "w2"], ["w1", "w2"]),
    ],
)
def test_draw_step_by_step(figure, annotate, step, shown, current) -> None:
    """Figures 7–11 (forward) and 20–24 (reverse): annotate only what is known at that step,
    highlight the node being processed and the edges it uses."""
    g = trace_graph(lecture_loss, 2.0, 3.0)
    ax = g.draw(figure, annotate=annotate, step=step)
    notes = [t.get_text() for t in ax.texts if "\n= " in t.get_text()]
    assert len(notes) == len(shown), f"step {step}: annotations {notes}"
    hot = sorted(
        n for n, p in node_patches(ax).items() if to_hex(p.get_facecolor()) == _FILL["highlight"]
    )
    assert hot == sorted(current), f"step {step}: highlighted {hot}, expected {current}"
    hot_edges = sorted(p.get_gid() for p in edge_patches(ax) if p.get_linewidth() > 2)
    forward = annotate == "tangents"
    expected = sorted(
        f"edge:{g.nodes[p].name}->{n.name}"
        for n in g.nodes
        for _, p in n.parents
        if (n.name if forward else g.nodes[p].name) in current
    )
    assert hot_edges == expected, f"step {step}: highlighted edges {hot_edges}"
    assert f"step {step} of 4" in ax.get_title(), ax.get_title()


def test_draw_explicit_highlight(figure) -> None:
    g = trace_graph(lecture_loss, 2.0, 3.0)
    ax = g.draw(figure, annotate=None, highlight=["v3", ("v2", "L")])
    hot = [
        n for n, p in node_patches(ax).items() if to_hex(p.get_facecolor()) == _FILL["highlight"]
    ]
    assert hot == ["v3"], f"highlighted nodes {hot}"
    hot_edges = [p.get_gid() for p in edge_patches(ax) if p.get_linewidth() > 2]
    assert hot_edges == ["edge:v2->L"], f"highlighted edges {hot_edges}"


# --- errors ------------------------------------------------------------------------------------
def test_errors(figure) -> None:
    g = trace_graph(lecture_loss, 2.0, 3.0)
    with pytest.raises(ValueError, match="out of range"):
        g.draw(figure, annotate="tangents", step=5)
    with pytest.raises(ValueError, match="annotate"):
        g.draw(figure, annotate="gradients")
    with pytest.raises(ValueError, match="not an input"):
        g.forward("v1")
    with pytest.raises(KeyError, match="no node named"):
        g.node("v9")
    with pytest.raises(ValueError, match="direction has shape"):
        g.forward(0, direction=np.ones(2))
    with pytest.raises(ValueError, match="computed from its inputs"):
        trace_graph(lambda x: 1.0, 2.0)
    with pytest.raises(ValueError, match="unchanged"):
        trace_graph(lambda x: x, 2.0)
    with pytest.raises(ValueError, match="distinct"):
        trace_graph(lecture_loss, 2.0, 3.0, input_names=["v1", "w2"])
    with pytest.raises(ValueError, match="input name"):
        trace_graph(lecture_loss, 2.0, 3.0, input_names=["a"])
    with pytest.raises(TypeError, match="dtype int"):
        trace_graph(lecture_loss, 2, 3.0)


def test_multiple_results_primitive_is_refused() -> None:
    @ri.custom_jvp
    def f(x):
        return rnp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        return rnp.sin(primals[0]), rnp.cos(primals[0]) * tangents[0]

    with pytest.raises(NotImplementedError, match="several results"):
        trace_graph(f, 1.0)
