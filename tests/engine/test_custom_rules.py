"""Custom rules as JAX writes them: ``nondiff_argnums`` of ``custom_jvp``/``custom_vjp``,
``defjvps``, ``custom_gradient`` and ``linear_transpose``, each program run on JAX and on the
engine with the same code, gradients compared in both modes."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import Phase, given, settings

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.custom import custom_gradient, linear_transpose
from tests.engine.strategies import arrays

FAST = settings(max_examples=8, database=None, phases=(Phase.generate,))


@pytest.fixture(scope="module")
def jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def api(jax: Any, engine: bool) -> SimpleNamespace:
    """The names a program uses, from JAX or from the engine."""
    if engine:
        return SimpleNamespace(
            np=rnp,
            custom_jvp=ri.custom_jvp,
            custom_vjp=ri.custom_vjp,
            custom_gradient=custom_gradient,
            grad=ri.grad,
            jacfwd=ri.jacfwd,
            jacrev=ri.jacrev,
            linear_transpose=linear_transpose,
            vmap=ri.vmap,
        )
    return SimpleNamespace(
        np=jax.numpy,
        custom_jvp=jax.custom_jvp,
        custom_vjp=jax.custom_vjp,
        custom_gradient=jax.custom_gradient,
        grad=jax.grad,
        jacfwd=jax.jacfwd,
        jacrev=jax.jacrev,
        linear_transpose=jax.linear_transpose,
        vmap=jax.vmap,
    )


def close(a: Any, b: Any, msg: str) -> None:
    import jax

    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(
            np.asarray(x), np.asarray(y), rtol=1e-11, atol=1e-13, err_msg=msg
        )


def fixed_point_program(m: SimpleNamespace) -> Any:
    """JAX's docs: a function argument passed through nondiff_argnums of custom_jvp."""

    @partial(m.custom_jvp, nondiff_argnums=(0,))
    def apply_twice(f, x):
        return f(f(x))

    @apply_twice.defjvp
    def apply_twice_jvp(f, primals, tangents):
        (x,), (t,) = primals, tangents
        y = f(x)
        return f(y), 3.0 * t * y  # deliberately not the true derivative: the rule must win

    return lambda x: m.np.sum(apply_twice(m.np.sin, x) * x)


def clip_program(m: SimpleNamespace) -> Any:
    """JAX's docs: gradient clipping with custom_vjp and the threshold in nondiff_argnums."""

    @partial(m.custom_vjp, nondiff_argnums=(1,))
    def clip_gradient(x, hi):
        return x

    def fwd(x, hi):
        return x, None

    def bwd(hi, _, g):
        return (m.np.clip(g, -hi, hi),)

    clip_gradient.defvjp(fwd, bwd)
    return lambda x: m.np.sum(m.np.sin(clip_gradient(x * 3.0, 0.7)) ** 2)


def defjvps_program(m: SimpleNamespace) -> Any:
    @m.custom_jvp
    def f(x, y):
        return m.np.sin(x) * y

    f.defjvps(
        lambda x_dot, ans, x, y: m.np.cos(x) * x_dot * y,
        lambda y_dot, ans, x, y: m.np.sin(x) * y_dot * 2.0,
    )  # a rule that is not f's own
    return lambda x: m.np.sum(f(x, x**2))


def custom_gradient_program(m: SimpleNamespace) -> Any:
    @m.custom_gradient
    def safe_log(x):
        return m.np.log(m.np.abs(x) + 1.0), lambda g: g / (m.np.abs(x) + 1.0) * 0.5

    @m.custom_gradient
    def product(x, y):
        return x * y, lambda g: (g * y, g * x * 3.0)

    return lambda x: m.np.sum(safe_log(x) * product(x, m.np.cos(x)))


PROGRAMS = [fixed_point_program, clip_program, defjvps_program, custom_gradient_program]
FORWARD = {fixed_point_program, defjvps_program}  # custom_vjp has no forward mode in JAX


@FAST
@given(x=arrays(shape=(4,)))
def test_custom_rule_programs_match_jax(jax, x) -> None:
    for program in PROGRAMS:
        ours, theirs = program(api(jax, True)), program(api(jax, False))
        name = program.__name__
        close(ours(x), theirs(x), f"{name}: value")
        close(ri.grad(ours)(x), jax.grad(theirs)(x), f"{name}: grad")
        close(
            ri.vmap(ri.grad(ours))(np.stack([x, x[::-1]])),
            jax.vmap(jax.grad(theirs))(np.stack([x, x[::-1]])),
            f"{name}: vmap(grad)",
        )
        if program in FORWARD:
            close(ri.jacfwd(ours)(x), jax.jacfwd(theirs)(x), f"{name}: jacfwd")


@FAST
@given(a=arrays(shape=(3, 4)), ct=arrays(shape=(3,)))
def test_linear_transpose_matches_jax(jax, a, ct) -> None:
    for engine, mod in ((True, rnp), (False, jax.numpy)):
        m = api(jax, engine)

        def f(x, y, mod=mod):
            return mod.dot(a, x) + 2.0 * mod.sum(y) * mod.ones(3)

        t = m.linear_transpose(f, np.zeros(4), np.zeros(2))(ct)
        if engine:
            ours = t
        else:
            theirs = t
    close(ours, theirs, "linear_transpose")
    assert isinstance(ours, tuple) and len(ours) == 2


def test_errors(jax) -> None:
    with pytest.raises(TypeError, match=r"linear_transpose: <lambda> is not linear"):
        linear_transpose(lambda x: x + 1.0, np.zeros(2))
    f = ri.custom_vjp(lambda x, n: x * n, nondiff_argnums=(1,))
    f.defvjp(lambda x, n: (x * n, None), lambda n, res, g: (g * n, g))  # one cotangent too many
    with pytest.raises(
        TypeError,
        match=r"bwd must return a tuple with one cotangent per "
        r"argument \(1\), got a tuple of length 2",
    ):
        ri.grad(lambda x: f(x, 3.0))(1.0)
