"""``python -m course.cluster SUBMISSIONS --scheduler tcp://HOST:8786 --db-url postgresql://…``:
``course autograde`` on a Dask cluster (the same options; see docs/CLUSTER.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Parse the options, grade on the cluster; 130 when interrupted (Ctrl-C)."""
    from ..cli import _date
    from ..pipeline.autograde import Options
    from ..pipeline.execution import Limits
    from . import autograde_on_cluster

    p = argparse.ArgumentParser(prog="python -m course.cluster", description=__doc__)
    p.add_argument("submissions", type=Path, metavar="SUBMISSIONS")
    p.add_argument("--scheduler", required=True, help="the Dask scheduler, tcp://HOST:8786")
    p.add_argument(
        "--db-url",
        default=None,
        help="nbgrader's gradebook, a SQLAlchemy URL (postgresql://…); default: "
        "WORKDIR/gradebook.db, for workers sharing this file system",
    )
    p.add_argument(
        "--db-url-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="read the URL from FILE, so that a password never appears on a command line",
    )
    p.add_argument("--workdir", "-w", type=Path, default=Path("grading"))
    p.add_argument("--assignment", "-a", action="append", default=[])
    p.add_argument("--student", "-s", action="append", default=[])
    p.add_argument("--timeout", type=int, default=60, help="seconds per cell")
    p.add_argument("--memory", type=int, default=4096, help="MiB per kernel")
    p.add_argument("--no-landlock", action="store_true")
    p.add_argument(
        "--db-wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long a fault of the database server is retried (default 60)",
    )
    p.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    p.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade even on workers where the kernel sandbox does not work",
    )
    p.add_argument(
        "--due",
        type=_date,
        default=None,
        metavar="DATE",
        help="due date, ISO 8601 (UTC unless an offset is given)",
    )
    p.add_argument(
        "--late-penalty",
        default=None,
        metavar="POLICY",
        help="'zero', 'none', or a percentage lost per started day late",
    )
    a = p.parse_args(argv)
    if a.db_url_file is not None:
        from .credentials import read_url_file

        try:
            a.db_url = read_url_file(a.db_url_file)
        except ValueError as exc:
            print(f"python -m course.cluster: {exc}", file=sys.stderr)
            return 2
    if not a.submissions.is_dir():
        print(f"no folder {a.submissions}", file=sys.stderr)
        return 2
    opts = Options(
        a.submissions,
        a.workdir,
        a.assignment,
        a.student,
        limits=Limits(timeout=a.timeout, memory_mb=a.memory, landlock=not a.no_landlock),
        force=a.force,
        db_wait=a.db_wait,
        due=a.due,
        late=a.late_penalty,
        unsafe_no_sandbox=a.unsafe_no_sandbox,
    )
    from ..pipeline.request import UsageError
    from .faults import DatabaseUnavailable

    try:
        outcomes = autograde_on_cluster(opts, a.scheduler, a.db_url)
    except UsageError as exc:
        print(f"python -m course.cluster: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:  # the summary is printed; what was graded is saved
        print(f"python -m course.cluster: stopped: {exc}", file=sys.stderr)
        return 3
    if any(o.status == "pending" for o in outcomes):
        return 130  # interrupted: rerun the same command
    return 1 if any(o.status == "error" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
