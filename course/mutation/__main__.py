"""``python -m course.mutation [ASSIGNMENT…] [--task t3_6] [--jobs 2] [--out FILE]``.

Generates the mutants of every task's solution, runs them against the task's checks, prints per
task killed / survived / equivalent and the score (killed / non-equivalent), lists the survivors,
and writes the whole result as JSON (``--out``; the committed one is
``course/mutation/results.json``; with ``--semantic``, the semantic mutants of
:mod:`.semantic`, committed in ``semantic_results.json``). Exit status 1 if a task scores
below ``--goal`` (0.95).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from . import semantic
from .runner import ROOT, equivalents, load_tasks, run_task


def _one(args: tuple[str, str, float, bool]) -> dict[str, Any]:
    aid, task, limit, sem = args
    cells = next(t for t in load_tasks(aid) if t.task == task)
    if sem:
        verdicts, seconds = semantic.run_semantic_task(cells, limit_s=limit)
    else:
        verdicts, seconds = run_task(cells, limit_s=limit)
    counts = {s: sum(v.status == s for v in verdicts) for s in ("killed", "survived", "equivalent")}
    live = counts["killed"] + counts["survived"]
    return {
        "assignment": aid,
        "task": task,
        **counts,
        "mutants": len(verdicts),
        "score": round(counts["killed"] / live, 4) if live else 1.0,
        "seconds": round(seconds, 1),
        "survivors": [
            {"id": v.id, "what": v.description, **({"wrapper": v.reason} if sem else {})}
            for v in verdicts
            if v.status == "survived"
        ],
        **(
            {"killed_by": {v.id: v.reason for v in verdicts if v.status == "killed"}} if sem else {}
        ),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m course.mutation", description=__doc__)
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--task", action="append", help="only these tasks (t3_6; repeatable)")
    p.add_argument("--jobs", type=int, default=1, help="tasks run in parallel (default 1)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per mutant")
    p.add_argument("--goal", type=float, default=0.95, help="lowest acceptable score per task")
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    p.add_argument(
        "--semantic",
        action="store_true",
        help="the semantic mutants (course/mutation/semantic.py) instead of the AST "
        "ones; equivalents from semantic_equivalent.json",
    )
    a = p.parse_args(argv)
    aids = a.assignments or sorted(d.name for d in (ROOT / "solutions").iterdir() if d.is_dir())
    jobs = [
        (aid, t.task, a.timeout, a.semantic)
        for aid in aids
        for t in load_tasks(aid)
        if not a.task or t.task in a.task
    ]
    start = time.perf_counter()
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as pool:
            rows = list(pool.map(_one, jobs))
    else:
        rows = [_one(j) for j in jobs]
    total = time.perf_counter() - start
    print(
        f"{'task':<8} {'mutants':>7} {'killed':>6} {'survived':>8} {'equiv.':>6} "
        f"{'score':>6} {'s':>6}"
    )
    for r in rows:
        print(
            f"{r['task']:<8} {r['mutants']:>7} {r['killed']:>6} {r['survived']:>8} "
            f"{r['equivalent']:>6} {r['score']:>6.1%} {r['seconds']:>6.1f}"
        )
        for s in r["survivors"]:
            note = f" (wrapper {s['wrapper']})" if "wrapper" in s else ""
            print(f"    survived {r['assignment']}/{r['task']}/{s['id']}: {s['what']}{note}")
    listed = semantic.equivalents() if a.semantic else equivalents()
    print(
        f"{len(rows)} tasks, {sum(r['mutants'] for r in rows)} mutants, "
        f"{len(listed)} listed equivalent, {total:.0f} s"
    )
    if a.out:
        a.out.write_text(
            json.dumps({"seconds": round(total, 1), "tasks": rows}, ensure_ascii=False, indent=1)
            + "\n"
        )
    return 0 if all(r["score"] >= a.goal for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
