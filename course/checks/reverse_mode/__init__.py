"""Checks of assignment 03, reverse mode: a computational graph of scalars (``Var``), its
topological order, the backward pass with adjoint accumulation, the lecture's L(w1, w2) by hand,
``grad``/``vjp``/``jacrev`` with a count of passes, and the feedforward network's backward pass.

Expected values come from ``reference_impl`` (``grad``, ``vjp``, ``jacrev``) at seeded random
points with random cotangents. Each task is graded on its own code: ``t3_2`` runs the student's
``topological_order`` on this module's graphs (:class:`GraphNode`, which counts reads of
``.parents``); ``t3_3`` and ``t3_5`` run on the course's node class :class:`TapeVar` and, for
``t3_5``, the course's ``topological_order`` and ``backward`` (counted), substituted for the
student's; ``t3_6`` grades the backward pass on activations computed here, with a NumPy whose
``tanh`` calls are counted.
"""

from __future__ import annotations

from .._lazy import hidden_getattr
from ._common import TASKS
from .t3_1 import t3_1
from .t3_2 import GraphNode, t3_2
from .t3_3 import t3_3
from .t3_4 import t3_4
from .t3_5 import t3_5
from .t3_6 import t3_6

__all__ = ["TASKS", "GraphNode", "t3_1", "t3_2", "t3_3", "t3_4", "t3_5", "t3_6"]

#: checks in ``_hidden`` (left out of the student distribution), loaded on first use
HIDDEN = ("hidden_t3_1", "hidden_t3_2", "hidden_t3_3", "hidden_t3_4", "hidden_t3_5", "hidden_t3_6")
__getattr__ = hidden_getattr(__name__, HIDDEN)

# One module per task; the course's tape and traversals (TapeVar, course_topological_order,
# course_backward), substituted when later tasks are graded, in _reference (not exported).
