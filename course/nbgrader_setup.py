"""Moved to :mod:`course.authoring.nbgrader_setup`; kept for older imports (the same module)."""

import sys

from .authoring import nbgrader_setup as _moved

sys.modules[__name__] = _moved
