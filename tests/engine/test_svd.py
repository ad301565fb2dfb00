"""svd and eigh: rules vs JAX (float64) and finite differences, sign flips, repeated values.

U and V are defined up to a sign per column (a rotation per cluster of repeated values), so
comparisons either align the signs first or use losses that do not see them: ``U ⊙ U``,
``U Vᵀ``, ``U_B U_Bᵀ``. Inputs have prescribed, well separated singular values unless a test
is about repeated ones. The policy at repeated values is documented in
``reference_impl/numpy/linalg_svd.py``; the tests below pin down each of its cases.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.numpy.linalg_svd import eigh_p, svd_p
from tests.engine.strategies import seeds

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

jax_shapes = st.sampled_from([(3, 3), (4, 2), (2, 4)])  # square, tall, wide; few compilations
fd_shapes = st.tuples(st.integers(1, 5), st.integers(1, 5))


# --- helpers ----------------------------------------------------------------------------------
def orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def with_singular_values(rng: np.random.Generator, m: int, n: int, s: Any = None) -> np.ndarray:
    """Q₁ diag(s) Q₂ᵀ; by default s_i = 1 + i/2 + U(0, 0.1): gaps ≥ 0.4, condition ≤ 4."""
    k = min(m, n)
    if s is None:
        s = 1.0 + 0.5 * np.arange(k) + rng.uniform(0, 0.1, k)
    return orthogonal(rng, m)[:, :k] @ np.diag(s) @ orthogonal(rng, n)[:, :k].T


def assert_close(ours: Any, theirs: Any, what: str, rtol: float = 1e-8, atol: float = 1e-9) -> None:
    np.testing.assert_allclose(
        np.asarray(ri.concrete(ours)), np.asarray(theirs), rtol=rtol, atol=atol, err_msg=what
    )


def fd_directional(f: Any, a: np.ndarray, v: np.ndarray, h: float = 1e-6) -> float:
    return float((f(a + h * v) - f(a - h * v)) / (2 * h))


def check_grad_fd(
    f: Any, a: np.ndarray, rng: np.random.Generator, what: str, rtol: float = 1e-6
) -> np.ndarray:
    """⟨∇f, v⟩ against central differences along two random directions; returns ∇f."""
    g = np.asarray(ri.grad(f)(a))
    assert np.all(np.isfinite(g)), f"{what}: gradient not finite: {g}"
    for _ in range(2):
        v = rng.standard_normal(a.shape)
        fd = fd_directional(f, a, v)
        assert abs(np.vdot(g, v) - fd) <= rtol * max(1.0, abs(fd)), (
            f"{what}: ⟨∇f, v⟩ = {np.vdot(g, v)!r} but central differences give {fd!r}"
        )
    return g


def align(u: np.ndarray, u_ref: np.ndarray) -> np.ndarray:
    """Column signs d with u·d ≈ u_ref (LAPACK drivers may choose different signs)."""
    return np.sign(np.sum(u * u_ref, axis=-2, keepdims=True))


# --- losses that do not see the sign of a singular pair (u_i, v_i) ----------------------------
def invariant_loss(a: Any, c1: Any, c2: Any, c3: Any, c4: Any) -> Any:
    u, s, vh = rnp.linalg.svd(a, full_matrices=False)
    return (
        rnp.sum(c1 * u * u)
        + rnp.sum(c2 * vh * vh)
        + rnp.sum(c3 * (u @ vh))
        + rnp.sum(c4 * rnp.sin(s))
    )


@jax.jit
def invariant_loss_grad_j(a: Any, c1: Any, c2: Any, c3: Any, c4: Any) -> Any:
    def loss(a: Any) -> Any:
        u, s, vh = jnp.linalg.svd(a, full_matrices=False)
        return (
            jnp.sum(c1 * u * u)
            + jnp.sum(c2 * vh * vh)
            + jnp.sum(c3 * (u @ vh))
            + jnp.sum(c4 * jnp.sin(s))
        )

    return jax.grad(loss)(a)


@jax.jit
def svd_jvp_j(a: Any, a_dot: Any) -> Any:
    return jax.jvp(lambda a: jnp.linalg.svd(a, full_matrices=False), (a,), (a_dot,))


def _coefficients(rng: np.random.Generator, m: int, n: int) -> tuple[np.ndarray, ...]:
    k = min(m, n)
    return (
        rng.standard_normal((m, k)),
        rng.standard_normal((k, n)),
        rng.standard_normal((m, n)),
        rng.standard_normal(k),
    )


# --- SVD: generic inputs ----------------------------------------------------------------------
@given(shape=fd_shapes, seed=seeds)
def test_singular_value_loss_is_the_lecture_formula(shape: tuple, seed: int) -> None:
    """For L(s): ∂L/∂W = U diag(∂L/∂s) Vᵀ (lecture topic 11), also checked by differences."""
    rng = np.random.default_rng(seed)
    a = with_singular_values(rng, *shape)
    c = rng.standard_normal(min(shape))
    g = check_grad_fd(
        lambda a: rnp.vdot(c, rnp.linalg.svd(a, compute_uv=False)), a, rng, f"⟨c, s⟩ {shape}"
    )
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    assert_close(g, (u * c) @ vh, f"∂⟨c, s⟩/∂W = U diag(c) Vᵀ, shape {shape}")


@given(shape=jax_shapes, seed=seeds)
def test_svd_jvp_matches_jax(shape: tuple, seed: int) -> None:
    """Tangents of U, s and Vh against JAX's rule, after aligning the column signs."""
    rng = np.random.default_rng(seed)
    a, a_dot = with_singular_values(rng, *shape), rng.standard_normal(shape)
    (u, _, _), (du, ds, dvh) = ri.jvp(
        lambda a: rnp.linalg.svd(a, full_matrices=False), (a,), (a_dot,)
    )
    (u_j, _, _), (du_j, ds_j, dvh_j) = svd_jvp_j(a, a_dot)
    d = align(u, np.asarray(u_j))
    assert_close(u * d, u_j, f"U {shape}")
    assert_close(ds, ds_j, f"ṡ {shape}")
    assert_close(du * d, du_j, f"U̇ {shape}")
    assert_close(dvh * d.T, dvh_j, f"V̇h {shape}")


@given(shape=jax_shapes, seed=seeds)
def test_svd_vjp_matches_jax(shape: tuple, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = with_singular_values(rng, *shape)
    cs = _coefficients(rng, *shape)
    assert_close(
        ri.grad(invariant_loss)(a, *cs),
        invariant_loss_grad_j(a, *cs),
        f"∇ of a sign-invariant loss of U, s, V, shape {shape}",
    )


@given(shape=fd_shapes, seed=seeds)
def test_svd_finite_differences(shape: tuple, seed: int) -> None:
    """Square, tall and wide; U ⊙ U, V ⊙ V, U Vᵀ and s all enter the loss."""
    rng = np.random.default_rng(seed)
    a = with_singular_values(rng, *shape)
    cs = _coefficients(rng, *shape)
    check_grad_fd(lambda a: invariant_loss(a, *cs), a, rng, f"invariant loss {shape}")
    v = rng.standard_normal(shape)
    _, (du, ds, dvh) = ri.jvp(lambda a: rnp.linalg.svd(a, full_matrices=False), (a,), (v,))
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    fd = fd_directional(lambda a: invariant_loss(a, *cs), a, v)
    lin = (
        np.sum(cs[0] * 2 * u * du)
        + np.sum(cs[1] * 2 * vh * dvh)
        + np.sum(cs[2] * (du @ vh + u @ dvh))
        + np.sum(cs[3] * np.cos(s) * ds)
    )
    assert abs(lin - fd) <= 1e-6 * max(1.0, abs(fd)), (
        f"JVP of (U, s, Vh) pushed through the loss gives {lin!r}, differences {fd!r}"
    )


@given(shape=fd_shapes, seed=seeds)
def test_svd_rules_are_invariant_to_sign_flips(shape: tuple, seed: int) -> None:
    """(U D, s, D Vh) is an equally valid SVD: tangents flip with it, and Ā does not change."""
    rng = np.random.default_rng(seed)
    m, n = shape
    k = min(m, n)
    a = with_singular_values(rng, m, n)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    d = rng.choice([-1.0, 1.0], size=k)
    a_dot = rng.standard_normal(shape)
    du, ds, dvh = svd_p.jvp_full([a_dot], (u, s, vh), a, full_matrices=False)
    du2, ds2, dvh2 = svd_p.jvp_full([a_dot], (u * d, s, d[:, None] * vh), a, full_matrices=False)
    assert_close(du2, du * d, "U̇ flips with U")
    assert_close(dvh2, d[:, None] * dvh, "V̇h flips with Vh")
    assert_close(ds2, ds, "ṡ does not flip")
    cu, cs, cvh = (rng.standard_normal((m, k)), rng.standard_normal(k), rng.standard_normal((k, n)))
    (g,) = svd_p.vjp_full((cu, cs, cvh), (u, s, vh), a, full_matrices=False)
    (g2,) = svd_p.vjp_full(
        (cu * d, cs, d[:, None] * cvh), (u * d, s, d[:, None] * vh), a, full_matrices=False
    )
    assert_close(g2, g, "Ā is the same for the flipped SVD and flipped cotangents")


def test_svd_batched_matches_jax(rng: np.random.Generator) -> None:
    a = np.stack([with_singular_values(rng, 4, 2) for _ in range(3)])
    c1, c2, c3, c4 = (
        rng.standard_normal((3, 4, 2)),
        rng.standard_normal((3, 2, 2)),
        rng.standard_normal((3, 4, 2)),
        rng.standard_normal((3, 2)),
    )
    assert_close(
        ri.grad(invariant_loss)(a, c1, c2, c3, c4),
        invariant_loss_grad_j(a, c1, c2, c3, c4),
        "batched svd VJP",
    )
    s_dot = ri.jvp(lambda a: rnp.linalg.svd(a, compute_uv=False), (a,), (c3,))[1]
    s_dot_j = jax.jvp(lambda a: jnp.linalg.svd(a, compute_uv=False), (a,), (c3,))[1]
    assert_close(s_dot, s_dot_j, "batched ṡ")


def _second_order_losses(lib: Any, c: Any) -> dict[str, Any]:
    return {
        "Σ s³": lambda a: lib.sum(lib.linalg.svd(a, compute_uv=False) ** 3),
        "⟨C, U Vh⟩ + ‖A‖_*": lambda a: (
            lib.sum(c * (lambda r: r[0] @ r[2])(lib.linalg.svd(a, full_matrices=False)))
            + lib.linalg.norm(a, "nuc")
        ),
    }


@functools.cache
def _jax_second_order(name: str) -> Any:
    """JAX's forward-over-reverse and reverse-over-reverse products of loss ``name``, jitted
    (one program per shape instead of one eager compile per JAX primitive)."""

    def run(a: Any, v: Any, c: Any) -> tuple[Any, Any]:
        fj = _second_order_losses(jnp, c)[name]
        hvp = jax.jvp(jax.grad(fj), (a,), (v,))[1]
        return hvp, jax.grad(lambda a: jnp.vdot(jax.grad(fj)(a), v))(a)

    return jax.jit(run)


@pytest.mark.parametrize("name", ["Σ s³", "⟨C, U Vh⟩ + ‖A‖_*"])
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 4)])
def test_svd_second_order_matches_jax(name: str, shape: tuple, rng: np.random.Generator) -> None:
    """Forward over reverse and reverse over reverse: U and V's tangents enter Ā's tangent."""
    a, v, c = (
        with_singular_values(rng, *shape),
        rng.standard_normal(shape),
        rng.standard_normal(shape),
    )
    f = _second_order_losses(rnp, c)[name]
    hvp_j, rr_j = _jax_second_order(name)(a, v, c)
    hvp = ri.jvp(ri.grad(f), (a,), (v,))[1]
    assert_close(hvp, hvp_j, f"{name} {shape}: HVP")
    rr = ri.grad(lambda a: rnp.vdot(ri.grad(f)(a), v))(a)
    assert_close(rr, rr_j, f"{name} {shape}: reverse over reverse")


# --- SVD: repeated singular values ------------------------------------------------------------
def repeated(rng: np.random.Generator, rotate: bool) -> np.ndarray:
    """Singular values (3, 1, 1): exactly equal (diagonal input) or equal up to rounding."""
    a = np.diag([3.0, 1.0, 1.0])
    return orthogonal(rng, 3) @ a @ orthogonal(rng, 3).T if rotate else a


@pytest.mark.parametrize("rotate", [False, True])
def test_repeated_singular_values_losses_of_s(rotate: bool, rng: np.random.Generator) -> None:
    a = repeated(rng, rotate)
    g = check_grad_fd(
        lambda a: rnp.sum(rnp.sin(rnp.linalg.svd(a, compute_uv=False))),
        a,
        rng,
        "Σ sin(s) at s = (3, 1, 1)",
    )
    u, s, vh = np.linalg.svd(a)
    assert_close(g, (u * np.cos(s)) @ vh, "U diag(cos s) Vᵀ at repeated s")


SUBSPACE_LOSSES = {  # functions of the subspaces of the cluster B = {1, 2}: exact
    "U_B U_Bᵀ": lambda r: r.U[:, 1:] @ r.U[:, 1:].T,
    "V_B V_Bᵀ": lambda r: r.Vh[1:].T @ r.Vh[1:],
    "U_B V_Bᵀ": lambda r: r.U[:, 1:] @ r.Vh[1:],
}


@pytest.mark.parametrize("name", sorted(SUBSPACE_LOSSES))
@pytest.mark.parametrize("rotate", [False, True])
def test_repeated_singular_values_subspace_losses_are_exact(
    name: str, rotate: bool, rng: np.random.Generator
) -> None:
    """JAX returns NaN (exact ties) or a wrong finite value (ties up to rounding) here."""
    a, c = repeated(rng, rotate), rng.standard_normal((3, 3))
    sub = SUBSPACE_LOSSES[name]
    g = check_grad_fd(
        lambda a: rnp.sum(c * sub(rnp.linalg.svd(a))), a, rng, f"{name} at s = (3, 1, 1)"
    )
    g_j = np.asarray(jax.grad(lambda a: jnp.sum(c * sub(jnp.linalg.svd(a))))(a))
    assert not np.allclose(g_j, g, atol=1e-4), (
        f"JAX now gets {name} right at repeated singular values; update the docstring"
    )


def test_degenerate_gradient_is_not_a_function_of_the_cotangents() -> None:
    """Why no VJP rule can give every gauge-invariant loss its true gradient at ties.

    At A = I (U = V = I, s = 1) the losses h₁ = sum(U S Vᵀ) = sum(A) and
    h₂ = sum(U S² Vᵀ) − Σs = sum(A (AᵀA)^½) − ‖A‖_* are both smooth and both invariant to
    rotating the cluster, and they hand the SVD rule *identical* cotangents (Ū, s̄, V̄), yet
    their true gradients differ (1 vs 2·1 − I). A rule sees only the cotangents.
    """
    a = np.eye(3)

    def h1(u: Any, s: Any, vh: Any) -> Any:
        return rnp.sum((u * s) @ vh)

    def h2(u: Any, s: Any, vh: Any) -> Any:
        return rnp.sum((u * s**2) @ vh) - rnp.sum(s)

    u, s, vh = np.linalg.svd(a)
    assert_close(u, np.eye(3), "U = I at A = I")
    cot1 = ri.grad(h1, argnums=(0, 1, 2))(u, s, vh)
    cot2 = ri.grad(h2, argnums=(0, 1, 2))(u, s, vh)
    for c1, c2, what in zip(cot1, cot2, ("Ū", "s̄", "V̄h"), strict=True):
        assert_close(c1, c2, f"{what} of h₁ and h₂ agree")
    true1 = np.ones((3, 3))
    true2 = 2 * np.ones((3, 3)) - np.eye(3)
    rng = np.random.default_rng(0)
    for h, true in ((h1, true1), (h2, true2)):

        def loss(a: Any, h: Any = h) -> Any:
            return h(*rnp.linalg.svd(a))

        v = rng.standard_normal((3, 3))
        fd = fd_directional(loss, a, v, h=1e-5)
        assert abs(fd - np.vdot(true, v)) <= 1e-6, (
            f"{h.__name__}: differences {fd!r}, expected ⟨true ∇, v⟩ = {np.vdot(true, v)!r}"
        )
    assert_close(
        ri.grad(lambda a: h1(*rnp.linalg.svd(a)))(a),
        ri.grad(lambda a: h2(*rnp.linalg.svd(a)))(a),
        "same cotangents, same Ā",
    )


@pytest.mark.parametrize("rotate", [False, True])
def test_repeated_singular_values_reconstruction_policy(
    rotate: bool, rng: np.random.Generator
) -> None:
    """sum(U diag(s) Vh) = sum(A): the true gradient is all ones; ours drops the in-cluster
    term ½(m_ij + m_ji), m = Uᵀ 1 V, exactly as documented, and stays finite."""
    a = repeated(rng, rotate)
    g = np.asarray(ri.grad(lambda a: rnp.sum((lambda r: (r.U * r.S) @ r.Vh)(rnp.linalg.svd(a))))(a))
    u, _, vh = np.linalg.svd(a)
    m = u.T @ np.ones((3, 3)) @ vh.T
    dropped = np.zeros((3, 3))
    dropped[1, 2] = dropped[2, 1] = 0.5 * (m[1, 2] + m[2, 1])
    assert_close(g, np.ones((3, 3)) - u @ dropped @ vh, "ones minus the dropped term")
    g_j = jax.grad(lambda a: jnp.sum((lambda r: (r.U * r.S) @ r.Vh)(jnp.linalg.svd(a))))(a)
    if not rotate:
        assert np.all(np.isnan(g_j)), "JAX gives NaN at exactly repeated singular values"


def test_near_repeated_singular_values_keep_the_true_derivative(rng: np.random.Generator) -> None:
    """A relative gap of 1e-7 is above the tolerance (1e-10): no term is dropped."""
    q, p = orthogonal(rng, 3), orthogonal(rng, 3)
    a = q @ np.diag([3.0, 1.0 + 1e-7, 1.0]) @ p.T
    g = ri.grad(lambda a: rnp.sum((lambda r: (r.U * r.S) @ r.Vh)(rnp.linalg.svd(a))))(a)
    assert_close(g, np.ones((3, 3)), "∇ sum(U S Vᵀ) = 1 at a gap of 1e-7", atol=1e-6)


def test_gauge_dependent_loss_is_finite_at_repeated_values() -> None:
    """sum(U) depends on LAPACK's basis of the cluster: we return the finite part."""
    g = ri.grad(lambda a: rnp.sum(rnp.linalg.svd(a).U))(np.diag([3.0, 1.0, 1.0]))
    assert np.all(np.isfinite(g)), f"gauge-dependent loss: not finite {g}"


def test_zero_matrix_gradients_are_finite(rng: np.random.Generator) -> None:
    c = rng.standard_normal((4, 3))
    g = ri.grad(lambda a: rnp.sum(c * (lambda r: r.U @ r.Vh)(rnp.linalg.svd(a, False))))(
        np.zeros((4, 3))
    )
    assert np.all(np.isfinite(g)), f"all singular values 0: gradient not finite {g}"


# --- SVD: full_matrices=True on rectangular inputs --------------------------------------------
@pytest.mark.parametrize("shape", [(5, 3), (3, 5)])
def test_full_matrices_rectangular(shape: tuple, rng: np.random.Generator) -> None:
    m, n = shape
    k = min(m, n)
    a, a_dot = with_singular_values(rng, m, n), rng.standard_normal(shape)
    (u, _, vh), (du, ds, dvh) = ri.jvp(rnp.linalg.svd, (a,), (a_dot,))
    assert u.shape == (m, m) and vh.shape == (n, n), f"full U, Vh: {u.shape}, {vh.shape}"
    _, (du_t, ds_t, dvh_t) = ri.jvp(lambda a: rnp.linalg.svd(a, False), (a,), (a_dot,))
    assert_close(du[:, :k], du_t, "the first k columns of U̇ are the thin SVD's")
    assert_close(dvh[:k], dvh_t, "the first k rows of V̇h are the thin SVD's")
    assert_close(ds, ds_t, "ṡ")
    assert_close(u.T @ du + du.T @ u, np.zeros((m, m)), "U̇ keeps U orthogonal", atol=1e-12)
    assert_close(vh @ dvh.T + dvh @ vh.T, np.zeros((n, n)), "V̇h keeps Vh orthogonal", atol=1e-12)
    c = rng.standard_normal((max(m, n),) * 2)

    def complement(a: Any) -> Any:  # the projector onto the complement: determined, smooth
        u, _, vh = rnp.linalg.svd(a)
        w = u[:, k:] if m > n else vh[k:].T
        return rnp.sum(c * (w @ w.T))

    check_grad_fd(complement, a, rng, f"complement projector {shape}")
    with pytest.raises(NotImplementedError):  # JAX: "not implemented for full matrices"
        jax.jvp(jnp.linalg.svd, (a,), (a_dot,))


def test_svd_errors() -> None:
    with pytest.raises(ValueError, match=r"expected a matrix .* shape \(3,\)"):
        rnp.linalg.svd(np.ones(3))
    with pytest.raises(NotImplementedError, match="hermitian"):
        rnp.linalg.svd(np.eye(3), hermitian=True)
    with pytest.raises(ValueError, match=r"linalg.eigh: expected a square .* \(2, 3\)"):
        rnp.linalg.eigh(np.ones((2, 3)))


# --- eigh -------------------------------------------------------------------------------------
def sym_with_eigenvalues(rng: np.random.Generator, w: Any) -> np.ndarray:
    q = orthogonal(rng, len(w))
    return (q * np.asarray(w)) @ q.T


def eigh_loss(a: Any, c1: Any, c2: Any, c3: Any) -> Any:
    w, v = rnp.linalg.eigh(a)
    vwv = (v * w[..., None, :]) @ rnp.swapaxes(v, -1, -2)  # V diag(w) Vᵀ = sym(A)
    return rnp.sum(c1 * rnp.sin(w)) + rnp.sum(c2 * v * v) + rnp.sum(c3 * vwv)


@jax.jit
def eigh_loss_grad_j(a: Any, c1: Any, c2: Any, c3: Any) -> Any:
    def loss(a: Any) -> Any:
        w, v = jnp.linalg.eigh(a)
        vwv = (v * w[..., None, :]) @ jnp.swapaxes(v, -1, -2)
        return jnp.sum(c1 * jnp.sin(w)) + jnp.sum(c2 * v * v) + jnp.sum(c3 * vwv)

    return jax.grad(loss)(a)


@jax.jit
def eigh_jvp_j(a: Any, a_dot: Any) -> Any:
    return jax.jvp(jnp.linalg.eigh, (a,), (a_dot,))


@given(n=st.sampled_from([1, 4]), seed=seeds)
def test_eigh_matches_jax(n: int, seed: int) -> None:
    """Non-symmetric input, tangent and cotangents: both sides symmetrise (A + Aᵀ)/2."""
    rng = np.random.default_rng(seed)
    a = sym_with_eigenvalues(rng, np.linspace(-2, 2, n) + rng.uniform(0, 0.1, n))
    a = a + 0.3 * (lambda x: x - x.T)(rng.standard_normal((n, n)))  # skew part: ignored
    a_dot = rng.standard_normal((n, n))
    (w, v), (dw, dv) = ri.jvp(rnp.linalg.eigh, (a,), (a_dot,))
    (w_j, v_j), (dw_j, dv_j) = eigh_jvp_j(a, a_dot)
    d = align(v, np.asarray(v_j))
    assert_close(w, w_j, f"eigenvalues n={n}")
    assert_close(dw, dw_j, f"ẇ n={n}")
    assert_close(dv * d, dv_j, f"V̇ n={n}")
    cs = rng.standard_normal(n), rng.standard_normal((n, n)), rng.standard_normal((n, n))
    g = ri.grad(eigh_loss)(a, *cs)
    assert_close(g, eigh_loss_grad_j(a, *cs), f"∇ of a sign-invariant loss of w, V, n={n}")
    assert_close(g, g.T, "the eigh gradient is symmetric")


@given(n=st.integers(1, 5), seed=seeds)
def test_eigh_finite_differences(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = sym_with_eigenvalues(rng, np.linspace(-2, 2, n) + rng.uniform(0, 0.1, n))
    cs = rng.standard_normal(n), rng.standard_normal((n, n)), rng.standard_normal((n, n))
    check_grad_fd(lambda a: eigh_loss(a, *cs), a, rng, f"eigh loss n={n}")


def test_eigh_repeated_eigenvalues(rng: np.random.Generator) -> None:
    """Eigenvalues (1, 1, 2): losses of w and of the cluster's projector are exact."""
    for a in (np.diag([1.0, 1.0, 2.0]), sym_with_eigenvalues(rng, [1.0, 1.0, 2.0])):
        c = rng.standard_normal((3, 3))
        check_grad_fd(lambda a: rnp.sum(rnp.sin(rnp.linalg.eigh(a)[0])), a, rng, "Σ sin(w)")
        check_grad_fd(
            lambda a, c=c: rnp.sum(c * (lambda v: v[:, :2] @ v[:, :2].T)(rnp.linalg.eigh(a)[1])),
            a,
            rng,
            "projector onto the eigenvalue-1 cluster",
        )
        g = ri.grad(lambda a: rnp.sum(rnp.linalg.eigh(a)[1]))(a)
        assert np.all(np.isfinite(g)), f"gauge-dependent loss of V: not finite {g}"


def test_eigh_batched_matches_jax(rng: np.random.Generator) -> None:
    a = np.stack([sym_with_eigenvalues(rng, [-1.0, 0.5, 2.0, 3.0]) for _ in range(2)])
    cs = (
        rng.standard_normal((2, 4)),
        rng.standard_normal((2, 4, 4)),
        rng.standard_normal((2, 4, 4)),
    )
    assert_close(ri.grad(eigh_loss)(a, *cs), eigh_loss_grad_j(a, *cs), "batched eigh VJP")


def test_eigh_second_order_matches_jax(rng: np.random.Generator) -> None:
    a = sym_with_eigenvalues(rng, [-1.0, 0.5, 2.0, 3.0])
    v = rng.standard_normal((4, 4))
    cs = rng.standard_normal(4), rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    hvp = ri.jvp(lambda a: ri.grad(eigh_loss)(a, *cs), (a,), (v,))[1]
    hvp_j = jax.jvp(lambda a: eigh_loss_grad_j(a, *cs), (a,), (v,))[1]
    assert_close(hvp, hvp_j, "eigh: forward-over-reverse HVP")


def test_eigh_rules_are_invariant_to_sign_flips(rng: np.random.Generator) -> None:
    a = sym_with_eigenvalues(rng, [-1.0, 0.5, 2.0, 3.0])
    w, v = np.linalg.eigh(a)
    d = np.array([1.0, -1.0, -1.0, 1.0])
    cw, cv = rng.standard_normal(4), rng.standard_normal((4, 4))
    (g,) = eigh_p.vjp_full((cw, cv), (w, v), a, lower=True)
    (g2,) = eigh_p.vjp_full((cw, cv * d), (w, v * d), a, lower=True)
    assert_close(g2, g, "eigh Ā is the same for flipped eigenvectors and cotangents")
