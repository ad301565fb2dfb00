"""Registered pytree classes through every transformation, against JAX with the same classes
registered on both sides: ``vmap`` with ``in_axes``/``out_axes`` prefix trees whose nodes are
registered classes, ``vmap(grad)``, ``jacfwd``/``jacrev``/``hessian``, ``lax`` loops, custom
rules, and key paths (``tree_flatten_with_path``) as JAX prints them."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.core import Tracer
from tests.engine.strategies import seeds

jax.config.update("jax_enable_x64", True)


class Layer:
    """Children ``(w, b)``, static ``name`` (registered with both libraries)."""

    def __init__(self, w: Any, b: Any, name: str = "layer"):
        self.w, self.b, self.name = w, b, name

    def tree_flatten(self) -> tuple[tuple[Any, Any], str]:
        return (self.w, self.b), self.name

    @classmethod
    def tree_unflatten(cls, aux: str, children: Any) -> Layer:
        return cls(*children, name=aux)


class Swap:
    """Children in reverse attribute order: ``(b, a)``, no static data."""

    def __init__(self, a: Any, b: Any):
        self.a, self.b = a, b


for _register in (ri.tree_util, jax.tree_util):
    _register.register_pytree_node_class(Layer)
    _register.register_pytree_node(
        Swap, lambda s: ((s.b, s.a), None), lambda _, c: Swap(c[1], c[0])
    )


def same(ours: Any, theirs: Any, msg: str) -> None:
    """Same structure (registered classes and their static data included), leaves to 1e-10."""
    ol, otd = ri.tree_util.tree_flatten(ours)
    tl, ttd = jax.tree_util.tree_flatten(theirs)
    assert otd.num_leaves == ttd.num_leaves, f"{msg}: {otd} vs JAX {ttd}"
    assert ri.tree_util.tree_structure(jax.tree_util.tree_unflatten(ttd, tl)) == otd, (
        f"{msg}: structure {otd}, JAX's {ttd}"
    )
    for k, (a, b) in enumerate(zip(ol, tl, strict=True)):
        assert not isinstance(a, Tracer), f"{msg}: leaf {k} is a leaked tracer"
        np.testing.assert_allclose(
            np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12, err_msg=f"{msg}, leaf {k}"
        )


# --- random trees of registered nodes, with random axis prefixes -----------------------------
B = 3
NODES = ("layer", "swap", "dict", "tuple", "list")
trees_st = st.recursive(
    st.tuples(st.just("leaf"), st.integers(0, 2)),  # a leaf: its rank without the batch axis
    lambda kids: st.one_of(
        st.tuples(st.sampled_from(NODES), kids, kids),
        st.tuples(st.just("none")),
    ),
    max_leaves=6,
)


def build(spec: Any, rng: np.random.Generator, axes: list[int | None]) -> tuple[Any, Any]:
    """A pytree of arrays from ``spec`` and its ``in_axes`` (a prefix chosen at random)."""
    kind = spec[0]
    if kind == "none":
        return None, int(rng.integers(0, 2))
    if kind == "leaf":
        rank = spec[1]
        ok = [a for a in axes if a is None or a <= rank]
        ax = ok[int(rng.integers(0, len(ok)))]
        shape = [2] * rank
        if ax is not None:
            shape.insert(ax % (rank + 1), B)
        return rng.standard_normal(shape), ax
    (a, sa), (b, sb) = build(spec[1], rng, axes), build(spec[2], rng, axes)
    tree, axes_tree = {
        "layer": (Layer(a, b, "l"), Layer(sa, sb, "l")),
        "swap": (Swap(a, b), Swap(sa, sb)),
        "dict": ({"w": a, "b": b}, {"w": sa, "b": sb}),
        "tuple": ((a, b), (sa, sb)),
        "list": ([a, b], [sa, sb]),
    }[kind]
    if all(x == 0 for x in ri.tree.leaves(axes_tree, is_leaf=lambda x: x is None)):
        return tree, 0  # an all-zero subtree is given as its prefix 0
    return tree, axes_tree


def f(xp: Any, t: Any, s: Any) -> Any:
    """Leaf-wise work that keeps the structure, plus a scalar from all leaves."""
    total = sum((xp.sum(leaf**2) for leaf in ri.tree.leaves(t)), 0.0)
    return ri.tree.map(lambda leaf: xp.sin(leaf) * s + total, t), total


@given(spec=trees_st, seed=seeds, out0=st.sampled_from([0, 1, -1]))
@settings(max_examples=40, deadline=None)
def test_vmap_over_registered_nodes_matches_jax(spec: Any, seed: int, out0: int) -> None:
    rng = np.random.default_rng(seed)
    tree, in_axes = build(spec, rng, [0, 1, -1, None])
    s = rng.standard_normal(B)
    if not any(a is not None for a in ri.tree.leaves(in_axes, is_leaf=lambda x: x is None)):
        in_axes = 0 if not ri.tree.leaves(tree) else in_axes
    out_axes = (ri.tree.map(lambda x: out0 if np.ndim(x) >= 2 else 0, tree), 0)  # full tree
    if not ri.tree.leaves(tree):
        out_axes = 0
    ours = ri.vmap(lambda t, z: f(rnp, t, z), in_axes=(in_axes, 0), out_axes=out_axes)(tree, s)
    theirs = jax.vmap(lambda t, z: f(jnp, t, z), in_axes=(in_axes, 0), out_axes=out_axes)(tree, s)
    same(ours, theirs, f"vmap over {tree!r} with in_axes={in_axes!r}")


def test_registered_node_as_axis_prefix(rng: np.random.Generator) -> None:
    layer = Layer(rng.standard_normal((B, 4, 2)), rng.standard_normal(2))
    x = rng.standard_normal(4)

    def g(xp: Any, p: Layer) -> Layer:
        return Layer(xp.tanh(x @ p.w + p.b), p.b * 2, "out")

    spec, out = Layer(0, None, "layer"), Layer(1, None, "out")
    ours = ri.vmap(lambda p: g(rnp, p), in_axes=(spec,), out_axes=out)(layer)
    theirs = jax.vmap(lambda p: g(jnp, p), in_axes=(spec,), out_axes=out)(layer)
    assert isinstance(ours, Layer) and ours.name == "out", f"vmap returned {ours!r}"
    assert np.shape(ours.w) == (2, B) and np.shape(ours.b) == (2,), "out_axes=Layer(1, None)"
    same(ours, theirs, "in_axes=(Layer(0, None),), out_axes=Layer(1, None)")
    with pytest.raises(ValueError, match=r"in_axes specification must be a tree prefix"):
        ri.vmap(lambda p: g(rnp, p), in_axes=(Layer(0, None, "other"),))(layer)  # aux differs
    with pytest.raises(ValueError, match=r"in_axes specification must be a tree prefix"):
        ri.vmap(lambda p: g(rnp, p), in_axes=((0, None),))(layer)  # a tuple is not a Layer
    with pytest.raises(ValueError, match=r"axis 0 of argument p\[<flat index 1>\]"):
        ri.vmap(lambda p: g(rnp, p))(Layer(layer.w, np.ones(B + 1)))


def mlp(xp: Any, layers: list[Layer], x: Any, y: Any) -> Any:
    h = x
    for p in layers:
        h = xp.tanh(h @ p.w + p.b)
    return xp.sum((h - y) ** 2)


def test_per_example_gradients_of_registered_params(rng: np.random.Generator) -> None:
    layers = [Layer(rng.standard_normal((3, 4)), rng.standard_normal(4), str(i)) for i in "ab"]
    layers[1] = Layer(rng.standard_normal((4, 2)), rng.standard_normal(2), "b")
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    ours = ri.vmap(ri.grad(lambda p, a, b: mlp(rnp, p, a, b)), in_axes=(None, 0, 0))(layers, x, y)
    theirs = jax.vmap(jax.grad(lambda p, a, b: mlp(jnp, p, a, b)), in_axes=(None, 0, 0))(
        layers, x, y
    )
    assert [type(p) for p in ours] == [Layer, Layer] and np.shape(ours[0].w) == (5, 3, 4)
    same(ours, theirs, "vmap(grad) wrt a list of Layers")
    # vmapped over the parameters too: an ensemble of models, one per batch entry
    ens = ri.tree.map(lambda a: np.stack([a, 2 * a, -a]), layers)
    ours = ri.vmap(ri.value_and_grad(lambda p: mlp(rnp, p, x, y)))(ens)
    theirs = jax.vmap(jax.value_and_grad(lambda p: mlp(jnp, p, x, y)))(ens)
    same(ours, theirs, "vmap(value_and_grad) over an ensemble of Layer lists")


@pytest.mark.parametrize("jac", ["jacfwd", "jacrev", "hessian"])
def test_jacobians_of_registered_nodes(jac: str, rng: np.random.Generator) -> None:
    p = Swap(rng.standard_normal(3), Layer(rng.standard_normal((3, 2)), rng.standard_normal(2)))

    def h(xp: Any, q: Swap) -> Any:
        return xp.sum(xp.sin(q.a @ q.b.w + q.b.b) ** 2) * xp.sum(q.a)

    same(getattr(ri, jac)(lambda q: h(rnp, q))(p), getattr(jax, jac)(lambda q: h(jnp, q))(p), jac)


def test_loops_and_custom_rules_carry_registered_nodes(rng: np.random.Generator) -> None:
    p = Layer(rng.standard_normal(3), rng.standard_normal(3))
    xs = rng.standard_normal((4, 3))

    def step(xp: Any, c: Layer, x: Any) -> tuple[Layer, Any]:
        return Layer(xp.tanh(c.w * x + c.b), c.b + x, c.name), xp.sum(c.w)

    def loss(lib: Any, xp: Any, q: Layer) -> Any:
        c, ys = lib.lax.scan(lambda c, x: step(xp, c, x), q, xs)
        c = lib.lax.fori_loop(0, 2, lambda i, c: Layer(c.w * 0.9, c.b, c.name), c)
        c = lib.lax.cond(xp.sum(c.w) > 0, lambda c: c, lambda c: Layer(-c.w, c.b, c.name), c)
        return xp.sum(c.w * c.b) + xp.sum(ys)

    same(ri.grad(lambda q: loss(ri, rnp, q))(p), jax.grad(lambda q: loss(jax, jnp, q))(p), "loops")

    def make(lib: Any, xp: Any) -> Any:
        @lib.custom_vjp
        def scale(q: Layer) -> Any:
            return xp.sum(q.w * q.b)

        scale.defvjp(lambda q: (scale(q), q), lambda q, ct: (Layer(ct * q.b, ct * q.w, q.name),))
        return scale

    same(
        ri.vmap(ri.grad(make(ri, rnp)))(Layer(xs, xs * 2)),
        jax.vmap(jax.grad(make(jax, jnp)))(Layer(xs, xs * 2)),
        "vmap(grad) of a custom_vjp on a Layer",
    )


@given(spec=trees_st, seed=seeds)
@settings(max_examples=30, deadline=None)
def test_key_paths_match_jax(spec: Any, seed: int) -> None:
    tree, _ = build(spec, np.random.default_rng(seed), [0])
    ours, otd = ri.tree_util.tree_flatten_with_path(tree)
    theirs, _ = jax.tree_util.tree_flatten_with_path(tree)
    assert [ri.tree_util.keystr(p) for p, _ in ours] == [
        jax.tree_util.keystr(p) for p, _ in theirs
    ], f"key paths of {otd}"
    assert all(a is b for (_, a), (_, b) in zip(ours, theirs, strict=True)), "leaf order"
    names = ri.tree.map_with_path(lambda p, x: ri.tree_util.keystr(p), tree)
    jnames = jax.tree.map_with_path(lambda p, x: jax.tree_util.keystr(p), tree)
    assert ri.tree.leaves(names) == jax.tree.leaves(jnames), f"map_with_path over {otd}"
    assert ri.tree.leaves_with_path(tree)[0][0] == ours[0][0] if ours else True
