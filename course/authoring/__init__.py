"""Authoring and release: what the course's staff write and what students receive.

* :mod:`.notebook` — nbgrader source notebooks: cell builders, a text format, a lint
  (``python -m course.authoring export|import|lint``); its names are re-exported here;
* :mod:`.nbgrader_setup` — nbgrader's configuration for the course, ``generate_assignment``
  into ``assignments/`` (``course release``);
* :mod:`.student` — the student distribution (``course release --student DIR``);
* :mod:`.demo` — a synthetic class (full, blank, partial and hostile submissions) for
  ``course demo`` and the tests.
"""

from __future__ import annotations

from .notebook import (
    code,
    from_text,
    lint,
    markdown,
    new_notebook,
    normalize,
    read,
    setup,
    solution,
    tests,
    to_text,
    write,
)

__all__ = [
    "code",
    "from_text",
    "lint",
    "markdown",
    "new_notebook",
    "normalize",
    "read",
    "setup",
    "solution",
    "tests",
    "to_text",
    "write",
]
