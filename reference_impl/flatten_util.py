"""``ravel_pytree``: a pytree of arrays as one flat vector and back, as ``jax.flatten_util``.

``flat = concatenate([ravel(leaf) for leaf in leaves])`` (in the dtype all leaves promote to);
``unravel(flat)`` slices, reshapes and casts back to each leaf's dtype. Both directions are
made of the engine's differentiable operations, so ``grad`` flows through ``unravel`` (an
optimiser written on flat vectors can differentiate a loss of the rebuilt pytree).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .array import freeze
from .core import concrete, shape_of
from .tree_util import tree_flatten, tree_unflatten

__all__ = ["ravel_pytree"]


def _dtype(x: Any) -> np.dtype:
    v = concrete(x)
    return v.dtype if hasattr(v, "dtype") else np.result_type(v)


def ravel_pytree(pytree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """``(flat, unravel)``: the leaves of ``pytree`` raveled and concatenated into one 1-D
    array, and the function that rebuilds a pytree of the same structure from such an array."""
    from . import numpy as rnp

    leaves, treedef = tree_flatten(pytree)
    shapes = [shape_of(x) for x in leaves]
    dtypes = [_dtype(x) for x in leaves]
    sizes = [int(np.prod(s)) for s in shapes]
    out_dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    if leaves:
        flat = rnp.concatenate([rnp.ravel(rnp.asarray(x)) for x in leaves])
        if _dtype(flat) != out_dtype:
            flat = flat.astype(out_dtype)
    else:
        flat = freeze(np.zeros(0, out_dtype))
    bounds = np.cumsum([0, *sizes])

    def unravel(vec: Any) -> Any:
        if shape_of(vec) != (int(bounds[-1]),):
            raise ValueError(
                f"unravel: expected a 1-D array of length {int(bounds[-1])} (the "
                f"raveled pytree {treedef}), got shape {shape_of(vec)}"
            )
        parts = []
        for a, b, s, dt in zip(bounds[:-1], bounds[1:], shapes, dtypes, strict=True):
            part = rnp.reshape(vec[int(a) : int(b)], s)
            if _dtype(part) != dt:
                part = part.astype(dt)
            parts.append(part)
        return tree_unflatten(treedef, parts)

    return flat, unravel
