"""``reference_impl.scipy.stats`` against ``jax.scipy.stats``: values (tails included) and
derivatives with respect to every continuous argument, against JAX and central differences."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.scipy import stats
from reference_impl.testing import check_grads
from tests.engine.strategies import arrays as _arrays


def arrays(shape: tuple[int, ...]) -> st.SearchStrategy:
    """Rounded: no subnormal numbers, which XLA flushes to zero and NumPy does not."""
    return _arrays(shape=shape).map(lambda a: np.round(a, 6))


FAST = settings(max_examples=6, database=None, phases=(Phase.generate,))
params = st.tuples(st.floats(-2, 2), st.floats(0.3, 3)).map(
    lambda t: (round(t[0], 3), round(t[1], 3))
)


@pytest.fixture(scope="module")
def js():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.scipy.stats as js

    return js


def close(a, b, msg: str, rtol: float = 1e-12) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=1e-300, err_msg=msg)


NORM = ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf")


@functools.cache
def jax_norm(js):
    """JAX's norm functions, their gradients in (x, loc, scale), ppf and its first two
    derivatives, as jitted programs: compiled once, not one eager compile per JAX primitive."""
    import jax

    def values_and_grads(x, loc, scale):
        out = {}
        for name in NORM:
            f = getattr(js.norm, name)
            g = jax.grad(lambda v, lc, sc, f=f: jax.numpy.sum(f(v, lc, sc)), (0, 1, 2))
            out[name] = (f(x, loc, scale), g(x, loc, scale))
        return out

    def ppf(q, loc, scale):
        d1 = jax.vmap(jax.grad(js.norm.ppf))(q)
        return js.norm.ppf(q, loc, scale), d1, jax.vmap(jax.grad(jax.grad(js.norm.ppf)))(q)

    return jax.jit(values_and_grads), jax.jit(ppf)


@FAST
@given(x=arrays(shape=(5,)), p=params)
def test_norm(js, x, p) -> None:
    loc, scale = p
    x = np.concatenate([x, [-45.0, -21.0, -19.0, 9.0, 30.0]])  # the pieces of log Φ
    want = jax_norm(js)[0](x, loc, scale)
    for name in NORM:
        ours = getattr(stats.norm, name)
        value, jg = want[name]
        close(ours(x, loc, scale), value, f"norm.{name}", rtol=1e-11)
        g = ri.grad(lambda v, lc, sc, f=ours: rnp.sum(f(v, lc, sc)), (0, 1, 2))(x, loc, scale)
        for k in range(3):
            close(g[k], jg[k], f"d norm.{name} / d argument {k}", rtol=1e-9)
    check_grads(lambda v, s: stats.norm.logpdf(v, loc, s), (x[:5], scale), order=2)
    check_grads(lambda v: stats.norm.logcdf(v, loc, scale), (x[:5],), order=2)


@FAST
@given(q=arrays(shape=(4,)), p=params)
def test_norm_ppf(js, q, p) -> None:
    loc, scale = p
    q = 1.0 / (1.0 + np.exp(-q))  # in (0, 1)
    value, d1, d2 = jax_norm(js)[1](q, loc, scale)
    close(stats.norm.ppf(q, loc, scale), value, "norm.ppf")
    close(ri.vmap(ri.grad(stats.norm.ppf))(q), d1, "norm.ppf'", rtol=1e-10)
    close(ri.vmap(ri.grad(ri.grad(stats.norm.ppf)))(q), d2, "norm.ppf''", rtol=1e-9)
    close(stats.norm.cdf(stats.norm.ppf(q)), q, "cdf(ppf(q)) = q", rtol=1e-12)


@functools.cache
def jax_mvn(js):
    """JAX's multivariate normal logpdf (a batch), pdf (one point) and the gradient of the
    summed logpdf in (x, mean, cov), jitted."""
    import jax

    mvn = js.multivariate_normal

    def run(x, mean, cov):
        g = jax.grad(lambda v, m, c: jax.numpy.sum(mvn.logpdf(v, m, c)), (0, 1, 2))
        return mvn.logpdf(x, mean, cov), mvn.pdf(x[0], mean, cov), g(x, mean, cov)

    return jax.jit(run)


@FAST
@given(x=arrays(shape=(4, 3)), seed=st.integers(0, 2**32 - 1))
def test_multivariate_normal(js, x, seed) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(3, 3))
    cov, mean = a @ a.T + np.eye(3), rng.normal(size=3)
    logpdf, pdf, jg = jax_mvn(js)(x, mean, cov)
    close(stats.multivariate_normal.logpdf(x, mean, cov), logpdf, "mvn.logpdf (batch)")
    close(stats.multivariate_normal.pdf(x[0], mean, cov), pdf, "mvn.pdf")
    g = ri.grad(lambda v, m, c: rnp.sum(stats.multivariate_normal.logpdf(v, m, c)), (0, 1, 2))(
        x, mean, cov
    )
    for k in range(3):
        close(g[k], jg[k], f"d mvn.logpdf / d argument {k}", rtol=1e-9)
    check_grads(lambda v, m: stats.multivariate_normal.logpdf(v, m, cov), (x, mean), order=2)


@FAST
@given(x=arrays(shape=(5,)), p=params, df=st.floats(0.5, 30).map(lambda d: round(d, 2)))
def test_t_and_uniform(js, x, p, df) -> None:
    import jax

    loc, scale = p
    close(stats.t.logpdf(x, df, loc, scale), js.t.logpdf(x, df, loc, scale), "t.logpdf", rtol=1e-11)
    close(stats.t.pdf(x, df, loc, scale), js.t.pdf(x, df, loc, scale), "t.pdf", rtol=1e-11)
    g = ri.grad(lambda v, d: rnp.sum(stats.t.logpdf(v, d, loc, scale)), (0, 1))(x, df)
    jg = jax.grad(lambda v, d: jax.numpy.sum(js.t.logpdf(v, d, loc, scale)), (0, 1))(x, df)
    close(g[0], jg[0], "d t.logpdf / dx", rtol=1e-10)
    close(g[1], jg[1], "d t.logpdf / d df", rtol=1e-9)
    for name in ("logpdf", "pdf", "cdf"):
        close(
            getattr(stats.uniform, name)(x, loc, scale),
            getattr(js.uniform, name)(x, loc, scale),
            f"uniform.{name}",
        )


def test_discrete(js) -> None:
    import jax

    k = np.array([-1.0, 0.0, 1.0, 2.0, 2.5, 7.0])
    poisson = jax.jit(
        lambda m: (
            js.poisson.logpmf(k, m),
            js.poisson.pmf(k, m),
            jax.grad(lambda m: jax.numpy.sum(js.poisson.logpmf(k[1:4], m)))(m),
        )
    )
    for mu in (0.4, 2.3):
        logpmf, pmf, dmu = poisson(mu)
        close(stats.poisson.logpmf(k, mu), logpmf, "poisson.logpmf")
        close(stats.poisson.pmf(k, mu), pmf, "poisson.pmf")
        close(ri.grad(lambda m: rnp.sum(stats.poisson.logpmf(k[1:4], m)))(mu), dmu, "d/dmu")
    bernoulli = jax.jit(lambda p: (js.bernoulli.logpmf(k, p), js.bernoulli.pmf(k, p)))
    for p in (0.0, 0.3, 1.0):
        logpmf, pmf = bernoulli(p)
        close(stats.bernoulli.logpmf(k, p), logpmf, f"bernoulli.logpmf p={p}")
        close(stats.bernoulli.pmf(k, p), pmf, "bernoulli.pmf")
    close(
        ri.grad(lambda p: rnp.sum(stats.bernoulli.logpmf(np.array([0, 1, 1]), p)))(0.3),
        jax.grad(lambda p: jax.numpy.sum(js.bernoulli.logpmf(np.array([0, 1, 1]), p)))(0.3),
        "d bernoulli.logpmf / dp",
    )
