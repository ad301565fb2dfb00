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
  course's verdicts from :mod:`course.channel`), :mod:`.kernels` (the kernel manager),
  :mod:`.feedback` (the feedback HTML);
* :mod:`.bwrap` and :mod:`.view` — each kernel sealed by bubblewrap in a read-only view of what
  its assignment needs; :mod:`.sandbox` — the kernel's entry point inside it: :mod:`.confine`
  (limits, the audit hook), the channel's connection; :mod:`.workers` — the process pool and
  the watchdog (nothing outlives a run);
* :mod:`.integrity` — the grader-side static scan; :mod:`.findings` — what it reports;
* :mod:`.results` — ``grades.csv``, ``grades-table.csv`` and the summary table.
"""
