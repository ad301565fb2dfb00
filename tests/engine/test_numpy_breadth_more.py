"""The ``jax.numpy`` functions added for issue 19 against JAX: values, VJPs with random
cotangents (and finite differences through ``check_grads``), and ``vmap`` against ``jax.vmap``
for the differentiable ones; ``unique`` with JAX's ``size=``, ``bincount`` with ``length=``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.testing import check_grads

jax.config.update("jax_enable_x64", True)

_RNG = np.random.default_rng(5)
_M = _RNG.standard_normal((4, 4)) + 2 * np.eye(4)
_NAN = np.array([[0.3, np.nan, -1.2], [np.nan, 2.0, 0.7], [1.5, -0.4, 0.9]])

# name → (function of (x, xp), argument); all differentiable in x
DIFFERENTIABLE = {
    "nansum": (lambda x, xp: xp.nansum(x * x, axis=1), _NAN),
    "nanmean": (lambda x, xp: xp.nanmean(xp.sin(x), axis=0), _NAN),
    "nanmax": (lambda x, xp: xp.nanmax(x, axis=1), _NAN),
    "nanmin": (lambda x, xp: xp.nanmin(x, axis=0), _NAN),
    "nanvar": (lambda x, xp: xp.nanvar(x, axis=1), _NAN),
    "nanstd": (lambda x, xp: xp.nanstd(x), _NAN),
    "nanprod": (lambda x, xp: xp.nanprod(x, axis=1), _NAN),
    "meshgrid_xy": (lambda x, xp: xp.stack(xp.meshgrid(x[0], x[1, :2], indexing="xy")[0:1]), _M),
    "meshgrid_ij": (lambda x, xp: xp.meshgrid(x[0], x[1, :2], x[2, :3], indexing="ij")[2], _M),
    "full_like": (lambda x, xp: xp.full_like(x, x[0, 0]) * x, _M),
    "cond": (lambda x, xp: xp.linalg.cond(x), _M),
    "cond_fro": (lambda x, xp: xp.linalg.cond(x, "fro"), _M),
    "bincount_w": (lambda x, xp: xp.bincount(np.array([0, 2, 2, 3]), weights=x[0], length=5), _M),
}


@pytest.mark.parametrize("name", list(DIFFERENTIABLE))
def test_value_and_vjp_match_jax(name):
    f, x = DIFFERENTIABLE[name]
    ct = np.random.default_rng(1).standard_normal(jax.eval_shape(lambda a: f(a, jnp), x).shape)

    @jax.jit  # JAX's value and VJP in one program (eagerly: one compile per JAX primitive)
    def reference(x, ct):
        want, pullback = jax.vjp(lambda a: f(a, jnp), x)
        return want, pullback(ct)[0]

    want, w = reference(x, ct)
    got = f(x, rnp)
    np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=f"{name}: value")
    g = ri.vjp(lambda a: f(a, rnp), x)[1](ct)[0]
    np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=f"{name}: VJP")


@pytest.mark.parametrize("name", [n for n in DIFFERENTIABLE if not n.startswith("nan")])
def test_vmap_matches_jax(name):
    f, x = DIFFERENTIABLE[name]
    xs = np.stack([x, x + 0.5, 1.5 * x])
    np.testing.assert_allclose(
        ri.vmap(lambda a: f(a, rnp))(xs),
        jax.jit(jax.vmap(lambda a: f(a, jnp)))(jnp.asarray(xs)),
        rtol=1e-11,
        err_msg=f"vmap({name})",
    )


@settings(deadline=None, max_examples=15)
@given(seed=st.integers(0, 2**16))
def test_finite_differences(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    check_grads(lambda a: rnp.nanmean(rnp.tanh(a), axis=0) * rnp.linalg.cond(a), (x,), order=2)
    check_grads(lambda a: rnp.meshgrid(a[0], a[1])[1] * rnp.nanmax(a), (x,), order=2)


def test_index_constructors_and_identity():
    for args in [(4,), (4, 1), (3, -1, 5)]:
        for name in ("triu_indices", "tril_indices"):
            for a, b in zip(getattr(rnp, name)(*args), getattr(jnp, name)(*args), strict=True):
                np.testing.assert_array_equal(a, b, err_msg=f"{name}{args}")
    np.testing.assert_array_equal(rnp.triu_indices_from(_M, 1)[1], jnp.triu_indices_from(_M, 1)[1])
    np.testing.assert_array_equal(rnp.identity(3), jnp.identity(3))
    assert rnp.linalg.matrix_rank(np.ones((3, 3))) == jnp.linalg.matrix_rank(jnp.ones((3, 3))) == 1
    np.testing.assert_array_equal(
        rnp.linalg.matrix_rank(np.stack([_M, np.ones((4, 4))])),
        jnp.linalg.matrix_rank(jnp.stack([_M, jnp.ones((4, 4))])),
    )


@pytest.mark.parametrize("size", [None, 2, 6])
def test_unique_matches_jax(size):
    x = np.array([3, 1, 3, 2, 7, 1])
    flags = {"return_index": True, "return_inverse": True, "return_counts": True}
    got = rnp.unique(x, size=size, **flags)
    want = jnp.unique(x, size=size, **flags)
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_array_equal(np.ravel(a), np.ravel(b), err_msg=f"output {k}, size={size}")
    np.testing.assert_array_equal(
        rnp.unique(x, size=7, fill_value=-1), jnp.unique(x, size=7, fill_value=-1)
    )


def test_bincount_matches_jax():
    x = np.array([0, 2, 2, 5])
    np.testing.assert_array_equal(rnp.bincount(x), jnp.bincount(x))
    np.testing.assert_array_equal(rnp.bincount(x, length=4), jnp.bincount(x, length=4))
    np.testing.assert_array_equal(rnp.bincount(x, minlength=8), jnp.bincount(x, minlength=8))


def test_vectorize_matches_jax_and_differentiates():
    def f(a, b):  # written for scalars
        return a * b + rnp.sin(a)

    def jf(a, b):
        return a * b + jnp.sin(a)

    a, b = _RNG.standard_normal((3, 1)), _RNG.standard_normal(4)
    np.testing.assert_allclose(rnp.vectorize(f)(a, b), jnp.vectorize(jf)(a, b), rtol=1e-13)
    g = ri.grad(lambda a: rnp.sum(rnp.vectorize(f)(a, b) ** 2))(a)
    jg = jax.grad(lambda a: jnp.sum(jnp.vectorize(jf)(a, b) ** 2))(a)
    np.testing.assert_allclose(g, jg, rtol=1e-12)

    def mv(m, v):
        return m @ v

    ms, vs = _RNG.standard_normal((2, 5, 3, 4)), _RNG.standard_normal((5, 4))
    got = rnp.vectorize(mv, signature="(m,n),(n)->(m)")(ms, vs)
    want = jnp.vectorize(lambda m, v: m @ v, signature="(m,n),(n)->(m)")(ms, vs)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    assert got.shape == (2, 5, 3)
    got = rnp.vectorize(lambda x, p: x**p, excluded={1})(np.arange(4.0), 2)
    np.testing.assert_allclose(got, np.arange(4.0) ** 2)
