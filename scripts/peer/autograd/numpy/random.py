"""``autograd.numpy.random`` = ``numpy.random`` (test data only)."""

from numpy.random import *  # noqa: F403
