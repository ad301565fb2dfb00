"""Grading beyond one machine: ``course autograde`` on a Dask distributed cluster, with
nbgrader's gradebook in PostgreSQL (docs/CLUSTER.md).

* :mod:`.driver` — :func:`autograde_on_cluster`: tasks, progress, faults;
* :mod:`.plan` — the TA's side before and after the tasks (preflight, state, export);
* :mod:`.worker` — the Dask task: one submission graded by the local pipeline on a worker;
* :mod:`.shipping` — what travels to and from a worker (kits, tasks, products);
* :mod:`.gradebook` — the shared gradebook: URLs, the per-submission lock, export.

Needs the ``cluster`` extra (``pip install -e '.[cluster]'``: Dask distributed, psycopg);
nothing here is imported by the single-machine path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["autograde_on_cluster"]

if TYPE_CHECKING:
    from ..pipeline.autograde import Options, Outcome


def autograde_on_cluster(
    opts: Options,
    scheduler_address: str,
    db_url: str | None,
    client: Any = None,
    on_plan: Any = None,
) -> list[Outcome]:
    """See :func:`course.cluster.driver.autograde_on_cluster` (imported on first use, so that
    ``import course.cluster`` needs no Dask)."""
    from .driver import autograde_on_cluster as run

    return run(opts, scheduler_address, db_url, client=client, on_plan=on_plan)
