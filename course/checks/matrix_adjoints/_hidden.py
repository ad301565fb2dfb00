"""The hidden checks of this assignment: other inputs, sizes and statistics than the visible ones.

Not part of the student distribution (``course release --student`` leaves out every
``_hidden.py`` and ``_reference.py``); the package loads this module lazily when a hidden check
is called (``check.hidden_t…``), in the grader."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._core import (
    rng,
    task_check,
)
from ..finite_differences._common import Kept
from ._common import (
    T1,
    T2,
    T3,
    T4,
    T5,
)
from .t4_1 import _solve_jvp_case
from .t4_2 import _solve_vjp_case
from .t4_3 import (
    _ACCEPT_HINT,
    _WRONG_SOLVE,
    JvpFn,
    VjpFn,
    _at_tolerance,
    _dot_test_case,
    _late,
    _reject,
    _scaled,
    _solve_primals,
    course_solve_jvp,
    course_solve_vjp,
)
from .t4_4 import _svd_values_case
from .t4_5 import _svd_vjp_case


@task_check(T1, hidden=True)
def hidden_t4_1(solve_jvp: Callable) -> None:
    """Other sizes, matrices of right-hand sides, a constant A, a constant b, ill-conditioned A
    (cond 1e8; tolerances 100·κ·ε, see :func:`._common.solve_tol`); every result kept and
    compared again after the later calls."""
    kept = Kept(T1)
    _solve_jvp_case(solve_jvp, 5, None, "vector", kept=kept)
    _solve_jvp_case(solve_jvp, 5, None, "vector, second", kept=kept)
    _solve_jvp_case(solve_jvp, 4, 2, "matrix")
    _solve_jvp_case(solve_jvp, 6, 3, "constant A", zero="A")
    _solve_jvp_case(solve_jvp, 2, 1, "constant b", zero="b")
    _solve_jvp_case(solve_jvp, 4, None, "large", scale=-3e5)
    _solve_jvp_case(solve_jvp, 5, 2, "rows 1e-3…1e3", scale=np.logspace(-3, 3, 5))
    _solve_jvp_case(solve_jvp, 1, None, "1×1")
    _solve_jvp_case(solve_jvp, 5, None, "ill-conditioned, cond(A) = 1e8", kappa=1e8)
    _solve_jvp_case(solve_jvp, 4, 2, "ill-conditioned matrix b, cond(A) = 1e8", kappa=1e8)


@task_check(T2, hidden=True)
def hidden_t4_2(solve_fwd: Callable, solve_bwd: Callable) -> None:
    """Other sizes, matrices of right-hand sides, ill-conditioned A (cond 1e8; tolerances
    100·κ·ε, see :func:`._common.solve_tol`)."""
    _solve_vjp_case(solve_fwd, solve_bwd, 5, None, "vector")
    _solve_vjp_case(solve_fwd, solve_bwd, 4, 3, "matrix")
    _solve_vjp_case(solve_fwd, solve_bwd, 6, 1, "one column")
    _solve_vjp_case(solve_fwd, solve_bwd, 4, None, "small", scale=-2e-4)
    _solve_vjp_case(solve_fwd, solve_bwd, 5, 3, "rows 1e-3…1e3", scale=np.logspace(3, -3, 5))
    _solve_vjp_case(solve_fwd, solve_bwd, 1, 2, "1×1")
    _solve_vjp_case(solve_fwd, solve_bwd, 5, None, "ill-conditioned, cond(A) = 1e8", kappa=1e8)
    _solve_vjp_case(solve_fwd, solve_bwd, 4, 2, "ill-conditioned matrix b", kappa=1e8)


def _svd_values_pair(W: np.ndarray) -> tuple[JvpFn, VjpFn]:
    U, _, Vt = np.linalg.svd(W, full_matrices=False)
    return (
        (
            lambda p, t: (
                np.linalg.svd(p[0], compute_uv=False),
                np.einsum("ik,ij,jk->k", U, t[0], Vt.T),
            )
        ),
        lambda p, g: ((U * g) @ Vt,),
    )


def _matmul_pair() -> tuple[JvpFn, VjpFn]:
    return (
        lambda p, t: (p[0] @ p[1], t[0] @ p[1] + p[0] @ t[1]),
        lambda p, g: (g @ p[1].T, p[0].T @ g),
    )


def _sum_sin_pair() -> tuple[JvpFn, VjpFn]:
    return (
        lambda p, t: (np.sum(np.sin(p[0])), np.sum(np.cos(p[0]) * t[0])),
        lambda p, g: (g * np.cos(p[0]),),
    )


@task_check(T3, hidden=True)
def hidden_t4_3(dot_product_test: Callable) -> None:
    """Other functions and scales; wrong VJPs that all-ones directions, absolute tolerances or
    tangents of one input only would miss."""
    g = rng(T3, "hidden")
    W = g.normal(size=(4, 3))
    matrix = _solve_primals("matrix", 4, 2)
    vector = _solve_primals("vector", 5, None)
    big, small = 1e12, 1e-12
    accept: list[tuple[str, JvpFn, VjpFn, tuple]] = [
        ("solve with a matrix b", course_solve_jvp, course_solve_vjp, matrix),
        ("1e12 · solve (large numbers)", *_scaled(big, course_solve_jvp, course_solve_vjp), vector),
        (
            "1e-12 · solve (small numbers)",
            *_scaled(small, course_solve_jvp, course_solve_vjp),
            vector,
        ),
        ("singular values of a 4×3 matrix", *_svd_values_pair(W), (W,)),
        ("X @ Y, X 2×3, Y 3×4", *_matmul_pair(), (g.normal(size=(2, 3)), g.normal(size=(3, 4)))),
        ("sum(sin(x)), a scalar output", *_sum_sin_pair(), (g.normal(size=(5,)),)),
    ]
    for label, jvp, vjp, primals in accept:
        _dot_test_case(dot_product_test, label, jvp, vjp, primals, True, _ACCEPT_HINT)
    _dot_test_case(
        dot_product_test,
        "solve, 5 trials",
        course_solve_jvp,
        course_solve_vjp,
        vector,
        True,
        _ACCEPT_HINT,
        trials=5,
    )
    _dot_test_case(
        dot_product_test,
        "solve, a VJP wrong only in trial 4 of 4",
        course_solve_jvp,
        _late(course_solve_vjp, _WRONG_SOLVE["no-A"][1], 3),
        vector,
        False,
        "run every trial (trials = 4 here) / выполняйте все испытания (здесь trials = 4)",
        trials=4,
    )
    for factor, ok in ((0.8, True), (1.25, False)):
        _dot_test_case(
            dot_product_test,
            f"solve with Ā off by {factor}·rtol·scale (the statement's tolerance)",
            *_at_tolerance(course_solve_jvp, course_solve_vjp, factor),
            vector,
            ok,
            "the tolerance is rtol·(‖x̄‖‖Jṗ‖ + Σₖ‖x̄ₖ‖‖ṗₖ‖), both terms, as stated"
            " / допуск — rtol·(‖x̄‖‖Jṗ‖ + Σₖ‖x̄ₖ‖‖ṗₖ‖), оба слагаемых, как в условии",
        )
    for name in ("A-transposed", "x-x", "no-A", "ones-blind", "tiny-factor"):
        _reject(dot_product_test, name, vector)
    _reject(dot_product_test, "mean-cotangent", matrix)
    _reject(
        dot_product_test,
        "sign",
        vector,
        small,
        "1e-12 · solve with Ā of the wrong sign (small numbers: an absolute tolerance "
        "accepts anything)",
    )
    U, _, Vt = np.linalg.svd(W, full_matrices=False)
    jvp, _ = _svd_values_pair(W)
    _dot_test_case(
        dot_product_test,
        "singular values with W̄ = U diag(s̄) V (Vt not transposed)",
        jvp,
        lambda p, gs: ((U * gs) @ Vt.T[: len(gs)],),
        (W,),
        False,
        "compare ⟨x̄, Jṗ⟩ with ⟨Jᵀ x̄, ṗ⟩ for random ṗ and x̄"
        " / сравнивайте ⟨x̄, Jṗ⟩ с ⟨Jᵀ x̄, ṗ⟩ при случайных ṗ и x̄",
    )
    # a non-default rtol: a pair inside it is accepted, one outside rejected
    for factor, ok in ((0.5, True), (2.0, False)):
        _dot_test_case(
            dot_product_test,
            f"solve with Ā off by {factor}·rtol·scale, rtol = 1e-4 given",
            *_at_tolerance(course_solve_jvp, course_solve_vjp, factor, rtol=1e-4),
            vector,
            ok,
            "the tolerance is rtol·(‖x̄‖‖Jṗ‖ + Σₖ‖x̄ₖ‖‖ṗₖ‖) with the rtol you are given, not "
            "the default / с данным rtol, а не значением по умолчанию",
            rtol=1e-4,
        )


@task_check(T4, hidden=True)
def hidden_t4_4(svd_values_jvp: Callable, svd_values_vjp: Callable) -> None:
    """Wide matrices, full U and Vt, other sizes and signs."""
    kept = Kept(T4)
    _svd_values_case(svd_values_jvp, svd_values_vjp, 3, 5, "wide", False, kept)
    _svd_values_case(svd_values_jvp, svd_values_vjp, 6, 4, "tall full", True, kept)
    _svd_values_case(svd_values_jvp, svd_values_vjp, 2, 6, "wide full", True, kept)
    _svd_values_case(svd_values_jvp, svd_values_vjp, 5, 5, "square full", True, kept)
    _svd_values_case(svd_values_jvp, svd_values_vjp, 3, 5, "wide, second", False, kept)


@task_check(T5, hidden=True)
def hidden_t4_5(svd_vjp: Callable) -> None:
    """Tall and wide matrices (the projection terms), random cotangents, other sizes."""
    kept = Kept(T5)
    _svd_vjp_case(svd_vjp, 5, 3, "tall U", "U", kept)
    _svd_vjp_case(svd_vjp, 3, 5, "wide V", "V", kept)
    _svd_vjp_case(svd_vjp, 6, 4, "tall UV", "UV", kept)
    _svd_vjp_case(svd_vjp, 5, 5, "square random", None, kept)
    _svd_vjp_case(svd_vjp, 6, 3, "tall random", None, kept)
    _svd_vjp_case(svd_vjp, 2, 5, "wide random", None, kept)
    _svd_vjp_case(svd_vjp, 6, 3, "tall random, second", None, kept)
