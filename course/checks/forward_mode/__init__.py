"""Checks of assignment 02, forward mode: dual numbers, the lecture's L(w1, w2), dual arrays,
``jvp`` and ``jacfwd`` with a count of passes.

Every expected value comes from ``reference_impl.jvp`` / ``jacfwd`` / ``grad`` at seeded random
points with random tangents. ``t2_4`` and ``t2_5`` run the student's ``jvp`` / ``jacfwd`` on test
functions built from this module's own dual operations, with the course's dual container (and,
for ``jacfwd``, the course's ``jvp``) substituted for the student's: each task is graded on its
own code only.
"""

from __future__ import annotations

from .._lazy import hidden_getattr
from ._common import TASKS
from .t2_1_2 import t2_1, t2_2
from .t2_3 import t2_3
from .t2_4_5 import t2_4, t2_5

__all__ = ["TASKS", "t2_1", "t2_2", "t2_3", "t2_4", "t2_5"]

#: checks in ``_hidden`` (left out of the student distribution), loaded on first use
HIDDEN = ("hidden_t2_1", "hidden_t2_2", "hidden_t2_3", "hidden_t2_4", "hidden_t2_5")
__getattr__ = hidden_getattr(__name__, HIDDEN)

# One module per task or pair of tasks: t2_1_2, t2_3, t2_4_5 (with the DualBox container and
# the course's jvp, in _reference, substituted when 2.5 is graded); shared: _common; hidden checks
# in _hidden.
