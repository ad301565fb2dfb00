"""Checks called from the assignments' test cells, one module per assignment.

A test cell calls ``check.t2_1(...)`` (visible) and, in its hidden block,
``check.hidden_t2_1(...)``; both live here so that nbgrader's feedback, which shows test cell
sources and tracebacks, does not reveal how the hidden tests work. Shared machinery:

* :mod:`._core` — tasks, failures and their diagnosis, seeded inputs, calling the student's
  code, the decorator of every check;
* :mod:`._guard` (with :mod:`._codes`) — the run-time guard: which code may run while a check
  grades a solution, decided by code objects;
* :mod:`._static` — the static look at the names a solution uses;
* :mod:`._verdict` — the ledger of verdicts the grader reads after every test cell.
"""
