"""Checks called from the assignments' test cells, one module per assignment.

A test cell calls ``check.t2_1(...)`` (visible) and, in its hidden block,
``check.hidden_t2_1(...)``; both live here so that nbgrader's feedback, which shows test cell
sources and tracebacks, does not reveal how the hidden tests work. Shared machinery:

* :mod:`._core` — tasks, failures and their diagnosis, seeded inputs, calling the student's
  code, the decorator of every check;
* :mod:`._guard` (with :mod:`._codes`) — the run-time guard: which code may run while a check
  grades a solution, decided by code objects;
* :mod:`._static` — the static look at the names a solution uses;
* :mod:`._messages` and :mod:`._diagnose` — how a failure reads: the reason first in a short
  first line, bilingual details, the student's line that raised, no traceback;
* :mod:`._verdict` — the ledger of verdicts the grader reads after every test cell;
* :mod:`._lazy` — what the student distribution leaves out: each package's ``_hidden.py`` (the
  hidden checks, loaded on first use through the package's ``__getattr__``) and ``_reference.py``
  (the course's versions of tasks, substituted when later tasks are graded; without it the
  visible checks use the student's own).
"""

from ._syntax import install as _install_syntax_hooks

_install_syntax_hooks()  # in a notebook's kernel: a syntax error is named where it bites
