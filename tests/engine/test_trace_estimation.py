"""Hutchinson and Hutch++: unbiasedness, variance, exactness on low rank, counted budgets.

Statistical checks use fixed seeds and bounds of 4 standard errors, and each one also asserts
that its bound is tight enough to catch a 1 % bias, so that it cannot pass vacuously.
"""

from __future__ import annotations

import numpy as np
import pytest

from reference_impl.trace_estimation import CountedOperator, hutchinson, hutchpp, probes

Z = 4.0  # standard errors allowed in statistical checks


def psd(rng: np.random.Generator, n: int, eigenvalues: np.ndarray) -> np.ndarray:
    """Q diag(λ) Qᵀ with a random orthogonal Q."""
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * eigenvalues) @ q.T


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    """A fixed 40×40 PSD matrix with a spread spectrum, so the variance is not trivial."""
    rng = np.random.default_rng(123)
    return psd(rng, 40, rng.uniform(0.0, 3.0, 40) ** 2)


class Counter:
    """A user-side matvec that counts its own calls (independent of the estimator's count)."""

    def __init__(self, A: np.ndarray):
        self.A, self.calls, self.columns = A, 0, 0

    def matvec(self, v: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.columns += 1
        return self.A @ v

    def matmat(self, V: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.columns += V.shape[1]
        return self.A @ V


def trials(estimator, X: np.ndarray, budget: int, T: int, seed: int, **kw) -> tuple:
    """T independent seeded estimates; their values and reported standard errors."""
    res = [
        estimator(X, X.shape[0], budget, np.random.default_rng([seed, t]), **kw) for t in range(T)
    ]
    return np.array([r.estimate for r in res]), np.array([r.stderr for r in res])


@pytest.mark.parametrize(
    "estimator,kw",
    [
        (hutchinson, {"dist": "rademacher"}),
        (hutchinson, {"dist": "gaussian"}),
        (hutchpp, {"dist": "rademacher"}),
        (hutchpp, {"dist": "gaussian"}),
    ],
)
def test_unbiased(X, estimator, kw):
    est, _ = trials(estimator, X, 12, 5000, seed=1, **kw)
    tr = np.trace(X)
    se = est.std(ddof=1) / np.sqrt(est.size)
    assert Z * se < 0.01 * tr, f"the check is too loose to see a 1% bias: se={se}, tr={tr}"
    assert abs(est.mean() - tr) < Z * se, (
        f"{estimator.__name__} {kw}: mean of {est.size} estimates {est.mean():.5f} differs from "
        f"tr(X) = {tr:.5f} by more than {Z} standard errors ({se:.2e})"
    )


@pytest.mark.parametrize("dist", ["rademacher", "gaussian"])
def test_hutchinson_variance_formula(X, dist):
    """Var = 2(‖X‖_F² − Σ X_ii²)/V (Rademacher), 2‖X‖_F²/V (Gaussian), for symmetric X."""
    V, T = 5, 3000
    est, stderr = trials(hutchinson, X, V, T, seed=2, dist=dist)
    fro2 = np.sum(X**2)
    expected = 2 * (fro2 - np.sum(np.diag(X) ** 2)) / V if dist == "rademacher" else 2 * fro2 / V
    dev2 = (est - est.mean()) ** 2
    empirical, se = dev2.mean() * T / (T - 1), dev2.std(ddof=1) / np.sqrt(T)
    assert Z * se < 0.25 * expected, f"variance check too loose: se={se}, expected={expected}"
    assert abs(empirical - expected) < Z * se, (
        f"{dist}: empirical variance {empirical:.4f} vs formula {expected:.4f} "
        f"(standard error {se:.4f})"
    )
    # the reported standard error is calibrated: E[stderr²] = Var(estimate)
    mean_se2 = np.mean(stderr**2)
    se_se2 = np.std(stderr**2, ddof=1) / np.sqrt(T)
    assert abs(mean_se2 - expected) < Z * se_se2 + Z * se, (
        f"{dist}: mean reported stderr² {mean_se2:.4f} vs variance {expected:.4f}"
    )


def test_rademacher_variance_differs_from_gaussian(X):
    """Guard for the test above: the two formulas must differ on X, or it tests nothing."""
    diag2, fro2 = np.sum(np.diag(X) ** 2), np.sum(X**2)
    assert diag2 > 0.2 * fro2, f"Σ X_ii² = {diag2} is too small next to ‖X‖_F² = {fro2}"


def test_rademacher_exact_on_diagonal(rng):
    """vᵀ D v = Σ d_i v_i² = tr(D) for every ±1 probe: zero variance (the formula's Σ X_ii²)."""
    d = rng.uniform(-2.0, 5.0, 30)
    r = hutchinson(np.diag(d), 30, 7, rng)
    assert abs(r.estimate - d.sum()) < 1e-12 * np.abs(d).sum(), (
        f"estimate {r.estimate} vs tr {d.sum()}"
    )
    assert r.stderr < 1e-12, f"stderr {r.stderr} should vanish on a diagonal matrix"


@pytest.mark.parametrize("m", [15, 16, 17, 30])
def test_hutchpp_exact_on_low_rank(rng, m):
    """rank(X) ≤ ⌊m/3⌋: span(Q) ⊇ range(X), so tr(QᵀXQ) = tr(X) and the remainder is 0."""
    n, r = 100, 5
    u = rng.standard_normal((n, r))
    A = u @ np.diag(rng.uniform(1.0, 10.0, r)) @ u.T
    res = hutchpp(A, n, m, rng)
    tr = np.trace(A)
    assert abs(res.estimate - tr) < 1e-10 * tr, f"m={m}: {res.estimate} vs tr {tr}"
    assert res.stderr < 1e-10 * tr, f"m={m}: stderr {res.stderr} should be round-off"
    assert res.matvecs == m, f"used {res.matvecs} matvecs, budget {m}"


def test_hutchinson_not_exact_on_low_rank(rng):
    """Contrast for the test above: plain Hutchinson has an error far above round-off."""
    u = rng.standard_normal((100, 5))
    A = u @ u.T
    res = hutchinson(A, 100, 15, rng)
    assert abs(res.estimate - np.trace(A)) > 1e-3 * np.trace(A), (
        f"Hutchinson happened to be exact: {res.estimate} vs {np.trace(A)}"
    )


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 10, 11, 31])
@pytest.mark.parametrize("use_matmat", [False, True])
def test_budget_counted_exactly(X, m, use_matmat):
    n = X.shape[0]
    for est in (hutchinson, hutchpp):
        c = Counter(X)
        kw = {"matmat": c.matmat} if use_matmat else {}
        res = est(c.matvec, n, m, np.random.default_rng(0), **kw)
        assert c.columns == m, f"{est.__name__}: {c.columns} matvecs applied, budget {m}"
        assert res.matvecs == m, f"{est.__name__}: reported {res.matvecs}, budget {m}"
        if not use_matmat:
            assert c.calls == m, f"{est.__name__}: {c.calls} matvec calls, budget {m}"


def test_matmat_blocks_give_the_same_estimate(X):
    """Blocked and column-by-column products give the same estimate (same probes)."""
    c = Counter(X)
    for est in (hutchinson, hutchpp):
        a = est(c.matvec, 40, 31, np.random.default_rng(5))
        b = est(c.matvec, 40, 31, np.random.default_rng(5), matmat=c.matmat)
        assert abs(a.estimate - b.estimate) < 1e-10 * np.trace(X), (
            f"{est.__name__}: {a.estimate} (matvec) vs {b.estimate} (matmat)"
        )


def test_counted_operator_refuses_to_exceed_budget(X):
    op = CountedOperator(X, 40, 3)
    op(np.ones((40, 2)))
    with pytest.raises(RuntimeError, match="budget"):
        op(np.ones((40, 2)))


def test_seeded_and_reproducible(X):
    for est in (hutchinson, hutchpp):
        a = est(X, 40, 20, np.random.default_rng(7))
        b = est(X, 40, 20, np.random.default_rng(7))
        c = est(X, 40, 20, np.random.default_rng(8))
        assert a == b, f"{est.__name__}: same seed, different results {a} vs {b}"
        assert a.estimate != c.estimate, f"{est.__name__}: different seeds, same estimate"


def test_hutchpp_beats_hutchinson_on_decaying_spectrum_but_not_on_flat():
    """Meyer et al. 2021: O(1/ε) vs O(1/ε²) matvecs when the spectrum decays; on a flat
    spectrum deflation removes nothing and Hutch++ has only a third of the probes."""
    rng = np.random.default_rng(11)
    n, m, T = 200, 60, 20
    errors = {}
    for name, lam in [("decay", np.arange(1, n + 1) ** -2.0), ("flat", rng.uniform(0.5, 1.5, n))]:
        A = psd(rng, n, lam)
        tr = np.trace(A)
        for est in (hutchinson, hutchpp):
            vals, _ = trials(est, A, m, T, seed=3)
            errors[name, est.__name__] = np.mean(np.abs(vals - tr)) / tr
    assert errors["decay", "hutchpp"] * 10 < errors["decay", "hutchinson"], (
        f"decaying spectrum: Hutch++ {errors['decay', 'hutchpp']:.2e} should be ≥ 10× more "
        f"accurate than Hutchinson {errors['decay', 'hutchinson']:.2e}"
    )
    assert errors["flat", "hutchpp"] > errors["flat", "hutchinson"], (
        f"flat spectrum: Hutch++ {errors['flat', 'hutchpp']:.2e} expected worse than "
        f"Hutchinson {errors['flat', 'hutchinson']:.2e}"
    )


def test_probes_have_identity_second_moment():
    rng = np.random.default_rng(4)
    for dist in ("rademacher", "gaussian"):
        P = probes(rng, 6, 20000, dist)
        M = P @ P.T / P.shape[1]
        assert np.abs(M - np.eye(6)).max() < 0.05, f"{dist}: E[vvᵀ] ≈\n{M}"
    assert set(np.unique(probes(rng, 5, 50))) == {-1.0, 1.0}, "Rademacher entries must be ±1"


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_invalid_budget(X, bad):
    for est in (hutchinson, hutchpp):
        with pytest.raises(ValueError, match="positive integer"):
            est(X, 40, bad, np.random.default_rng(0))


def test_invalid_distribution(X):
    with pytest.raises(ValueError, match="rademacher"):
        hutchinson(X, 40, 5, np.random.default_rng(0), dist="uniform")
