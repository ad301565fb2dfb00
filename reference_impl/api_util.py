"""Argument handling shared by the transformations (argnums, dtype checks, pytrees of inputs)
and the error messages of the core."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core import Tracer, concrete, describe, shape_of
from .tree_util import (
    PyTreeDef,
    keystr,
    node_children,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_structure,
)


def fun_name(fun: Callable[..., Any]) -> str:
    return getattr(fun, "__name__", None) or getattr(fun, "name", None) or type(fun).__name__


def normalize_argnums(argnums: int | Sequence[int], nargs: int, fname: str) -> tuple[int, ...]:
    """``argnums`` as a tuple of non-negative ints; negative ones count from the end, as in JAX."""
    nums = (argnums,) if not isinstance(argnums, (tuple, list)) else tuple(argnums)
    if not nums or not all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in nums
    ):
        raise TypeError(
            f"{fname}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}"
        )
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(
                f"{fname}: argnums={argnums!r} is out of range for a call with "
                f"{nargs} positional argument(s)"
            )
    return tuple(int(a) % nargs for a in nums)


def as_float_leaf(x: Any, fname: str, where: str) -> Any:
    """Check that a value we differentiate with respect to is a float array; convert scalars.

    Raises ``TypeError`` for integer, boolean and non-numeric inputs, naming the argument, as
    JAX does (``grad(f)(1)`` is an error: write ``grad(f)(1.0)``).
    """
    if isinstance(x, Tracer):
        v = concrete(x)
        dtype = np.result_type(v)
    else:
        try:
            x = np.asarray(x)
        except Exception as exc:  # pragma: no cover - exotic objects
            raise TypeError(f"{fname}: {where} is not an array: {x!r}") from exc
        dtype = x.dtype
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.complexfloating)):
        raise TypeError(
            f"{fname} requires real- or complex-valued inputs (input dtype that is a sub-dtype "
            f"of np.inexact), but {where} has dtype {dtype}. If you want to differentiate "
            f"with respect to it, pass floats, e.g. 1.0 instead of 1, or x.astype(float)."
        )
    return x


def flatten_args(
    args: Sequence[Any], argnums: tuple[int, ...], fname: str
) -> tuple[list[Any], PyTreeDef]:
    """Flatten the differentiated arguments into checked float leaves."""
    leaves, tree = tree_flatten(tuple(args[i] for i in argnums))
    subtree_sizes = [tree_flatten(args[i])[1].num_leaves for i in argnums]
    out, k = [], 0
    for argnum, size in zip(argnums, subtree_sizes, strict=True):
        for j in range(size):
            where = f"argument {argnum}" + (f" (leaf {j})" if size > 1 else "")
            out.append(as_float_leaf(leaves[k], fname, where))
            k += 1
    return out, tree


def replace_args(args: Sequence[Any], argnums: tuple[int, ...], new: Sequence[Any]) -> tuple:
    args = list(args)
    for i, v in zip(argnums, new, strict=True):
        args[i] = v
    return tuple(args)


def split_aux(out: Any, fname: str) -> tuple[Any, Any]:
    """``(output, aux)`` from a function called with ``has_aux=True``; a clear error otherwise."""
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        v = concrete(out)
        got = (
            f"a {type(out).__name__} of length {len(out)}"
            if isinstance(out, (tuple, list))
            else f"one array of shape {np.shape(v)}"
            if isinstance(v, (np.ndarray, np.generic))
            else f"a {type(out).__name__}"
        )
        raise TypeError(
            f"{fname} with has_aux=True: the function must return a pair "
            f"(output, aux), but it returned {got}"
        )
    return out[0], out[1]


# --- vmap's in_axes / out_axes ----------------------------------------------------------------
def check_spec(spec: Any, what: str, name: str) -> None:
    for leaf in _spec_leaves(spec):
        if leaf is not None and (not isinstance(leaf, (int, np.integer)) or isinstance(leaf, bool)):
            raise TypeError(
                f"vmap({name}): {what} must be an int, None, or a (nested) "
                f"container with those types as leaves, but got {spec!r}"
            )


def _spec_leaves(spec: Any) -> list[Any]:
    """The leaves of an axis specification: ``None`` is a leaf there (not an empty node)."""
    return tree_leaves(spec, is_leaf=lambda s: s is None)


def broadcast_prefix(name: str, what: str, spec: Any, tree: Any) -> list[Any]:
    """One axis per leaf of ``tree``: ``spec`` is a pytree prefix of it (ints / None leaves);
    a node of ``spec`` (a registered class too) must match ``tree``'s node, static data
    included, and an int or ``None`` stands for every leaf below it, as in JAX."""
    if spec is None or isinstance(spec, (int, np.integer)):
        return [spec] * tree_structure(tree).num_leaves
    snode, tnode = node_children(spec), node_children(tree)
    if snode is None or tnode is None or snode[:2] != tnode[:2] or len(snode[2]) != len(tnode[2]):
        raise ValueError(
            f"vmap({name}): {what} specification must be a tree prefix of the "
            f"corresponding value, got specification {tree_structure(spec)} ({spec!r}) for "
            f"value tree {tree_structure(tree)}"
        )
    return [
        a
        for s, t in zip(snode[2], tnode[2], strict=True)
        for a in broadcast_prefix(name, what, s, t)
    ]


def flatten_with_paths(fun: Any, args: Any, kwargs: Any) -> tuple[list[str], list[Any], PyTreeDef]:
    """The leaves of ``(args, kwargs)`` (registered nodes walked through) and, for messages, a
    name for each: the parameter's name and the leaf's key path (``x[1]['w']``, ``p.w``)."""
    try:
        params = list(inspect.signature(fun).parameters)
    except (TypeError, ValueError):
        params = []
    pairs, tree = tree_flatten_with_path((tuple(args), kwargs))
    paths: list[str] = []
    for path, _ in pairs:
        if path[0].idx == 0:  # a positional argument
            i = path[1].idx
            head = params[i] if i < len(params) and "*" not in params[i] else f"args[{i}]"
        else:
            head = str(path[1].key)
        paths.append(head + keystr(path[2:]))
    return paths, [x for _, x in pairs], tree


def check_inputs(
    name: str, paths: list[str], leaves: list[Any], axes: list[Any], axis_size: int | None
) -> tuple[list[Any], list[Any], int]:
    sizes: list[tuple[int, str]] = []
    out_leaves, out_axes = [], []
    for path, x, ax in zip(paths, leaves, axes, strict=True):
        if ax is not None:
            if not isinstance(x, (np.ndarray, Tracer)):
                x = np.asarray(x)
            nd = len(shape_of(x))
            if not -nd <= ax < nd:
                raise ValueError(
                    f"vmap({name}) was requested to map its argument {path} along axis {ax}, "
                    f"which implies that its rank should be at least {ax + 1 if ax >= 0 else -ax}"
                    f", but is only {nd} (its shape is {shape_of(x)})"
                )
            ax = int(ax) % nd
            sizes.append((shape_of(x)[ax], f"axis {ax} of argument {path} of type {describe(x)}"))
        out_leaves.append(x)
        out_axes.append(ax)
    if not sizes:
        if axis_size is None:
            raise ValueError(
                f"vmap({name}) must have at least one non-None value in in_axes "
                "(or be given axis_size)"
            )
        return out_leaves, out_axes, int(axis_size)
    distinct = {n for n, _ in sizes} | ({axis_size} if axis_size is not None else set())
    if len(distinct) > 1:
        lines = [f"  * one axis had size {n}: {where}" for n, where in sizes]
        if axis_size is not None:
            lines.append(f"  * axis_size={axis_size}")
        raise ValueError(
            f"vmap({name}) got inconsistent sizes for array axes to be mapped:\n"
            + ";\n".join(lines)
        )
    return out_leaves, out_axes, sizes[0][0]
