"""Errors a person can act on: each names the transformation, the argument and the shapes/dtypes.

Every test asserts on the exception type *and* on the message text, so a message that stops
saying what went wrong (or where to go instead) fails the suite.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.core import Primitive, defjvp, defvjp


def raises(exc: type[Exception], *fragments: str) -> Any:
    """``pytest.raises`` that also requires every fragment (escaped) in the message, in order."""
    return pytest.raises(exc, match=".*".join(re.escape(f) for f in fragments))


def loss(x: Any) -> Any:
    return rnp.sum(rnp.sin(x) ** 2)


# --- grad of a non-scalar output --------------------------------------------------------------
def test_grad_of_vector_output() -> None:
    with raises(TypeError, "grad(sin)", "scalar output", "shape (3,)", "jacrev"):
        ri.grad(rnp.sin)(np.ones(3))
    with raises(TypeError, "grad(<lambda>)", "scalar output", "tuple"):
        ri.value_and_grad(lambda x: (x, x))(1.0)


def test_grad_of_integer_output() -> None:
    with raises(TypeError, "grad(<lambda>)", "float output", "int"):
        ri.grad(lambda x: 3)(1.0)


# --- integer / boolean inputs -------------------------------------------------------------------
@pytest.mark.parametrize("transform", ["grad", "jacfwd", "jacrev", "hessian"])
@pytest.mark.parametrize("value", [1, True, np.arange(3), np.array([True, False])])
def test_integer_and_boolean_inputs(transform: str, value: Any) -> None:
    dtype = str(np.asarray(value).dtype)
    with raises(TypeError, f"{transform}(loss)", "argument 0 has dtype", dtype, "1.0 instead"):
        getattr(ri, transform)(loss)(value)


def test_integer_input_among_several_names_the_argument() -> None:
    with raises(TypeError, "argument 1 has dtype int64"):
        ri.grad(lambda x, n: rnp.sum(x) * n, argnums=(0, 1))(np.ones(2), np.int64(3))
    # not differentiated with respect to: fine, as in JAX
    g = ri.grad(lambda x, n: rnp.sum(x) * n)(np.ones(2), 3)
    np.testing.assert_allclose(g, [3.0, 3.0], err_msg="an int argument not in argnums is fine")


def test_integer_primal_in_jvp_and_vjp() -> None:
    with raises(TypeError, "jvp(loss)", "primal 0 has dtype int64"):
        ri.jvp(loss, (np.arange(3),), (np.ones(3),))
    with raises(TypeError, "vjp(loss)", "argument 0 has dtype bool"):
        ri.vjp(loss, np.array([True]))


# --- tangents of the wrong shape or dtype -------------------------------------------------------
def test_jvp_tangent_wrong_shape() -> None:
    with raises(ValueError, "jvp(loss)", "primal 0 has shape (3,)", "tangent has shape (2,)"):
        ri.jvp(loss, (np.ones(3),), (np.ones(2),))


def test_jvp_tangent_wrong_dtype() -> None:
    with raises(TypeError, "jvp(loss)", "primal 0 has dtype float64", "tangent has dtype float32"):
        ri.jvp(loss, (np.ones(3),), (np.ones(3, dtype=np.float32),))
    with raises(TypeError, "jvp(loss)", "tangent 0 has dtype int64"):
        ri.jvp(loss, (np.ones(3),), (np.ones(3, dtype=int),))


def test_jvp_structure_errors() -> None:
    with raises(TypeError, "jvp(loss)", "tuples or lists", "ndarray"):
        ri.jvp(loss, np.ones(3), np.ones(3))
    with raises(ValueError, "jvp(<lambda>)", "same structure", "(*, *,)", "(*,)"):
        ri.jvp(lambda a, b: a * b, (1.0, 2.0), (1.0,))


# --- cotangents given to vjp_fn ------------------------------------------------------------------
def test_vjp_cotangent_wrong_shape_dtype_structure() -> None:
    _, vjp_fn = ri.vjp(rnp.sin, np.ones(3))
    with raises(ValueError, "vjp(sin)", "cotangent 0 has shape (2,)", "has shape (3,)"):
        vjp_fn(np.ones(2))
    with raises(ValueError, "vjp(sin)", "cotangent 0 has dtype int64", "dtype float64"):
        vjp_fn(np.ones(3, dtype=int))
    with raises(ValueError, "vjp(sin)", "structure (*,)", "output's structure *"):
        vjp_fn((np.ones(3),))
    _, vjp_fn2 = ri.vjp(lambda x: (x, rnp.sum(x)), np.ones(2))
    with raises(ValueError, "cotangent 1 has shape (2,)", "has shape ()"):
        vjp_fn2((np.ones(2), np.ones(2)))
    (g,) = vjp_fn(np.array([1.0, 2.0, 3.0]))  # a good cotangent still works after the errors
    np.testing.assert_allclose(
        g, np.cos(1.0) * np.array([1.0, 2.0, 3.0]), err_msg="vjp_fn after rejected cotangents"
    )


# --- a primitive without a rule ------------------------------------------------------------------
def _throwaway() -> Primitive:
    p = Primitive("mystery", lambda x, y: np.sin(x) * y)
    defjvp(p, lambda x_dot, ans, x, y: x_dot * rnp.cos(x) * y)  # no rule for y
    defvjp(p, lambda ct, ans, x, y: ct * rnp.cos(x) * y)
    return p


def test_primitive_without_jvp_rule() -> None:
    p = _throwaway()
    assert ri.jvp(lambda x: p(x, 2.0), (1.0,), (1.0,))[1] == pytest.approx(2 * np.cos(1.0)), (
        "the rule for argument 0 is registered and should be used"
    )
    with raises(
        NotImplementedError,
        "JVP of primitive 'mystery'",
        "argument 1",
        "mystery(float64[], float64[3])",
        "defjvp",
    ):
        ri.jvp(lambda y: p(1.0, y), (np.ones(3),), (np.ones(3),))


def test_primitive_without_vjp_rule() -> None:
    p = _throwaway()
    with raises(
        NotImplementedError,
        "VJP of primitive 'mystery'",
        "argument 1",
        "mystery(float64[2], float64[2])",
        "defvjp",
    ):
        ri.grad(lambda x, y: rnp.sum(p(x, y)), argnums=1)(np.ones(2), np.ones(2))
    with raises(NotImplementedError, "VJP of primitive 'bare'", "argument 0"):
        ri.grad(lambda x: Primitive("bare", np.exp)(x))(0.5)


# --- plain numpy on a traced value ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "name", "advice"),
    [
        (np.sin, "numpy.sin", "reference_impl.numpy.sin"),
        (np.sum, "numpy.sum", "reference_impl.numpy.sum"),
        (lambda x: np.linalg.norm(x), "numpy.linalg.norm", "reference_impl.numpy.linalg.norm"),
        (lambda x: np.add.reduce(x), "numpy.add.reduce", "reference_impl.numpy has no add.reduce"),
        (lambda x: np.fft.fft(x), "numpy.fft.fft", "reference_impl.numpy.fft.fft"),
    ],
)
def test_plain_numpy_on_traced_value(call: Any, name: str, advice: str) -> None:
    for transform in (ri.grad, ri.jacfwd):
        with raises(TypeError, name, "traced value (float64[3])", "cannot differentiate", advice):
            transform(lambda x: rnp.sum(call(x)))(np.ones(3))


def test_array_conversion_of_traced_value() -> None:
    with raises(
        TypeError, "convert a traced value (float64[2])", "reference_impl.numpy", "concrete(x)"
    ):
        ri.grad(lambda x: rnp.sum(np.asarray(x)))(np.ones(2))
    with raises(TypeError, "convert a traced value"):
        ri.grad(lambda x: rnp.sum(rnp.asarray(np.array([x[0], x[1]]))))(np.ones(2))


def test_shape_queries_on_tracers_are_allowed() -> None:
    g = ri.grad(lambda x: rnp.sum(x) * np.shape(x)[0] * np.ndim(x) * np.size(x))(np.ones(3))
    np.testing.assert_allclose(g, np.full(3, 9.0), err_msg="np.shape/ndim/size on a tracer")


# --- argnums and has_aux -------------------------------------------------------------------------
@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "jacfwd", "jacrev", "hessian"])
def test_argnums_out_of_range(transform: str) -> None:
    f = getattr(ri, transform)
    with raises(ValueError, "argnums=1", "out of range", "1 positional argument"):
        f(loss, argnums=1)(np.ones(2))
    with raises(ValueError, "argnums=(0, 2)", "out of range", "2 positional argument"):
        f(lambda x, y: loss(x * y), argnums=(0, 2))(np.ones(2), np.ones(2))
    with raises(TypeError, "argnums must be an int or a non-empty tuple", "'0'"):
        f(loss, argnums="0")(np.ones(2))


def test_negative_argnums_count_from_the_end() -> None:
    g = ri.grad(lambda x, y: x * y**2, argnums=-1)(2.0, 3.0)
    assert g == pytest.approx(12.0), f"argnums=-1 is the last argument: d(x y²)/dy = 12, got {g}"


@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "jacfwd", "jacrev"])
def test_has_aux_with_a_non_pair(transform: str) -> None:
    f = getattr(ri, transform)
    with raises(
        TypeError,
        f"{transform.replace('value_and_', '')}(<lambda>)",
        "has_aux=True",
        "pair (output, aux)",
        "one array of shape ()",
    ):
        f(lambda x: rnp.sum(x**2), has_aux=True)(np.ones(2))
    with raises(TypeError, "has_aux=True", "tuple of length 3"):
        f(lambda x: (rnp.sum(x**2), 1.0, 2.0), has_aux=True)(np.ones(2))


def test_vjp_jvp_linearize_has_aux_with_a_non_pair() -> None:
    with raises(TypeError, "vjp(loss)", "has_aux=True", "pair (output, aux)"):
        ri.vjp(loss, np.ones(2), has_aux=True)
    with raises(TypeError, "jvp(loss)", "has_aux=True", "pair (output, aux)"):
        ri.jvp(loss, (np.ones(2),), (np.ones(2),), has_aux=True)
    with raises(TypeError, "linearize(loss)", "has_aux=True", "pair (output, aux)"):
        ri.linearize(loss, np.ones(2), has_aux=True)


# --- custom rules misused ------------------------------------------------------------------------
def test_custom_rules_not_defined() -> None:
    with raises(AttributeError, "No JVP defined", "custom_jvp[f]"):
        _named(ri.custom_jvp)(1.0)
    with raises(AttributeError, "No VJP defined", "custom_vjp[f]"):
        _named(ri.custom_vjp)(1.0)


def _named(decorator: Any) -> Any:
    def f(x: Any) -> Any:
        return x

    return decorator(f)


def test_custom_vjp_under_forward_mode() -> None:
    f = _named(ri.custom_vjp)
    f.defvjp(lambda x: (x, None), lambda res, g: (g,))
    with raises(TypeError, "forward-mode", "custom_vjp function (f)", "custom_jvp"):
        ri.jvp(f, (1.0,), (1.0,))


def test_custom_vjp_bwd_returning_wrong_structure() -> None:
    f = _named(ri.custom_vjp)
    f.defvjp(lambda x: (x, None), lambda res, g: g)
    with raises(TypeError, "custom_vjp[f]", "bwd must return a tuple", "1"):
        ri.grad(f)(1.0)
    f.defvjp(lambda x: (x, None), lambda res, g: ((g, g),))
    with raises(
        ValueError, "custom_vjp[f]", "structure (*, *,)", "argument 0", "whose structure is *"
    ):
        ri.grad(f)(1.0)


# --- jit (a no-op), lax loops as Python, what is deliberately not supported -----------------
def test_jit_is_a_documented_no_op() -> None:
    import functools

    calls = []

    def f(x: Any, n: int) -> Any:
        calls.append(n)
        return rnp.sum(x**n)

    g = ri.jit(f, static_argnums=1)
    h = functools.partial(ri.jit, static_argnums=(1,))(f)
    x = np.array([1.0, 2.0])
    assert g(x, 2) == h(x, 2) == 5.0 and calls == [2, 2]  # runs Python every time
    np.testing.assert_allclose(ri.grad(g)(x, 3), 3 * x**2)
    np.testing.assert_allclose(
        ri.jit(ri.vmap(ri.grad(lambda v: rnp.sum(v**2))))(np.eye(2)), 2 * np.eye(2)
    )
    assert ri.jit(static_argnums=0)(f).__name__ == "f"
    with pytest.raises(TypeError, match="static_argnums must be an int"):
        ri.jit(f, static_argnums="n")


def test_lax_loops_are_python_loops_and_differentiable() -> None:
    x = np.array([0.5, -1.0])
    y = ri.lax.fori_loop(0, 3, lambda i, v: rnp.sin(v) * (i + 1), x)
    g = ri.grad(lambda v: rnp.sum(ri.lax.fori_loop(0, 3, lambda i, u: rnp.sin(u) * (i + 1), v)))
    want = x
    for i in range(3):
        want = np.sin(want) * (i + 1)
    np.testing.assert_allclose(y, want)
    assert np.all(np.isfinite(g(x)))
    assert ri.lax.while_loop(lambda v: v < 10, lambda v: v * 2, 1) == 16
    assert ri.lax.cond(True, lambda a: a + 1, lambda a: a - 1, 1) == 2


def test_random_rejects_a_batch_of_keys() -> None:
    with pytest.raises(TypeError, match=r"random\.normal: expected a single key"):
        ri.random.normal(ri.random.split(ri.random.PRNGKey(0), 3))
