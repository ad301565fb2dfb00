"""Pytrees: nested tuples, lists and dicts (and ``None``) of arrays, as in ``jax.tree_util``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["PyTreeDef", "tree_flatten", "tree_leaves", "tree_map", "tree_structure",
           "tree_unflatten"]


class PyTreeDef:
    """The shape of a pytree without its leaves: ``kind`` is ``leaf``, ``none``, ``tuple``,
    ``list``, ``dict`` or ``namedtuple``; ``meta`` holds dict keys or the namedtuple type."""

    __slots__ = ("children", "kind", "meta", "num_leaves")

    def __init__(self, kind: str, meta: Any, children: tuple[PyTreeDef, ...]):
        self.kind, self.meta, self.children = kind, meta, children
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in children)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, PyTreeDef) and self.kind == other.kind
                and self.meta == other.meta and self.children == other.children)

    def __hash__(self) -> int:
        return hash((self.kind, str(self.meta), self.children))

    def __repr__(self) -> str:
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        inner = ", ".join(map(repr, self.children))
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.meta, self.children,
                                                              strict=True))
            return "{" + inner + "}"
        default = f"{self.meta}({inner})"  # a namedtuple
        return {"tuple": f"({inner},)", "list": f"[{inner}]"}.get(self.kind, default)


_LEAF = PyTreeDef("leaf", None, ())


def tree_flatten(tree: Any) -> tuple[list[Any], PyTreeDef]:
    """Split a pytree into its list of leaves and its structure (dict keys in sorted order)."""
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree: Any, leaves: list[Any]) -> PyTreeDef:
    if tree is None:
        return PyTreeDef("none", None, ())
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return PyTreeDef("namedtuple", type(tree), tuple(_flatten(c, leaves) for c in tree))
    if isinstance(tree, (tuple, list)):
        kind = "tuple" if isinstance(tree, tuple) else "list"
        return PyTreeDef(kind, None, tuple(_flatten(c, leaves) for c in tree))
    if isinstance(tree, dict):
        keys = tuple(sorted(tree))
        return PyTreeDef("dict", keys, tuple(_flatten(tree[k], leaves) for k in keys))
    leaves.append(tree)
    return _LEAF


def tree_unflatten(treedef: PyTreeDef, leaves: Any) -> Any:
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
    return td.meta(*children)


def tree_leaves(tree: Any) -> list[Any]:
    return tree_flatten(tree)[0]


def tree_structure(tree: Any) -> PyTreeDef:
    return tree_flatten(tree)[1]


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``f`` leaf-wise to one or more pytrees of the same structure."""
    leaves, td = tree_flatten(tree)
    others = []
    for r in rest:
        rl, rtd = tree_flatten(r)
        if rtd != td:
            raise ValueError(f"tree_map: structures differ: {td} vs {rtd}")
        others.append(rl)
    return tree_unflatten(td, [f(*xs) for xs in zip(leaves, *others, strict=True)])
