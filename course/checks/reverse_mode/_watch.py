"""The kernel's side of a ``watch`` request for this package: the student's function called, its
arguments reported as they are after the call (see :mod:`course.checks._argwatch`)."""

from .._argwatch import Watch

__all__ = ["Watch"]
