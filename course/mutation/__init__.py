"""Mutation testing of the checks: how many wrong solutions does each task's check catch?

:mod:`.operators` makes mechanical mutants of a task's solution (the instructor's notebook in
``solutions/``), :mod:`.runner` runs each against that task's visible and hidden checks directly
(not through nbgrader), ``python -m course.mutation`` reports killed / survived / equivalent per
task. Mutants that no check can tell apart from the solution are listed, with the reason, in
``equivalent.json``; ``results.json`` holds the last full run (and the scores before the checks
were strengthened).

:mod:`.semantic` (``python -m course.mutation --semantic``) adds the mistakes no operator flip
makes (issue 22): the task's functions wrapped (:mod:`.semrt`) so that they are right on a first,
fresh call and wrong when used as code is used — caches keyed by shapes, results that alias a
buffer, arguments moved in place or ignored for their default, generators reseeded, state kept
between calls, returned functions that break on their second call, backward passes reading the
last forward pass, calls in swapped order. Its equivalents are in ``semantic_equivalent.json``,
its runs (before and after the checks learnt to use code that way) in ``semantic_results.json``.
"""
