"""The binomial schedule (Griewank 1992; Griewank & Walther 2000, TOMS Alg. 799 "revolve").

The schedule is checked on its own, without any arithmetic: a simulator replays the actions,
checks that each one is legal (restore only what is stored, turn the steps in the order
l−1, …, 0, each from its own input state, never more than s stored states) and counts the
advanced steps, which must equal p(l, s) = t·l − β(s+1, t−1). That closed form is checked in
turn against the dynamic program it solves, for every l ≤ 60 and s ≤ 6.
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_impl.revolve import Action, beta, optimal_forward_steps, repetitions, revolve

SMALL = [(l, s) for l in range(1, 61) for s in range(1, 7)]


def simulate(actions: list[Action], l: int, s: int) -> dict[str, int]:
    """Replay a schedule on state indices; fail on any illegal action; return the counts."""
    slots: dict[int, int] = {}  # slot -> index of the stored state
    current = 0
    turns: list[int] = []
    advances = most_slots = 0
    for a in actions:
        if a.kind == "takeshot":
            assert a.index == current, f"takeshot of x_{a.index} while holding x_{current}"
            assert 0 <= a.slot < s, f"slot {a.slot} outside the {s} slots"
            slots[a.slot] = current
            most_slots = max(most_slots, len(slots))
        elif a.kind == "restore":
            assert slots.get(a.slot) == a.index, (
                f"restore of x_{a.index} from slot {a.slot}, which holds {slots.get(a.slot)}"
            )
            current = a.index
        elif a.kind == "advance":
            assert a.index == current and a.steps > 0, f"advance {a} while holding x_{current}"
            current += a.steps
            advances += a.steps
        else:
            assert a.kind == ("youturn" if turns else "firsturn"), f"unexpected {a}"
            assert a.index == current, f"turn of step {a.index} while holding x_{current}"
            turns.append(a.index)
    assert turns == list(range(l - 1, -1, -1)), f"l={l}, s={s}: steps turned in order {turns}"
    return {"advances": advances, "slots": most_slots}


@functools.cache
def dynamic_program(l: int, s: int) -> int:
    """Fewest advances over the recursive schedules: the first checkpoint after m steps, then
    the right part with s−1 slots and the left part with s (or no extra checkpoint at all)."""
    if l <= 1:
        return 0
    best = l * (l - 1) // 2  # every turn restarts from x_0
    if s > 1:
        best = min(
            best,
            min(m + dynamic_program(l - m, s - 1) + dynamic_program(m, s) for m in range(1, l)),
        )
    return best


def test_beta_and_repetition_number() -> None:
    assert beta(4, 6) == 210 and beta(4, 7) == 330, "β(s, t) = C(s+t, s)"
    assert beta(3, -1) == 0, "β(s, −1) = 0 by convention"
    for l, s in SMALL:
        t = repetitions(l, s)
        assert beta(s, t - 1) < l <= beta(s, t), f"l={l}, s={s}: t={t} is not the repetition number"


@pytest.mark.parametrize(("s", "per_step"), [(4, 5.20), (16, 2.33), (32, 1.87)])
def test_forward_steps_per_step_for_256_steps(s: int, per_step: float) -> None:
    p = optimal_forward_steps(256, s)
    assert round(p / 256, 2) == per_step, f"p(256, {s})/256 = {p / 256:.4f}, not {per_step}"
    counts = simulate(list(revolve(256, s)), 256, s)
    assert counts["advances"] == p, f"s={s}: schedule advances {counts['advances']}, p = {p}"
    assert counts["slots"] <= s, f"s={s}: schedule stores {counts['slots']} states"


def test_closed_form_special_cases() -> None:
    for l in range(1, 40):
        assert optimal_forward_steps(l, 1) == l * (l - 1) // 2, f"p({l}, 1) is not l(l−1)/2"
        assert optimal_forward_steps(l, l) == l - 1, f"p({l}, {l}) is not one sweep, l − 1"


@pytest.mark.parametrize("s", range(1, 7))
def test_closed_form_equals_dynamic_program(s: int) -> None:
    for l in range(1, 61):
        assert optimal_forward_steps(l, s) == dynamic_program(l, s), (
            f"p({l}, {s}) = {optimal_forward_steps(l, s)}, the recursion gives "
            f"{dynamic_program(l, s)}"
        )


@pytest.mark.parametrize("s", range(1, 7))
def test_schedule_is_legal_and_optimal_for_all_small_pairs(s: int) -> None:
    for l in range(1, 61):
        counts = simulate(list(revolve(l, s)), l, s)
        assert counts["advances"] == optimal_forward_steps(l, s), (
            f"l={l}, s={s}: {counts['advances']} advances, p = {optimal_forward_steps(l, s)}"
        )
        assert counts["slots"] <= s, f"l={l}, s={s}: {counts['slots']} states stored"


@given(st.integers(1, 600), st.integers(1, 40))
def test_schedule_is_optimal_for_larger_pairs(l: int, s: int) -> None:
    counts = simulate(list(revolve(l, s)), l, s)
    assert counts["advances"] == optimal_forward_steps(l, s), (
        f"l={l}, s={s}: {counts['advances']} advances, p = {optimal_forward_steps(l, s)}"
    )
    assert counts["slots"] <= min(s, l), f"l={l}, s={s}: {counts['slots']} states stored"


def test_edge_cases() -> None:
    assert list(revolve(0, 3)) == [], "no steps, no actions"
    assert [a.kind for a in revolve(1, 1)] == ["takeshot", "firsturn"], "one step: just turn it"
    with pytest.raises(ValueError, match="at least one checkpoint"):
        list(revolve(5, 0))
    with pytest.raises(ValueError, match="non-negative"):
        list(revolve(-1, 2))
