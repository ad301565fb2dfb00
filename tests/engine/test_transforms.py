"""The transformations against JAX (float64) and finite differences.

grad (argnums, has_aux), value_and_grad, jvp, vjp (has_aux, several calls), jacfwd, jacrev,
hessian, linearize; nesting to third order and perturbation confusion; custom_jvp / custom_vjp;
Python control flow on traced values; constant outputs and unused inputs.
Every function body is written once for a NumPy-like module ``xp`` and run with both
``reference_impl.numpy`` and ``jax.numpy``. Pytree layouts are tested in ``test_pytrees.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.core import Tracer, concrete
from tests.engine.strategies import arrays, seeds

RTOL, ATOL = 1e-9, 1e-11


@pytest.fixture(scope="module")
def jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def close(ours: Any, theirs: Any, msg: str, rtol: float = RTOL, atol: float = ATOL) -> None:
    """Leaf-wise comparison of two pytrees (same containers, same shapes, close values)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs), f"{msg}: keys differ"
        for k in theirs:
            close(ours[k], theirs[k], f"{msg}[{k!r}]", rtol, atol)
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), (
            f"{msg}: expected {type(theirs).__name__} of length {len(theirs)}, got {ours!r}"
        )
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            close(a, b, f"{msg}[{i}]", rtol, atol)
    else:
        assert not isinstance(ours, Tracer), f"{msg}: a tracer leaked out: {ours!r}"
        a, b = np.asarray(ours), np.asarray(theirs)
        assert a.shape == b.shape, f"{msg}: shape {a.shape}, expected {b.shape}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=msg)


def central_diff(f: Any, x: np.ndarray, v: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """(f(x + h v) − f(x − h v)) / 2h: the directional derivative, error O(h²)."""
    return (np.asarray(f(x + h * v)) - np.asarray(f(x - h * v))) / (2 * h)


# --- the test functions, written once for any numpy-like module ---------------------------------
def f_scalar(xp: Any, x: Any, y: Any) -> Any:
    """R^n × R^n → R, with fan-out (x used three times) and broadcasting."""
    return xp.sum(xp.sin(x) * y + xp.tanh(x * y) ** 2) + xp.mean(x) * 0.5


def f_vector(xp: Any, x: Any) -> Any:
    """R^n → R^(n+1): elementwise map plus a reduction."""
    return xp.concatenate([xp.sin(x) * xp.exp(0.3 * x), xp.reshape(xp.sum(x**2), (1,))])


def f_matrix(xp: Any, a: Any) -> Any:
    """R^(2×3) → R^(3×3): a product of the input with itself."""
    return xp.tanh(a.T @ a) + a.T @ xp.ones((2, 3))


# --- grad, value_and_grad ------------------------------------------------------------------------
@given(x=arrays(shape=(4,)), y=arrays(shape=(4,)))
def test_grad_argnums_against_jax(jax, x: np.ndarray, y: np.ndarray) -> None:
    for argnums in (0, 1, (0, 1), (1,), (1, 0)):
        ours = ri.grad(lambda a, b: f_scalar(rnp, a, b), argnums=argnums)(x, y)
        theirs = jax.grad(lambda a, b: f_scalar(jax.numpy, a, b), argnums=argnums)(x, y)
        close(ours, theirs, f"grad argnums={argnums} at x={x}, y={y}")


@given(x=arrays(shape=(3,)), seed=seeds)
def test_grad_matches_finite_differences(x: np.ndarray, seed: int) -> None:
    y = np.random.default_rng(seed).standard_normal(3)
    v = np.random.default_rng(seed + 1).standard_normal(3)
    g = ri.grad(lambda a: f_scalar(rnp, a, y))(x)
    fd = central_diff(lambda a: f_scalar(np, a, y), x, v)
    np.testing.assert_allclose(
        np.dot(g, v),
        fd,
        rtol=1e-6,
        atol=1e-7,
        err_msg=f"<grad f, v> vs central difference at x={x}",
    )


def test_grad_has_aux_returns_plain_aux(jax, rng: np.random.Generator) -> None:
    x, y = rng.standard_normal(3), rng.standard_normal(3)

    def f(xp: Any, a: Any, b: Any) -> Any:
        loss = f_scalar(xp, a, b)
        return loss, {"loss": loss, "feature": xp.sin(a)}

    (g, aux) = ri.grad(lambda a, b: f(rnp, a, b), argnums=(0, 1), has_aux=True)(x, y)
    (gj, auxj) = jax.grad(lambda a, b: f(jax.numpy, a, b), argnums=(0, 1), has_aux=True)(x, y)
    close(g, gj, "grad with has_aux: gradient")
    close(aux, auxj, "grad with has_aux: aux (plain values, no tracers)")


def test_value_and_grad(jax, rng: np.random.Generator) -> None:
    x, y = rng.standard_normal(4), rng.standard_normal(4)
    for argnums in (0, (0, 1)):
        ours = ri.value_and_grad(lambda a, b: f_scalar(rnp, a, b), argnums)(x, y)
        theirs = jax.value_and_grad(lambda a, b: f_scalar(jax.numpy, a, b), argnums)(x, y)
        close(ours, theirs, f"value_and_grad argnums={argnums}")
    (v, aux), g = ri.value_and_grad(lambda a: (rnp.sum(a**3), a * 2.0), has_aux=True)(x)
    close((v, aux, g), (np.sum(x**3), 2 * x, 3 * x**2), "value_and_grad has_aux closed form")


def test_grad_passes_keyword_arguments(rng: np.random.Generator) -> None:
    x = rng.standard_normal(3)
    g = ri.grad(lambda a, scale=1.0: scale * rnp.sum(a**2))(x, scale=3.0)
    close(g, 6.0 * x, "grad with a keyword argument: d/dx 3·|x|² = 6x")


# --- jvp, vjp, linearize -------------------------------------------------------------------------
@given(x=arrays(shape=(3,)), seed=seeds)
def test_jvp_against_jax_and_finite_differences(jax, x: np.ndarray, seed: int) -> None:
    v = np.random.default_rng(seed).standard_normal(3)
    out, out_dot = ri.jvp(lambda a: f_vector(rnp, a), (x,), (v,))
    outj, out_dotj = jax.jvp(lambda a: f_vector(jax.numpy, a), (x,), (v,))
    close((out, out_dot), (outj, out_dotj), f"jvp of f_vector at x={x} along v={v}")
    close(
        out_dot,
        central_diff(lambda a: f_vector(np, a), x, v),
        "jvp vs central difference",
        rtol=1e-6,
        atol=1e-7,
    )


def test_jvp_has_aux(jax, rng: np.random.Generator) -> None:
    x, v = rng.standard_normal(3), rng.standard_normal(3)

    def f(xp: Any, a: Any) -> Any:
        return f_vector(xp, a), {"sin": xp.sin(a), "n": 3}

    ours = ri.jvp(lambda a: f(rnp, a), (x,), (v,), has_aux=True)
    theirs = jax.jvp(lambda a: f(jax.numpy, a), (x,), (v,), has_aux=True)
    close(ours, theirs, "jvp has_aux: (out, out_dot, aux) with aux not differentiated")


def test_jvp_two_arguments_is_sum_of_partials(rng: np.random.Generator) -> None:
    x, y, u, v = (rng.standard_normal(3) for _ in range(4))
    both = ri.jvp(lambda a, b: f_scalar(rnp, a, b), (x, y), (u, v))[1]
    only_x = ri.jvp(lambda a, b: f_scalar(rnp, a, b), (x, y), (u, np.zeros(3)))[1]
    only_y = ri.jvp(lambda a, b: f_scalar(rnp, a, b), (x, y), (np.zeros(3), v))[1]
    close(both, only_x + only_y, "jvp is linear in the tangents: J(u, v) = J(u, 0) + J(0, v)")


def test_vjp_called_several_times_and_dot_product_test(jax, rng: np.random.Generator) -> None:
    x = rng.standard_normal(4)
    out, vjp_fn = ri.vjp(lambda a: f_vector(rnp, a), x)
    outj, vjp_j = jax.vjp(lambda a: f_vector(jax.numpy, a), x)
    close(out, outj, "vjp primal output")
    for k in range(3):  # the tape is kept: every call is an independent backward pass
        u, v = rng.standard_normal(5), rng.standard_normal(4)
        (xbar,) = vjp_fn(u)
        close(xbar, vjp_j(u)[0], f"vjp_fn call {k} with a random cotangent")
        jv = ri.jvp(lambda a: f_vector(rnp, a), (x,), (v,))[1]
        np.testing.assert_allclose(
            np.dot(u, jv),
            np.dot(xbar, v),
            rtol=1e-10,
            err_msg=f"dot-product test <u, J v> = <Jᵀu, v>, call {k}",
        )


def test_vjp_has_aux_and_tuple_output(jax, rng: np.random.Generator) -> None:
    x, y = rng.standard_normal(3), rng.standard_normal(2)

    def f(xp: Any, a: Any, b: Any) -> Any:
        return (xp.sin(a), xp.sum(a) * b), {"n": xp.sum(a**2)}

    out, vjp_fn, aux = ri.vjp(lambda a, b: f(rnp, a, b), x, y, has_aux=True)
    outj, vjp_j, auxj = jax.vjp(lambda a, b: f(jax.numpy, a, b), x, y, has_aux=True)
    close((out, aux), (outj, auxj), "vjp has_aux: output and aux")
    ct = (rng.standard_normal(3), rng.standard_normal(2))
    close(vjp_fn(ct), vjp_j(ct), "vjp has_aux: cotangents of both primals")


def test_linearize_matches_jax(jax, rng: np.random.Generator) -> None:
    x = rng.standard_normal(3)
    out, f_jvp = ri.linearize(lambda a: f_vector(rnp, a), x)
    outj, f_jvpj = jax.linearize(lambda a: f_vector(jax.numpy, a), x)
    close(out, outj, "linearize primal output")
    for k in range(2):
        v = rng.standard_normal(3)
        close(f_jvp(v), f_jvpj(v), f"linearized map applied to random tangent {k}")
    out, f_jvp, aux = ri.linearize(lambda a: (rnp.sin(a), a * 2.0), x, has_aux=True)
    v = rng.standard_normal(3)
    close((out, f_jvp(v), aux), (np.sin(x), np.cos(x) * v, 2 * x), "linearize has_aux")


# --- Jacobians and Hessians ----------------------------------------------------------------------
@pytest.mark.parametrize("jac", ["jacfwd", "jacrev"])
def test_jacobians_against_jax(jax, jac: str, rng: np.random.Generator) -> None:
    # (JAX's side jitted in this file: one compile per call instead of one per JAX primitive)
    x, a = rng.standard_normal(3), rng.standard_normal((2, 3))
    close(
        getattr(ri, jac)(lambda z: f_vector(rnp, z))(x),
        jax.jit(getattr(jax, jac)(lambda z: f_vector(jax.numpy, z)))(x),
        f"{jac} of R^3 → R^4",
    )
    close(
        getattr(ri, jac)(lambda z: f_matrix(rnp, z))(a),
        jax.jit(getattr(jax, jac)(lambda z: f_matrix(jax.numpy, z)))(a),
        f"{jac} of R^(2×3) → R^(3×3): shape out + in",
    )
    y = rng.standard_normal(3)
    for argnums in (1, (0, 1)):
        close(
            getattr(ri, jac)(lambda p, q: rnp.sin(p) * q, argnums)(x, y),
            jax.jit(getattr(jax, jac)(lambda p, q: jax.numpy.sin(p) * q, argnums))(x, y),
            f"{jac} argnums={argnums}",
        )
    ours = getattr(ri, jac)(lambda z: (rnp.sin(z), rnp.sum(z)), has_aux=True)(x)
    theirs = jax.jit(
        getattr(jax, jac)(lambda z: (jax.numpy.sin(z), jax.numpy.sum(z)), has_aux=True)
    )(x)
    close(ours, theirs, f"{jac} has_aux: (jacobian, aux)")


def test_hessian_against_jax(jax, rng: np.random.Generator) -> None:
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    close(
        ri.hessian(lambda a: f_scalar(rnp, a, y))(x),
        jax.jit(jax.hessian(lambda a: f_scalar(jax.numpy, a, y)))(x),
        "hessian wrt x",
    )
    close(
        ri.hessian(lambda a, b: f_scalar(rnp, a, b), (0, 1))(x, y),
        jax.jit(jax.hessian(lambda a, b: f_scalar(jax.numpy, a, b), (0, 1)))(x, y),
        "hessian argnums=(0, 1): nested tuple of blocks",
    )


# --- nesting -------------------------------------------------------------------------------------
def g_scalar(xp: Any, x: Any) -> Any:
    return xp.sin(x) * xp.exp(x) / (2.0 + xp.cos(x)) + x**3


@given(x=st.floats(-2.0, 2.0))
def test_third_derivative_against_jax(jax, x: float) -> None:
    d3 = ri.grad(ri.grad(ri.grad(lambda z: g_scalar(rnp, z))))(x)
    d3j = jax.grad(jax.grad(jax.grad(lambda z: g_scalar(jax.numpy, z))))(x)
    close(d3, d3j, f"grad(grad(grad(f))) at x={x}", rtol=1e-8)
    d3f = ri.jvp(lambda z: ri.grad(ri.grad(lambda w: g_scalar(rnp, w)))(z), (x,), (1.0,))[1]
    close(d3f, d3j, f"jvp(grad(grad(f))) at x={x}", rtol=1e-8)
    d3fff = ri.jacfwd(ri.jacfwd(ri.jacfwd(lambda z: g_scalar(rnp, z))))(x)
    close(d3fff, d3j, f"jacfwd^3 at x={x}", rtol=1e-8)


def test_forward_over_reverse_hvp_and_jacobian_nesting(jax, rng: np.random.Generator) -> None:
    x, y, v = (rng.standard_normal(3) for _ in range(3))

    def f(xp: Any) -> Any:
        return lambda a: f_scalar(xp, a, y)

    hvp = ri.jvp(ri.grad(f(rnp)), (x,), (v,))[1]
    hvpj = jax.jit(lambda x, v: jax.jvp(jax.grad(f(jax.numpy)), (x,), (v,))[1])(x, v)
    close(hvp, hvpj, "forward-over-reverse HVP jvp(grad(f))")
    rof = ri.grad(lambda a: rnp.vdot(ri.jvp(f(rnp), (a,), (v,))[1], 1.0))(x)
    close(rof, hvpj, "reverse-over-forward HVP grad(jvp(f))")
    h = jax.jit(jax.hessian(f(jax.numpy)))(x)
    for name, ours in (
        ("jacfwd(jacrev)", ri.jacfwd(ri.jacrev(f(rnp)))(x)),
        ("jacrev(jacrev)", ri.jacrev(ri.jacrev(f(rnp)))(x)),
        ("jacrev(jacfwd)", ri.jacrev(ri.jacfwd(f(rnp)))(x)),
    ):
        close(ours, h, f"{name} equals JAX's Hessian")
    t3 = ri.jacfwd(ri.jacrev(ri.jacrev(lambda a: f_vector(rnp, a))))(x)
    t3j = jax.jit(jax.jacfwd(jax.jacrev(jax.jacrev(lambda a: f_vector(jax.numpy, a)))))(x)
    close(t3, t3j, "jacfwd(jacrev(jacrev(f))) of R^3 → R^4: shape (4, 3, 3, 3)")


def test_perturbation_confusion() -> None:
    """d/dx [x · d/dy (x + y)] = 1 (Siskind & Pearlmutter 2005): a wrong engine answers 2."""

    def inner(x: Any) -> Any:
        return x * ri.grad(lambda y: x + y)(1.0)

    for name, d in (
        ("grad∘grad", ri.grad(inner)(3.0)),
        (
            "jvp∘jvp",
            ri.jvp(lambda x: x * ri.jvp(lambda y: x + y, (1.0,), (1.0,))[1], (3.0,), (1.0,))[1],
        ),
        ("jvp∘grad", ri.jvp(inner, (3.0,), (1.0,))[1]),
        ("grad∘jvp", ri.grad(lambda x: x * ri.jvp(lambda y: x * y, (1.0,), (1.0,))[1])(3.0) / 6.0),
    ):
        assert float(d) == pytest.approx(1.0, abs=1e-14), f"{name}: got {d}, expected 1"


def test_closed_over_outer_tracer_second_kind(jax) -> None:
    """d/dx [x · d/dy (x · y)]|_{y=2} = d/dx x² = 2x: the inner grad must treat x as constant."""
    ours = ri.grad(lambda x: x * ri.grad(lambda y: x * y)(2.0))(1.5)
    theirs = jax.grad(lambda x: x * jax.grad(lambda y: x * y)(2.0))(1.5)
    close(ours, theirs, "grad with a closed-over outer tracer")
    assert float(ours) == pytest.approx(3.0), f"expected 2x = 3.0, got {ours}"


# --- custom rules --------------------------------------------------------------------------------
def _log1pexp(xp: Any, custom_jvp: Any) -> Any:
    """JAX's docs example: log(1 + eˣ), whose naive derivative is inf/inf = nan for large x."""

    @custom_jvp
    def log1pexp(x: Any) -> Any:
        return xp.log(1.0 + xp.exp(x))

    @log1pexp.defjvp
    def log1pexp_jvp(primals: Any, tangents: Any) -> Any:
        (x,), (x_dot,) = primals, tangents
        ans = log1pexp(x)
        return ans, (1.0 - 1.0 / (1.0 + xp.exp(x))) * x_dot

    return log1pexp


def test_custom_jvp_log1pexp(jax) -> None:
    ours, theirs = _log1pexp(rnp, ri.custom_jvp), _log1pexp(jax.numpy, jax.custom_jvp)
    naive = ri.grad(lambda x: rnp.log(1.0 + rnp.exp(x)))
    with np.errstate(all="ignore"):
        assert np.isnan(naive(800.0)), "the naive log1pexp should give nan at x = 800"
        assert float(ri.grad(ours)(800.0)) == 1.0, "custom_jvp log1pexp: grad at 800 should be 1"
    for x in (-3.0, 0.5, 10.0):
        close(ri.jvp(ours, (x,), (0.7,)), jax.jvp(theirs, (x,), (0.7,)), f"custom_jvp jvp at {x}")
        close(ri.grad(ours)(x), jax.grad(theirs)(x), f"custom_jvp reverse mode at {x}")
        close(
            ri.grad(ri.grad(ours))(x),
            jax.grad(jax.grad(theirs))(x),
            f"custom_jvp grad-of-grad at {x} (σ'(x))",
        )
        close(
            ri.jvp(ri.grad(ours), (x,), (1.0,))[1],
            jax.grad(jax.grad(theirs))(x),
            f"custom_jvp forward-over-reverse at {x}",
        )
    xs = np.array([-1.0, 0.0, 2.0])
    close(ri.jacrev(ours)(xs), jax.jacrev(theirs)(xs), "custom_jvp jacrev on a vector")


def test_custom_jvp_rule_is_what_is_used() -> None:
    """A deliberately 'wrong' rule shows the user's JVP replaces differentiation of the body."""

    @ri.custom_jvp
    def f(x: Any, y: Any) -> Any:
        return x * y

    @f.defjvp
    def f_jvp(primals: Any, tangents: Any) -> Any:
        (x, y), (x_dot, y_dot) = primals, tangents
        return f(x, y), 10.0 * x_dot + 100.0 * y_dot

    assert ri.grad(f, (0, 1))(2.0, 3.0) == (10.0, 100.0), "custom JVP rule should be used"
    assert ri.jvp(f, (2.0, 3.0), (1.0, 0.0))[1] == 10.0, "jvp should use the custom rule"


def _clip_gradient(xp: Any, custom_vjp: Any) -> Any:
    """JAX's docs example: the identity with its cotangent clipped to [lo, hi]."""

    @custom_vjp
    def clip_gradient(lo: Any, hi: Any, x: Any) -> Any:
        return x

    def fwd(lo: Any, hi: Any, x: Any) -> Any:
        return x, (lo, hi)

    def bwd(res: Any, g: Any) -> Any:
        lo, hi = res
        return (None, None, xp.clip(g, lo, hi))

    clip_gradient.defvjp(fwd, bwd)
    return clip_gradient


def test_custom_vjp_clip_gradient(jax) -> None:
    ours, theirs = _clip_gradient(rnp, ri.custom_vjp), _clip_gradient(jax.numpy, jax.custom_vjp)
    for x in (0.2, 1.0, 3.0):
        g = ri.grad(lambda z: ours(-0.75, 0.75, rnp.sin(z) * 3.0))(x)
        gj = jax.grad(lambda z: theirs(-0.75, 0.75, jax.numpy.sin(z) * 3.0))(x)
        close(g, gj, f"custom_vjp clip_gradient at {x}")
    xs = np.array([0.1, 1.0, 2.0])
    close(
        ri.jacrev(lambda z: ours(-1.0, 1.0, z * 3.0))(xs),
        jax.jacrev(lambda z: theirs(-1.0, 1.0, z * 3.0))(xs),
        "custom_vjp under jacrev",
    )


def _sin_vjp(xp: Any, custom_vjp: Any) -> Any:
    @custom_vjp
    def f(x: Any, y: Any) -> Any:
        return xp.sin(x) * y

    def fwd(x: Any, y: Any) -> Any:
        return f(x, y), (xp.cos(x), xp.sin(x), y)

    def bwd(res: Any, g: Any) -> Any:
        cos_x, sin_x, y = res
        return (cos_x * g * y, sin_x * g)

    f.defvjp(fwd, bwd)
    return f


def test_custom_vjp_two_args_and_grad_of_grad(jax, rng: np.random.Generator) -> None:
    ours, theirs = _sin_vjp(rnp, ri.custom_vjp), _sin_vjp(jax.numpy, jax.custom_vjp)
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    close(
        ri.grad(lambda a, b: rnp.sum(ours(a, b)), (0, 1))(x, y),
        jax.grad(lambda a, b: jax.numpy.sum(theirs(a, b)), (0, 1))(x, y),
        "custom_vjp with two arguments",
    )
    for x0 in (0.3, -1.2):
        close(
            ri.grad(ri.grad(lambda a: ours(a, 2.0)))(x0),
            jax.grad(jax.grad(lambda a: theirs(a, 2.0)))(x0),
            f"grad-of-grad through a custom_vjp whose bwd is differentiable, x={x0}",
        )


# --- control flow, constants, unused inputs -------------------------------------------------------
def test_python_control_flow_on_traced_values(jax) -> None:
    def f(xp: Any, x: Any) -> Any:
        if x > 0:
            y = x**2
        else:
            y = -3.0 * x
        while y < 10.0:
            y = y * 1.5 + xp.sin(x)
        return y

    for x in (0.5, -0.4, 2.0):
        close(
            ri.grad(lambda z: f(rnp, z))(x),
            jax.grad(lambda z: f(jax.numpy, z))(x),
            f"grad through if/while at x={x}",
        )
        close(
            ri.jvp(lambda z: f(rnp, z), (x,), (1.0,)),
            jax.jvp(lambda z: f(jax.numpy, z), (x,), (1.0,)),
            f"jvp through if/while at {x}",
        )


def test_ndarray_op_tracer(jax, rng: np.random.Generator) -> None:
    a, m, x = rng.standard_normal(3), rng.standard_normal((3, 3)), rng.standard_normal(3)

    def f(xp: Any, z: Any) -> Any:
        return xp.sum((a + z) * (a * z) - a / (1.0 + z**2) + (m @ z) * (z @ m) + (a - z) ** 2)

    close(
        ri.grad(lambda z: f(rnp, z))(x),
        jax.grad(lambda z: f(jax.numpy, z))(x),
        "ndarray OP tracer for + - * / @ (both sides)",
    )


def test_constant_outputs_have_zero_derivatives(jax) -> None:
    x = np.array([1.0, 2.0])
    assert ri.grad(lambda z: 3.0)(1.5) == 0.0, "grad of a constant should be 0"
    close(ri.grad(lambda z: rnp.sum(x**2))(x), np.zeros(2), "grad of a closed-over constant")
    out, dot = ri.jvp(lambda z: (z * 2.0, 7.0), (1.0,), (0.5,))
    close((out, dot), ((2.0, 7.0), (1.0, 0.0)), "jvp: a constant output has tangent 0")
    close(ri.jacrev(lambda z: rnp.ones(3))(x), np.zeros((3, 2)), "jacrev of a constant")
    close(ri.jacfwd(lambda z: rnp.ones(3))(x), np.zeros((3, 2)), "jacfwd of a constant")
    _, vjp_fn = ri.vjp(lambda z: rnp.ones(3), x)
    close(vjp_fn(np.array([1.0, -2.0, 0.5])), (np.zeros(2),), "vjp of a constant")


def test_unused_inputs_get_zero_gradients(jax, rng: np.random.Generator) -> None:
    x, y = rng.standard_normal(3), rng.standard_normal((2, 2))
    ours = ri.grad(lambda a, b: rnp.sum(rnp.sin(a)), argnums=(0, 1))(x, y)
    theirs = jax.grad(lambda a, b: jax.numpy.sum(jax.numpy.sin(a)), argnums=(0, 1))(x, y)
    close(ours, theirs, "gradient of an unused input: zeros of its shape")
    assert ours[1].dtype == np.float64, f"zero gradient dtype {ours[1].dtype}, expected float64"


def test_outputs_are_plain_values(rng: np.random.Generator) -> None:
    """Nothing a transformation returns is a tracer, even when the function closes over one."""
    x = rng.standard_normal(3)
    results = [
        ri.grad(lambda a: rnp.sum(a**2))(x),
        ri.jvp(rnp.sin, (x,), (x,)),
        ri.vjp(rnp.sin, x)[0],
        ri.jacfwd(rnp.sin)(x),
        ri.jacrev(rnp.sin)(x),
    ]
    for k, r in enumerate(ri.tree_util.tree_leaves(results)):
        assert not isinstance(r, Tracer), f"result {k} is a tracer: {r!r}"
        assert isinstance(concrete(r), (np.ndarray, np.generic, float)), f"result {k}: {r!r}"


@pytest.mark.parametrize("transform", ["grad", "jacfwd", "jacrev", "hessian"])
def test_float32_inputs_keep_their_dtype(jax, transform: str) -> None:
    x = np.array([0.5, -1.0, 2.0], dtype=np.float32)

    def f(xp: Any, z: Any) -> Any:
        return xp.sum(xp.sin(z) * z)

    ours = getattr(ri, transform)(lambda z: f(rnp, z))(x)
    theirs = getattr(jax, transform)(lambda z: f(jax.numpy, z))(x)
    assert np.asarray(ours).dtype == np.float32, f"{transform}: dtype {np.asarray(ours).dtype}"
    close(ours, theirs, f"{transform} of a float32 input", rtol=1e-5, atol=1e-6)
