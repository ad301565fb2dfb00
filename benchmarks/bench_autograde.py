"""Seconds per submitted notebook: plain ``nbgrader autograde`` vs ``course autograde`` with
1, 2 and 3 workers, on the same synthetic class; projected to 100 students × 5 assignments.

    .venv/bin/python benchmarks/bench_autograde.py [--students 10] [--assignment ID …]
    .venv/bin/python benchmarks/bench_autograde.py --cluster [--students 6]
    .venv/bin/python benchmarks/bench_autograde.py --jobs 2 --before COMMIT [--students 4]
    .venv/bin/python benchmarks/bench_autograde.py --jobs 2 --starts 6 [--only-starts]

``--before COMMIT`` also grades the class with ``course autograde`` as it was at ``COMMIT``
(``git archive`` into a temporary folder, first on ``PYTHONPATH``), in the same run: the cost of
a change (issue 17: the bubblewrap box per kernel) next to plain nbgrader, on the same load.

``--starts N`` also starts N kernels in a bubblewrap box and N without (the same bootstrap,
interleaved): the box's own start cost, kernel CPU read from ``/proc`` before shutdown.

``--cluster`` (needs the ``cluster`` and ``test`` extras) compares ``course autograde --jobs 2``
with the Dask path (:mod:`course.cluster`) on a loopback cluster started here (``dask
scheduler`` and 1, then 2 ``dask worker`` processes, PostgreSQL from the ``pgserver`` wheel):
notebooks per second, the scheduling and shipping overhead per task (no-op tasks carrying a
real submission there and back), and a projection for 10,000 notebooks on N machines.

The class mixes full, partial, blank and half-done submissions (no hostile ones: plain nbgrader
would stop at the first crashing kernel). Plain nbgrader is the command a TA would type, once per
assignment for all students (its start-up included); ``course autograde`` also sandboxes every
kernel, writes the feedback and ``grades.csv``. Both run with the kernel environment of
``course.authoring.nbgrader_setup.KERNEL_ENV`` (CPU float64 JAX, one BLAS thread). "fixed s" is what does
not grow with the class (``generate_assignment`` per assignment, the preflight); s/notebook is
the rest per notebook; the projection is fixed + 500 × s/notebook. "CPU s/notebook" counts
every process (workers, kernels, nbgrader); "from CPU" projects it onto min(cores, workers)
otherwise idle cores, the figure for a machine nobody else is using.
"""

from __future__ import annotations

import _common  # noqa: F401  (first: pins BLAS and XLA to one thread)

# isort: split
import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import save, table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course.authoring.demo import build_class  # noqa: E402
from course.authoring.nbgrader_setup import assignment_ids, grading_env, make_config  # noqa: E402

MIX = ("full", "partial", "control-first", "full", "blank", "control-last")


def _class(base: Path, aids: list[str], n: int) -> Path:
    """``n`` students per assignment, cycling through :data:`MIX`."""
    subs = base / "submissions"
    tmp = base / "cases"
    build_class(tmp, aids, root=ROOT, release_dir=ROOT / "assignments", cases=set(MIX))
    for i in range(n):
        case = MIX[i % len(MIX)]
        for aid in aids:
            shutil.copytree(tmp / case / aid, subs / f"s{i:03d}" / aid)
    return subs


def _cpu() -> float:
    """CPU seconds of all finished child processes (kernels, workers, nbgrader)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _kernel_cpu(work: Path) -> float:
    """CPU seconds of the kernels in bubblewrap boxes, as the executor read them from /proc
    before killing each box (``metadata.course.kernel_cpu``): a box's processes are reaped
    inside it, so they are missing from this process's RUSAGE_CHILDREN. 0 for older runs,
    whose kernels are reaped by the workers and counted there."""
    import json

    total = 0.0
    for nb in (work / "autograded").rglob("*.ipynb"):
        meta = json.loads(nb.read_text()).get("metadata", {}).get("course") or {}
        total += float(meta.get("kernel_cpu") or 0.0)
    return total


def _env() -> dict[str, str]:
    with grading_env():
        return dict(os.environ)


def plain_nbgrader(subs: Path, aids: list[str], work: Path) -> tuple[float, float, float]:
    """``nbgrader generate_assignment`` (untimed), then one timed ``nbgrader autograde`` per
    assignment, as a TA would run it: (seconds, 0, CPU seconds)."""
    cfg = make_config(ROOT, work)
    lines = [
        f"c.{section}.{key} = {value!r}"
        for section, traits in cfg.items()
        for key, value in traits.items()
    ]
    work.mkdir(parents=True, exist_ok=True)
    (work / "nbgrader_config.py").write_text("c = get_config()\n" + "\n".join(lines) + "\n")
    shutil.copytree(subs, work / "submitted")
    env = _env()
    nbgrader = [sys.executable, "-m", "nbgrader"]
    for aid in aids:
        subprocess.run(
            [*nbgrader, "generate_assignment", aid, "--force"],
            cwd=work,
            env=env,
            check=True,
            capture_output=True,
        )
    t0, c0 = time.perf_counter(), _cpu()
    for aid in aids:
        subprocess.run(
            [*nbgrader, "autograde", aid, "--force"],
            cwd=work,
            env=env,
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - t0, 0.0, _cpu() - c0


def course_autograde(
    subs: Path, work: Path, jobs: int, timeout: int, source: Path | None = None
) -> tuple[float, float]:
    """``course autograde`` on a fresh work folder: (total seconds, of which the fixed
    prepare phase: ``generate_assignment`` per assignment and the preflight). ``source``: a
    copy of another version of the repository to run instead of this one."""
    env = _env()
    if source is not None:
        env["PYTHONPATH"] = str(source)
    t0 = time.perf_counter()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "course.cli",
            "autograde",
            str(subs),
            "--jobs",
            str(jobs),
            "--timeout",
            str(timeout),
            "--workdir",
            str(work),
        ],
        cwd=source or ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    total = time.perf_counter() - t0
    if run.returncode:
        raise RuntimeError(f"course autograde failed (kept {work}):\n{run.stdout[-3000:]}")
    m = re.search(r"prepare ([\d.]+) s", run.stdout)
    return total, float(m[1]) if m else 0.0


def _cluster_run(
    subs: Path, work: Path, db: str, address: str, timeout: int
) -> tuple[float, float, list[Any]]:
    """One ``autograde_on_cluster`` run: (seconds, of which the fixed prepare, the tasks)."""
    import io

    from course.cluster import autograde_on_cluster
    from course.pipeline.autograde import Options
    from course.pipeline.execution import Limits

    plans: list[Any] = []
    t0 = time.perf_counter()
    outs = autograde_on_cluster(
        Options(subs, work, limits=Limits(timeout=timeout), out=io.StringIO()),
        address,
        db,
        on_plan=plans.append,
    )
    seconds = time.perf_counter() - t0
    errors = [o for o in outs if o.status == "error"]
    if errors:
        raise RuntimeError(f"cluster run failed: {errors[0].error}")
    return seconds, plans[0].t_prepared - plans[0].t0, plans[0].tasks


def _overhead(address: str, tasks: list[Any], repeat: int = 4) -> float:
    """Seconds per no-op task that carries a real submission to a worker and back."""
    from distributed import Client

    from course.cluster.shipping import hold

    with Client(address) as client:
        client.gather(client.map(hold, tasks[:2], pure=False))  # warm
        batch = tasks * repeat
        t0 = time.perf_counter()
        client.gather(client.map(hold, batch, pure=False))
        return (time.perf_counter() - t0) / len(batch)


def cluster_main(a: argparse.Namespace, aids: list[str], base: Path) -> None:
    """``--cluster``: local --jobs 2 vs 1 and 2 Dask workers; overhead; projection."""
    from course.cluster.loopback import DaskProcesses, create_database, postgres

    subs = _class(base, aids, a.students)
    n = a.students * len(aids)
    load0 = os.getloadavg()[0]
    runs: dict[str, tuple[float, float]] = {
        "local --jobs 2": course_autograde(subs, base / "local", 2, a.timeout)
    }
    pg = Path(tempfile.mkdtemp(prefix="bench-pg-"))  # PostgreSQL runs as another user if root
    overhead = 0.0
    try:
        with postgres(pg / "data") as url:
            for workers in (1, 2):
                with DaskProcesses(base / f"dask{workers}", workers) as dask:
                    db = create_database(url, f"bench{workers}")
                    seconds, fixed, tasks = _cluster_run(
                        subs, base / f"d{workers}", db, dask.address, a.timeout
                    )
                    runs[f"dask, {workers} worker(s)"] = (seconds, fixed)
                    if workers == 2:
                        overhead = _overhead(dask.address, tasks)
    finally:
        shutil.rmtree(pg, ignore_errors=True)
    rows = [
        {
            "run": name,
            "notebooks": n,
            "seconds": round(sec, 1),
            "fixed s": round(fix, 1),
            "notebooks/s": round(n / (sec - fix), 3),
            "s/notebook/worker": round((sec - fix) / n * (2 if "2" in name else 1), 2),
        }
        for name, (sec, fix) in runs.items()
    ]
    print(
        table(
            rows,
            f"autograde on Dask, {a.students} students × {len(aids)} assignments "
            f"({os.cpu_count()} cores, load {load0:.1f} → {os.getloadavg()[0]:.1f})",
        )
    )
    per_worker = rows[1]["s/notebook/worker"]  # one Dask worker: grading plus shipping
    fixed = max(r["fixed s"] for r in rows)
    print(
        f"scheduling + shipping overhead: {overhead * 1000:.1f} ms per task (no-op tasks "
        f"carrying a real submission there and back, 2 workers)"
    )
    projection = []
    for machines in (1, 4, 16, 64):
        workers = machines * 16
        minutes = (fixed + 10_000 * per_worker / workers + 10_000 * overhead) / 60
        projection.append(
            {
                "machines (16 cores)": machines,
                "worker processes": workers,
                "10,000 notebooks (min)": round(minutes, 1),
            }
        )
    print(
        table(
            projection,
            f"projection: fixed {fixed:.0f} s + 10,000 × {per_worker:.2f} s / "
            f"workers + 10,000 × {overhead * 1000:.1f} ms serial overhead",
        )
    )
    path = save(
        "bench_autograde_cluster",
        {
            "students": a.students,
            "assignments": aids,
            "rows": rows,
            "overhead_s_per_task": overhead,
            "projection": projection,
            "load_average": [load0, os.getloadavg()[0]],
        },
    )
    print(f"saved {path}")


async def _start_once(sealed: bool) -> tuple[float, float, float]:
    """Start one grading kernel (the bootstrap and the same view, in and out of a box),
    ask ``kernel_info``, run ``import numpy``, shut it down. Returns (wall s, CPU s of the
    kernel's process tree incl. ``bwrap``, CPU s of this process)."""
    from course.pipeline.kernels import Box, SandboxKernelManager
    from course.pipeline.view import kernel_view

    box = Box(kernel_view(None), sealed=sealed)
    km = SandboxKernelManager(kernel_name="python3")
    km.box = box
    km.pre_start_kernel_box()
    km.sandbox_args = ["--memory", "4096", "--no-landlock"]
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        await km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=300)
        await kc.execute_interactive("import numpy", timeout=300)
        wall, cpu = time.perf_counter() - t0, km.cpu_seconds()
        own = time.process_time() - c0
        kc.stop_channels()
    finally:
        await km.shutdown_kernel(now=True)
        box.remove()
    return wall, cpu, own


def kernel_starts(n: int) -> list[dict[str, Any]]:
    """``n`` kernel starts in a bubblewrap box and ``n`` without, interleaved: the box's own
    start cost (bwrap, namespaces, the read-only view) beside the same bootstrap unboxed."""
    import asyncio

    from course.pipeline.bwrap import sandbox_status

    if not sandbox_status()[0]:
        return []
    got: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
    for sealed in (True, False):  # warm the caches of both paths once
        asyncio.run(_start_once(sealed))
    for _ in range(n):
        for sealed in (True, False):
            got[sealed].append(asyncio.run(_start_once(sealed)))
    rows = []
    for sealed, runs in got.items():
        walls = sorted(r[0] for r in runs)
        rows.append(
            {
                "kernel start": "in a bwrap box" if sealed else "unboxed (same bootstrap)",
                "starts": n,
                "median s": round(walls[len(walls) // 2], 2),
                "kernel CPU s": round(sum(r[1] for r in runs) / n, 3),
                "grader CPU s": round(sum(r[2] for r in runs) / n, 3),
            }
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=10)
    p.add_argument("--assignment", action="append", default=[])
    p.add_argument("--timeout", type=int, default=60)
    p.add_argument(
        "--jobs",
        type=int,
        nargs="+",
        default=[1, 2, 3],
        help="worker counts for course autograde (default: 1 2 3)",
    )
    p.add_argument(
        "--before",
        default="",
        help="also run course autograde as it was at this commit (same class)",
    )
    p.add_argument(
        "--cluster",
        action="store_true",
        help="local --jobs 2 vs 1 and 2 Dask workers (see the module docstring)",
    )
    p.add_argument(
        "--starts",
        type=int,
        default=0,
        help="also time this many kernel starts in a box and unboxed (the box's own cost)",
    )
    p.add_argument("--only-starts", action="store_true", help="only the kernel starts")
    a = p.parse_args()
    if a.only_starts:
        load0 = os.getloadavg()[0]
        rows = kernel_starts(a.starts or 6)
        print(table(rows, f"kernel starts (load {load0:.1f} → {os.getloadavg()[0]:.1f})"))
        return
    aids = a.assignment or assignment_ids(ROOT)
    base = Path(tempfile.mkdtemp(prefix="bench-autograde-"))
    try:
        if a.cluster:
            cluster_main(a, aids, base)
            shutil.rmtree(base, ignore_errors=True)
            return
        subs = _class(base, aids, a.students)
        n = a.students * len(aids)
        load0 = os.getloadavg()[0]
        runs = {}
        runs["nbgrader autograde (plain)"] = plain_nbgrader(subs, aids, base / "plain")
        source = None
        if a.before:
            source = base / "before"
            source.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", a.before], check=True, capture_output=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
        for jobs in a.jobs:
            if source is not None:
                c0 = _cpu()
                runs[f"before ({a.before[:8]}) --jobs {jobs}"] = (
                    *course_autograde(subs, base / f"b{jobs}", jobs, a.timeout, source),
                    _cpu() - c0 + _kernel_cpu(base / f"b{jobs}"),
                )
            c0 = _cpu()
            runs[f"course autograde --jobs {jobs}"] = (
                *course_autograde(subs, base / f"j{jobs}", jobs, a.timeout),
                _cpu() - c0 + _kernel_cpu(base / f"j{jobs}"),
            )
        cores = os.cpu_count() or 1
        rows = []
        for name, (seconds, fixed, cpu) in runs.items():
            per = (seconds - fixed) / n
            rows.append(
                {
                    "run": name,
                    "notebooks": n,
                    "seconds": round(seconds, 1),
                    "fixed s": round(fixed, 1),
                    "s/notebook": round(per, 2),
                    "notebooks/s": round(n / seconds, 3),
                    "CPU s/notebook": round(cpu / n, 2),
                    "100x5 projected (min)": round((fixed + per * 500) / 60, 1),
                    "100x5 from CPU (min)": round(
                        (
                            fixed
                            + 500
                            * cpu
                            / n
                            / min(cores, int(name.split()[-1]) if "jobs" in name else 1)
                        )
                        / 60,
                        1,
                    ),
                }
            )
        print(
            table(
                rows,
                f"autograde, {a.students} students × {len(aids)} assignments "
                f"({os.cpu_count()} cores, load {load0:.1f} → "
                f"{os.getloadavg()[0]:.1f})",
            )
        )
        starts = kernel_starts(a.starts) if a.starts else []
        if starts:
            print(table(starts, f"kernel starts (load {os.getloadavg()[0]:.1f})"))
        path = save(
            "bench_autograde",
            {
                "students": a.students,
                "assignments": aids,
                "load_average": [load0, os.getloadavg()[0]],
                "rows": rows,
                "kernel_starts": starts,
            },
        )
        print(f"saved {path}")
    except BaseException:
        print(f"kept {base}", file=sys.stderr)
        raise
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
