"""Checks of task 4.5: the VJP of the SVD."""

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
    T5,
    Watch,
    _compare,
    _copies,
    _unchanged,
)
from .t4_3 import (
    _decompose,
    _no_factorisations,
)

# ---------------------------------------------------------------------------------------------
# task 4.5: the full VJP of the SVD (Townsend 2016)
# ---------------------------------------------------------------------------------------------
_TOWNSEND_HINT = (
    "W̄ = U [(F∘(UᵀŪ − ŪᵀU)) S + diag(s̄) + S (F∘(VᵀV̄ − V̄ᵀV))] Vᵀ "
    "+ (I − UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I − VVᵀ), F_ij = 1/(s_j² − s_i²) (i ≠ j), "
    "V̄ = Vt_bar.T"
)


def townsend(
    U: np.ndarray,
    s: np.ndarray,
    Vt: np.ndarray,
    U_bar: np.ndarray,
    s_bar: np.ndarray,
    Vt_bar: np.ndarray,
    *,
    f_sign: float = 1.0,
    v_bar_transposed: bool = True,
    projections: bool = True,
    swap_sides: bool = False,
    skew: bool = True,
    rotations: bool = True,
) -> np.ndarray:
    """Townsend's W̄ for the thin SVD (distinct s); keyword flags give the usual mistakes."""
    V, V_bar = Vt.T, (Vt_bar.T if v_bar_transposed else Vt_bar)
    m, n, k = U.shape[0], V.shape[0], s.size
    diff = s[None, :] ** 2 - s[:, None] ** 2
    np.fill_diagonal(diff, 1.0)
    F = f_sign / diff
    np.fill_diagonal(F, 0.0)
    E, G = U.T @ U_bar, V.T @ V_bar
    if skew:
        E, G = E - E.T, G - G.T
    inner = np.diag(s_bar)
    if rotations:
        if swap_sides:
            inner = inner + s[:, None] * (F * E) + (F * G) * s[None, :]
        else:
            inner = inner + (F * E) * s[None, :] + s[:, None] * (F * G)
    W_bar = U @ inner @ Vt
    if projections and m > k:
        W_bar = W_bar + ((U_bar - U @ (U.T @ U_bar)) / s[None, :]) @ Vt
    if projections and n > k:
        W_bar = W_bar + U @ ((V_bar - V @ (V.T @ V_bar)) / s[None, :]).T
    return W_bar


def _svd_thin(W: Any) -> tuple:
    return tuple(rnp.linalg.svd(W, full_matrices=False))


def _svd_loss(name: str, consts: list[np.ndarray]) -> Callable[..., Any]:
    """Losses ℓ(U, s, Vt) invariant under flipping the sign of a pair (u_i, v_i)."""
    C, w = consts

    def loss(U: Any, s: Any, Vt: Any) -> Any:
        if name == "s":
            return rnp.sum(w * s * s)
        if name == "U":  # ⟨C, U diag(w) Uᵀ⟩: subspaces, no sign
            return rnp.sum(C * ((U * w) @ rnp.transpose(U)))
        if name == "V":
            return rnp.sum(C * ((rnp.transpose(Vt) * w) @ Vt))
        if name == "UV":  # ⟨C, U diag(w) Vᵀ⟩ + Σ w s²
            return rnp.sum(C * ((U * w) @ Vt)) + rnp.sum(w * s * s)
        raise ValueError(name)

    return loss


_LOSSES = {
    "s": (
        "L = Σ w_i s_i² (Ū = 0, V̄ = 0)",
        "W̄ = U diag(s̄) Vᵀ when Ū = V̄ = 0 (task 4.4) / W̄ = U diag(s̄) Vᵀ при Ū = V̄ = 0 (задача 4.4)",
    ),
    "U": (
        "L = ⟨C, U diag(w) Uᵀ⟩ (V̄ = 0)",
        "the Ū term: U [(F∘(UᵀŪ − ŪᵀU)) S] Vᵀ, F_ij = 1/(s_j² − s_i²); for m > k also "
        "(I − UUᵀ) Ū S⁻¹ Vᵀ"
        " / слагаемое с Ū; при m > k также (I − UUᵀ) Ū S⁻¹ Vᵀ",
    ),
    "V": (
        "L = ⟨C, V diag(w) Vᵀ⟩ (Ū = 0)",
        "the V̄ term: U [S (F∘(VᵀV̄ − V̄ᵀV))] Vᵀ with V̄ = Vt_bar.T; for n > k also "
        "U S⁻¹ V̄ᵀ (I − VVᵀ)"
        " / слагаемое с V̄; при n > k также U S⁻¹ V̄ᵀ (I − VVᵀ)",
    ),
    "UV": ("L = ⟨C, U diag(w) Vᵀ⟩ + Σ w_i s_i²", _TOWNSEND_HINT),
}


def _svd_vjp_case(
    svd_vjp: Callable,
    m: int,
    n: int,
    seed: object,
    loss: str | None,
    kept: Kept | None = None,
) -> None:
    """``loss``: one of :data:`_LOSSES` (reference: ri.grad of the loss through the SVD), or
    ``None`` for random cotangents (reference: ri.vjp with the cotangents moved by the signs)."""
    dec = _decompose(T5, seed, m, n)
    g = rng(T5, (seed, "cotangents"))
    U, Vt = dec.flipped
    k = dec.s.size
    if loss is None:
        label, hint = "random cotangents (Ū, s̄, V̄t)", _TOWNSEND_HINT
        U_bar, s_bar, Vt_bar = direction(g, U.shape), direction(g, (k,)), direction(g, Vt.shape)
        d = dec.d
        (expected,) = ri.vjp(_svd_thin, dec.W)[1]((U_bar * d, s_bar, d[:, None] * Vt_bar))
    else:
        label, hint = _LOSSES[loss]
        rows = m if loss == "U" else n
        ell = _svd_loss(
            loss, [g.normal(size=(rows, rows) if loss != "UV" else (m, n)), g.uniform(0.5, 2.0, k)]
        )
        U_bar, s_bar, Vt_bar = ri.grad(ell, argnums=(0, 1, 2))(U, dec.s, Vt)
        expected = ri.grad(lambda W: ell(*_svd_thin(W)))(dec.W)
    U_bar, s_bar, Vt_bar = (np.asarray(a, dtype=float) for a in (U_bar, s_bar, Vt_bar))
    given, saved = _copies(U=U, s=dec.s, Vt=Vt, U_bar=U_bar, s_bar=s_bar, Vt_bar=Vt_bar)
    inputs = {"W": dec.W, "loss": label, **saved}
    watch = Watch()
    W_bar = student_call(
        T5,
        "svd_vjp(U, s, Vt, U_bar, s_bar, Vt_bar)",
        watch.wrap(svd_vjp),
        *given.values(),
        inputs=inputs,
        hint=_TOWNSEND_HINT,
    )
    args = (U, dec.s, Vt, U_bar, s_bar, Vt_bar)
    wrong = [
        (
            "U diag(s̄) Vᵀ only",
            townsend(*args, rotations=False, projections=False),
            "the Ū and V̄ terms are missing:  / пропущены слагаемые с Ū и V̄; " + _TOWNSEND_HINT,
        ),
        (
            "F with the opposite sign",
            townsend(*args, f_sign=-1.0),
            "F_ij = 1/(s_j² − s_i²) (i ≠ j): s_j of the column minus s_i of the row"
            " / s_j столбца минус s_i строки",
        ),
        (
            "the S factors on the wrong sides",
            townsend(*args, swap_sides=True),
            "[F∘(UᵀŪ − ŪᵀU)] S (S on the right) and S [F∘(VᵀV̄ − V̄ᵀV)] (S on the left)"
            " / S справа в первом слагаемом и слева во втором",
        ),
        (
            "F∘(UᵀŪ) instead of F∘(UᵀŪ − ŪᵀU)",
            townsend(*args, skew=False),
            "antisymmetrise: only the antisymmetric parts UᵀŪ − ŪᵀU and VᵀV̄ − V̄ᵀV enter"
            " / антисимметризуйте: входят только антисимметричные части UᵀŪ − ŪᵀU и VᵀV̄ − V̄ᵀV",
        ),
    ]
    if m == n:
        wrong.append(
            (
                "V̄ = Vt_bar (not transposed)",
                townsend(*args, v_bar_transposed=False),
                "Vt_bar is the cotangent of Vt = Vᵀ, so V̄ = Vt_bar.T"
                " / Vt_bar — сопряжённое к Vt = Vᵀ, поэтому V̄ = Vt_bar.T",
            )
        )
    else:
        wrong.append(
            (
                "W̄ without the projection terms",
                townsend(*args, projections=False),
                "m > k: add (I − UUᵀ) Ū S⁻¹ Vᵀ; n > k: add U S⁻¹ V̄ᵀ (I − VVᵀ) "
                "(the parts of Ū, V̄ outside the span of U, V)"
                " / части Ū, V̄ вне линейной оболочки U, V",
            )
        )
    _compare(
        T5,
        f"W̄ = ∂L/∂W for {label}, {m}×{n}",
        W_bar,
        expected,
        inputs=inputs,
        hint=hint,
        wrong=wrong,
    )
    _no_factorisations(T5, "svd_vjp", watch, inputs)
    _unchanged(T5, "svd_vjp", given, saved, inputs)
    if kept is not None:
        kept.recheck(f"svd_vjp for {label}, {m}×{n}")
        kept.keep(f"svd_vjp for {label}, {m}×{n}", W_bar)


@task_check(T5)
def t4_5(svd_vjp: Callable) -> None:
    """A square 4×4 matrix: losses of s, of U, of V, of both."""
    kept = Kept(T5)
    for loss in ("s", "U", "V", "UV"):
        _svd_vjp_case(svd_vjp, 4, 4, "visible", loss, kept)
