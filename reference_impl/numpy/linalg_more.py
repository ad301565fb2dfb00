"""``qr``, ``pinv`` (primitives with hand-written adjoints), and ``eigvalsh``, ``lstsq``,
``matrix_power``, ``multi_dot``, ``norm``, ``cond``, ``matrix_rank`` (compositions).

QR (reduced, ``A = QR`` with ``A`` m×n, m ≥ n). JVP as JAX's ``qr_jvp_rule`` (Walter & Lehmann
2018, "Algorithmic differentiation of linear algebra functions with application in optimum
experimental design"): with ``C = Qᵀ Ȧ R⁻¹`` and ``Ω = tril(C, −1) − tril(C, −1)ᵀ``,

    Q̇ = Q (Ω − C) + Ȧ R⁻¹,        Ṙ = (C − Ω) R.

VJP, the adjoint (Seeger et al. 2017, "Auto-differentiating linear algebra"; Liao et al. 2019,
"Differentiable programming tensor networks", eq. (10)): with ``M = R R̄ᵀ − Q̄ᵀ Q``,

    Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ,    copyltu(M) = tril(M) + tril(M, −1)ᵀ.

For m < n the derivative is not defined here (as in JAX).

Pseudo-inverse ``P = A⁺`` (Golub & Pereyra 1973, "The differentiation of pseudo-inverses and
nonlinear least squares problems", eq. 4.12; differentiable where the rank is locally constant):

    Ṗ = −P Ȧ P + P Pᵀ Ȧᵀ (I − A P) + (I − P A) Ȧᵀ Pᵀ P,
    Ā = −Pᵀ P̄ Pᵀ + (I − A P) P̄ᵀ P Pᵀ + Pᵀ P P̄ᵀ (I − P A).

Both rules use this package's operations (``matmul``, the triangular solve of :mod:`.linalg`),
so derivatives of derivatives work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ..primitives import defjvp, defjvp_full, defvjp, defvjp_full, primitive
from ..tracers import Tracer, concrete, shape_of
from . import elementwise as E
from . import reductions as R
from . import shape_ops as S
from .batching_rules import STACK
from .contractions import matmul
from .linalg_solve import _check_square, inv
from .linalg_svd import eigh, svd
from .linalg_triangular import solve_triangular_p


def _mT(x: Any) -> Any:
    return S.swapaxes(x, -1, -2)


def _tril(x: Any, k: int = 0) -> Any:
    n = shape_of(x)[-1]
    return E.where(np.tri(n, n, k, dtype=bool), x, 0.0)


def _right_solve_r(b: Any, r: Any, transpose: bool) -> Any:
    """``B R⁻¹`` (or ``B R⁻ᵀ``) for upper-triangular ``R``, by one triangular solve."""
    return _mT(solve_triangular_p(r, _mT(b), lower=False, trans=0 if transpose else 1))


# ----------------------------------------------------------------------------------------------
# qr
# ----------------------------------------------------------------------------------------------
class QRResult(NamedTuple):
    Q: Any
    R: Any


def _qr_impl(a: np.ndarray, full: bool) -> tuple[np.ndarray, np.ndarray]:
    q, r = np.linalg.qr(a, mode="complete" if full else "reduced")
    return q, r


def _qr_check(a: Any, full: bool) -> None:
    m, n = shape_of(a)[-2:]
    if m < n or (full and m != n):
        raise NotImplementedError(
            f"JVP/VJP of qr not defined for a matrix of shape {(m, n)} "
            f"with mode={'complete' if full else 'reduced'!r}: only m ≥ n, "
            "reduced (as in JAX)"
        )


def _qr_jvp(dots: list[Any], ans: tuple[Any, Any], a: Any, full: bool) -> tuple[Any, Any]:
    _qr_check(a, full)
    (a_dot,) = dots
    q, r = ans
    dx_rinv = _right_solve_r(a_dot, r, transpose=False)  # Ȧ R⁻¹
    c = matmul(_mT(q), dx_rinv)  # Qᵀ Ȧ R⁻¹
    low = _tril(c, -1)
    omega = low - _mT(low)  # skew-symmetric
    return matmul(q, omega - c) + dx_rinv, matmul(c - omega, r)


def _qr_vjp(cts: tuple[Any, Any], ans: tuple[Any, Any], a: Any, full: bool) -> list[Any]:
    _qr_check(a, full)
    q_bar, r_bar = cts
    q, r = ans
    m = matmul(r, _mT(r_bar)) - matmul(_mT(q_bar), q)
    copyltu = _tril(m) + _mT(_tril(m, -1))
    return [_right_solve_r(q_bar + matmul(q, copyltu), r, transpose=True)]


qr_p = primitive("qr", _qr_impl, multiple_results=True, batch=STACK)
defjvp_full(qr_p, _qr_jvp)
defvjp_full(qr_p, _qr_vjp)


def qr(a: Any, mode: str = "reduced") -> Any:
    """``A = QR`` with orthonormal columns in ``Q`` and upper-triangular ``R`` (stacks work).
    ``mode``: 'reduced' (Q m×k, R k×n), 'complete' (Q m×m), or 'r' (R only)."""
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    if len(shape_of(a)) < 2:
        raise ValueError(f"linalg.qr: expected a matrix (..., m, n), got shape {shape_of(a)}")
    full = mode == "complete" and shape_of(a)[-2] > shape_of(a)[-1]
    q, r = qr_p(a, full=full)
    return r if mode == "r" else QRResult(q, r)


# ----------------------------------------------------------------------------------------------
# pinv
# ----------------------------------------------------------------------------------------------
def _pinv_impl(a: np.ndarray, rtol: float) -> np.ndarray:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    cutoff = rtol * np.max(s, axis=-1, keepdims=True, initial=0.0)
    s_inv = np.where(s > cutoff, 1.0 / np.where(s > cutoff, s, 1.0), 0.0)
    return np.swapaxes(vh, -1, -2) @ (s_inv[..., None] * np.swapaxes(u, -1, -2))


def _eye_like(n: int) -> np.ndarray:
    return np.eye(n)


def _pinv_jvp(a_dot: Any, p: Any, a: Any, rtol: float) -> Any:
    m, n = shape_of(a)[-2:]
    q = _eye_like(m) - matmul(a, p)  # I − A P
    r = _eye_like(n) - matmul(p, a)  # I − P A
    a_dot_t = _mT(a_dot)
    return (
        -matmul(matmul(p, a_dot), p)
        + matmul(matmul(p, _mT(p)), matmul(a_dot_t, q))
        + matmul(r, matmul(a_dot_t, matmul(_mT(p), p)))
    )


def _pinv_vjp(ct: Any, p: Any, a: Any, rtol: float) -> Any:
    m, n = shape_of(a)[-2:]
    q = _eye_like(m) - matmul(a, p)
    r = _eye_like(n) - matmul(p, a)
    ct_t, p_t = _mT(ct), _mT(p)
    return (
        -matmul(matmul(p_t, ct), p_t)
        + matmul(q, matmul(ct_t, matmul(p, p_t)))
        + matmul(matmul(p_t, p), matmul(ct_t, r))
    )


pinv_p = primitive("pinv", _pinv_impl, batch=STACK)
defjvp(pinv_p, _pinv_jvp)
defvjp(pinv_p, _pinv_vjp)


def pinv(a: Any, rtol: Any = None, hermitian: bool = False, *, rcond: Any = None) -> Any:
    """The Moore–Penrose pseudo-inverse ``A⁺ = V diag(1/σ) Uᵀ``, singular values below
    ``rtol · σ_max`` dropped (JAX's default ``rtol = 10 · max(m, n) · ε``)."""
    shape = shape_of(a)
    if len(shape) < 2:
        raise ValueError(f"linalg.pinv: expected a matrix (..., m, n), got shape {shape}")
    tol = rcond if rtol is None else rtol
    if tol is None:
        tol = 10.0 * max(shape[-2:]) * np.finfo(np.float64).eps
    return pinv_p(a, rtol=float(tol))


# ----------------------------------------------------------------------------------------------
# compositions
# ----------------------------------------------------------------------------------------------
def eigvalsh(a: Any, UPLO: str | None = None, symmetrize_input: bool = True) -> Any:
    """The eigenvalues of a symmetric matrix (or a stack), ascending: ``w̄ ↦ V diag(w̄) Vᵀ``."""
    return eigh(a, UPLO, symmetrize_input).eigenvalues


class LstsqResult(NamedTuple):
    x: Any
    residuals: Any
    rank: Any
    s: Any


def lstsq(a: Any, b: Any, rcond: Any = None) -> LstsqResult:
    """The least-squares solution ``x = A⁺ b`` minimising ``‖A x − b‖``, with the residuals
    ``Σ (b − A x)²`` (empty unless A has full column rank and m > n), the rank and the
    singular values of ``A`` (as ``jnp.linalg.lstsq``; differentiable in x, residuals and s)."""
    m, n = shape_of(a)[-2:]
    if len(shape_of(a)) != 2:
        raise ValueError(f"linalg.lstsq: a must be a matrix, got shape {shape_of(a)}")
    tol = np.finfo(np.float64).eps * max(m, n) if rcond is None else rcond
    x = matmul(pinv(a, rtol=tol), b)
    s = svd(a, compute_uv=False)
    sc = concrete(s)  # under vmap, a batch: its NumPy reductions are batched
    rank = np.sum(sc > tol * np.max(sc, initial=0.0))
    rank = rank if isinstance(rank, Tracer) else np.asarray(rank)
    if rank == n and m > n:
        res = b - matmul(a, x)
        resid = R.sum(res * res, axis=0)
        if len(shape_of(b)) == 1:
            resid = S.reshape(resid, (1,))
    else:
        resid = np.zeros((0,))
    return LstsqResult(x, resid, rank, s)


def matrix_power(a: Any, n: int) -> Any:
    """``Aⁿ`` by repeated squaring (``n < 0``: powers of ``A⁻¹``; ``n = 0``: the identity)."""
    size = _check_square(a, "matrix_power")
    n = int(n)
    if n == 0:
        return np.broadcast_to(np.eye(size), shape_of(a)).copy()
    if n < 0:
        a, n = inv(a), -n
    result = None
    while n:
        if n & 1:
            result = a if result is None else matmul(result, a)
        n >>= 1
        if n:
            a = matmul(a, a)
    return result


def multi_dot(arrays: Any) -> Any:
    """``A₁ A₂ ⋯ A_k`` (1-D first and last arrays are a row and a column vector)."""
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("linalg.multi_dot: needs at least two arrays")
    out = arrays[0]
    for x in arrays[1:]:
        out = matmul(out, x)
    return out


def matrix_rank(M: Any, rtol: Any = None, *, tol: Any = None) -> Any:
    """The number of singular values above ``rtol · σ_max`` (default ``rtol = ε·max(m, n)``);
    an integer, not differentiable."""
    s = np.linalg.svd(np.asarray(concrete(M), dtype=float), compute_uv=False)
    if tol is not None:
        return np.sum(s > tol, axis=-1)
    r = np.finfo(np.float64).eps * max(shape_of(M)[-2:]) if rtol is None else rtol
    return np.sum(
        s > np.asarray(r)[..., None] * np.max(s, axis=-1, keepdims=True, initial=0.0), axis=-1
    )


def cond(x: Any, p: Any = None) -> Any:
    """The condition number ``‖x‖ ‖x⁻¹‖``: ``σ_max/σ_min`` for ``p`` in (None, 2), ``σ_min/σ_max``
    for −2 (from the singular values, differentiable), else with ``norm`` and ``inv``."""
    if p in (None, 2, -2):
        s = svd(x, compute_uv=False)
        hi, lo = S.getitem(s, (Ellipsis, 0)), S.getitem(s, (Ellipsis, -1))
        with np.errstate(divide="ignore"):
            return hi / lo if p != -2 else lo / hi
    _check_square(x, "cond")
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))


# ----------------------------------------------------------------------------------------------
# norm
# ----------------------------------------------------------------------------------------------
def _axes_tuple(nd: int, axis: Any) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(nd))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(int(a) % nd for a in axes)


def _vector_norm(x: Any, ord: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    if ord is None or ord == 2:
        return E.sqrt(R.sum(x * x, axis=axes, keepdims=keepdims))
    if ord == 1:
        return R.sum(E.abs(x), axis=axes, keepdims=keepdims)
    if ord == np.inf:
        return R.max(E.abs(x), axis=axes, keepdims=keepdims)
    if ord == -np.inf:
        return R.min(E.abs(x), axis=axes, keepdims=keepdims)
    if ord == 0:  # the number of non-zeros: piecewise constant
        return np.sum(concrete(x) != 0, axis=axes, keepdims=keepdims).astype(float)
    if isinstance(ord, str):
        raise ValueError(f"linalg.norm: ord={ord!r} is a matrix norm; pass a 2-tuple axis")
    return R.sum(E.abs(x) ** ord, axis=axes, keepdims=keepdims) ** (1.0 / ord)


def _matrix_norm(x: Any, ord: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    r, c = axes
    nd = len(shape_of(x))
    if ord is None or ord == "fro":
        out = E.sqrt(R.sum(x * x, axis=axes, keepdims=True))
    elif ord in (1, -1, np.inf, -np.inf):
        inner, outer = (r, c) if ord in (1, -1) else (c, r)
        sums = R.sum(E.abs(x), axis=inner, keepdims=True)
        out = (R.max if ord > 0 else R.min)(sums, axis=outer, keepdims=True)
    elif ord in ("nuc", 2, -2):
        perm = [i for i in range(nd) if i not in axes] + [r, c]
        s = svd(S.transpose(x, perm), compute_uv=False)
        reducers: dict[Any, Callable[..., Any]] = {"nuc": R.sum, 2: R.max, -2: R.min}
        out = reducers[ord](s, axis=-1)
        out = S.reshape(out, tuple(1 if i in axes else n for i, n in enumerate(shape_of(x))))
    else:
        raise ValueError(f"linalg.norm: invalid ord={ord!r} for a matrix norm")
    return out if keepdims else S.squeeze(out, axes)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """Vector and matrix norms as ``jnp.linalg.norm``.

    Vectors: ``ord`` ∈ {None/2, 1, ∞, −∞, 0, p}. Matrices (2-D ``x`` or a 2-tuple ``axis``):
    'fro' (``√Σx²``), 'nuc' (``Σσᵢ``), 2 (``σ_max``), −2 (``σ_min``), 1/−1 (max/min column
    sum of ``|x|``), ∞/−∞ (max/min row sum). The spectral and nuclear norms go through
    :func:`svd`: their gradients are ``U diag(∂L/∂σ) Vᵀ`` (``u₁v₁ᵀ`` for ord=2).
    """
    nd = len(shape_of(x))
    if axis is None and ord is None:
        return E.sqrt(R.sum(x * x, axis=None, keepdims=keepdims))
    axes = _axes_tuple(nd, axis)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(
        f"linalg.norm: axis must name one or two axes, got {axis!r} for an array "
        f"of shape {shape_of(x)}"
    )
