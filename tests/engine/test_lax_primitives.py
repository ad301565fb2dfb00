"""``stop_gradient``, ``dynamic_slice``, ``dynamic_update_slice``, ``dynamic_index_in_dim``
against ``jax.lax``: values (negative and out-of-range starts clamped as JAX does), JVPs and
VJPs with random tangents and cotangents, finite differences, and ``vmap`` with batched and
unbatched start indices against ``jax.vmap``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl import lax_primitives as L
from reference_impl.testing import check_grads

jax.config.update("jax_enable_x64", True)

_X = np.random.default_rng(0).standard_normal((4, 5))
_STARTS = [(0, 0), (1, 2), (3, 4), (-1, -2), (10, -10), (-7, 2)]


@pytest.mark.parametrize("starts", _STARTS)
def test_dynamic_slice_value_jvp_vjp(starts):
    rng = np.random.default_rng(1)
    sizes = (2, 3)
    want = jax.lax.dynamic_slice(jnp.asarray(_X), starts, sizes)
    got = L.dynamic_slice(_X, starts, sizes)
    np.testing.assert_array_equal(got, want, err_msg=f"dynamic_slice at {starts}")
    t, ct = rng.standard_normal(_X.shape), rng.standard_normal(sizes)
    f = lambda x: L.dynamic_slice(x, starts, sizes)  # noqa: E731
    jf = lambda x: jax.lax.dynamic_slice(x, starts, sizes)  # noqa: E731
    np.testing.assert_allclose(ri.jvp(f, (_X,), (t,))[1], jax.jvp(jf, (_X,), (t,))[1])
    np.testing.assert_allclose(ri.vjp(f, _X)[1](ct)[0], jax.vjp(jf, _X)[1](ct)[0])


@pytest.mark.parametrize("starts", _STARTS)
def test_dynamic_update_slice_value_jvp_vjp(starts):
    rng = np.random.default_rng(2)
    u = rng.standard_normal((2, 3))
    want = jax.lax.dynamic_update_slice(jnp.asarray(_X), jnp.asarray(u), starts)
    got = L.dynamic_update_slice(_X, u, starts)
    np.testing.assert_array_equal(got, want, err_msg=f"dynamic_update_slice at {starts}")
    f = lambda x, v: L.dynamic_update_slice(x, v, starts)  # noqa: E731
    jf = lambda x, v: jax.lax.dynamic_update_slice(x, v, starts)  # noqa: E731
    tx, tu, ct = (
        rng.standard_normal(_X.shape),
        rng.standard_normal(u.shape),
        rng.standard_normal(_X.shape),
    )
    np.testing.assert_allclose(ri.jvp(f, (_X, u), (tx, tu))[1], jax.jvp(jf, (_X, u), (tx, tu))[1])
    for a, b in zip(ri.vjp(f, _X, u)[1](ct), jax.vjp(jf, _X, u)[1](ct), strict=True):
        np.testing.assert_allclose(a, b)


@settings(deadline=None, max_examples=25)
@given(s0=st.integers(-6, 6), s1=st.integers(-7, 7), seed=st.integers(0, 2**16))
def test_finite_differences_second_order(s0, s1, seed):
    rng = np.random.default_rng(seed)
    x, u = rng.standard_normal((4, 5)), rng.standard_normal((2, 2))

    def f(x, u):
        y = L.dynamic_update_slice(rnp.sin(x), u * u, (s0, s1))
        return rnp.tanh(L.dynamic_slice(y, (s1, s0), (3, 3)))

    check_grads(f, (x, u), order=2)


def test_dynamic_index_in_dim():
    for axis in (0, 1, -1):
        for keep in (True, False):
            got = L.dynamic_index_in_dim(_X, 2, axis, keep)
            want = jax.lax.dynamic_index_in_dim(jnp.asarray(_X), 2, axis, keep)
            np.testing.assert_array_equal(got, want, err_msg=f"axis={axis}, keepdims={keep}")


def test_vmap_batched_and_unbatched_starts():
    rng = np.random.default_rng(3)
    xs, us = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 2, 3))
    i = np.array([0, 3, -1])
    for name, f, jf, args in [
        (
            "slice, starts batched",
            lambda x, k: L.dynamic_slice(x, (k, 1), (2, 3)),
            lambda x, k: jax.lax.dynamic_slice(x, (k, 1), (2, 3)),
            (xs, i),
        ),
        (
            "update, starts batched",
            lambda x, u, k: L.dynamic_update_slice(x, u, (1, k)),
            lambda x, u, k: jax.lax.dynamic_update_slice(x, u, (1, k)),
            (xs, us, i),
        ),
    ]:
        got = ri.vmap(f)(*args)
        want = jax.vmap(jf)(*args)
        np.testing.assert_allclose(got, want, err_msg=name)
    got = ri.vmap(lambda x: L.dynamic_slice(x, (1, 2), (2, 2)))(xs)
    want = jax.vmap(lambda x: jax.lax.dynamic_slice(x, (1, 2), (2, 2)))(xs)
    np.testing.assert_allclose(got, want, err_msg="slice, starts fixed")
    got = ri.vmap(lambda u: L.dynamic_update_slice(_X, u, (2, 1)))(us)
    want = jax.vmap(lambda u: jax.lax.dynamic_update_slice(_X, u, (2, 1)))(us)
    np.testing.assert_allclose(got, want, err_msg="update of a fixed operand")
    ct = rng.standard_normal((3, 2, 3))
    g = ri.vmap(lambda x, k, c: ri.vjp(lambda y: L.dynamic_slice(y, (k, 1), (2, 3)), x)[1](c)[0])
    jg = jax.vmap(
        lambda x, k, c: jax.vjp(lambda y: jax.lax.dynamic_slice(y, (k, 1), (2, 3)), x)[1](c)[0]
    )
    np.testing.assert_allclose(g(xs, i, ct), jg(xs, i, ct), err_msg="vmap of the VJP")


def test_stop_gradient():
    def f(x):
        return rnp.sum(x * L.stop_gradient(x) ** 2)

    def jf(x):
        return jnp.sum(x * jax.lax.stop_gradient(x) ** 2)

    x = np.array([0.5, -1.5, 2.0])
    np.testing.assert_allclose(ri.grad(f)(x), jax.grad(jf)(x))
    np.testing.assert_allclose(ri.hessian(f)(x), jax.hessian(jf)(x))
    np.testing.assert_allclose(ri.jvp(f, (x,), (x,))[1], jax.jvp(jf, (x,), (x,))[1])
    np.testing.assert_allclose(
        ri.vmap(ri.grad(f))(np.stack([x, 2 * x])), jax.vmap(jax.grad(jf))(np.stack([x, 2 * x]))
    )
    tree = {"a": x, "b": (x, 3.0)}
    out = ri.grad(lambda t: rnp.sum(L.stop_gradient(t)["a"] * t["a"]))(tree)
    np.testing.assert_allclose(out["a"], x)
