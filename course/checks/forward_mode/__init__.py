"""Checks of assignment 02, forward mode: dual numbers, the lecture's L(w1, w2), dual arrays,
``jvp`` and ``jacfwd`` with a count of passes.

Every expected value comes from ``reference_impl.jvp`` / ``jacfwd`` / ``grad`` at seeded random
points with random tangents. ``t2_4`` and ``t2_5`` run the student's ``jvp`` / ``jacfwd`` on test
functions built from this module's own dual operations, with the course's dual container (and,
for ``jacfwd``, the course's ``jvp``) substituted for the student's: each task is graded on its
own code only.
"""

from __future__ import annotations

from ._common import TASKS
from .t2_1_2 import hidden_t2_1, hidden_t2_2, t2_1, t2_2
from .t2_3 import hidden_t2_3, t2_3
from .t2_4_5 import hidden_t2_4, hidden_t2_5, t2_4, t2_5

__all__ = ["TASKS", "hidden_t2_1", "hidden_t2_2", "hidden_t2_3", "hidden_t2_4", "hidden_t2_5",
           "t2_1", "t2_2", "t2_3", "t2_4", "t2_5"]

# One module per task or pair of tasks: t2_1_2, t2_3, t2_4_5 (with the course's DualBox and
# course_jvp, substituted when 2.4 and 2.5 are graded); shared: _common.
