"""Checkpointing: ``checkpoint(f)``, ``checkpoint_chain`` and the residual accounting.

Gradients must be bit-for-bit those of the plain tape (np.array_equal), for random cotangents;
the counted step evaluations and the measured peak of residuals must match their formulas:
"sqrt" (Chen et al. 2016) n advances + n taped steps, (j+1) + a·len_j arrays while segment j
is recomputed; "binomial" (Griewank & Walther 2000) p(n, s) advances, n taped steps, ≤ s states.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.checkpoint import (
    ResidualMeter,
    checkpoint,
    checkpoint_chain,
    remat,
    saved_residuals,
)
from reference_impl.revolve import optimal_forward_steps

POLICIES = [("sqrt", None), ("sqrt", 3), ("binomial", 1), ("binomial", 2), ("binomial", 4)]


def layer(x: Any, W: Any) -> Any:
    """One tanh layer: two arrays on the tape (x @ W and its tanh)."""
    return rnp.tanh(x @ W)


def make_chain(
    rng: np.random.Generator, n: int, width: int = 4, batch: int = 3
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    Ws = [rng.normal(size=(width, width)) / math.sqrt(width) + np.eye(width) for _ in range(n)]
    return rng.normal(size=(batch, width)), Ws, rng.normal(size=(batch, width))


def chain_vjp(
    x0: np.ndarray, Ws: list[np.ndarray], ct: np.ndarray, policy: str, s: int | None
) -> tuple[Any, ...]:
    """Cotangents of (x0, Ws) for the output cotangent ``ct``."""
    f = lambda x, Ws: checkpoint_chain(  # noqa: E731
        [layer] * len(Ws),
        x,
        Ws,
        policy=policy,
        num_checkpoints=s,
    )
    _, pullback = ri.vjp(f, x0, Ws)
    return pullback(ct)


def assert_same(got: Any, want: Any, what: str) -> None:
    got_leaves, want_leaves = ri.tree_util.tree_leaves(got), ri.tree_util.tree_leaves(want)
    assert len(got_leaves) == len(want_leaves), f"{what}: {len(got_leaves)} leaves"
    for k, (g, w) in enumerate(zip(got_leaves, want_leaves, strict=True)):
        assert np.array_equal(g, w), (
            f"{what}, leaf {k}: differs from the plain tape by "
            f"{np.max(np.abs(np.asarray(g) - np.asarray(w)))}"
        )


# ----------------------------------------------------------------------------------------------
# checkpoint(f)
# ----------------------------------------------------------------------------------------------
def block(x: Any, W: Any) -> tuple[Any, Any]:
    h = rnp.sin(x @ W) * x
    return rnp.tanh(h) + x, rnp.exp(-h * h)


def test_checkpoint_gradient_is_bit_for_bit(rng: np.random.Generator) -> None:
    x, W = rng.normal(size=(3, 4)), rng.normal(size=(4, 4))
    cts = (rng.normal(size=(3, 4)), rng.normal(size=(3, 4)))
    for fun in (checkpoint(block), remat(block)):
        assert_same(ri.vjp(fun, x, W)[1](cts), ri.vjp(block, x, W)[1](cts), "vjp of checkpoint")
    loss = lambda f: lambda x, W: rnp.sum(f(x, W)[0] * cts[0])  # noqa: E731
    assert_same(
        ri.grad(loss(checkpoint(block)), argnums=(0, 1))(x, W),
        ri.grad(loss(block), argnums=(0, 1))(x, W),
        "grad with an unused output",
    )


def test_checkpoint_tape_keeps_only_inputs_and_outputs(rng: np.random.Generator) -> None:
    x, W = rng.normal(size=(3, 4)), rng.normal(size=(4, 4))
    plain = saved_residuals(lambda x, W: block(x, W), x, W)
    ck = saved_residuals(checkpoint(block), x, W)
    assert [r.kind for r in ck] == ["input", "input", "intermediate", "intermediate"], (
        f"checkpoint(f) should keep its 2 inputs and 2 outputs, got {ck}"
    )
    assert all(r.source == "output of checkpoint[block]" for r in ck[2:]), f"sources: {ck}"
    n_plain = sum(r.kind == "intermediate" for r in plain)
    # 8 primitives, but only what their VJP rules read is kept: x @ W (read by sin), sin(x @ W),
    # h and -h (read by their product), tanh(h) and exp(-h²) (their rules read their outputs)
    assert n_plain == 6, f"block's VJP rules read 6 intermediates, saved_residuals found {n_plain}"
    assert sum(r.nbytes for r in ck if r.kind == "input") == x.nbytes + W.nbytes, (
        "input bytes do not add up"
    )


def test_checkpoint_recomputes_once_per_backward_pass_and_nests(rng: np.random.Generator) -> None:
    x, W = rng.normal(size=(3, 4)), rng.normal(size=(4, 4))
    inner = checkpoint(lambda x, W: block(x, W)[0])
    outer = checkpoint(lambda x, W: inner(inner(x, W), W))
    plain = lambda x, W: block(block(x, W)[0], W)[0]  # noqa: E731
    ct = rng.normal(size=(3, 4))
    with ResidualMeter() as m:
        got = ri.vjp(outer, x, W)[1](ct)
    assert_same(got, ri.vjp(plain, x, W)[1](ct), "nested checkpoints")
    assert m.recomputations == 3, f"outer once, inner twice: {m.recomputations} recomputations"
    # x used inside and outside a checkpoint: its cotangents are summed in another order
    fan_out = lambda f: lambda x, W: f(x, W) * x  # noqa: E731
    single = lambda x, W: block(x, W)[0]  # noqa: E731
    for g, w in zip(
        ri.vjp(fan_out(inner), x, W)[1](ct), ri.vjp(fan_out(single), x, W)[1](ct), strict=True
    ):
        np.testing.assert_allclose(g, w, rtol=1e-14, atol=1e-15, err_msg="fan-out across")


def test_checkpoint_under_forward_mode_and_second_order(rng: np.random.Generator) -> None:
    x, W, v = rng.normal(size=(3, 4)), rng.normal(size=(4, 4)), rng.normal(size=(3, 4))
    f = lambda x: block(x, W)[0]  # noqa: E731
    cf = checkpoint(f)
    assert_same(ri.jvp(cf, (x,), (v,)), ri.jvp(f, (x,), (v,)), "jvp through checkpoint")
    loss = lambda g: lambda x: rnp.sum(g(x) ** 2)  # noqa: E731
    gg = lambda g: lambda x: rnp.sum(ri.grad(loss(g))(x) * v)  # noqa: E731
    np.testing.assert_allclose(
        ri.grad(gg(cf))(x),
        ri.grad(gg(f))(x),
        rtol=1e-12,
        atol=1e-14,
        err_msg="grad of grad through checkpoint(f)",
    )
    hvp = lambda g: ri.jvp(ri.grad(loss(g)), (x,), (v,))[1]  # noqa: E731
    np.testing.assert_allclose(
        hvp(cf),
        hvp(f),
        rtol=1e-12,
        atol=1e-14,
        err_msg="jvp of grad (forward over reverse) through checkpoint",
    )


def test_checkpoint_against_jax(jax_x64: Any, rng: np.random.Generator) -> None:
    import jax.numpy as jnp

    def body(xp: Any, x: Any, W: Any) -> Any:
        h = xp.sin(x @ W) * x
        return xp.sum(xp.tanh(h) ** 2 + xp.exp(-h * h))

    x, W = rng.normal(size=(3, 4)), rng.normal(size=(4, 4))
    jf = jax_x64.checkpoint(lambda x, W: body(jnp, x, W))
    rf = checkpoint(lambda x, W: body(rnp, x, W))
    for got, want in zip(
        ri.grad(rf, argnums=(0, 1))(x, W), jax_x64.grad(jf, argnums=(0, 1))(x, W), strict=True
    ):
        np.testing.assert_allclose(
            got, want, rtol=1e-12, atol=1e-14, err_msg="grad of checkpoint vs jax.checkpoint"
        )
    v = rng.normal(size=(3, 4))
    jgg = jax_x64.grad(lambda x: jnp.sum(jax_x64.grad(jf)(x, W) * v))(x)
    rgg = ri.grad(lambda x: rnp.sum(ri.grad(rf)(x, W) * v))(x)
    np.testing.assert_allclose(
        rgg, jgg, rtol=1e-10, atol=1e-12, err_msg="grad of grad of checkpoint vs jax.checkpoint"
    )


def test_checkpoint_rejects_closures_over_traced_values(rng: np.random.Generator) -> None:
    x = rng.normal(size=3)
    with pytest.raises(TypeError, match="closes over"):
        ri.grad(lambda w: rnp.sum(checkpoint(lambda y: y * w)(x + w)))(x)


# ----------------------------------------------------------------------------------------------
# checkpoint_chain: gradients
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("policy", "s"), POLICIES)
@pytest.mark.parametrize("n", [1, 2, 7, 16])
def test_chain_gradients_are_bit_for_bit(
    rng: np.random.Generator, n: int, policy: str, s: int | None
) -> None:
    x0, Ws, ct = make_chain(rng, n)
    assert_same(
        chain_vjp(x0, Ws, ct, policy, s),
        chain_vjp(x0, Ws, ct, "none", None),
        f"{policy}, n={n}, s={s}",
    )


@given(
    st.integers(1, 14),
    st.integers(1, 6),
    st.sampled_from(["sqrt", "binomial"]),
    st.integers(0, 2**32 - 1),
)
def test_chain_gradients_are_bit_for_bit_random(n: int, s: int, policy: str, seed: int) -> None:
    x0, Ws, ct = make_chain(np.random.default_rng(seed), n, width=3, batch=2)
    assert_same(
        chain_vjp(x0, Ws, ct, policy, s),
        chain_vjp(x0, Ws, ct, "none", None),
        f"{policy}, n={n}, s={s}",
    )


@pytest.mark.parametrize("policy", ["sqrt", "binomial"])
def test_chain_step_forms_and_pytree_states(rng: np.random.Generator, policy: str) -> None:
    n = 6
    x0, Ws, ct = make_chain(rng, n)
    y0, ct_y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))

    def step(k: int, state: tuple[Any, Any]) -> tuple[Any, Any]:  # closes over constants only
        x, y = state
        return layer(x, Ws[k]) + 0.5 * y, rnp.cos(y) * x

    def loss(pol: str) -> Any:
        return lambda x, y: checkpoint_chain(
            step, (x, y), policy=pol, num_steps=n, num_checkpoints=2
        )

    assert_same(
        ri.vjp(loss(policy), x0, y0)[1]((ct, ct_y)),
        ri.vjp(loss("none"), x0, y0)[1]((ct, ct_y)),
        f"{policy}, pytree state",
    )
    steps = [lambda x, W=W: layer(x, W) for W in Ws]
    g = lambda pol: ri.vjp(lambda x: checkpoint_chain(steps, x, policy=pol), x0)[1](ct)  # noqa: E731
    assert_same(g(policy), g("none"), f"{policy}, list of steps without params")


@pytest.mark.parametrize("policy", ["sqrt", "binomial"])
def test_chain_second_order_forward_mode_and_repeated_pullbacks(
    rng: np.random.Generator, policy: str
) -> None:
    x0, Ws, ct = make_chain(rng, 6)
    v = rng.normal(size=x0.shape)
    f = lambda pol: (  # noqa: E731
        lambda x: checkpoint_chain(
            [layer] * 6,
            x,
            Ws,
            policy=pol,
            num_checkpoints=2,
        )
    )
    loss = lambda pol: lambda x: rnp.sum(f(pol)(x) * ct)  # noqa: E731
    assert_same(ri.jvp(f(policy), (x0,), (v,)), ri.jvp(f("none"), (x0,), (v,)), "jvp")
    gg = lambda pol: ri.grad(lambda x: rnp.sum(ri.grad(loss(pol))(x) ** 2))(x0)  # noqa: E731
    np.testing.assert_allclose(
        gg(policy),
        gg("none"),
        rtol=1e-12,
        atol=1e-14,
        err_msg=f"{policy}: grad of grad through the chain",
    )
    hvp = lambda pol: ri.jvp(ri.grad(loss(pol)), (x0,), (v,))[1]  # noqa: E731
    np.testing.assert_allclose(
        hvp(policy),
        hvp("none"),
        rtol=1e-12,
        atol=1e-14,
        err_msg=f"{policy}: jvp of grad through the chain",
    )
    _, pullback = ri.vjp(f(policy), x0)
    first = pullback(ct)
    with ResidualMeter() as m:
        second = pullback(ct)  # the forward residuals were used up: the forward pass is replayed
    assert_same(second, first, f"{policy}: second call of vjp_fn")
    assert m.taped_steps == 6, f"{policy}: second pullback taped {m.taped_steps} steps, not 6"


def test_chain_errors(rng: np.random.Generator) -> None:
    x0, Ws, _ = make_chain(rng, 3)
    with pytest.raises(ValueError, match="policy"):
        checkpoint_chain([layer] * 3, x0, Ws, policy="fast")
    with pytest.raises(ValueError, match="2 parameter sets for 3 steps"):
        checkpoint_chain([layer] * 3, x0, Ws[:2])
    with pytest.raises(TypeError, match="num_steps"):
        checkpoint_chain(lambda k, x: x, x0)
    with pytest.raises(ValueError, match="structure"):
        ri.grad(lambda x: rnp.sum(checkpoint_chain([lambda x: (x, x)] * 2, x)))(x0)
    closure = lambda x, W: rnp.sum(checkpoint_chain([lambda x: layer(x, W)] * 2, x))  # noqa: E731
    for argnums in (1, (0, 1)):  # x0 constant or traced: either way nothing could be saved
        with pytest.raises(TypeError, match="closes over"):
            ri.grad(closure, argnums=argnums)(x0, Ws[0])


# ----------------------------------------------------------------------------------------------
# checkpoint_chain: counted steps and measured residuals
# ----------------------------------------------------------------------------------------------
def measure(n: int, policy: str, s: int | None, rng: np.random.Generator) -> ResidualMeter:
    x0, Ws, ct = make_chain(rng, n)
    with ResidualMeter() as m:
        chain_vjp(x0, Ws, ct, policy, s)
    return m


@pytest.mark.parametrize("n", [16, 20, 64])
def test_sqrt_counts_and_peak_residuals(rng: np.random.Generator, n: int) -> None:
    plain = measure(n, "none", None, rng)
    # one array per step: tanh's output (its rule reads it); x @ W is not kept (matmul's rule
    # reads its inputs, not its output)
    assert plain.peak_count == n, f"plain tape: {plain.peak_count} arrays, not n = {n}"
    m = measure(n, "sqrt", None, rng)
    seg = math.ceil(n / math.ceil(math.sqrt(n)))
    lengths = [min(seg, n - k0) for k0 in range(0, n, seg)]
    # recomputing segment j holds x_0 … x_{j·seg}, that segment's array per step, the output
    want = max(j + 1 + length for j, length in enumerate(lengths)) + 1
    assert (m.advances, m.taped_steps, m.step_evals) == (n, n, 2 * n), (
        f"n={n}: {m.advances} advances, {m.taped_steps} taped, want n, n and 2n in all"
    )
    assert m.peak_count == want, f"n={n}: peak {m.peak_count} arrays, formula {want}"
    assert m.peak_checkpoints == len(lengths), f"{m.peak_checkpoints} stored states"
    # about 2√n of the plain tape's n activations; the +1s matter only for small n
    bound = 2.2 * math.sqrt(n) / n if n >= 64 else (2 * math.sqrt(n) + 2) / n
    assert m.peak_bytes <= bound * plain.peak_bytes, (
        f"n={n}: sqrt keeps {m.peak_bytes / plain.peak_bytes:.3f} of the plain tape's bytes"
    )


@pytest.mark.parametrize("s", [1, 2, 3, 5])
@pytest.mark.parametrize("n", [1, 2, 5, 13, 30])
def test_binomial_counts_and_peak_residuals(rng: np.random.Generator, n: int, s: int) -> None:
    m = measure(n, "binomial", s, rng)
    p = optimal_forward_steps(n, s)
    assert (m.advances, m.taped_steps) == (p, n), (
        f"n={n}, s={s}: {m.advances} advances and {m.taped_steps} taped, want p = {p} and n"
    )
    assert m.peak_checkpoints == min(s, n), f"n={n}, s={s}: {m.peak_checkpoints} stored states"
    # s states, the state being turned, its step's array, the output
    assert m.peak_count <= min(s, n) + 4, f"n={n}, s={s}: peak {m.peak_count} arrays"


def test_meter_track_agrees_with_saved_residuals(rng: np.random.Generator) -> None:
    x, W = rng.normal(size=(3, 4)), rng.normal(size=(4, 4))
    loss = lambda x: rnp.sum(block(x, W)[0])  # noqa: E731
    with ResidualMeter() as m:
        ri.grad(m.track(loss))(x)
    listed = [r for r in saved_residuals(loss, x) if r.kind == "intermediate"]
    assert (m.peak_count, m.peak_bytes) == (len(listed), sum(r.nbytes for r in listed)), (
        f"meter {m.peak_count} arrays / {m.peak_bytes} B, saved_residuals {len(listed)}"
    )
