"""The counter-based core of :mod:`reference_impl.random`: keys and random bits, the same as JAX's.

A key is JAX's legacy raw key: a ``uint32[2]`` NumPy array (``PRNGKey(seed)`` and ``key(seed)``
both return it; ``key_data`` is the identity). Every draw hashes counters with the key by
**threefry2x32** (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"), in NumPy
``uint32`` arithmetic, following JAX's default ``jax_threefry_partitionable=True`` scheme: the
counter of element ``i`` of a draw of shape ``shape`` is the 64-bit ``i`` split in two words,
and its 32 random bits are ``hi ^ lo`` of the hash (64 bits: ``hi << 32 | lo``).

The distributions are in :mod:`reference_impl.random` (uniform, normal, discrete ones) and
:mod:`reference_impl.random_gamma` (gamma, beta, dirichlet).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "PRNGKey",
    "bits",
    "fold_in",
    "key",
    "key_data",
    "split",
    "threefry2x32",
    "wrap_key_data",
]

_U32 = np.uint32
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _rotl(x: np.ndarray, d: int) -> np.ndarray:
    return (x << _U32(d)) | (x >> _U32(32 - d))


def threefry2x32(k1: Any, k2: Any, x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The threefry2x32 hash of counter pairs ``(x1, x2)`` under key ``(k1, k2)``: 20 rounds
    of ``x0 += x1; x1 = rotl(x1, r) ^ x0`` with the key schedule injected every 4 rounds."""
    ks = (_U32(k1), _U32(k2), _U32(k1) ^ _U32(k2) ^ _U32(0x1BD11BDA))
    x = [np.asarray(x1, _U32) + ks[0], np.asarray(x2, _U32) + ks[1]]
    with np.errstate(over="ignore"):
        for i in range(5):
            for r in _ROTATIONS[i % 2]:
                x[0] = x[0] + x[1]
                x[1] = _rotl(x[1], r) ^ x[0]
            x[0] = x[0] + ks[(i + 1) % 3]
            x[1] = x[1] + ks[(i + 2) % 3] + _U32(i + 1)
    return x[0], x[1]


def _check_key(name: str, key: Any) -> np.ndarray:
    from .core import concrete

    k = np.asarray(concrete(key))
    if k.shape != (2,) or k.dtype != np.uint32:
        raise TypeError(
            f"random.{name}: expected a single key, a uint32 array of shape (2,) "
            f"(from random.PRNGKey, split or fold_in), got {k.dtype}{list(k.shape)}; "
            "to use many keys, loop over them or vmap"
        )
    return k


def PRNGKey(seed: int | Any) -> np.ndarray:
    """The raw key ``[seed >> 32, seed & 0xFFFFFFFF]`` (``uint32[2]``) of an integer seed."""
    s = np.asarray(seed)
    if s.shape or not np.issubdtype(s.dtype, np.integer):
        raise TypeError(f"PRNGKey: the seed must be a scalar integer, got {seed!r}")
    s64 = int(s) & 0xFFFFFFFFFFFFFFFF  # the int64 seed's two's-complement bits
    return np.array([s64 >> 32, s64 & 0xFFFFFFFF], dtype=_U32)


def key(seed: int | Any) -> np.ndarray:
    """Same as :func:`PRNGKey` (JAX's typed keys are represented by their raw data here)."""
    return PRNGKey(seed)


def key_data(keys: Any) -> np.ndarray:
    """The ``uint32`` data of a key: the key itself (keys are raw here)."""
    return np.asarray(keys, dtype=_U32)


def wrap_key_data(data: Any, **_: Any) -> np.ndarray:
    """A key from its ``uint32`` data: the data itself."""
    return np.asarray(data, dtype=_U32)


def _iota_2x32(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    n = np.arange(math.prod(shape), dtype=np.uint64).reshape(shape)
    return (n >> np.uint64(32)).astype(_U32), (n & np.uint64(0xFFFFFFFF)).astype(_U32)


def _shape(shape: Any) -> tuple[int, ...]:
    return (
        (int(shape),)
        if np.ndim(shape) == 0 and not isinstance(shape, tuple)
        else tuple(int(d) for d in shape)
    )


def split(key: Any, num: int | Sequence[int] = 2) -> np.ndarray:
    """``num`` new keys, shape ``(*num, 2)``: key ``i`` is the hash of counter ``i``."""
    k = _check_key("split", key)
    shape = _shape(num)
    b1, b2 = threefry2x32(k[0], k[1], *_iota_2x32(shape))
    return np.stack([b1, b2], axis=-1)


def fold_in(key: Any, data: int | Any) -> np.ndarray:
    """A new key from ``key`` and a 32-bit integer: the hash of ``PRNGKey(uint32(data))``."""
    k = _check_key("fold_in", key)
    if np.ndim(data):
        raise TypeError(f"fold_in accepts a scalar, got an array of shape {np.shape(data)}")
    d = int(np.asarray(data).astype(np.int64)) & 0xFFFFFFFF
    b1, b2 = threefry2x32(k[0], k[1], np.array([0], _U32), np.array([d], _U32))
    return np.array([b1[0], b2[0]], dtype=_U32)


def _random_bits(k: np.ndarray, bit_width: int, shape: tuple[int, ...]) -> np.ndarray:
    b1, b2 = threefry2x32(k[0], k[1], *_iota_2x32(shape))
    if bit_width == 64:
        return (b1.astype(np.uint64) << np.uint64(32)) | b2.astype(np.uint64)
    out = b1 ^ b2
    return out if bit_width == 32 else out.astype(np.dtype(f"uint{bit_width}"))


def bits(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> np.ndarray:
    """Raw random bits of an unsigned integer ``dtype`` (``uint64`` by default, as JAX's
    with ``jax_enable_x64``)."""
    dt = np.dtype(np.uint64 if dtype is None else dtype)
    if not np.issubdtype(dt, np.unsignedinteger):
        raise ValueError(f"bits: dtype must be an unsigned integer dtype, got {dt}")
    return _random_bits(_check_key("bits", key), dt.itemsize * 8, _shape(shape))


def _unit_floats(k: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Floats in [0, 1): the top mantissa bits of random words, as ``1.m − 1``."""
    info = np.finfo(dtype)
    nbits = info.bits
    udt = np.dtype(f"uint{nbits}")
    b = _random_bits(k, nbits, shape)
    one = np.array(1.0, dtype).view(udt)
    return ((b >> udt.type(nbits - info.nmant)) | one).view(dtype) - dtype.type(1.0)


def _float_dtype(name: str, dtype: Any) -> np.dtype:
    dt = np.dtype(np.float64 if dtype is None else dtype)
    if not np.issubdtype(dt, np.floating):
        raise ValueError(f"dtype argument to `{name}` must be a float dtype, got {dt}")
    return dt
