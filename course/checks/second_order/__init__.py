"""Checks of assignment 05, second order and memory: Hessian-vector products in two modes, the
Hessian from HVPs, Hutchinson's trace estimator on a counted matvec budget, and the reverse pass
of a chain x_{k+1} = tanh(W_k x_k) storing every state or only every ⌈√n⌉-th one.

The students may not use ``reference_impl`` (nor anything from ``course``) in their solutions, so
this module also gives them a small AD toolkit of its own, :func:`jvp`, :func:`vjp` and
:func:`grad` — first-order forward and reverse mode (what they built in assignments 2 and 3),
**not** the reference implementation. Traced values follow NumPy's ufuncs and operators
(``__array_ufunc__``), so a gradient written in plain NumPy can itself be differentiated. The
notebook imports these three names; the checks pass ``replaces=("jvp", "vjp", "grad")`` so that
:func:`~._core.forbid_reference` does not follow them.

What the checks count instead of timing:

* HVPs: calls of ``grad_f`` (exactly one per product, carrying a tangent or a tape variable);
* the Hessian: calls of ``hvp`` (exactly n);
* Hutchinson: matvecs (exactly the budget), and the probes themselves;
* the chain: calls of ``step`` and ``step_vjp``, the states returned by ``step`` that are still
  alive (weak references, sampled at every call) and the peak of traced memory (tracemalloc).

Every expected value comes from ``reference_impl`` (``second_order.hvp``, ``hessian``, ``vjp``).
"""

from __future__ import annotations

from .._lazy import hidden_getattr
from ._common import TASKS
from ._toolkit import grad, jvp, vjp
from .t5_1 import t5_1
from .t5_2 import t5_2
from .t5_3 import t5_3
from .t5_4_5 import t5_4, t5_5, tanh_chain

__all__ = ["TASKS", "grad", "jvp", "t5_1", "t5_2", "t5_3", "t5_4", "t5_5", "tanh_chain", "vjp"]

#: checks in ``_hidden`` (left out of the student distribution), loaded on first use
HIDDEN = ("hidden_t5_1", "hidden_t5_2", "hidden_t5_3", "hidden_t5_4", "hidden_t5_5")
__getattr__ = hidden_getattr(__name__, HIDDEN)
#: what a graded kernel's stub of this module gives the setup cell (see course.channel.kernel)
KERNEL_TOOLKIT = ("_toolkit", ("grad", "jvp", "vjp"))

# One task's check per module: t5_1, t5_2, t5_3, t5_4_5 (5.4, 5.5); the students' toolkit in
# _toolkit; the tasks and test functions in _common; the course's version of task 5.4, which 5.5 is
# graded with, in _reference (not exported here).
