"""``reference_impl.scipy.linalg`` (cholesky, cho_factor/cho_solve, solve_triangular, lu,
lu_factor/lu_solve) against ``jax.scipy.linalg``: values, VJPs with random cotangents, JVPs,
finite differences to second order on hypothesis inputs, and ``vmap`` against ``jax.vmap``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
import reference_impl.scipy.linalg as rsl
from reference_impl import batching
from reference_impl.testing import check_grads

jax.config.update("jax_enable_x64", True)

_RNG = np.random.default_rng(23)
_G = _RNG.standard_normal((4, 4))
_SPD = _G @ _G.T + 4 * np.eye(4)
_B = _RNG.standard_normal((4, 2))
_T = np.tril(_G) + 3 * np.eye(4)

# name → (function of (xp_scipy_linalg, xp_numpy, a, b), a, b)
CASES = {
    "cholesky_lower": (lambda sl, xp, a, b: sl.cholesky(a, lower=True), _SPD, _B),
    "cholesky_upper": (lambda sl, xp, a, b: sl.cholesky(a), _SPD, _B),
    "cho_solve_lower": (
        lambda sl, xp, a, b: sl.cho_solve(sl.cho_factor(a, lower=True), b),
        _SPD,
        _B,
    ),
    "cho_solve_upper": (lambda sl, xp, a, b: sl.cho_solve(sl.cho_factor(a), b[:, 0]), _SPD, _B),
    "solve_triangular": (lambda sl, xp, a, b: sl.solve_triangular(a, b, lower=True), _T, _B),
    "solve_triangular_T": (
        lambda sl, xp, a, b: sl.solve_triangular(a.T, b[:, 1], trans="T"),
        _T,
        _B,
    ),
    "solve_triangular_unit": (
        lambda sl, xp, a, b: sl.solve_triangular(a, b, lower=True, unit_diagonal=True),
        _T,
        _B,
    ),
    "lu_l": (lambda sl, xp, a, b: sl.lu(a)[1], _G, _B),
    "lu_u": (lambda sl, xp, a, b: sl.lu(a)[2], _G, _B),
    "lu_permute_l": (lambda sl, xp, a, b: sl.lu(a, permute_l=True)[0], _G, _B),
    "lu_factor": (lambda sl, xp, a, b: sl.lu_factor(a)[0], _G, _B),
    "lu_solve": (lambda sl, xp, a, b: sl.lu_solve(sl.lu_factor(a), b), _G, _B),
    "lu_solve_T": (lambda sl, xp, a, b: sl.lu_solve(sl.lu_factor(a), b[:, 0], trans=1), _G, _B),
}


def _ours(name):
    f = CASES[name][0]
    return lambda a, b: f(rsl, rnp, a, b)


def _theirs(name):
    f = CASES[name][0]
    return lambda a, b: f(jsl, jnp, a, b)


@pytest.mark.parametrize("name", list(CASES))
def test_value_vjp_jvp_match_jax(name):
    _, a, b = CASES[name]
    rng = np.random.default_rng(1)
    theirs = _theirs(name)
    ct = rng.standard_normal(jax.eval_shape(theirs, a, b).shape)
    ta, tb = rng.standard_normal(a.shape), rng.standard_normal(b.shape)

    @jax.jit  # JAX's side in one program (eagerly: one compile per JAX primitive)
    def reference(a, b, ct, ta, tb):
        want, pullback = jax.vjp(theirs, a, b)
        return want, pullback(ct), jax.jvp(theirs, (a, b), (ta, tb))[1]

    want, exp, exp_dot = reference(a, b, ct, ta, tb)
    np.testing.assert_allclose(
        _ours(name)(a, b), want, rtol=1e-11, atol=1e-12, err_msg=f"{name}: value"
    )
    got = ri.vjp(_ours(name), a, b)[1](ct)
    for k, (g, w) in enumerate(zip(got, exp, strict=True)):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-11, err_msg=f"{name}: VJP arg {k}")
    np.testing.assert_allclose(
        ri.jvp(_ours(name), (a, b), (ta, tb))[1],
        exp_dot,
        rtol=1e-9,
        atol=1e-11,
        err_msg=f"{name}: JVP",
    )


@pytest.mark.parametrize("name", list(CASES))
def test_vmap_matches_jax_without_fallback(name):
    _, a, b = CASES[name]
    scale = np.array([1.0, 1.5, 2.0])[:, None, None]
    a_s, b_s = a * scale, np.stack([b, -b, 2 * b])
    saved, batching.LOOP_FALLBACK = batching.LOOP_FALLBACK, False  # a fallback raises
    try:
        got = ri.vmap(_ours(name))(a_s, b_s)
    finally:
        batching.LOOP_FALLBACK = saved
    np.testing.assert_allclose(
        got,
        jax.jit(jax.vmap(_theirs(name)))(a_s, b_s),
        rtol=1e-10,
        atol=1e-12,
        err_msg=f"vmap({name})",
    )


@settings(deadline=None, max_examples=10)
@given(seed=st.integers(0, 2**16), name=st.sampled_from(sorted(CASES)))
def test_finite_differences_second_order(seed, name):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 4))
    b = rng.standard_normal((4, 2))
    f = _ours(name)
    if name.startswith("cho"):  # the function of a symmetric positive definite matrix
        check_grads(lambda x, b: f(x @ x.T + 4 * np.eye(4), b), (x, b), order=2)
    elif name.startswith("solve_triangular"):
        check_grads(lambda x, b: f(x + 4 * np.eye(4), b), (x, b), order=2)
    else:
        check_grads(lambda x, b: f(x + 3 * np.eye(4), b), (x, b), order=2)


def test_lu_reconstructs_and_factor_pivots_match_scipy():
    lu_v, piv_v = ri.vmap(rsl.lu_factor)(np.stack([_G, _G.T, -_G]))
    for k, m in enumerate([_G, _G.T, -_G]):
        np.testing.assert_array_equal(piv_v[k], jsl.lu_factor(m)[1], err_msg=f"pivots {k}")
        np.testing.assert_allclose(lu_v[k], jsl.lu_factor(m)[0], rtol=1e-12)
    p, l, u = rsl.lu(_G)
    np.testing.assert_allclose(p @ l @ u, _G, atol=1e-12)
    _, piv = rsl.lu_factor(_G)
    np.testing.assert_array_equal(piv, jsl.lu_factor(_G)[1])
