"""The grading channel's cost (course.channel): one round trip between two processes over the real
:class:`~course.channel.endpoint.Endpoint`, and the five solution notebooks graded through it.

Round trips (a Unix stream socket pair, the parent is the checker with its policy, the child a
kernel with the default one):

* ``kernel -> checker``: the kernel calls a function the checker handed over (a proxy) with a
  float64 array of 3 elements and gets a float back (what ``f(x)`` in a student's code costs);
* ``checker -> kernel``: the checker calls a student's function by handle, same argument and
  result (what ``student_call(...)`` costs); and once more with an array result (``2 * x``).

Both ends are set up as in grading, with faithful calls (``course/channel/faithful.py``: the
kernel follows the arrays it decoded and returned, the checker numbers its arguments) unless
``COURSE_CHANNEL_FAITHFUL=0``: run it both ways for the feature's cost.

Printed per round trip: wall µs, and CPU µs of each process (``time.process_time``; the side
that waits still spends CPU on its reads and decoding). ``--notebooks`` also grades the five
solution notebooks with the harness of ``tests/grading/test_channel_notebooks.py`` (checks here, the
notebook in a subprocess kernel): wall s, round trips, CPU s of the checker process and of the
kernel. Run: ``python benchmarks/bench_channel.py [--n 5000] [--notebooks [01,05]]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # (before NumPy: pins BLAS to one thread)
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course.channel.checker import CheckerPolicy  # noqa: E402
from course.channel.endpoint import Endpoint  # noqa: E402
from course.channel.faithful import Mirror, Tracker, enabled  # noqa: E402


def _cpu() -> float:
    """CPU seconds of this process (user + system)."""
    return time.process_time()


def _sys() -> float:
    """System (kernel) CPU seconds of this process: the socket's share of :func:`_cpu`."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


# -- the child: a kernel ----------------------------------------------------------------------
def _child(fd: int) -> None:
    sock = socket.socket(fileno=fd)

    def call_proxy(ep: Endpoint, header: dict[str, Any], buffers: list[bytes]) -> Any:
        """kernel -> checker: call the checker's ``f`` n times."""
        f, n, x = ep.value(header["a"], buffers)
        for _ in range(200):
            f(x)
        s0, c0, t0 = _sys(), _cpu(), time.perf_counter()
        for _ in range(n):
            y = f(x)
        t, c, s = time.perf_counter() - t0, _cpu() - c0, _sys() - s0
        assert isinstance(y, float)
        return (t, c, s)

    ep = Endpoint(sock, extra={"call_proxy": call_proxy})
    ep.tracker = Tracker() if enabled() else None

    def g(x: np.ndarray) -> float:
        return float(x.sum())

    def h(x: np.ndarray) -> np.ndarray:
        return 2 * x

    n = ep.request("ready")
    for fn in (g, h):
        c0, s0 = _cpu(), _sys()
        ep.request("call_handle", a=(fn, n))  # serves the checker's n calls of fn
        ep.request("kernel_cpu", a=(fn.__name__, _cpu() - c0, _sys() - s0))
    sock.close()


# -- the parent: the checker ------------------------------------------------------------------
def round_trips(n: int) -> list[dict[str, Any]]:
    """µs per round trip both ways, wall and CPU per side."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", str(b.fileno())],
        pass_fds=[b.fileno()],
        cwd=ROOT,
    )
    b.close()
    rows: list[dict[str, Any]] = []
    x = np.array([1.0, 2.0, 3.0])
    state: dict[str, Any] = {}

    def f(v: np.ndarray) -> float:
        return float(v.sum())

    def ready(ep: Endpoint, header: dict[str, Any], buffers: list[bytes]) -> Any:
        c0, s0 = _cpu(), _sys()
        t, c_kernel, s_kernel = ep.request("call_proxy", a=(f, n, x))
        state["k2c"] = (t, c_kernel, s_kernel, _cpu() - c0, _sys() - s0)
        return n

    def call_handle(ep: Endpoint, header: dict[str, Any], buffers: list[bytes]) -> Any:
        g, m = ep.value(header["a"], buffers)
        for _ in range(200):
            g(x)
        s0, c0, t0 = _sys(), _cpu(), time.perf_counter()
        for _ in range(m):
            y = g(x)
        state[f"c2k {g.__name__}"] = (time.perf_counter() - t0, _cpu() - c0, _sys() - s0)
        assert isinstance(y, (float, np.ndarray))
        return None

    def kernel_cpu(ep: Endpoint, header: dict[str, Any], buffers: list[bytes]) -> Any:
        name, *cpu = ep.value(header["a"], buffers)
        state[f"c2k {name} kernel cpu"] = cpu
        return None

    ep = Endpoint(
        a,
        CheckerPolicy(),
        extra={"ready": ready, "call_handle": call_handle, "kernel_cpu": kernel_cpu},
    )
    ep.mirror = Mirror() if enabled() else None
    for _ in range(5):
        header, buffers = ep.recv()
        ep.serve(header, buffers)
    child.wait(timeout=60)
    a.close()
    # the checker's CPU in the first direction and the kernel's in the second include the 200
    # warm-up calls: scaled out
    t, c_k, s_k, c_c, s_c = state["k2c"]
    rows.append(_row("kernel -> checker (proxy call)", n, t, c_k, s_k, c_c, s_c, "checker"))
    for name, what in (("g", ""), ("h", ", array result")):
        t, c_c, s_c = state[f"c2k {name}"]
        c_k, s_k = state[f"c2k {name} kernel cpu"]
        row = _row(f"checker -> kernel (handle call{what})", n, t, c_k, s_k, c_c, s_c, "kernel")
        rows.append(row)
    return rows


def _row(
    what: str, n: int, t: float, c_k: float, s_k: float, c_c: float, s_c: float, warm: str
) -> dict[str, Any]:
    nk, nc = (n + 200, n) if warm == "kernel" else (n, n + 200)
    us = 1e6
    return {
        "direction": what,
        "us/round trip": t / n * us,
        "kernel CPU us": c_k / nk * us,
        "(sys)": s_k / nk * us,
        "checker CPU us": c_c / nc * us,
        "(sys) ": s_c / nc * us,
    }


def notebooks(only: str = "") -> list[dict[str, Any]]:
    """The solution notebooks (all five, or those whose ids start with one of ``only``'s
    comma-separated prefixes) graded through the channel (the test helpers' harness)."""
    sys.path.insert(0, str(ROOT))
    from tests.checks.assignment_utils import source_notebook
    from tests.grading.test_channel_notebooks import AIDS, grade_through_channel

    rows = []
    for aid in AIDS:
        if only and not aid.startswith(tuple(only.split(","))):
            continue
        nb = source_notebook(aid)
        with tempfile.TemporaryDirectory() as tmp:
            k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            c0, t0 = _cpu(), time.perf_counter()
            verdicts = grade_through_channel(nb, Path(tmp))
            t, c = time.perf_counter() - t0, _cpu() - c0
            k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        trips = verdicts.pop("round trips")
        passed = sum(v.passed for v in verdicts.values())
        rows.append(
            {
                "notebook": aid,
                "wall s": t,
                "round trips": trips,
                "checker CPU s": c,
                "kernel CPU s": (k1.ru_utime + k1.ru_stime) - (k0.ru_utime + k0.ru_stime),
                "passed": f"{passed}/{len(verdicts)}",
            }
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=5000, help="round trips per direction")
    p.add_argument(
        "--notebooks",
        nargs="?",
        const="",
        default=None,
        help="also grade the solution notebooks (all, or e.g. 01,05)",
    )
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        _child(args.child)
        return
    from _common import table

    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"faithful calls: {'on' if enabled() else 'off (COURSE_CHANNEL_FAITHFUL=0)'}")
    rows = round_trips(args.n)
    print(table(rows, f"channel round trips (n = {args.n}, float64[3] -> float)"))
    record: dict[str, Any] = {"round_trips": rows, "load_before": load}
    record["faithful"] = enabled()
    if args.notebooks is not None:
        nb_rows = notebooks(args.notebooks)
        print(table(nb_rows, "solution notebooks graded through the channel"))
        record["notebooks"] = nb_rows
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    record["load_after"] = load
    out = _common.RESULTS / "bench_channel.json"
    out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
