"""Checkpointing schedules of lecture 05 as lists of actions, and a simulator that lays them out.

A schedule reverses a chain ``x_{k+1} = F_k(x_k)``, ``k = 0, …, n - 1``; it is a list of actions
``(kind, k, steps)``:

* ``("store", k, 0)``: keep ``x_k`` as a checkpoint;
* ``("restore", k, 0)``: go back to the checkpoint ``x_k``;
* ``("advance", k, steps)``: evaluate steps ``k, …, k + steps - 1`` without a tape;
* ``("taped", k, steps)``: evaluate them on a tape (their residuals are kept until reversed);
* ``("reverse", k, 1)``: the backward step of step ``k``, from ``x̄_{k+1}`` to ``x̄_k``.

:func:`simulate` turns a schedule into what the lecture draws: the path through the states over
time and, for every stored value, the interval during which it is held.
"""

from __future__ import annotations

import math

from reference_impl.revolve import revolve

__all__ = ["binomial_schedule", "plain_schedule", "simulate", "sqrt_schedule", "summary"]

Action = tuple[str, int, int]


def plain_schedule(n: int) -> list[Action]:
    """Store everything: one taped forward pass, then ``n`` backward steps."""
    return [("taped", 0, n)] + [("reverse", k, 1) for k in reversed(range(n))]


def sqrt_schedule(n: int, s: int) -> list[Action]:
    """The √n strategy (Chen et al., 2016): ``s`` checkpoints every ``m = ⌈n/s⌉`` steps; each
    segment is re-run on a tape and reversed, the last segment first."""
    m = math.ceil(n / s)
    starts = list(range(0, n, m))
    acts: list[Action] = [
        a for k0 in starts for a in [("store", k0, 0), ("advance", k0, min(m, n - k0))]
    ]
    for k0 in reversed(starts):
        k1 = min(k0 + m, n)
        acts += [("restore", k0, 0), ("taped", k0, k1 - k0)]
        acts += [("reverse", k, 1) for k in reversed(range(k0, k1))]
    return acts


def binomial_schedule(n: int, s: int) -> list[Action]:
    """Revolve's optimal schedule with ``s`` checkpoint slots (Griewank 1992); each of its turns
    tapes one step and reverses it at once."""
    acts: list[Action] = []
    for a in revolve(n, s):
        if a.kind in ("firsturn", "youturn"):
            acts += [("taped", a.index, 1), ("reverse", a.index, 1)]
        else:
            acts.append(({"takeshot": "store"}.get(a.kind, a.kind), a.index, a.steps))
    return acts


def simulate(acts: list[Action]) -> tuple[list[tuple], list[tuple]]:
    """Lay a schedule out in time (one unit per step evaluation or backward step).

    Returns ``paths``, segments ``(kind, (t0, t1), (k0, k1))`` of the walk through the states, and
    ``held``, intervals ``(kind, k, start, end)`` during which a checkpoint or the tape of step
    ``k`` is kept.
    """
    t, k = 0, 0
    paths: list[tuple] = []
    held: list[tuple] = []
    stored: dict[int, int] = {}
    taped: dict[int, int] = {}
    for kind, i, steps in acts:
        if kind == "store":
            stored.setdefault(i, t)
        elif kind == "restore":
            paths.append(("restore", (t, t), (k, i)))
            k = i
        elif kind in ("advance", "taped"):
            paths.append((kind, (t, t + steps), (i, i + steps)))
            if kind == "taped":  # step j's residuals live until step j is reversed
                taped.update({j: t + j - i + 1 for j in range(i, i + steps)})
            t, k = t + steps, i + steps
        elif kind == "reverse":  # from x_{i+1} back to x_i
            paths.append(("reverse", (t, t + 1), (i + 1, i)))
            held.append(("tape", i, taped.pop(i), t + 1))
            if i in stored:
                held.append(("checkpoint", i, stored.pop(i), t + 1))
            t, k = t + 1, i
        else:
            raise ValueError(f"unknown action {kind!r} in a schedule")
    return paths, held


def summary(acts: list[Action]) -> tuple[int, int]:
    """``(step evaluations, peak number of values held)`` of a schedule."""
    evals = sum(steps for kind, _, steps in acts if kind in ("advance", "taped"))
    _, held = simulate(acts)
    end = max(e for *_, e in held)
    peak = max(sum(s <= t < e for _, _, s, e in held) for t in range(end))
    return evals, peak
