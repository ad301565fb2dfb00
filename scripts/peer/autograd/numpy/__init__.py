"""``autograd.numpy`` = ``reference_impl.numpy``, plus NumPy's non-differentiable helpers that
autograd's tests use for data (``random``, ``lib``, ``__version__``). ``make_diagonal``
(autograd-only) is written with the engine's ops, for test_diagonal; its own test is skipped."""

import importlib as _importlib

import numpy as _onp
from numpy import lib

from reference_impl.numpy import *  # noqa: F403
from reference_impl.numpy import fft

# the alias's own linalg (with autograd's helpers), not the one the star import brought
linalg = _importlib.import_module(__name__ + ".linalg")
random = _importlib.import_module(__name__ + ".random")

__version__ = _onp.__version__
dtype = _onp.dtype


def make_diagonal(d, axis1=-1, axis2=-2):
    """autograd-only helper (not in jax.numpy), written with the engine's ops: ``d`` on the
    diagonal of the two new last axes."""
    if sorted((axis1 % (_onp.ndim(d) + 1), axis2 % (_onp.ndim(d) + 1))) != [
        _onp.ndim(d) - 1,
        _onp.ndim(d),
    ]:
        raise NotImplementedError("make_diagonal: only the two last axes")
    n = _onp.shape(d)[-1]
    return expand_dims(d, -1) * _onp.eye(n)  # noqa: F405
