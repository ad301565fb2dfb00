"""Checks of task 4.2: the VJP of solve, reusing the forward pass's factorisation."""

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
    T2,
    Watch,
    _compare,
    _copies,
    _names,
    _outer,
    _pair,
    _solve_problem,
    _unchanged,
    close_to,
    solve_tol,
)
from .t4_1 import _with_cond

# ---------------------------------------------------------------------------------------------
# task 4.2: the VJP of solve, reusing the forward factorisation
# ---------------------------------------------------------------------------------------------
_VJP_HINT = (
    "b̄ = A⁻ᵀ x̄ = lu_solve(lu, x_bar, trans=1) with the forward's factors, "
    "Ā = −b̄ xᵀ (np.outer for a vector b, b_bar @ x.T for a matrix b)"
    " / b̄ = A⁻ᵀ x̄ с множителями прямого прохода, Ā = −b̄ xᵀ (np.outer для вектора b, "
    "b_bar @ x.T для матрицы b)"
)


def _solve_vjp_case(
    solve_fwd: Callable,
    solve_bwd: Callable,
    n: int,
    k: int | None,
    seed: object,
    scale: Any = 1.0,
    kappa: float | None = None,
) -> None:
    A, b, g = _solve_problem(T2, n, k, seed, scale, kappa)
    tol = solve_tol(A) if kappa else None  # the other cases: elementwise, as before
    x_bar = direction(g, b.shape)
    given, saved = _copies(A=A, b=b)
    inputs = _with_cond(saved, A, tol)
    fwd = Watch()
    out = student_call(
        T2,
        "solve_fwd(A, b)",
        fwd.wrap(solve_fwd),
        given["A"],
        given["b"],
        inputs=inputs,
        hint="return x and the residuals for the backward pass"
        " / верните x и сохранённые данные (residuals) для "
        "обратного прохода",
    )
    x, res = _pair(T2, "solve_fwd", out, inputs, "(x, residuals)")
    x_ref, vjp = ri.vjp(rnp.linalg.solve, A, b)
    close_to(
        T2,
        "x = A⁻¹ b (solve_fwd)",
        x,
        x_ref,
        inputs=inputs,
        hint="x = lu_solve(lu, b) with lu = lu_factor(A)"
        " / x = lu_solve(lu, b), где lu = lu_factor(A)",
        tol=tol,
    )
    if len(fwd.factorisations) != 1:
        fail(
            T2,
            f"solve_fwd made {len(fwd.factorisations)} factorisations "
            f"({_names(fwd.factorisations)}); the forward pass needs exactly one"
            f" / solve_fwd выполнила {len(fwd.factorisations)} разложений; прямому проходу "
            "нужно ровно одно",
            inputs=inputs,
            expected=1,
            obtained=len(fwd.factorisations),
            hint="lu = lu_factor(A) once, x = lu_solve(lu, b); keep lu in the residuals"
            " / lu = lu_factor(A) один раз, x = lu_solve(lu, b); сохраните lu в residuals",
        )
    _unchanged(T2, "solve_fwd", given, saved, inputs)

    inputs = {**inputs, "x_bar": x_bar}
    bwd = Watch()
    x_bar_given = x_bar.copy()
    out = student_call(
        T2,
        "solve_bwd(residuals, x_bar)",
        bwd.wrap(solve_bwd),
        res,
        x_bar_given,
        inputs=inputs,
        hint=_VJP_HINT,
    )
    A_bar, b_bar = _pair(T2, "solve_bwd", out, inputs, "(A_bar, b_bar)")
    A_bar_ref, b_bar_ref = vjp(x_bar)
    inv = np.linalg.inv(A)
    _compare(
        T2,
        "∂L/∂b",
        b_bar,
        b_bar_ref,
        inputs=inputs,
        hint=_VJP_HINT,
        tol=tol,
        wrong=[
            (
                "A⁻¹ x̄",
                inv @ x_bar,
                "transposed adjoint: b̄ = A⁻ᵀ x̄, not A⁻¹ x̄; solve with Aᵀ "
                "using the same factors: lu_solve(lu, x_bar, trans=1)"
                " / транспонированное сопряжённое: b̄ = A⁻ᵀ x̄, а не A⁻¹ x̄; решайте с Aᵀ теми же "
                "множителями",
            ),
            ("−A⁻ᵀ x̄", -b_bar_ref, "wrong sign: b̄ = +A⁻ᵀ x̄ / неверный знак: b̄ = +A⁻ᵀ x̄"),
            (
                "x̄",
                x_bar,
                "b̄ = A⁻ᵀ x̄: the solve with Aᵀ is missing / b̄ = A⁻ᵀ x̄: пропущено решение с Aᵀ",
            ),
        ],
    )
    _compare(
        T2,
        "∂L/∂A",
        A_bar,
        A_bar_ref,
        inputs=inputs,
        hint=_VJP_HINT,
        tol=tol,
        wrong=[
            (
                "+A⁻ᵀ x̄ xᵀ",
                -A_bar_ref,
                "wrong sign: Ā = −A⁻ᵀ x̄ xᵀ (dx = −A⁻¹ dA x) / неверный знак: Ā = −A⁻ᵀ x̄ xᵀ",
            ),
            (
                "−x (A⁻ᵀ x̄)ᵀ",
                -_outer(x_ref, b_bar_ref),
                "your ∂L/∂A is the transpose of the expected one: check −A⁻ᵀ x̄ xᵀ = −b̄ xᵀ"
                " / ваш ∂L/∂A — транспонированный ожидаемый: проверьте −A⁻ᵀ x̄ xᵀ = −b̄ xᵀ",
            ),
            (
                "−x̄ xᵀ",
                -_outer(x_bar, x_ref),
                "Ā = −b̄ xᵀ with b̄ = A⁻ᵀ x̄, not −x̄ xᵀ / Ā = −b̄ xᵀ, где b̄ = A⁻ᵀ x̄, а не −x̄ xᵀ",
            ),
            (
                "−A⁻ᵀ x xᵀ",
                -_outer(inv.T @ x_ref, x_ref),
                "x xᵀ instead of x̄ xᵀ: the cotangent x̄ is missing: Ā = −A⁻ᵀ x̄ xᵀ"
                " / x xᵀ вместо x̄ xᵀ: пропущено сопряжённое x̄",
            ),
            (
                "−A⁻¹ x̄ xᵀ",
                -_outer(inv @ x_bar, x_ref),
                "A⁻¹ instead of A⁻ᵀ: Ā = −A⁻ᵀ x̄ xᵀ (use lu_solve(lu, x_bar, trans=1))"
                " / A⁻¹ вместо A⁻ᵀ: используйте lu_solve(lu, x_bar, trans=1)",
            ),
            (
                "−A⁻ᵀ x̄ bᵀ",
                -_outer(b_bar_ref, b),
                "b instead of x: Ā = −b̄ xᵀ / b вместо x: Ā = −b̄ xᵀ",
            ),
        ],
    )
    facs = bwd.factorisations
    if facs:
        fail(
            T2,
            f"solve_bwd made {len(facs)} factorisation(s) ({_names(facs)}); the backward "
            "pass must reuse the forward's LU factors: one factorisation for forward and "
            "backward together"
            f" / solve_bwd выполнила {len(facs)} разложений; обратный проход должен "
            "использовать LU-множители прямого: одно разложение на оба прохода",
            inputs=inputs,
            expected=0,
            obtained=len(facs),
            hint="keep lu in the residuals of solve_fwd and call lu_solve(lu, x_bar, trans=1); "
            "no lu_factor, np.linalg.solve or inv in solve_bwd"
            " / сохраните lu в residuals и вызовите lu_solve(lu, x_bar, trans=1); никаких "
            "lu_factor, np.linalg.solve и inv в solve_bwd",
        )
    solves = bwd.solves
    if len(solves) != 1:
        fail(
            T2,
            f"solve_bwd made {len(solves)} solves with the factors; one (with Aᵀ) is "
            "enough"
            f" / solve_bwd выполнила {len(solves)} решений; достаточно одного (с Aᵀ)",
            inputs=inputs,
            expected=1,
            obtained=len(solves),
            hint="keep x in the residuals instead of solving for it again; "
            "b̄ = lu_solve(lu, x_bar, trans=1)"
            " / храните x в residuals, а не решайте заново; b̄ = lu_solve(lu, x_bar, "
            "trans=1)",
        )
    rhs = solves[0].args.get("b")
    if rhs is not None and np.shape(rhs) != x_bar.shape:
        fail(
            T2,
            f"solve_bwd solved with a right-hand side of shape {np.shape(rhs)}, not with "
            f"x̄ (shape {x_bar.shape}): building A⁻¹ or A⁻ᵀ costs O(n³)"
            f" / solve_bwd решала с правой частью формы {np.shape(rhs)}, а не с x̄: "
            "построение A⁻¹ или A⁻ᵀ стоит O(n³)",
            inputs=inputs,
            expected=x_bar.shape,
            obtained=np.shape(rhs),
            hint="solve with x̄ itself: lu_solve(lu, x_bar, trans=1)"
            " / решайте с самим x̄: lu_solve(lu, x_bar, trans=1)",
        )
    _unchanged(T2, "solve_bwd", {"x_bar": x_bar_given}, {"x_bar": x_bar}, inputs)
    # interleaved: a second forward pass on another problem, then the first residuals again,
    # then the second residuals with another x̄; every returned array kept and compared again
    kept = Kept(T2)
    kept.keep("solve_fwd(A, b)", x)
    kept.keep("solve_bwd(residuals, x_bar)", (A_bar, b_bar))
    A2, b2, g2 = _solve_problem(T2, n, k, (seed, "second forward pass"), scale, kappa)
    tol2 = solve_tol(A2) if kappa else None
    out2 = student_call(
        T2,
        "solve_fwd(A2, b2), a second forward pass",
        solve_fwd,
        A2.copy(),
        b2.copy(),
        inputs=inputs,
    )
    x2, res2 = _pair(T2, "solve_fwd", out2, inputs, "(x, residuals)")
    x2_ref, vjp2 = ri.vjp(rnp.linalg.solve, A2, b2)
    close_to(
        T2,
        "x = A2⁻¹ b2 of a second solve_fwd (same shapes, other values: state kept?)",
        x2,
        x2_ref,
        inputs={"A2": A2, "b2": b2},
        tol=tol2,
    )
    kept.recheck("solve_fwd(A2, b2)")
    out = student_call(
        T2,
        "solve_bwd(residuals, x_bar) after a second solve_fwd(A2, b2)",
        solve_bwd,
        res,
        x_bar.copy(),
        inputs=inputs,
        hint=_VJP_HINT,
    )
    A_bar2, b_bar2 = _pair(T2, "solve_bwd", out, inputs, "(A_bar, b_bar)")
    for name, got, ref in (("∂L/∂b", b_bar2, b_bar_ref), ("∂L/∂A", A_bar2, A_bar_ref)):
        close_to(
            T2,
            f"{name} from the first residuals, after a second solve_fwd(A2, b2) "
            "(state kept between calls?)",
            got,
            ref,
            inputs=inputs,
            tol=tol,
            hint="solve_bwd must use the residuals it is given, not those of the last "
            "forward pass / solve_bwd должна использовать данные residuals, "
            "переданные ей, а не данные последнего прямого прохода",
        )
    x_bar2 = direction(g2, b2.shape)
    out = student_call(
        T2,
        "solve_bwd(residuals2, x_bar2)",
        solve_bwd,
        res2,
        x_bar2.copy(),
        inputs={"A2": A2, "b2": b2, "x_bar2": x_bar2},
        hint=_VJP_HINT,
    )
    A_bar3, b_bar3 = _pair(T2, "solve_bwd", out, inputs, "(A_bar, b_bar)")
    for name, got, ref in zip(("∂L/∂A", "∂L/∂b"), (A_bar3, b_bar3), vjp2(x_bar2), strict=True):
        close_to(
            T2,
            f"{name} of the second problem with another x̄ (state kept between calls?)",
            got,
            ref,
            inputs={"A2": A2, "b2": b2, "x_bar2": x_bar2},
            tol=tol2,
            hint="solve_bwd must use the residuals and the x_bar it is given"
            " / solve_bwd должна использовать переданные ей residuals и x_bar",
        )
    kept.recheck("solve_bwd(residuals2, x_bar2)")


@task_check(T2)
def t4_2(solve_fwd: Callable, solve_bwd: Callable) -> None:
    """A 3×3 system with a vector right-hand side."""
    _solve_vjp_case(solve_fwd, solve_bwd, 3, None, "visible")
