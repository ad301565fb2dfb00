"""Linear systems from one LU factorisation: ``solve``, ``inv``, ``det``, ``slogdet``.

The lecture's linear-system rule (topic 10): for ``x = A⁻¹ b``,

    JVP:  ẋ = A⁻¹ (ḃ − Ȧ x)            VJP:  b̄ = A⁻ᵀ x̄,   Ā = −b̄ xᵀ

(Giles 2008, "An extended collection of matrix derivative results", §2.2). Every rule here
*reuses the forward pass's LU factorisation*: :func:`solve` factorises ``A`` once
(``scipy.linalg.lu_factor``) and hands the factors to the primitive ``lu_solve`` as a
parameter, a residual the tape keeps. Its rules call ``lu_solve`` again with the same factors
(``trans=1`` solves with ``Aᵀ``), and ``lu_solve`` is itself differentiable in ``A`` and ``b``,
so derivatives of derivatives never factorise again either. ``inv``, ``det`` and ``slogdet``
are built on the same factors. Under ``vmap`` the factors of a batch are computed by the
batching rule (:data:`LU_STACK`). The public namespace is :mod:`.linalg`.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np
import scipy.linalg

from ..primitives import Primitive, RuleFamily, defjvp, defjvp_full, defvjp, defvjp_full, primitive
from ..tracers import Tracer, concrete, shape_of
from . import reductions as R
from . import shape_ops as S
from .batching_rules import ranks
from .contractions import matmul
from .shape_ops import move, pad_batch

__all__ = ["LUFactors", "SlogdetResult", "det", "inv", "slogdet", "solve"]


def _mT(x: Any) -> Any:
    return S.swapaxes(x, -1, -2)


def _check_square(a: Any, name: str) -> int:
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(
            f"linalg.{name}: expected a square matrix or a stack of square matrices "
            f"(shape (..., n, n)), got an array of shape {shape}"
        )
    return shape[-1]


# ----------------------------------------------------------------------------------------------
# LU factors: computed once per forward call, kept on the tape as a primitive parameter
# ----------------------------------------------------------------------------------------------
class LUFactors:
    """``scipy.linalg.lu_factor`` of every matrix in a stack: ``P A = L U`` packed in ``lu``."""

    __slots__ = ("lu", "piv")

    @classmethod
    def pending(cls) -> LUFactors:
        """Factors of a batch under ``vmap``: the batching rule of the primitive that receives
        them (:data:`LU_STACK`) factorises the whole batch."""
        self = cls.__new__(cls)
        self.lu = self.piv = None
        return self

    def __init__(self, a: np.ndarray):
        a = np.asarray(a, dtype=np.result_type(a, np.float64))
        with warnings.catch_warnings():  # exact singularity is reported by `singular` instead
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            factors = [
                scipy.linalg.lu_factor(a[idx], check_finite=False)
                for idx in np.ndindex(a.shape[:-2])
            ]
        if a.ndim == 2:  # no copy: for large n a fresh copy costs as much as the LU itself
            self.lu, self.piv = factors[0]
        else:
            self.lu = np.stack([f[0] for f in factors]).reshape(a.shape)
            self.piv = np.stack([f[1] for f in factors]).reshape(a.shape[:-1])

    @property
    def diag(self) -> np.ndarray:
        return np.diagonal(self.lu, axis1=-2, axis2=-1)

    @property
    def singular(self) -> bool:
        return self.lu is not None and bool(np.any(self.diag == 0))

    def sign(self) -> np.ndarray:
        """sign(det A) = (−1)^(number of row swaps) · Π sign(U_ii)."""
        swaps = np.sum(self.piv != np.arange(self.piv.shape[-1]), axis=-1)
        return np.where(swaps % 2, -1.0, 1.0) * np.prod(np.sign(self.diag), axis=-1)

    def __repr__(self) -> str:
        return f"LUFactors(shape={self.lu.shape})"


def _lu_stack(prim: Primitive) -> Any:
    """A primitive on stacks of matrices that takes LU factors ``lu``: as :data:`STACK`, and
    the factors of a batched matrix are computed for the whole batch at once."""

    def rule(vals: list[Any], dims: list[Any], **params: Any) -> tuple[Any, int]:
        rank = max(ranks(vals, dims))
        args = [
            v if d is None else pad_batch(move(v, d, 0), rank)
            for v, d in zip(vals, dims, strict=True)
        ]
        if dims[0] is not None or params["lu"].lu is None:
            lu = LUFactors(concrete(args[0]))  # the factors of a batch of matrices
            if lu.singular and prim.name == "lu_solve":
                raise np.linalg.LinAlgError("linalg: singular matrix in the batch (lu_solve)")
            params = dict(params, lu=lu)
        return prim(*args, **params), 0

    return rule


LU_STACK = RuleFamily(_lu_stack, "stack of matrices with LU factors")


def _lu_solve_impl(a: Any, b: np.ndarray, lu: LUFactors, trans: int) -> np.ndarray:
    """Solve ``A x = b`` (``trans=0``) or ``Aᵀ x = b`` (``trans=1``) with the stored factors.

    ``a`` is not read: it is an argument only so that the primitive is differentiable in ``A``.
    Batch dimensions of the factors and of ``b`` (shape ``(..., n, k)``) broadcast.
    """
    b = np.asarray(b, dtype=np.result_type(b, lu.lu))
    batch = np.broadcast_shapes(lu.lu.shape[:-2], b.shape[:-2])
    if not batch:
        return scipy.linalg.lu_solve((lu.lu, lu.piv), b, trans=trans, check_finite=False)
    lus = np.broadcast_to(lu.lu, batch + lu.lu.shape[-2:])
    pivs = np.broadcast_to(lu.piv, batch + lu.piv.shape[-1:])
    bs = np.broadcast_to(b, batch + b.shape[-2:])
    out = np.empty(bs.shape, dtype=bs.dtype)
    for idx in np.ndindex(batch):
        out[idx] = scipy.linalg.lu_solve(
            (lus[idx], pivs[idx]), bs[idx], trans=trans, check_finite=False
        )
    return out


def _op(a: Any, trans: int) -> Any:
    return _mT(a) if trans else a


def _lu_solve_jvp(dots: list[Any], x: Any, a: Any, b: Any, lu: LUFactors, trans: int) -> Any:
    # op(A) x = b  ⇒  ẋ = op(A)⁻¹ (ḃ − op(Ȧ) x): one solve, with the same factors
    a_dot, b_dot = dots
    rhs = b_dot if b_dot is not None else 0.0
    if a_dot is not None:
        rhs = rhs - matmul(_op(a_dot, trans), x)
    return lu_solve_p(a, rhs, lu=lu, trans=trans)


def _lu_solve_vjp(ct: Any, x: Any, a: Any, b: Any, lu: LUFactors, trans: int) -> list[Any]:
    # b̄ = op(A)⁻ᵀ x̄ (the transposed solve, same factors);  Ā = −b̄ xᵀ, or −x b̄ᵀ when trans=1
    # (Giles 2008 §2.2; JAX's `_solve` uses lu_solve with trans=1 in the same way)
    b_bar = lu_solve_p(a, ct, lu=lu, trans=1 - trans)
    a_bar = -matmul(x, _mT(b_bar)) if trans else -matmul(b_bar, _mT(x))
    return [a_bar, b_bar]


lu_solve_p = primitive("lu_solve", _lu_solve_impl, batch=LU_STACK)
defjvp_full(lu_solve_p, _lu_solve_jvp)
defvjp_full(lu_solve_p, _lu_solve_vjp)


def _factor(a: Any, name: str, allow_singular: bool = False) -> LUFactors:
    c = concrete(a)
    if isinstance(c, Tracer):  # a batch under vmap: factorised by the batching rule
        return LUFactors.pending()
    lu = LUFactors(c)
    if lu.singular and not allow_singular:
        raise np.linalg.LinAlgError(
            f"linalg.{name}: singular matrix (an exact zero pivot in its LU factorisation)"
        )
    return lu


# ----------------------------------------------------------------------------------------------
# solve and inv
# ----------------------------------------------------------------------------------------------
def solve(a: Any, b: Any) -> Any:
    """``x = A⁻¹ b`` for ``A`` of shape ``(..., n, n)``, ``b`` of shape ``(n,)`` or ``(..., n, k)``.

    One LU factorisation in the forward pass; the JVP ``A⁻¹(ḃ − Ȧx)`` and the VJP
    ``b̄ = A⁻ᵀx̄, Ā = −b̄xᵀ`` reuse it (no second factorisation, at any order).
    """
    n = _check_square(a, "solve")
    a_shape, b_shape = shape_of(a), shape_of(b)
    vector = len(b_shape) == 1
    if len(b_shape) == 0 or b_shape[-2 if not vector else -1] != n:
        raise ValueError(
            f"linalg.solve: b has shape {b_shape} but a has shape {a_shape}; b must "
            f"have shape ({n},) or (..., {n}, k)"
        )
    try:
        np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    except ValueError:
        raise ValueError(
            f"linalg.solve: the batch dimensions of a {a_shape} and b {b_shape} do not broadcast"
        ) from None
    x = lu_solve_p(a, S.expand_dims(b, -1) if vector else b, lu=_factor(a, "solve"), trans=0)
    return S.reshape(x, shape_of(x)[:-1]) if vector else x


def inv(a: Any) -> Any:
    """``A⁻¹ = solve(A, I)``; its VJP ``Ā = −A⁻ᵀ X̄ A⁻ᵀ`` follows from solve's rule."""
    n = _check_square(a, "inv")
    return lu_solve_p(
        a, np.eye(n, dtype=np.result_type(concrete(a), np.float64)), lu=_factor(a, "inv"), trans=0
    )


# ----------------------------------------------------------------------------------------------
# det and slogdet, from the same factors
# ----------------------------------------------------------------------------------------------
class SlogdetResult(NamedTuple):
    sign: Any
    logabsdet: Any


def _inv_T(a: Any, lu: LUFactors) -> Any:
    """A⁻ᵀ from the stored factors (differentiable in A)."""
    return lu_solve_p(a, np.eye(shape_of(a)[-1]), lu=lu, trans=1)


def _dot_last2(x: Any, y: Any) -> Any:
    return R.sum(x * y, axis=(-2, -1))


def _logabsdet_grad(a: Any, lu: LUFactors) -> Any:
    if lu.singular:
        raise np.linalg.LinAlgError(
            "linalg.slogdet: the derivative of log|det A| at a singular "
            "matrix is infinite (A⁻ᵀ does not exist)"
        )
    return _inv_T(a, lu)


# d log|det A| = tr(A⁻¹ dA) = ⟨A⁻ᵀ, dA⟩  (Giles 2008 §2.2)
def _logabsdet_impl(a: Any, lu: LUFactors) -> np.ndarray:
    with np.errstate(divide="ignore"):  # log 0 = −inf at a singular matrix, as NumPy and JAX
        return np.sum(np.log(np.abs(lu.diag)), axis=-1)


logabsdet_p = primitive("logabsdet", _logabsdet_impl, batch=LU_STACK)
defjvp(logabsdet_p, lambda a_dot, ans, a, lu: _dot_last2(_logabsdet_grad(a, lu), a_dot))
defvjp(
    logabsdet_p,
    lambda ct, ans, a, lu: S.expand_dims(S.expand_dims(ct, -1), -1) * _logabsdet_grad(a, lu),
)


def slogdet(a: Any) -> SlogdetResult:
    """``(sign, log|det A|)`` from one LU factorisation; the sign is piecewise constant."""
    _check_square(a, "slogdet")
    lu = _factor(a, "slogdet", allow_singular=True)
    return SlogdetResult(lu_sign_p(a, lu=lu), logabsdet_p(a, lu=lu))


# sign(det A): piecewise constant, so its derivative is zero
lu_sign_p = primitive("lu_sign", lambda a, lu: lu.sign(), batch=LU_STACK)
defjvp(lu_sign_p, lambda a_dot, ans, a, lu: np.zeros(shape_of(ans)))
defvjp(lu_sign_p, lambda ct, ans, a, lu: np.zeros(shape_of(a)))


def _cofactor(a: Any, d: Any, lu: LUFactors) -> Any:
    """∂det A/∂A = cof(A) = det(A) A⁻ᵀ; at a singular A, cof(A) = det(U)det(V) U adj(Σ) Vᵀ."""
    if not lu.singular:
        return S.expand_dims(S.expand_dims(d, -1), -1) * _inv_T(a, lu)
    if isinstance(a, Tracer) or isinstance(d, Tracer):
        raise NotImplementedError(
            "linalg.det: second derivatives at an exactly singular matrix are not implemented"
        )
    # adj(A) = adj(Vᵀ) adj(Σ) adj(U) with adj(Q) = det(Q) Qᵀ for orthogonal Q (JAX handles this
    # case with `_cofactor_solve`, an LU-based variant)
    u, s, vh = np.linalg.svd(np.asarray(a, dtype=float))
    k = s.shape[-1]
    others = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(k)], axis=-1)
    scale = np.linalg.det(u) * np.linalg.det(vh)
    return scale[..., None, None] * (u * others[..., None, :]) @ vh


# d det A = det(A) tr(A⁻¹ dA) = ⟨cof A, dA⟩;  Ā = x̄ · cof A  (Giles 2008 §2.2)
det_p = primitive(
    "det", lambda a, lu: lu.sign() * np.prod(np.abs(lu.diag), axis=-1), batch=LU_STACK
)
defjvp(det_p, lambda a_dot, ans, a, lu: _dot_last2(_cofactor(a, ans, lu), a_dot))
defvjp(
    det_p, lambda ct, ans, a, lu: S.expand_dims(S.expand_dims(ct, -1), -1) * _cofactor(a, ans, lu)
)


def det(a: Any) -> Any:
    """``det A`` from one LU factorisation; differentiable also at singular ``A`` (first order)."""
    _check_square(a, "det")
    return det_p(a, lu=_factor(a, "det", allow_singular=True))
