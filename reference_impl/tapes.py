"""Tapes of our own and what tapes keep alive: the machinery under :mod:`.checkpoint` and
:mod:`.revolve`.

A checkpoint re-runs part of the function on a fresh reverse-mode tape (:func:`recording`) and
pulls cotangents back through it (:func:`pull`). The accounting (cf.
``jax.ad_checkpoint.print_saved_residuals``): :func:`saved_residuals` lists what the tape keeps
alive; :class:`ResidualMeter` measures the peak number and bytes of residuals during a real
``grad`` call and counts the step evaluations.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from .core import ShapeDtype, VJPTrace, VJPTracer
from .tracers import Tracer, concrete
from .tree_util import tree_flatten, tree_leaves, tree_unflatten

__all__ = ["Residual", "ResidualMeter", "print_saved_residuals", "saved_residuals"]


# ----------------------------------------------------------------------------------------------
# Tapes of our own (recomputations) and what a tape keeps alive
# ----------------------------------------------------------------------------------------------
class Taped:
    """A function run on a tape of its own: the trace, its inputs and input nodes, its outputs.
    The first ``n_states`` inputs are chain states (the recomputation holds them)."""

    __slots__ = ("inputs", "n_states", "nodes", "outs", "trace")

    def __init__(self, trace: VJPTrace, inputs: list[Any], nodes: list[int], n_states: int):
        self.trace, self.inputs, self.nodes, self.n_states = trace, inputs, nodes, n_states
        self.outs: list[Any] = []

    def held(self) -> Iterator[tuple[Any, str, str]]:
        """Every value this tape keeps alive, with its kind and where it comes from.

        Kinds: ``input`` (of the traced function), ``state`` (a chain state a recomputation
        starts from), ``constant`` (an untraced array argument), ``intermediate`` (a primitive's
        output), ``checkpoint`` (a state stored by ``checkpoint_chain``)."""
        tape = self.trace.tape
        for idx, entry in enumerate(tape):
            if entry is None:  # already freed by a backward pass
                continue
            if entry.prim is None:
                yield entry.ans, ("state" if idx < self.n_states else "input"), "input"
                continue
            name = entry.prim.name
            parents = dict(entry.parents)
            for pos, a in enumerate(entry.args):
                if isinstance(a, ShapeDtype):  # a value no VJP rule reads is not kept
                    continue
                if pos not in parents:
                    if isinstance(concrete(a), np.ndarray):
                        yield a, "constant", f"argument {pos} of {name}"
                    continue
                node = parents[pos]
                parent = tape[node[0] if isinstance(node, tuple) else node]
                if parent is None:
                    yield a, "intermediate", f"argument {pos} of {name}"
                elif parent.prim is not None:  # (inputs are listed once, above)
                    yield a, "intermediate", f"output of {parent.prim.name}"
            for a in entry.ans if entry.prim.multiple_results else (entry.ans,):
                if not isinstance(a, ShapeDtype):
                    yield a, "intermediate", f"output of {name}"
            run: Any = entry.params.get("run")
            if hasattr(run, "held"):  # a checkpoint_chain node and the states it stores
                yield from run.held()


# Recomputation tapes alive right now and chain nodes whose backward pass is running (a backward
# pass may drop a node from its tape before running the node's rule): seen by the meters.
_LIVE: list[Any] = []
_METERS: list[ResidualMeter] = []  # the meters of the enclosing ``with`` blocks
_COUNTED = frozenset({"intermediate", "checkpoint", "state"})  # inputs, constants: alive anyway


@contextlib.contextmanager
def live(thing: Any) -> Iterator[Any]:
    """Show ``thing`` (anything with ``held()``) to the meters inside the block."""
    _LIVE.append(thing)
    try:
        yield thing
    finally:
        _LIVE.remove(thing)


@contextlib.contextmanager
def recording(fun: Callable[..., Any], leaves: Sequence[Any], n_states: int = 0) -> Iterator[Taped]:
    """Run ``fun(*leaves)`` (a list of outputs) on a fresh tape, live for meters in the block."""
    trace = VJPTrace()
    boxed = [trace.new_input(x) for x in leaves]
    rec = Taped(trace, list(leaves), [b.node for b in boxed], n_states)
    with live(rec):
        rec.outs = list(fun(*boxed))
        yield rec


def pull(rec: Taped, cts: Sequence[Any]) -> list[Any]:
    """``ctᵀ J`` of a recorded function: the cotangents of its inputs (zeros where unused).

    Zero cotangents of plain outputs are skipped, as the plain tape never sees them."""
    pairs = [
        (o.node, ct)
        for o, ct in zip(rec.outs, cts, strict=True)
        if isinstance(o, VJPTracer)
        and o._trace is rec.trace
        and (isinstance(ct, Tracer) or np.any(ct))
    ]
    grads = rec.trace.backward(pairs, rec.nodes)
    return [zeros(x) if g is None else g for g, x in zip(grads, rec.inputs, strict=True)]


def unboxed(rec: Taped) -> list[Any]:
    """The recorded function's outputs, without this tape's tracers."""
    return [o.val if isinstance(o, VJPTracer) and o._trace is rec.trace else o for o in rec.outs]


def zeros(x: Any) -> np.ndarray:
    v = concrete(x)
    return np.zeros(np.shape(v), np.result_type(v))


def under_reverse(x: Any) -> bool:
    """Whether some reverse-mode transformation is recording ``x``."""
    while isinstance(x, Tracer):
        if isinstance(x, VJPTracer):
            return True
        x = x.val
    return False


def watch(leaves: Sequence[Any]) -> None:
    for meter in _METERS:
        meter.watch(*leaves)


def sample() -> None:
    for meter in _METERS:
        meter.sample()


def count(**increments: int) -> None:
    """Add to the counters (``step_evals``, ``advances``, …) of every active meter."""
    for meter in _METERS:
        for name, k in increments.items():
            setattr(meter, name, getattr(meter, name) + k)


# ----------------------------------------------------------------------------------------------
# Accounting
# ----------------------------------------------------------------------------------------------
class Residual(NamedTuple):
    """One array kept alive for the backward pass (``kind`` as in :meth:`Taped.held`)."""

    kind: str
    source: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int


def saved_residuals(fun: Callable[..., Any], *args: Any) -> list[Residual]:
    """The arrays reverse mode keeps after the forward pass of ``fun(*args)``, each once.

    Like ``jax.ad_checkpoint.saved_residuals``: inputs, untraced constants, the outputs of the
    recorded primitives, and the states stored by ``checkpoint_chain``."""
    leaves, tree = tree_flatten(args)
    trace = VJPTrace()
    fun(*tree_unflatten(tree, [trace.new_input(x) for x in leaves]))
    seen: set[int] = set()
    found = []
    for value, kind, source in Taped(trace, [], [], 0).held():
        v = concrete(value)
        if id(v) not in seen:
            seen.add(id(v))
            a = np.asarray(v)
            found.append(Residual(kind, source, a.shape, str(a.dtype), a.nbytes))
    return found


def print_saved_residuals(fun: Callable[..., Any], *args: Any) -> None:
    """Print :func:`saved_residuals` as a table, with the bytes that checkpointing can save."""
    found = saved_residuals(fun, *args)
    for r in found:
        print(f"{r.dtype}{list(r.shape)!s:<16} {r.kind:<12} {r.nbytes:>12,d} B  {r.source}")
    saved = [r for r in found if r.kind in _COUNTED]
    print(
        f"{len(saved)} residuals, {sum(r.nbytes for r in saved):,d} bytes "
        "(not counting inputs and constants)"
    )


class ResidualMeter:
    """Peak residual memory and step counts of real ``grad``/``vjp`` calls::

        with ResidualMeter() as m:
            g = grad(loss)(x)
        m.peak_count, m.peak_bytes, m.step_evals

    A sample counts the distinct arrays the live tapes keep for the backward pass: primitives'
    outputs, stored chain states and the states recomputations start from (not the inputs of
    the differentiated function nor constants, which exist anyway). Samples are taken after each
    call of ``checkpoint``/``checkpoint_chain`` (end of their forward pass), during each of their
    backward rules (recomputation tapes at their largest) and at exit. The caller's tape is seen
    once a checkpointed function is called on its values; for a function without any, use
    ``track(fun)``. Tapes seen are held until the block ends: use one meter per call.

    Counters: ``step_evals`` = ``advances`` (chain steps run without a tape) + ``taped_steps``;
    ``recomputations`` (re-runs of ``checkpoint(f)``); ``peak_checkpoints`` (stored states).
    """

    def __init__(self) -> None:
        self.peak_count = self.peak_bytes = self.peak_checkpoints = self.samples = 0
        self.step_evals = self.advances = self.taped_steps = self.recomputations = 0
        self._tapes: list[Taped] = []

    def __enter__(self) -> ResidualMeter:
        _METERS.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.sample()
        _METERS.remove(self)
        self._tapes.clear()

    def watch(self, *values: Any) -> None:
        """Make the reverse-mode tapes recording these values visible to the meter."""
        for x in tree_leaves(values):
            while isinstance(x, Tracer):
                if isinstance(x, VJPTracer) and all(
                    x._trace is not getattr(r, "trace", None) for r in (*self._tapes, *_LIVE)
                ):
                    self._tapes.append(Taped(x._trace, [], [], 0))
                x = x.val

    def track(self, fun: Callable[..., Any]) -> Callable[..., Any]:
        """``fun`` that shows its tape to the meter and samples it at the end of its forward."""

        @functools.wraps(fun)
        def tracked(*args: Any, **kwargs: Any) -> Any:
            out = fun(*args, **kwargs)
            self.watch(args, out)
            self.sample()
            return out

        return tracked

    def sample(self) -> None:
        """Count what the live tapes keep now; update the peaks."""
        seen: set[int] = set()
        stored: set[int] = set()
        nbytes = 0
        for live in (*self._tapes, *_LIVE):
            for value, kind, _ in live.held():
                if kind not in _COUNTED:
                    continue
                v = concrete(value)
                if kind == "checkpoint":
                    stored.add(id(v))
                if id(v) not in seen:
                    seen.add(id(v))
                    nbytes += np.asarray(v).nbytes
        self.samples += 1
        self.peak_count = max(self.peak_count, len(seen))
        self.peak_bytes = max(self.peak_bytes, nbytes)
        self.peak_checkpoints = max(self.peak_checkpoints, len(stored))


def no_closure(name: str, outs: Sequence[Any]) -> None:
    if any(isinstance(o, Tracer) for o in outs):
        raise TypeError(
            f"{name} closes over a value that is being differentiated; pass it as "
            "an argument instead (to checkpoint_chain: through params=…)"
        )
