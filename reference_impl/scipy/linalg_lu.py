"""``jax.scipy.linalg``'s factorisations: ``cholesky``, ``cho_factor``/``cho_solve``,
``solve_triangular``, ``lu``, ``lu_factor``/``lu_solve``.

Cholesky and the triangular solves reuse the primitives of :mod:`reference_impl.numpy.linalg`
(their rules: Murray 2016; Giles 2008). ``lu`` is a primitive here, ``A = P L U`` with ``L``
unit lower and ``U`` upper triangular (square ``A``). With ``F = L⁻¹ Pᵀ Ȧ U⁻¹``:

* JVP: ``L̇ = L · tril₋₁(F)``, ``U̇ = triu(F) · U`` (``P`` is piecewise constant);
* VJP (the adjoint): ``F̄ = tril₋₁(Lᵀ L̄) + triu(Ū Uᵀ)``, ``Ā = P L⁻ᵀ F̄ U⁻ᵀ``;
* batching: the batch is one more stack axis (SciPy's ``lu`` takes stacks).

``lu_factor`` packs ``L`` and ``U`` into one matrix (LAPACK's ``getrf`` pivots, as JAX and
SciPy); ``lu_solve`` undoes the row swaps and solves with the two triangles.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from ..batching_numpy import BatchTracer
from ..numpy import elementwise as E
from ..numpy import shape_ops as S
from ..numpy.batching_rules import STACK
from ..numpy.contractions import matmul
from ..numpy.index_tricks import take_along_axis_p
from ..numpy.linalg_solve import _check_square
from ..numpy.linalg_triangular import cholesky_p, solve_triangular_p
from ..numpy.shape_ops import move
from ..primitives import defjvp_full, defvjp_full, primitive
from ..tracers import concrete, shape_of

__all__ = ["cho_factor", "cho_solve", "cholesky", "lu", "lu_factor", "lu_solve", "solve_triangular"]


def _mT(x: Any) -> Any:
    return S.swapaxes(x, -1, -2)


def _mask(n: int, k: int, lower: bool) -> np.ndarray:
    return np.tril(np.ones((n, n), bool), k) if lower else np.triu(np.ones((n, n), bool), k)


# --- Cholesky and triangular solves ---------------------------------------------------------------
def cholesky(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> Any:
    """``L`` (``lower``) or ``U = Lᵀ`` with ``A = L Lᵀ``. Like JAX, the input is not
    symmetrised: the value reads one triangle, the derivative takes ``Ȧ`` as it comes."""
    _check_square(a, "cholesky")
    return cholesky_p(a) if lower else _mT(cholesky_p(_mT(a)))


def cho_factor(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> tuple[Any, bool]:
    """``(c, lower)`` for :func:`cho_solve`; ``c`` is the Cholesky factor (zeros elsewhere)."""
    return cholesky(a, lower=lower), lower


def cho_solve(
    c_and_lower: tuple[Any, bool], b: Any, overwrite_b: bool = False, check_finite: bool = True
) -> Any:
    """``x = A⁻¹ b`` from ``cho_factor(A)``: two triangular solves."""
    c, lower = c_and_lower
    vector = len(shape_of(b)) == 1
    rhs = S.expand_dims(b, -1) if vector else b
    if lower:  # A = L Lᵀ
        x = solve_triangular_p(
            c, solve_triangular_p(c, rhs, lower=True, trans=0), lower=True, trans=1
        )
    else:  # A = Uᵀ U
        x = solve_triangular_p(
            c, solve_triangular_p(c, rhs, lower=False, trans=1), lower=False, trans=0
        )
    return S.reshape(x, shape_of(x)[:-1]) if vector else x


_TRANS = {0: 0, 1: 1, 2: 1, "N": 0, "T": 1, "C": 1}


def solve_triangular(
    a: Any,
    b: Any,
    trans: Any = 0,
    lower: bool = False,
    unit_diagonal: bool = False,
    overwrite_b: bool = False,
    debug: Any = None,
    check_finite: bool = True,
) -> Any:
    """``x = op(A)⁻¹ b`` for triangular ``A`` (``op`` = identity or transpose, ``trans``)."""
    if trans not in _TRANS:
        raise ValueError(f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    n = _check_square(a, "solve_triangular")
    if unit_diagonal:
        a = E.where(np.eye(n, dtype=bool), 1.0, a)
    vector = len(shape_of(b)) == 1
    x = solve_triangular_p(
        a, S.expand_dims(b, -1) if vector else b, lower=lower, trans=_TRANS[trans]
    )
    return S.reshape(x, shape_of(x)[:-1]) if vector else x


# --- LU -------------------------------------------------------------------------------------------
def _lu_impl(a: Any) -> tuple[np.ndarray, ...]:
    a = np.asarray(a, dtype=np.result_type(a, np.float64))
    p, l, u = scipy.linalg.lu(a)
    return p, l, u, _swaps(np.argmax(p, axis=-2))


def _swaps(perm: np.ndarray) -> np.ndarray:
    """LAPACK's pivots from a row order ``perm`` (row ``i`` of ``Pᵀ A`` is row ``perm[i]`` of
    ``A``): ``piv[i]`` is the row swapped with row ``i`` at step ``i`` (stacks too)."""
    n = perm.shape[-1]
    cur = np.broadcast_to(np.arange(n), perm.shape).copy()  # row of A now at each position
    where = cur.copy()  # position of each row of A
    piv = np.empty(perm.shape, dtype=np.int32)
    rows = np.indices(perm.shape[:-1])
    for i in range(n):
        j = where[(*rows, perm[..., i])]
        piv[..., i] = j
        ri, rj = cur[..., i].copy(), cur[(*rows, j)].copy()
        cur[..., i], cur[(*rows, j)] = rj, ri
        where[(*rows, ri)], where[(*rows, rj)] = j, i
    return piv


def _lu_jvp(dots: list[Any], ans: Any, a: Any) -> tuple[Any, ...]:
    (a_dot,) = dots
    p, l, u, piv = ans
    n = shape_of(a)[-1]
    y = solve_triangular_p(l, matmul(_mT(p), a_dot), lower=True, trans=0)  # L⁻¹ Pᵀ Ȧ
    f = _mT(solve_triangular_p(u, _mT(y), lower=False, trans=1))  # … U⁻¹
    l_dot = matmul(l, E.where(_mask(n, -1, True), f, 0.0))
    u_dot = matmul(E.where(_mask(n, 0, False), f, 0.0), u)
    return np.zeros(shape_of(p)), l_dot, u_dot, np.zeros(shape_of(piv))


def _lu_vjp(ct: Any, ans: Any, a: Any) -> list[Any]:
    _, l_bar, u_bar, _ = ct
    p, l, u, _ = ans
    n = shape_of(a)[-1]
    f_bar = E.where(_mask(n, -1, True), matmul(_mT(l), l_bar), 0.0) + E.where(
        _mask(n, 0, False), matmul(u_bar, _mT(u)), 0.0
    )
    z = solve_triangular_p(l, f_bar, lower=True, trans=1)  # L⁻ᵀ F̄
    w = _mT(solve_triangular_p(u, _mT(z), lower=False, trans=0))  # … U⁻ᵀ
    return [matmul(p, w)]


lu_p = primitive("lu", _lu_impl, multiple_results=True, batch=STACK)
defjvp_full(lu_p, _lu_jvp)
defvjp_full(lu_p, _lu_vjp)


def lu(
    a: Any, permute_l: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> Any:
    """``(P, L, U)`` with ``A = P L U`` (``(P L, U)`` with ``permute_l``); square ``A``."""
    _check_square(a, "lu")
    p, l, u, _ = lu_p(a)
    return (matmul(p, l), u) if permute_l else (p, l, u)


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> tuple[Any, Any]:
    """``(lu, piv)``: ``L`` below the diagonal (unit diagonal implied), ``U`` on and above it,
    and LAPACK's row interchanges ``piv`` (row ``i`` was swapped with row ``piv[i]``)."""
    n = _check_square(a, "lu_factor")
    _, l, u, piv = lu_p(a)
    return E.where(_mask(n, -1, True), l, 0.0) + u, piv


def _perm(piv: np.ndarray) -> np.ndarray:
    """The row order ``Pᵀ`` applies: the swaps of ``piv`` done in turn on ``0 … n−1`` (for a
    stack of pivots, on each)."""
    n = piv.shape[-1]
    order = np.broadcast_to(np.arange(n), piv.shape).copy()
    rows = np.indices(piv.shape[:-1])
    for i in range(n):
        j = piv[..., i]
        oi, oj = order[..., i].copy(), order[(*rows, j)].copy()
        order[..., i], order[(*rows, j)] = oj, oi
    return order


def _row_order(piv: Any) -> Any:
    """:func:`_perm` of the pivots; under ``vmap`` for the whole batch at once."""
    c = concrete(piv)
    if isinstance(c, BatchTracer):  # the only tracer concrete returns
        return BatchTracer(c._trace, _perm(np.asarray(move(c.val, c.bdim, 0))), 0)
    return _perm(np.asarray(c))


def lu_solve(
    lu_and_piv: tuple[Any, Any],
    b: Any,
    trans: int = 0,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """``x = A⁻¹ b`` (``trans=0``) or ``A⁻ᵀ b`` (1, 2) from ``lu_factor(A)``."""
    lu_mat, piv = lu_and_piv
    n = shape_of(lu_mat)[-1]
    l = E.where(_mask(n, -1, True), lu_mat, 0.0) + np.eye(n)
    u = E.where(_mask(n, 0, False), lu_mat, 0.0)
    order = _row_order(piv)
    vector = len(shape_of(b)) == 1
    rhs = S.expand_dims(b, -1) if vector else b
    if _TRANS[trans] == 0:  # A = P L U: x = U⁻¹ L⁻¹ Pᵀ b
        y = solve_triangular_p(
            l, take_along_axis_p(rhs, order[:, None], axis=0), lower=True, trans=0
        )
        x = solve_triangular_p(u, y, lower=False, trans=0)
    else:  # Aᵀ = Uᵀ Lᵀ Pᵀ: x = P L⁻ᵀ U⁻ᵀ b
        y = solve_triangular_p(u, rhs, lower=False, trans=1)
        back = np.argsort(order, axis=-1)
        x = take_along_axis_p(solve_triangular_p(l, y, lower=True, trans=1), back[:, None], axis=0)
    return S.reshape(x, shape_of(x)[:-1]) if vector else x
