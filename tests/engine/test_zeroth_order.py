"""Zero-order estimators: unbiasedness and variance (within a few standard errors derived from
the estimators' covariance), the normalisation, call counts, and the curse of dimensionality
of zero-order gradient descent."""

from __future__ import annotations

import numpy as np
import pytest

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.zeroth_order import (
    ESTIMATORS,
    coordinate_estimator,
    gaussian_estimator,
    gradient_descent,
    sphere_estimator,
    zo_gradient_descent,
)
from tests.engine.strategies import spd

N_DRAWS = 4000
Z_BOUND = 5.0  # standard errors; P(|z| > 5) ≈ 6e-7 per coordinate for a correct estimator


def quadratic(rng, d):
    """L(w) = ½wᵀAw + bᵀw at a random w, and its gradient g = Aw + b. For a quadratic the
    central difference along v is exactly vᵀg, so E[G] = g with no O(ε²) bias."""
    A, b, w = spd(rng, d), rng.standard_normal(d), rng.standard_normal(d)

    def L(z):
        return 0.5 * z @ A @ z + b @ z

    return L, w, A @ w + b


def covariance_diag(name, g):
    """Var(G_i) for one direction: sphere d/(d+2)(‖g‖² + 2g_i²) − g_i², gaussian ‖g‖² + g_i²
    (from E[v_i v_j v_k v_l] on the sphere, resp. Isserlis' theorem)."""
    d, gg = g.size, g @ g
    if name == "sphere":
        return d / (d + 2) * (gg + 2 * g**2) - g**2
    return gg + g**2


def second_moment(name, g):
    """Mean and variance of ‖G‖²: sphere d‖g‖², d²‖g‖⁴(3d/(d+2) − 1); gaussian (d+2)‖g‖²,
    ‖g‖⁴(105 + 30(d−1) + 3(d²−1) − (d+2)²)."""
    d, gg = g.size, g @ g
    if name == "sphere":
        return d * gg, d**2 * gg**2 * (3 * d / (d + 2) - 1)
    return (d + 2) * gg, gg**2 * (105 + 30 * (d - 1) + 3 * (d * d - 1) - (d + 2) ** 2)


def draws(name, L, w, seed, n=N_DRAWS, batch=1):
    rng = np.random.default_rng(seed)
    return np.array([ESTIMATORS[name](L, w, eps=1e-3, rng=rng, batch=batch).grad for _ in range(n)])


@pytest.mark.parametrize("name", ["sphere", "gaussian"])
@pytest.mark.parametrize("d", [3, 8])
def test_random_estimators_are_unbiased(name, d):
    L, w, g = quadratic(np.random.default_rng(d), d)
    G = draws(name, L, w, seed=10 + d)
    se = np.sqrt(covariance_diag(name, g) / N_DRAWS)
    z = np.abs(G.mean(axis=0) - g) / se
    assert np.all(z < Z_BOUND), (
        f"{name}, d={d}: mean estimate {G.mean(axis=0)} vs gradient {g}; z-scores {z}"
    )
    # the same test rejects the wrong normalisation: sphere without the factor d has mean g/d,
    # the Gaussian with an extra factor d has mean d·g
    wrong = G / d if name == "sphere" else G * d
    z_wrong = np.abs(wrong.mean(axis=0) - g) / se
    assert np.max(z_wrong) > 3 * Z_BOUND, (
        f"{name}, d={d}: the wrongly normalised estimator is not rejected (z-scores {z_wrong})"
    )


@pytest.mark.parametrize("name", ["sphere", "gaussian"])
def test_second_moment_matches_theory(name):
    d = 6
    L, w, g = quadratic(np.random.default_rng(1), d)
    sq = np.sum(draws(name, L, w, seed=2) ** 2, axis=1)
    mean, var = second_moment(name, g)
    z = abs(sq.mean() - mean) / np.sqrt(var / N_DRAWS)
    assert z < Z_BOUND, f"{name}: E‖G‖² ≈ {sq.mean():.4g}, theory {mean:.4g} (z = {z:.2f})"
    assert abs(sq.var() / var - 1) < 0.3, f"{name}: Var‖G‖² ≈ {sq.var():.4g}, theory {var:.4g}"


@pytest.mark.parametrize("name", ["sphere", "gaussian"])
def test_batch_divides_the_variance(name):
    d, batch, n = 5, 8, 1000
    L, w, g = quadratic(np.random.default_rng(3), d)
    err2 = np.sum((draws(name, L, w, seed=4, n=n, batch=batch) - g) ** 2, axis=1)
    expected = covariance_diag(name, g).sum() / batch  # E‖G_batch − g‖² = tr Cov / batch
    se = err2.std() / np.sqrt(n)
    assert abs(err2.mean() - expected) < Z_BOUND * se, (
        f"{name}, batch={batch}: E‖G − g‖² ≈ {err2.mean():.4g}, theory {expected:.4g} "
        f"(standard error {se:.2g})"
    )


def test_estimators_on_a_smooth_function(rng):
    def L(w):
        return rnp.sum(rnp.log(1.0 + w * w)) + rnp.sin(w[0] * w[1])

    w = rng.standard_normal(4)
    g = ri.grad(L)(w)
    est = coordinate_estimator(L, w, eps=1e-5)
    assert np.max(np.abs(est.grad - g)) < 1e-8, f"coordinate estimate {est.grad} vs {g}"
    G = draws("sphere", L, w, seed=5, n=2000)
    se = np.sqrt(covariance_diag("sphere", g) / 2000)  # O(ε²) bias ≈ 1e-7 ≪ se
    z = np.abs(G.mean(axis=0) - g) / se
    assert np.all(z < Z_BOUND), f"sphere estimator on a smooth L: z-scores {z}"


@pytest.mark.parametrize("shape", [(5,), (2, 3)])
def test_call_counts(shape, rng):
    calls = []

    def L(w):
        calls.append(1)
        return float(np.sum(w**2))

    w = rng.standard_normal(shape)
    d = w.size
    for est, batch, want in (
        (sphere_estimator, 3, 6),
        (gaussian_estimator, 1, 2),
        (coordinate_estimator, 1, 2 * d),
    ):
        calls.clear()
        res = est(L, w, rng=rng, batch=batch)
        assert res.n_calls == len(calls) == want, (
            f"{est.__name__}(batch={batch}), d={d}: reported {res.n_calls}, made {len(calls)}, "
            f"expected {want}"
        )
        assert res.grad.shape == shape, f"{est.__name__}: gradient shape {res.grad.shape}"
    traj = zo_gradient_descent(L, w, 0.01, 7, estimator="gaussian", rng=rng, batch=2)
    assert traj.n_calls == 7 * 4 and list(traj.calls) == [4 * k for k in range(8)], (
        f"zo_gradient_descent: calls per step {traj.calls}, expected 0, 4, …, 28"
    )
    assert len(traj.losses) == 8, f"{len(traj.losses)} losses for 7 steps (expected 8)"


def _steps_to(losses, tol):
    below = np.flatnonzero(np.asarray(losses) <= tol)
    return int(below[0]) if below.size else len(losses)


def test_curse_of_dimensionality():
    """Same spectrum (eigenvalues 1…4) in every dimension n: GD's iteration count does not
    depend on n; zero-order GD (sphere, α = 1/(4n)) needs about n times more (mean of 3 seeds)."""
    gd_steps, zo_per_n = {}, {}
    for n in (8, 32, 128):
        gd_runs, zo_runs = [], []
        for seed in range(3):
            rng = np.random.default_rng(1000 * n + seed)
            q, _ = np.linalg.qr(rng.standard_normal((n, n)))
            A = (q * np.linspace(1.0, 4.0, n)) @ q.T

            def L(w, A=A):
                return 0.5 * w @ A @ w

            w0 = rng.standard_normal(n)
            tol = 1e-6 * L(w0)
            gd = gradient_descent(L, lambda w, A=A: A @ w, w0, 0.25, 100)
            zo = zo_gradient_descent(L, w0, 0.25 / n, 60 * n, rng=rng, eps=1e-3)
            gd_runs.append(_steps_to(gd.losses, tol))
            zo_runs.append(_steps_to(zo.losses, tol))
            assert zo_runs[-1] < len(zo.losses), f"n={n}: zero-order GD did not reach {tol:.2g}"
        gd_steps[n], zo_per_n[n] = max(gd_runs), np.mean(zo_runs) / n
    assert max(gd_steps.values()) - min(gd_steps.values()) <= 3, (
        f"GD iterations should not depend on n: {gd_steps}"
    )
    spread = max(zo_per_n.values()) / min(zo_per_n.values())
    assert spread < 1.5, f"zero-order iterations divided by n should be about constant: {zo_per_n}"


def test_coordinate_descent_matches_gd_and_schedules(rng):
    L, w0, _ = quadratic(rng, 4)
    A = ri.hessian(L)(w0)
    gd = gradient_descent(L, lambda w: A @ w + (ri.grad(L)(w) - A @ w), w0, lambda k: 0.1, 30)
    zo = zo_gradient_descent(L, w0, lambda k: 0.1, 30, estimator="coordinate", eps=1e-4)
    assert np.allclose(zo.losses, gd.losses, rtol=1e-8, atol=1e-10), (
        f"coordinate estimator GD {zo.losses[-3:]} vs GD {gd.losses[-3:]}"
    )
    assert zo.n_calls == 30 * 8 and gd.n_calls == 30, f"calls {zo.n_calls}, {gd.n_calls}"


def test_errors(rng):
    with pytest.raises(TypeError, match="seeded generator"):
        sphere_estimator(np.sum, np.ones(3), rng=None)
    with pytest.raises(TypeError, match="seeded generator"):
        zo_gradient_descent(np.sum, np.ones(3), 0.1, 2)
    with pytest.raises(ValueError, match="batch"):
        gaussian_estimator(np.sum, np.ones(3), rng=rng, batch=0)
