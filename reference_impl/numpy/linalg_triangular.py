"""Triangular solves and the Cholesky factorisation, with differentiable adjoints.

``solve_triangular`` reads only one triangle of ``T``, so only that triangle of ``Ṫ`` and of
``T̄`` counts; its rules solve again with the same triangle (``trans=1`` for ``Tᵀ``).
``cholesky``'s adjoint (Murray 2016, "Differentiation of the Cholesky decomposition") uses
two of these triangular solves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from ..primitives import defjvp, defjvp_full, defvjp, defvjp_full, primitive
from ..tracers import shape_of
from . import elementwise as E
from .batching_rules import STACK
from .contractions import matmul
from .linalg_solve import _check_square, _mT, _op

__all__ = ["cholesky", "cholesky_p", "solve_triangular_p"]


def _tri(x: Any, lower: bool) -> Any:
    n = shape_of(x)[-1]
    mask = np.tril(np.ones((n, n), dtype=bool)) if lower else np.triu(np.ones((n, n), dtype=bool))
    return E.where(mask, x, 0.0)


def _tri_solve_impl(t: np.ndarray, b: np.ndarray, lower: bool, trans: int) -> np.ndarray:
    batch = np.broadcast_shapes(t.shape[:-2], b.shape[:-2])
    if not batch:
        return scipy.linalg.solve_triangular(t, b, trans=trans, lower=lower, check_finite=False)
    ts = np.broadcast_to(t, batch + t.shape[-2:])
    bs = np.broadcast_to(b, batch + b.shape[-2:])
    out = np.empty(bs.shape, dtype=np.result_type(ts, bs, np.float64))
    for idx in np.ndindex(batch):
        out[idx] = scipy.linalg.solve_triangular(
            ts[idx], bs[idx], trans=trans, lower=lower, check_finite=False
        )
    return out


def _tri_solve_jvp(dots: list[Any], x: Any, t: Any, b: Any, lower: bool, trans: int) -> Any:
    # only the triangle of t is read, so only the triangle of ṫ counts: ẋ = op(T)⁻¹(ḃ − op(Ṫ)x)
    t_dot, b_dot = dots
    rhs = b_dot if b_dot is not None else 0.0
    if t_dot is not None:
        rhs = rhs - matmul(_op(_tri(t_dot, lower), trans), x)
    return solve_triangular_p(t, rhs, lower=lower, trans=trans)


def _tri_solve_vjp(ct: Any, x: Any, t: Any, b: Any, lower: bool, trans: int) -> list[Any]:
    b_bar = solve_triangular_p(t, ct, lower=lower, trans=1 - trans)
    t_bar = -matmul(x, _mT(b_bar)) if trans else -matmul(b_bar, _mT(x))
    return [_tri(t_bar, lower), b_bar]


solve_triangular_p = primitive("solve_triangular", _tri_solve_impl, batch=STACK)
defjvp_full(solve_triangular_p, _tri_solve_jvp)
defvjp_full(solve_triangular_p, _tri_solve_vjp)


def _phi(x: Any) -> Any:
    """Φ(X): the lower triangle of X with its diagonal halved (Murray 2016)."""
    n = shape_of(x)[-1]
    return x * (np.tril(np.ones((n, n))) - 0.5 * np.eye(n))


def _cholesky_jvp(a_dot: Any, l: Any, a: Any) -> Any:
    # L̇ = L Φ(L⁻¹ Ȧ L⁻ᵀ)  (Murray 2016, arXiv:1602.07527; JAX's `_cholesky_jvp_rule`)
    y = solve_triangular_p(l, a_dot, lower=True, trans=0)  # L⁻¹ Ȧ
    x = _mT(solve_triangular_p(l, _mT(y), lower=True, trans=0))  # L⁻¹ Ȧ L⁻ᵀ
    return matmul(l, _phi(x))


def _cholesky_vjp(ct: Any, l: Any, a: Any) -> Any:
    # the adjoint of the JVP: Ā = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹  (Murray 2016 eq. 10, before symmetrising)
    p = _phi(matmul(_mT(l), _tri(ct, lower=True)))
    z = solve_triangular_p(l, p, lower=True, trans=1)  # L⁻ᵀ P
    return _mT(solve_triangular_p(l, _mT(z), lower=True, trans=1))  # L⁻ᵀ P L⁻¹


cholesky_p = primitive("cholesky", np.linalg.cholesky, batch=STACK)
defjvp(cholesky_p, _cholesky_jvp)
defvjp(cholesky_p, _cholesky_vjp)


def cholesky(a: Any, *, upper: bool = False, symmetrize_input: bool = True) -> Any:
    """``L`` with ``A = L Lᵀ`` (``Lᵀ`` when ``upper``). Raises ``LinAlgError`` unless ``A`` is SPD.

    As in JAX, the input is first symmetrised, ``A ← (A + Aᵀ)/2``, so the gradient is
    symmetric: ``Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹)``.
    """
    _check_square(a, "cholesky")
    if symmetrize_input:
        a = (a + _mT(a)) * 0.5
    l = cholesky_p(a)
    return _mT(l) if upper else l
