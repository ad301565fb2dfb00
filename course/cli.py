"""The ``course`` command: the TA workflow on nbgrader.

    course release [ASSIGNMENT…]            regenerate assignments/ from solutions/
    course release --student DIR            what students receive (no solutions, no hidden tests)
    course import moodle|canvas SRC …       an LMS download into the submitted layout
    course roster CSV [--workdir DIR]       students (ids, names, e-mails) into the gradebook
    course autograde SUBMISSIONS [options]  grade a class in parallel, sandboxed
    course report [--workdir DIR]           report.md and report.html (one page, plots inside)
    course export moodle|canvas -a ID       the LMS's grade file and a zip of feedback files
    course formgrader [--workdir DIR]       manual grading (jupyter lab → /formgrader)
    course feedback [--workdir DIR]         after manual grades: grades.csv and feedback again
    course demo [options]                   the whole workflow on a synthetic class

A request that cannot be carried out (unknown ids, no submissions, an unusable work dir)
prints one line and exits with status 2; Ctrl-C during autograde keeps what finished (130);
a gradebook database that does not answer stops cleanly with one line (3).

See docs/TA_GUIDE.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pipeline.execution import Limits

__all__ = ["main"]

DEFAULT_WORKDIR = Path("grading")
DEMO_WORKDIR = Path("course-demo")

IMPORT_EPILOG = """\
layouts read (a zip, or the folder it unpacks to):

  Moodle, "Download submissions in folders" (the default):
    Вера Смирнова_1234_assignsubmission_file_/03_reverse_mode.ipynb
    John Smith_1240_assignsubmission_file_/work/03_reverse_mode.ipynb
  Moodle, flat (the option unticked):
    Вера Смирнова_1234_assignsubmission_file_03_reverse_mode.ipynb
  Canvas, "Download Submissions" (lastfirst[_LATE]_userid_submissionid_file):
    smirnovavera_1234_5678_03_reverse_mode.ipynb
    smithjohn_LATE_1240_5690_03_reverse_mode-1.ipynb

what comes out (course import moodle download.zip -a 03_reverse_mode --to subs):
    subs/vera_smirnova_1234/03_reverse_mode/03_reverse_mode.ipynb
    subs/john_smith_1240/03_reverse_mode/work/03_reverse_mode.ipynb
    grading/lms/moodle-03_reverse_mode.json   (LMS ids and names, for course export)

Ids: the roster's when --roster matches the user (LMS id, e-mail or name); else the name in
GOST 7.79-2000 system B transliteration and the LMS user id. Zip names without the UTF-8 flag
are decoded as detected (UTF-8, cp866, cp1251 or cp437, with a note). Symbolic links are never
followed; an entry that is not taken (a link, a path outside the download, a file over the
caps, a name no layout explains) is reported on its own line and the rest is imported.
"""


def _limits_args(p: argparse.ArgumentParser, timeout: int) -> None:
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=0,
        help=f"parallel workers (default: the number of cores, {os.cpu_count()} here)",
    )
    p.add_argument(
        "--timeout",
        type=int,
        default=timeout,
        help="seconds per cell before it is interrupted (default: %(default)s)",
    )
    p.add_argument(
        "--memory",
        type=int,
        default=4096,
        help="memory limit of each kernel, MiB (default: %(default)s)",
    )
    p.add_argument(
        "--max-cells",
        type=int,
        default=1000,
        help="a notebook with more cells is not run: 0 points, flagged with a note; each code "
        "cell costs a round trip to its kernel (default: %(default)s)",
    )
    p.add_argument(
        "--no-landlock",
        action="store_true",
        help="do not confine kernels with Landlock (the audit hook still applies)",
    )


def _limits(a: argparse.Namespace) -> Limits:
    from .pipeline.execution import Limits

    return Limits(
        timeout=a.timeout,
        memory_mb=a.memory,
        landlock=not a.no_landlock,
        max_cells=getattr(a, "max_cells", 1000),
    )


def _lang_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lang",
        choices=("ru", "en", "both"),
        default=None,
        help="language of the report and the feedback; kept in the work dir "
        "(default: the work dir's, else the locale's: ru or en)",
    )


def _date(text: str) -> object:
    from datetime import datetime

    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date: {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="course", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser(
        "release",
        help="regenerate assignments/ from solutions/ (nbgrader)",
        description="Run nbgrader's generate_assignment for the assignments "
        "(all by default) and write the student releases to "
        "assignments/<id>/.",
    )
    r.add_argument(
        "assignments", nargs="*", metavar="ASSIGNMENT", help="assignment ids (default: all)"
    )
    r.add_argument(
        "--student",
        type=Path,
        metavar="DIR",
        default=None,
        help="instead, write the student distribution to DIR: lectures, release "
        "notebooks, reference_impl, visible checks (no solutions, reference "
        "versions or hidden checks)",
    )

    imp = sub.add_parser(
        "import",
        help="an LMS download (Moodle, Canvas) into SUBMISSIONS",
        description="Copy a Moodle or Canvas 'download all submissions' zip "
        "or folder into SUBMISSIONS/<student>/<assignment>/.",
        epilog=IMPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("lms", choices=("moodle", "canvas"), help="where the download comes from")
    imp.add_argument("source", type=Path, metavar="ZIP|DIR", help="the download")
    imp.add_argument("--assignment", "-a", required=True, help="the assignment id it is for")
    imp.add_argument(
        "--to",
        type=Path,
        required=True,
        metavar="SUBMISSIONS",
        help="the submissions folder to write into",
    )
    imp.add_argument(
        "--roster",
        type=Path,
        default=None,
        help="CSV (id, first_name, last_name, email[, moodle_id|canvas_id]) to "
        "map LMS users to student ids (by LMS id, e-mail or full name)",
    )
    imp.add_argument(
        "--ids",
        choices=("name", "lms"),
        default="name",
        help="without a roster: 'name' = the name transliterated (GOST 7.79-2000 "
        "system B) and the LMS user id, vera_smirnova_1234 (default); "
        "'lms' = the LMS user id alone",
    )
    imp.add_argument(
        "--workdir",
        "-w",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="work dir where the LMS ids are kept for course export (default: %(default)s)",
    )

    ro = sub.add_parser(
        "roster",
        help="import students (ids, names, e-mails) into the gradebook",
        description="Import a CSV with a header: "
        "id (or student_id/username/login), first_name, "
        "last_name, email (or name). Students without a "
        "submission are then listed as missing.",
    )
    ro.add_argument("csv", type=Path, metavar="CSV", help="the roster file")
    ro.add_argument(
        "--workdir",
        "-w",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="nbgrader's course folder (default: %(default)s)",
    )

    g = sub.add_parser(
        "autograde",
        help="grade SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb",
        description="Autograde every submission with nbgrader in N sandboxed worker "
        "processes; write the gradebook, autograded notebooks, feedback HTML and "
        "grades.csv to the work dir; print a summary table. Unchanged submissions "
        "are not graded again.",
    )
    g.add_argument(
        "submissions",
        type=Path,
        metavar="SUBMISSIONS",
        help="folder of <student_id>/<assignment_id>/<notebook>.ipynb",
    )
    g.add_argument(
        "--assignment", "-a", action="append", default=[], help="only this assignment (repeatable)"
    )
    g.add_argument(
        "--student",
        "-s",
        action="append",
        default=[],
        help="(re)grade only this student (repeatable)",
    )
    g.add_argument(
        "--workdir",
        "-w",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="nbgrader's course folder for the results (default: %(default)s)",
    )
    g.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    g.add_argument(
        "--due",
        type=_date,
        default=None,
        metavar="DATE",
        help="due date of the graded assignments, ISO 8601 (2026-12-01T23:59, UTC "
        "unless an offset is given); compared with timestamp.txt",
    )
    g.add_argument(
        "--late-penalty",
        default=None,
        metavar="POLICY",
        help="'zero' (late scores 0), 'none', or a percentage lost per started "
        "day late (e.g. 10); kept in the work dir for later runs",
    )
    g.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade even where the kernel sandbox (bubblewrap) does not work on this "
        "machine: student code then runs with the grader's rights; only for "
        "submissions you trust",
    )
    g.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:8786",
        help="grade on this Dask distributed cluster instead of local worker "
        "processes (docs/CLUSTER.md; needs the 'cluster' extra)",
    )
    g.add_argument(
        "--db-url",
        default=None,
        metavar="URL",
        help="with --scheduler: nbgrader's gradebook as a SQLAlchemy URL "
        "(postgresql://…) shared by the workers (default: WORKDIR/gradebook.db, "
        "for workers sharing this file system)",
    )
    g.add_argument(
        "--db-url-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="with --scheduler: read the URL from FILE (its first line), so that a "
        "password never appears on a command line (ps, /proc/PID/cmdline)",
    )
    g.add_argument(
        "--db-wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="with --scheduler: how long a fault of the database server (a restart, "
        "refused connections) is retried before the run stops cleanly, saving "
        "what was graded (default: %(default)s)",
    )
    _limits_args(g, 60)

    rep = sub.add_parser(
        "report",
        help="statistics and plots from the gradebook",
        description="Per-assignment and per-task statistics (mean, median, "
        "share with full points, most frequent failures), "
        "flagged submissions, PNG plots.",
    )
    rep.add_argument(
        "--workdir",
        "-w",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="the work dir course autograde wrote (default: %(default)s)",
    )
    rep.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for report.md and report.html (default: WORKDIR/report)",
    )
    _lang_arg(rep)

    ex = sub.add_parser(
        "export",
        help="grades and feedback files for Moodle's or Canvas's upload",
        description="Write WORKDIR/export/<lms>-<id>-grades.csv (Moodle: the grading "
        "worksheet; Canvas: the Gradebook import CSV) and "
        "WORKDIR/export/<lms>-<id>-feedback.zip (each student's feedback HTML "
        "named as the LMS's download named their submission, for its upload of "
        "feedback files). Needs the LMS ids course import kept in WORKDIR/lms/.",
    )
    ex.add_argument("lms", choices=("moodle", "canvas"), help="where the grades go")
    ex.add_argument(
        "--workdir",
        "-w",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="the work dir course autograde wrote (default: %(default)s)",
    )
    ex.add_argument("--assignment", "-a", required=True, help="the assignment id")
    ex.add_argument(
        "--scale-to",
        type=float,
        default=None,
        metavar="POINTS",
        help="rescale scores to the LMS's maximum grade (default: the course's points)",
    )
    ex.add_argument(
        "--column",
        default=None,
        metavar="TITLE",
        help="Canvas: the assignment's column title as in Canvas's own export, "
        "e.g. 'Reverse mode (12345)' (default: the assignment id)",
    )
    _lang_arg(ex)

    fb = sub.add_parser(
        "feedback",
        help="after manual grading: grades.csv, grades-table.csv, feedback again",
        description="Read the gradebook (manual grades from formgrader included) and write "
        "grades.csv, grades-table.csv and every student's feedback HTML of the "
        "assignment(s) again, with the course's exporter (hidden tests as one "
        "line, no CDN) in the chosen language. Nothing is regraded.",
    )
    fb.add_argument(
        "--workdir",
        "-w",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="the work dir course autograde wrote (default: %(default)s)",
    )
    fb.add_argument(
        "--assignment",
        "-a",
        action="append",
        default=[],
        help="only this assignment (repeatable; default: all graded)",
    )
    fb.add_argument(
        "--student", "-s", action="append", default=[], help="only this student (repeatable)"
    )
    _lang_arg(fb)

    fg = sub.add_parser(
        "formgrader",
        help="manual grading: nbgrader's formgrader on the work dir",
        description="Make WORKDIR/nbgrader_config.py use the course's feedback exporter, "
        "then run 'jupyter lab' in WORKDIR (nbgrader 0.9.6 has no 'nbgrader "
        "formgrader' command): open the printed URL and go to /formgrader. After "
        "manual grading run: course feedback -w WORKDIR.",
    )
    fg.add_argument(
        "--workdir",
        "-w",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="the work dir course autograde wrote (default: %(default)s)",
    )
    fg.add_argument("--port", type=int, default=8888, help="default: %(default)s")
    fg.add_argument(
        "--print-only",
        action="store_true",
        help="write the config and print the command instead of running it",
    )

    d = sub.add_parser(
        "demo",
        help="release, build a synthetic class, grade it, report",
        description="The whole TA workflow on a synthetic class built from "
        "the release and the solutions: full marks, blank, "
        "partial and hostile submissions.",
    )
    d.add_argument(
        "--workdir",
        "-w",
        type=Path,
        default=DEMO_WORKDIR,
        help="where the demo class and its grades go (default: %(default)s)",
    )
    d.add_argument(
        "--assignment",
        "-a",
        action="append",
        default=[],
        help="only this assignment (default: all)",
    )
    d.add_argument(
        "--all-cases",
        action="store_true",
        help="every hostile case of the test suite, not the demo's selection",
    )
    _limits_args(d, 10)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``course`` console script."""
    from .pipeline.request import UsageError

    a = _parser().parse_args(argv)
    try:
        return _run(a)
    except (UsageError, FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"course {a.command}: {exc}", file=sys.stderr)
        return 2
    except PermissionError as exc:
        print(f"course {a.command}: permission denied: {exc.filename or exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from .cluster.faults import first_line, is_db_fault

        if not is_db_fault(exc):
            raise
        # the gradebook's database did not answer (an autograde run has printed its summary
        # and saved what was graded): one line, never a traceback
        print(
            f"course {a.command}: stopped: "
            f"{exc if type(exc).__name__ == 'DatabaseUnavailable' else first_line(exc)}; "
            f"run the same command again once the database answers",
            file=sys.stderr,
        )
        return 3


def _run(a: argparse.Namespace) -> int:
    from .authoring.nbgrader_setup import assignment_ids, repo_root
    from .pipeline.request import check_ids

    if a.command == "release":
        if a.student is not None:
            from .authoring.student import build_student

            files = build_student(a.student, repo_root())
            print(
                f"student distribution: {len(files)} files in {a.student} (no solutions, "
                f"reference versions or hidden checks); students run: bash setup.sh"
            )
            return 0
        from . import release

        check_ids("assignment", a.assignments, assignment_ids())
        for path in release(a.assignments or None):
            print(path)
        return 0
    if a.command == "import":
        from .pipeline import intake

        check_ids("assignment", [a.assignment], assignment_ids())
        done = intake.import_download(
            a.lms, a.source, a.assignment, a.to, a.roster, ids=a.ids, workdir=a.workdir
        )
        for origin, sid in sorted(done.mapping.items()):
            print(f"{origin}  →  {a.to / sid / a.assignment}")
        for note in done.notes:
            print(f"note: {note}")
        for name, reason in done.skipped:
            print(f"skipped: {name}: {reason}")
        print(
            f"{len(done.mapping)} submission(s) of {a.assignment} from {a.lms} into {a.to} "
            f"({done.files} files; {len(done.skipped)} entries skipped)"
        )
        return 0
    if a.command == "roster":
        from .pipeline.gradebook import import_roster
        from .pipeline.request import RunLock, writable_workdir

        workdir = writable_workdir(a.workdir)
        with RunLock(workdir, "course roster"):  # never beside a run grading into it
            ids = import_roster(workdir, a.csv)
        from .authoring.nbgrader_setup import gradebook_url

        print(f"{len(ids)} students in {gradebook_url(a.workdir).split('@')[-1]}")
        return 0
    if a.command == "autograde":
        from .pipeline.autograde import Options, autograde

        if not a.submissions.is_dir():
            print(f"course autograde: no folder {a.submissions}", file=sys.stderr)
            return 2
        opts = Options(
            a.submissions,
            a.workdir,
            a.assignment,
            a.student,
            a.jobs,
            _limits(a),
            a.force,
            due=a.due,
            late=a.late_penalty,
            unsafe_no_sandbox=a.unsafe_no_sandbox,
            db_wait=a.db_wait,
        )
        if a.db_url_file is not None:
            from .cluster.credentials import read_url_file

            a.db_url = read_url_file(a.db_url_file)
        if a.db_url and not a.scheduler:
            print(
                "course autograde: --db-url needs --scheduler (a local run uses the work "
                "dir's gradebook: WORKDIR/gradebook.db, or the database that a cluster run "
                "named in WORKDIR/gradebook-url)",
                file=sys.stderr,
            )
            return 2
        if a.scheduler:
            from .cluster import autograde_on_cluster

            outcomes = autograde_on_cluster(opts, a.scheduler, a.db_url)
        else:
            outcomes = autograde(opts)
        if any(o.status == "pending" for o in outcomes):
            return 130
        return 1 if any(o.status == "error" for o in outcomes) else 0
    if a.command == "report":
        from .lms.lang import resolve
        from .pipeline.request import readable_workdir
        from .report import main_report

        workdir = readable_workdir(a.workdir)
        text, path = main_report(workdir, a.out, lang=resolve(workdir, a.lang))
        print(text)
        print(f"written: {path} and {path.with_suffix('.html')}")
        return 0
    if a.command == "export":
        from .lms.export import export
        from .lms.lang import resolve
        from .pipeline.request import readable_workdir

        workdir = readable_workdir(a.workdir)
        check_ids("assignment", [a.assignment], assignment_ids())
        exported = export(
            a.lms,
            workdir,
            a.assignment,
            lang=resolve(workdir, a.lang),
            scale_to=a.scale_to,
            column=a.column,
        )
        for note in exported.notes:
            print(f"note: {note}")
        print(f"{exported.rows} grade(s): {exported.grades}")
        print(f"{exported.files} feedback file(s): {exported.feedback}")
        return 0
    if a.command == "feedback":
        from .lms.lang import resolve
        from .lms.manual import regenerate
        from .pipeline.request import readable_workdir

        workdir = readable_workdir(a.workdir)
        pages = regenerate(workdir, a.assignment, a.student, lang=resolve(workdir, a.lang))
        print(
            f"{len(pages)} feedback page(s) written; grades.csv and grades-table.csv in {workdir}"
        )
        return 0
    if a.command == "formgrader":
        from .lms.manual import formgrader
        from .pipeline.request import readable_workdir

        return formgrader(readable_workdir(a.workdir), a.port, run=not a.print_only)
    from .authoring.demo import run_demo

    return run_demo(a.workdir, a.assignment, jobs=a.jobs, limits=_limits(a), all_cases=a.all_cases)


if __name__ == "__main__":
    raise SystemExit(main())
