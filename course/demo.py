"""Moved to :mod:`course.authoring.demo`; kept for older imports (the same module)."""

import sys

from .authoring import demo as _moved

sys.modules[__name__] = _moved
