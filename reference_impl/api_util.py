"""Argument handling shared by the transformations (argnums, dtype checks, pytrees of inputs)
and the error messages of the core."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core import Primitive, Tracer, concrete, describe
from .tree_util import PyTreeDef, tree_flatten


def fun_name(fun: Callable[..., Any]) -> str:
    return getattr(fun, "__name__", None) or getattr(fun, "name", None) or type(fun).__name__


def normalize_argnums(argnums: int | Sequence[int], nargs: int, fname: str) -> tuple[int, ...]:
    """``argnums`` as a tuple of non-negative ints; negative ones count from the end, as in JAX."""
    nums = (argnums,) if not isinstance(argnums, (tuple, list)) else tuple(argnums)
    if not nums or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                           for a in nums):
        raise TypeError(f"{fname}: argnums must be an int or a non-empty tuple of ints, "
                        f"got {argnums!r}")
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"{fname}: argnums={argnums!r} is out of range for a call with "
                             f"{nargs} positional argument(s)")
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


def flatten_args(args: Sequence[Any], argnums: tuple[int, ...], fname: str
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
        got = (f"a {type(out).__name__} of length {len(out)}" if isinstance(out, (tuple, list))
               else f"one array of shape {np.shape(v)}" if isinstance(v, (np.ndarray, np.generic))
               else f"a {type(out).__name__}")
        raise TypeError(f"{fname} with has_aux=True: the function must return a pair "
                        f"(output, aux), but it returned {got}")
    return out[0], out[1]


# --- error messages a person can act on ------------------------------------------------------
def plain_numpy_message(name: str, x: Tracer) -> str:
    """Like JAX's TracerArrayConversionError: say what happened and what to call instead."""
    from importlib import import_module

    module, _, attr = f"reference_impl.numpy.{name}".rpartition(".")
    try:
        available = hasattr(import_module(module), attr)
    except ImportError:
        available = False
    advice = (f"Use reference_impl.numpy.{name} (import reference_impl.numpy as rnp; "
              f"rnp.{name}) instead." if available else
              f"reference_impl.numpy has no {name}: write it with reference_impl.numpy's "
              "operations, or define a primitive with its rules (reference_impl.core.primitive, "
              "defjvp, defvjp).")
    return (f"numpy.{name} was called on a traced value ({describe(x)}) inside a function "
            f"being differentiated; NumPy cannot differentiate it. {advice} "
            "To read the value without its derivative, use reference_impl.concrete(x).")


def missing_rule(kind: str, prim: Primitive, i: int, args: Sequence[Any]
                 ) -> NotImplementedError:
    """The error for a primitive differentiated with respect to an argument it has no rule for."""
    shapes = ", ".join(describe(a) for a in args)
    register = "defjvp" if kind == "JVP" else "defvjp"
    return NotImplementedError(
        f"{kind} of primitive '{prim.name}' with respect to argument {i} is not defined "
        f"(called on {prim.name}({shapes})). Register one with "
        f"reference_impl.core.{register}(<the primitive>, <rule for argument 0>, ...), or do "
        f"not differentiate with respect to argument {i}."
    )
