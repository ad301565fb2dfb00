"""Checks of assignment 04, matrix adjoints: the JVP and VJP of ``solve`` (one LU factorisation,
counted), the dot-product test, the derivatives of the singular values and the full VJP of the
SVD (Townsend 2016).

Expected values come from ``reference_impl`` (``ri.jvp`` / ``ri.vjp`` / ``ri.grad`` through
``reference_impl.numpy.linalg.solve`` and ``svd``) at seeded random points with random tangents
and cotangents: well-conditioned and badly scaled matrices, and (hidden, 4.1 and 4.2)
ill-conditioned ones, cond(A) = 1e8, compared within 100·cond(A)·ε (``_common.solve_tol``).
The student's code runs under :class:`Watch`, a profile hook that counts the NumPy/SciPy
routines that factorise a matrix and the triangular solves, so that the checks can require
*one* factorisation for a forward and backward pass. The SVD checks hand the
student decompositions whose singular-vector pairs ``(u_i, v_i)`` have random signs; the
reference for such a decomposition ``(U D, s, D Vᵀ)`` is the rule at NumPy's ``(U, s, Vᵀ)`` with
the cotangents ``(Ū D, s̄, D V̄ᵀ)`` (the rules are equivariant under ``D``). Task 4.3 feeds the
student's dot-product test the course's own NumPy JVP/VJP pairs, correct and planted wrong ones.
"""

from __future__ import annotations

from .._lazy import hidden_getattr
from ._common import TASKS, Watch
from .t4_1 import t4_1
from .t4_2 import t4_2
from .t4_3 import t4_3
from .t4_4 import t4_4
from .t4_5 import t4_5

__all__ = ["TASKS", "Watch", "t4_1", "t4_2", "t4_3", "t4_4", "t4_5"]

#: checks in ``_hidden`` (left out of the student distribution), loaded on first use
HIDDEN = ("hidden_t4_1", "hidden_t4_2", "hidden_t4_3", "hidden_t4_4", "hidden_t4_5")
__getattr__ = hidden_getattr(__name__, HIDDEN)

# One module per task; shared: _common (Watch, comparisons). The
# course's versions of solve's JVP and VJP (course_solve_jvp/vjp) are in t4_3, not exported.
