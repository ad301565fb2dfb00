"""``autograd.numpy.linalg`` = ``reference_impl.numpy.linalg`` (+ autograd's helpers ``_dot`` and
``T``, mapped to the engine's matmul and last-two-axes swap)."""

from reference_impl.numpy import matmul as _dot  # noqa: F401
from reference_impl.numpy import swapaxes as _swapaxes
from reference_impl.numpy.linalg import *  # noqa: F403


def T(x):
    return _swapaxes(x, -1, -2)
