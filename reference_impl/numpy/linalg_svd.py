"""``svd`` and ``eigh`` with their adjoints, and what happens at repeated values.

SVD (lecture topic 11; Townsend 2016, "Differentiating the singular value decomposition";
JAX's ``_svd_jvp_rule``). For the thin SVD ``A = U S Vᵀ`` (``A`` m×n, k = min(m, n)) let
``Ṗ = Uᵀ Ȧ V``. Then ``ṡ = diag(Ṗ)`` and, splitting Townsend's ``F_ij = 1/(s_j² − s_i²)`` as
``(s_j ṗ_ij + s_i ṗ_ji) F_ij = ½(ṗ_ij + ṗ_ji)/(s_j − s_i) + ½(ṗ_ij − ṗ_ji)/(s_j + s_i)``,

    Uᵀ U̇ = F⁻ ∘ sym(Ṗ) + F⁺ ∘ skew(Ṗ),      Vᵀ V̇ = F⁻ ∘ sym(Ṗ) − F⁺ ∘ skew(Ṗ),

with ``F⁻_ij = 1/(s_j − s_i)``, ``F⁺_ij = 1/(s_j + s_i)`` (zero on the diagonal), plus, when
m > n, ``(I − UUᵀ) Ȧ V S⁻¹`` in ``U̇`` (when m < n, ``(I − VVᵀ) Ȧᵀ U S⁻¹`` in ``V̇``).
The F⁻ term rotates U and V *together*, the F⁺ term in *opposite* directions. The VJP is the
adjoint: with ``E = UᵀŪ``, ``G = VᵀV̄``, ``Ā = U [diag(s̄) + sym(F⁻∘(E+G)) + skew(F⁺∘(E−G))] Vᵀ``
plus ``(I − UUᵀ) Ū S⁻¹ Vᵀ`` (m > n) or ``U S⁻¹ V̄ᵀ (I − VVᵀ)`` (m < n). For a loss of ``s``
alone this is the lecture's ``Ā = U diag(s̄) Vᵀ``.

Degenerate spectra (the policy, for svd and eigh alike). A reciprocal ``1/d`` with
``|d| ≤ DEGENERACY_RTOL · s_max`` is replaced by 0: d = s_j − s_i (a cluster of equal values),
s_j + s_i (two zero singular values) or s_i (a zero singular value of a rectangular A). The
tolerance 1e-10 is far above LAPACK's rounding of exactly repeated values (~1e-15 relative)
and far below the gaps of generic matrices; above it the true (possibly huge) derivative is
kept. Where it bites:

* losses of ``s`` alone: unaffected, exact;
* losses invariant to rotations inside each cluster of equal singular values *in a whole
  neighbourhood* — functions of the cluster's subspaces such as ``U_B U_Bᵀ``, ``V_B V_Bᵀ``,
  ``U_B V_Bᵀ`` — get their true, finite gradient (there the dropped numerator
  ``skew(E + G)_ij`` is identically 0, so the dropped term is 0);
* losses invariant only *at* the degenerate point, which tie the in-cluster basis to ``s``
  (e.g. ``sum(U diag(s) Vᵀ)`` = sum(A)): the dropped term is a 0/0 whose limit is not a function
  of the cotangents (U̅, s̄, V̅) — two such losses can have equal cotangents and different
  gradients (``tests/engine/test_svd.py`` shows one), so no VJP rule can be right for all of them.
  ``sum(C ∘ U S Vᵀ)`` gets ``C − U D Vᵀ`` with ``D_ij = ½(m_ij + m_ji)`` on the cluster's
  off-diagonal pairs, ``m = UᵀCV``: finite, not the true gradient C;
* gauge-dependent losses (e.g. ``sum(U)``, whose value jumps with LAPACK's choice of basis):
  the gradient with the in-cluster rotation terms dropped — finite, but not the derivative of
  a well-defined function. (JAX returns NaN at exact ties and wrong finite values at ties up
  to rounding, also for the subspace losses above.)

``full_matrices=True`` with m ≠ n: the extra columns ``U_⊥`` (or ``V_⊥``) are any orthonormal
basis of the complement. They are moved with the subspace and not rotated inside it,
``U̇_⊥ = −U U̇ᵀ U_⊥`` (``U_⊥ᵀ U̇_⊥ = 0``), so losses of the complement (``U_⊥U_⊥ᵀ``) are exact
and losses of its basis get the rotation terms dropped, as above. (JAX raises
NotImplementedError for this case.)

eigh (Giles 2008 §3.1; JAX's ``_eigh_jvp_rule``): ``ẇ = diag(Vᵀ Ȧ V)``, ``V̇ = V (F ∘ Vᵀ Ȧ V)``,
``Ā = V (diag(w̄) + F ∘ VᵀV̄) Vᵀ``, ``F_ij = 1/(w_j − w_i)``, the same policy (relative to
max|w|). As in JAX, ``eigh`` symmetrises its input, ``A ← (A + Aᵀ)/2``, so the gradient is
symmetrised too.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..primitives import defjvp_full, defvjp_full, primitive
from ..tracers import concrete, shape_of
from . import elementwise as E
from . import shape_ops as S
from .batching_rules import STACK
from .contractions import matmul

__all__ = ["DEGENERACY_RTOL", "EighResult", "SVDResult", "eigh", "svd"]

DEGENERACY_RTOL = 1e-10


class SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


class EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


def _mT(x: Any) -> Any:
    return S.swapaxes(x, -1, -2)


def _cols(x: Any, start: int, stop: int) -> Any:
    return S.getitem(x, (Ellipsis, slice(None), slice(start, stop)))


def _row(v: Any) -> Any:  # (..., k) -> (..., 1, k): scales columns when multiplied
    return S.expand_dims(v, -2)


def _diag_part(x: Any) -> Any:  # (..., k, k) -> (..., k)
    k = np.arange(shape_of(x)[-1])
    return S.getitem(x, (Ellipsis, k, k))


def _diag_embed(v: Any) -> Any:
    return S.expand_dims(v, -1) * np.eye(shape_of(v)[-1])


def _reciprocal(d: Any, small: np.ndarray) -> Any:
    """1/d where ``small`` is False, 0 where it is True (no inf or NaN, also in derivatives)."""
    return E.where(small, 0.0, 1.0 / E.where(small, 1.0, d))


def _sym(x: Any) -> Any:
    return (x + _mT(x)) * 0.5


def _skew(x: Any) -> Any:
    return (x - _mT(x)) * 0.5


def _gap_factors(s: Any, magnitude: np.ndarray) -> tuple[Any, Any, np.ndarray]:
    """F⁻_ij = 1/(s_j − s_i), F⁺_ij = 1/(s_j + s_i) and the tolerance, degenerate pairs → 0."""
    sc = np.asarray(concrete(s))
    k = sc.shape[-1]
    tol = DEGENERACY_RTOL * np.max(magnitude, axis=-1, keepdims=True)  # (..., 1)
    eye = np.eye(k, dtype=bool)
    si, sj = S.expand_dims(s, -1), S.expand_dims(s, -2)
    f_minus = _reciprocal(
        sj - si, eye | (np.abs(sc[..., None, :] - sc[..., :, None]) <= tol[..., None])
    )
    f_plus = _reciprocal(
        sj + si, eye | (np.abs(sc[..., None, :] + sc[..., :, None]) <= tol[..., None])
    )
    return f_minus, f_plus, tol


# ----------------------------------------------------------------------------------------------
# SVD
# ----------------------------------------------------------------------------------------------
def _svd_impl(a: np.ndarray, full_matrices: bool) -> tuple[np.ndarray, ...]:
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return u, s, vh


def _svd_parts(ans: tuple[Any, ...], a: Any) -> tuple[Any, ...]:
    u, s, vh = ans
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    v = _mT(vh)
    f_minus, f_plus, tol = _gap_factors(s, np.asarray(concrete(s)))
    s_inv = _reciprocal(s, np.asarray(concrete(s)) <= tol)
    return u, v, m, n, k, f_minus, f_plus, s_inv


def _svd_jvp(dots: list[Any], ans: tuple[Any, ...], a: Any, full_matrices: bool) -> tuple[Any, ...]:
    # Townsend 2016 eqs. (4)-(6) / JAX's `_svd_jvp_rule`, F split as in the module docstring
    (a_dot,) = dots
    u, v, m, n, k, f_minus, f_plus, s_inv = _svd_parts(ans, a)
    u1, v1 = _cols(u, 0, k) if m > k else u, _cols(v, 0, k) if n > k else v
    p_dot = matmul(matmul(_mT(u1), a_dot), v1)
    s_dot = _diag_part(p_dot)
    sym, skew = _sym(p_dot), _skew(p_dot)
    u_dot = matmul(u1, f_minus * sym + f_plus * skew)
    v_dot = matmul(v1, f_minus * sym - f_plus * skew)
    if m > n:  # the component of U̇ outside span(U): (I − UUᵀ) Ȧ V S⁻¹
        av = matmul(a_dot, v1)
        u_dot = u_dot + (av - matmul(u1, matmul(_mT(u1), av))) * _row(s_inv)
    if n > m:
        au = matmul(_mT(a_dot), u1)
        v_dot = v_dot + (au - matmul(v1, matmul(_mT(v1), au))) * _row(s_inv)
    if m > k and full_matrices:  # complement columns: U̇_⊥ = −U U̇ᵀ U_⊥ (no rotation inside)
        u2 = _cols(u, k, m)
        u_dot = S.concatenate([u_dot, -matmul(u1, matmul(_mT(u_dot), u2))], axis=-1)
    if n > k and full_matrices:
        v2 = _cols(v, k, n)
        v_dot = S.concatenate([v_dot, -matmul(v1, matmul(_mT(v_dot), v2))], axis=-1)
    return u_dot, s_dot, _mT(v_dot)


def _is_zero(x: Any) -> bool:
    return isinstance(x, np.ndarray) and not x.any()


def _svd_vjp(cts: tuple[Any, ...], ans: tuple[Any, ...], a: Any, full_matrices: bool) -> list[Any]:
    # the adjoint of `_svd_jvp` (Townsend 2016 eq. (9), regrouped into F⁻ and F⁺ terms)
    u_bar, s_bar, vh_bar = cts
    if _is_zero(u_bar) and _is_zero(vh_bar):
        # a loss of s alone: the lecture's Ā = U diag(s̄) Vᵀ, one matrix product. (Decided on
        # the cotangents, not on compute_uv: under grad-of-grad the inner rule reads U and V.)
        u, _, vh = ans
        k = shape_of(s_bar)[-1]
        u1 = _cols(u, 0, k) if shape_of(u)[-1] > k else u
        vh1 = S.getitem(vh, (Ellipsis, slice(0, k), slice(None))) if shape_of(vh)[-2] > k else vh
        return [matmul(u1 * _row(s_bar), vh1)]
    u, v, m, n, k, f_minus, f_plus, s_inv = _svd_parts(ans, a)
    v_bar = _mT(vh_bar)
    u1, v1 = _cols(u, 0, k) if m > k else u, _cols(v, 0, k) if n > k else v
    if m > k and full_matrices:  # adjoint of U̇_⊥ = −U U̇ᵀ U_⊥:  Ū += −U_⊥ Ū_⊥ᵀ U
        u2, u2_bar = _cols(u, k, m), _cols(u_bar, k, m)
        u_bar = _cols(u_bar, 0, k) - matmul(u2, matmul(_mT(u2_bar), u1))
    if n > k and full_matrices:
        v2, v2_bar = _cols(v, k, n), _cols(v_bar, k, n)
        v_bar = _cols(v_bar, 0, k) - matmul(v2, matmul(_mT(v2_bar), v1))
    e, g = matmul(_mT(u1), u_bar), matmul(_mT(v1), v_bar)
    p_bar = _diag_embed(s_bar) + _sym(f_minus * (e + g)) + _skew(f_plus * (e - g))
    a_bar = matmul(matmul(u1, p_bar), _mT(v1))
    if m > n:
        proj = u_bar - matmul(u1, e)  # (I − UUᵀ) Ū
        a_bar = a_bar + matmul(proj * _row(s_inv), _mT(v1))
    if n > m:
        proj = v_bar - matmul(v1, g)  # (I − VVᵀ) V̄
        a_bar = a_bar + matmul(u1, _mT(proj * _row(s_inv)))
    return [a_bar]


svd_p = primitive("svd", _svd_impl, multiple_results=True, batch=STACK)
defjvp_full(svd_p, _svd_jvp)
defvjp_full(svd_p, _svd_vjp)


def svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Any:
    """``A = U diag(S) Vh`` as ``jnp.linalg.svd`` (same defaults); ``S`` alone if not compute_uv.

    Differentiable in forward and reverse mode for square and rectangular ``A`` and stacks of
    them; see the module docstring for repeated singular values and ``full_matrices=True``.
    """
    if hermitian:
        raise NotImplementedError("linalg.svd: hermitian=True is not supported; use eigh")
    if len(shape_of(a)) < 2:
        raise ValueError(
            f"linalg.svd: expected a matrix or a stack of matrices, got an array of "
            f"shape {shape_of(a)}"
        )
    if not compute_uv:
        return svd_p(a, full_matrices=False)[1]
    return SVDResult(*svd_p(a, full_matrices=bool(full_matrices)))


# ----------------------------------------------------------------------------------------------
# eigh
# ----------------------------------------------------------------------------------------------
def _eigh_impl(a: np.ndarray, lower: bool) -> tuple[np.ndarray, np.ndarray]:
    w, v = np.linalg.eigh(a, UPLO="L" if lower else "U")
    return w, v


def _eigh_factor(w: Any) -> Any:
    # F_ij = 1/(w_j − w_i), degenerate pairs → 0 (Giles 2008 §3.1; policy in the docstring)
    f_minus, _, _ = _gap_factors(w, np.abs(np.asarray(concrete(w))))
    return f_minus


def _eigh_jvp(dots: list[Any], ans: tuple[Any, Any], a: Any, lower: bool) -> tuple[Any, Any]:
    # ẇ = diag(Vᵀ Ȧ V), V̇ = V (F ∘ Vᵀ Ȧ V)  (JAX's `_eigh_jvp_rule`)
    (a_dot,) = dots
    w, v = ans
    p_dot = matmul(matmul(_mT(v), a_dot), v)
    return _diag_part(p_dot), matmul(v, _eigh_factor(w) * p_dot)


def _eigh_vjp(cts: tuple[Any, Any], ans: tuple[Any, Any], a: Any, lower: bool) -> list[Any]:
    # Ā = V (diag(w̄) + F ∘ VᵀV̄) Vᵀ  (Giles 2008 §3.1)
    w_bar, v_bar = cts
    w, v = ans
    inner = _diag_embed(w_bar) + _eigh_factor(w) * matmul(_mT(v), v_bar)
    return [matmul(matmul(v, inner), _mT(v))]


eigh_p = primitive("eigh", _eigh_impl, multiple_results=True, batch=STACK)
defjvp_full(eigh_p, _eigh_jvp)
defvjp_full(eigh_p, _eigh_vjp)


def eigh(a: Any, UPLO: str | None = None, symmetrize_input: bool = True) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, as ``jnp.linalg.eigh``."""
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(
            f"linalg.eigh: expected a square matrix or a stack of square matrices "
            f"(shape (..., n, n)), got an array of shape {shape}"
        )
    if symmetrize_input:
        a = _sym(a)
    w, v = eigh_p(a, lower=UPLO in (None, "L"))
    return EighResult(w, v)
