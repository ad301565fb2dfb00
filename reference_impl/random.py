"""``reference_impl.random``: JAX's key-based random numbers are deliberately not provided.

Random inputs are not differentiated, so they are plain NumPy arrays: draw them with a seeded
``numpy.random.default_rng(seed)`` and pass them in. Every function of ``jax.random`` named here
raises ``NotImplementedError`` with that advice.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PRNGKey", "bernoulli", "categorical", "choice", "fold_in", "key", "normal",
           "permutation", "randint", "split", "uniform"]


def _unsupported(name: str, numpy_call: str) -> Any:
    def fn(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"reference_impl.random.{name} is not supported: reference_impl has no key-based "
            "random numbers (jax.random). Use NumPy's generator: rng = "
            f"numpy.random.default_rng(seed); {numpy_call}, and pass the arrays in.")

    fn.__name__ = name
    fn.__doc__ = f"Not supported: use ``numpy.random.default_rng(seed).{numpy_call[4:]}``."
    return fn


PRNGKey = _unsupported("PRNGKey", "rng = numpy.random.default_rng(seed)")
key = _unsupported("key", "rng = numpy.random.default_rng(seed)")
split = _unsupported("split", "rng.spawn(n) for independent streams")
fold_in = _unsupported("fold_in", "rng.spawn(1)[0]")
normal = _unsupported("normal", "rng.standard_normal(shape)")
uniform = _unsupported("uniform", "rng.uniform(low, high, shape)")
randint = _unsupported("randint", "rng.integers(low, high, shape)")
bernoulli = _unsupported("bernoulli", "rng.random(shape) < p")
categorical = _unsupported("categorical", "rng.choice(n, p=probabilities)")
choice = _unsupported("choice", "rng.choice(a, shape)")
permutation = _unsupported("permutation", "rng.permutation(x)")
