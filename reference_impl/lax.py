"""``reference_impl.lax``: JAX's structured control flow, run as plain Python loops.

``scan``, ``fori_loop``, ``while_loop``, ``cond``, ``switch`` and ``map`` exist in JAX so that
``jit`` can compile a loop or a branch; this engine is eager, so each is the Python loop or
``if`` it describes, and derivatives flow through it as through any Python code (a ``scan``
differentiated in reverse mode keeps every step's values on the tape, as JAX's scan keeps its
carries). JAX's rules are kept where a program can observe them:

* ``scan``/``fori_loop``/``cond``/``switch`` work in forward and reverse mode;
* ``while_loop`` works in forward mode, and in reverse mode raises, as JAX does (its trip count
  is not known in advance; use ``scan`` or ``fori_loop`` with a fixed trip count);
* the carry of ``scan``/``while_loop``/``fori_loop`` must keep its structure and shapes;
* under ``vmap`` a predicate that differs between examples makes ``cond``/``switch`` evaluate
  every branch and select per example, and ``while_loop`` run until every example is done,
  freezing the finished ones (JAX's batching of these primitives).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core import VJPTracer
from .lax_primitives import (
    dynamic_index_in_dim,
    dynamic_slice,
    dynamic_slice_in_dim,
    dynamic_update_slice,
    stop_gradient,
)
from .numpy.elementwise import clip, where
from .numpy.shape_ops import stack
from .tracers import Tracer, concrete, shape_of
from .tree_util import tree_flatten, tree_map, tree_unflatten

# ``lax``'s primitives (``stop_gradient``, ``dynamic_slice``…) live beside the other primitives,
# in ``lax_primitives``; they are part of this namespace too
__all__ = [
    "cond",
    "dynamic_index_in_dim",
    "dynamic_slice",
    "dynamic_slice_in_dim",
    "dynamic_update_slice",
    "fori_loop",
    "map",
    "scan",
    "stop_gradient",
    "switch",
    "while_loop",
]


def _check_carry(name: str, before: Any, after: Any) -> None:
    """The carry must keep its pytree structure and leaf shapes from one step to the next."""
    b_leaves, b_tree = tree_flatten(before)
    a_leaves, a_tree = tree_flatten(after)
    if b_tree != a_tree:
        raise TypeError(
            f"{name}: the body function's carry output has structure {a_tree}, "
            f"but its input carry has structure {b_tree}; they must be the same"
        )
    for k, (b, a) in enumerate(zip(b_leaves, a_leaves, strict=True)):
        if shape_of(b) != shape_of(a):
            raise TypeError(
                f"{name}: carry leaf {k} changed shape from {shape_of(b)} to "
                f"{shape_of(a)} in one step; the carry must keep its shapes"
            )


def _stack(rows: list[Any]) -> Any:
    if any(isinstance(r, Tracer) for r in rows):
        return stack(rows)
    return np.stack([np.asarray(r) for r in rows])


def scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any = None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
    _split_transpose: bool = False,
) -> tuple[Any, Any]:
    """Loop ``carry, y_i = f(carry, x_i)`` over the leading axis of the pytree ``xs``;
    returns ``(carry, ys)`` with the ``y_i`` stacked along a new leading axis.

    Without ``xs``, ``length`` steps with ``x = None``; ``reverse=True`` runs from the last
    index to the first (``ys[i]`` still belongs to ``xs[i]``). ``unroll`` is accepted, unused.
    """
    x_leaves, x_tree = tree_flatten(xs)
    leading = {shape_of(x)[0] if shape_of(x) else None for x in x_leaves}
    if None in leading:
        raise ValueError(
            "scan got an xs leaf with no leading axis (a scalar); every leaf of xs "
            "must be an array with a leading axis to scan over"
        )
    lengths = {k for k in leading if k is not None}
    if length is not None:
        lengths.add(int(length))
    if len(lengths) > 1:
        raise ValueError(
            f"scan got inconsistent lengths: the leading axes of xs and length are "
            f"{sorted(lengths)}; they must all be equal"
        )
    if not lengths:
        raise ValueError("scan got no xs to scan over and no length: pass length=n")
    n = lengths.pop()
    carry = init
    ys: list[Any] = [None] * n
    order = range(n - 1, -1, -1) if reverse else range(n)
    for i in order:
        x = tree_unflatten(x_tree, [x[i] for x in x_leaves]) if x_leaves else xs
        out = f(carry, x)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError(
                f"scan body function must return a pair (carry, y), got {type(out).__name__}"
            )
        _check_carry("scan", carry, out[0])
        carry, ys[i] = out
    if n == 0:  # evaluate f once on zeros to learn the shapes of y (JAX traces abstractly)
        zeros = tree_map(lambda a: np.zeros(shape_of(a)[1:], np.result_type(concrete(a))), xs)
        _, y = f(init, zeros if x_leaves else xs)
        return carry, tree_map(
            lambda a: np.zeros((0, *shape_of(a)), np.result_type(concrete(a))), y
        )
    y_trees = [tree_flatten(y) for y in ys]
    y_tree = y_trees[0][1]
    for k, (_, t) in enumerate(y_trees):
        if t != y_tree:
            raise TypeError(
                f"scan: the body's y at step {k} has structure {t}, at step 0 "
                f"{y_tree}; it must be the same at every step"
            )
    columns = [_stack([leaves[j] for leaves, _ in y_trees]) for j in range(y_tree.num_leaves)]
    return carry, tree_unflatten(y_tree, columns)


def fori_loop(
    lower: int,
    upper: int,
    body_fun: Callable[[int, Any], Any],
    init_val: Any,
    *,
    unroll: Any = None,
) -> Any:
    """``for i in range(lower, upper): val = body_fun(i, val)``; returns ``val``.

    The trip count is known, so it is differentiable in both modes (JAX lowers it to ``scan``).
    """
    val = init_val
    for i in range(int(lower), int(upper)):
        new = body_fun(i, val)
        _check_carry("fori_loop", val, new)
        val = new
    return val


def _on_tape(tree: Any) -> bool:
    """Whether a leaf of ``tree`` is being differentiated in reverse mode (at any level)."""
    for leaf in tree_flatten(tree)[0]:
        x = leaf
        while isinstance(x, Tracer):
            if isinstance(x, VJPTracer):
                return True
            x = x.val
    return False


_WHILE_REVERSE = (
    "Reverse-mode differentiation does not work for lax.while_loop: its trip "
    "count is not known in advance (as in JAX). Use lax.scan, or lax.fori_loop "
    "with a fixed trip count, to differentiate a loop in reverse mode; forward "
    "mode (jvp, jacfwd) works with while_loop."
)


def _batched(pred: Any) -> Any:
    """The batch of predicates under ``vmap`` (a batch tracer), or ``None`` for one value."""
    c = concrete(pred)
    return c if isinstance(c, Tracer) else None


def while_loop(
    cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any], init_val: Any
) -> Any:
    """``while cond_fun(val): val = body_fun(val)``; returns ``val``.

    Forward-mode differentiable; reverse mode raises ``ValueError`` as JAX does."""
    if _on_tape(init_val):
        raise ValueError(_WHILE_REVERSE)
    val = init_val
    while True:
        pred = cond_fun(val)
        batch = _batched(pred)
        if batch is None:
            if not bool(pred):
                break
            new = body_fun(val)
        else:  # vmap: step the examples still running, freeze the others
            if not bool(np.any(np.asarray(concrete(batch.val)))):
                break
            stepped = body_fun(val)
            _check_carry("while_loop", val, stepped)
            new = tree_map(lambda a, b, m=batch: where(m, a, b), stepped, val)
        _check_carry("while_loop", val, new)
        val = new
        if _on_tape(val):  # the body closes over a value differentiated in reverse mode
            raise ValueError(_WHILE_REVERSE)
    return val


def cond(
    pred: Any,
    true_fun: Callable[..., Any],
    false_fun: Callable[..., Any],
    *operands: Any,
    operand: Any = None,
) -> Any:
    """``true_fun(*operands) if pred else false_fun(*operands)`` (``pred`` a scalar).

    Under ``vmap`` with a predicate that differs between examples, both branches run and the
    result is selected per example, ``where(pred, true_fun(...), false_fun(...))``."""
    if operand is not None:
        operands = (operand,)
    if shape_of(concrete(pred)) != ():
        raise TypeError(f"cond: pred must be a scalar, got shape {shape_of(pred)}")
    batch = _batched(pred)
    if batch is None:
        return true_fun(*operands) if bool(pred) else false_fun(*operands)
    return _select([batch != 0, batch == 0], [true_fun(*operands), false_fun(*operands)])


def _select(masks: list[Any], outs: list[Any]) -> Any:
    """Per example, the output whose mask holds (the masks are exclusive)."""
    trees = [tree_flatten(o) for o in outs]
    for k, (_, t) in enumerate(trees):
        if t != trees[0][1]:
            raise TypeError(
                f"branch {k} returned structure {t}, branch 0 {trees[0][1]}; all "
                "branches must return the same structure"
            )
    result = list(trees[-1][0])
    for mask, (leaves, _) in zip(masks[-2::-1], trees[-2::-1], strict=True):
        result = [where(mask, a, b) for a, b in zip(leaves, result, strict=True)]
    return tree_unflatten(trees[0][1], result)


def switch(
    index: Any, branches: Sequence[Callable[..., Any]], *operands: Any, operand: Any = None
) -> Any:
    """``branches[clamp(index, 0, n − 1)](*operands)``, as ``lax.switch`` (the index is
    clamped, not wrapped). Under ``vmap`` with differing indices every branch runs and the
    result is selected per example."""
    if operand is not None:
        operands = (operand,)
    n = len(branches)
    if n == 0:
        raise ValueError("switch: branches must be a non-empty sequence of functions")
    batch = _batched(index)
    if batch is None:
        i = int(concrete(index))
        return branches[builtins.min(builtins.max(i, 0), n - 1)](*operands)

    idx = clip(batch, 0, n - 1)
    return _select([idx == k for k in range(n)], [b(*operands) for b in branches])


def map(f: Callable[[Any], Any], xs: Any, *, batch_size: int | None = None) -> Any:
    """``stack([f(x) for x in xs])`` over the leading axis of the pytree ``xs``
    (``lax.map``; ``batch_size`` changes only how JAX schedules it, not the result)."""
    if batch_size is not None and int(batch_size) <= 0:
        raise ValueError(f"map: batch_size must be positive, got {batch_size}")
    return scan(lambda _, x: ((), f(x)), (), xs)[1]
