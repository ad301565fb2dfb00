"""Hypothesis strategies shared by the test suite (MiniTorch style: one module)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# moderate magnitudes keep finite differences and float64 comparisons meaningful
small_floats = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False, width=64)
positive_floats = st.floats(0.2, 3.0, allow_nan=False, allow_infinity=False, width=64)


def shapes(min_dims: int = 0, max_dims: int = 3, max_side: int = 4) -> st.SearchStrategy:
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


@st.composite
def arrays(
    draw: st.DrawFn,
    shape: tuple[int, ...] | None = None,
    positive: bool = False,
    min_dims: int = 0,
    max_dims: int = 3,
) -> np.ndarray:
    """A float64 array with values in [-3, 3] (or [0.2, 3] when ``positive``)."""
    if shape is None:
        shape = draw(shapes(min_dims, max_dims))
    elements = positive_floats if positive else small_floats
    return draw(hnp.arrays(np.float64, shape, elements=elements))


@st.composite
def distinct_arrays(
    draw: st.DrawFn,
    shape: tuple[int, ...] | None = None,
    gap: float = 1e-3,
    min_dims: int = 0,
    max_dims: int = 3,
) -> np.ndarray:
    """Arrays whose entries are pairwise ≥ ``gap`` apart (no ties for max/min/sort-like ops)."""
    if shape is None:
        shape = draw(shapes(min_dims, max_dims))
    n = int(np.prod(shape))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    values = rng.permutation(np.linspace(-3.0, 3.0, max(n, 2)))[:n]
    values = values + rng.uniform(-gap / 4, gap / 4, size=n)
    return values.reshape(shape)


seeds = st.integers(0, 2**32 - 1)


def broadcastable_pair(max_dims: int = 3) -> st.SearchStrategy:
    """Two shapes that broadcast against each other."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=max_dims, min_side=1, max_side=4
    )


def well_conditioned(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random n×n matrix with condition number O(1): ``randn(n, n) + n·I`` scaled."""
    return rng.standard_normal((n, n)) + n * np.eye(n)


def spd(rng: np.random.Generator, n: int) -> np.ndarray:
    """A symmetric positive definite matrix with eigenvalues in [1, 1 + n]."""
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * rng.uniform(1.0, 1.0 + n, size=n)) @ q.T
