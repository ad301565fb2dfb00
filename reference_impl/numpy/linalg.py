"""``reference_impl.numpy.linalg``: mirrors ``jax.numpy.linalg``, with hand-written adjoints.

The lecture's linear-system rule (topic 10): for ``x = A⁻¹ b``,

    JVP:  ẋ = A⁻¹ (ḃ − Ȧ x)            VJP:  b̄ = A⁻ᵀ x̄,   Ā = −b̄ xᵀ

(Giles 2008, "An extended collection of matrix derivative results", §2.2). The functions live
by family, each module with its primitives and their rules:

* :mod:`.linalg_solve`: ``solve``, ``inv``, ``det``, ``slogdet``, all from *one* LU
  factorisation of the forward pass, which the rules reuse;
* :mod:`.linalg_triangular`: ``solve_triangular`` and ``cholesky``;
* :mod:`.linalg_svd`: ``svd``, ``eigh`` and their degenerate-spectrum policy;
* :mod:`.linalg_eig`: ``eig``, ``eigvals`` (non-symmetric);
* :mod:`.linalg_more`: ``qr``, ``pinv``, ``lstsq``, ``norm`` and the other compositions.
"""

from __future__ import annotations

from .linalg_eig import EigResult, eig, eigvals
from .linalg_more import (
    LstsqResult,
    QRResult,
    cond,
    eigvalsh,
    lstsq,
    matrix_power,
    matrix_rank,
    multi_dot,
    norm,
    pinv,
    qr,
)
from .linalg_solve import LUFactors, SlogdetResult, det, inv, slogdet, solve
from .linalg_svd import DEGENERACY_RTOL, EighResult, SVDResult, eigh, svd
from .linalg_triangular import (
    cholesky,
    solve_triangular_p,  # noqa: F401  (scipy.stats reads it here)
)

__all__ = [
    "DEGENERACY_RTOL",
    "EigResult",
    "EighResult",
    "LUFactors",
    "LstsqResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "cond",
    "det",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "inv",
    "lstsq",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
]
