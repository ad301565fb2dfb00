"""Pytrees: ``tree_util`` against ``jax.tree_util``, and every transformation on nested inputs and
outputs (tuples, lists, dicts, namedtuples, None) with the same layout as JAX's."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.core import Tracer
from reference_impl.testing import check_grads
from reference_impl.tree_util import (
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_unflatten,
)

Point = namedtuple("Point", ["x", "y"])


@pytest.fixture(scope="module")
def jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def close(ours: Any, theirs: Any, msg: str) -> None:
    """Same containers (namedtuple types included), same shapes, values equal to 1e-10."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs), (
            f"{msg}: expected dict with keys {sorted(theirs)}, got {ours!r}"
        )
        for k in theirs:
            close(ours[k], theirs[k], f"{msg}[{k!r}]")
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), (
            f"{msg}: expected {type(theirs).__name__} of length {len(theirs)}, got {ours!r}"
        )
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            close(a, b, f"{msg}[{i}]")
    elif theirs is None:
        assert ours is None, f"{msg}: expected None, got {ours!r}"
    else:
        assert not isinstance(ours, Tracer), f"{msg}: a tracer leaked out: {ours!r}"
        a, b = np.asarray(ours), np.asarray(theirs)
        assert a.shape == b.shape, f"{msg}: shape {a.shape}, expected {b.shape}"
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=msg)


# --- tree_util against jax.tree_util -------------------------------------------------------------
leaves_st = st.one_of(
    st.floats(-3, 3), st.integers(-3, 3).map(lambda n: np.full((2,), n * 0.5)), st.none()
)
trees_st = st.recursive(
    leaves_st,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(["b", "a", "c", "w1", "w0"]), children, max_size=3),
        st.tuples(children, children).map(lambda t: Point(*t)),
    ),
    max_leaves=8,
)


@given(tree=trees_st)
def test_flatten_matches_jax(jax, tree: Any) -> None:
    leaves, td = tree_flatten(tree)
    jleaves, jtd = jax.tree_util.tree_flatten(tree)
    assert td.num_leaves == jtd.num_leaves == len(leaves), f"leaf count differs for {tree!r}"
    for k, (a, b) in enumerate(zip(leaves, jleaves, strict=True)):
        assert a is b, f"leaf {k} of {tree!r}: ours {a!r}, JAX {b!r} (order must match)"
    rebuilt = tree_unflatten(td, leaves)
    close(rebuilt, jax.tree_util.tree_unflatten(jtd, jleaves), f"unflatten(flatten({tree!r}))")
    assert tree_structure(rebuilt) == td, f"structure changed by a round trip: {td}"
    assert hash(tree_structure(rebuilt)) == hash(td), "equal structures must hash equally"


@given(tree=trees_st, seed=st.integers(0, 2**31))
def test_tree_map_matches_jax(jax, tree: Any, seed: int) -> None:
    other = tree_map(lambda x: np.random.default_rng(seed).standard_normal(np.shape(x)), tree)
    ours = tree_map(lambda a, b: a * 2.0 + b, tree, other)
    theirs = jax.tree_util.tree_map(lambda a, b: a * 2.0 + b, tree, other)
    close(ours, theirs, f"tree_map over two trees of structure {tree_structure(tree)}")


def test_dict_keys_are_sorted_like_jax() -> None:
    assert tree_leaves({"b": 1.0, "a": 2.0, "c": {"z": 3.0, "y": 4.0}}) == [2.0, 1.0, 4.0, 3.0], (
        "dict leaves must come in sorted key order, as in JAX"
    )
    assert repr(tree_structure({"b": 1.0, "a": (2.0, None)})) == "{'a': (*, None,), 'b': *}", (
        "PyTreeDef repr"
    )


def test_structure_errors() -> None:
    td = tree_structure((1.0, [2.0, 3.0]))
    with pytest.raises(ValueError, match="too few leaves"):
        tree_unflatten(td, [1.0, 2.0])
    with pytest.raises(ValueError, match="too many leaves"):
        tree_unflatten(td, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match=r"structures differ: \(\*, \[\*, \*\],\) vs \(\*, \*,\)"):
        tree_map(lambda a, b: a + b, (1.0, [2.0, 3.0]), (1.0, 2.0))
    assert tree_structure([1.0]) != tree_structure((1.0,)), "list and tuple are different nodes"
    assert tree_structure(Point(1.0, 2.0)) != tree_structure((1.0, 2.0)), "namedtuple ≠ tuple"


# --- transformations on pytrees ------------------------------------------------------------------
def params_tree(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "layers": [
            (rng.standard_normal((3, 2)), rng.standard_normal(2)),
            (rng.standard_normal((2, 1)), rng.standard_normal(1)),
        ],
        "scale": rng.standard_normal(()),
        "p": Point(rng.standard_normal(2), 0.5),
    }


def model(xp: Any, params: dict[str, Any], x: Any) -> Any:
    h = x
    for W, b in params["layers"]:
        h = xp.tanh(h @ W + b)
    p = params["p"]
    return xp.sum(h**2) * params["scale"] + xp.sum(p.x * p.y)


def test_grad_of_nested_params(jax, rng: np.random.Generator) -> None:
    params, x = params_tree(rng), rng.standard_normal((4, 3))
    close(
        ri.grad(lambda p: model(rnp, p, x))(params),
        jax.grad(lambda p: model(jax.numpy, p, x))(params),
        "grad wrt a dict of lists of tuples and a namedtuple",
    )
    ours = ri.value_and_grad(lambda p, z: (model(rnp, p, z), {"h": z[0]}), (0, 1), has_aux=True)(
        params, x
    )
    theirs = jax.value_and_grad(
        lambda p, z: (model(jax.numpy, p, z), {"h": z[0]}), (0, 1), has_aux=True
    )(params, x)
    close(ours, theirs, "value_and_grad, argnums=(0, 1), pytree aux")


def test_grad_with_none_and_empty_containers(jax) -> None:
    tree = {"w": 1.5, "nothing": None, "empty": [], "t": (2.0,)}

    def f(xp: Any, t: Any) -> Any:
        return t["w"] ** 2 * t["t"][0]

    close(
        ri.grad(lambda t: f(rnp, t))(tree),
        jax.grad(lambda t: f(jax.numpy, t))(tree),
        "None and empty containers are kept in the gradient's structure",
    )


def f_tree(xp: Any, d: Any) -> Any:
    """dict in, [array, {'b': scalar, 'a': matrix}] out."""
    return [
        xp.sin(d["x"]) * d["y"][0],
        {"b": xp.sum(d["x"] ** 2), "a": xp.outer(d["x"], d["y"][1])},
    ]


@pytest.mark.parametrize("jac", ["jacfwd", "jacrev"])
def test_jacobian_layout_matches_jax(jax, jac: str, rng: np.random.Generator) -> None:
    d = {"y": (rng.standard_normal(()), rng.standard_normal(2)), "x": rng.standard_normal(3)}
    close(
        getattr(ri, jac)(lambda t: f_tree(rnp, t))(d),
        getattr(jax, jac)(lambda t: f_tree(jax.numpy, t))(d),
        f"{jac}: output tree of input trees, each block of shape out.shape + in.shape",
    )
    p = Point(rng.standard_normal(2), rng.standard_normal(2))
    close(
        getattr(ri, jac)(lambda q, s: Point(q.x * q.y * s, rnp.sum(q.x) * s), (0, 1))(p, 2.0),
        getattr(jax, jac)(lambda q, s: Point(q.x * q.y * s, jax.numpy.sum(q.x) * s), (0, 1))(
            p, 2.0
        ),
        f"{jac}: namedtuples and argnums=(0, 1)",
    )


def test_hessian_of_dict_input(jax, rng: np.random.Generator) -> None:
    d = {"a": rng.standard_normal(2), "b": rng.standard_normal(())}

    def f(xp: Any, t: Any) -> Any:
        return xp.sum(xp.sin(t["a"]) * t["b"] ** 2) + xp.prod(t["a"])

    close(
        ri.hessian(lambda t: f(rnp, t))(d),
        jax.hessian(lambda t: f(jax.numpy, t))(d),
        "hessian of a dict input: dict of dicts of blocks",
    )


def test_jvp_vjp_linearize_on_pytrees(jax, rng: np.random.Generator) -> None:
    d = {"y": (rng.standard_normal(()), rng.standard_normal(2)), "x": rng.standard_normal(3)}
    t = tree_map(lambda a: rng.standard_normal(np.shape(a)), d)
    close(
        ri.jvp(lambda z: f_tree(rnp, z), (d,), (t,)),
        jax.jvp(lambda z: f_tree(jax.numpy, z), (d,), (t,)),
        "jvp with dict primals/tangents",
    )
    out, vjp_fn = ri.vjp(lambda z: f_tree(rnp, z), d)
    _, vjp_j = jax.vjp(lambda z: f_tree(jax.numpy, z), d)
    ct = tree_map(lambda a: rng.standard_normal(np.shape(a)), out)
    close(vjp_fn(ct), vjp_j(ct), "vjp with a list/dict output and a random pytree cotangent")
    _, lin = ri.linearize(lambda z: f_tree(rnp, z), d)
    _, lin_j = jax.linearize(lambda z: f_tree(jax.numpy, z), d)
    close(lin(t), lin_j(t), "linearize on pytrees")
    with pytest.raises(ValueError, match=r"cotangent's structure .* does not match"):
        vjp_fn(tree_leaves(ct))


# --- registered nodes, jax.tree, tree_reduce / tree_transpose, ravel_pytree ------------------
@ri.tree_util.register_pytree_node_class
class Affine:
    """A registered class: children ``(w, b)``, static ``name``."""

    def __init__(self, w: Any, b: Any, name: str = "layer"):
        self.w, self.b, self.name = w, b, name

    def tree_flatten(self) -> tuple[tuple[Any, Any], str]:
        return (self.w, self.b), self.name

    @classmethod
    def tree_unflatten(cls, aux: str, children: Any) -> Affine:
        return cls(*children, name=aux)


class Pair:
    def __init__(self, a: Any, b: Any):
        self.a, self.b = a, b


ri.tree_util.register_pytree_node(
    Pair, lambda p: ((p.b, p.a), "ba"), lambda aux, ch: Pair(ch[1], ch[0])
)


@pytest.fixture(scope="module")
def jax_nodes(jax):
    """The same classes registered with JAX (twins, so that the two registries do not clash)."""

    @jax.tree_util.register_pytree_node_class
    class JAffine(Affine):
        pass

    class JPair(Pair):
        pass

    jax.tree_util.register_pytree_node(
        JPair, lambda p: ((p.b, p.a), "ba"), lambda aux, ch: JPair(ch[1], ch[0])
    )
    ri.tree_util.register_pytree_node_class(JAffine)
    ri.tree_util.register_pytree_node(
        JPair, lambda p: ((p.b, p.a), "ba"), lambda aux, ch: JPair(ch[1], ch[0])
    )
    return JAffine, JPair


def test_registered_nodes_flatten_like_jax(jax, jax_nodes) -> None:
    JAffine, JPair = jax_nodes
    tree = {"l": [JAffine(np.ones(2), 3.0, "first"), JPair(1.0, (2.0, None))], "z": 4.0}
    leaves, td = tree_flatten(tree)
    jleaves, jtd = jax.tree_util.tree_flatten(tree)
    assert leaves == jleaves or all(a is b for a, b in zip(leaves, jleaves, strict=True)), (
        f"leaves of a tree with registered nodes: {leaves} vs JAX {jleaves}"
    )
    assert td.num_leaves == jtd.num_leaves and td.num_nodes == jtd.num_nodes, f"{td} vs {jtd}"
    back = tree_unflatten(td, [2 * np.asarray(x) for x in leaves])
    assert isinstance(back["l"][0], JAffine) and back["l"][0].name == "first"
    assert isinstance(back["l"][1], JPair) and back["l"][1].b[0] == 4.0
    assert tree_structure(JAffine(1.0, 2.0, "a")) != tree_structure(JAffine(1.0, 2.0, "b")), (
        "the static aux data is part of the structure"
    )
    with pytest.raises(ValueError, match="Duplicate custom PyTreeDef type registration"):
        ri.tree_util.register_pytree_node(Pair, lambda p: ((), None), lambda a, c: Pair(0, 0))


def test_transformations_accept_registered_nodes(jax, jax_nodes, rng) -> None:
    JAffine, _ = jax_nodes
    x = rng.standard_normal((4, 3))
    p = JAffine(rng.standard_normal((3, 2)), rng.standard_normal(2))

    def loss(xp: Any, p: Any) -> Any:
        return xp.sum(xp.tanh(x @ p.w + p.b) ** 2)

    g, jg = ri.grad(lambda q: loss(rnp, q))(p), jax.grad(lambda q: loss(jax.numpy, q))(p)
    assert isinstance(g, JAffine), f"grad must return the registered class, got {type(g)}"
    close((g.w, g.b), (jg.w, jg.b), "grad wrt a registered node")
    _, t = ri.jvp(lambda q: loss(rnp, q), (p,), (g,))
    _, jt = jax.jvp(lambda q: loss(jax.numpy, q), (p,), (jg,))
    close(t, jt, "jvp along a registered node")


def test_tree_namespace_reduce_transpose_is_leaf(jax) -> None:
    tree = {"a": [1.0, 2.0], "b": (3.0, {"c": 4.0})}
    assert ri.tree.leaves(tree) == jax.tree.leaves(tree)
    close(ri.tree.map(lambda v: v * 10, tree), jax.tree.map(lambda v: v * 10, tree), "tree.map")
    assert ri.tree.reduce(lambda a, b: a * b, tree) == jax.tree.reduce(lambda a, b: a * b, tree)
    assert ri.tree.reduce(lambda a, b: a + b, tree, 100.0) == 110.0
    assert ri.tree_util.tree_reduce(max, tree) == jax.tree_util.tree_reduce(max, tree)
    assert ri.tree.all(tree) and not ri.tree.all({"x": 0.0})
    leaves, td = ri.tree.flatten(tree)
    assert ri.tree.unflatten(td, leaves) == tree and ri.tree.structure(tree) == td
    is_leaf = lambda v: isinstance(v, list)  # noqa: E731
    assert ri.tree.leaves(tree, is_leaf=is_leaf) == jax.tree.leaves(tree, is_leaf=is_leaf)
    close(
        ri.tree.map(len, tree, is_leaf=lambda v: isinstance(v, (list, dict))),
        jax.tree.map(len, tree, is_leaf=lambda v: isinstance(v, (list, dict))),
        "is_leaf map",
    )
    rows = [(1.0, {"s": 2.0}), (3.0, {"s": 4.0}), (5.0, {"s": 6.0})]
    outer, inner = ri.tree.structure([0, 0, 0]), ri.tree.structure((0, {"s": 0}))
    ours = ri.tree.transpose(outer, inner, rows)
    theirs = jax.tree.transpose(
        jax.tree.structure([0, 0, 0]), jax.tree.structure((0, {"s": 0})), rows
    )
    assert ours == theirs == ([1.0, 3.0, 5.0], {"s": [2.0, 4.0, 6.0]}), f"{ours} vs {theirs}"
    with pytest.raises(TypeError, match="tree_transpose: the tree has 6 leaves"):
        ri.tree.transpose(outer, ri.tree.structure((0, 0, 0)), rows)


@given(tree=trees_st)
def test_ravel_pytree_matches_jax(jax, tree: Any) -> None:
    from jax.flatten_util import ravel_pytree as jravel

    from reference_impl.flatten_util import ravel_pytree

    flat, unravel = ravel_pytree(tree)
    jflat, junravel = jravel(tree)
    close(flat, jflat, f"ravel_pytree({tree!r})")
    close(unravel(flat * 2), junravel(jflat * 2), "unravel")


def test_unravel_is_differentiable(jax, rng) -> None:
    from jax.flatten_util import ravel_pytree as jravel

    from reference_impl.flatten_util import ravel_pytree

    params = params_tree(rng)
    x = rng.standard_normal((4, 3))
    flat, unravel = ravel_pytree(params)
    jflat, junravel = jravel(params)
    ours = ri.grad(lambda v: model(rnp, unravel(v), x))(flat)
    theirs = jax.grad(lambda v: model(jax.numpy, junravel(v), x))(jflat)
    close(ours, theirs, "grad through unravel")
    check_grads(lambda v: model(rnp, unravel(v), x), (flat,), order=2)
    with pytest.raises(ValueError, match="unravel: expected a 1-D array of length"):
        unravel(np.ones(3))
