"""Mutation testing of the checks: how many wrong solutions does each task's check catch?

:mod:`.operators` makes mechanical mutants of a task's solution (the instructor's notebook in
``solutions/``), :mod:`.runner` runs each against that task's visible and hidden checks directly
(not through nbgrader), ``python -m course.mutation`` reports killed / survived / equivalent per
task. Mutants that no check can tell apart from the solution are listed, with the reason, in
``equivalent.json``; ``results.json`` holds the last full run (and the scores before the checks
were strengthened).
"""
