"""The lecture's example by hand: L(w1, w2) = w2·log w1 + √(w2·log w1).

v1 = log w1, v2 = w2·v1, v3 = √v2, L = v2 + v3. Every value, every forward-mode tangent (for
∂/∂w1 and ∂/∂w2) and every reverse-mode adjoint of the traced graph must equal the closed forms
of the slides; the gradient must equal ``reference_impl.grad`` and ``jax.grad`` (float64).
Also the demo (``python -m reference_impl.demo``) that prints all of this.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl import demo
from reference_impl.demo import lecture_loss
from reference_impl.graph import trace_graph

W1, W2 = 2.0, 3.0
RTOL = 1e-14


def close(a: object, b: object, what: str, rtol: float = RTOL) -> None:
    a, b = float(a), float(b)
    assert abs(a - b) <= rtol * max(1.0, abs(b)), f"{what}: got {a!r}, expected {b!r}"


@pytest.fixture(scope="module")
def graph():
    return trace_graph(lecture_loss, W1, W2)


def test_graph_is_the_lecture_graph(graph) -> None:
    ops = [(n.name, graph.expression(n)) for n in graph.nodes if not n.is_input]
    assert ops == [("v1", "log(w1)"), ("v2", "w2 * v1"), ("v3", "sqrt(v2)"), ("L", "v2 + v3")], (
        f"the traced operations should be the lecture's four, in order; got {ops}"
    )
    assert graph.num_operations == 4, f"N should be 4, got {graph.num_operations}"
    parents = {n.name: [graph.nodes[p].name for _, p in n.parents] for n in graph.nodes}
    assert parents == {
        "w1": [],
        "w2": [],
        "v1": ["w1"],
        "v2": ["w2", "v1"],
        "v3": ["v2"],
        "L": ["v2", "v3"],
    }, f"wrong parents: {parents}"


def test_values(graph) -> None:
    v1 = np.log(W1)
    v2 = W2 * v1
    v3 = np.sqrt(v2)
    expected = {"w1": W1, "w2": W2, "v1": v1, "v2": v2, "v3": v3, "L": v2 + v3}
    for name, value in expected.items():
        close(graph.node(name).value, value, f"value of {name}")
    close(graph.node("L").value, W2 * np.log(W1) + np.sqrt(W2 * np.log(W1)), "L(2, 3)")


def test_forward_mode_tangents_w1(graph) -> None:
    """Figures 7–11: ∂w1/∂w1 = 1, ∂w2/∂w1 = 0, ∂v1/∂w1 = 1/w1, ∂v2/∂w1 = w2·∂v1/∂w1 + v1·0,
    ∂v3/∂w1 = ∂v2/∂w1 / (2√v2), ∂L/∂w1 = ∂v2/∂w1 + ∂v3/∂w1."""
    t = graph.forward("w1")
    v1, v2 = np.log(W1), W2 * np.log(W1)
    d_v1 = 1.0 / W1
    d_v2 = W2 * d_v1 + v1 * 0.0
    d_v3 = d_v2 / (2.0 * np.sqrt(v2))
    expected = {"w1": 1.0, "w2": 0.0, "v1": d_v1, "v2": d_v2, "v3": d_v3, "L": d_v2 + d_v3}
    for name, value in expected.items():
        close(t[name], value, f"∂{name}/∂w1")


def test_forward_mode_tangents_w2(graph) -> None:
    """Figures 13–17: ∂v1/∂w2 = 0·1, ∂v2/∂w2 = w2·0 + v1·1, ∂v3/∂w2 = ∂v2/∂w2 / (2√v2)."""
    t = graph.forward("w2")
    v1, v2 = np.log(W1), W2 * np.log(W1)
    d_v2 = W2 * 0.0 + v1 * 1.0
    d_v3 = d_v2 / (2.0 * np.sqrt(v2))
    expected = {"w1": 0.0, "w2": 1.0, "v1": 0.0, "v2": d_v2, "v3": d_v3, "L": d_v2 + d_v3}
    for name, value in expected.items():
        close(t[name], value, f"∂{name}/∂w2")


def adjoints_by_hand(w1: float, w2: float) -> dict[str, float]:
    """Figures 20–24, in the slides' order."""
    v1 = np.log(w1)
    v2 = w2 * v1
    d_L = 1.0
    d_v3 = d_L * 1.0
    d_v2 = d_v3 / (2.0 * np.sqrt(v2)) + d_L * 1.0
    d_v1 = d_v2 * w2
    return {"L": d_L, "v3": d_v3, "v2": d_v2, "v1": d_v1, "w1": d_v1 / w1, "w2": d_v2 * v1}


def test_reverse_mode_adjoints(graph) -> None:
    adj = graph.backward()
    for name, value in adjoints_by_hand(W1, W2).items():
        close(adj[name], value, f"∂L/∂{name}")


def test_slide_erratum_for_dL_dw2(graph) -> None:
    """The slide writes ∂L/∂w2 = ∂L/∂v1 · v1; the correct formula is ∂L/∂v2 · v1."""
    adj = graph.backward()
    v1 = graph.node("v1").value
    close(adj["w2"], adj["v2"] * v1, "∂L/∂w2 = ∂L/∂v2 · v1")
    erratum = float(adj["v1"] * v1)
    assert abs(erratum - float(adj["w2"])) > 1.0, (
        f"the slide's ∂L/∂v1 · v1 = {erratum} should differ from ∂L/∂w2 = {float(adj['w2'])}"
    )


def test_gradient_agrees_everywhere(graph, jax_x64) -> None:
    exact = demo.closed_form_gradient(W1, W2)
    ours = ri.grad(lecture_loss, argnums=(0, 1))(W1, W2)
    theirs = jax_x64.grad(functools.partial(lecture_loss, xp=jax_x64.numpy), argnums=(0, 1))(W1, W2)
    forward = [graph.forward(k)["L"] for k in range(2)]
    for k in range(2):
        for what, g in (
            ("graph reverse mode", graph.gradient()[k]),
            ("graph forward mode", forward[k]),
            ("reference_impl.grad", ours[k]),
            ("jax.grad", theirs[k]),
        ):
            close(g, exact[k], f"∂L/∂w{k + 1} from {what}", rtol=1e-13)


@given(st.floats(1.1, 10.0), st.floats(0.1, 10.0))
def test_adjoints_closed_forms_at_many_points(w1: float, w2: float) -> None:
    g = trace_graph(lecture_loss, w1, w2)
    adj = g.backward()
    for name, value in adjoints_by_hand(w1, w2).items():
        close(adj[name], value, f"∂L/∂{name} at ({w1}, {w2})", rtol=1e-12)
    grad = ri.grad(lecture_loss, argnums=(0, 1))(w1, w2)
    close(grad[0], adj["w1"], f"grad vs graph, ∂L/∂w1 at ({w1}, {w2})", rtol=1e-12)
    close(grad[1], adj["w2"], f"grad vs graph, ∂L/∂w2 at ({w1}, {w2})", rtol=1e-12)


def test_formula_written_without_sharing_has_six_operations() -> None:
    """The graph is what the code executes: log and the product computed twice are two nodes
    each, and w1, w2 then fan out to two uses; the gradient is the same."""
    g = trace_graph(lambda w1, w2: w2 * rnp.log(w1) + rnp.sqrt(w2 * rnp.log(w1)), W1, W2)
    assert [n.op for n in g.nodes if not n.is_input] == [
        "log",
        "multiply",
        "log",
        "multiply",
        "sqrt",
        "add",
    ], f"got {g.table()}"
    exact = demo.closed_form_gradient(W1, W2)
    for k, gk in enumerate(g.gradient()):
        close(gk, exact[k], f"∂L/∂w{k + 1} with the unshared formula", rtol=1e-13)


# --- the demo ---------------------------------------------------------------------------------
def test_demo_prints_short_report_and_passes(capsys, tmp_path: Path) -> None:
    out = tmp_path / "graph.png"
    assert demo.main(["--out", str(out)]) == 0, "the demo's checks should pass"
    text = capsys.readouterr().out
    assert len(text.splitlines()) < 60, f"the demo prints {len(text.splitlines())} lines"
    for expected in (
        "v1   | log(w1)",
        "v2   | w2 * v1",
        "v3   | sqrt(v2)",
        "L    | v2 + v3",
        "JAX grad (float64)",
        "central differences",
        "All checks passed.",
    ):
        assert expected in text, f"{expected!r} missing from the demo's output:\n{text}"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "--out should write a PNG file"
    assert demo.main([]) == 0 and capsys.readouterr().out == text.replace(
        f"Figure of the graph with adjoints written to {out}\n", ""
    ), "output not deterministic"


def test_demo_runs_without_jax(capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "jax", None)  # makes ``import jax`` raise ImportError
    assert demo.main([]) == 0, "the demo must pass without jax"
    text = capsys.readouterr().out
    assert "skipped: jax is not installed" in text, f"the demo should say so:\n{text}"
    assert "central difference" in text.split("MLP")[1], "MLP check should fall back to FD"


def test_demo_fails_when_a_check_fails(capsys, monkeypatch) -> None:
    monkeypatch.setattr(demo, "closed_form_gradient", lambda w1, w2: np.array([2.0, 0.9]))
    assert demo.main([]) == 1, "a wrong reference gradient must make the demo exit with 1"
    assert "SOME CHECKS FAILED" in capsys.readouterr().out, "the failure should be reported"


def test_demo_as_a_module() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "reference_impl.demo"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, f"exit status {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "All checks passed." in proc.stdout, proc.stdout
