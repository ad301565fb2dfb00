"""Test configuration: float64 JAX on the CPU, a hypothesis profile for CI, seeded generators."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
# `bash scripts/test.sh --fast`: every property still runs on hypothesis inputs, fewer of them
# (CI keeps the ci profile's 15)
settings.register_profile("fast", settings.get_profile("ci"), max_examples=5)
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


#: Single tests (all their parameters) that took 12 s or more each in the ``--durations`` run
#: of COST_SECONDS (load 11, so ≥ ~4 s on a quiet machine): ``slow`` too, so that ``--fast``
#: stays a loop of minutes. Each checks something no fast test checks the same way (JAX
#: programs end to end, bit-for-bit random streams, third-order expm, …): CI runs them all.
SLOW_TESTS = frozenset(
    {
        "test_custom_rules.py::test_custom_rule_programs_match_jax",
        "test_jax_programs.py::test_program_runs_the_same_on_jax_and_the_engine",
        "test_lax.py::test_cond_and_switch_values_and_gradients",
        "test_lax.py::test_scan_pytrees_values_and_gradients",
        "test_lax.py::test_vmap_of_control_flow_matches_jax_and_does_not_fall_back",
        "test_lecture_example.py::test_demo_as_a_module",
        "test_nn.py::test_activations_values_and_derivatives",
        "test_nn.py::test_initializers_same_numbers_as_jax",
        "test_nn.py::test_softmax_family",
        "test_numpy_breadth.py::test_expm_third_order_matches_jax",
        "test_numpy_breadth_more.py::test_index_constructors_and_identity",
        "test_numpy_breadth_more.py::test_unique_matches_jax",
        "test_random.py::test_bernoulli_permutation_choice",
        "test_random.py::test_bits_and_uniform_bit_for_bit",
        "test_random.py::test_categorical_bit_for_bit",
        "test_random_gamma.py::test_dirichlet_matches_jax",  # 16 s of CPU (2026-12-07)
        "test_random_gamma.py::test_loggamma_and_beta_match_jax",  # 30 s of CPU
        "test_stats.py::test_discrete",
        "test_stats.py::test_multivariate_normal",
        "test_stats.py::test_norm",
        "test_stats.py::test_norm_ppf",
        "test_stats.py::test_t_and_uniform",
        "test_student_checks.py::test_visible_checks_work_without_hidden_and_reference",
        "test_svd.py::test_svd_second_order_matches_jax",
        "test_transforms.py::test_forward_over_reverse_hvp_and_jacobian_nesting",
        "test_vmap_api.py::test_hessian_through_vmap_and_jvp_of_vmap",
        "test_vmap_api.py::test_per_example_gradients",
    }
)

#: The op-table tests, one case per primitive (0.2–4 s of CPU each; 154 s of CPU together
#: under ``--fast``'s 5 hypothesis examples, of the loop's 416): ``--fast`` keeps one case in
#: SAMPLE_EVERY of each, by its position in the table, from a different offset per test (141
#: of the 182 primitives meet at least one of the four); the other cases are marked ``slow``.
#: CI runs every case, and ``bash scripts/test.sh tests/engine/test_primitives.py -k matmul`` (no
#: marker filter) all of one primitive's.
SAMPLE_EVERY = 4
SAMPLED_TESTS = (
    "test_primitives.py::test_matches_jax",
    "test_vmap.py::test_vmap_matches_jax",
    "test_primitives.py::test_second_order",
    "test_vmap.py::test_vmap_of_vjp_matches_jax",
)

#: Files whose tests share one expensive fixture across files (``tests/grading/lms_class.py`` grades a
#: class once per process): one xdist group, so that one worker builds it once.
SHARED_GROUPS = {
    "test_lms_export.py": "lms_class",
    "test_manual_grading.py": "lms_class",
    "test_report_html.py": "lms_class",
}

#: Seconds of the longest work units (a file, or a group of SHARED_GROUPS), fixtures included,
#: on this 2-core machine at load about 4 (2026-12-07): the file alone in one process at load
#: 2–5 (test_assignments 90, test_workflow 35, test_grader_processes 28), or at load 7–9 and
#: divided by 3, as test_workflow's two runs were (140 → 35); its CPU seconds beside.
#: ``scripts/test.sh`` hands the units to the two workers in collection order (``--dist
#: loadgroup --no-loadscope-reorder``): these first, longest first, then the rest by number of
#: tests as xdist would order them, so that no long unit with few tests starts last while the
#: other worker idles. Only the order depends on these.
COST_SECONDS = {
    "test_cluster.py": 110,  # 111 s of CPU: the local run, Dask's workers and PostgreSQL
    "test_assignments.py": 90,  # 50: every assignment's solution, release and planted bugs
    "test_hostile.py": 85,  # 61
    "test_sandbox.py": 80,  # 60, half of it the busy-machine test's 05 beside two loops
    "test_untrusted.py": 45,  # 55 (two autograde jobs)
    "test_interrupt.py": 45,  # 20, and the waits for Ctrl-C
    "test_jax_programs.py": 45,  # 28
    "test_workflow.py": 35,  # 22
    "test_lms_export.py": 35,  # + test_report_html and test_manual_grading: the LMS class
    "test_grader_processes.py": 28,  # 18
    "test_nn.py": 20,
    "test_random.py": 20,
    "test_lax.py": 15,
    "test_stats.py": 13,
    "test_lms_import.py": 10,
}


def _group(item: pytest.Item) -> str:
    return SHARED_GROUPS.get(item.path.name) or str(item.path)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook, called in the controller
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup``: one work unit per test file, or per group of SHARED_GROUPS, so that
    a module fixture (a graded class) is built by one worker, once. xdist 3.8 groups by the
    ``xdist_group`` mark through a suffix it appends to ``item._nodeid``, which pytest 9 no
    longer reads: every test became its own unit and both workers built every expensive module
    fixture (and split a notebook's cells under nbval). The units go out in collection order
    (``--no-loadscope-reorder``: see ``pytest_collection_modifyitems``)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return SHARED_GROUPS.get(Path(path).name, path)

    return FileGroups(config, log)


@pytest.hookimpl(tryfirst=True)  # before xdist's hook reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    position: dict[str, int] = {}  # the next case's position in each sampled test's table
    for item in items:
        name = getattr(item, "originalname", item.name)
        key = f"{item.path.name}::{name}"
        sampled_out = False
        if key in SAMPLED_TESTS:
            n = position[key] = position.get(key, -1) + 1
            sampled_out = (n + SAMPLED_TESTS.index(key)) % SAMPLE_EVERY != 0
        if (
            item.path.name in SLOW_FILES
            or item.path.suffix == ".ipynb"
            or key in SLOW_TESTS
            or sampled_out
        ):
            item.add_marker(pytest.mark.slow)
    files: dict[str, set[str]] = {}
    count: dict[str, int] = {}
    first: dict[str, int] = {}
    for n, item in enumerate(items):
        key = _group(item)
        files.setdefault(key, set()).add(item.path.name)
        count[key] = count.get(key, 0) + 1
        first.setdefault(key, n)
    cost = {key: sum(COST_SECONDS.get(name, 0) for name in names) for key, names in files.items()}
    items.sort(key=lambda item: (-cost[_group(item)], -count[_group(item)], first[_group(item)]))


#: SIGINT's handler before any test module was imported (an import may change it too); Python's
#: own if SIGINT came in ignored (a shell's background job, ``cmd &``, starts that way)
_SIGINT_AT_START = signal.getsignal(signal.SIGINT)
if _SIGINT_AT_START in (signal.SIG_IGN, None):
    _SIGINT_AT_START = signal.default_int_handler


@pytest.fixture(autouse=True)
def _keep_the_process_state() -> Iterator[None]:
    """What a test may leave behind in this (xdist worker) process is put back after it: the
    working directory (a relative path such as ``lectures/sanitize.cfg`` must still resolve),
    and SIGINT's handler — a child started while SIGINT is ignored ignores it too (Python
    installs no KeyboardInterrupt handler then), and four tests that interrupt a child (Ctrl-C
    of ``course``, the kernel's interrupted wait, the sleeping cell) failed in CI that way."""
    cwd, sigint = os.getcwd(), _SIGINT_AT_START
    if signal.getsignal(signal.SIGINT) is not sigint:  # changed by an import or a fixture
        signal.signal(signal.SIGINT, sigint)
    yield
    changed = []
    if os.getcwd() != cwd:
        changed.append(f"working directory {os.getcwd()}")
        os.chdir(cwd)
    if signal.getsignal(signal.SIGINT) is not sigint:
        changed.append(f"SIGINT handler {signal.getsignal(signal.SIGINT)!r}")
        signal.signal(signal.SIGINT, sigint)
    if changed and os.environ.get("COURSE_TEST_STATE_REPORT"):
        print(f"\n[this test changed: {'; '.join(changed)}]")
