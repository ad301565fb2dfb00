"""Checks called from the assignments' test cells, one module per assignment.

A test cell calls ``check.t2_1(...)`` (visible) and, in its hidden block,
``check.hidden_t2_1(...)``; both live here so that nbgrader's feedback, which shows test cell
sources and tracebacks, does not reveal how the hidden tests work. Shared machinery:
:mod:`course.checks._core`.
"""
