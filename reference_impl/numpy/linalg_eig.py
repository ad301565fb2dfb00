"""``linalg.eig`` and ``linalg.eigvals`` of a general square matrix (complex results, as JAX).

The primitive returns ``(w, V, V⁻¹)``; ``V⁻¹`` is kept so that the rules need no complex solve.
With ``P = V⁻¹ Ȧ V`` and ``F_ij = 1/(w_j − w_i)`` (0 on the diagonal), JAX's ``eig_jvp_rule``
and ``_eig_vec_jvp`` (jax/_src/lax/linalg.py; Giles 2008, §3.1):

* ``ẇ = diag(P)``;
* ``V̇ = U + V diag(c)``, ``U = V (F ∘ P)``, where ``c`` fixes LAPACK's normalisation (unit
  2-norm, largest-magnitude component real): ``c_j = −Re(v_j^H u_j) − i Im(U_kj) / Re(V_kj)``,
  ``k = argmax_i |V_ij|``.
* VJP (the transpose in JAX's convention, pairing ``Re Σ x·y``): ``c̄_j = Σ_i V_ij V̄_ij``,
  ``Ū = V̄ − Re(c̄) ∘ conj(V) − i M ∘ Im(c̄)/Re(V_k)`` (``M`` the argmax mask),
  ``Ā = V⁻ᵀ (diag(w̄) + F ∘ (Vᵀ Ū)) Vᵀ``; for a real ``A`` its real part.

Eigenvector derivatives hold for distinct eigenvalues only, which cannot be checked; like
``jax.lax.linalg.eig``, they are opt-in (``enable_eigvec_derivs=True``); otherwise a derivative
that reaches the eigenvectors raises (forward mode: any derivative of ``eig``, as
``jnp.linalg.eig``). ``eigvals`` differentiates freely (its own derivatives use ``V̇``: JAX
refuses its second derivatives, this engine gives them under the same distinctness assumption
as the first).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..primitives import defjvp_full, defvjp_full, primitive
from ..tracers import concrete, shape_of
from . import elementwise as E
from . import elementwise_more as EM
from . import reductions as R
from . import shape_ops as S
from .batching_rules import STACK
from .contractions import matmul

__all__ = ["EigResult", "eig", "eigvals"]

_EIGVEC_ERROR = (
    "linalg.eig: derivatives of non-symmetric eigenvectors are only valid for distinct "
    "eigenvalues, which cannot be checked; pass enable_eigvec_derivs=True to opt in (as "
    "jax.lax.linalg.eig), or use linalg.eigvals if only the eigenvalues are needed"
)


class EigResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


def _mT(x: Any) -> Any:
    return S.swapaxes(x, -1, -2)


def _eig_impl(a: Any, vectors: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.asarray(a)
    if not np.all(np.isfinite(a)):
        raise np.linalg.LinAlgError("linalg.eig: the matrix has non-finite entries")
    w, v = np.linalg.eig(a)
    v = v.astype(np.result_type(v, np.complex128))
    return w.astype(v.dtype), v, np.linalg.inv(v)


def _f_matrix(w: Any, n: int) -> Any:
    eye = np.eye(n)
    return E.reciprocal(eye + S.expand_dims(w, -2) - S.expand_dims(w, -1)) - eye


def _argmax_mask(v: Any) -> np.ndarray:
    cv = np.abs(concrete(v))
    k = np.argmax(cv, axis=-2)
    return (np.arange(cv.shape[-2])[:, None] == k[..., None, :]).astype(float)


def _eig_jvp(dots: list[Any], ans: Any, a: Any, vectors: bool) -> tuple[Any, Any, Any]:
    (a_dot,) = dots
    w, v, vinv = ans
    n = shape_of(a)[-1]
    if not vectors:  # forward mode cannot tell whether V is used: refuse, as JAX does
        raise NotImplementedError(_EIGVEC_ERROR)
    p = matmul(matmul(vinv, a_dot), v)
    w_dot = S.diagonal(p, axis1=-2, axis2=-1)
    u = matmul(v, _f_matrix(w, n) * p)
    mask = _argmax_mask(v)
    c = -EM.real(R.sum(EM.conj(v) * u, axis=-2)) - 1j * EM.imag(R.sum(mask * u, axis=-2)) / EM.real(
        R.sum(mask * v, axis=-2)
    )
    v_dot = u + v * S.expand_dims(c, -2)
    return w_dot, v_dot, -matmul(matmul(vinv, v_dot), vinv)


def _eig_vjp(ct: Any, ans: Any, a: Any, vectors: bool) -> list[Any]:
    w_bar, v_bar, vinv_bar = ct
    w, v, vinv = ans
    n = shape_of(a)[-1]
    v_bar = v_bar - matmul(matmul(_mT(vinv), vinv_bar), _mT(vinv))
    p_bar = S.expand_dims(w_bar, -1) * np.eye(n)
    if np.any(concrete(v_bar) != 0):
        if not vectors:
            raise NotImplementedError(_EIGVEC_ERROR)
        mask = _argmax_mask(v)
        c_bar = S.expand_dims(R.sum(v * v_bar, axis=-2), -2)
        r = S.expand_dims(EM.real(R.sum(mask * v, axis=-2)), -2)
        u_bar = v_bar - EM.real(c_bar) * EM.conj(v) - 1j * mask * EM.imag(c_bar) / r
        p_bar = p_bar + _f_matrix(w, n) * matmul(_mT(v), u_bar)
    return [matmul(matmul(_mT(vinv), p_bar), _mT(v))]


eig_p = primitive("eig", _eig_impl, multiple_results=True, batch=STACK)
defjvp_full(eig_p, _eig_jvp)
defvjp_full(eig_p, _eig_vjp)


def _check(a: Any, name: str) -> None:
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(
            f"linalg.{name}: expected a square matrix (or a stack of them), got shape {shape}"
        )


def eig(a: Any, enable_eigvec_derivs: bool = False) -> EigResult:
    """``A V = V diag(w)``, complex ``w`` and ``V`` (unit columns, largest component real).
    ``enable_eigvec_derivs`` (not in ``jnp``): differentiate the eigenvectors too."""
    _check(a, "eig")
    w, v, _ = eig_p(a, vectors=bool(enable_eigvec_derivs))
    return EigResult(w, v)


def eigvals(a: Any) -> Any:
    """The eigenvalues ``w`` (complex); ``ẇ_j = (V⁻¹ Ȧ V)_jj``."""
    _check(a, "eigvals")
    return eig_p(a, vectors=True)[0]
