"""``vmap``'s API (pytrees, in_axes/out_axes, nesting, errors) and its compositions with the
other transformations in both orders, against JAX and against the example-by-example loop."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl import batching
from reference_impl.core import Primitive

jax.config.update("jax_enable_x64", True)


def mlp(xp: Any, params: Any, x: Any, y: Any) -> Any:
    """A per-example loss: tanh MLP, softmax cross-entropy for one input vector ``x``."""
    (w1, b1), (w2, b2) = params
    logits = xp.tanh(x @ w1 + b1) @ w2 + b2
    return (
        jax.scipy.special.logsumexp(logits) - xp.sum(logits * y)
        if xp is jnp
        else ri.scipy.special.logsumexp(logits) - xp.sum(logits * y)
    )


@pytest.fixture
def problem(rng: np.random.Generator) -> tuple[Any, np.ndarray, np.ndarray]:
    params = [
        (rng.standard_normal((4, 5)), rng.standard_normal(5)),
        (rng.standard_normal((5, 3)), rng.standard_normal(3)),
    ]
    return params, rng.standard_normal((6, 4)), np.eye(3)[rng.integers(0, 3, 6)]


def close(a: Any, b: Any) -> None:
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-10, atol=1e-12)


def test_per_example_gradients(problem: Any) -> None:
    """vmap(grad(f)) with in_axes=(None, 0, 0): one gradient per example, as jax.vmap."""
    params, x, y = problem
    ours = ri.vmap(ri.grad(lambda p, a, b: mlp(rnp, p, a, b)), in_axes=(None, 0, 0))(params, x, y)
    theirs = jax.vmap(jax.grad(lambda p, a, b: mlp(jnp, p, a, b)), in_axes=(None, 0, 0))(
        params, x, y
    )
    close(ours, theirs)
    assert np.shape(ours[0][0]) == (6, 4, 5)
    assert not batching.FALLBACKS or all("mlp" not in f for f in batching.FALLBACKS)


def test_grad_of_vmap_is_grad_of_sum(problem: Any) -> None:
    params, x, y = problem
    total = ri.grad(lambda p: rnp.sum(ri.vmap(lambda a, b: mlp(rnp, p, a, b))(x, y)))(params)
    loop = ri.grad(lambda p: sum(mlp(rnp, p, a, b) for a, b in zip(x, y, strict=True)))(params)
    close(total, loop)


def test_jacobian_as_vmap_of_vjp_and_of_jvp(rng: np.random.Generator) -> None:
    def f(x: Any) -> Any:
        return rnp.sin(x) * rnp.sum(x**2) + x[::-1]

    x = rng.standard_normal(4)
    _, f_vjp = ri.vjp(f, x)
    rows = ri.vmap(lambda ct: f_vjp(ct)[0])(np.eye(4))
    cols = ri.vmap(lambda t: ri.jvp(f, (x,), (t,))[1], out_axes=1)(np.eye(4))
    close(rows, ri.jacrev(f)(x))
    close(cols, ri.jacfwd(f)(x))


def test_hessian_through_vmap_and_jvp_of_vmap(rng: np.random.Generator) -> None:
    def f(x: Any) -> Any:
        return rnp.sum(rnp.tanh(x) ** 3)

    def fj(x: Any) -> Any:
        return jnp.sum(jnp.tanh(x) ** 3)

    @jax.jit  # JAX's three references in one program (eagerly: one compile per primitive)
    def want(xs: Any, v: Any) -> Any:
        return (
            jax.vmap(jax.hessian(fj))(xs),
            jax.hessian(lambda x: jnp.sum(jax.vmap(fj)(x)))(xs),
            jax.jvp(jax.vmap(jax.grad(fj)), (xs,), (v,))[1],
        )

    xs, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    hs_j, h2_j, out_dot_j = want(xs, v)
    close(ri.vmap(ri.hessian(f))(xs), hs_j)
    close(ri.hessian(lambda x: rnp.sum(ri.vmap(f)(x)))(xs), h2_j)
    _out, out_dot = ri.jvp(ri.vmap(ri.grad(f)), (xs,), (v,))
    close(out_dot, out_dot_j)


def test_nested_vmap_and_axes(rng: np.random.Generator) -> None:
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    dist = ri.vmap(
        ri.vmap(lambda u, v: rnp.sum((u - v) ** 2), in_axes=(None, 0)), in_axes=(0, None)
    )(a, b)
    close(dist, ((a[:, None] - b[None]) ** 2).sum(-1))
    out = ri.vmap(lambda u: rnp.outer(u, u), in_axes=-1, out_axes=-1)(a)
    close(out, np.einsum("ib,jb->ijb", a, a))


def test_pytrees_and_prefixes(rng: np.random.Generator) -> None:
    tree = {"w": rng.standard_normal((2, 3)), "s": rng.standard_normal(())}
    xs = rng.standard_normal((4, 3))

    def f(p: Any, x: Any) -> Any:
        return {"y": p["w"] @ x * p["s"], "n": (rnp.sum(x), x)}

    ours = ri.vmap(f, in_axes=({"w": None, "s": None}, 0), out_axes={"y": 1, "n": 0})(tree, xs)
    theirs = jax.vmap(f, in_axes=({"w": None, "s": None}, 0), out_axes={"y": 1, "n": 0})(tree, xs)
    close(ours, theirs)
    close(ri.vmap(lambda x: (x, 2.0))(xs), jax.vmap(lambda x: (x, 2.0))(xs))


def test_custom_rules_and_checkpoint_under_vmap(rng: np.random.Generator) -> None:
    @ri.custom_jvp
    def f(x: Any) -> Any:
        return rnp.sin(x)

    @f.defjvp
    def f_jvp(primals: Any, tangents: Any) -> Any:
        return f(primals[0]), 2.0 * tangents[0]  # deliberately not cos: the rule must be used

    xs = rng.standard_normal((3, 2))
    close(ri.vmap(ri.grad(lambda x: rnp.sum(f(x))))(xs), np.full((3, 2), 2.0))
    g = ri.vmap(ri.grad(lambda x: rnp.sum(ri.checkpoint(rnp.tanh)(x) ** 2)))(xs)
    close(g, 2 * np.tanh(xs) / np.cosh(xs) ** 2)


def test_loop_fallback_is_correct(rng: np.random.Generator) -> None:
    xs = rng.standard_normal((4, 3))
    xs[:2] = np.abs(xs[:2])
    xs[2:] = -np.abs(xs[2:])

    def f(x: Any) -> Any:  # Python control flow on a value that differs between examples
        return rnp.sum(x * x) if rnp.sum(x) > 0 else rnp.sum(x)

    with pytest.warns(RuntimeWarning, match="example by example"):
        out = ri.vmap(ri.grad(f))(xs)
    close(out, np.where(xs.sum(axis=1, keepdims=True) > 0, 2 * xs, 1.0))
    weights = np.array([3.0, 2.0, 1.0])  # sorting is batched now: no warning
    out = ri.vmap(ri.grad(lambda x: rnp.sum(rnp.sort(x) * weights)))(xs)
    ranks = np.argsort(np.argsort(xs, axis=1), axis=1)
    close(out, weights[ranks])
    relu_grad = ri.vmap(ri.grad(lambda x: rnp.sum(ri.nn.relu(x) * x)))(xs)  # vectorised now
    close(relu_grad, np.where(xs > 0, 2 * xs, 0.0))
    assert ri.vmap(lambda x: x if rnp.sum(x) > -100 else -x)(xs).shape == (4, 3)  # 1 branch


def test_errors_name_the_culprit() -> None:
    def f(x: Any, y: Any) -> Any:
        return x + y

    with pytest.raises(
        ValueError,
        match=r"inconsistent sizes.*\n.*size 2: axis 0 of argument x"
        r" of type float64\[2\];\n.*size 3: axis 0 of argument y",
    ):
        ri.vmap(f)(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match=r"argument y along axis 1.*rank should be at least 2"):
        ri.vmap(f, in_axes=(0, 1))(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="at least one non-None value in in_axes"):
        ri.vmap(f, in_axes=None)(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match=r"len\(in_axes\)=3, len\(args\)=2"):
        ri.vmap(f, in_axes=(0, 0, 0))(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="mapped output but out_axes is None"):
        ri.vmap(f, out_axes=None)(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="tree prefix"):
        ri.vmap(f, in_axes=((0, 0), 0))(np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="in_axes must be an int, None"):
        ri.vmap(f, in_axes="0")
    nobatch = Primitive("nobatch", np.sin)
    with pytest.raises(NotImplementedError, match="batching rule of nobatch not defined"):
        ri.vmap(nobatch)(np.ones(2))
    with pytest.raises(TypeError, match=r"numpy\.sin was called on a traced value"):
        ri.grad(lambda x: rnp.sum(ri.vmap(np.sin)(x)))(np.ones(2))


def test_custom_rules_survive_vmap_under_outer_derivatives(rng: np.random.Generator) -> None:
    """grad(vmap(f)) uses f's custom rule, as JAX does (the rule is batched, not bypassed)."""

    @ri.custom_jvp
    def f(x: Any) -> Any:
        return rnp.sin(x)

    @f.defjvp
    def f_jvp(primals: Any, tangents: Any) -> Any:
        return f(primals[0]), 2.0 * tangents[0]

    @ri.custom_vjp
    def g(x: Any, w: Any) -> Any:
        return rnp.sin(x) * w

    g.defvjp(lambda x, w: (g(x, w), (x, w)), lambda res, ct: (3.0 * ct, ct * res[0]))
    xs, w = rng.standard_normal((3, 2)), rng.standard_normal(2)
    close(ri.grad(lambda x: rnp.sum(ri.vmap(f)(x)))(xs), np.full((3, 2), 2.0))
    gx, gw = ri.grad(lambda x, v: rnp.sum(ri.vmap(g, in_axes=(0, None))(x, v)), argnums=(0, 1))(
        xs, w
    )
    close(gx, np.full((3, 2), 3.0))
    close(gw, xs.sum(0))
    close(ri.vmap(ri.grad(lambda x: rnp.sum(g(x, w))))(xs), np.full((3, 2), 3.0))
