"""``reference_impl.nn`` against ``jax.nn``: values, derivatives in both modes (against JAX,
including JAX's conventions at kinks, and central differences), and initializers bit for bit."""

from __future__ import annotations

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


@FAST
@given(x=arrays(shape=(5,)))
def test_activations_values_and_derivatives(jax, x) -> None:
    kinks = np.array([-6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0])  # JAX's conventions at the kinks
    for name in ELEMENTWISE:
        ours, theirs = getattr(ri.nn, name), getattr(jax.nn, name)
        for v in (x, kinks):
            close(ours(v), theirs(v), f"nn.{name}({v})")
            close(ri.vmap(ri.grad(ours))(v), jax.vmap(jax.grad(theirs))(v), f"nn.{name}' at {v}")
            close(ri.jacfwd(ours)(v), jax.jacfwd(theirs)(v), f"jacfwd nn.{name} at {v}")
    close(ri.nn.gelu(x, approximate=False), jax.nn.gelu(x, approximate=False), "exact gelu")
    close(
        ri.grad(lambda v: rnp.sum(ri.nn.gelu(v, False)))(x),
        jax.grad(lambda v: jax.numpy.sum(jax.nn.gelu(v, False)))(x),
        "exact gelu'",
    )
    close(ri.nn.leaky_relu(x, 0.3), jax.nn.leaky_relu(x, 0.3), "leaky_relu slope 0.3")
    close(ri.nn.elu(x, 0.5), jax.nn.elu(x, 0.5), "elu alpha 0.5")
    for name in SMOOTH:
        check_grads(getattr(ri.nn, name), (x,), order=2)
    check_grads(lambda v: ri.nn.gelu(v, approximate=False), (x,), order=2)


@FAST
@given(x=arrays(shape=(3, 4)), axis=st.sampled_from([-1, 0, 1, (0, 1)]))
def test_softmax_family(jax, x, axis) -> None:
    rng = np.random.default_rng(0)
    for name in ("softmax", "log_softmax", "logsumexp", "standardize"):
        ours, theirs = getattr(ri.nn, name), getattr(jax.nn, name)
        close(ours(x, axis=axis), theirs(x, axis=axis), f"{name}(axis={axis})")
        w = rng.normal(size=np.shape(theirs(x, axis=axis)))  # a random cotangent
        close(
            ri.grad(lambda v, f=ours, w=w: rnp.sum(f(v, axis=axis) * w))(x),
            jax.grad(lambda v, f=theirs, w=w: jax.numpy.sum(f(v, axis=axis) * w))(x),
            f"grad {name}(axis={axis})",
            rtol=1e-10,
        )
        check_grads(lambda v, f=ours: f(v, axis=axis), (x,), order=2)
    close(ri.vmap(ri.nn.softmax)(x), jax.vmap(jax.nn.softmax)(x), "vmap softmax")
    close(ri.nn.glu(x, axis=1), jax.nn.glu(x, axis=1), "glu")


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


@settings(max_examples=4, database=None, phases=(Phase.generate,))
@given(
    seed=st.integers(0, 2**32 - 1), shape=st.sampled_from([(3, 4), (5, 2), (3, 3, 2, 4), (7, 1)])
)
def test_initializers_same_numbers_as_jax(jax, seed, shape) -> None:
    k, jk = ri.random.PRNGKey(seed), jax.random.PRNGKey(seed)
    I, J = ri.nn.initializers, jax.nn.initializers
    for name in INITS:
        a, b = getattr(I, name)()(k, shape), np.asarray(getattr(J, name)()(jk, shape))
        assert a.shape == b.shape and a.dtype == b.dtype, f"{name}: {a.shape} vs {b.shape}"
        close(a, b, f"initializers.{name}(){shape}", rtol=1e-14)
    for ours, theirs, what in [
        (I.normal(0.3), J.normal(0.3), "normal"),
        (I.uniform(0.5), J.uniform(0.5), "uniform"),
        (I.truncated_normal(2.0), J.truncated_normal(2.0), "trunc"),
        (
            I.variance_scaling(0.7, "fan_out", "normal"),
            J.variance_scaling(0.7, "fan_out", "normal"),
            "fan_out",
        ),
        (
            I.variance_scaling(1.3, "fan_geo_avg", "uniform", in_axis=0, out_axis=1),
            J.variance_scaling(1.3, "fan_geo_avg", "uniform", in_axis=0, out_axis=1),
            "fan_geo_avg",
        ),
    ]:
        close(ours(k, shape), theirs(jk, shape), f"initializers.{what}", rtol=1e-14)
    close(I.zeros(k, shape), J.zeros(jk, shape), "zeros")
    close(I.ones(k, shape), J.ones(jk, shape), "ones")
    close(I.constant(2.5)(k, shape), J.constant(2.5)(jk, shape), "constant")


def test_initializer_errors() -> None:
    with pytest.raises(ValueError, match="1-dimensional weights tensor with default in_axis"):
        ri.nn.initializers.glorot_uniform()(ri.random.PRNGKey(0), (3,))
    with pytest.raises(ValueError, match="invalid mode"):
        ri.nn.initializers.variance_scaling(1.0, "fan", "normal")(ri.random.PRNGKey(0), (2, 2))
