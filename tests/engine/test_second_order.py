"""Hessian-vector products, the Hessian from HVPs and the Hessian trace, against JAX float64."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given

import reference_impl as ri
import reference_impl.numpy as rnp
import reference_impl.second_order as so
from reference_impl.second_order import hessian_from_hvp, hessian_trace, hvp, ravel_pytree
from reference_impl.tree_util import tree_flatten, tree_map
from tests.engine.strategies import seeds

MODES = ["fwd-over-rev", "rev-over-rev", "rev-over-fwd"]
TOL = 1e-10


@pytest.fixture(scope="module")
def jx(jax_x64):
    """The JAX namespace the test functions are written against (numpy-like + logsumexp)."""
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    return SimpleNamespace(np=jnp, lse=logsumexp, jax=jax_x64)


RI = SimpleNamespace(np=rnp, lse=rnp.logsumexp)


# --- test functions, written once for either namespace ----------------------------------------
def f_tanh_sin(m, x):
    return m.np.sum(m.np.tanh(x) ** 3) + m.np.sum(m.np.sin(x[:-1] * x[1:]))


def f_rosenbrock(m, x):
    return m.np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


_A = np.random.default_rng(42).standard_normal((4, 6))


def f_logsumexp_quadratic(m, x):
    return m.lse(_A @ x) + 0.5 * m.np.sum(x * x) * m.np.exp(0.1 * m.np.sum(x))


def f_rational(m, x):
    return m.np.sum(m.np.exp(0.3 * x) * m.np.log1p(x * x)) / (1.0 + m.np.sum(x * x))


FUNCTIONS = [f_tanh_sin, f_rosenbrock, f_logsumexp_quadratic, f_rational]


_JITTED: dict = {}


def jax_hessian(jx, f, x):
    """jax.hessian(f)(x), jitted once per function (eager JAX re-dispatches every op)."""
    if f not in _JITTED:
        _JITTED[f] = jx.jax.jit(jx.jax.hessian(lambda y: f(jx, y)))
    return np.asarray(_JITTED[f](x))


def rel_err(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / (1.0 + np.max(np.abs(b))))


# --- hvp on vectors ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
@given(seed=seeds)
def test_hvp_matches_jax_hessian(jx, f, mode, seed):
    rng = np.random.default_rng(seed)
    x, v = rng.standard_normal(6), rng.standard_normal(6)
    expected = jax_hessian(jx, f, x) @ v
    got = hvp(lambda y: f(RI, y), x, v, mode)
    assert rel_err(got, expected) < TOL, (
        f"{f.__name__}, {mode}, x={x}, v={v}: hvp = {got}, jax.hessian(f)(x) @ v = {expected}"
    )


def f_matrix(m, X):
    return m.np.sum(m.np.tanh(X @ X.T)) + m.np.sum(X**3)


@pytest.mark.parametrize("mode", MODES)
def test_hvp_on_a_matrix_argument(jx, rng, mode):
    X, V = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    H = jax_hessian(jx, f_matrix, X)  # shape (3, 2, 3, 2)
    expected = np.tensordot(H, V, axes=2)
    got = hvp(lambda y: f_matrix(RI, y), X, V, mode)
    assert got.shape == X.shape, f"{mode}: hvp shape {got.shape}, expected {X.shape}"
    assert rel_err(got, expected) < TOL, f"{mode}: {got} vs {expected}"


@pytest.mark.parametrize("mode", MODES)
def test_hvp_is_symmetric_bilinear(rng, mode):
    """uᵀ (H v) = vᵀ (H u): a check that needs no reference implementation."""
    x, u, v = rng.standard_normal((3, 7))
    f = lambda y: f_tanh_sin(RI, y)  # noqa: E731
    a, b = u @ hvp(f, x, v, mode), v @ hvp(f, x, u, mode)
    assert abs(a - b) < TOL * (1 + abs(a)), f"{mode}: uᵀHv = {a} but vᵀHu = {b}"


# --- a small MLP with pytree parameters --------------------------------------------------------
def init_small_mlp(rng, sizes=(3, 4, 2), batch=5):
    params = [
        (rng.standard_normal((m, n)) / np.sqrt(m), 0.1 * rng.standard_normal(n))
        for m, n in itertools.pairwise(sizes)
    ]
    x = rng.standard_normal((batch, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    return params, x, y


def mlp_loss(m, params, x, y):
    h = x
    for W, b in params[:-1]:
        h = m.np.tanh(h @ W + b)
    W, b = params[-1]
    logits = h @ W + b
    return m.np.mean(m.lse(logits, axis=1) - m.np.sum(logits * y, axis=1))


@pytest.fixture(scope="module")
def mlp(jx):
    """Params, the loss for both namespaces and JAX's flat Hessian (ravel order = leaf order)."""
    from jax.flatten_util import ravel_pytree as jax_ravel

    params, x, y = init_small_mlp(np.random.default_rng(3))
    flat, unravel = jax_ravel(params)
    H = np.asarray(jx.jax.jit(jx.jax.hessian(lambda p: mlp_loss(jx, unravel(p), x, y)))(flat))
    return SimpleNamespace(
        params=params,
        loss=lambda p: mlp_loss(RI, p, x, y),
        jax_loss=lambda p: mlp_loss(jx, p, x, y),
        H=H,
        n=flat.size,
    )


@pytest.mark.parametrize("mode", MODES)
def test_hvp_mlp_pytree(mlp, rng, mode):
    v = tree_map(lambda p: rng.standard_normal(np.shape(p)), mlp.params)
    got = hvp(mlp.loss, mlp.params, v, mode)
    assert tree_flatten(got)[1] == tree_flatten(mlp.params)[1], (
        f"{mode}: the HVP's structure {tree_flatten(got)[1]} is not the parameters'"
    )
    expected = mlp.H @ ravel_pytree(v)[0]
    assert rel_err(ravel_pytree(got)[0], expected) < TOL, (
        f"{mode}: MLP hvp {ravel_pytree(got)[0]} vs jax {expected}"
    )


# --- the Hessian from HVPs ---------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_hessian_from_hvp_vector(jx, rng, f, mode):
    x = rng.standard_normal(6)
    H = hessian_from_hvp(lambda y: f(RI, y), x, mode)
    assert rel_err(H, jax_hessian(jx, f, x)) < TOL, f"{f.__name__} {mode}: H differs from jax"
    assert rel_err(H, ri.hessian(lambda y: f(RI, y))(x)) < TOL, (
        f"{f.__name__} {mode}: H differs from reference_impl.hessian"
    )


def test_hessian_from_hvp_matrix_layout(jx, rng):
    X = rng.standard_normal((3, 2))
    H = hessian_from_hvp(lambda y: f_matrix(RI, y), X)
    expected = jax_hessian(jx, f_matrix, X)
    assert H.shape == expected.shape == (3, 2, 3, 2), f"shape {H.shape} vs {expected.shape}"
    assert rel_err(H, expected) < TOL, "matrix-argument Hessian differs from jax.hessian"


def test_hessian_from_hvp_pytree_layout(mlp, jx):
    """Same nesting as jax.hessian on a pytree: params-tree of params-trees of blocks."""
    H = hessian_from_hvp(mlp.loss, mlp.params)
    expected = jx.jax.jit(jx.jax.hessian(mlp.jax_loss))(mlp.params)
    got_leaves, got_tree = tree_flatten(H)
    exp_leaves, exp_tree = tree_flatten(expected)
    assert got_tree == exp_tree, f"structure {got_tree} vs jax's {exp_tree}"
    for k, (a, b) in enumerate(zip(got_leaves, exp_leaves, strict=True)):
        assert a.shape == b.shape, f"block {k}: shape {a.shape} vs {b.shape}"
        assert rel_err(a, b) < TOL, f"block {k} differs from jax.hessian"


# --- errors --------------------------------------------------------------------------------------
def test_hvp_rejects_mismatched_tangent(rng):
    f = lambda y: f_tanh_sin(RI, y)  # noqa: E731
    with pytest.raises(ValueError, match="shape"):
        hvp(f, rng.standard_normal(4), rng.standard_normal(5))
    with pytest.raises(ValueError, match="structure"):
        hvp(lambda p: f(p[0]), (rng.standard_normal(4),), [rng.standard_normal(4)])
    with pytest.raises(ValueError, match="mode"):
        hvp(f, rng.standard_normal(4), rng.standard_normal(4), mode="fwd-over-fwd")


def test_ravel_pytree_round_trip(mlp):
    flat, unravel = ravel_pytree(mlp.params)
    assert flat.shape == (mlp.n,), f"flat size {flat.shape} vs {mlp.n}"
    back = unravel(flat)
    for a, b in zip(tree_flatten(back)[0], tree_flatten(mlp.params)[0], strict=True):
        assert np.array_equal(a, b), "ravel → unravel did not give the parameters back"


# --- the trace of a network's Hessian ----------------------------------------------------------
def test_hessian_trace_exact(mlp):
    res = hessian_trace(mlp.loss, mlp.params, 0, np.random.default_rng(0), method="exact")
    assert abs(res.estimate - np.trace(mlp.H)) < TOL * (1 + abs(np.trace(mlp.H))), (
        f"exact trace {res.estimate} vs jax {np.trace(mlp.H)}"
    )
    assert res.matvecs == mlp.n, f"exact trace used {res.matvecs} HVPs, expected n = {mlp.n}"


def hutchinson_stderr(H, V, dist):
    """Standard error of Hutchinson's mean over V probes: √(2(‖H‖_F² − Σ H_ii²)/V) (Rademacher),
    √(2‖H‖_F²/V) (Gaussian)."""
    fro2 = np.sum(H**2)
    return np.sqrt(2 * (fro2 - (np.sum(np.diag(H) ** 2) if dist == "rademacher" else 0)) / V)


@pytest.mark.parametrize("method", ["hutchinson", "hutchpp"])
@pytest.mark.parametrize("dist", ["rademacher", "gaussian"])
def test_hessian_trace_estimate_within_standard_errors(mlp, method, dist):
    exact, m = np.trace(mlp.H), 60
    res = hessian_trace(mlp.loss, mlp.params, m, np.random.default_rng(17), method, dist)
    assert res.matvecs == m, f"used {res.matvecs} HVPs, budget {m}"
    assert res.method.endswith(dist), f"asked for {dist} probes, got {res.method}"
    assert abs(res.estimate - exact) < 4 * res.stderr, (
        f"{method}/{dist}: estimate {res.estimate:.5f} ± {res.stderr:.5f}, exact {exact:.5f}"
    )
    formula = hutchinson_stderr(mlp.H, m, dist)
    if method == "hutchinson":  # the reported error matches the formula (one sample of it)
        assert 0.5 * formula < res.stderr < 2 * formula, (
            f"{dist}: reported stderr {res.stderr:.4f}, formula {formula:.4f}"
        )
    else:  # deflating the top third of the spectrum must help a lot on a 26×26 Hessian
        assert 0 < res.stderr < 0.1 * formula, (
            f"hutch++/{dist}: stderr {res.stderr:.2e} not ≪ Hutchinson's {formula:.2e}"
        )


def test_hessian_trace_unbiased_over_seeds(mlp):
    """Mean of 400 seeded 8-probe Hutchinson estimates within 4 standard errors of tr ∇²f."""
    exact = np.trace(mlp.H)
    est = np.array(
        [
            hessian_trace(mlp.loss, mlp.params, 8, np.random.default_rng([9, t])).estimate
            for t in range(400)
        ]
    )
    se = est.std(ddof=1) / np.sqrt(est.size)
    assert 4 * se < 0.25 * abs(exact), f"check too loose: se {se:.3f}, trace {exact:.3f}"
    assert abs(est.mean() - exact) < 4 * se, (
        f"mean estimate {est.mean():.4f} vs exact trace {exact:.4f} (se {se:.4f})"
    )
    spread = hutchinson_stderr(mlp.H, 8, "rademacher")
    assert 0.8 * spread < est.std(ddof=1) < 1.25 * spread, (
        f"spread of the estimates {est.std(ddof=1):.4f} vs the formula {spread:.4f}"
    )


def test_hessian_trace_hutchpp_full_sketch_is_exact(mlp):
    """With ⌊m/3⌋ ≥ n the sketch spans the whole space: the trace is exact to round-off."""
    res = hessian_trace(mlp.loss, mlp.params, 3 * mlp.n, np.random.default_rng(1), "hutchpp")
    exact = np.trace(mlp.H)
    assert abs(res.estimate - exact) < 1e-9 * (1 + abs(exact)), f"{res.estimate} vs {exact}"


def test_hessian_trace_counts_hvps(mlp, monkeypatch):
    """The budget is HVPs: count the calls of hvp itself, independently of the estimator."""
    calls = []
    real = so.hvp
    monkeypatch.setattr(so, "hvp", lambda *a, **k: calls.append(1) or real(*a, **k))
    for method, m in [("hutchinson", 7), ("hutchpp", 7), ("hutchpp", 10)]:
        calls.clear()
        res = hessian_trace(mlp.loss, mlp.params, m, np.random.default_rng(2), method)
        assert len(calls) == m == res.matvecs, f"{method}: {len(calls)} HVPs, budget {m}"


def test_hessian_trace_rejects_unknown_method(mlp):
    with pytest.raises(ValueError, match="method"):
        hessian_trace(mlp.loss, mlp.params, 5, np.random.default_rng(0), method="diag")
