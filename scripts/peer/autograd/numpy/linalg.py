"""``autograd.numpy.linalg`` = ``reference_impl.numpy.linalg`` (+ autograd's helpers ``_dot`` and
``T``, mapped to the engine's matmul and last-two-axes swap)."""

from reference_impl.numpy import matmul as _dot  # noqa: F401
from reference_impl.numpy import swapaxes as _swapaxes
from reference_impl.numpy.linalg import *  # noqa: F403


def T(x):
    return _swapaxes(x, -1, -2)


def eig(a):
    """autograd differentiates the eigenvectors of ``eig`` by default; in JAX (and here) that is
    an opt-in (``jax.lax.linalg.eig(..., enable_eigvec_derivs=True)``), taken for autograd's
    tests."""
    from reference_impl.numpy.linalg import eig as _eig

    return _eig(a, enable_eigvec_derivs=True)
