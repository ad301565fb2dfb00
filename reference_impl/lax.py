"""``reference_impl.lax``: JAX's structured control flow, run as plain Python.

``fori_loop``, ``while_loop`` and ``cond`` exist in JAX so that ``jit`` can compile a loop or a
branch; here every call is eager, so they are the Python loop / ``if`` they describe, and
derivatives flow through them as through any Python code (``while_loop`` and ``cond`` on a
batch under ``vmap`` evaluate example by example where the examples disagree). ``scan`` is not
provided: write the loop in Python (or use ``checkpoint_chain`` to save memory).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["cond", "fori_loop", "scan", "while_loop"]


def fori_loop(lower: int, upper: int, body_fun: Callable[[int, Any], Any], init_val: Any,
              *, unroll: Any = None) -> Any:
    """``for i in range(lower, upper): val = body_fun(i, val)``; returns ``val``."""
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def while_loop(cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any],
               init_val: Any) -> Any:
    """``while cond_fun(val): val = body_fun(val)``; returns ``val``."""
    val = init_val
    while bool(cond_fun(val)):
        val = body_fun(val)
    return val


def cond(pred: Any, true_fun: Callable[..., Any], false_fun: Callable[..., Any],
         *operands: Any) -> Any:
    """``true_fun(*operands) if pred else false_fun(*operands)``."""
    return true_fun(*operands) if bool(pred) else false_fun(*operands)


def scan(f: Callable[..., Any], init: Any, xs: Any = None, length: int | None = None,
         **kwargs: Any) -> Any:
    """Not supported (deliberately): raises ``NotImplementedError`` saying what to write."""
    raise NotImplementedError(
        "reference_impl.lax.scan is not supported: this engine runs eagerly, so write the loop "
        "in Python: carry, ys = init, []; for x in xs: carry, y = f(carry, x); ys.append(y); "
        "then ys = reference_impl.numpy.stack(ys). To trade memory for recomputation over a "
        "long loop, use reference_impl.checkpoint_chain.")
