"""``reference_impl.lax`` control flow against ``jax.lax``: values, gradients in both modes
(against JAX and central differences), ``vmap`` against ``jax.vmap``, and JAX's errors."""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl.testing import check_grads
from tests.engine.strategies import arrays


@pytest.fixture(scope="module")
def jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def close(ours: Any, theirs: Any, msg: str, rtol: float = 1e-10) -> None:
    lo, _ = ri.tree_util.tree_flatten(ours)
    import jax

    lt, _ = jax.tree_util.tree_flatten(theirs)
    assert len(lo) == len(lt), f"{msg}: {len(lo)} leaves, JAX {len(lt)}"
    for a, b in zip(lo, lt, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=1e-12, err_msg=msg)


coefs = st.floats(-1.5, 1.5).map(lambda t: round(t, 3))  # no 1e-168: check_grads's tolerance


# one program, two modules: ``lax`` and ``np_`` are jax's or the engine's
def rnn(lax: Any, np_: Any, reverse: bool = False) -> Any:
    def f(w: Any, xs: Any) -> Any:
        def step(c: Any, x: Any) -> Any:
            h, total = c
            h = np_.tanh(h * w["a"] + x["u"] * w["b"])
            return (h, total + np_.sum(h * x["v"])), {"h2": h**2, "s": np_.sum(h)}

        (h, total), ys = lax.scan(step, (np_.zeros(xs["u"].shape[1]), 0.0), xs, reverse=reverse)
        return total + np_.sum(h) + np_.sum(ys["h2"]) * 0.5 + np_.sum(ys["s"] ** 2)

    return f


@functools.cache
def jax_rnn(jax, reverse: bool) -> Any:
    """JAX's value, gradient and forward Jacobian of ``rnn`` as one jitted program per
    direction: eagerly JAX traces and compiles the scan again for every call."""
    f = rnn(jax.lax, jax.numpy, reverse)
    return jax.jit(
        lambda w, xs: (f(w, xs), jax.grad(f, argnums=(0, 1))(w, xs), jax.jacfwd(f)(w, xs))
    )


@settings(max_examples=8, database=None, phases=(Phase.generate,))
@given(u=arrays(shape=(4, 3)), v=arrays(shape=(4, 3)), a=coefs, b=coefs, reverse=st.booleans())
def test_scan_pytrees_values_and_gradients(jax, u, v, a, b, reverse) -> None:
    w, xs = {"a": a, "b": b}, {"u": u, "v": v}
    ours = rnn(ri.lax, rnp, reverse)
    value, grad, jac = jax_rnn(jax, reverse)(w, xs)
    close(ours(w, xs), value, "scan value")
    close(ri.grad(ours, argnums=(0, 1))(w, xs), grad, "grad through scan")
    close(ri.jacfwd(ours)(w, xs), jac, "jacfwd through scan")
    check_grads(lambda wa, uu: ours({"a": wa, "b": b}, {"u": uu, "v": v}), (a, u), order=2)


def test_scan_outputs_and_options(jax) -> None:
    xs = np.arange(6.0).reshape(3, 2)
    step = lambda np_: lambda c, x: (c + np_.sum(x), (c, x * 2))  # noqa: E731
    close(ri.lax.scan(step(rnp), 0.0, xs), jax.lax.scan(step(jax.numpy), 0.0, xs), "scan ys")
    close(
        ri.lax.scan(step(rnp), 0.0, xs, reverse=True),
        jax.lax.scan(step(jax.numpy), 0.0, xs, reverse=True),
        "reverse scan",
    )
    count = lambda c, x: (c + 1, None)  # noqa: E731
    ours, theirs = ri.lax.scan(count, 0, None, length=4), jax.lax.scan(count, 0, None, length=4)
    assert ours[0] == theirs[0] == 4 and ours[1] is None and theirs[1] is None
    ours = ri.lax.scan(lambda c, x: (c, x + c), 1.0, np.zeros((0, 2)))
    theirs = jax.lax.scan(lambda c, x: (c, x + c), 1.0, np.zeros((0, 2)))
    assert ours[1].shape == theirs[1].shape == (0, 2), "scan of length 0: stacked ys of shape"


def test_scan_errors_name_the_culprit() -> None:
    with pytest.raises(TypeError, match=r"scan: carry leaf 0 changed shape from \(\) to \(2,\)"):
        ri.lax.scan(lambda c, x: (c + x, None), 0.0, np.ones((3, 2)))
    with pytest.raises(TypeError, match="carry output has structure"):
        ri.lax.scan(lambda c, x: ((c, c), None), 0.0, np.ones(3))
    with pytest.raises(ValueError, match="inconsistent lengths"):
        ri.lax.scan(lambda c, x: (c, None), 0.0, (np.ones(3), np.ones(4)))
    with pytest.raises(ValueError, match="no length"):
        ri.lax.scan(lambda c, x: (c, None), 0.0)
    with pytest.raises(TypeError, match="must return a pair"):
        ri.lax.scan(lambda c, x: c, 0.0, np.ones(3))


@settings(max_examples=8, database=None, phases=(Phase.generate,))
@given(x=arrays(shape=(3,)), n=st.integers(0, 4))
def test_fori_loop_both_modes(jax, x, n) -> None:
    def prog(lax, np_):
        return lambda v: np_.sum(lax.fori_loop(0, n, lambda i, u: np_.sin(u) * (i + 1.5), v))

    close(ri.grad(prog(ri.lax, rnp))(x), jax.grad(prog(jax.lax, jax.numpy))(x), "fori grad")
    close(ri.jacfwd(prog(ri.lax, rnp))(x), jax.jacfwd(prog(jax.lax, jax.numpy))(x), "fori jvp")
    check_grads(prog(ri.lax, rnp), (x,), order=2)


def test_while_loop_forward_mode_and_the_reverse_mode_error(jax) -> None:
    def prog(lax):
        return lambda x: lax.while_loop(lambda v: v[0] < 10.0, lambda v: v * 1.7, x)

    x = np.array([1.0, 2.0])
    close(prog(ri.lax)(x), prog(jax.lax)(x), "while value")
    close(ri.jacfwd(prog(ri.lax))(x), jax.jacfwd(prog(jax.lax))(x), "while jacfwd")
    with pytest.raises(
        ValueError,
        match=r"Reverse-mode differentiation does not work for "
        r"lax\.while_loop.*lax\.scan.*fori_loop",
    ):
        ri.grad(lambda v: rnp.sum(prog(ri.lax)(v)))(x)
    with pytest.raises(ValueError, match="Reverse-mode"):  # differentiated through a closure
        ri.grad(lambda w: ri.lax.while_loop(lambda v: v < 5.0, lambda v: v + w, 0.0))(1.0)
    with pytest.raises(ValueError):
        jax.grad(lambda v: jax.numpy.sum(prog(jax.lax)(v)))(x)


def cprog(lax: Any, np_: Any) -> Any:
    return lambda v, p: lax.cond(p, lambda a: np_.sin(a) * 2, lambda a: a**3, v)


def sprog(lax: Any, np_: Any) -> Any:
    brs = [lambda a: np_.sin(a), lambda a: a**2, lambda a: np_.exp(a) - a]
    return lambda v, i: lax.switch(i, brs, v)


@functools.cache
def jax_branching(jax, prog: Any) -> Any:
    """JAX's value, jacrev and jacfwd of ``prog`` in ``v``, jitted with the predicate or index
    traced (compiled once for all examples; the engine gets them as Python values)."""
    f = prog(jax.lax, jax.numpy)
    return jax.jit(lambda v, c: (f(v, c), jax.jacrev(f)(v, c), jax.jacfwd(f)(v, c)))


@settings(max_examples=8, database=None, phases=(Phase.generate,))
@given(x=arrays(shape=(2,)), p=st.booleans(), i=st.integers(-2, 4))
def test_cond_and_switch_values_and_gradients(jax, x, p, i) -> None:
    for prog, c in ((cprog, p), (sprog, i)):
        ours = prog(ri.lax, rnp)
        value, jacrev, jacfwd = jax_branching(jax, prog)(x, c)
        close(ours(x, c), value, f"{prog.__name__} value")
        close(ri.jacrev(ours)(x, c), jacrev, f"{prog.__name__} jacrev")
        close(ri.jacfwd(ours)(x, c), jacfwd, f"{prog.__name__} jacfwd")


def control_flow(lax: Any, np_: Any) -> dict[str, Any]:
    return {
        "cond": lambda v: lax.cond(v > 0, lambda a: np_.sin(a), lambda a: a**2, v),
        "switch": lambda v: lax.switch(
            (v > -1) * 1 + (v > 1) * 1, [np_.sin, np_.cos, lambda a: a * 3], v
        ),
        "while": lambda v: lax.while_loop(
            lambda c: c[0] < 4.0, lambda c: (c[0] + np_.abs(c[1]) + 0.5, c[1] * 1.1), (v, v)
        )[1],
        "scan": lambda v: lax.scan(lambda c, x: (c * v + x, c), v, np_.arange(3.0))[1],
        "fori": lambda v: lax.fori_loop(0, 3, lambda k, c: c * v + k, v),
    }


@functools.cache
def jax_vmapped_control_flow(jax) -> Any:
    """``jax.vmap`` of each program and of its gradient (not ``while``: no reverse mode), one
    jitted program for all of them."""
    progs = control_flow(jax.lax, jax.numpy)

    def run(xs: Any) -> dict[str, Any]:
        out = {name: jax.vmap(f)(xs) for name, f in progs.items()}
        for name, f in progs.items():
            if name != "while":  # (scan: the gradient of the sum of its stacked outputs)
                g = jax.grad(lambda v, f=f: jax.numpy.sum(f(v)))
                out[f"grad {name}"] = jax.vmap(g)(xs)
        return out

    return jax.jit(run)


@settings(max_examples=6, database=None, phases=(Phase.generate,))
@given(xs=arrays(shape=(5,)))
def test_vmap_of_control_flow_matches_jax_and_does_not_fall_back(jax, xs) -> None:
    xs = np.where(np.abs(xs) < np.finfo(float).tiny, 0.0, xs)  # jitted XLA flushes subnormals
    ours = control_flow(ri.lax, rnp)
    want = jax_vmapped_control_flow(jax)(xs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback to a loop would warn
        for name, f in ours.items():
            close(ri.vmap(f)(xs), want[name], f"vmap {name}")
            if name != "while":
                g = ri.grad(lambda v, f=f: rnp.sum(f(v)))
                close(ri.vmap(g)(xs), want[f"grad {name}"], f"vmap(grad) {name}")


def test_map(jax) -> None:
    xs = {"a": np.arange(6.0).reshape(3, 2), "b": np.arange(3.0)}
    f = lambda np_: lambda d: np_.sum(d["a"]) * d["b"]  # noqa: E731
    close(ri.lax.map(f(rnp), xs), jax.lax.map(f(jax.numpy), xs), "lax.map")
    close(
        ri.lax.map(f(rnp), xs, batch_size=2),
        jax.lax.map(f(jax.numpy), xs, batch_size=2),
        "lax.map with batch_size",
    )
    g = ri.grad(lambda a: rnp.sum(ri.lax.map(lambda r: rnp.sin(r) ** 2, a)))(xs["a"])
    np.testing.assert_allclose(g, np.sin(2 * xs["a"]), rtol=1e-12)
