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

import dataclasses
import functools
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "DictKey",
    "FlattenedIndexKey",
    "GetAttrKey",
    "PyTreeDef",
    "SequenceKey",
    "keystr",
    "register_pytree_node",
    "register_pytree_node_class",
    "tree_all",
    "tree_flatten",
    "tree_flatten_with_path",
    "tree_leaves",
    "tree_leaves_with_path",
    "tree_map",
    "tree_map_with_path",
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
    # cls must define the classmethod tree_unflatten (the documented contract); type does not
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)  # type: ignore[attr-defined]
    return cls


class PyTreeDef:
    """The shape of a pytree without its leaves: ``kind`` is ``leaf``, ``none``, ``tuple``,
    ``list``, ``dict``, ``namedtuple`` or ``custom``; ``meta`` holds the dict keys, the
    namedtuple type or ``(type, aux_data)`` of a registered node."""

    __slots__ = ("children", "kind", "meta", "num_leaves")

    def __init__(self, kind: str, meta: Any, children: tuple[PyTreeDef, ...]):
        self.kind, self.meta, self.children = kind, meta, children
        self.num_leaves: int = 1 if kind == "leaf" else sum(c.num_leaves for c in children)

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


def node_children(x: Any) -> tuple[str, Any, tuple[Any, ...]] | None:
    """One level of the pytree ``x``: ``(kind, meta, children)`` as in :class:`PyTreeDef`, or
    ``None`` when ``x`` is a leaf (a registered class is asked for its children)."""
    if x is None:
        return "none", None, ()
    node = _REGISTRY.get(type(x))
    if node is not None:
        children, aux = node[0](x)
        return "custom", (type(x), aux), tuple(children)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return "namedtuple", type(x), tuple(x)
    if isinstance(x, (tuple, list)):
        return ("tuple" if isinstance(x, tuple) else "list"), None, tuple(x)
    if isinstance(x, dict):
        keys = tuple(sorted(x))
        return "dict", keys, tuple(x[k] for k in keys)
    return None


def _flatten(tree: Any, leaves: list[Any], is_leaf: Callable[[Any], bool] | None) -> PyTreeDef:
    if is_leaf is not None and is_leaf(tree):
        leaves.append(tree)
        return _LEAF
    node = node_children(tree)
    if node is None:
        leaves.append(tree)
        return _LEAF
    kind, meta, children = node
    return PyTreeDef(kind, meta, tuple(_flatten(c, leaves, is_leaf) for c in children))


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


# --- key paths (``jax.tree_util.tree_flatten_with_path``) ------------------------------------
@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """The position of a child of a tuple or list: ``[idx]``."""

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True)
class DictKey:
    """The key of a child of a dict: ``[key]``."""

    key: Any

    def __str__(self) -> str:
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """The field of a child of a namedtuple: ``.name``."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    """The position of a child among a registered node's children: ``[<flat index i>]``."""

    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


KeyPath = tuple[Any, ...]


def _keys(kind: str, meta: Any, n: int) -> list[Any]:
    if kind == "dict":
        return [DictKey(k) for k in meta]
    if kind == "namedtuple":
        return [GetAttrKey(f) for f in meta._fields]
    if kind == "custom":
        return [FlattenedIndexKey(i) for i in range(n)]
    return [SequenceKey(i) for i in range(n)]


def tree_flatten_with_path(
    tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[tuple[KeyPath, Any]], PyTreeDef]:
    """``([(key_path, leaf), ...], treedef)``: each leaf with the keys leading to it, in the
    order of :func:`tree_flatten` (a key path prints with :func:`keystr`)."""
    out: list[tuple[KeyPath, Any]] = []

    def walk(x: Any, path: KeyPath) -> None:
        node = None if is_leaf is not None and is_leaf(x) else node_children(x)
        if node is None:
            out.append((path, x))
            return
        kind, meta, children = node
        for key, c in zip(_keys(kind, meta, len(children)), children, strict=True):
            walk(c, (*path, key))

    walk(tree, ())
    return out, tree_structure(tree, is_leaf)


def tree_leaves_with_path(
    tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> list[tuple[KeyPath, Any]]:
    """The ``(key_path, leaf)`` pairs of ``tree``."""
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(
    f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None
) -> Any:
    """``f(key_path, leaf, *other_leaves)`` leaf-wise, as :func:`tree_map`."""
    pairs, td = tree_flatten_with_path(tree, is_leaf)
    others = []
    for r in rest:
        rl, rtd = tree_flatten(r, is_leaf)
        if rtd != td:
            raise ValueError(f"tree_map_with_path: structures differ: {td} vs {rtd}")
        others.append(rl)
    paths = [p for p, _ in pairs]
    leaves = [x for _, x in pairs]
    return tree_unflatten(td, [f(*xs) for xs in zip(paths, leaves, *others, strict=True)])


def keystr(keys: KeyPath) -> str:
    """A key path as text: ``keystr((DictKey('a'), SequenceKey(0))) == "['a'][0]"``."""
    return "".join(str(k) for k in keys)
