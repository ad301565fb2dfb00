"""The ``course`` command: the TA workflow on nbgrader.

    course release [ASSIGNMENT…]            regenerate assignments/ from solutions/
    course autograde SUBMISSIONS [options]  grade a class in parallel, sandboxed
    course report [--workdir DIR]           statistics, failures, flagged submissions, plots
    course demo [options]                   the whole workflow on a synthetic class

See docs/TA_GUIDE.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main"]

DEFAULT_WORKDIR = Path("grading")
DEMO_WORKDIR = Path("course-demo")


def _limits_args(p: argparse.ArgumentParser, timeout: int) -> None:
    p.add_argument("--jobs", "-j", type=int, default=0,
                   help=f"parallel workers (default: the number of cores, {os.cpu_count()} "
                        f"here)")
    p.add_argument("--timeout", type=int, default=timeout,
                   help="seconds per cell before it is interrupted (default: %(default)s)")
    p.add_argument("--memory", type=int, default=4096,
                   help="memory limit of each kernel, MiB (default: %(default)s)")
    p.add_argument("--no-landlock", action="store_true",
                   help="do not confine kernels with Landlock (the audit hook still applies)")
    p.add_argument("--no-fork-server", action="store_true",
                   help="start every kernel as a new Python process (slower)")


def _limits(a: argparse.Namespace) -> object:
    from .pipeline.execution import Limits

    return Limits(timeout=a.timeout, memory_mb=a.memory, landlock=not a.no_landlock)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="course", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("release", help="regenerate assignments/ from solutions/ (nbgrader)",
                       description="Run nbgrader's generate_assignment for the assignments "
                                   "(all by default) and write the student releases to "
                                   "assignments/<id>/.")
    r.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")

    g = sub.add_parser(
        "autograde", help="grade SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb",
        description="Autograde every submission with nbgrader in N sandboxed worker "
                    "processes; write the gradebook, autograded notebooks, feedback HTML and "
                    "grades.csv to the work dir; print a summary table. Unchanged submissions "
                    "are not graded again.")
    g.add_argument("submissions", type=Path, metavar="SUBMISSIONS")
    g.add_argument("--assignment", "-a", action="append", default=[],
                   help="only this assignment (repeatable)")
    g.add_argument("--student", "-s", action="append", default=[],
                   help="(re)grade only this student (repeatable)")
    g.add_argument("--workdir", "-w", type=Path, default=DEFAULT_WORKDIR,
                   help="nbgrader's course folder for the results (default: %(default)s)")
    g.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    _limits_args(g, 60)

    rep = sub.add_parser("report", help="statistics and plots from the gradebook",
                         description="Per-assignment and per-task statistics (mean, median, "
                                     "share with full points, most frequent failures), "
                                     "flagged submissions, PNG plots.")
    rep.add_argument("--workdir", "-w", type=Path, default=DEFAULT_WORKDIR)
    rep.add_argument("--out", type=Path, default=None,
                     help="folder for report.md and the plots (default: WORKDIR/report)")

    d = sub.add_parser("demo", help="release, build a synthetic class, grade it, report",
                       description="The whole TA workflow on a synthetic class built from "
                                   "the release and the solutions: full marks, blank, "
                                   "partial and hostile submissions.")
    d.add_argument("--workdir", "-w", type=Path, default=DEMO_WORKDIR)
    d.add_argument("--assignment", "-a", action="append", default=[],
                   help="only this assignment (default: all)")
    d.add_argument("--all-cases", action="store_true",
                   help="every hostile case of the test suite, not the demo's selection")
    _limits_args(d, 10)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``course`` console script."""
    a = _parser().parse_args(argv)
    if a.command == "release":
        from . import release

        for path in release(a.assignments or None):
            print(path)
        return 0
    if a.command == "autograde":
        from .pipeline.autograde import Options, autograde

        if not a.submissions.is_dir():
            print(f"course autograde: no folder {a.submissions}", file=sys.stderr)
            return 2
        outcomes = autograde(Options(a.submissions, a.workdir, a.assignment, a.student,
                                     a.jobs, _limits(a), a.force,
                                     zygote=not a.no_fork_server))
        return 1 if any(o.status == "error" for o in outcomes) else 0
    if a.command == "report":
        from .report import main_report

        text, path = main_report(a.workdir, a.out)
        print(text)
        print(f"written: {path}")
        return 0
    from .authoring.demo import run_demo

    return run_demo(a.workdir, a.assignment, jobs=a.jobs, limits=_limits(a),
                    all_cases=a.all_cases, zygote=not a.no_fork_server)


if __name__ == "__main__":
    raise SystemExit(main())
