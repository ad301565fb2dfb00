"""``reference_impl.random`` against ``jax.random``: the same bits for the same key.

Exact equality for keys, ``bits``, ``uniform``, ``randint``, ``bernoulli``, ``permutation``,
``choice`` and ``categorical``; ``normal`` and ``truncated_normal`` are compared element by element
in ulp (XLA's ``log`` and fused multiply-adds are emulated, see ``random_erfinv``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl import random as rr

seeds = st.integers(-(2**63), 2**63 - 1)
# Shapes and sizes come from short lists: JAX compiles its random functions once per shape
# (the key is traced), so every new shape costs a compile; the seeds vary freely.
SHAPES = [(), (5,), (4, 1, 3)]


@pytest.fixture(scope="module")
def jr():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax.random


def same(ours: Any, theirs: Any, what: str) -> None:
    theirs = np.asarray(theirs)
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype}, JAX {theirs.dtype}"
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape}, JAX {theirs.shape}"
    bad = np.flatnonzero(ours.ravel() != theirs.ravel())
    assert bad.size == 0, (
        f"{what}: {bad.size} of {ours.size} elements differ, first at "
        f"{bad[0]}: {ours.ravel()[bad[0]]!r} vs JAX {theirs.ravel()[bad[0]]!r}"
    )


def ulps(a: np.ndarray, b: Any) -> np.ndarray:
    return np.abs(a.astype(np.float64).view(np.int64) - np.asarray(b, np.float64).view(np.int64))


@settings(max_examples=6)
@given(seed=seeds, num=st.sampled_from([1, 2, 6]), data=st.integers(0, 2**32 - 1))
def test_keys_split_fold_in(jr, seed: int, num: int, data: int) -> None:
    k, jk = rr.PRNGKey(seed), jr.PRNGKey(seed)
    same(k, jk, f"PRNGKey({seed})")
    same(rr.key_data(rr.key(seed)), jr.key_data(jr.key(seed)), f"key({seed})")
    same(rr.split(k, num), jr.split(jk, num), f"split(PRNGKey({seed}), {num})")
    same(rr.split(k, (2, num)), jr.split(jk, (2, num)), "split into a 2-d array of keys")
    same(rr.fold_in(k, data), jr.fold_in(jk, data), f"fold_in(PRNGKey({seed}), {data})")


@settings(max_examples=6)
@given(seed=seeds, shape=st.sampled_from(SHAPES))
def test_bits_and_uniform_bit_for_bit(jr, seed: int, shape: tuple[int, ...]) -> None:
    k, jk = rr.PRNGKey(seed), jr.PRNGKey(seed)
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        same(rr.bits(k, shape, dt), jr.bits(jk, shape, dt), f"bits {dt.__name__} {shape}")
    same(rr.bits(k, shape), jr.bits(jk, shape), "bits, default dtype")
    same(rr.uniform(k, shape), jr.uniform(jk, shape), f"uniform {shape}")
    same(rr.uniform(k, shape, np.float32), jr.uniform(jk, shape, np.float32), "uniform f32")
    same(
        rr.uniform(k, shape, minval=-2, maxval=3.5),
        jr.uniform(jk, shape, minval=-2, maxval=3.5),
        "uniform on [-2, 3.5)",
    )


@settings(max_examples=6)
@given(seed=seeds, lo=st.integers(-50, 50), span=st.integers(-3, 2**40))
def test_randint_bit_for_bit(jr, seed: int, lo: int, span: int) -> None:
    k, jk = rr.PRNGKey(seed), jr.PRNGKey(seed)
    same(
        rr.randint(k, (3, 4), lo, lo + span),
        jr.randint(jk, (3, 4), lo, lo + span),
        f"randint [{lo}, {lo + span})",
    )
    same(
        rr.randint(k, (6,), lo, lo + 7, np.int8),
        jr.randint(jk, (6,), lo, lo + 7, np.int8),
        "randint int8",
    )
    same(
        rr.randint(k, (6,), lo, lo + 9, np.int32),
        jr.randint(jk, (6,), lo, lo + 9, np.int32),
        "randint int32",
    )


@settings(max_examples=6)
@given(seed=seeds, p=st.floats(0.0, 1.0), n=st.sampled_from([1, 9, 40]))
def test_bernoulli_permutation_choice(jr, seed: int, p: float, n: int) -> None:
    import jax.numpy as jnp

    k, jk = rr.PRNGKey(seed), jr.PRNGKey(seed)
    same(rr.bernoulli(k, p, (n,)), jr.bernoulli(jk, p, (n,)), f"bernoulli({p})")
    same(
        rr.bernoulli(k, np.full((2, 3), p)),
        jr.bernoulli(jk, jnp.full((2, 3), p)),
        "bernoulli with an array p",
    )
    same(rr.permutation(k, n), jr.permutation(jk, n), f"permutation({n})")
    x = np.arange(3.0 * n).reshape(3, n)
    for axis in (0, 1):
        same(rr.permutation(k, x, axis), jr.permutation(jk, x, axis), f"permutation axis {axis}")
        same(
            rr.permutation(k, x, axis, independent=True),
            jr.permutation(jk, x, axis, independent=True),
            "independent permutation",
        )
    same(rr.choice(k, n, (5,)), jr.choice(jk, n, (5,)), "choice with replacement")
    m = min(n, 4)
    same(
        rr.choice(k, n, (m,), replace=False),
        jr.choice(jk, n, (m,), replace=False),
        "choice without replacement",
    )
    prob = np.arange(1.0, n + 1) / np.sum(np.arange(1.0, n + 1))
    same(
        rr.choice(k, x, (2, 2), p=prob, axis=1),
        jr.choice(jk, x, (2, 2), p=prob, axis=1),
        "choice with p",
    )
    same(
        rr.choice(k, n, (m,), replace=False, p=prob),
        jr.choice(jk, n, (m,), replace=False, p=prob),
        "choice with p, no replacement",
    )


def test_permutation_of_a_large_array_takes_two_rounds(jr) -> None:
    k, jk = rr.PRNGKey(3), jr.PRNGKey(3)
    same(rr.permutation(k, 3000), jr.permutation(jk, 3000), "permutation(3000)")


@settings(max_examples=6)
@given(seed=seeds, rows_cols=st.sampled_from([(1, 2), (3, 5), (4, 6)]))
def test_categorical_bit_for_bit(jr, seed: int, rows_cols: tuple[int, int]) -> None:
    rows, cols = rows_cols
    k, jk = rr.PRNGKey(seed), jr.PRNGKey(seed)
    logits = np.random.default_rng(abs(seed) % 2**32).normal(size=(rows, cols))
    same(rr.categorical(k, logits), jr.categorical(jk, logits), "categorical")
    same(rr.categorical(k, logits, axis=0), jr.categorical(jk, logits, axis=0), "axis 0")
    same(
        rr.categorical(k, logits, shape=(3, rows)),
        jr.categorical(jk, logits, shape=(3, rows)),
        "categorical with a sample shape",
    )
    same(
        rr.categorical(k, logits, shape=(2, rows), replace=False),
        jr.categorical(jk, logits, shape=(2, rows), replace=False),
        "without replacement",
    )


def test_normal_and_truncated_normal_within_a_few_ulp(jr) -> None:
    n, jn = rr.normal(rr.PRNGKey(7), (20000,)), np.asarray(jr.normal(jr.PRNGKey(7), (20000,)))
    d = ulps(n, jn)
    assert n.dtype == jn.dtype and d.max() <= 4 and np.mean(d == 0) > 0.99, (
        f"normal: {np.mean(d == 0):.4f} identical, max {d.max()} ulp"
    )
    t = rr.truncated_normal(rr.PRNGKey(1), -1.0, 2.0, (5000,))
    jt = np.asarray(jr.truncated_normal(jr.PRNGKey(1), -1.0, 2.0, (5000,)))
    d = ulps(t, jt)
    assert d.max() <= 4 and np.mean(d == 0) > 0.98, (
        f"truncated_normal: {np.mean(d == 0):.4f} identical, max {d.max()} ulp"
    )
    assert np.all((t > -1.0) & (t < 2.0)), "truncated_normal left its bounds"
    assert np.isclose(np.std(rr.normal(rr.PRNGKey(0), (20000,))), 1.0, atol=0.03)


@settings(max_examples=6)
@given(seed=seeds)
def test_normal_shapes_and_dtypes(jr, seed: int) -> None:
    k, jk = rr.PRNGKey(seed), jr.PRNGKey(seed)
    for shape in [(), (3,), (2, 3)]:
        n, jn = rr.normal(k, shape), np.asarray(jr.normal(jk, shape))
        assert n.shape == jn.shape and ulps(n, jn).max() <= 4, f"normal{shape}: {n} vs {jn}"
    n32 = rr.normal(k, (5,), np.float32)
    np.testing.assert_allclose(n32, jr.normal(jk, (5,), np.float32), rtol=1e-6, atol=1e-6)
    assert n32.dtype == np.float32


def test_uniform_is_differentiable_in_its_bounds(jr) -> None:
    import jax

    k = rr.PRNGKey(0)

    def f(lo, hi):
        return rnp.sum(rr.uniform(k, (4,), minval=lo, maxval=hi) ** 2)

    def jf(lo, hi):
        return jax.numpy.sum(jr.uniform(jr.PRNGKey(0), (4,), minval=lo, maxval=hi) ** 2)

    ours = ri.grad(f, argnums=(0, 1))(-1.0, 2.0)
    theirs = jax.grad(jf, argnums=(0, 1))(-1.0, 2.0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, err_msg="d uniform / d bounds")


def test_errors_name_the_problem() -> None:
    with pytest.raises(TypeError, match=r"random\.normal: expected a single key"):
        rr.normal(rr.split(rr.PRNGKey(0), 3))
    with pytest.raises(TypeError, match="seed must be a scalar integer"):
        rr.PRNGKey(1.5)
    with pytest.raises(ValueError, match="larger sample"):
        rr.choice(rr.PRNGKey(0), 3, (4,), replace=False)
    with pytest.raises(TypeError, match="floating dtype"):
        rr.bernoulli(rr.PRNGKey(0), 1)


def test_rademacher_exponential_laplace_multivariate_normal(jr) -> None:
    k, jk = rr.PRNGKey(5), jr.PRNGKey(5)
    same(rr.rademacher(k, (40,)), jr.rademacher(jk, (40,)), "rademacher")
    same(
        rr.rademacher(k, (3, 2), np.float64),
        jr.rademacher(jk, (3, 2), np.float64),
        "rademacher float64",
    )
    for name in ("exponential", "laplace"):
        ours, theirs = getattr(rr, name)(k, (4000,)), np.asarray(getattr(jr, name)(jk, (4000,)))
        d = ulps(ours, theirs)
        assert d.max() <= 2 and np.mean(d == 0) > 0.98, (
            f"{name}: {np.mean(d == 0):.4f} identical, max {d.max()} ulp"
        )
    cov, mean = np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -1.0])
    np.testing.assert_allclose(
        rr.multivariate_normal(k, mean, cov, (5,)),
        jr.multivariate_normal(jk, mean, cov, (5,)),
        rtol=1e-13,
        err_msg="multivariate_normal",
    )
    with pytest.raises(ValueError, match="cov of shape"):
        rr.multivariate_normal(k, mean, np.eye(3))
