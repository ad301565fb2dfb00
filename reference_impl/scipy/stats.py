"""``reference_impl.scipy.stats``: densities and distribution functions of ``jax.scipy.stats``.

Each is the formula JAX uses, written with the engine's differentiable operations (so ``grad``
with respect to ``x``, ``loc``, ``scale``, ``df``, ``mu`` works). The normal quantile
``norm.ppf`` is the one function whose value has no closed form: it is SciPy's ``ndtri`` with
its derivative given by a ``custom_jvp``, ``d ppf/dq = √(2π) · exp(ppf(q)²/2)``.

Namespaces: ``norm`` (pdf, logpdf, cdf, logcdf, sf, logsf, ppf), ``multivariate_normal``
(logpdf, pdf), ``t`` (logpdf, pdf), ``uniform`` (logpdf, pdf, cdf), ``bernoulli`` (logpmf,
pmf), ``poisson`` (logpmf, pmf).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special as sps

from .. import numpy as rnp
from ..array import frozen_results
from ..core import concrete
from ..custom import custom_jvp
from ..numpy.linalg import cholesky, solve_triangular_p
from .special import erfc, gammaln, xlog1py, xlogy

__all__ = ["bernoulli", "multivariate_normal", "norm", "poisson", "t", "uniform"]

_LOG_2PI = math.log(2.0 * math.pi)


class _Distribution:
    """A namespace of a distribution's functions, each returning the engine's immutable arrays
    when called by the user (:func:`reference_impl.array.frozen_results`)."""

    def __init__(self, **functions: Any):
        for name, fn in functions.items():
            setattr(self, name, frozen_results(fn))


def _z(x: Any, loc: Any, scale: Any) -> Any:
    return (x - loc) / scale


# --- the normal distribution ------------------------------------------------------------------
def norm_logpdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """``−(log(2πσ²) + ((x − μ)/σ)²) / 2``."""
    return -(rnp.log(2.0 * math.pi * scale**2) + (x - loc) ** 2 / scale**2) / 2.0


def norm_pdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """``exp(logpdf)``."""
    return rnp.exp(norm_logpdf(x, loc, scale))


def norm_cdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """``Φ((x − μ)/σ) = erfc(−z/√2)/2``."""
    return erfc(-_z(x, loc, scale) / math.sqrt(2.0)) / 2.0


@custom_jvp
def _log_ndtr(z: Any) -> Any:
    """``log Φ(z)`` in three pieces, as JAX: ``−Φ(−z)`` for z > 8 (``log(1 − ε) ≈ −ε``),
    ``log(erfc(−z/√2)/2)`` on [−20, 8], and below −20 the asymptotic series
    ``−z²/2 − log(−z) − log(2π)/2 + log(1 − 1/z² + 3/z⁴ − 15/z⁶)`` (no underflow).
    Its derivative is ``φ(z)/Φ(z) = exp(−z²/2 − log Φ(z) − log(2π)/2)`` (as JAX's rule)."""
    c = concrete(z)
    lo, hi = c < -20.0, c > 8.0
    z_mid = rnp.where(lo | hi, 0.0, z)
    z_lo = rnp.where(lo, z, -30.0)
    z_hi = rnp.where(hi, z, 10.0)
    mid = rnp.log(erfc(-z_mid / math.sqrt(2.0)) / 2.0)
    w = 1.0 / z_lo**2
    series = 1.0 + w * (-1.0 + w * (3.0 - 15.0 * w))
    tail = -(z_lo**2) / 2.0 - rnp.log(-z_lo) - _LOG_2PI / 2.0 + rnp.log(series)
    upper = -erfc(z_hi / math.sqrt(2.0)) / 2.0
    return rnp.where(lo, tail, rnp.where(hi, upper, mid))


@_log_ndtr.defjvp
def _log_ndtr_jvp(primals: Any, tangents: Any) -> tuple[Any, Any]:
    (z,), (z_dot,) = primals, tangents
    ans = _log_ndtr(z)
    return ans, z_dot * rnp.exp(-(z**2) / 2.0 - ans - _LOG_2PI / 2.0)


def norm_logcdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """``log Φ((x − μ)/σ)``, accurate far into the left tail."""
    return _log_ndtr(_z(x, loc, scale))


def norm_sf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """``1 − Φ(z) = Φ(−z)``."""
    return norm_cdf(-_z(x, loc, scale))


def norm_logsf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """``log Φ(−z)``."""
    return _log_ndtr(-_z(x, loc, scale))


@custom_jvp
def _ndtri(q: Any) -> Any:
    return sps.ndtri(q)


@_ndtri.defjvp
def _ndtri_jvp(primals: Any, tangents: Any) -> tuple[Any, Any]:
    (q,), (q_dot,) = primals, tangents
    z = _ndtri(q)
    return z, q_dot * math.sqrt(2.0 * math.pi) * rnp.exp(z**2 / 2.0)


def norm_ppf(q: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """The quantile ``μ + σ·Φ⁻¹(q)``; ``dΦ⁻¹/dq = 1/φ(Φ⁻¹(q))``."""
    return _ndtri(rnp.asarray(q) * 1.0) * scale + loc


norm = _Distribution(
    pdf=norm_pdf,
    logpdf=norm_logpdf,
    cdf=norm_cdf,
    logcdf=norm_logcdf,
    sf=norm_sf,
    logsf=norm_logsf,
    ppf=norm_ppf,
)


# --- the multivariate normal ------------------------------------------------------------------
def mvn_logpdf(x: Any, mean: Any, cov: Any, allow_singular: Any = None) -> Any:
    """``−(n log 2π + log det Σ + (x − μ)ᵀ Σ⁻¹ (x − μ)) / 2`` by the Cholesky factor
    ``Σ = LLᵀ``: ``y = L⁻¹(x − μ)``, ``log det Σ = 2 Σ log Lᵢᵢ``. ``x`` may have leading batch
    axes; ``mean`` broadcasts against it."""
    if allow_singular:
        raise NotImplementedError(
            "multivariate_normal.logpdf: allow_singular=True is not supported (nor is it in JAX)"
        )
    cov = rnp.asarray(cov)
    if cov.ndim < 2:  # a scalar or a diagonal given as a vector: JAX accepts a scalar only
        cov = rnp.asarray(cov) * rnp.eye(rnp.shape(x)[-1])
    n = cov.shape[-1]
    chol = cholesky(cov)
    d = rnp.asarray(x) - mean
    batch = d.shape[:-1]
    rhs = rnp.transpose(rnp.reshape(d, (-1, n)))
    y = solve_triangular_p(chol, rhs, lower=True, trans=0)
    quad = rnp.reshape(rnp.sum(y**2, axis=0), batch)
    log_det = 2.0 * rnp.sum(rnp.log(rnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    return -(n * _LOG_2PI + log_det + quad) / 2.0


def mvn_pdf(x: Any, mean: Any, cov: Any) -> Any:
    """``exp(logpdf)``."""
    return rnp.exp(mvn_logpdf(x, mean, cov))


multivariate_normal = _Distribution(logpdf=mvn_logpdf, pdf=mvn_pdf)


# --- Student's t ------------------------------------------------------------------------------
def t_logpdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """``log Γ((ν+1)/2) − log Γ(ν/2) − log(νπσ²)/2 − (ν+1)/2 · log(1 + z²/ν)``."""
    z = _z(x, loc, scale)
    half = df / 2.0
    normalize = gammaln(half) + rnp.log(scale**2 * math.pi * df) / 2.0 - gammaln(half + 0.5)
    return -(normalize + (half + 0.5) * rnp.log1p(z**2 / df))


def t_pdf(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """``exp(logpdf)``."""
    return rnp.exp(t_logpdf(x, df, loc, scale))


t = _Distribution(logpdf=t_logpdf, pdf=t_pdf)


# --- uniform, Bernoulli, Poisson --------------------------------------------------------------
def uniform_logpdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """``−log σ`` on ``[loc, loc + scale]``, ``−∞`` outside."""
    outside = (np.asarray(concrete(x)) < concrete(loc)) | (
        np.asarray(concrete(x)) > concrete(loc) + concrete(scale)
    )
    return rnp.where(outside, -np.inf, -rnp.log(scale) + 0.0 * x)


def uniform_pdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """``1/σ`` on ``[loc, loc + scale]``, 0 outside."""
    return rnp.exp(uniform_logpdf(x, loc, scale))


def uniform_cdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """``clip((x − loc)/scale, 0, 1)``."""
    return rnp.clip(_z(x, loc, scale), 0.0, 1.0)


uniform = _Distribution(logpdf=uniform_logpdf, pdf=uniform_pdf, cdf=uniform_cdf)


def bernoulli_logpmf(k: Any, p: Any, loc: Any = 0) -> Any:
    """``k log p + (1 − k) log(1 − p)`` for k ∈ {0, 1} (after ``floor(k − loc)``), else −∞."""
    kk = np.floor(np.asarray(concrete(k)) - concrete(loc))
    with np.errstate(divide="ignore"):  # log 0 where p is 0 or 1: −∞, as JAX's, silently
        log_probs = xlogy(kk, p) + xlog1py(1.0 - kk, -p)
    return rnp.where((kk < 0) | (kk > 1), -np.inf, log_probs)


def bernoulli_pmf(k: Any, p: Any, loc: Any = 0) -> Any:
    """``exp(logpmf)``."""
    return rnp.exp(bernoulli_logpmf(k, p, loc))


bernoulli = _Distribution(logpmf=bernoulli_logpmf, pmf=bernoulli_pmf)


def poisson_logpmf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """``k log μ − log k! − μ`` for integer ``k − loc ≥ 0``, else −∞."""
    kk = np.asarray(concrete(k)) - concrete(loc)
    with np.errstate(divide="ignore", invalid="ignore"):  # k < 0 is masked below
        log_probs = xlogy(kk, mu) - gammaln(kk + 1.0) - mu
    return rnp.where((kk < 0) | (kk != np.round(kk)), -np.inf, log_probs)


def poisson_pmf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """``exp(logpmf)``."""
    return rnp.exp(poisson_logpmf(k, mu, loc))


poisson = _Distribution(logpmf=poisson_logpmf, pmf=poisson_pmf)
