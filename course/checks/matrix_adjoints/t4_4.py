"""Checks of task 4.4: derivatives of the singular values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import reference_impl as ri
import reference_impl.numpy as rnp

from .._core import (
    direction,
    rng,
    student_call,
    task_check,
)
from ..finite_differences._common import Kept
from ._common import (
    T4,
    Watch,
    _compare,
    _copies,
    _unchanged,
)
from .t4_3 import (
    _decompose,
    _no_factorisations,
    _thin,
)

# ---------------------------------------------------------------------------------------------
# task 4.4: the derivatives of the singular values
# ---------------------------------------------------------------------------------------------
_S_JVP_HINT = (
    "ṡ = diag(Uᵀ Ẇ V) with V = Vt.T (k = len(s) columns of U and V) / k = len(s) столбцов U и V"
)
_S_VJP_HINT = "W̄ = U diag(s̄) Vᵀ = (U[:, :k] * s_bar) @ Vt[:k] (k = len(s))"
_SHAPES_HINT = (
    "U and Vt may be full (m×m and n×n, as np.linalg.svd returns by default): "
    "use the first k = len(s) columns of U and rows of Vt"
    " / U и Vt могут быть полными: используйте первые k = len(s) столбцов U и строк "
    "Vt"
)


def _svals(W: Any) -> Any:
    return rnp.linalg.svd(W, compute_uv=False)


def _svd_values_case(
    svd_values_jvp: Callable,
    svd_values_vjp: Callable,
    m: int,
    n: int,
    seed: object,
    full: bool,
    kept: Kept | None = None,
) -> None:
    """ṡ and W̄ at one decomposition; the arguments looked at afterwards, the results of the
    earlier calls (``kept``) compared again."""
    dec = _decompose(T4, seed, m, n, full)
    g = rng(T4, (seed, "directions"))
    Uf, Vtf = dec.flipped
    k = dec.s.size
    W_dot, s_bar = direction(g, (m, n)), direction(g, (k,))
    given, saved = _copies(U=Uf, s=dec.s, Vt=Vtf, W_dot=W_dot)
    inputs = {"W": dec.W, **saved}
    note = (" (full U and Vt)" if full else "") + " with the signs of some pairs (u_i, v_i) flipped"
    U1, Vt1 = _thin(dec, Uf, Vtf)
    U0, Vt0 = _thin(dec, dec.U, dec.Vt)

    watch = Watch()
    s_dot = student_call(
        T4,
        "svd_values_jvp(U, s, Vt, W_dot)",
        watch.wrap(svd_values_jvp),
        given["U"],
        given["s"],
        given["Vt"],
        given["W_dot"],
        inputs=inputs,
        hint=_SHAPES_HINT,
    )
    _, s_dot_ref = ri.jvp(_svals, (dec.W,), (W_dot,))
    wrong_jvp = [("−diag(Uᵀ Ẇ V)", -s_dot_ref, "wrong sign: " + _S_JVP_HINT)]
    if m == n:
        wrong_jvp += [
            (
                "diag(Uᵀ Ẇ Vᵀ)",
                np.diag(U1.T @ W_dot @ Vt1),
                "Vt is already Vᵀ: V = Vt.T, ṡ = diag(Uᵀ Ẇ V) / Vt — это уже Vᵀ",
            ),
            ("diag(Uᵀ Ẇᵀ V)", np.diag(U1.T @ W_dot.T @ Vt1.T), "Ẇᵀ instead of Ẇ / Ẇᵀ вместо Ẇ"),
        ]
    _compare(T4, f"ṡ{note}", s_dot, s_dot_ref, inputs=inputs, hint=_S_JVP_HINT, wrong=wrong_jvp)
    _no_factorisations(T4, "svd_values_jvp", watch, inputs)
    if kept is not None:
        kept.recheck(f"svd_values_jvp on a {m}×{n} matrix")
        kept.keep(f"svd_values_jvp(U, s, Vt, W_dot) ({seed})", s_dot)

    inputs = {"W": dec.W, "U": saved["U"], "s": saved["s"], "Vt": saved["Vt"], "s_bar": s_bar}
    given["s_bar"], saved["s_bar"] = s_bar.copy(), s_bar.copy()
    watch = Watch()
    W_bar = student_call(
        T4,
        "svd_values_vjp(U, s, Vt, s_bar)",
        watch.wrap(svd_values_vjp),
        given["U"],
        given["s"],
        given["Vt"],
        given["s_bar"],
        inputs=inputs,
        hint=_SHAPES_HINT,
    )
    (W_bar_ref,) = ri.vjp(_svals, dec.W)[1](s_bar)
    wrong_vjp = [
        ("−U diag(s̄) Vᵀ", -W_bar_ref, "wrong sign: " + _S_VJP_HINT),
        (
            "U diag(s̄) Vᵀ with the signs of V from another decomposition",
            (U1 * s_bar) @ Vt0,
            "the pairs (u_i, v_i) you are given may have both signs flipped; use the given U and Vt "
            "together (do not recompute the SVD)"
            " / у данных пар (u_i, v_i) оба знака могут быть изменены; используйте данные U и Vt "
            "вместе (не пересчитывайте SVD)",
        ),
        (
            "U diag(s̄) Vᵀ with the signs of U from another decomposition",
            (U0 * s_bar) @ Vt1,
            "the pairs (u_i, v_i) you are given may have both signs flipped; use the given U and Vt "
            "together (do not recompute the SVD)"
            " / у данных пар (u_i, v_i) оба знака могут быть изменены; используйте данные U и Vt "
            "вместе (не пересчитывайте SVD)",
        ),
        (
            "U diag(s̄ ∘ s) Vᵀ",
            (U1 * (s_bar * dec.s)) @ Vt1,
            "W̄ = U diag(s̄) Vᵀ, without s / W̄ = U diag(s̄) Vᵀ, без s",
        ),
    ]
    if m == n:
        wrong_vjp += [
            (
                "U diag(s̄) V",
                (U1 * s_bar) @ Vt1.T,
                "Vt is already Vᵀ: W̄ = U diag(s̄) Vt, not U diag(s̄) Vt.T"
                " / Vt — это уже Vᵀ: W̄ = U diag(s̄) Vt, а не U diag(s̄) Vt.T",
            )
        ]
    _compare(
        T4, f"W̄ = ∂L/∂W{note}", W_bar, W_bar_ref, inputs=inputs, hint=_S_VJP_HINT, wrong=wrong_vjp
    )
    _no_factorisations(T4, "svd_values_vjp", watch, inputs)
    _unchanged(T4, "svd_values_jvp / svd_values_vjp", given, saved, inputs)
    if kept is not None:
        kept.recheck(f"svd_values_vjp on a {m}×{n} matrix")
        kept.keep(f"svd_values_vjp(U, s, Vt, s_bar) ({seed})", W_bar)


@task_check(T4)
def t4_4(svd_values_jvp: Callable, svd_values_vjp: Callable) -> None:
    """Two square 4×4 matrices and a tall 5×3 one (thin SVD); forward and backward
    interleaved, every result kept and compared again."""
    kept = Kept(T4)
    _svd_values_case(svd_values_jvp, svd_values_vjp, 4, 4, "square", False, kept)
    _svd_values_case(svd_values_jvp, svd_values_vjp, 4, 4, "square, second", False, kept)
    _svd_values_case(svd_values_jvp, svd_values_vjp, 5, 3, "tall", False, kept)
