"""solve, inv, det, slogdet, cholesky and norm: rules against JAX (float64) and finite differences.

Every comparison uses random tangents and random cotangents. Inputs are well conditioned
(``randn(n, n) + n·I``, SPD with eigenvalues in [1, 1 + n]) so that finite differences and
float64 comparisons are meaningful.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.tree_util import tree_flatten
from tests.engine.strategies import seeds, spd, well_conditioned

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

sizes = st.integers(1, 5)  # for finite-difference tests
# JAX compiles once per function and shape (~0.4 s each): JAX comparisons draw few shapes
jax_sizes = st.sampled_from([1, 3])


# --- helpers ----------------------------------------------------------------------------------
def _leaves(tree: Any) -> list[np.ndarray]:
    return [np.asarray(ri.concrete(x), dtype=float) for x in tree_flatten(tree)[0]]


def _like(tree: Any, rng: np.random.Generator) -> Any:
    return [rng.standard_normal(np.shape(x)) for x in _leaves(tree)]


def _unflatten_like(out: Any, leaves: list[np.ndarray]) -> Any:
    """Arrange leaves as ``out`` (an array, a tuple or a namedtuple of arrays)."""
    if isinstance(out, tuple):
        return type(out)(*leaves) if hasattr(out, "_fields") else tuple(leaves)
    return leaves[0]


def assert_close(
    ours: Any, theirs: Any, what: str, rtol: float = 1e-9, atol: float = 1e-10
) -> None:
    a, b = _leaves(ours), _leaves(theirs)
    assert len(a) == len(b), f"{what}: {len(a)} outputs vs {len(b)}"
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"{what} (leaf {i})")


def check_vs_jax(
    f: Any,
    fj: Any,
    args: tuple,
    rng: np.random.Generator,
    what: str,
    rtol: float = 1e-9,
    atol: float = 1e-10,
) -> None:
    """Values, JVP along random tangents and VJP of a random cotangent agree with JAX."""
    tangents = tuple(rng.standard_normal(np.shape(a)) for a in args)
    out, out_dot = ri.jvp(f, args, tangents)
    shapes = jax.eval_shape(fj, *args)
    ct_leaves = [rng.standard_normal(x.shape) for x in jax.tree_util.tree_leaves(shapes)]
    ct = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(shapes), ct_leaves)

    @jax.jit  # JAX's side in one program (eagerly: one compile per JAX primitive)
    def reference(args: tuple, tangents: tuple, ct: Any) -> Any:
        return (*jax.jvp(fj, args, tangents), jax.vjp(fj, *args)[1](ct))

    out_j, out_dot_j, ct_j = reference(args, tangents, ct)
    assert_close(out, out_j, f"{what}: value", rtol, atol)
    assert_close(out_dot, out_dot_j, f"{what}: JVP", rtol, atol)
    ours = ri.vjp(f, *args)[1](_unflatten_like(out, ct_leaves))
    assert_close(ours, ct_j, f"{what}: VJP", rtol, atol)


def check_fd(
    f: Any, args: tuple, rng: np.random.Generator, what: str, h: float = 1e-6, rtol: float = 1e-6
) -> None:
    """Central differences along a random direction v: the JVP, and ⟨c, J v⟩ = ⟨Jᵀc, v⟩."""
    v = tuple(rng.standard_normal(np.shape(a)) for a in args)
    plus = _leaves(f(*[a + h * d for a, d in zip(args, v, strict=True)]))
    minus = _leaves(f(*[a - h * d for a, d in zip(args, v, strict=True)]))
    fd = [(p - m) / (2 * h) for p, m in zip(plus, minus, strict=True)]
    out, out_dot = ri.jvp(f, args, v)
    scale = max(1.0, *(np.max(np.abs(x)) for x in fd))
    for i, (x, y) in enumerate(zip(_leaves(out_dot), fd, strict=True)):
        np.testing.assert_allclose(
            x,
            y,
            rtol=rtol,
            atol=rtol * scale,
            err_msg=f"{what}: JVP vs central differences (output {i})",
        )
    c = _like(out, rng)
    grads = ri.vjp(f, *args)[1](_unflatten_like(out, c))
    lhs = sum(float(np.vdot(ci, fi)) for ci, fi in zip(c, fd, strict=True))
    rhs = sum(float(np.vdot(g, d)) for g, d in zip(_leaves(grads), v, strict=True))
    assert abs(lhs - rhs) <= rtol * max(1.0, abs(lhs)) * 10, (
        f"{what}: dot-product test ⟨c, J v⟩ = {lhs!r} (FD) but ⟨Jᵀ c, v⟩ = {rhs!r}"
    )


# --- solve ------------------------------------------------------------------------------------
@given(n=jax_sizes, k=st.sampled_from([0, 2]), seed=seeds)
def test_solve_matches_jax(n: int, k: int, seed: int) -> None:
    """k = 0 is a vector right-hand side, k ≥ 1 a matrix of k right-hand sides."""
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, n)
    b = rng.standard_normal((n,) if k == 0 else (n, k))
    check_vs_jax(rnp.linalg.solve, jnp.linalg.solve, (a, b), rng, f"solve n={n} k={k}")


@given(n=sizes, k=st.integers(0, 3), seed=seeds)
def test_solve_finite_differences(n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, n)
    b = rng.standard_normal((n,) if k == 0 else (n, k))
    check_fd(rnp.linalg.solve, (a, b), rng, f"solve n={n} k={k}")


@pytest.mark.parametrize(
    "a_shape,b_shape",
    [
        ((2, 3, 3), (3,)),
        ((2, 3, 3), (3, 4)),
        ((4, 1, 3, 3), (2, 3, 1)),
    ],
)
def test_solve_batched_matches_jax(
    a_shape: tuple, b_shape: tuple, rng: np.random.Generator
) -> None:
    n = a_shape[-1]
    a = rng.standard_normal(a_shape) + n * np.eye(n)
    b = rng.standard_normal(b_shape)
    check_vs_jax(rnp.linalg.solve, jnp.linalg.solve, (a, b), rng, f"solve {a_shape} {b_shape}")


def test_solve_many_right_hand_sides(rng: np.random.Generator) -> None:
    """50 right-hand sides at once: the same as 50 separate solves, and as JAX."""
    n, k = 6, 50
    a, b = well_conditioned(rng, n), rng.standard_normal((n, k))
    check_vs_jax(rnp.linalg.solve, jnp.linalg.solve, (a, b), rng, "solve with 50 RHS")
    c = rng.standard_normal((n, k))
    ga, gb = ri.grad(lambda a, b: rnp.sum(c * rnp.linalg.solve(a, b)), argnums=(0, 1))(a, b)
    cols = [
        ri.grad(lambda a, bj, j=j: rnp.vdot(c[:, j], rnp.linalg.solve(a, bj)), argnums=(0, 1))(
            a, b[:, j]
        )
        for j in range(k)
    ]
    assert_close(ga, sum(g for g, _ in cols), "Ā of 50 RHS = Σ of the per-column Ā")
    assert_close(gb, np.stack([g for _, g in cols], axis=1), "b̄ of 50 RHS column by column")


def test_solve_vjp_is_the_lecture_formula(rng: np.random.Generator) -> None:
    """∂L/∂A = −A⁻ᵀ ḡ xᵀ and ∂L/∂b = A⁻ᵀ ḡ, with ḡ = ∂L/∂x."""
    n = 5
    a, b, g = well_conditioned(rng, n), rng.standard_normal(n), rng.standard_normal(n)
    x = np.linalg.solve(a, b)
    ga, gb = ri.vjp(rnp.linalg.solve, a, b)[1](g)
    assert_close(gb, np.linalg.solve(a.T, g), "b̄ = A⁻ᵀ ḡ")
    assert_close(ga, -np.outer(np.linalg.solve(a.T, g), x), "Ā = −A⁻ᵀ ḡ xᵀ")


@pytest.fixture
def count_lu(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of scipy.linalg.lu_factor (one per matrix factorised)."""
    calls = [0]
    original = scipy.linalg.lu_factor

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(scipy.linalg, "lu_factor", counted)
    return calls


def test_solve_backward_reuses_the_factorisation(
    count_lu: list[int], rng: np.random.Generator
) -> None:
    n = 5
    a, b, c = well_conditioned(rng, n), rng.standard_normal((n, 2)), rng.standard_normal((n, 2))

    def loss(a: Any, b: Any) -> Any:
        return rnp.sum(c * rnp.linalg.solve(a, b) ** 2)

    ri.grad(loss, argnums=(0, 1))(a, b)
    assert count_lu[0] == 1, f"grad of solve factorised {count_lu[0]} times, expected 1"
    _, vjp_fn = ri.vjp(rnp.linalg.solve, a, b)
    for _ in range(3):
        vjp_fn(rng.standard_normal((n, 2)))
    assert count_lu[0] == 2, f"vjp + 3 backward passes: {count_lu[0] - 1} factorisations, not 1"
    ri.jvp(rnp.linalg.solve, (a, b), (rng.standard_normal((n, n)), rng.standard_normal((n, 2))))
    assert count_lu[0] == 3, "jvp of solve factorised more than once"
    count_lu[0] = 0  # second order, reverse over reverse and forward over reverse
    v = rng.standard_normal((n, n))
    ri.grad(lambda a: rnp.vdot(ri.grad(loss)(a, b), v))(a)
    ri.jvp(ri.grad(loss), (a, b), (v, np.zeros((n, 2))))
    assert count_lu[0] == 2, f"two second-order passes factorised {count_lu[0]} times, not 2"
    count_lu[0] = 0
    ri.grad(lambda a: rnp.linalg.slogdet(a)[1] + rnp.sum(rnp.linalg.inv(a)))(a)
    assert count_lu[0] == 2, f"grad of slogdet + inv factorised {count_lu[0]} times, not 2"


def _loss(a: Any, b: Any, c: Any) -> Any:
    return rnp.sum(c * rnp.sin(rnp.linalg.solve(a, b)))


@jax.jit
def _loss_j(a: Any, b: Any, c: Any) -> Any:
    return jnp.sum(c * jnp.sin(jnp.linalg.solve(a, b)))


@jax.jit
def _hvp_j(a: Any, b: Any, c: Any, va: Any, vb: Any) -> Any:
    return jax.jvp(lambda a, b: jax.grad(_loss_j, argnums=(0, 1))(a, b, c), (a, b), (va, vb))[1]


@jax.jit
def _rev_rev_j(a: Any, b: Any, c: Any, va: Any) -> Any:
    return jax.grad(lambda a, b: jnp.vdot(jax.grad(_loss_j)(a, b, c), va), argnums=(0, 1))(a, b)


@given(n=jax_sizes, seed=seeds)
def test_solve_second_order_matches_jax(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = well_conditioned(rng, n), rng.standard_normal((n, 2))
    c = rng.standard_normal((n, 2))
    va, vb = rng.standard_normal((n, n)), rng.standard_normal((n, 2))
    ours = ri.jvp(lambda a, b: ri.grad(_loss, argnums=(0, 1))(a, b, c), (a, b), (va, vb))[1]
    assert_close(ours, _hvp_j(a, b, c, va, vb), "solve: forward-over-reverse HVP", rtol=1e-8)
    ours = ri.grad(lambda a, b: rnp.vdot(ri.grad(_loss)(a, b, c), va), argnums=(0, 1))(a, b)
    assert_close(ours, _rev_rev_j(a, b, c, va), "solve: reverse-over-reverse", rtol=1e-8)


# --- inv, det, slogdet ------------------------------------------------------------------------
FUNCS = {
    "inv": (rnp.linalg.inv, jnp.linalg.inv),
    "det": (rnp.linalg.det, jnp.linalg.det),
    "logabsdet": (
        lambda a: rnp.linalg.slogdet(a).logabsdet,
        lambda a: jnp.linalg.slogdet(a).logabsdet,
    ),
}


@pytest.mark.parametrize("name", sorted(FUNCS))
@given(n=jax_sizes, seed=seeds)
def test_inv_det_slogdet_match_jax(name: str, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, n) * rng.choice([-1.0, 1.0], size=n)  # both signs of det
    f, fj = FUNCS[name]
    check_vs_jax(f, fj, (a,), rng, f"{name} n={n}", rtol=1e-8)


@pytest.mark.parametrize("name", sorted(FUNCS))
@given(n=sizes, seed=seeds)
def test_inv_det_slogdet_finite_differences(name: str, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, n) * rng.choice([-1.0, 1.0], size=n)
    check_fd(FUNCS[name][0], (a,), rng, f"{name} n={n}")


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_inv_det_slogdet_batched(name: str, rng: np.random.Generator) -> None:
    a = rng.standard_normal((2, 3, 4, 4)) + 4 * np.eye(4)
    f, fj = FUNCS[name]
    check_vs_jax(f, fj, (a,), rng, f"batched {name}", rtol=1e-8)


def test_slogdet_sign_and_vjp_formula(rng: np.random.Generator) -> None:
    a = well_conditioned(rng, 4)
    a[[0, 1]] = a[[1, 0]]  # a row swap: det < 0
    sign, logabs = rnp.linalg.slogdet(a)
    sign_np, logabs_np = np.linalg.slogdet(a)
    assert sign == sign_np == -1.0, f"sign {sign}, NumPy says {sign_np}"
    assert_close(logabs, logabs_np, "log|det A|")
    ct = rng.standard_normal()
    assert_close(
        ri.vjp(lambda a: rnp.linalg.slogdet(a)[1], a)[1](ct)[0],
        ct * np.linalg.inv(a).T,
        "VJP of log|det| = ct·A⁻ᵀ",
    )
    assert_close(
        ri.vjp(rnp.linalg.det, a)[1](ct)[0],
        ct * np.linalg.det(a) * np.linalg.inv(a).T,
        "VJP of det = ct·det·A⁻ᵀ",
    )


@jax.jit
def _logdet_hvp_j(a: Any, v: Any) -> Any:
    return jax.jvp(jax.grad(lambda a: jnp.linalg.slogdet(a)[1]), (a,), (v,))[1]


@given(n=jax_sizes, seed=seeds)
def test_slogdet_second_order_matches_jax(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, v = well_conditioned(rng, n), rng.standard_normal((n, n))
    hvp = ri.jvp(ri.grad(lambda a: rnp.linalg.slogdet(a)[1]), (a,), (v,))[1]
    hvp_j = _logdet_hvp_j(a, v)
    assert_close(hvp, hvp_j, "HVP of log|det| (= −A⁻ᵀ Vᵀ A⁻ᵀ)", rtol=1e-8)
    assert_close(
        hvp, -np.linalg.inv(a).T @ v.T @ np.linalg.inv(a).T, "HVP = −A⁻ᵀ Vᵀ A⁻ᵀ", rtol=1e-8
    )


def test_slogdet_and_det_hessians_match_jax(rng: np.random.Generator) -> None:
    a, v = well_conditioned(rng, 3), rng.standard_normal((3, 3))
    hess = ri.hessian(lambda a: rnp.linalg.slogdet(a)[1])(a)
    assert_close(
        hess, jax.hessian(lambda a: jnp.linalg.slogdet(a)[1])(a), "Hessian of log|det|", rtol=1e-8
    )
    d2 = ri.jvp(ri.grad(rnp.linalg.det), (a,), (v,))[1]
    assert_close(d2, jax.jvp(jax.grad(jnp.linalg.det), (a,), (v,))[1], "HVP of det", rtol=1e-8)


@pytest.mark.parametrize("kind", ["rank 3, rounded", "duplicate row", "two zero rows"])
def test_det_gradient_at_singular_matrices(kind: str, rng: np.random.Generator) -> None:
    """∂det/∂A = cof(A) stays finite where A⁻¹ does not exist (rank n−1: rank one; ≤ n−2: 0).

    A product of 4×3 and 3×4 factors is singular only up to rounding (its LU pivots are tiny,
    not 0); a duplicated row or zero rows give exact zero pivots, the adjugate branch.
    """
    n = 4
    a = rng.standard_normal((n, n))
    if kind == "rank 3, rounded":
        a = rng.standard_normal((n, 3)) @ rng.standard_normal((3, n))
    elif kind == "duplicate row":
        a[2] = a[0]
    else:
        a[1:3] = 0.0
    rank = 2 if kind == "two zero rows" else 3
    ct = rng.standard_normal()
    g = ri.vjp(rnp.linalg.det, a)[1](ct)[0]
    g_j = jax.vjp(jnp.linalg.det, a)[1](ct)[0]
    assert np.all(np.isfinite(g)), f"det gradient at a rank-{rank} matrix is not finite: {g}"
    assert_close(g, g_j, f"det VJP at a {kind} {n}×{n} matrix", rtol=1e-7, atol=1e-9)
    s = np.linalg.svd(g, compute_uv=False)
    if rank == n - 1:
        assert s[0] > 1e-3 and s[1] <= 1e-9 * s[0], f"cof(A) should have rank one, σ = {s}"
    else:
        assert s[0] <= 1e-12, f"cof(A) of a rank-{rank} matrix should be 0, σ = {s}"


# --- cholesky ---------------------------------------------------------------------------------
@given(n=jax_sizes, seed=seeds)
def test_cholesky_matches_jax(n: int, seed: int) -> None:
    """Non-symmetric tangents and cotangents: both sides symmetrise the input as JAX does."""
    rng = np.random.default_rng(seed)
    check_vs_jax(
        rnp.linalg.cholesky, jnp.linalg.cholesky, (spd(rng, n),), rng, f"cholesky n={n}", rtol=1e-8
    )


@given(n=sizes, seed=seeds)
def test_cholesky_finite_differences(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = spd(rng, n)
    check_fd(rnp.linalg.cholesky, (a,), rng, f"cholesky n={n}")


def test_cholesky_upper_batched_and_gradient_symmetric(rng: np.random.Generator) -> None:
    check_vs_jax(
        lambda a: rnp.linalg.cholesky(a, upper=True),
        lambda a: jnp.linalg.cholesky(a, upper=True),
        (spd(rng, 4),),
        rng,
        "cholesky upper",
        rtol=1e-8,
    )
    a = np.stack([spd(rng, 4) for _ in range(3)])
    check_vs_jax(rnp.linalg.cholesky, jnp.linalg.cholesky, (a,), rng, "batched cholesky", rtol=1e-8)
    g = ri.vjp(rnp.linalg.cholesky, a[0])[1](rng.standard_normal((4, 4)))[0]
    assert_close(g, g.T, "the cholesky gradient is symmetric (input symmetrised)")


def _chol_loss(a: Any, c: Any) -> Any:
    return rnp.sum(c * rnp.sin(rnp.linalg.cholesky(a)))


@jax.jit
def _chol_second_order_j(a: Any, c: Any, v: Any) -> Any:
    def loss(a: Any) -> Any:
        return jnp.sum(c * jnp.sin(jnp.linalg.cholesky(a)))

    hvp = jax.jvp(jax.grad(loss), (a,), (v,))[1]
    return hvp, jax.grad(lambda a: jnp.vdot(jax.grad(loss)(a), v))(a)


def test_cholesky_second_order_matches_jax(rng: np.random.Generator) -> None:
    """Forward over reverse and reverse over reverse: the triangular solves' own rules."""
    a, c, v = spd(rng, 4), rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    hvp_j, rr_j = _chol_second_order_j(a, c, v)
    hvp = ri.jvp(lambda a: ri.grad(_chol_loss)(a, c), (a,), (v,))[1]
    assert_close(hvp, hvp_j, "cholesky: forward-over-reverse HVP", rtol=1e-8)
    rr = ri.grad(lambda a: rnp.vdot(ri.grad(_chol_loss)(a, c), v))(a)
    assert_close(rr, rr_j, "cholesky: reverse-over-reverse", rtol=1e-8)


# --- norm -------------------------------------------------------------------------------------
@pytest.mark.parametrize("ord", [None, 1, 2, 3, np.inf, -np.inf, 0.5])
def test_vector_norms_match_jax(ord: Any, rng: np.random.Generator) -> None:
    x = rng.standard_normal(6)
    check_vs_jax(
        lambda x: rnp.linalg.norm(x, ord),
        lambda x: jnp.linalg.norm(x, ord),
        (x,),
        rng,
        f"vector norm ord={ord}",
    )


@pytest.mark.parametrize(
    "ord,shape",
    [
        *[(o, (4, 3)) for o in (None, "fro", 1, -1, np.inf, -np.inf)],
        *[(o, s) for o in ("nuc", 2, -2) for s in ((4, 4), (5, 3), (3, 5))],
    ],
)
def test_matrix_norms_match_jax_and_fd(ord: Any, shape: tuple, rng: np.random.Generator) -> None:
    x = rng.standard_normal(shape)
    check_vs_jax(
        lambda x: rnp.linalg.norm(x, ord),
        lambda x: jnp.linalg.norm(x, ord),
        (x,),
        rng,
        f"matrix norm ord={ord} {shape}",
        rtol=1e-8,
    )
    check_fd(lambda x: rnp.linalg.norm(x, ord), (x,), rng, f"matrix norm ord={ord} {shape}")


@pytest.mark.parametrize("ord", ["nuc", 1])
def test_matrix_norm_axis_and_keepdims(ord: Any, rng: np.random.Generator) -> None:
    x = rng.standard_normal((3, 2, 4))
    for keep in (False, True):
        check_vs_jax(
            lambda x, keep=keep: rnp.linalg.norm(x, ord, axis=(0, 2), keepdims=keep),
            lambda x, keep=keep: jnp.linalg.norm(x, ord, axis=(0, 2), keepdims=keep),
            (x,),
            rng,
            f"norm ord={ord} axis=(0, 2) keepdims={keep}",
            rtol=1e-8,
        )


# --- errors -----------------------------------------------------------------------------------
def test_error_messages(rng: np.random.Generator) -> None:
    a = well_conditioned(rng, 3)
    with pytest.raises(ValueError, match=r"b has shape \(4,\) but a has shape \(3, 3\)"):
        rnp.linalg.solve(a, np.ones(4))
    with pytest.raises(ValueError, match=r"b has shape \(2, 3\) but a has shape \(3, 3\)"):
        rnp.linalg.solve(a, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"batch dimensions of a \(2, 3, 3\) and b \(4, 3, 1\)"):
        rnp.linalg.solve(np.stack([a, a]), np.ones((4, 3, 1)))
    for name in ("det", "inv", "slogdet", "cholesky", "solve"):
        args = (np.ones((2, 3)), np.ones(2)) if name == "solve" else (np.ones((2, 3)),)
        with pytest.raises(ValueError, match=rf"linalg.{name}: expected a square .* \(2, 3\)"):
            getattr(rnp.linalg, name)(*args)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        rnp.linalg.solve(np.ones((3, 3)), np.ones(3))
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        ri.grad(lambda a: rnp.linalg.slogdet(a)[1])(np.ones((3, 3)))
    with pytest.raises(NotImplementedError, match="second derivatives at an exactly singular"):
        ri.jvp(ri.grad(rnp.linalg.det), (np.ones((3, 3)),), (a,))
    with pytest.raises(np.linalg.LinAlgError):
        rnp.linalg.cholesky(-np.eye(3))
    with pytest.raises(ValueError, match="invalid ord"):
        rnp.linalg.norm(a, "bogus")
