"""Checks of task 4.1: the JVP of solve, one factorisation for x and ẋ."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import reference_impl as ri
import reference_impl.numpy as rnp

from .._core import (
    direction,
    fail,
    student_call,
    task_check,
)
from ..finite_differences._common import Kept
from ._common import (
    T1,
    Watch,
    _compare,
    _copies,
    _names,
    _pair,
    _solve_problem,
    _unchanged,
    close_to,
    solve_tol,
)


def _with_cond(saved: dict[str, Any], A: np.ndarray, tol: float | None) -> dict[str, Any]:
    """The inputs of a message; for an ill-conditioned A, its condition number too."""
    return dict(saved) if tol is None else {**saved, "cond(A)": float(np.linalg.cond(A))}


# ---------------------------------------------------------------------------------------------
# task 4.1: the JVP of solve
# ---------------------------------------------------------------------------------------------
_JVP_HINT = (
    "differentiate A x = b: Ȧ x + A ẋ = ḃ, so ẋ = A⁻¹(ḃ − Ȧ x); with the factors: "
    "lu_solve(lu, b_dot - A_dot @ x)"
    " / продифференцируйте A x = b: ẋ = A⁻¹(ḃ − Ȧ x), с готовыми множителями LU"
)


def _solve_jvp_case(
    solve_jvp: Callable,
    n: int,
    k: int | None,
    seed: object,
    zero: str = "",
    scale: Any = 1.0,
    kept: Kept | None = None,
    kappa: float | None = None,
) -> None:
    A, b, g = _solve_problem(T1, n, k, seed, scale, kappa)
    tol = solve_tol(A) if kappa else None  # the other cases: elementwise, as before
    dA = np.zeros((n, n)) if zero == "A" else direction(g, (n, n))
    db = np.zeros(b.shape) if zero == "b" else direction(g, b.shape)
    given, saved = _copies(A=A, b=b, A_dot=dA, b_dot=db)
    inputs = _with_cond(saved, A, tol)
    watch = Watch()
    out = student_call(
        T1,
        "solve_jvp((A, b), (A_dot, b_dot))",
        watch.wrap(solve_jvp),
        (given["A"], given["b"]),
        (given["A_dot"], given["b_dot"]),
        inputs=inputs,
        hint=_JVP_HINT,
    )
    x, x_dot = _pair(T1, "solve_jvp", out, inputs, "(x, x_dot)")
    x_ref, x_dot_ref = ri.jvp(rnp.linalg.solve, (A, b), (dA, db))
    close_to(
        T1,
        "x = A⁻¹ b",
        x,
        x_ref,
        inputs=inputs,
        hint="x = lu_solve(lu_factor(A), b), of the shape of b"
        " / x = lu_solve(lu_factor(A), b), формы b",
        tol=tol,
    )
    inv = np.linalg.inv(A)
    rhs = db - dA @ x_ref
    _compare(
        T1,
        "ẋ",
        x_dot,
        x_dot_ref,
        inputs=inputs,
        hint=_JVP_HINT,
        tol=tol,
        wrong=[
            ("A⁻¹(Ȧ x − ḃ)", -x_dot_ref, "wrong sign: " + _JVP_HINT),
            (
                "A⁻¹ ḃ",
                inv @ db,
                "the term −A⁻¹ Ȧ x is missing (A depends on the input too): "
                " / пропущено слагаемое −A⁻¹ Ȧ x (A тоже зависит от входа); " + _JVP_HINT,
            ),
            (
                "−A⁻¹ Ȧ x",
                -inv @ dA @ x_ref,
                "the term A⁻¹ ḃ is missing:  / пропущено слагаемое A⁻¹ ḃ; " + _JVP_HINT,
            ),
            (
                "A⁻ᵀ(ḃ − Ȧ x)",
                inv.T @ rhs,
                "A⁻ᵀ instead of A⁻¹: solve with A, trans=0 / A⁻ᵀ вместо A⁻¹: решайте с A, trans=0",
            ),
            ("A⁻¹(ḃ − Ȧᵀ x)", inv @ (db - dA.T @ x_ref), "Ȧᵀ x instead of Ȧ x / Ȧᵀ x вместо Ȧ x"),
            (
                "ḃ − Ȧ x",
                rhs,
                "multiply by A⁻¹ (one more lu_solve with the same factors)"
                " / умножьте на A⁻¹ (ещё один lu_solve с теми же множителями)",
            ),
        ],
    )
    facs = watch.factorisations
    if len(facs) != 1:
        fail(
            T1,
            f"solve_jvp made {len(facs)} factorisations ({_names(facs)}); x and ẋ need "
            "exactly one: lu_factor(A), then two solves with the same factors"
            f" / solve_jvp выполнила {len(facs)} разложений; x и ẋ нужно ровно одно: "
            "lu_factor(A), затем два решения с теми же множителями",
            inputs=inputs,
            expected=1,
            obtained=len(facs),
            hint="factorise A once; do not call np.linalg.solve / inv (each factorises again)"
            " / раскладывайте A один раз; не вызывайте np.linalg.solve / inv (каждый "
            "раскладывает заново)",
        )
    _unchanged(T1, "solve_jvp", given, saved, inputs)
    if kept is not None:
        kept.recheck("solve_jvp on another system")
        kept.keep(f"solve_jvp((A, b), (A_dot, b_dot)) ({seed})", out)


@task_check(T1)
def t4_1(solve_jvp: Callable) -> None:
    """Two 3×3 systems with a vector right-hand side (the first result kept)."""
    kept = Kept(T1)
    _solve_jvp_case(solve_jvp, 3, None, "visible", kept=kept)
    _solve_jvp_case(solve_jvp, 3, None, "visible, second system", kept=kept)
