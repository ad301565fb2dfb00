"""Stochastic trace estimation from matrix-vector products: Hutchinson and Hutch++.

We can multiply by a symmetric n×n matrix X (a Hessian, through Hessian-vector products) but
cannot afford to form it. For a random probe v with E[v vᵀ] = I,

    E[vᵀ X v] = E[tr(X v vᵀ)] = tr(X E[v vᵀ]) = tr(X),

so ``(1/V) Σ_i v_iᵀ X v_i`` is an unbiased estimate of tr(X) from V matvecs (Hutchinson 1989,
"A stochastic estimator of the trace of the influence matrix for Laplacian smoothing splines").
With Rademacher probes (entries ±1) the variance of one sample is 2(‖X‖_F² − Σ_i X_ii²); with
Gaussian probes it is 2‖X‖_F². The error therefore falls like 1/√V: relative error ε costs
O(1/ε²) matvecs.

Hutch++ (Meyer, Musco, Musco, Woodruff, "Hutch++: Optimal Stochastic Trace Estimation",
SOSA 2021) spends a third of the budget on a sketch X S, takes Q = qr(X S), computes the trace
of the top subspace exactly, tr(QᵀXQ), and runs Hutchinson only on the deflated remainder
(I − QQᵀ) X (I − QQᵀ), whose Frobenius norm is small when X's spectrum decays. For PSD X it
needs O(1/ε) matvecs. On a flat spectrum there is nothing to deflate and the sketch is wasted.

Every estimator counts its matvecs and uses exactly the budget it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["CountedOperator", "TraceEstimate", "hutchinson", "hutchpp", "probes"]

Matvec = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TraceEstimate:
    """An estimate of tr(X), its standard error and the number of matvecs it cost.

    ``stderr`` is the sample standard deviation of the stochastic part over √(its probes);
    for Hutch++ it is conditional on the sketch (the exact part tr(QᵀXQ) adds no variance
    given Q). It is ``nan`` when fewer than two stochastic probes were used.
    """

    estimate: float
    stderr: float
    matvecs: int
    method: str


class CountedOperator:
    """Wrap a matvec (and optionally a matmat) so that every product is counted.

    ``matmat(V)`` for an n×k block counts k matvecs. ``budget`` is a hard limit: going over it
    raises ``RuntimeError`` rather than silently costing more than the caller allowed.
    """

    def __init__(
        self,
        matvec: Matvec | np.ndarray,
        n: int,
        budget: int,
        matmat: Callable[[np.ndarray], np.ndarray] | None = None,
        block_size: int = 64,
    ):
        if isinstance(matvec, np.ndarray):  # a dense matrix: blocks are one BLAS call
            X = matvec
            matvec, matmat = (lambda v: X @ v), (lambda V: X @ V)
        self._matvec, self._matmat = matvec, matmat
        self.n, self.budget, self.block_size, self.count = n, budget, block_size, 0

    def __call__(self, V: np.ndarray) -> np.ndarray:
        """X V for an n×k block V, column by column unless a matmat was given."""
        k = V.shape[1]
        if self.count + k > self.budget:
            raise RuntimeError(f"matvec budget exceeded: {self.count} + {k} > {self.budget}")
        self.count += k
        out = np.empty((self.n, k), dtype=np.result_type(V, np.float64))
        if self._matmat is not None:
            for s in range(0, k, self.block_size):
                out[:, s : s + self.block_size] = self._matmat(V[:, s : s + self.block_size])
        else:
            for j in range(k):
                out[:, j] = self._matvec(V[:, j])
        return out


def probes(rng: np.random.Generator, n: int, k: int, dist: str = "rademacher") -> np.ndarray:
    """k random probe vectors with E[v vᵀ] = I, as the columns of an n×k array."""
    if dist == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(n, k))
    if dist == "gaussian":
        return rng.standard_normal((n, k))
    raise ValueError(f"unknown probe distribution {dist!r}: use 'rademacher' or 'gaussian'")


def _check_budget(k: int, name: str, n: int) -> None:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{name} must be a positive integer, got {k!r}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")


def _mean_and_stderr(samples: np.ndarray) -> tuple[float, float]:
    mean = float(np.mean(samples))
    if samples.size < 2:
        return mean, float("nan")
    return mean, float(np.std(samples, ddof=1) / np.sqrt(samples.size))


def hutchinson(
    matvec: Matvec | np.ndarray,
    n: int,
    num_probes: int,
    rng: np.random.Generator,
    dist: str = "rademacher",
    matmat: Callable[[np.ndarray], np.ndarray] | None = None,
) -> TraceEstimate:
    """Hutchinson's estimator: tr(X) ≈ (1/V) Σ_{i=1}^V v_iᵀ X v_i with V = ``num_probes``.

    ``matvec`` maps an n-vector to X v (or is X itself, a dense array); ``matmat``, if given,
    maps an n×k block to X V in one call. Exactly ``num_probes`` matvecs are used.
    """
    _check_budget(num_probes, "num_probes", n)
    op = CountedOperator(matvec, n, num_probes, matmat)
    V = probes(rng, n, num_probes, dist)
    samples = np.einsum("ij,ij->j", V, op(V))  # v_iᵀ X v_i for each probe
    est, se = _mean_and_stderr(samples)
    return TraceEstimate(est, se, op.count, f"hutchinson-{dist}")


def hutchpp(
    matvec: Matvec | np.ndarray,
    n: int,
    num_matvecs: int,
    rng: np.random.Generator,
    dist: str = "rademacher",
    matmat: Callable[[np.ndarray], np.ndarray] | None = None,
) -> TraceEstimate:
    """Hutch++ (Meyer et al. 2021, Algorithm 1) with exactly ``num_matvecs`` = m matvecs.

    k = ⌊m/3⌋ sketch probes S, Q = qr(X S) (k matvecs), the exact part tr(QᵀXQ) (k matvecs),
    and Hutchinson with the remaining m − 2k ≥ k probes G on the deflated matrix:

        tr(X) ≈ tr(QᵀXQ) + (1/(m − 2k)) Σ_i g_iᵀ (I − QQᵀ) X (I − QQᵀ) g_i.

    Unbiased for any Q; exact (to round-off) when rank(X) ≤ k, since then span(Q) ⊇ range(X).
    With m < 3 there is no sketch and it is plain Hutchinson.
    """
    _check_budget(num_matvecs, "num_matvecs", n)
    op = CountedOperator(matvec, n, num_matvecs, matmat)
    k = min(num_matvecs // 3, n)
    if k == 0:
        Q = np.zeros((n, 0))
        exact = 0.0
    else:
        S = probes(rng, n, k, dist)
        Q, _ = np.linalg.qr(op(S))
        exact = float(np.trace(Q.T @ op(Q)))
    r = num_matvecs - 2 * k
    G = probes(rng, n, r, dist)
    W = G - Q @ (Q.T @ G)  # (I − QQᵀ) g_i
    samples = np.einsum("ij,ij->j", W, op(W))  # g_iᵀ (I − QQᵀ) X (I − QQᵀ) g_i
    rest, se = _mean_and_stderr(samples)
    return TraceEstimate(exact + rest, se, op.count, f"hutch++-{dist}")
