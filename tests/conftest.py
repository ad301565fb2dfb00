"""Test configuration: float64 JAX on the CPU, a hypothesis profile for CI, seeded generators."""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("JAX_ENABLE_X64", "1")

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", deadline=None, max_examples=15, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so that every failure can be reproduced."""
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def jax_x64():
    """JAX with float64 enabled (imported lazily: tests that do not need it stay fast)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax
