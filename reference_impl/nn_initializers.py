"""``reference_impl.nn.initializers``: ``jax.nn.initializers`` on :mod:`reference_impl.random`.

An initializer is a function ``init(key, shape, dtype=float64) -> array``; with the same key it
returns the same numbers as JAX's (to the ulp for the normal-based ones, see
:mod:`reference_impl.random`). Variance scaling (Glorot & Bengio 2010; He et al. 2015; LeCun et
al. 1998) draws with variance ``scale / n``, ``n`` the fan-in, the fan-out or their mean:
``uniform`` on ``±√(3·var)``, ``normal`` with std ``√var``, ``truncated_normal`` on (−2, 2)
with std ``√var / 0.8796…`` (the std of a standard normal truncated to (−2, 2)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import random
from .array import freeze_namespace, frozen_results

__all__ = [
    "constant",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Initializer = Callable[..., np.ndarray]


def _dtype(dtype: Any) -> np.dtype:
    return np.dtype(np.float64 if dtype is None else dtype)


def zeros(key: Any, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
    """An array of zeros (the key is not used)."""
    return np.zeros(tuple(shape), _dtype(dtype))


def ones(key: Any, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
    """An array of ones (the key is not used)."""
    return np.ones(tuple(shape), _dtype(dtype))


def constant(value: Any, dtype: Any = None) -> Initializer:
    """An initializer filling with ``value``."""

    @frozen_results
    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> np.ndarray:
        return np.full(tuple(shape), value, _dtype(dtype))

    return init


def uniform(scale: float = 1e-2, dtype: Any = None) -> Initializer:
    """Uniform on ``[0, scale)``."""

    @frozen_results
    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> np.ndarray:
        dt = _dtype(dtype)
        return random.uniform(key, shape, dt) * dt.type(scale)

    return init


def normal(stddev: float = 1e-2, dtype: Any = None) -> Initializer:
    """Normal with mean 0 and standard deviation ``stddev``."""

    @frozen_results
    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> np.ndarray:
        dt = _dtype(dtype)
        return random.normal(key, shape, dt) * dt.type(stddev)

    return init


def truncated_normal(
    stddev: float = 1e-2, dtype: Any = None, lower: float = -2.0, upper: float = 2.0
) -> Initializer:
    """``stddev`` times a standard normal truncated to ``(lower, upper)``."""

    @frozen_results
    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> np.ndarray:
        dt = _dtype(dtype)
        return random.truncated_normal(key, lower, upper, shape, dt) * dt.type(stddev)

    return init


def _fans(
    shape: tuple[int, ...], in_axis: Any, out_axis: Any, batch_axis: Any
) -> tuple[float, float]:
    """Fan-in and fan-out of a weight tensor; other axes form the receptive field."""
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(
            f"Can't compute input and output sizes of a {len(shape)}-dimensional "
            "weights tensor with default in_axis. Must be at least 2D or specify "
            "in_axis explicitly."
        )

    def size(axes: Any) -> int:
        return shape[axes] if isinstance(axes, int) else math.prod(shape[i] for i in axes)

    n_in, n_out, n_batch = size(in_axis), size(out_axis), size(batch_axis)
    receptive = math.prod(shape) / n_in / n_out / n_batch
    return n_in * receptive, n_out * receptive


def variance_scaling(
    scale: float,
    mode: str,
    distribution: str,
    in_axis: Any = -2,
    out_axis: Any = -1,
    batch_axis: Any = (),
    dtype: Any = None,
) -> Initializer:
    """Draws with variance ``scale / n``, ``n`` = fan-in, fan-out, their mean (``fan_avg``) or
    geometric mean (``fan_geo_avg``); ``distribution`` is ``truncated_normal``, ``normal`` or
    ``uniform``."""

    @frozen_results
    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> np.ndarray:
        shape, dt = tuple(int(d) for d in shape), _dtype(dtype)
        fan_in, fan_out = _fans(shape, in_axis, out_axis, batch_axis)
        denominators = {
            "fan_in": fan_in,
            "fan_out": fan_out,
            "fan_avg": (fan_in + fan_out) / 2,
            "fan_geo_avg": (fan_in * fan_out) ** 0.5,
        }
        if mode not in denominators:
            raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
        variance = np.array(scale / denominators[mode], dtype=dt)
        if distribution == "truncated_normal":
            stddev = np.sqrt(variance) / dt.type(0.87962566103423978)
            return random.truncated_normal(key, -2, 2, shape, dt) * stddev
        if distribution == "normal":
            return random.normal(key, shape, dt) * np.sqrt(variance)
        if distribution == "uniform":
            return random.uniform(key, shape, dt, -1) * np.sqrt(3 * variance)
        raise ValueError(f"invalid distribution for variance scaling initializer: {distribution}")

    return init


def _named(scale: float, mode: str, distribution: str, doc: str) -> Callable[..., Initializer]:
    def make(
        in_axis: Any = -2, out_axis: Any = -1, batch_axis: Any = (), dtype: Any = None
    ) -> Initializer:
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)

    make.__doc__ = doc
    return make


glorot_uniform = _named(1.0, "fan_avg", "uniform", "Glorot/Xavier: uniform, var 2/(in+out).")
glorot_normal = _named(
    1.0, "fan_avg", "truncated_normal", "Glorot/Xavier: truncated normal, var 2/(in+out)."
)
lecun_uniform = _named(1.0, "fan_in", "uniform", "LeCun: uniform, var 1/fan_in.")
lecun_normal = _named(1.0, "fan_in", "truncated_normal", "LeCun: truncated normal, var 1/fan_in.")
he_uniform = _named(2.0, "fan_in", "uniform", "He/Kaiming: uniform, var 2/fan_in.")
he_normal = _named(2.0, "fan_in", "truncated_normal", "He/Kaiming: truncated normal, var 2/fan_in.")
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal
freeze_namespace(globals(), __name__)  # zeros, ones: immutable results as JAX's
