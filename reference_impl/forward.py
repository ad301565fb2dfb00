"""Forward mode: ``jvp``, ``jacfwd``, ``linearize``.

``jvp(f, (x,), (v,))`` returns ``f(x)`` and the directional derivative ``J_f(x) v`` in one pass:
every value carries its tangent, ``v̇_i = Σ_j ∂v_i/∂v_j · v̇_j``. Nothing is stored, but each pass
gives one column of the Jacobian, so ``jacfwd`` needs as many passes as there are inputs.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .api_util import (
    as_float_leaf,
    flatten_args,
    fun_name,
    normalize_argnums,
    replace_args,
    split_aux,
)
from .array import transformation
from .batching import vmap
from .core import JVPTrace, JVPTracer
from .numpy.shape_ops import reshape
from .tracers import concrete
from .tree_util import PyTreeDef, tree_flatten, tree_map, tree_unflatten

__all__ = ["jacfwd", "jvp", "linearize"]


@transformation
def jvp(
    fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False
) -> tuple[Any, ...]:
    """Evaluate ``fun(*primals)`` and its JVP ``J v`` along ``tangents``: ``(out, out_dot)``.

    With ``has_aux=True``, ``fun`` returns ``(out, aux)`` and the result is
    ``(out, out_dot, aux)``, ``aux`` not differentiated.
    """
    name = fun_name(fun)
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            f"jvp({name}): primals and tangents must be tuples or lists, got "
            f"{type(primals).__name__} and {type(tangents).__name__}"
        )
    p_leaves, p_tree = tree_flatten(tuple(primals))
    t_leaves, t_tree = tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise ValueError(
            f"jvp({name}): primals and tangents must have the same structure, got "
            f"{p_tree} and {t_tree}"
        )
    trace = JVPTrace()
    boxed = []
    for k, (p, t) in enumerate(zip(p_leaves, t_leaves, strict=True)):
        p = as_float_leaf(p, f"jvp({name})", f"primal {k}")
        t = as_float_leaf(t, f"jvp({name})", f"tangent {k}")
        ps, ts = np.shape(concrete(p)), np.shape(concrete(t))
        if ps != ts:
            raise ValueError(
                f"jvp({name}): primal {k} has shape {ps} but its tangent has shape "
                f"{ts}; each tangent must have its primal's shape"
            )
        pd, td = np.result_type(concrete(p)), np.result_type(concrete(t))
        if pd != td:
            raise TypeError(
                f"jvp({name}): primal {k} has dtype {pd} but its tangent has dtype "
                f"{td}; use a tangent of the same dtype"
            )
        boxed.append(JVPTracer(trace, p, t))
    out = fun(*tree_unflatten(p_tree, boxed))
    if has_aux:
        out, aux = split_aux(out, f"jvp({name})")
    out_leaves, out_tree = tree_flatten(out)
    vals, dots = [], []
    for o in out_leaves:
        if isinstance(o, JVPTracer) and o._trace is trace:
            vals.append(o.val)
            dots.append(o.tangent)
        else:  # the output does not depend on the inputs
            vals.append(o)
            dots.append(_zeros(o))
    if has_aux:
        aux = tree_map(
            lambda a: a.val if isinstance(a, JVPTracer) and a._trace is trace else a, aux
        )
        return tree_unflatten(out_tree, vals), tree_unflatten(out_tree, dots), aux
    return tree_unflatten(out_tree, vals), tree_unflatten(out_tree, dots)


def linearize(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """``(fun(*primals), t ↦ J t)`` (and ``aux`` with ``has_aux=True``).

    Unlike JAX, which evaluates ``fun`` once and keeps the linear map, each call of the linear
    map here re-runs ``fun`` in forward mode: the same numbers, a simpler engine.
    """
    name = f"linearize({fun_name(fun)})"
    out = fun(*primals)
    if has_aux:
        out, aux = split_aux(out, name)

    def f_jvp(*tangents: Any) -> Any:
        return jvp(fun, primals, tangents, has_aux=has_aux)[1]

    return (out, f_jvp, aux) if has_aux else (out, f_jvp)


def _jacobian_tree(out_tree: PyTreeDef, in_tree: PyTreeDef, blocks: list[list[Any]]) -> Any:
    """Arrange ``blocks[i][j]`` (∂ out_i / ∂ in_j) as JAX does: output tree of input trees."""
    return tree_unflatten(out_tree, [tree_unflatten(in_tree, row) for row in blocks])


def jacfwd(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """Jacobian by forward mode: the ``jvp`` along every input element at once (``vmap`` over
    the basis tangents), one column each."""
    name = f"jacfwd({fun_name(fun)})"

    def jacfun(*args: Any) -> Any:
        nums = normalize_argnums(argnums, len(args), name)
        leaves, arg_tree = flatten_args(args, nums, name)
        in_tree = arg_tree if isinstance(argnums, (tuple, list)) else arg_tree.children[0]

        def f_flat(*flat: Any) -> Any:
            out = fun(*replace_args(args, nums, tree_unflatten(arg_tree, flat)))
            return split_aux(out, name)[0] if has_aux else out

        # all the columns of input leaf j at once: jvp vmapped over the basis tangents e_k
        trees: list[PyTreeDef] = []

        def push(t: Any, j: int) -> list[Any]:
            tangents = [_zeros(leaf) for leaf in leaves]
            tangents[j] = t
            dot_leaves, tree = tree_flatten(jvp(f_flat, leaves, tangents)[1])
            trees.append(tree)
            return dot_leaves

        columns = [_vmap_basis(functools.partial(push, j=j), x, -1) for j, x in enumerate(leaves)]
        if not trees:  # no input elements at all: one plain call gives the output shapes
            out_leaves, out_tree = tree_flatten(f_flat(*leaves))
        else:
            out_tree = trees[0]
            out_leaves = next(c for c in columns if c)
        out_shapes = [np.shape(concrete(o))[: None if not trees else -1] for o in out_leaves]
        blocks = [
            [
                _stack_columns(
                    columns[j][i] if columns[j] else [], out_shapes[i], np.shape(concrete(x))
                )
                for j, x in enumerate(leaves)
            ]
            for i in range(out_tree.num_leaves)
        ]
        jac = _jacobian_tree(out_tree, in_tree, blocks)
        return (jac, fun(*args)[1]) if has_aux else jac

    jacfun.__name__ = f"jacfwd_{fun_name(fun)}"
    return transformation(jacfun)


def _stack_columns(cols: Any, out_shape: tuple[int, ...], in_shape: tuple[int, ...]) -> Any:
    """Columns ∂out/∂x_e (stacked on the last axis) → an array of shape out_shape + in_shape."""
    if isinstance(cols, list) and not cols:
        return np.zeros(out_shape + in_shape)
    return reshape(cols, out_shape + in_shape)


def _zeros(x: Any) -> np.ndarray:
    """Zeros of ``x``'s shape and (float) dtype."""
    v = concrete(x)
    return np.zeros(np.shape(v), np.result_type(v, np.float16))


def _basis(x: Any, e: int) -> np.ndarray:
    """The ``e``-th standard basis element of ``x``'s space (row-major order), in its dtype."""
    b = _zeros(x)
    b.reshape(-1)[e] = 1.0
    return b


def _vmap_basis(fun: Callable[[Any], list[Any]], x: Any, out_axis: int) -> list[Any]:
    """``vmap(fun)`` over the standard basis of ``x``'s space (empty list if it has none)."""
    n = int(np.size(concrete(x)))
    if n == 0:
        return []
    zero = _zeros(x)
    eye = np.eye(n, dtype=zero.dtype).reshape((n, *zero.shape))
    with warnings.catch_warnings():  # a loop over the basis, if it comes to that, is fine here
        warnings.simplefilter("ignore", RuntimeWarning)
        return list(vmap(fun, out_axes=out_axis)(eye))
