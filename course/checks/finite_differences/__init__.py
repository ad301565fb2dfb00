"""Checks of assignment 01, finite differences and zero-order methods: the finite-difference
gradient with a count of calls, the error model and the step, the two-point and coordinate
estimators, the lecture's multidimensional scaling (MDS) loss and its gradient, gradient descent
against zero-order gradient descent at an equal budget of calls.

Expected values come from ``reference_impl`` (``finite_diff``, ``zeroth_order``, ``grad``) at
seeded random points, on dimensions and functions the visible tests do not show. Calls of the
student's functions are counted with :class:`CallCounter`; random estimators are checked twice:
exactly (the directions ``v`` are read back from the points where ``L`` was called) and
statistically (the mean of many estimates against ∇L, within a few standard errors of the
estimator's known covariance; the fourth moment of ``v`` against the uniform distribution on the
sphere). ``t1_3`` substitutes the course's ``fd_grad`` and ``t1_5`` the course's two-point
estimator for the student's, so that each task is graded on its own code only.

Question 1.6 is not autograded. For TAs: with E G = ∇f and E‖G‖² ≈ n‖∇f‖², the descent lemma
gives E f(x_{k+1}) ≤ f(x_k) − α‖∇f‖² + Lα²n‖∇f‖²/2; the best step α = 1/(nL) (GD: 1/L) lowers f
by ‖∇f‖²/(2nL), n times less than GD's ‖∇f‖²/(2L): n times more iterations, two calls each. The
coordinate estimator is exact up to O(ε²) but costs 2n calls per step: the same factor n in calls.
On the cities (n = 16) the stable zero-order step is several times smaller than GD's, and
zero-order GD needs several times more calls to reach GD's loss (the experiment cell).
"""

from __future__ import annotations

from .._lazy import hidden_getattr
from ._common import EPS_MACH, TASKS
from .t1_1_2 import t1_1, t1_2
from .t1_3 import t1_3
from .t1_4_5 import lecture_problem, mds_reference_loss, t1_4, t1_5

__all__ = [
    "EPS_MACH",
    "TASKS",
    "lecture_problem",
    "mds_reference_loss",
    "t1_1",
    "t1_2",
    "t1_3",
    "t1_4",
    "t1_5",
]

#: checks in ``_hidden`` (left out of the student distribution), loaded on first use
HIDDEN = ("hidden_t1_1", "hidden_t1_2", "hidden_t1_3", "hidden_t1_4", "hidden_t1_5")
__getattr__ = hidden_getattr(__name__, HIDDEN)

# One task's check per module: t1_1_2 (1.1, 1.2), t1_3, t1_4_5 (1.4, 1.5); the shared test
# functions and data in _common; the course's versions of tasks 1.1 and 1.3, which later tasks
# are graded with, in _reference (not exported here: a solution that reaches them anyway is
# stopped by the run-time guard, course.checks._guard).
