"""``jit``: a documented no-op, so that code written for JAX runs unchanged.

JAX's ``jit`` traces a function once into a program that XLA compiles; this engine is an eager
interpreter with nothing to compile, so ``jit(f)`` is ``f`` (every call runs Python as usual:
printing, Python control flow and NumPy calls on concrete values behave as without ``jit``).
The arguments of ``jax.jit`` are accepted and checked for their types, not used.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["jit"]


def jit(
    fun: Callable[..., Any] | None = None,
    *,
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
    donate_argnums: Any = (),
    donate_argnames: Any = (),
    **options: Any,
) -> Any:
    """``fun`` itself, wrapped (``jax.jit``'s signature; usable as ``@jit`` and
    ``@partial(jit, static_argnums=…)``). Nothing is compiled or cached."""
    for name, value in (("static_argnums", static_argnums), ("donate_argnums", donate_argnums)):
        nums = (value,) if isinstance(value, int) else tuple(value)
        if not all(isinstance(n, int) for n in nums):
            raise TypeError(f"jit: {name} must be an int or a sequence of ints, got {value!r}")
    if fun is None:
        return functools.partial(
            jit,
            static_argnums=static_argnums,
            static_argnames=static_argnames,
            donate_argnums=donate_argnums,
            donate_argnames=donate_argnames,
            **options,
        )
    if not callable(fun):
        raise TypeError(f"jit: expected a function, got {type(fun).__name__}")

    @functools.wraps(fun)
    def jitted(*args: Any, **kwargs: Any) -> Any:
        return fun(*args, **kwargs)

    jitted.__doc__ = fun.__doc__
    return jitted
