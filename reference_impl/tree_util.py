"""Pytrees: nested tuples, lists, dicts, namedtuples, ``None`` and registered classes of arrays,
as in ``jax.tree_util``.

A pytree is split into its *leaves* (in JAX's order: dict keys sorted, children left to right)
and its *structure* (:class:`PyTreeDef`), and rebuilt from them. A class becomes a node with
:func:`register_pytree_node` (``flatten(obj) -> (children, aux)``,
``unflatten(aux, children) -> obj``) or the decorator :func:`register_pytree_node_class`
(methods ``tree_flatten`` and classmethod ``tree_unflatten``); then every transformation
(``grad``, ``vmap``, ``jvp``…) accepts and returns it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "PyTreeDef",
    "register_pytree_node",
    "register_pytree_node_class",
    "tree_all",
    "tree_flatten",
    "tree_leaves",
    "tree_map",
    "tree_reduce",
    "tree_structure",
    "tree_transpose",
    "tree_unflatten",
]

#: registered node types: type -> (flatten, unflatten)
_REGISTRY: dict[
    type, tuple[Callable[[Any], tuple[Iterable[Any], Any]], Callable[[Any, Iterable[Any]], Any]]
] = {}


def register_pytree_node(
    nodetype: type,
    flatten_func: Callable[[Any], tuple[Iterable[Any], Any]],
    unflatten_func: Callable[[Any, Iterable[Any]], Any],
) -> None:
    """Make ``nodetype`` a pytree node: ``flatten_func(x) -> (children, aux_data)`` and
    ``unflatten_func(aux_data, children) -> x`` (``aux_data`` is static: hashable, compared)."""
    if nodetype in _REGISTRY or nodetype in (tuple, list, dict, type(None)):
        raise ValueError(f"Duplicate custom PyTreeDef type registration for {nodetype}.")
    _REGISTRY[nodetype] = (flatten_func, unflatten_func)


def register_pytree_node_class(cls: type) -> type:
    """Class decorator: ``cls.tree_flatten(self) -> (children, aux)`` and the classmethod
    ``cls.tree_unflatten(aux, children)`` make ``cls`` a pytree node. Returns ``cls``."""
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


class PyTreeDef:
    """The shape of a pytree without its leaves: ``kind`` is ``leaf``, ``none``, ``tuple``,
    ``list``, ``dict``, ``namedtuple`` or ``custom``; ``meta`` holds the dict keys, the
    namedtuple type or ``(type, aux_data)`` of a registered node."""

    __slots__ = ("children", "kind", "meta", "num_leaves")

    def __init__(self, kind: str, meta: Any, children: tuple[PyTreeDef, ...]):
        self.kind, self.meta, self.children = kind, meta, children
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in children)

    @property
    def num_nodes(self) -> int:
        """Nodes of the tree, leaves included (as ``jax``'s ``PyTreeDef.num_nodes``)."""
        return 1 + sum(c.num_nodes for c in self.children)

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        """The pytree of this structure with these leaves (:func:`tree_unflatten`)."""
        return tree_unflatten(self, leaves)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PyTreeDef)
            and self.kind == other.kind
            and self.meta == other.meta
            and self.children == other.children
        )

    def __hash__(self) -> int:
        return hash((self.kind, str(self.meta), self.children))

    def __repr__(self) -> str:
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        inner = ", ".join(map(repr, self.children))
        if self.kind == "dict":
            inner = ", ".join(
                f"{k!r}: {c!r}" for k, c in zip(self.meta, self.children, strict=True)
            )
            return "{" + inner + "}"
        if self.kind == "custom":
            return f"CustomNode({self.meta[0].__name__}[{self.meta[1]!r}], [{inner}])"
        default = f"{self.meta}({inner})"  # a namedtuple
        return {"tuple": f"({inner},)", "list": f"[{inner}]"}.get(self.kind, default)


_LEAF = PyTreeDef("leaf", None, ())


def tree_flatten(
    tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[Any], PyTreeDef]:
    """Split a pytree into its list of leaves and its structure (dict keys in sorted order);
    a subtree for which ``is_leaf`` returns True is taken as one leaf."""
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves, is_leaf)


def _flatten(tree: Any, leaves: list[Any], is_leaf: Callable[[Any], bool] | None) -> PyTreeDef:
    if is_leaf is not None and is_leaf(tree):
        leaves.append(tree)
        return _LEAF
    if tree is None:
        return PyTreeDef("none", None, ())
    node = _REGISTRY.get(type(tree))
    if node is not None:
        children, aux = node[0](tree)
        return PyTreeDef(
            "custom", (type(tree), aux), tuple(_flatten(c, leaves, is_leaf) for c in children)
        )
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return PyTreeDef(
            "namedtuple", type(tree), tuple(_flatten(c, leaves, is_leaf) for c in tree)
        )
    if isinstance(tree, (tuple, list)):
        kind = "tuple" if isinstance(tree, tuple) else "list"
        return PyTreeDef(kind, None, tuple(_flatten(c, leaves, is_leaf) for c in tree))
    if isinstance(tree, dict):
        keys = tuple(sorted(tree))
        return PyTreeDef("dict", keys, tuple(_flatten(tree[k], leaves, is_leaf) for k in keys))
    leaves.append(tree)
    return _LEAF


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Inverse of :func:`tree_flatten`."""
    it = iter(leaves)
    out = _unflatten(treedef, it)
    if next(it, _SENTINEL) is not _SENTINEL:
        raise ValueError(f"too many leaves for tree structure {treedef}")
    return out


_SENTINEL = object()


def _unflatten(td: PyTreeDef, it: Any) -> Any:
    if td.kind == "leaf":
        leaf = next(it, _SENTINEL)
        if leaf is _SENTINEL:
            raise ValueError("too few leaves for tree structure")
        return leaf
    if td.kind == "none":
        return None
    children = [_unflatten(c, it) for c in td.children]
    if td.kind == "tuple":
        return tuple(children)
    if td.kind == "list":
        return children
    if td.kind == "dict":
        return dict(zip(td.meta, children, strict=True))
    if td.kind == "custom":
        nodetype, aux = td.meta
        return _REGISTRY[nodetype][1](aux, children)
    return td.meta(*children)


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """The leaves of ``tree`` in order."""
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """The structure of ``tree``."""
    return tree_flatten(tree, is_leaf)[1]


def tree_map(
    f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None
) -> Any:
    """Apply ``f`` leaf-wise to one or more pytrees of the same structure."""
    leaves, td = tree_flatten(tree, is_leaf)
    others = []
    for r in rest:
        rl, rtd = tree_flatten(r, is_leaf)
        if rtd != td:
            raise ValueError(f"tree_map: structures differ: {td} vs {rtd}")
        others.append(rl)
    return tree_unflatten(td, [f(*xs) for xs in zip(leaves, *others, strict=True)])


_MISSING = object()


def tree_reduce(
    function: Callable[[Any, Any], Any],
    tree: Any,
    initializer: Any = _MISSING,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """``functools.reduce(function, leaves(tree)[, initializer])``."""
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _MISSING:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_all(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether every leaf is truthy."""
    return all(tree_leaves(tree, is_leaf))


def tree_transpose(
    outer_treedef: PyTreeDef, inner_treedef: PyTreeDef, pytree_to_transpose: Any
) -> Any:
    """An outer structure of inner structures turned into an inner of outers
    (``[(a, b), (c, d)] → ([a, c], [b, d])``)."""
    flat, treedef = tree_flatten(pytree_to_transpose)
    n_in, n_out = inner_treedef.num_leaves, outer_treedef.num_leaves
    if treedef.num_leaves != n_in * n_out:
        raise TypeError(
            f"tree_transpose: the tree has {treedef.num_leaves} leaves, but the "
            f"outer structure {outer_treedef} of inner structures {inner_treedef} "
            f"has {n_out} × {n_in}"
        )
    rows = [flat[i * n_in : (i + 1) * n_in] for i in range(n_out)]
    return tree_unflatten(
        inner_treedef, [tree_unflatten(outer_treedef, col) for col in zip(*rows, strict=True)]
    )
