"""Semantic mutants: wrong solutions that no operator flip produces (issue 22).

Each mutant is the task's solution cell followed by lines that rebind one of the task's
functions (or methods) to a wrapper from :mod:`.semrt` — the same results on a first, fresh call,
wrong when the function is used the way code is used (called again, its result kept, its
arguments looked at afterwards, a non-default argument, forward and backward interleaved):

``cache-result``    the first result per combination of argument shapes is returned ever after
``cache-inputs``    the first call's array arguments are used again by later calls
``alias``           returned arrays are one internal buffer overwritten by the next call
``mutate-arg``      the first array / list / node argument is moved in place after the call
``ignore-arg:<p>``  the argument ``p`` is ignored in favour of its default
``reseed``          a generator argument is replaced by ``default_rng(0)`` on every call
``accumulate``      state never reset: each result adds the earlier ones (right only once)
``returned-once:raise|stale``  a returned function raises / repeats itself on its 2nd call
``latest-closure``  every returned function runs the most recently returned one
``alternate``       the backward function reads the last forward call's residuals
``swap-calls``      two adjacent independent statements that call something, in swapped order

Which wrappers apply to a function is decided from a profile of the solution under its checks
(:func:`profile_task`): ``mutate-arg`` needs an array/list/node argument, ``alias`` array
results, ``accumulate`` and ``cache-result`` array or float results, ``cache-inputs`` array
arguments, ``reseed`` a generator argument, the
returned-function ones a returned function. ``ignore-arg`` applies to every parameter with a
default, whether or not the checks ever pass another value (that they do not is a finding).
Ids are ``<operator>@<qualname>[:<variant>]`` (``swap-calls@<line>``): stable while the
solution does not change.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

from .operators import Mutant, solution_lines
from .runner import TaskCells, Verdict, _namespace

__all__ = ["EQUIVALENT_FILE", "profile_task", "run_semantic_task", "semantic_mutants", "targets"]

EQUIVALENT_FILE = Path(__file__).with_name("semantic_equivalent.json")
# forward function → (backward function, index of its residual argument, part of fwd's result)
PAIRS = {"solve_fwd": ("solve_bwd", 0, 1), "mlp_forward": ("mlp_backward", 1, None)}
# the wrappers run as the student's code, in the notebook's namespace (the checks' guard refuses
# the course's own files; a check substitutes names in the globals of the function it gets)
_PRELUDE = (
    "\nimport types as _t\n"
    f"exec(compile(open({str(Path(__file__).with_name('semrt.py'))!r}).read(), "
    "'<semantic mutant>', 'exec'), globals())\n_S = _t.SimpleNamespace(**globals())\n"
)


def targets(source: str) -> list[tuple[str, list[str]]]:
    """``(qualname, parameters with a default)`` of every function or method of the cell whose
    body holds solution lines."""
    tree = ast.parse(source)
    lines = solution_lines(source)
    out = []

    def body_has(fn: ast.FunctionDef) -> bool:
        return any(fn.lineno <= ln <= (fn.end_lineno or fn.lineno) for ln in lines)

    def defaults(fn: ast.FunctionDef) -> list[str]:
        a = fn.args
        pos = [*a.posonlyargs, *a.args]
        named = [p.arg for p in pos[len(pos) - len(a.defaults) :]] if a.defaults else []
        named += [p.arg for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d]
        return named

    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and body_has(node):
            out.append((node.name, defaults(node)))
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and body_has(item):
                    out.append((f"{node.name}.{item.name}", defaults(item)))
    return out


def _swaps(source: str) -> list[Mutant]:
    """Adjacent statements in the solution lines that both call something and share no name
    that either assigns, swapped."""
    tree = ast.parse(source)
    lines = solution_lines(source)
    out: list[Mutant] = []

    def names(node: ast.AST, ctx: type) -> set[str]:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}

    for parent in ast.walk(tree):
        for field in ("body", "orelse"):
            block = getattr(parent, field, None)
            if not isinstance(block, list):
                continue
            for i in range(len(block) - 1):
                a, b = block[i], block[i + 1]
                if not all(
                    s.lineno in lines
                    and isinstance(s, (ast.Assign, ast.Expr, ast.AugAssign))
                    and any(isinstance(n, ast.Call) for n in ast.walk(s))
                    for s in (a, b)
                ):
                    continue
                wa, wb = names(a, ast.Store), names(b, ast.Store)
                if wa & names(b, ast.Load) or wb & names(a, ast.Load) or wa & wb:
                    continue
                block[i], block[i + 1] = b, a
                text = ast.unparse(tree)
                block[i], block[i + 1] = a, b
                seg = " ".join((ast.get_source_segment(source, a) or "").split())[:50]
                out.append(
                    Mutant(
                        f"swap-calls@{a.lineno}",
                        f"swap-calls: `{seg}` and the next statement (line {a.lineno})",
                        text,
                    )
                )
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.BinOp)
            and node.lineno in lines
            and all(
                any(isinstance(n, ast.Call) for n in ast.walk(side))
                for side in (node.left, node.right)
            )
        ):
            continue
        # (lambda r, l: l OP r)(RIGHT, LEFT): the right operand's calls run first
        args = ast.arguments(
            posonlyargs=[],
            args=[ast.arg("_sem_r"), ast.arg("_sem_l")],
            kwonlyargs=[],
            kw_defaults=[],
            defaults=[],
        )
        body = ast.BinOp(ast.Name("_sem_l", ast.Load()), node.op, ast.Name("_sem_r", ast.Load()))
        swapped = ast.Call(ast.Lambda(args, body), [node.right, node.left], [])
        text = ast.unparse(_Swap(node, swapped).visit(ast.parse(ast.unparse(tree))))
        seg = " ".join((ast.get_source_segment(source, node) or "").split())[:50]
        out.append(
            Mutant(
                f"swap-calls@{node.lineno}:{node.col_offset}-"
                f"{node.end_lineno}:{node.end_col_offset}",
                f"swap-calls: the operands of `{seg}` evaluated right to left (line {node.lineno})",
                text,
            )
        )
    return out


class _Swap(ast.NodeTransformer):
    """Replace the node that unparses like ``target`` (same position) by ``new``."""

    def __init__(self, target: ast.BinOp, new: ast.AST):
        self.dump, self.new, self.done = ast.dump(target), new, False

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        if not self.done and ast.dump(node) == self.dump:
            self.done = True
            return ast.fix_missing_locations(ast.copy_location(self.new, node))
        return self.generic_visit(node)


def semantic_mutants(source: str, prof: dict[str, dict[str, Any]]) -> list[Mutant]:
    """The semantic mutants of a solution cell, given the profile of its functions."""
    out: list[Mutant] = []
    names = dict(targets(source))

    def add(mid: str, what: str, line: str) -> None:
        out.append(Mutant(mid, what, source + _PRELUDE + line + "\n"))

    for name, params in names.items():
        p = prof.get(name, {})
        if not p.get("calls"):
            continue
        wrap = f"{name} = _S.{{op}}({name}, {name!r}{{extra}})"
        ops = [
            ("cache_result", "cache keyed by argument shapes", p["arrays_out"]),
            ("alias", "returns a view of an internal buffer", p["ndarray_out"]),
            ("accumulate", "an accumulator never reset between calls", p["arrays_out"]),
            ("cache_inputs", "reuses the first call's array arguments", p["arrays_in"]),
            ("mutate_arg", "moves its first array/list/node argument in place", p["movable"]),
        ]
        for op, what, applies in ops:
            if applies:
                add(
                    f"{op.replace('_', '-')}@{name}",
                    f"{name}: {what}",
                    wrap.format(op=op, extra=""),
                )
        if p["rng"]:
            add(
                f"reseed@{name}",
                f"{name}: reseeds the generator on every call",
                wrap.format(op="reseed", extra=""),
            )
        if p["callable_out"]:
            for variant in ("raise", "stale"):
                add(
                    f"returned-once@{name}:{variant}",
                    f"{name}: the returned function "
                    f"{'raises' if variant == 'raise' else 'repeats its first result'} on "
                    "its second call",
                    wrap.format(op="returned_once", extra=f", {variant == 'stale'}"),
                )
            add(
                f"latest-closure@{name}",
                f"{name}: every returned function runs the latest one",
                wrap.format(op="latest_closure", extra=""),
            )
        for param in params:
            add(
                f"ignore-arg@{name}:{param}",
                f"{name}: ignores `{param}` (uses its default)",
                wrap.format(op="ignore_default", extra=f", {param!r}"),
            )
        if name in PAIRS and PAIRS[name][0] in names:
            bwd, arg, part = PAIRS[name]
            add(
                f"alternate@{name}",
                f"{bwd} reads the residuals of the last {name} call",
                f"{name}, {bwd} = _S.use_last_forward({name}, {bwd}, {name!r}, {arg}, {part})",
            )
    return out + _swaps(source)


def _fork(
    task: TaskCells, ns: dict[str, Any], source: str, limit_s: float, report: str
) -> dict[str, Any]:
    """Run ``source`` and the task's checks in a forked child; its verdict as a dict."""
    read, write = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover  (the child)
        os.close(read)
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        signal.setitimer(signal.ITIMER_REAL, limit_s)
        out: dict[str, Any] = {"status": "survived", "reason": ""}
        try:
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                exec(compile(source, f"<{task.aid}:cell{task.cell}>", "exec"), ns)
                for line in task.checks:
                    exec(line, ns)
        except BaseException as exc:  # any failure (a timeout too) kills the mutant
            text = str(exc).splitlines()[0][:200] if str(exc) else ""
            out = {"status": "killed", "reason": f"{type(exc).__name__}: {text}"}
        rt = ns.get("_S")
        out[report] = (rt.PROFILE if report == "profile" else sorted(rt.FIRED)) if rt else []
        os.write(write, json.dumps(out, default=str).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        return {
            "status": "killed",
            "reason": f"no verdict (status {status}): timeout or crash",
            report: [],
        }
    return json.loads(data)


def profile_task(task: TaskCells, ns: dict[str, Any] | None = None) -> dict[str, Any]:
    """How the checks call each of the task's functions (the solution must pass them)."""
    ns = _namespace(task) if ns is None else ns
    lines = [f"{n} = _S.profile({n}, {n!r})" for n, _ in targets(task.source)]
    got = _fork(task, ns, task.source + _PRELUDE + "\n".join(lines) + "\n", 120.0, "profile")
    if got["status"] != "survived":
        raise AssertionError(
            f"{task.aid}/{task.task}: the profiled solution fails its checks: {got['reason']}"
        )
    return got["profile"]


def equivalents(path: Path = EQUIVALENT_FILE) -> dict[str, str]:
    """``{"<aid>/<task>/<mutant id>": reason}`` of the semantic mutants no check can catch."""
    if not path.exists():
        return {}
    return {k: v for k, v in json.loads(path.read_text()).items() if not k.startswith("_")}


def run_semantic_task(
    task: TaskCells, known: dict[str, str] | None = None, limit_s: float = 60.0
) -> tuple[list[Verdict], float]:
    """Every semantic mutant of ``task``: verdicts (reason: the check's message, or the
    wrappers that fired for a survivor) and the seconds taken."""
    start = time.perf_counter()
    known = equivalents() if known is None else known
    ns = _namespace(task)
    out = []
    for m in semantic_mutants(task.source, profile_task(task, ns)):
        got = _fork(task, ns, m.source, limit_s, "fired")
        status, reason = got["status"], got["reason"]
        if status == "survived":
            key = f"{task.aid}/{task.task}/{m.id}"
            reason = "fired" if got["fired"] or m.id.startswith("swap") else "never fired"
            if key in known:
                status, reason = "equivalent", known[key]
        out.append(Verdict(m.id, m.description, status, reason))
    return out, time.perf_counter() - start


def signature_defaults(fn: Any) -> list[str]:
    """Parameters of ``fn`` with a default (for tests)."""
    return [
        p
        for p, v in inspect.signature(fn).parameters.items()
        if v.default is not inspect.Parameter.empty
    ]
