"""Test configuration: float64 JAX on the CPU, a hypothesis profile for CI, seeded generators."""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("JAX_ENABLE_X64", "1")

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=15,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
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


#: Files whose tests grade notebooks end to end (nbgrader, the sandbox, a cluster, the mutation
#: runs) or execute lectures: marked ``slow``, so ``bash scripts/test.sh --fast`` (``-m "not
#: slow"``) leaves them out. CI runs everything.
SLOW_FILES = frozenset(
    {
        "test_alternatives.py",
        "test_assignments.py",
        "test_channel_notebooks.py",
        "test_cli.py",
        "test_cluster.py",
        "test_grader_processes.py",
        "test_hostile.py",
        "test_interrupt.py",
        "test_lms_export.py",
        "test_manual_grading.py",
        "test_mutation.py",
        "test_report_html.py",
        "test_sandbox.py",
        "test_semantic_alternatives.py",
        "test_semantic_bugs.py",
        "test_semantic_mutation.py",
        "test_untrusted.py",
        "test_workflow.py",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_FILES or item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
