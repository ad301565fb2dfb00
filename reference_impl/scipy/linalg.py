"""``reference_impl.scipy.linalg``: mirrors ``jax.scipy.linalg`` (``expm`` here; ``cholesky``,
``cho_factor``/``cho_solve``, ``solve_triangular``, ``lu``, ``lu_factor``/``lu_solve`` in
:mod:`.linalg_lu`).

The matrix exponential's derivative is its Fréchet derivative ``L(A, E)``, read off the
block-triangular identity (Mathias 1996; Al-Mohy & Higham 2009, "Computing the Fréchet
derivative of the matrix exponential", eq. 1.2; JAX's ``expm_frechet`` does the same)::

    expm([[A, E], [0, A]]) = [[expm(A), L(A, E)], [0, expm(A)]].

JVP: ``Ẏ = L(A, Ȧ)``. VJP: for real matrices the adjoint of ``E ↦ L(A, E)`` is
``G ↦ L(Aᵀ, G)``, so ``Ā = L(Aᵀ, Ȳ)``. Both call ``expm`` itself on the 2n×2n block matrix,
so derivatives of every order work (each order doubles the size).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from ..numpy import shape_ops as S
from ..numpy.batching_rules import STACK
from ..numpy.linalg_solve import _check_square
from ..primitives import defjvp, defvjp, primitive
from ..tracers import shape_of

__all__ = [
    "cho_factor",
    "cho_solve",
    "cholesky",
    "expm",
    "expm_frechet",
    "lu",
    "lu_factor",
    "lu_solve",
    "solve_triangular",
]


def _frechet(a: Any, e: Any) -> Any:
    """``L(A, E)``: the upper-right block of ``expm([[A, E], [0, A]])``."""
    n = shape_of(a)[-1]
    zeros = np.zeros(np.broadcast_shapes(shape_of(a), shape_of(e)))
    a = S.broadcast_to(a, zeros.shape)
    e = S.broadcast_to(e, zeros.shape)
    big = S.concatenate([S.concatenate([a, e], -1), S.concatenate([zeros, a], -1)], -2)
    return S.getitem(expm_p(big), (Ellipsis, slice(0, n), slice(n, None)))


expm_p = primitive("expm", lambda a: scipy.linalg.expm(a), batch=STACK)
defjvp(expm_p, lambda a_dot, ans, a: _frechet(a, a_dot))
defvjp(expm_p, lambda ct, ans, a: _frechet(S.swapaxes(a, -1, -2), ct))


def expm(A: Any, *, upper_triangular: bool = False, max_squarings: int = 16) -> Any:
    """``e^A = Σ Aᵏ/k!`` of a square matrix or a stack (SciPy's Padé approximation)."""
    _check_square(A, "expm")
    return expm_p(A)


def expm_frechet(A: Any, E: Any, *, method: Any = None, compute_expm: bool = True) -> Any:
    """``(expm(A), L(A, E))``, or only ``L(A, E)`` when ``compute_expm`` is False."""
    _check_square(A, "expm_frechet")
    frechet = _frechet(A, E)
    return (expm(A), frechet) if compute_expm else frechet


# the factorisations (Cholesky, LU) and triangular solves: imported last, they use the above
from .linalg_lu import (  # noqa: E402
    cho_factor,
    cho_solve,
    cholesky,
    lu,
    lu_factor,
    lu_solve,
    solve_triangular,
)
