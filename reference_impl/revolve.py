"""The binomial checkpointing schedule of Griewank's *revolve*, as a generator of actions.

Reversing a chain ``x_{k+1} = F_k(x_k)``, ``k = 0 … l−1``, needs the states in reverse order
``x_{l−1}, …, x_0``. Storing all of them costs ``l`` states; with only ``s`` checkpoint slots the
missing states are recomputed from the nearest checkpoint. Griewank (1992) showed that with ``s``
slots, and no step evaluated more than ``t`` times, at most

    β(s, t) = C(s + t, s)

steps can be reversed, and that the least number of forward steps needed is

    p(l, s) = t·l − β(s + 1, t − 1),   t the unique value with β(s, t − 1) < l ≤ β(s, t).

The schedule that attains it (Griewank & Walther 2000, ACM TOMS 26(1), Algorithm 799 "revolve")
is recursive: from the checkpoint at ``x_i`` advance ``m`` steps, store ``x_{i+m}``, reverse the
last ``l − m`` steps with one slot fewer, then reverse the first ``m`` steps with all slots. We
choose ``m`` so that the cost ``m + p(l − m, s − 1) + p(m, s)`` equals ``p(l, s)``.

Counting conventions (those of revolve): ``x_0`` occupies one of the ``s`` slots; an *advance*
evaluates steps without recording them, and ``p`` counts all of them, the initial forward sweep
included; each of the ``l`` *turns* evaluates one step on a tape and reverses it at once (not in
``p``). So a reversal costs ``p(l, s) + l`` step evaluations; ``p/l`` is the "forward steps per
step" of the literature: l = 256 gives 5.20 (s = 4), 2.33 (s = 16), 1.87 (s = 32).

The second half of the module runs a chain on a schedule with real VJPs: ``ChainRun`` and the
primitive ``chain_p``, the single node that ``checkpoint.checkpoint_chain`` puts on the caller's
tape. Its forward pass carries out the schedule up to the first turn (for "sqrt": stores every
m-th state); its backward pass carries out the rest, taping one step (one segment) at a time.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from .batching import body_rule
from .forward import jvp
from .primitives import Primitive, defjvp_full, defvjp_full
from .tapes import count, live, no_closure, pull, recording, sample, unboxed, zeros
from .tracers import Tracer
from .tree_util import PyTreeDef, tree_flatten, tree_unflatten

__all__ = [
    "Action",
    "ChainRun",
    "beta",
    "chain_p",
    "optimal_forward_steps",
    "repetitions",
    "revolve",
]


def beta(s: int, t: int) -> int:
    """β(s, t) = C(s + t, s): the most steps ``s`` slots and ``t`` repetitions can reverse."""
    return math.comb(s + t, s) if t >= 0 else 0


def repetitions(l: int, s: int) -> int:
    """The repetition number ``t``: the least ``t`` with ``l ≤ β(s, t)``."""
    t = 0
    while beta(s, t) < l:
        t += 1
    return t


@functools.cache
def optimal_forward_steps(l: int, s: int) -> int:
    """``p(l, s) = t·l − β(s+1, t−1)``: the fewest advances that reverse ``l`` steps with ``s``
    slots (Griewank 1992). ``p(l, 1) = l(l−1)/2``; ``p(l, s) = l − 1`` once ``s ≥ l − 1``."""
    if s < 1:
        raise ValueError(f"revolve needs at least one checkpoint slot (for x_0), got s={s}")
    t = repetitions(l, s)
    return t * l - beta(s + 1, t - 1)


@functools.cache
def _split(l: int, s: int) -> int:
    """The number of steps to advance before the next checkpoint: an ``m`` with
    ``m + p(l − m, s − 1) + p(m, s) = p(l, s)`` (the smallest one)."""
    target = optimal_forward_steps(l, s)
    for m in range(1, l):
        if m + optimal_forward_steps(l - m, s - 1) + optimal_forward_steps(m, s) == target:
            return m
    raise AssertionError(f"no optimal split for l={l}, s={s}")  # contradicts Griewank's theorem


class Action(NamedTuple):
    """One instruction of the schedule, in revolve's vocabulary.

    * ``advance``: evaluate steps ``index … index+steps−1`` without a tape, from ``x_index`` to
      ``x_{index+steps}``;
    * ``takeshot``: store the current state ``x_index`` in checkpoint ``slot``;
    * ``restore``: make ``x_index``, stored in ``slot``, the current state;
    * ``firsturn``: evaluate the last step ``index`` on a tape and pull the output cotangent back;
    * ``youturn``: the same for step ``index`` with the cotangent of ``x_{index+1}``.
    """

    kind: str
    # revolve's name; it shadows tuple.index on purpose (no one calls Action.index(value))
    index: int  # type: ignore[assignment]
    steps: int = 0
    slot: int = -1


class _Scheduler:
    """Emits the actions, remembering which state is current (to skip needless restores)."""

    def __init__(self) -> None:
        self.current = 0
        self.turned = False

    def go_to(self, i: int, slot: int, steps: int) -> Iterator[Action]:
        """Reach ``x_{i+steps}`` from the checkpoint of ``x_i`` in ``slot``."""
        if self.current != i:
            yield Action("restore", i, slot=slot)
        if steps:
            yield Action("advance", i, steps=steps)
        self.current = i + steps

    def turn(self, k: int) -> Iterator[Action]:
        yield Action("youturn" if self.turned else "firsturn", k)
        self.turned = True
        self.current = k  # x_k, the taped step's input, is what we hold now

    def reverse(self, i: int, l: int, s: int, slot: int) -> Iterator[Action]:
        """Reverse steps ``i … i+l−1``; ``x_i`` is in ``slot``, the ``s − 1`` slots above free."""
        while l > 1 and s > 1:
            m = _split(l, s)
            yield from self.go_to(i, slot, m)
            yield Action("takeshot", i + m, slot=slot + 1)
            yield from self.reverse(i + m, l - m, s - 1, slot + 1)
            l = m  # then the first m steps, with all s slots again
        for j in reversed(range(l)):  # one slot (or one step) left: start from x_i every time
            yield from self.go_to(i, slot, j)
            yield from self.turn(i + j)


def revolve(l: int, s: int) -> Iterator[Action]:
    """The optimal schedule reversing ``l`` steps with ``s`` checkpoint slots (x_0 in slot 0).

    Exactly ``optimal_forward_steps(l, s)`` steps are advanced, ``l`` turns are made (steps
    ``l−1, …, 0`` in this order) and no more than ``s`` states are stored at any time.
    """
    if l < 0:
        raise ValueError(f"the number of steps must be non-negative, got l={l}")
    if s < 1:
        raise ValueError(f"revolve needs at least one checkpoint slot (for x_0), got s={s}")
    if l == 0:
        return
    yield Action("takeshot", 0, slot=0)
    yield from _Scheduler().reverse(0, l, s, 0)


# ----------------------------------------------------------------------------------------------
# Running a chain on a schedule: the node that checkpoint_chain puts on the caller's tape
# ----------------------------------------------------------------------------------------------
class _Sweep:
    """What one pass holds: checkpoint ``slots`` (slot → (k, x_k)), the ``current`` state
    (k, x_k) and, for "binomial", the ``pending`` tape of the last step (taped going forward)."""

    __slots__ = ("current", "pending", "slots")

    def __init__(self, x0: list[Any]):
        self.slots: dict[int, tuple[int, list[Any]]] = {}
        self.current: tuple[int, list[Any]] = (0, x0)
        self.pending: Any = None


class ChainRun:
    """One call of ``checkpoint_chain``: the steps, the policy, the forward pass's residuals.

    The node's leaves are the state's leaves followed by every step's parameter leaves; states
    travel as lists of leaves. ``saved`` is what the forward pass stored (used by one backward
    pass); ``active`` is what the backward pass running now holds (for the meters).
    """

    def __init__(
        self,
        apply: Callable[..., Any],
        n: int,
        policy: str,
        s: int,
        x_tree: PyTreeDef,
        p_trees: list[PyTreeDef | None],
    ):
        self.apply, self.n, self.policy, self.s = apply, n, policy, s
        self.x_tree, self.p_trees = x_tree, p_trees
        self.nx = x_tree.num_leaves
        sizes = [0 if t is None else t.num_leaves for t in p_trees]
        self.p_start = [self.nx + sum(sizes[:k]) for k in range(n + 1)]
        self.segment = max(1, math.ceil(n / s))  # "sqrt": steps per segment
        self.schedule = list(revolve(n, s)) if policy == "binomial" else []
        self.saved: _Sweep | None = None
        self.active: _Sweep | None = None

    @property
    def name(self) -> str:
        return f"checkpoint_chain[{self.policy}, n={self.n}, s={self.s}]"

    def held(self) -> Iterator[tuple[Any, str, str]]:
        """The stored states (and the pending tape) of this run, for the accounting."""
        for sweep in (self.saved, self.active):
            if sweep is None:
                continue
            for k, x in sweep.slots.values():
                for leaf in x:
                    yield leaf, "checkpoint", f"x_{k} stored by {self.name}"
            if sweep.pending is not None:
                yield from sweep.pending.held()

    def _eval(self, k: int, x: list[Any], leaves: Sequence[Any]) -> list[Any]:
        """``x_{k+1} = step_k(x_k)`` on lists of leaves."""
        p_tree = self.p_trees[k]
        p = (
            None
            if p_tree is None
            else tree_unflatten(p_tree, leaves[self.p_start[k] : self.p_start[k + 1]])
        )
        out, tree = tree_flatten(self.apply(k, tree_unflatten(self.x_tree, x), p))
        if tree != self.x_tree:
            raise ValueError(
                f"step {k} returned a state of structure {tree}; the chain's "
                f"state has structure {self.x_tree}"
            )
        return out

    def advance(self, k0: int, k1: int, x: list[Any], leaves: Sequence[Any]) -> list[Any]:
        """Steps ``k0 … k1−1`` without a tape of our own."""
        for k in range(k0, k1):
            x = self._eval(k, x, leaves)
        count(advances=k1 - k0, step_evals=k1 - k0)
        return x

    def plain(self, *leaves: Any) -> list[Any]:
        """The whole chain, nothing stored (plain evaluation, forward mode)."""
        return self.advance(0, self.n, list(leaves[: self.nx]), leaves)

    def taped_in_place(self, leaves: Sequence[Any]) -> list[Any]:
        """Policy "none": the steps on the caller's tape, which keeps every state."""
        x = list(leaves[: self.nx])
        for k in range(self.n):
            x = self._eval(k, x, leaves)
        count(taped_steps=self.n, step_evals=self.n)
        return x

    def taped(self, k0: int, k1: int, x: list[Any], leaves: Sequence[Any]) -> Any:
        """Steps ``k0 … k1−1`` on a fresh tape, the state and their parameters as its inputs."""
        lo, hi = self.p_start[k0], self.p_start[k1]

        def segment(*boxed: Any) -> list[Any]:
            xs, ps = list(boxed[: self.nx]), [None] * lo + list(boxed[self.nx :])
            for k in range(k0, k1):
                xs = self._eval(k, xs, ps)
            return xs

        count(taped_steps=k1 - k0, step_evals=k1 - k0)
        return recording(segment, [*x, *leaves[lo:hi]], n_states=self.nx)

    def forward(self, leaves: Sequence[Any]) -> tuple[list[Any], _Sweep]:
        """The output, and what the backward pass will need."""
        sweep = _Sweep(list(leaves[: self.nx]))
        if self.policy == "sqrt":  # store x_0, x_m, x_2m, … (m = segment length)
            x = sweep.current[1]
            for j, k0 in enumerate(range(0, self.n, self.segment)):
                sweep.slots[j] = (k0, x)
                x = self.advance(k0, min(k0 + self.segment, self.n), x, leaves)
            return x, sweep
        for action in self.schedule:  # "binomial": revolve up to its first turn
            if action.kind == "firsturn":
                with self.taped(action.index, self.n, sweep.current[1], leaves) as rec:
                    sweep.pending = rec
                return unboxed(rec), sweep
            self._move(action, sweep, leaves)
        raise AssertionError("a revolve schedule without firsturn")

    def _move(self, action: Action, sweep: _Sweep, leaves: Sequence[Any]) -> None:
        """Carry out ``takeshot``, ``restore`` or ``advance``."""
        k, x = sweep.current
        if action.kind == "takeshot":
            sweep.slots[action.slot] = (k, x)
        elif action.kind == "restore":
            sweep.current = sweep.slots[action.slot]
        else:
            sweep.current = (k + action.steps, self.advance(k, k + action.steps, x, leaves))

    def backward(self, sweep: _Sweep, ct: list[Any], leaves: Sequence[Any]) -> list[Any]:
        """The cotangents of all leaves, given the output's cotangent ``ct``."""
        grads: list[Any] = [None] * len(leaves)

        def reverse(k0: int, k1: int, rec: Any, ct: list[Any]) -> list[Any]:
            sample()  # the recomputation tape is complete: a moment of peak memory
            g = pull(rec, ct)
            grads[self.p_start[k0] : self.p_start[k1]] = g[self.nx :]
            return g[: self.nx]

        if self.policy == "sqrt":  # each segment once, last first; then drop its checkpoint
            for j in sorted(sweep.slots, reverse=True):
                k0, x = sweep.slots[j]
                k1 = min(k0 + self.segment, self.n)
                with self.taped(k0, k1, x, leaves) as rec:
                    ct = reverse(k0, k1, rec, ct)
                del sweep.slots[j]
        else:
            ct = reverse(self.n - 1, self.n, sweep.pending, ct)  # firsturn, taped going forward
            sweep.pending = None
            start = next(i for i, a in enumerate(self.schedule) if a.kind == "firsturn")
            for action in self.schedule[start + 1 :]:
                if action.kind != "youturn":
                    self._move(action, sweep, leaves)
                    continue
                k = action.index
                with self.taped(k, k + 1, sweep.current[1], leaves) as rec:
                    ct = reverse(k, k + 1, rec, ct)
        grads[: self.nx] = ct
        return [zeros(x) if g is None else g for g, x in zip(grads, leaves, strict=True)]


def _chain_impl(*leaves: Any, run: ChainRun) -> tuple[Any, ...]:
    out, run.saved = run.forward(leaves)
    no_closure(run.name, out)
    return tuple(out)


def _chain_vjp(cts: Any, ans: Any, *leaves: Any, run: ChainRun) -> list[Any]:
    # Under a higher-order derivative the values are tracers: the forward pass is replayed on
    # them, so that it is differentiated too. The plain residuals serve one backward pass; a
    # second one (vjp_fn called again) replays the forward pass.
    sweep = None
    if not any(isinstance(v, Tracer) for v in (*leaves, *cts)):
        sweep, run.saved = run.saved, None
    if sweep is None:
        sweep = run.forward(leaves)[1]
    run.active = sweep
    with live(run):
        try:
            return run.backward(sweep, list(cts), leaves)
        finally:
            run.active = None


def _chain_jvp(dots: list[Any], ans: Any, *leaves: Any, run: ChainRun) -> list[Any]:
    dots = [zeros(x) if d is None else d for d, x in zip(dots, leaves, strict=True)]
    return list(jvp(run.plain, list(leaves), dots)[1])


chain_p = Primitive(
    "checkpoint_chain",
    _chain_impl,
    multiple_results=True,
    batch=body_rule(lambda params, *args: params["run"].plain(*args)),
)
defvjp_full(chain_p, _chain_vjp)
defjvp_full(chain_p, _chain_jvp)
