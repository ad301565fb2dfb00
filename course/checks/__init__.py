"""Checks called from the assignments' test cells, one module per assignment.

A test cell calls ``check.t2_1(...)`` (visible) and, in its hidden block,
``check.hidden_t2_1(...)``; both live here so that nbgrader's feedback, which shows test cell
sources and tracebacks, does not reveal how the hidden tests work. Shared machinery:

* :mod:`._core` — tasks, failures and their diagnosis, seeded inputs, calling the student's
  code, the decorator of every check;
* :mod:`._static` — the static look at the names a solution uses;
* :mod:`._messages` and :mod:`._diagnose` — how a failure reads: the reason first in a short
  first line, bilingual details, the student's line that raised, no traceback;
* :mod:`._syntax` — a syntax error named in the cells it stops ("Task 3.4 did not run: …");
* :mod:`._lazy` — what the student distribution leaves out: each package's ``_hidden.py`` (the
  hidden checks, loaded on first use through the package's ``__getattr__``) and ``_reference.py``
  (the course's versions of tasks, substituted when later tasks are graded; without it the
  visible checks use the student's own).

When a notebook is graded, the checks run in the grader (:mod:`course.channel`), not here.
"""

from ._syntax import install as _install_syntax_hooks

_install_syntax_hooks()  # in a notebook's kernel: a syntax error is named where it bites
