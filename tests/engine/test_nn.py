"""``reference_impl.nn`` against ``jax.nn``: values, derivatives in both modes (against JAX,
including JAX's conventions at kinks, and central differences), and initializers bit for bit."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.testing import check_grads
from tests.engine.strategies import arrays

ELEMENTWISE = [
    "relu",
    "relu6",
    "sigmoid",
    "softplus",
    "sparse_plus",
    "soft_sign",
    "silu",
    "swish",
    "log_sigmoid",
    "elu",
    "celu",
    "selu",
    "leaky_relu",
    "hard_tanh",
    "hard_sigmoid",
    "hard_silu",
    "gelu",
    "tanh",
]
SMOOTH = ["sigmoid", "softplus", "silu", "log_sigmoid", "gelu", "tanh"]  # C² everywhere
FAST = settings(max_examples=6, database=None, phases=(Phase.generate,))


@pytest.fixture(scope="module")
def jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def close(a, b, msg: str, rtol: float = 1e-12) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=1e-13, err_msg=msg)


KINKS = np.array([-6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0])  # JAX's conventions at the kinks


@functools.cache
def jax_activations(jax):
    """JAX's side of the activation test as one jitted program (compiled once per session:
    eagerly, every JAX primitive of every derivative is compiled on its own)."""

    def run(v, x):
        out = {}
        for name in ELEMENTWISE:
            f = getattr(jax.nn, name)
            out[name] = (f(v), jax.vmap(jax.grad(f))(v), jax.jacfwd(f)(v))
        g = jax.nn.gelu
        out["exact gelu"] = g(x, approximate=False)
        out["exact gelu'"] = jax.grad(lambda u: jax.numpy.sum(g(u, False)))(x)
        out["leaky_relu slope 0.3"] = jax.nn.leaky_relu(x, 0.3)
        out["elu alpha 0.5"] = jax.nn.elu(x, 0.5)
        return out

    return jax.jit(run)


@FAST
@given(x=arrays(shape=(5,)))
def test_activations_values_and_derivatives(jax, x) -> None:
    x = np.where(np.abs(x) < np.finfo(float).tiny, 0.0, x)  # jitted XLA flushes subnormals
    v = np.concatenate([x, KINKS])
    want = jax_activations(jax)(v, x)
    for name in ELEMENTWISE:
        ours = getattr(ri.nn, name)
        value, deriv, jac = want[name]
        close(ours(v), value, f"nn.{name}({v})")
        close(ri.vmap(ri.grad(ours))(v), deriv, f"nn.{name}' at {v}")
        close(ri.jacfwd(ours)(v), jac, f"jacfwd nn.{name} at {v}")
    close(ri.nn.gelu(x, approximate=False), want["exact gelu"], "exact gelu")
    close(ri.grad(lambda v: rnp.sum(ri.nn.gelu(v, False)))(x), want["exact gelu'"], "exact gelu'")
    close(ri.nn.leaky_relu(x, 0.3), want["leaky_relu slope 0.3"], "leaky_relu slope 0.3")
    close(ri.nn.elu(x, 0.5), want["elu alpha 0.5"], "elu alpha 0.5")
    for name in SMOOTH:
        check_grads(getattr(ri.nn, name), (x,), order=2)
    check_grads(lambda v: ri.nn.gelu(v, approximate=False), (x,), order=2)


SOFTMAX_FAMILY = ("softmax", "log_softmax", "logsumexp", "standardize")


@functools.cache
def jax_softmax_family(jax, axis):
    """JAX's values and gradients (cotangents ``ws``) of the softmax family along ``axis``, and
    vmap(softmax) and glu, as one jitted program per axis."""

    def run(x, ws):
        out = {}
        for name, w in zip(SOFTMAX_FAMILY, ws, strict=True):
            f = getattr(jax.nn, name)
            grad = jax.grad(lambda v, f=f, w=w: jax.numpy.sum(f(v, axis=axis) * w))(x)
            out[name] = (f(x, axis=axis), grad)
        out["vmap softmax"] = jax.vmap(jax.nn.softmax)(x)
        out["glu"] = jax.nn.glu(x, axis=1)
        return out

    return jax.jit(run)


@FAST
@given(x=arrays(shape=(3, 4)), axis=st.sampled_from([-1, 0, 1, (0, 1)]))
def test_softmax_family(jax, x, axis) -> None:
    x = np.where(np.abs(x) < np.finfo(float).tiny, 0.0, x)  # jitted XLA flushes subnormals
    rng = np.random.default_rng(0)
    ws = [rng.normal(size=np.shape(getattr(ri.nn, n)(x, axis=axis))) for n in SOFTMAX_FAMILY]
    want = jax_softmax_family(jax, axis)(x, ws)  # random cotangents
    for name, w in zip(SOFTMAX_FAMILY, ws, strict=True):
        ours = getattr(ri.nn, name)
        value, grad = want[name]
        close(ours(x, axis=axis), value, f"{name}(axis={axis})")
        close(
            ri.grad(lambda v, f=ours, w=w: rnp.sum(f(v, axis=axis) * w))(x),
            grad,
            f"grad {name}(axis={axis})",
            rtol=1e-10,
        )
        check_grads(lambda v, f=ours: f(v, axis=axis), (x,), order=2)
    close(ri.vmap(ri.nn.softmax)(x), want["vmap softmax"], "vmap softmax")
    close(ri.nn.glu(x, axis=1), want["glu"], "glu")


def test_softmax_of_large_logits_is_finite(jax) -> None:
    x = np.array([1000.0, 1001.0, -1000.0])
    close(ri.nn.softmax(x), jax.nn.softmax(x), "softmax of large logits")
    close(ri.nn.log_softmax(x), jax.nn.log_softmax(x), "log_softmax of large logits")


def test_one_hot(jax) -> None:
    idx = np.array([[0, 2], [3, -1]])
    for axis in (-1, 0, 1):
        close(
            ri.nn.one_hot(idx, 3, axis=axis),
            jax.nn.one_hot(idx, 3, axis=axis),
            f"one_hot axis {axis}",
        )
    assert ri.nn.one_hot(idx, 3, dtype=np.float32).dtype == np.float32


INITS = [
    "glorot_uniform",
    "glorot_normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "lecun_uniform",
    "lecun_normal",
]


def _initializer_pairs(I):
    """(name, initializer) pairs of ``I`` (``ri.nn.initializers`` or ``jax.nn.initializers``)."""
    return [(name, getattr(I, name)()) for name in INITS] + [
        ("normal", I.normal(0.3)),
        ("uniform", I.uniform(0.5)),
        ("trunc", I.truncated_normal(2.0)),
        ("fan_out", I.variance_scaling(0.7, "fan_out", "normal")),
        (
            "fan_geo_avg",
            I.variance_scaling(1.3, "fan_geo_avg", "uniform", in_axis=0, out_axis=1),
        ),
        ("zeros", I.zeros),
        ("ones", I.ones),
        ("constant", I.constant(2.5)),
    ]


@functools.cache
def jax_initializers(jax):
    """Every JAX initializer at one key, jitted (one program per shape, the key traced)."""
    pairs = _initializer_pairs(jax.nn.initializers)
    return jax.jit(lambda k, shape: {n: init(k, shape) for n, init in pairs}, static_argnums=1)


@settings(max_examples=4, database=None, phases=(Phase.generate,))
@given(
    seed=st.integers(0, 2**32 - 1), shape=st.sampled_from([(3, 4), (5, 2), (3, 3, 2, 4), (7, 1)])
)
def test_initializers_same_numbers_as_jax(jax, seed, shape) -> None:
    k = ri.random.PRNGKey(seed)
    want = jax_initializers(jax)(jax.random.PRNGKey(seed), shape)
    for name, init in _initializer_pairs(ri.nn.initializers):
        a, b = init(k, shape), np.asarray(want[name])
        assert a.shape == b.shape and a.dtype == b.dtype, f"{name}: {a.shape} vs {b.shape}"
        close(a, b, f"initializers.{name}{shape}", rtol=1e-14)


def test_initializer_errors() -> None:
    with pytest.raises(ValueError, match="1-dimensional weights tensor with default in_axis"):
        ri.nn.initializers.glorot_uniform()(ri.random.PRNGKey(0), (3,))
    with pytest.raises(ValueError, match="invalid mode"):
        ri.nn.initializers.variance_scaling(1.0, "fan", "normal")(ri.random.PRNGKey(0), (2, 2))
