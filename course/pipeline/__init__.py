"""The grading pipeline, in the order a submission meets it.

* :mod:`.autograde` — ``course autograde``: preflight, parallel workers, export, summary;
* :mod:`.grading` — nbgrader's API on one work folder (``Grader``);
* :mod:`.execution` — nbgrader's autograde preprocessors for untrusted notebooks: the
  structure repair, the sandboxed executor, the verdicts of the grade cells;
* :mod:`.sandbox` — runs inside the grading kernel: limits, Landlock, audit hook, the
  integrity monitor and the verdict ledger;
* :mod:`.integrity` — the grader-side static scan and structure repair.
"""
