"""The scalar chain of ``bench_engine.py`` on several checkouts of the engine, in one process,
interleaved: each repeat times every checkout in turn, so that all see the same load.

Each checkout's ``reference_impl`` is imported under its own name (``ri_0``, ``ri_1``, … the
package uses relative imports only), so two commits can be compared without one run per commit.
Reported: the best and the median µs per primitive op over the repeats, forward (``jvp``) and
reverse (``grad``).

Run: ``python benchmarks/bench_chain_commits.py DIR [DIR ...] [--repeat 15]``, each DIR a
checkout (e.g. ``git worktree add /tmp/base <commit>``) or ``.`` for this one.
"""

from __future__ import annotations

import _common  # noqa: F401  (first: pins BLAS and XLA to one thread)

# isort: split
import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from _common import table

STEPS = 1000
OPS_PER_STEP = 3


def load(checkout: str, alias: str) -> ModuleType:
    """``<checkout>/reference_impl`` imported as the package ``alias``."""
    root = Path(checkout).resolve() / "reference_impl"
    spec = importlib.util.spec_from_file_location(
        alias, root / "__init__.py", submodule_search_locations=[str(root)]
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"no reference_impl package in {checkout}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module


def chain(rnp: Any) -> Any:
    def f(x: Any) -> Any:
        for _ in range(STEPS):
            x = rnp.sin(x) * 1.0001 + 0.1
        return x

    return f


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkouts", nargs="+")
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args(argv)
    load_before = os.getloadavg()
    fns: dict[str, tuple[Any, Any]] = {}
    for k, path in enumerate(args.checkouts):
        ri = load(path, f"ri_{k}")
        f = chain(ri.numpy)
        grad_f = ri.grad(f)
        fns[path] = (lambda ri=ri, f=f: ri.jvp(f, (0.3,), (1.0,)), lambda g=grad_f: g(0.3))
    times: dict[tuple[str, str], list[float]] = {}
    for fwd, rev in fns.values():  # warm-up
        fwd(), rev()
    for _ in range(args.repeat):
        for path, (fwd, rev) in fns.items():
            for mode, fn in (("forward", fwd), ("reverse", rev)):
                t0 = time.perf_counter()
                fn()
                times.setdefault((path, mode), []).append(time.perf_counter() - t0)
    n_ops = STEPS * OPS_PER_STEP
    rows = []
    for path in fns:
        row: dict[str, Any] = {"checkout": path}
        for mode in ("forward", "reverse"):
            t = times[(path, mode)]
            row[f"{mode}_best_us/op"] = 1e6 * min(t) / n_ops
            row[f"{mode}_median_us/op"] = 1e6 * statistics.median(t) / n_ops
        rows.append(row)
    title = f"Scalar chain, {n_ops} ops, {args.repeat} interleaved repeats, one BLAS thread"
    print(table(rows, title))
    load_after = os.getloadavg()
    print(f"load average (1, 5, 15 min): before {load_before}, after {load_after}")


if __name__ == "__main__":
    main()
