"""The grading pipeline, in the order a submission meets it.

* :mod:`.autograde` — ``course autograde``: prepare, preflight, parallel workers, export;
* :mod:`.request` — the request checked first (ids, work dir): one-line errors;
* :mod:`.intake` — LMS downloads (Moodle, Canvas) and wrong layouts explained;
* :mod:`.submissions` — find the submissions (the evident notebook, subfolders, zips) and put
  them into nbgrader's ``submitted/``;
* :mod:`.gradebook` — the work dir as nbgrader's course: config, roster, due dates, late
  penalties, grades read back from the gradebook;
* :mod:`.grading` — nbgrader's API on one work folder (``Grader``);
* :mod:`.execution` — nbgrader's autograde preprocessors for untrusted notebooks, configured:
  :mod:`.structure` (the structure repair), :mod:`.executor` (the sandboxed executor and the
  course's verdicts), :mod:`.kernels` (the kernel manager, the fork server's client),
  :mod:`.feedback` (the feedback HTML);
* :mod:`.sandbox` — the grading kernel's entry point: :mod:`.confine` (limits, Landlock, audit
  hook), :mod:`.monitor` (the integrity monitor and the grader's probe), :mod:`.forkserver`;
* :mod:`.integrity` — the grader-side static scan; :mod:`.findings` — what it reports;
* :mod:`.results` — ``grades.csv``, ``grades-table.csv`` and the summary table.
"""
