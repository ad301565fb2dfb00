"""Every primitive's JVP and VJP against JAX (float64) and against finite differences.

For each op of ``tests/engine/op_table.py`` and hypothesis-generated shapes and values:

(a) the primal equals JAX's; (b) ``jvp`` with a random tangent equals ``jax.jvp``; (c) ``vjp``
with a random cotangent equals ``jax.vjp``; (d) the dot-product test ⟨u, J v⟩ = ⟨Jᵀu, v⟩ between
our own JVP and VJP; (e) the JVP equals a central finite difference
``(f(x + h v) − f(x − h v)) / 2h``. A subset is checked to second order (forward-over-reverse
and reverse-over-reverse Hessian-vector products against JAX). The input domains avoid kinks and
ties; the conventions *at* them (abs and relu at 0, max with ties, clip at its bounds, prod with
zeros, power at 0) are checked at the end, on explicit inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from tests.engine.op_table import OPS, ORDER2_OPS, Case, OpSpec

jax.config.update("jax_enable_x64", True)

RTOL = 1e-10  # against JAX: both compute the same formulas in float64
FD_H, FD_RTOL = 1e-5, 1e-6  # central differences: error ≈ h² f''' + ε f / h
# Comparisons with JAX cost one XLA compilation per new shape (~50 ms); they get a third of the
# profile's examples, the JAX-free checks (dot-product test, finite differences) all of them.
JAX_EXAMPLES = max(3, settings().max_examples // 3)
JAX_EXAMPLES_ORDER2 = max(3, settings().max_examples // 5)


def assert_close(got: Any, want: Any, what: str, rtol: float = RTOL) -> None:
    """Shape and values within ``rtol`` (absolute floor ``rtol · (1 + max|want|)``)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    scale = 1.0 + float(np.max(np.abs(want), initial=0.0))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=what)


def bind(spec: OpSpec, case: Case) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Our function and JAX's, with the case's static parameters filled in."""
    p = case.params
    return (lambda *a: spec.rfun(*a, **p)), (lambda *a: spec.jfun(*a, **p))


def randn_like(rng: np.random.Generator, xs: Any) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(rng.standard_normal(np.shape(x))) for x in xs)


def draw_case(spec: OpSpec, data: st.DataObject) -> tuple[Case, np.random.Generator]:
    case = data.draw(spec.cases, label=f"{spec.name} case")
    return case, np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


def label(spec: OpSpec, case: Case) -> str:
    shapes = [np.shape(a) for a in case.args]
    return f"{spec.name} on shapes {shapes} with {case.params}"


@pytest.mark.parametrize("spec", OPS, ids=lambda s: s.name)
@settings(max_examples=JAX_EXAMPLES)
@given(data=st.data())
def test_matches_jax(spec: OpSpec, data: st.DataObject) -> None:
    """(a) primal, (b) JVP along a random tangent, (c) VJP of a random cotangent, vs JAX."""
    case, rng = draw_case(spec, data)
    rf, jf = bind(spec, case)
    what = label(spec, case)
    tangents = randn_like(rng, case.args)
    u = np.asarray(rng.standard_normal(jax.eval_shape(jf, *case.args).shape))
    want, j_dot, j_cts = jax_first_order(spec, case)(case.args, tangents, u)
    assert_close(rf(*case.args), want, f"{what}: primal")

    out, out_dot = ri.jvp(rf, case.args, tangents)
    assert_close(out, want, f"{what}: primal returned by jvp")
    assert_close(out_dot, j_dot, f"{what}: JVP")

    out, vjp_fn = ri.vjp(rf, *case.args)
    cts = vjp_fn(u)
    assert_close(out, want, f"{what}: primal returned by vjp")
    assert len(cts) == len(case.args), f"{what}: vjp returned {len(cts)} cotangents"
    for k, (ct, j_ct) in enumerate(zip(cts, j_cts, strict=True)):
        assert_close(ct, j_ct, f"{what}: VJP, cotangent of argument {k}")


# JAX's side runs jitted, one function per (op, static parameters): eager JAX compiles every
# small kernel for every new shape, which made this file 5x slower; jit compiles once per shape.
_JITTED: dict[tuple[str, str, str], Callable[..., Any]] = {}


def _jitted(
    kind: str, spec: OpSpec, case: Case, make: Callable[[Callable[..., Any]], Any]
) -> Callable[..., Any]:
    key = (kind, spec.name, repr(sorted(case.params.items())))
    if key not in _JITTED:
        _JITTED[key] = jax.jit(make(bind(spec, case)[1]))
    return _JITTED[key]


def jax_first_order(spec: OpSpec, case: Case) -> Callable[..., Any]:
    """``(args, tangents, u) ↦ (f(args), J·tangents, uᵀJ)`` computed by JAX."""

    def make(jf: Callable[..., Any]) -> Callable[..., Any]:
        def first_order(args: tuple, tangents: tuple, u: Any) -> tuple[Any, Any, Any]:
            _, j_dot = jax.jvp(jf, args, tangents)
            out, pullback = jax.vjp(jf, *args)
            return out, j_dot, pullback(u)

        return first_order

    return _jitted("first", spec, case, make)


def jax_hvp(spec: OpSpec, case: Case) -> Callable[..., Any]:
    """``(args, v, u) ↦ (∇φ, ∇²φ·v)`` for ``φ = Σ u·f``, by JAX (forward-over-reverse)."""
    nums = tuple(range(len(case.args)))

    def make(jf: Callable[..., Any]) -> Callable[..., Any]:
        def hvp(args: tuple, v: tuple, u: Any) -> tuple[Any, Any]:
            grad = jax.grad(lambda *a: jax.numpy.sum(u * jf(*a)), argnums=nums)
            return jax.jvp(grad, args, v)

        return hvp

    return _jitted("hvp", spec, case, make)


@pytest.mark.parametrize("spec", OPS, ids=lambda s: s.name)
@given(data=st.data())
def test_dot_product_and_finite_differences(spec: OpSpec, data: st.DataObject) -> None:
    """(d) ⟨u, J v⟩ = ⟨Jᵀ u, v⟩ for our own JVP and VJP; (e) J v = central difference."""
    case, rng = draw_case(spec, data)
    rf, _ = bind(spec, case)
    what = label(spec, case)
    v = randn_like(rng, case.args)
    out, jv = ri.jvp(rf, case.args, v)
    u = np.asarray(rng.standard_normal(np.shape(out)))
    jtu = ri.vjp(rf, *case.args)[1](u)
    lhs = float(np.sum(u * jv))
    rhs = float(sum(np.sum(g * t) for g, t in zip(jtu, v, strict=True)))
    scale = 1.0 + float(np.sum(np.abs(u * jv)))
    assert abs(lhs - rhs) <= RTOL * scale, f"{what}: <u, Jv> = {lhs} but <J^T u, v> = {rhs}"

    plus = rf(*[a + FD_H * t for a, t in zip(case.args, v, strict=True)])
    minus = rf(*[a - FD_H * t for a, t in zip(case.args, v, strict=True)])
    fd = (np.asarray(plus) - np.asarray(minus)) / (2 * FD_H)
    floor = FD_RTOL * (1.0 + float(np.max(np.abs(out), initial=0.0)))
    np.testing.assert_allclose(
        jv, fd, rtol=FD_RTOL, atol=floor, err_msg=f"{what}: JVP vs central finite difference"
    )


@pytest.mark.parametrize("spec", ORDER2_OPS, ids=lambda s: s.name)
@settings(max_examples=JAX_EXAMPLES_ORDER2)
@given(data=st.data())
def test_second_order(spec: OpSpec, data: st.DataObject) -> None:
    """Hessian-vector products of ``φ(x) = Σ u·f(x)`` (random u, v): forward-over-reverse and
    reverse-over-reverse, both against JAX's forward-over-reverse."""
    case, rng = draw_case(spec, data)
    rf, jf = bind(spec, case)
    what = label(spec, case)
    nums = tuple(range(len(case.args)))
    u = np.asarray(rng.standard_normal(jax.eval_shape(jf, *case.args).shape))  # (no compile)
    v = randn_like(rng, case.args)

    def phi_r(*a: Any) -> Any:
        return rnp.sum(u * rf(*a))

    g, hv = ri.jvp(ri.grad(phi_r, argnums=nums), case.args, v)
    j_g, j_hv = jax_hvp(spec, case)(case.args, v, u)

    def g_dot_v(*a: Any) -> Any:
        return sum(
            rnp.sum(gk * vk) for gk, vk in zip(ri.grad(phi_r, argnums=nums)(*a), v, strict=True)
        )

    hv_rr = ri.grad(g_dot_v, argnums=nums)(*case.args)
    for k in nums:
        assert_close(g[k], j_g[k], f"{what}: gradient of <u, f>, argument {k}")
        assert_close(hv[k], j_hv[k], f"{what}: forward-over-reverse H v, argument {k}", rtol=1e-9)
        assert_close(
            hv_rr[k], j_hv[k], f"{what}: reverse-over-reverse H v, argument {k}", rtol=1e-9
        )


def test_table_covers_the_issue() -> None:
    """The op table names every function the issue lists for reference_impl.numpy."""
    listed = """add subtract multiply divide power negative exp log log1p expm1 sqrt sin cos tan
        tanh sinh cosh arctan abs sign maximum minimum where clip square reciprocal sum mean max
        min prod dot matmul vdot inner outer einsum transpose reshape ravel broadcast_to
        expand_dims squeeze concatenate stack diag trace norm logsumexp softmax log_softmax relu
        sigmoid getitem x.T""".split()
    names = {s.name.split("(")[0] for s in OPS}
    missing = [n for n in listed if n not in names]
    assert not missing, f"ops without a spec in tests/engine/op_table.py: {missing}"
    for op in ("x + y", "x - y", "x * y", "x / y", "x ** y", "x @ y", "-x"):
        assert op in names, f"operator {op!r} has no spec"


# --- kinks, ties and zeros: JAX's conventions, on explicit inputs -------------------------------
def _a(*values: Any) -> np.ndarray:
    return np.array(values, dtype=np.float64)


_M = _a([1.0, 2.0, 2.0], [3.0, 3.0, 3.0], [-1.0, 0.0, -1.0])
KINKS = [  # (name, ours, JAX's, arguments)
    (
        "max, ties split evenly",
        lambda x: rnp.max(x, axis=1),
        lambda x: jax.numpy.max(x, axis=1),
        (_M,),
    ),
    (
        "min keepdims, ties",
        lambda x: rnp.min(x, axis=0, keepdims=True),
        lambda x: jax.numpy.min(x, axis=0, keepdims=True),
        (_M,),
    ),
    ("max of all, ties", rnp.max, jax.numpy.max, (_a(1.0, 2.0, 2.0),)),
    ("maximum at ties", rnp.maximum, jax.numpy.maximum, (_a(1.0, 2.0, 3.0), _a(1.0, 0.0, 3.0))),
    ("minimum at ties", rnp.minimum, jax.numpy.minimum, (_a(1.0, 2.0, 3.0), _a(1.0, 0.0, 3.0))),
    (
        "clip at its bounds",
        lambda x: rnp.clip(x, -1.0, 1.0),
        lambda x: jax.numpy.clip(x, -1.0, 1.0),
        (_a(-1.0, 0.0, 1.0, 2.0, -3.0),),
    ),
    (
        "clip, traced bounds at the boundary",
        rnp.clip,
        jax.numpy.clip,
        (_a(-1.0, 1.0, 0.0), _a(-1.0, -2.0, -1.0), _a(2.0, 1.0, 1.0)),
    ),
    ("abs at 0", rnp.abs, jax.numpy.abs, (_a(0.0, -1.0, 2.0),)),
    ("relu at 0", ri.nn.relu, jax.nn.relu, (_a(0.0, -1.0, 2.0),)),
    ("sign at 0", rnp.sign, jax.numpy.sign, (_a(0.0, -1.0, 2.0),)),
    ("prod with one zero", rnp.prod, jax.numpy.prod, (_a(0.0, 2.0, 3.0),)),
    ("prod with two zeros", rnp.prod, jax.numpy.prod, (_a(0.0, 2.0, 0.0, -1.5),)),
    (
        "prod with zeros along an axis",
        lambda x: rnp.prod(x, axis=1),
        lambda x: jax.numpy.prod(x, axis=1),
        (_a([0.0, 2.0, 0.0], [3.0, 0.0, 1.0], [1.0, 2.0, 3.0]),),
    ),
    (
        "prod with zeros over axes (0, 2)",
        lambda x: rnp.prod(x, axis=(0, 2), keepdims=True),
        lambda x: jax.numpy.prod(x, axis=(0, 2), keepdims=True),
        (_a([[0.0, 2.0], [3.0, 1.0]], [[1.0, 1.5], [0.0, 2.0]]),),
    ),
    (
        "power, traced exponent, base 0",
        rnp.power,
        jax.numpy.power,
        (_a(0.0, 2.0, 0.5), _a(2.0, 0.5, -1.5)),
    ),
    ("x ** 0 at 0 (integer exponent)", lambda x: x**0, lambda x: x**0, (_a(0.0, 1.0),)),
    (
        "x ** int array with zeros",
        lambda x: x ** np.array([0, 2, 3]),
        lambda x: x ** np.array([0, 2, 3]),
        (_a(0.0, 0.0, 2.0),),
    ),
    (
        "logsumexp with -inf",
        lambda x: rnp.logsumexp(x, axis=0),
        lambda x: jax.scipy.special.logsumexp(x, axis=0),
        (_a([-np.inf, 1.0], [0.0, 2.0]),),
    ),
    (
        "sqrt of a sum of squares (norm)",
        rnp.linalg.norm,
        jax.numpy.linalg.norm,
        (_a([3.0, 0.0], [0.0, 4.0]),),
    ),
]


@pytest.mark.parametrize("name, rf, jf, args", KINKS, ids=[k[0] for k in KINKS])
def test_kinks_ties_and_zeros_match_jax(name: str, rf: Any, jf: Any, args: tuple, rng) -> None:
    """JVP, VJP and forward-over-reverse H v at kinks, ties and zeros equal JAX's."""
    t = randn_like(rng, args)
    u = np.asarray(rng.standard_normal(jax.eval_shape(jf, *args).shape))
    nums = tuple(range(len(args)))

    @jax.jit
    def jax_side(args: tuple, t: tuple, u: Any) -> tuple[Any, ...]:
        j_out, j_dot = jax.jvp(jf, args, t)
        j_cts = jax.vjp(jf, *args)[1](u)
        grad = jax.grad(lambda *a: jax.numpy.sum(u * jf(*a)), argnums=nums)
        return j_out, j_dot, j_cts, jax.jvp(grad, args, t)[1]

    j_out, j_dot, j_cts, j_hv = jax_side(args, t, u)
    out, out_dot = ri.jvp(rf, args, t)
    assert_close(out, j_out, f"{name}: primal")
    assert_close(out_dot, j_dot, f"{name}: JVP")
    for k, (ct, j_ct) in enumerate(zip(ri.vjp(rf, *args)[1](u), j_cts, strict=True)):
        assert_close(ct, j_ct, f"{name}: VJP, argument {k}")
    hv = ri.jvp(ri.grad(lambda *a: rnp.sum(u * rf(*a)), argnums=nums), args, t)[1]
    for k in nums:
        assert_close(hv[k], j_hv[k], f"{name}: H v, argument {k}")


def test_hessian_of_prod_with_a_zero_and_of_max_with_ties() -> None:
    """Whole Hessians, not only products with a vector, where the naive rules divide by 0."""
    for f, jf, x in [
        (rnp.prod, jax.numpy.prod, _a(0.0, 2.0, 3.0)),
        (lambda x: rnp.max(x) ** 2, lambda x: jax.numpy.max(x) ** 2, _a(1.0, 2.0, 2.0)),
    ]:
        assert_close(ri.hessian(f)(x), jax.jit(jax.hessian(jf))(x), f"Hessian at {x}")


def test_integer_power_one_at_zero_is_smooth() -> None:
    """d²/dx² x**1 = 0 at x = 0. Deliberate difference: JAX gives nan for an integer *array*
    exponent 1 (its rule differentiates ``select(y == 0, 0, y·x^(y−1))`` through 0·x⁻¹)."""
    h = ri.hessian(lambda x: rnp.sum(x ** np.array([1, 1])))(_a(0.0, 3.0))
    assert np.array_equal(h, np.zeros((2, 2))), f"Hessian of x**1 at 0 should be 0, got {h}"


def test_abs_and_relu_second_derivatives_at_zero() -> None:
    for f, jf in [(rnp.abs, jax.numpy.abs), (ri.nn.relu, jax.nn.relu)]:
        got = (ri.grad(f)(0.0), ri.grad(ri.grad(f))(0.0))
        want = (jax.grad(jf)(0.0), jax.grad(jax.grad(jf))(0.0))
        assert_close(got, want, f"first and second derivative of {jf.__name__} at 0")


@pytest.mark.parametrize(
    "name, f, jf",
    [
        ("tanh", rnp.tanh, jax.numpy.tanh),
        ("log", rnp.log, jax.numpy.log),
        ("2 ** x", lambda x: 2.0**x, lambda x: 2.0**x),
        ("x ** x", lambda x: x**x, lambda x: x**x),
        (
            "sin(x) * exp(x)",
            lambda x: rnp.sin(x) * rnp.exp(x),
            lambda x: jax.numpy.sin(x) * jax.numpy.exp(x),
        ),
    ],
)
def test_third_derivatives_match_jax(name: str, f: Any, jf: Any) -> None:
    """grad∘grad∘grad and forward-over-reverse-over-reverse on scalars."""
    for x in (0.7, 1.9):
        want = jax.grad(jax.grad(jax.grad(jf)))(x)
        assert_close(ri.grad(ri.grad(ri.grad(f)))(x), want, f"{name}: f'''({x}) by reverse³")
        third = ri.jvp(ri.grad(ri.grad(f)), (x,), (1.0,))[1]
        assert_close(third, want, f"{name}: f'''({x}) by forward-over-reverse²")


# --- NumPy arrays meeting traced values -------------------------------------------------------
_C = _a([0.5, -1.0, 2.0], [1.5, 0.25, -0.75])
MIXED = [  # ndarray OP tracer reaches Tracer.__array_ufunc__ and is routed to our primitives
    ("ndarray + x", lambda x: _C + x, None),
    ("ndarray - x", lambda x: _C - x, None),
    ("ndarray * x", lambda x: _C * x, None),
    ("ndarray / x", lambda x: _C / x, None),
    ("ndarray ** x", lambda x: np.abs(_C) ** x, None),
    ("ndarray @ x", lambda x: _C @ x, None),
    ("float64 * x", lambda x: np.float64(1.5) * x, None),
    ("np.maximum(ndarray, x)", lambda x: np.maximum(_C, x), lambda x: jax.numpy.maximum(_C, x)),
    ("np.add(ndarray, x)", lambda x: np.add(_C, x), lambda x: jax.numpy.add(_C, x)),
]


@pytest.mark.parametrize("name, f, jf", MIXED, ids=[m[0] for m in MIXED])
def test_ndarray_op_tracer_is_differentiated(name: str, f: Any, jf: Any, rng) -> None:
    x = rng.uniform(0.5, 2.0, size=(3,) if "@" in name else (2, 3))
    jf = jf or f  # operators: the same expression runs on a JAX tracer
    u = rng.standard_normal(np.shape(jf(x)))
    out, pullback = ri.vjp(f, x)
    assert_close(out, jf(x), f"{name}: primal")
    assert_close(pullback(u)[0], jax.vjp(jf, x)[1](u)[0], f"{name}: VJP")
    t = rng.standard_normal(x.shape)
    assert_close(ri.jvp(f, (x,), (t,))[1], jax.jvp(jf, (x,), (t,))[1], f"{name}: JVP")


def test_comparisons_of_ndarray_and_tracer_give_plain_masks() -> None:
    def f(x: Any) -> Any:
        mask = _C[0] < x
        assert isinstance(mask, np.ndarray) and mask.dtype == bool, f"mask is {type(mask)}"
        return rnp.sum(rnp.where(mask, x, 0.0))

    assert_close(ri.grad(f)(_a(1.0, 1.0, 1.0)), _a(1.0, 1.0, 0.0), "grad through a mask")


@pytest.mark.parametrize(
    "fn",
    [np.sin, np.exp, np.tanh, np.sum, np.linalg.norm, np.asarray, lambda x: np.sqrt(x, out=None)],
    ids=["sin", "exp", "tanh", "sum", "linalg.norm", "asarray", "sqrt(out)"],
)
@pytest.mark.parametrize("transform", ["grad", "jvp"])
def test_plain_numpy_on_a_traced_value_raises(fn: Any, transform: str) -> None:
    """A plain NumPy function cannot see derivatives: a TypeError pointing to rnp."""
    f = lambda x: rnp.sum(fn(x))  # noqa: E731
    with pytest.raises(
        TypeError,
        match=r"traced value.*reference_impl\.numpy|reference_impl"
        r"\.numpy.*traced",
    ):
        if transform == "grad":
            ri.grad(f)(_a(0.5, 1.0))
        else:
            ri.jvp(f, (_a(0.5, 1.0),), (_a(1.0, 0.0),))


# --- signatures and errors ---------------------------------------------------------------------
@pytest.mark.parametrize("fn", [rnp.sum, rnp.mean, rnp.max, rnp.min, rnp.prod, rnp.logsumexp])
def test_reduction_axis_out_of_bounds_names_axis_and_shape(fn: Any) -> None:
    with pytest.raises(ValueError, match=r"axis 2 is out of bounds.*\(2, 3\)"):
        ri.grad(lambda x: rnp.sum(fn(x, axis=2)))(np.ones((2, 3)))


def test_logsumexp_weights_and_signs_match_jax(rng) -> None:
    """JAX's signature ``logsumexp(a, axis, b, keepdims, return_sign)``, differentiated in a, b."""
    a = rng.standard_normal((2, 3))
    u = rng.standard_normal(2)
    for b, sign in [
        (_a([1.0, 0.5, 2.0], [0.75, 1.0, 0.25]), False),
        (_a([1.0, -3.0, 2.0], [-0.5, 1.0, 0.25]), True),
    ]:

        def f(a: Any, b: Any, lse: Any = rnp.logsumexp, sign: bool = sign) -> Any:
            out = lse(a, 1, b, False, sign)
            return out[0] if sign else out

        want, j_pull = jax.vjp(lambda a, b: f(a, b, jax.scipy.special.logsumexp), a, b)
        got, pull = ri.vjp(f, a, b)
        assert_close(got, want, f"logsumexp(return_sign={sign}) value")
        for k, (g, j) in enumerate(zip(pull(u), j_pull(u), strict=True)):
            assert_close(g, j, f"logsumexp(return_sign={sign}) VJP, argument {k}")
        signs = rnp.logsumexp(a, axis=1, b=b, return_sign=True)[1]
        j_signs = jax.scipy.special.logsumexp(a, axis=1, b=b, return_sign=True)[1]
        assert np.array_equal(signs, j_signs), f"signs {signs} vs JAX {j_signs}"


def test_logsumexp_derivative_in_a_zero_weight_is_exp_a_minus_lse() -> None:
    """∂/∂b_i log Σ b e^a = e^(a_i − lse), also where b_i = 0. Deliberate difference: JAX masks
    a where b = 0 (``where(b != 0, a, -inf)``) and returns 0 there."""
    a, b = _a(0.3, -1.2, 0.8), _a(1.0, 0.0, 2.0)
    lse = rnp.logsumexp(a, b=b)
    got = ri.grad(lambda b: rnp.logsumexp(a, b=b))(b)
    assert_close(got, np.exp(a - lse), "gradient of logsumexp in b, with b_1 = 0")
