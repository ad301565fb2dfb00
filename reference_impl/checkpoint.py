"""Activation checkpointing: trade recomputation for memory in reverse mode.

Reverse mode keeps every primitive's inputs and output on the tape until the backward pass
(lecture topic 7), so memory grows with the length of the computation. Checkpointing (topic 14)
keeps only some values and recomputes the others when the backward pass needs them:

* ``checkpoint(f)`` (alias ``remat``, like ``jax.checkpoint``) puts ``f`` on the tape as a single
  node that keeps only ``f``'s inputs and outputs; its VJP re-runs ``f`` on a fresh tape and pulls
  the cotangent back through it, ``x̄ = vjp(f, x)(ȳ)``: the same arithmetic as the plain tape.
* ``checkpoint_chain(steps, x0, policy=…)`` reverses a chain ``x_{k+1} = step_k(x_k)`` on a memory
  budget (the schedules and their executor are in :mod:`.revolve`): ``"sqrt"`` (Chen, Xu, Zhang,
  Guestrin 2016, arXiv:1604.06174) stores every ⌈√n⌉-th state and recomputes each segment once,
  about 2√n states for one extra forward pass; ``"binomial"`` (Griewank & Walther's revolve) keeps
  at most ``s`` states and recomputes the fewest steps possible, ``p(n, s)``.
* Accounting (cf. ``jax.ad_checkpoint.print_saved_residuals``): ``saved_residuals(f, *args)`` lists
  what the tape keeps alive; ``ResidualMeter`` measures the peak number and bytes of residuals
  during a real ``grad`` call and counts the step evaluations.

Checkpointed gradients are bit-for-bit those of the plain tape (same rules, same order), except
that cotangents reaching one value from inside and from outside a checkpoint are summed in another
order. ``f`` and the steps must not close over traced values: pass those as arguments.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from .core import Primitive, ShapeDtype, Tracer, VJPTrace, VJPTracer, concrete
from .forward import jvp
from .tree_util import PyTreeDef, tree_flatten, tree_leaves, tree_unflatten

__all__ = [
    "Residual",
    "ResidualMeter",
    "checkpoint",
    "checkpoint_chain",
    "print_saved_residuals",
    "remat",
    "saved_residuals",
]


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
            run = entry.params.get("run")
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


# ----------------------------------------------------------------------------------------------
# checkpoint(f)
# ----------------------------------------------------------------------------------------------
def no_closure(name: str, outs: Sequence[Any]) -> None:
    if any(isinstance(o, Tracer) for o in outs):
        raise TypeError(
            f"{name} closes over a value that is being differentiated; pass it as "
            "an argument instead (to checkpoint_chain: through params=…)"
        )


class _Call:
    """The pytree structures of one call, shared by the tape entries of all levels."""

    __slots__ = ("in_tree", "out_tree")

    def __init__(self, in_tree: PyTreeDef):
        self.in_tree = in_tree
        self.out_tree: PyTreeDef | None = None


class _Checkpointed:
    """``f`` as one primitive whose tape entry keeps only ``f``'s inputs and outputs."""

    def __init__(self, fun: Callable[..., Any]):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.prim = Primitive(
            f"checkpoint[{getattr(fun, '__name__', 'f')}]", self._impl, multiple_results=True
        )
        self.prim.vjp_full = self._vjp_rule
        self.prim.jvp_full = self._jvp_rule

    def __call__(self, *args: Any) -> Any:
        leaves, in_tree = tree_flatten(args)
        if not any(under_reverse(x) for x in leaves):
            return self.fun(*args)  # nothing is being recorded, so there is nothing to save
        watch(leaves)
        call = _Call(in_tree)
        outs = self.prim(*leaves, call=call)
        sample()
        return tree_unflatten(call.out_tree, outs)

    def _flat(self, call: _Call) -> Callable[..., list[Any]]:
        def flat_fun(*leaves: Any) -> list[Any]:
            out = self.fun(*tree_unflatten(call.in_tree, leaves))
            out_leaves, call.out_tree = tree_flatten(out)
            return out_leaves

        return flat_fun

    def _impl(self, *leaves: Any, call: _Call) -> tuple[Any, ...]:
        outs = self._flat(call)(*leaves)
        no_closure(self.prim.name, outs)
        return tuple(outs)

    def _vjp_rule(self, cts: Any, ans: Any, *leaves: Any, call: _Call) -> list[Any]:
        # the intermediates were not kept: run f again on a tape of its own and pull back
        count(recomputations=1)
        with recording(self._flat(call), leaves) as rec:
            sample()
            return pull(rec, cts)

    def _jvp_rule(self, dots: list[Any], ans: Any, *leaves: Any, call: _Call) -> list[Any]:
        # forward mode stores nothing: the tangent of f itself (f is evaluated once more)
        dots = [zeros(x) if d is None else d for d, x in zip(dots, leaves, strict=True)]
        return list(jvp(self._flat(call), list(leaves), dots)[1])


def checkpoint(fun: Callable[..., Any]) -> Callable[..., Any]:
    """``fun`` whose intermediates are recomputed in the backward pass instead of stored.

    Under ``grad``/``vjp`` the tape keeps only the inputs and outputs of ``fun``; its VJP re-runs
    ``fun`` on the saved inputs (one more evaluation of ``fun`` per backward pass). It nests:
    checkpointed functions may call checkpointed functions, and in ``grad(grad(·))`` the outer
    derivative differentiates the recomputation. Under ``jvp`` alone it is just ``fun``.
    """
    return _Checkpointed(fun)


remat = checkpoint


# ----------------------------------------------------------------------------------------------
# checkpoint_chain (the executor and the schedules are in revolve.py)
# ----------------------------------------------------------------------------------------------
def _as_apply(steps: Any, with_params: bool) -> Callable[..., Any]:
    """Normalise ``steps`` (a list of ``step_k`` or one ``step(k, …)``) to ``apply(k, x, p)``."""
    if callable(steps):
        return (lambda k, x, p: steps(k, x, p)) if with_params else (lambda k, x, p: steps(k, x))
    steps = list(steps)
    return (lambda k, x, p: steps[k](x, p)) if with_params else (lambda k, x, p: steps[k](x))


def checkpoint_chain(
    steps: Sequence[Callable[..., Any]] | Callable[..., Any],
    x0: Any,
    params: Sequence[Any] | None = None,
    *,
    policy: str = "sqrt",
    num_checkpoints: int | None = None,
    num_steps: int | None = None,
) -> Any:
    """``x_n`` of the chain ``x_{k+1} = step_k(x_k)``, differentiable on a memory budget.

    ``steps`` is a list of functions ``step_k(x)`` or one function ``step(k, x)`` with
    ``num_steps``; with ``params`` (one pytree per step, differentiated as well) they are called
    as ``step_k(x, params[k])`` / ``step(k, x, params[k])``. The state may be a pytree.

    ``policy``: ``"none"`` records every step on the caller's tape (n states); ``"sqrt"`` stores
    every ⌈n/s⌉-th state in the forward pass and re-runs each segment once on a tape in the
    backward pass (n extra steps, Chen et al. 2016); ``"binomial"`` follows revolve with ``s``
    slots, x_0 in one of them (Griewank & Walther 2000): ``p(n, s)`` steps advanced in all, the
    initial sweep included, plus ``n`` taped steps, and at most ``s`` stored states.
    ``num_checkpoints`` is ``s``, ⌈√n⌉ by default. Under ``jvp`` alone the chain is just run.
    """
    from .revolve import ChainRun, chain_p  # revolve.py builds on this module

    if policy not in ("none", "sqrt", "binomial"):
        raise ValueError(f"policy must be 'none', 'sqrt' or 'binomial', got {policy!r}")
    n = (
        len(steps)
        if not callable(steps)
        else (num_steps if num_steps is not None else None if params is None else len(params))
    )
    if n is None:
        raise TypeError("checkpoint_chain: with a single step function, give num_steps")
    if params is not None and len(params) != n:
        raise ValueError(f"checkpoint_chain: {len(params)} parameter sets for {n} steps")
    s = num_checkpoints if num_checkpoints is not None else max(1, math.isqrt(n - 1) + 1)
    if s < 1:
        raise ValueError(f"checkpoint_chain: num_checkpoints must be at least 1, got {s}")
    x_leaves, x_tree = tree_flatten(x0)
    p_leaves: list[Any] = []
    p_trees: list[PyTreeDef | None] = []
    for p in params if params is not None else [None] * n:
        leaves, tree = tree_flatten(p)
        p_leaves += leaves
        p_trees.append(None if params is None else tree)
    run = ChainRun(_as_apply(steps, params is not None), n, policy, s, x_tree, p_trees)
    leaves = [*x_leaves, *p_leaves]
    if not any(under_reverse(v) for v in leaves):
        out = run.plain(*leaves)
        if policy != "none" and any(under_reverse(v) for v in out):
            no_closure(run.name, out)  # the steps record on a tape: nothing would be saved
        return tree_unflatten(x_tree, out)
    watch(leaves)
    if policy == "none" or n == 0:  # the plain tape: every step on the caller's tape
        out = run.taped_in_place(leaves)
    else:
        out = list(chain_p(*leaves, run=run))
    sample()
    return tree_unflatten(x_tree, out)
