"""pytest plugin for scripts/peer_tests.sh: skips autograd's tests of what reference_impl
deliberately does not have (each with its reason) and resets the alias's per-test state."""

from __future__ import annotations

import pytest
from autograd import test_util

SKIP = {
    "test_real_ic": "real_if_close is NumPy-only (not in jax.numpy)",
    # autograd-only helpers and behaviour
    "test_make_diagonal": "make_diagonal is autograd-only (not in jax.numpy)",
    "test_row_stack_1d": "row_stack is not in jax.numpy (removed in JAX 0.4.x; use vstack)",
    "test_row_stack_2d": "row_stack is not in jax.numpy (removed in JAX 0.4.x; use vstack)",
    "test_msort": "msort was removed from NumPy 2 and is not in jax.numpy",
    "test_rfftn_odd_not_implemented": "asserts autograd's own limitation (no rfftn gradient "
    "for odd sizes); JAX and reference_impl have it",
    "test_cast_to_int": "np.int64 used as a converter of traced values (autograd-only)",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        reason = SKIP.get(item.originalname or item.name)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _reset_alias_state() -> None:
    test_util.state["real_checks"] = 0
