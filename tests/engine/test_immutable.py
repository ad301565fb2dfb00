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


_DERIVED = {
    "a + 1": lambda a, b: a + 1.0,
    "2 * a": lambda a, b: 2.0 * a,
    "-a": lambda a, b: -a,
    "a @ b": lambda a, b: a @ b,
    "a > 0": lambda a, b: a > 0,
    "np.sin(a)": lambda a, b: np.sin(a),
    "np.maximum(a, 0)": lambda a, b: np.maximum(a, 0.0),
    "a.sum(0)": lambda a, b: a.sum(0),
    "a.mean(0)": lambda a, b: a.mean(0),
    "a.std(0)": lambda a, b: a.std(0),
    "np.var(a, 1)": lambda a, b: np.var(a, 1),
    "np.median(a, 0)": lambda a, b: np.median(a, 0),
    "np.percentile(a, 30, 0)": lambda a, b: np.percentile(a, 30, 0),
    "np.nanstd(a, 0)": lambda a, b: np.nanstd(a, 0),
    "np.cumsum(a, 1)": lambda a, b: np.cumsum(a, 1),
    "np.clip(a, 0, 1)": lambda a, b: np.clip(a, 0.0, 1.0),
    "np.dot(a, b)": lambda a, b: np.dot(a, b),
    "a[[0, 0]]": lambda a, b: a[[0, 0]],
    "a[a > 0]": lambda a, b: a[a > 0],
    "np.linalg.inv(a[:, :2])": lambda a, b: np.linalg.inv(a[:, :2]),
}


@pytest.mark.parametrize("expr", list(_DERIVED))
def test_numpy_results_of_engine_arrays_are_read_only(expr):
    """NumPy arithmetic, ufuncs, reductions and functions on an engine array give read-only
    engine arrays (same numbers as on plain arrays): item assignment and ``out=`` fail loudly,
    augmented assignment rebinds."""
    x = np.array([[0.7, -1.3, 2.1], [0.4, 1.9, -0.6]])
    y = np.array([1.5, -0.5, 2.0])
    a, b = rnp.asarray(x), rnp.asarray(y)
    q = _DERIVED[expr](a, b)
    np.testing.assert_array_equal(q, _DERIVED[expr](x, y), err_msg=f"{expr}: different numbers")
    assert type(q) is Array and not q.flags.writeable, f"{expr} gives a writeable {type(q)}"
    with pytest.raises(TypeError, match="immutable"):
        q[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        np.add(q, 1, out=q)
    path = [q]
    q -= 1
    np.testing.assert_array_equal(path[0], _DERIVED[expr](x, y), err_msg=f"{expr}: -= wrote")
    assert x[0, 0] == 0.7 and y[0] == 1.5, "the caller's arrays were changed"


def test_numpy_buffers_and_copies_stay_writeable():
    """What NumPy hands out to be written keeps NumPy's meaning: ``np.copy``, ``*_like``,
    ``.copy()`` and ``.astype()`` are writeable, and an ``out=`` buffer is not frozen."""
    a = rnp.asarray(np.array([1.0, 2.0, 3.0]))
    for name, buf in [
        ("np.copy", np.copy(a)),
        ("np.zeros_like", np.zeros_like(a)),
        ("np.full_like", np.full_like(a, 2.0)),
        ("a.copy()", a.copy()),
        ("a.astype", a.astype(np.float32)),
    ]:
        buf[0] = 7.0
        assert buf[0] == 7.0 and a[0] == 1.0, f"{name}: not a writeable copy"
    out = np.zeros_like(a)
    r = np.multiply(a, 2.0, out=out)
    assert r is out and out.flags.writeable and out[2] == 6.0, "out= buffer frozen or not filled"
    np.add(out, 1.0, out=out)
    assert out[2] == 7.0


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
        x.at[np.array([0, 0])].divide(2.0)


# --- .at with repeated positions: every update applied, as in JAX -------------------------------
_REPEATED = [
    (np.array([0, 2, 0, 0]), 1),  # position (0, 1) three times
    (1, np.array([3, 3, 0])),
    (np.array([[0, 0], [2, 0]]), slice(1, 3)),  # a 2-d index array beside a slice
    (np.array([1, 1]), np.array([2, 2])),
]
_REP_IDS = ["column", "row", "2d-and-slice", "pairs"]


def _repeated_case(name, idx, seed):
    """x (3×4) and values for x[idx], with one value equal to what it competes with (a tie)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 4))
    v = rng.standard_normal(np.empty(x.shape)[idx].shape)
    if name != "multiply":
        v.flat[0] = x[idx].flat[0]
        v.flat[-1] = v.flat[0]  # a tie between updates of one position (when theirs is shared)
    return x, v, rng


@pytest.mark.parametrize("idx", _REPEATED, ids=_REP_IDS)
@pytest.mark.parametrize("name", ["min", "max"])
def test_at_min_max_repeated_match_jax(name, idx):
    """Value, VJP (random cotangent), JVP (random tangents), vmap, vmap(grad) and grad(vmap)
    against JAX, ties included (JAX shares the derivative evenly among the tied contenders)."""
    x, v, rng = _repeated_case(name, idx, 3)

    def f(a, u):
        return getattr(a.at[idx], name)(u)

    jx, jv = jnp.asarray(x), jnp.asarray(v)
    np.testing.assert_array_equal(f(rnp.asarray(x), v), f(jx, jv), err_msg=f".{name} value")
    ct = rng.standard_normal(x.shape)
    got = ri.vjp(f, x, v)[1](ct)
    want = jax.vjp(f, jx, jv)[1](jnp.asarray(ct))
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15, err_msg=f".{name} VJP arg {k}")
    xd, vd = rng.standard_normal(x.shape), rng.standard_normal(v.shape)
    got_t = ri.jvp(f, (x, v), (xd, vd))[1]
    want_t = jax.jvp(f, (jx, jv), (jnp.asarray(xd), jnp.asarray(vd)))[1]
    np.testing.assert_allclose(got_t, want_t, rtol=1e-13, atol=1e-15, err_msg=f".{name} JVP")
    xs, vs = np.stack([x, -x, 2 * x]), np.stack([v, 0.5 * v, -v])
    jxs, jvs = jnp.asarray(xs), jnp.asarray(vs)
    np.testing.assert_array_equal(ri.vmap(f)(xs, vs), jax.vmap(f)(jxs, jvs), err_msg="vmap")
    np.testing.assert_array_equal(
        ri.vmap(lambda a: f(a, v))(xs), jax.vmap(lambda a: f(a, jv))(jxs), err_msg="vmap, v fixed"
    )
    w = rng.standard_normal(x.shape)
    pairs = [
        (
            ri.vmap(ri.grad(lambda a, u: rnp.sum(w * rnp.sin(f(a, u))), (0, 1)))(xs, vs),
            jax.vmap(jax.grad(lambda a, u: jnp.sum(w * jnp.sin(f(a, u))), (0, 1)))(jxs, jvs),
        ),
        (
            ri.grad(lambda a, u: rnp.sum(w * rnp.sin(ri.vmap(f)(a, u))), (0, 1))(xs, vs),
            jax.grad(lambda a, u: jnp.sum(w * jnp.sin(jax.vmap(f)(a, u))), (0, 1))(jxs, jvs),
        ),
    ]
    for label, (got_g, want_g) in zip(["vmap(grad)", "grad(vmap)"], pairs, strict=True):
        for a, b in zip(got_g, want_g, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=f".{name} {label}")


def _multiply_one_by_one(a, idx, u):
    """JAX's own repeated multiply, one update at a time (each a unique index, where JAX
    differentiates both arguments)."""
    target = np.empty(np.shape(a))[idx].shape
    positions = np.stack(np.unravel_index(np.arange(a.size).reshape(a.shape)[idx].ravel(), a.shape))
    u = jnp.broadcast_to(u, target).reshape(-1)
    for k in range(positions.shape[1]):
        a = a.at[tuple(positions[:, k])].multiply(u[k])
    return a


@pytest.mark.parametrize("idx", _REPEATED, ids=_REP_IDS)
def test_at_multiply_repeated_matches_jax(idx):
    """The product of all updates; x̄ against JAX's scatter_mul, v̄ (which JAX refuses for
    integer-array indices) against JAX's one-at-a-time product and a central difference,
    with a zero among the updates (the product rule, not out / v_k); vmap against jax.vmap."""
    x, v, rng = _repeated_case("multiply", idx, 5)
    v.flat[1] = 0.0

    def f(a, u):
        return a.at[idx].multiply(u)

    jx, jv = jnp.asarray(x), jnp.asarray(v)
    np.testing.assert_allclose(f(rnp.asarray(x), v), f(jx, jv), rtol=1e-15, err_msg="value")
    ct = rng.standard_normal(x.shape)
    x_bar, v_bar = ri.vjp(f, x, v)[1](ct)
    (jx_bar,) = jax.vjp(lambda a: f(a, jv), jx)[1](jnp.asarray(ct))
    np.testing.assert_allclose(x_bar, jx_bar, rtol=1e-13, atol=1e-15, err_msg="x̄ against JAX")
    jv_bar = jax.vjp(lambda u: _multiply_one_by_one(jx, idx, u), jv)[1](jnp.asarray(ct))[0]
    np.testing.assert_allclose(v_bar, jv_bar, rtol=1e-13, atol=1e-15, err_msg="v̄ against JAX")
    assert np.any(v_bar != 0.0), "a cotangent that cannot fail"
    d = rng.standard_normal(v.shape)
    h = 1e-6
    fd = (np.sum(ct * f(rnp.asarray(x), v + h * d)) - np.sum(ct * f(rnp.asarray(x), v - h * d))) / (
        2 * h
    )
    np.testing.assert_allclose(np.sum(v_bar * d), fd, rtol=1e-7, err_msg="⟨v̄, d⟩ against FD")
    xs, vs = np.stack([x, -x, 2 * x]), np.stack([v, 0.5 * v, -v])
    np.testing.assert_allclose(
        ri.vmap(f)(xs, vs),
        jax.vmap(f)(jnp.asarray(xs), jnp.asarray(vs)),
        rtol=1e-15,
        err_msg="vmap",
    )
    got = ri.vmap(ri.grad(lambda a, u: rnp.sum(ct * f(a, u)), (0, 1)))(xs, vs)
    want = jax.vmap(jax.grad(lambda a, u: jnp.sum(ct * _multiply_one_by_one(a, idx, u)), (0, 1)))(
        jnp.asarray(xs), jnp.asarray(vs)
    )
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15, err_msg="vmap(grad)")
