"""Planted bugs for assignment 04_matrix_adjoints (see ``assignment_utils.Planted``)."""

from tests.checks.assignment_utils import Planted

_JVP = "    x_dot = lu_solve(lu, b_dot - A_dot @ x)  # A ẋ = ḃ − Ȧ x\n"
_FWD = "    return x, (lu, x)\n"
_BWD_UNPACK = "    lu, x = residuals\n"
_BWD_SOLVE = "    b_bar = lu_solve(lu, x_bar, trans=1)  # A⁻ᵀ x̄, the same factors\n"
_SV_JVP = "    U, V = U[:, :k], Vt[:k].T\n"
_SV_VJP = "    return (U[:, :k] * s_bar) @ Vt[:k]  # U diag(s̄) Vᵀ: scale the columns of U\n"
_INNER = (
    "    inner = (F * (E - E.T)) * s[None, :] + np.diag(s_bar) + s[:, None] * (F * (G - G.T))\n"
)

MUTANTS: list[Planted] = [
    # 4.1 the JVP of solve
    Planted(
        "jvp-sign",
        "t4_1",
        [(_JVP, "    x_dot = lu_solve(lu, A_dot @ x - b_dot)\n")],
        ["wrong ẋ", "A⁻¹(Ȧ x − ḃ)", "wrong sign", "Ȧ x + A ẋ = ḃ"],
        notebook=True,
    ),
    Planted(
        "jvp-forgets-dA",
        "t4_1",
        [(_JVP, "    x_dot = lu_solve(lu, b_dot)\n")],
        ["you computed A⁻¹ ḃ", "−A⁻¹ Ȧ x is missing"],
    ),
    Planted(
        "jvp-transposed-solve",
        "t4_1",
        [(_JVP, "    x_dot = lu_solve(lu, b_dot - A_dot @ x, trans=1)\n")],
        ["A⁻ᵀ(ḃ − Ȧ x)", "trans=0"],
    ),
    Planted(
        "jvp-dA-transposed",
        "t4_1",
        [(_JVP, "    x_dot = lu_solve(lu, b_dot - A_dot.T @ x)\n")],
        ["Ȧᵀ x instead of Ȧ x"],
    ),
    Planted(
        "jvp-refactorises",
        "t4_1",
        [(_JVP, "    x_dot = np.linalg.solve(A, b_dot - A_dot @ x)\n")],
        ["solve_jvp made 2 factorisations", "numpy.linalg.solve", "exactly one"],
    ),
    Planted(
        "jvp-modifies-b-dot",
        "t4_1",
        [(_JVP, "    b_dot -= A_dot @ x\n    x_dot = lu_solve(lu, b_dot)\n")],
        ["modified its argument b_dot", "in place"],
    ),
    # 4.2 the VJP of solve
    Planted(
        "bwd-transposed-adjoint",
        "t4_2",
        [(_BWD_SOLVE, "    b_bar = lu_solve(lu, x_bar)\n")],
        ["wrong ∂L/∂b", "A⁻¹ x̄", "transposed adjoint", "trans=1"],
        notebook=True,
    ),
    Planted(
        "bwd-A-bar-transposed",
        "t4_2",
        [("        A_bar = -np.outer(b_bar, x)\n", "        A_bar = -np.outer(x, b_bar)\n")],
        ["wrong ∂L/∂A", "transpose of the expected one", "−A⁻ᵀ x̄ xᵀ"],
    ),
    Planted(
        "bwd-A-bar-sign",
        "t4_2",
        [("        A_bar = -np.outer(b_bar, x)\n", "        A_bar = np.outer(b_bar, x)\n")],
        ["∂L/∂A", "wrong sign"],
    ),
    Planted(
        "bwd-x-x-transpose",
        "t4_2",
        [
            (
                "        A_bar = -np.outer(b_bar, x)\n",
                "        A_bar = -np.outer(lu_solve(lu, x, trans=1), x)\n",
            )
        ],
        ["x xᵀ instead of x̄ xᵀ"],
    ),
    Planted(
        "bwd-refactorises",
        "t4_2",
        [
            (_FWD, "    return x, (lu, x, A)\n"),
            (
                _BWD_UNPACK + _BWD_SOLVE,
                "    lu, x, A = residuals\n    b_bar = np.linalg.solve(A.T, x_bar)\n",
            ),
        ],
        ["solve_bwd made 1 factorisation", "numpy.linalg.solve", "reuse the forward's LU"],
        notebook=True,
    ),
    Planted(
        "bwd-factorises-A-transposed",
        "t4_2",
        [
            (_FWD, "    return x, (lu, x, A)\n"),
            (
                _BWD_UNPACK + _BWD_SOLVE,
                "    lu, x, A = residuals\n    b_bar = lu_solve(lu_factor(A.T), x_bar)\n",
            ),
        ],
        ["scipy.linalg.lu_factor", "one factorisation for forward and backward"],
    ),
    Planted(
        "bwd-solves-for-x-again",
        "t4_2",
        [
            (_FWD, "    return x, (lu, b)\n"),
            (_BWD_UNPACK, "    lu, b = residuals\n    x = lu_solve(lu, b)\n"),
        ],
        ["solve_bwd made 2 solves", "keep x in the residuals"],
    ),
    Planted(
        "bwd-builds-inverse",
        "t4_2",
        [(_BWD_SOLVE, "    b_bar = lu_solve(lu, np.eye(x_bar.shape[0]), trans=1) @ x_bar\n")],
        ["right-hand side of shape (3, 3)", "O(n³)"],
    ),
    Planted(
        "bwd-outer-for-matrices",
        "t4_2",
        [("    if x.ndim == 1:\n        A_bar", "    if True:\n        A_bar")],
        ["∂L/∂A", "shape (12, 12) instead of (4, 4)"],
    ),
    Planted(
        "fwd-two-factorisations",
        "t4_2",
        [
            (
                "    x = lu_solve(lu, b)\n    return x, (lu, x)\n",
                "    x = np.linalg.solve(A, b)\n    return x, (lu, x)\n",
            )
        ],
        ["solve_fwd made 2 factorisations", "numpy.linalg.solve"],
    ),
    # 4.3 the dot-product test
    Planted(
        "dot-ones-tangents",
        "t4_3",
        [
            (
                "tangents = tuple(gen.standard_normal(np.shape(p)) for p in primals)",
                "tangents = tuple(np.ones(np.shape(p)) for p in primals)",
            )
        ],
        ["accepted a wrong VJP", "Ā transposed", "never all ones"],
        notebook=True,
    ),
    Planted(
        "dot-ones-cotangent",
        "t4_3",
        [("out_bar = gen.standard_normal(np.shape(out))", "out_bar = np.ones(np.shape(out))")],
        ["accepted a wrong VJP", "constant cotangents", "never all ones"],
    ),
    Planted(
        "dot-absolute-tolerance",
        "t4_3",
        [("abs(lhs - rhs) <= rtol * scale", "abs(lhs - rhs) <= rtol")],
        ["rejected a correct JVP/VJP pair", "1e12", "relative"],
    ),
    Planted(
        "dot-first-input-only",
        "t4_3",
        [
            (
                "tangents = tuple(gen.standard_normal(np.shape(p)) for p in primals)",
                "tangents = tuple(gen.standard_normal(np.shape(p)) if i == 0 else "
                "np.zeros(np.shape(p)) for i, p in enumerate(primals))",
            )
        ],
        ["accepted a wrong VJP", "b̄ = A⁻¹ x̄", "random tangent for b"],
    ),
    Planted(
        "dot-first-term-only",
        "t4_3",
        [("rhs = sum(np.sum(a * t) for a, t in pairs)", "rhs = np.sum(pairs[0][0] * pairs[0][1])")],
        ["rejected a correct JVP/VJP pair", "summing the terms of every input"],
    ),
    # 4.4 the singular values
    Planted(
        "svals-vjp-V-not-Vt",
        "t4_4",
        [(_SV_VJP, "    return (U[:, :k] * s_bar) @ Vt[:k].T\n")],
        ["wrong W̄", "U diag(s̄) V", "Vt is already Vᵀ"],
        notebook=True,
    ),
    Planted(
        "svals-jvp-Vt-as-V",
        "t4_4",
        [(_SV_JVP, "    U, V = U[:, :k], Vt[:k]\n")],
        ["wrong ṡ", "diag(Uᵀ Ẇ Vᵀ)", "V = Vt.T"],
    ),
    Planted(
        "svals-jvp-sign",
        "t4_4",
        [
            (
                "    return np.sum(U * (W_dot @ V), axis=0)",
                "    return -np.sum(U * (W_dot @ V), axis=0)",
            )
        ],
        ["wrong ṡ", "wrong sign"],
    ),
    Planted(
        "svals-recomputes-V",
        "t4_4",
        [
            (
                _SV_VJP,
                "    _, _, Vt = np.linalg.svd(U[:, :k] * s @ Vt[:k], full_matrices=False)\n"
                "    return (U[:, :k] * s_bar) @ Vt\n",
            )
        ],
        ["signs of V from another decomposition", "both signs flipped", "do not recompute the SVD"],
    ),
    Planted(
        "svals-assumes-thin",
        "t4_4",
        [(_SV_VJP, "    return (U * s_bar) @ Vt\n")],
        ["svd_values_vjp(U, s, Vt, s_bar) raised ValueError", "first k = len(s)"],
    ),
    Planted(
        "svals-times-s",
        "t4_4",
        [(_SV_VJP, "    return (U[:, :k] * (s_bar * s)) @ Vt[:k]\n")],
        ["U diag(s̄ ∘ s) Vᵀ", "without s"],
    ),
    # 4.5 the full VJP of the SVD
    Planted(
        "svd-F-sign",
        "t4_5",
        [
            (
                "    diff = s[None, :] ** 2 - s[:, None] ** 2",
                "    diff = s[:, None] ** 2 - s[None, :] ** 2",
            )
        ],
        ["F with the opposite sign", "s_j of the column"],
        notebook=True,
    ),
    Planted(
        "svd-V-bar-not-transposed",
        "t4_5",
        [("    V, V_bar = Vt.T, Vt_bar.T\n", "    V, V_bar = Vt.T, Vt_bar\n")],
        ["L = ⟨C, V diag(w) Vᵀ⟩", "V̄ = Vt_bar (not transposed)"],
    ),
    Planted(
        "svd-no-antisymmetrisation",
        "t4_5",
        [(_INNER, "    inner = (F * E) * s[None, :] + np.diag(s_bar) + s[:, None] * (F * G)\n")],
        ["F∘(UᵀŪ) instead of F∘(UᵀŪ − ŪᵀU)", "antisymmetrise"],
    ),
    Planted(
        "svd-S-sides-swapped",
        "t4_5",
        [
            (
                _INNER,
                "    inner = s[:, None] * (F * (E - E.T)) + np.diag(s_bar) + "
                "(F * (G - G.T)) * s[None, :]\n",
            )
        ],
        ["S factors on the wrong sides"],
    ),
    Planted(
        "svd-no-projection",
        "t4_5",
        [
            (
                "    if m > k:  # the part of Ū outside span(U)",
                "    if False:  # the part of Ū outside span(U)",
            )
        ],
        ["5×3", "without the projection terms", "(I − UUᵀ) Ū S⁻¹ Vᵀ"],
    ),
    Planted(
        "svd-only-s-term",
        "t4_5",
        [(_INNER, "    inner = np.diag(s_bar)\n")],
        ["L = ⟨C, U diag(w) Uᵀ⟩", "the Ū and V̄ terms are missing"],
    ),
    Planted(
        "svd-recomputes-s",
        "t4_5",
        [
            (
                "    V, V_bar = Vt.T, Vt_bar.T\n",
                "    V, V_bar = Vt.T, Vt_bar.T\n"
                "    s = np.linalg.svd((U * s) @ Vt, compute_uv=False)\n",
            )
        ],
        ["new decomposition", "numpy.linalg.svd"],
    ),
]
