"""Finite differences: accuracy within the error model, near-optimal default steps, the complex
step, call counts (d + 1 / 2d / d), and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.finite_diff import (
    EPS_MACH,
    METHODS,
    default_step,
    fd_error_model,
    fd_grad,
    fd_jacobian,
    fd_jvp,
    optimal_step,
)
from tests.engine.strategies import arrays


# φ(t) = sin t + t²/2: |φ''| = |1 − sin t| ≤ 2 and |φ'''| = |cos t| ≤ 1 everywhere
def phi_sum(x):
    return rnp.sum(rnp.sin(x) + 0.5 * x * x)


def vector_fn(x, xp):
    """A map R³ → R³ written once for NumPy (complex step) and jax.numpy (the reference)."""
    return xp.stack([x[0] * x[1], xp.sin(x[2]) * xp.exp(x[0]), xp.log(1.0 + x[1] ** 2) * x[2]])


def counted(f):
    """f and a list whose length is the number of calls made so far (an independent count)."""
    calls = []

    def g(x):
        calls.append(1)
        return f(x)

    return g, calls


@given(arrays(min_dims=0, max_dims=2))
def test_fd_grad_within_error_model(x):
    exact = ri.grad(phi_sum)(x)
    d = x.size
    # |f| for the round-off term: a d-term float sum is wrong by at most about d·ε_mach·Σ|terms|
    f_scale = (d + 3) * float(np.sum(np.abs(np.sin(x) + 0.5 * x * x))) + 1.0
    for method in ("forward", "central"):
        res = fd_grad(phi_sum, x, method)
        bound = fd_error_model(res.eps, method, f=f_scale, d2f=2.0, d3f=1.0).total
        err = np.abs(res.value - exact)
        assert np.all(err <= 2 * bound), (
            f"{method} differences at x={x}: errors {err} exceed twice the error model {bound}"
        )
    res = fd_grad(phi_sum, x, "complex")
    err = float(np.max(np.abs(res.value - exact), initial=0.0))
    assert err <= 1e-13 * max(1.0, float(np.max(np.abs(exact), initial=0.0))), (
        f"complex step at x={x}: max error {err:.3g}, expected round-off only (≤ 1e-13)"
    )


def test_fd_jacobian_matches_jax(jax_x64, rng):
    import jax.numpy as jnp

    x = rng.uniform(0.5, 1.5, size=3)
    expected = np.asarray(jax_x64.jacfwd(lambda z: vector_fn(z, jnp))(x))
    for method, tol in (("forward", 1e-6), ("central", 1e-9), ("complex", 1e-13)):
        res = fd_jacobian(lambda z: vector_fn(z, np), x, method)
        err = float(np.max(np.abs(res.value - expected)))
        assert res.value.shape == (3, 3), f"{method}: Jacobian shape {res.value.shape}, not (3, 3)"
        assert err <= tol * np.max(np.abs(expected)), (
            f"{method} Jacobian differs from jax.jacfwd by {err:.3g} (tolerance {tol})"
        )


def test_fd_jvp_matches_jvp(rng):
    A = rng.standard_normal((4, 5))

    def f(x):
        return rnp.tanh(A @ x) * rnp.exp(0.2 * x[:4])

    x, v = rng.standard_normal(5), rng.standard_normal(5)
    exact = ri.jvp(f, (x,), (v,))[1]
    for method, tol in (("forward", 1e-6), ("central", 1e-9), ("complex", 1e-13)):
        res = fd_jvp(f, x, v, method)
        err = float(np.max(np.abs(res.value - exact)))
        assert err <= tol * np.max(np.abs(exact)), (
            f"{method} fd_jvp differs from jvp by {err:.3g}: {res.value} vs {exact}"
        )


@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
def test_call_counts(shape, rng):
    x = rng.standard_normal(shape)
    d = x.size
    expected = {"forward": d + 1, "central": 2 * d, "complex": d}
    for method in METHODS:
        f, calls = counted(phi_sum)
        res = fd_grad(f, x, method)
        assert res.n_calls == len(calls) == expected[method], (
            f"fd_grad({method}) for d={d}: reported {res.n_calls} calls, made {len(calls)}, "
            f"expected {expected[method]}"
        )
        f, calls = counted(phi_sum)
        res = fd_jvp(f, x, rng.standard_normal(shape), method)
        want = 1 if method == "complex" else 2
        assert res.n_calls == len(calls) == want, (
            f"fd_jvp({method}): reported {res.n_calls} calls, made {len(calls)}, expected {want}"
        )


def test_scalar_input_and_python_float_output():
    res = fd_grad(lambda t: float(np.sin(t)) if np.isrealobj(t) else np.sin(t), 0.7)
    assert np.shape(res.value) == (), f"a scalar x should give a 0-d gradient, got {res.value!r}"
    assert abs(res.value - np.cos(0.7)) < 1e-10, f"d/dt sin at 0.7: {res.value} vs {np.cos(0.7)}"
    res = fd_jvp(np.exp, 2, 3, "complex")  # integers are promoted to float
    assert abs(res.value - 3 * np.exp(2.0)) < 1e-12 * np.exp(2.0), f"got {res.value}"


def _rms_error(phi, dphi, xs, method, eps):
    errors = [fd_jvp(phi, x, 1.0, method, eps).value - dphi(x) for x in xs]
    return float(np.sqrt(np.mean(np.square(errors))))


@pytest.mark.parametrize("name", ["exp", "sin", "arctan"])
@pytest.mark.parametrize("method", ["forward", "central"])
def test_default_step_is_near_optimal(name, method):
    phi, dphi = {
        "exp": (np.exp, np.exp),
        "sin": (np.sin, np.cos),
        "arctan": (np.arctan, lambda t: 1 / (1 + t * t)),
    }[name]
    xs = np.linspace(-1.0, 1.0, 41)  # the RMS over many points averages out lucky cancellations
    grid = np.logspace(-13, -1, 49)
    best = min(_rms_error(phi, dphi, xs, method, eps) for eps in grid)
    default = _rms_error(phi, dphi, xs, method, None)
    assert default <= 4 * best, (
        f"{method} differences of {name}: RMS error {default:.3g} with the default step, "
        f"{best:.3g} with the best step on the grid"
    )


@pytest.mark.parametrize("method", ["forward", "central"])
def test_error_model_predicts_both_regimes(method):
    xs = np.linspace(0.2, 0.4, 21)
    # large steps: the truncation term, ε|f''|/2 or ε²|f'''|/6, is the error (f = exp: all = e^x)
    for eps in (1e-2, 1e-3):
        measured = np.array([fd_jvp(np.exp, x, 1.0, method, eps).value - np.exp(x) for x in xs])
        model = fd_error_model(eps, method, f=np.exp(xs), d2f=np.exp(xs), d3f=np.exp(xs))
        ratio = np.abs(measured) / model.truncation
        assert np.all((ratio > 0.9) & (ratio < 1.1)), (
            f"{method}, ε={eps}: measured/modelled truncation error = {ratio}"
        )
    # tiny steps: round-off dominates; the model bounds it, and it is not negligible
    eps = 1e-13
    measured = np.array([fd_jvp(np.exp, x, 1.0, method, eps).value - np.exp(x) for x in xs])
    model = fd_error_model(eps, method, f=np.exp(0.4), d2f=np.exp(0.4), d3f=np.exp(0.4))
    rms = float(np.sqrt(np.mean(measured**2)))
    assert model.total / 100 < rms <= float(model.total), (
        f"{method}, ε={eps}: RMS round-off error {rms:.3g}, model {float(model.total):.3g}"
    )


@pytest.mark.parametrize("method", ["forward", "central"])
def test_optimal_step_minimises_the_model(method):
    f, d2f, d3f = 3.0, 0.5, 2.0
    grid = np.logspace(-12, -1, 20001)
    total = fd_error_model(grid, method, f=f, d2f=d2f, d3f=d3f).total
    h = optimal_step(method, f=f, d2f=d2f, d3f=d3f)
    assert abs(np.log(grid[np.argmin(total)] / h)) < 1e-3, (
        f"{method}: grid minimum at {grid[np.argmin(total)]:.4g}, formula gives {h:.4g}"
    )
    scale = {"forward": np.sqrt(EPS_MACH), "central": np.cbrt(EPS_MACH)}[method]
    assert default_step(method, 0.5) == scale and default_step(method, -4.0) == 4 * scale, (
        f"{method}: default_step should be {scale:.3g}·max(1, |x|)"
    )


@pytest.mark.parametrize("h", [1e-20, 1e-150])
def test_complex_step_is_exact_for_tiny_steps(h, rng):
    x = rng.uniform(-2, 2, size=6)
    exact = ri.grad(phi_sum)(x)
    res = fd_grad(phi_sum, x, "complex", eps=h)
    rel = float(np.max(np.abs(res.value - exact)) / np.max(np.abs(exact)))
    assert rel <= 1e-13, f"complex step h={h}: relative error {rel:.3g}"
    # a real difference cannot take such a step (x + ε == x), and near it sees only round-off
    with pytest.raises(ValueError, match="spacing of floats"):
        fd_grad(phi_sum, x, "central", eps=h)
    central = fd_grad(phi_sum, x, "central", eps=1e-14).value
    assert np.max(np.abs(central - exact)) > 1e-4, f"central with ε=1e-14 gave {central}"


def test_step_argument_per_coordinate(rng):
    x = rng.standard_normal(3)
    steps = np.array([1e-3, 1e-5, 1e-7])
    res = fd_grad(phi_sum, x, "central", eps=steps)
    assert np.allclose(res.eps, steps, rtol=0, atol=0), f"steps used {res.eps}, given {steps}"
    err = np.abs(res.value - ri.grad(phi_sum)(x))
    assert err[0] > 1e-9 and err[1] < 1e-9, f"errors per coordinate {err}: ε² truncation expected"


def test_errors():
    with pytest.raises(ValueError, match="unknown finite-difference method"):
        fd_grad(phi_sum, np.ones(2), "backward")
    with pytest.raises(ValueError, match="fd_jacobian"):
        fd_grad(lambda x: x * 2, np.ones(2))
    with pytest.raises(TypeError, match="real"):
        fd_grad(phi_sum, np.ones(2) + 0j)
    with pytest.raises(ValueError, match="shape"):
        fd_jvp(phi_sum, np.ones(2), np.ones(3))
