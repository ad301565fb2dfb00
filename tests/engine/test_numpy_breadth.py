"""The breadth of ``reference_impl.numpy`` (issue 14) beyond the op table: JAX's conventions at
jumps and ties (rounding, remainder, sort, sinc at 0), non-differentiable integer results,
errors that name the culprit, and the issue's list of functions."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reference_impl as ri
import reference_impl.numpy as rnp
import reference_impl.scipy.linalg as rsl
from tests.engine.op_table import OPS
from tests.engine.test_primitives import assert_close

jax.config.update("jax_enable_x64", True)


def _a(*values: Any) -> np.ndarray:
    return np.array(values, dtype=np.float64)


AT_JUMPS = [  # (name, ours, JAX's, arguments): on the jumps and ties themselves
    ("floor at integers", rnp.floor, jnp.floor, (_a(-1.0, 0.0, 2.0, 0.5),)),
    ("ceil at integers", rnp.ceil, jnp.ceil, (_a(-1.0, 0.0, 2.0, 0.5),)),
    ("round at halves", rnp.round, jnp.round, (_a(-1.5, 0.5, 2.5, 0.2),)),
    ("trunc", rnp.trunc, jnp.trunc, (_a(-1.0, -0.5, 0.0, 1.7),)),
    ("sinc at 0", rnp.sinc, jnp.sinc, (_a(0.0, 0.5, -1.25),)),
    (
        "remainder where x/y is an integer",
        rnp.remainder,
        jnp.remainder,
        (_a(2.0, -3.0, 0.0, 1.5), _a(1.0, 1.5, 2.0, -0.5)),
    ),
    ("sort with ties", rnp.sort, jnp.sort, (_a(2.0, 1.0, 2.0, -1.0, 1.0),)),
    ("median with ties", rnp.median, jnp.median, (_a(2.0, 1.0, 2.0, 2.0),)),
    ("fmax at ties", rnp.fmax, jnp.fmax, (_a(1.0, 2.0, 3.0), _a(1.0, 0.0, 3.0))),
    (
        "clip with a_min/a_max",
        lambda x: rnp.clip(x, a_min=0.1, a_max=1.1),
        lambda x: jnp.clip(x, 0.1, 1.1),
        (_a(-1.0, 0.5, 2.0),),
    ),
]


@pytest.mark.parametrize("name, rf, jf, args", AT_JUMPS, ids=[k[0] for k in AT_JUMPS])
def test_jumps_and_ties_match_jax(name: str, rf: Any, jf: Any, args: tuple, rng) -> None:
    t = tuple(rng.standard_normal(np.shape(a)) for a in args)
    j_out, j_dot = jax.jvp(jf, args, t)
    u = rng.standard_normal(np.shape(j_out))
    out, out_dot = ri.jvp(rf, args, t)
    assert_close(out, j_out, f"{name}: primal")
    assert_close(out_dot, j_dot, f"{name}: JVP")
    for k, (ct, j_ct) in enumerate(
        zip(ri.vjp(rf, *args)[1](u), jax.vjp(jf, *args)[1](u), strict=True)
    ):
        assert_close(ct, j_ct, f"{name}: VJP, argument {k}")


def test_sinc_second_derivative_at_zero_is_exact() -> None:
    """sinc''(0) = −π²/3 (its Maclaurin series), also through the derivative rule."""
    assert_close(ri.grad(ri.grad(rnp.sinc))(0.0), -(np.pi**2) / 3, "sinc''(0)")


@pytest.mark.parametrize("fn", [rnp.argmax, rnp.argmin, rnp.argsort])
def test_integer_results_are_plain_arrays_and_cut_the_derivative(fn: Any) -> None:
    x = _a(0.3, -1.0, 2.0)

    def f(x: Any) -> Any:
        idx = fn(x)
        assert isinstance(idx, (np.ndarray, np.integer)), f"{fn.__name__} returned {type(idx)}"
        assert np.issubdtype(np.asarray(idx).dtype, np.integer)
        return rnp.sum(x[idx] ** 2)

    want = jax.grad(lambda x: jnp.sum(x[getattr(jnp, fn.__name__)(x)] ** 2))(x)
    assert_close(ri.grad(f)(x), want, f"grad through x[{fn.__name__}(x)]")


def test_comparisons_and_logical_tests_have_zero_gradients() -> None:
    x, y = _a(1.0, 2.0, 3.0), _a(2.0, 2.0, 1.0)

    def f(x: Any, y: Any) -> Any:
        return (
            rnp.sum(rnp.where(rnp.logical_and(x <= y, rnp.isfinite(x)), x, 0.0))
            + rnp.sum(x > y)
            + 0.0 * rnp.all(x > 0)
        )

    gx, gy = ri.grad(f, argnums=(0, 1))(x, y)
    assert_close(gx, _a(1.0, 1.0, 0.0), "d/dx through a mask")
    assert_close(gy, np.zeros(3), "d/dy through a comparison")


def test_expm_third_order_matches_jax(rng) -> None:
    """Every order of expm goes through expm of a larger block matrix."""
    a, g, v = (0.5 * rng.standard_normal((2, 2)) for _ in range(3))

    def third(f: Any, grad: Any, jvp: Any, lib: Any) -> Any:
        def dir2(x: Any) -> Any:
            return lib.sum(grad(lambda y: lib.sum(f(y) * g))(x) * v)

        return jvp(grad(dir2), (a,), (v,))[1]

    got = third(rsl.expm, ri.grad, ri.jvp, rnp)
    # JAX's side jitted: one program, instead of one eager compile per JAX primitive
    want = jax.jit(lambda: third(jax.scipy.linalg.expm, jax.grad, jax.jvp, jnp))()
    assert_close(got, want, "third derivative of <g, expm(a)> along v", rtol=1e-8)


ERRORS = [
    (lambda: rnp.split(np.ones(5), 2), ValueError, r"length 5 .* 2 equal sections"),
    (lambda: rnp.pad(np.ones(3), 1, mode="median"), NotImplementedError, r"mode='median'"),
    (lambda: rnp.einsum("i,i->i", *[np.ones(2)] * 3), ValueError, r"names 2 operands, got 3"),
    (
        lambda: rnp.tensordot(np.ones((2, 3)), np.ones(3), axes=([0, 1], [0])),
        ValueError,
        r"pair 2 axes of x with 1 of y",
    ),
    (lambda: rnp.cross(np.ones(4), np.ones(3)), ValueError, r"2 or 3 components, got 4"),
    (lambda: rnp.roll(np.ones(3), 1, axis=2), ValueError, r"roll: axis 2 is out of bounds"),
    (
        lambda: ri.grad(lambda a: rnp.sum(rnp.linalg.qr(a).R))(np.ones((2, 3))),
        NotImplementedError,
        r"qr not defined for a matrix of shape \(2, 3\)",
    ),
    (lambda: rnp.angle(np.ones(2) + 1j), NotImplementedError, r"angle: complex numbers"),
    (lambda: rnp.linalg.matrix_power(np.ones((2, 3)), 2), ValueError, r"matrix_power.*\(2, 3\)"),
]


@pytest.mark.parametrize("call, exc, match", ERRORS, ids=[e[2] for e in ERRORS])
def test_errors_name_the_culprit(call: Any, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_table_covers_the_breadth_of_the_issue() -> None:
    """Every function the issue names (and the peer tests use) has an op-table entry."""
    listed = """cumsum triu tril var std split vstack hstack dstack column_stack concatenate stack
        roll repeat tile diagonal arcsin arccos arcsinh arccosh arctanh log2 log10 exp2 logaddexp
        hypot mod remainder einsum tensordot clip outer inner kron cross sort partition qr
        eigvalsh lstsq matrix_power pinv expm arctan2 floor ceil round sinc fmax fmin diff
        gradient pad select take take_along_axis flip rot90 rollaxis median average""".split()
    names = {s.name.split(" ")[0].split("(")[0] for s in OPS}
    missing = [n for n in listed if n not in names]
    assert not missing, f"functions without an op-table entry: {missing}"
