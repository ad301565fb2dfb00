"""Arrays the engine returns cannot change behind the user's back, and ``x.at[idx]`` updates.

JAX arrays are immutable: ``p -= lr * g`` rebinds ``p``, ``x[i] = v`` raises, and
``jnp.asarray(x)`` is a copy the caller's later writes cannot reach. These tests pin the same
behaviour on ``reference_impl`` (the silent wrong numbers of issue 19), then check
``.at[idx].set/add/multiply/min/max/get`` against JAX: values, gradients with random
cotangents, and ``vmap`` against ``jax.vmap``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.array import Array

jax.config.update("jax_enable_x64", True)


def _loss(p):
    return rnp.sum(rnp.sin(p) ** 2)


# --- immutability -----------------------------------------------------------------------------
def test_training_loop_keeps_every_iterate():
    g = ri.grad(_loss)
    p = rnp.asarray(np.array([0.3, -1.2, 2.0]))
    path = [p]
    for _ in range(4):
        p -= 0.5 * g(p)
        path.append(p)
    jp = jnp.array([0.3, -1.2, 2.0])
    jpath = [jp]
    for _ in range(4):
        jp -= 0.5 * jax.grad(lambda q: jnp.sum(jnp.sin(q) ** 2))(jp)
        jpath.append(jp)
    assert len({id(a) for a in path}) == len(path), "p -= … must rebind p to a new array"
    for k, (a, b) in enumerate(zip(path, jpath, strict=True)):
        np.testing.assert_allclose(a, b, rtol=1e-12, err_msg=f"iterate {k} differs from JAX's")


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "**=", "@="])
def test_augmented_assignment_rebinds(op):
    a = rnp.asarray(np.array([[1.0, 2.0], [3.0, 4.0]]))
    before = np.array(a)
    b = a
    namespace = {"b": b, "c": np.array([[0.5, 0.25], [2.0, 1.0]])}
    exec(f"b {op} c", namespace)
    assert namespace["b"] is not a, f"{op} must rebind, not write into the engine's array"
    np.testing.assert_array_equal(a, before, err_msg=f"{op} changed the original array")


def test_item_assignment_raises_with_the_fix_in_the_message():
    g = ri.grad(_loss)(np.array([0.1, 0.2]))
    with pytest.raises(TypeError, match=r"x = x\.at\[idx\]\.set\(y\)"):
        g[0] = 1.0
    with pytest.raises(TypeError, match=r"\.at\[idx\]"):
        g.T[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(g)[0] = 1.0  # a plain view of an immutable array is read-only too

    def f(x):
        x[0] = 1.0
        return rnp.sum(x)

    with pytest.raises(TypeError, match=r"x = x\.at\[idx\]\.set\(y\)"):
        ri.grad(f)(np.array([1.0, 2.0]))


def test_asarray_never_aliases_the_callers_array():
    x = np.array([1.0, 2.0, 3.0])
    a = rnp.asarray(x)
    r = rnp.reshape(x, (3, 1))
    t = rnp.transpose(x)
    x[0] = 100.0
    assert a[0] == 1.0 and r[0, 0] == 1.0 and t[0] == 1.0, (
        "a later write to the caller's array reached an array the engine returned"
    )
    assert rnp.asarray(a) is a, "an immutable engine array needs no copy"
    assert isinstance(a, Array) and not a.flags.writeable


def test_transformations_do_not_hand_back_the_callers_arrays():
    x, v = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    out, out_dot = ri.jvp(lambda z: z, (x,), (v,))
    y, pull = ri.vjp(lambda z: z, x)
    ct = np.array([3.0, 4.0])
    (x_bar,) = pull(ct)
    batched = ri.vmap(lambda z: z)(x)
    x[:] = -1.0
    v[:] = -1.0
    ct[:] = -1.0
    for name, arr, want in [
        ("jvp value", out, [1.0, 2.0]),
        ("jvp tangent", out_dot, [0.5, -0.5]),
        ("vjp value", y, [1.0, 2.0]),
        ("vjp cotangent", x_bar, [3.0, 4.0]),
        ("vmap", batched, [1.0, 2.0]),
    ]:
        np.testing.assert_array_equal(arr, want, err_msg=f"{name} aliases the caller's array")


def test_repr_and_pickle_are_numpys():
    import pickle

    a = rnp.asarray(np.array([1.0, 2.0]))
    assert repr(a) == "array([1., 2.])", repr(a)
    b = pickle.loads(pickle.dumps(a))
    assert type(b) is np.ndarray and b.flags.writeable


def test_derived_arrays_rebind_too():
    p = rnp.zeros(3)
    q = p + 1.0  # NumPy arithmetic on an engine array gives an engine array
    path = [q]
    q += 1.0
    assert path[0][0] == 1.0 and q[0] == 2.0, "+= on a derived array must rebind as well"


# --- .at ----------------------------------------------------------------------------------------
_X = np.array([[0.7, -1.3, 2.1], [0.4, 1.9, -0.6], [1.1, 0.2, -2.4]])
_UPDATES = [
    ("set", (1, slice(None)), np.array([5.0, -4.0, 3.0])),
    ("set", (slice(None), 2), 0.5),
    ("add", (np.array([0, 2, 0]), 1), np.array([1.5, -2.0, 0.25])),  # repeated: accumulates
    ("multiply", (0, slice(1, None)), np.array([2.0, -3.0])),
    ("min", (slice(None), 0), np.array([0.5, 0.5, 0.5])),
    ("max", (2, np.array([0, 2])), np.array([1.5, -3.0])),
    ("get", (np.array([2, 0]),), None),
]


def _update(x, name, idx, v):
    ref = x.at[idx]
    return ref.get() if name == "get" else getattr(ref, name)(v)


@pytest.mark.parametrize(("name", "idx", "v"), _UPDATES, ids=[u[0] for u in _UPDATES])
def test_at_matches_jax_value_and_vjp(name, idx, v):
    rng = np.random.default_rng(19)
    want = _update(jnp.asarray(_X), name, idx, None if v is None else jnp.asarray(v))
    got = _update(rnp.asarray(_X), name, idx, v)
    np.testing.assert_allclose(got, want, rtol=1e-13, err_msg=f".at[{idx}].{name}")
    ct = rng.standard_normal(np.shape(want))
    if v is None:
        _, pull = ri.vjp(lambda x: _update(x, name, idx, None), _X)
        _, jpull = jax.vjp(lambda x: _update(x, name, idx, None), jnp.asarray(_X))
    else:
        _, pull = ri.vjp(lambda x, u: _update(x, name, idx, u), _X, np.asarray(v, float))
        _, jpull = jax.vjp(
            lambda x, u: _update(x, name, idx, u), jnp.asarray(_X), jnp.asarray(v, float)
        )
    for k, (a, b) in enumerate(zip(pull(ct), jpull(jnp.asarray(ct)), strict=True)):
        np.testing.assert_allclose(
            a, b, rtol=1e-12, atol=1e-14, err_msg=f"cotangent of argument {k} of .at[{idx}].{name}"
        )


@pytest.mark.parametrize(("name", "idx", "v"), _UPDATES, ids=[u[0] for u in _UPDATES])
def test_at_jvp_matches_jax(name, idx, v):
    rng = np.random.default_rng(7)
    x_dot = rng.standard_normal(_X.shape)
    f = (
        (lambda x: _update(x, name, idx, None))
        if v is None
        else (lambda x: _update(x, name, idx, v * 1.0))
    )
    _, got = ri.jvp(f, (_X,), (x_dot,))
    _, want = jax.jvp(f, (jnp.asarray(_X),), (jnp.asarray(x_dot),))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, err_msg=f"JVP of .{name}")


@pytest.mark.parametrize(("name", "idx", "v"), _UPDATES, ids=[u[0] for u in _UPDATES])
def test_at_vmap_matches_jax(name, idx, v):
    xs = np.stack([_X, 2 * _X, -_X])
    if v is None:
        got = ri.vmap(lambda x: _update(x, name, idx, None))(xs)
        want = jax.vmap(lambda x: _update(x, name, idx, None))(jnp.asarray(xs))
    else:
        vs = np.stack([np.asarray(v, float) * s for s in (1.0, -1.0, 0.5)])
        got = ri.vmap(lambda x, u: _update(x, name, idx, u))(xs, vs)
        want = jax.vmap(lambda x, u: _update(x, name, idx, u))(jnp.asarray(xs), jnp.asarray(vs))
        got1 = ri.vmap(lambda x: _update(x, name, idx, v))(xs)  # the update not batched
        want1 = jax.vmap(lambda x: _update(x, name, idx, v))(jnp.asarray(xs))
        np.testing.assert_allclose(got1, want1, rtol=1e-13, err_msg=f"vmap .{name}, v fixed")
    np.testing.assert_allclose(got, want, rtol=1e-13, err_msg=f"vmap of .at[{idx}].{name}")


def test_at_leaves_the_original_alone_and_rejects_repeats_it_cannot_combine():
    x = rnp.asarray(np.arange(4.0))
    y = x.at[1].set(10.0)
    assert x[1] == 1.0 and y[1] == 10.0
    with pytest.raises(NotImplementedError, match="more than once"):
        x.at[np.array([0, 0])].multiply(2.0)
