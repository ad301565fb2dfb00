"""check_grads and the dot-product test: pass on correct functions, catch planted bugs.

Each planted bug is a primitive with a correct implementation and one wrong rule, so the
check must find it from derivatives alone.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import reference_impl.numpy as rnp
from reference_impl import custom_vjp
from reference_impl.core import concrete, defjvp, defvjp, primitive
from reference_impl.testing import check_grads, check_jvp, check_vjp, dot_product_test

# --- correct functions -------------------------------------------------------------------------
M = np.random.default_rng(42).standard_normal((3, 4))


def mlp_like(W, x):
    return rnp.sum(rnp.tanh(W @ x) ** 2) + rnp.mean(rnp.exp(0.1 * x))


def elementwise(x):
    return rnp.sin(x) * rnp.log(1.0 + x * x) / (2.0 + rnp.cos(x))


def pytree_fn(params, x):
    h = rnp.tanh(params["W"] @ x + params["b"])
    return {"out": h * params["b"], "norm": (rnp.sum(h**2), x[1:])}


@pytest.mark.parametrize("modes", [("fwd",), ("rev",), ("fwd", "rev")])
def test_correct_functions_pass(modes, rng):
    W, x = rng.standard_normal((3, 4)), rng.standard_normal(4)
    check_grads(mlp_like, (W, x), order=2, modes=modes, rng=rng)
    check_grads(elementwise, (rng.standard_normal((2, 3)),), order=2, modes=modes, rng=rng)
    params = {"W": W, "b": rng.standard_normal(3)}
    check_grads(pytree_fn, (params, x), order=2, modes=modes, rng=rng)
    check_grads(lambda s: s**3 * rnp.sin(s), (0.7,), order=3, modes=modes, rng=rng)


def test_custom_vjp_reverse_only(rng):
    @custom_vjp
    def softplus(x):
        return rnp.log1p(rnp.exp(x))

    softplus.defvjp(lambda x: (softplus(x), x), lambda x, ct: (ct / (1.0 + rnp.exp(-x)),))
    check_grads(softplus, (rng.standard_normal(5),), order=1, modes=("rev",), rng=rng)


# --- planted bugs -------------------------------------------------------------------------------
def cos_of(x):
    return rnp.cos(x)


sin_wrong_vjp = primitive("sin_wrong_vjp", np.sin)  # VJP with the wrong sign
defjvp(sin_wrong_vjp, lambda x_dot, ans, x: x_dot * cos_of(x))
defvjp(sin_wrong_vjp, lambda ct, ans, x: -ct * cos_of(x))

sin_wrong_jvp = primitive("sin_wrong_jvp", np.sin)  # JVP missing a factor: 2cos x
defjvp(sin_wrong_jvp, lambda x_dot, ans, x: 2.0 * x_dot * cos_of(x))
defvjp(sin_wrong_jvp, lambda ct, ans, x: ct * cos_of(x))

matvec = primitive("matvec", lambda A, x: A @ x)  # VJP wrt x forgot the transpose
defjvp(matvec, lambda A_dot, ans, A, x: A_dot @ x, lambda x_dot, ans, A, x: A @ x_dot)
defvjp(matvec, lambda ct, ans, A, x: rnp.outer(ct, x), lambda ct, ans, A, x: A @ ct)  # not A.T

total = primitive("total", np.sum)  # VJP ignores ct: right only for the all-ones cotangent
defjvp(total, lambda x_dot, ans, x: rnp.sum(x_dot))
defvjp(total, lambda ct, ans, x: rnp.ones_like(x))

# rules written with plain NumPy on concrete values: right to first order, but their own
# derivative is lost, so second derivatives are wrong
sin_frozen_vjp = primitive("sin_frozen_vjp", np.sin)
defjvp(sin_frozen_vjp, lambda x_dot, ans, x: x_dot * cos_of(x))
defvjp(sin_frozen_vjp, lambda ct, ans, x: ct * np.cos(concrete(x)))
sin_frozen_jvp = primitive("sin_frozen_jvp", np.sin)
defjvp(sin_frozen_jvp, lambda x_dot, ans, x: x_dot * np.cos(concrete(x)))
defvjp(sin_frozen_jvp, lambda ct, ans, x: ct * cos_of(x))

# off by one part in a million: finite differences cannot see it, JVP vs VJP can
sin_slightly_off = primitive("sin_slightly_off", np.sin)
defjvp(sin_slightly_off, lambda x_dot, ans, x: x_dot * cos_of(x))
defvjp(sin_slightly_off, lambda ct, ans, x: ct * cos_of(x) * (1.0 + 1e-6))


def test_wrong_vjp_sign_is_caught(rng):
    x = rng.standard_normal(4)
    check_grads(sin_wrong_vjp, (x,), order=1, modes=("fwd",), rng=rng)  # the JVP is right
    with pytest.raises(AssertionError, match=r"VJP \(order 1, mode 'rev'\) is wrong"):
        check_grads(sin_wrong_vjp, (x,), order=1, modes=("rev",), rng=rng)
    with pytest.raises(AssertionError, match="central differences"):
        check_grads(sin_wrong_vjp, (x,), order=1, rng=rng)


def test_wrong_jvp_is_caught(rng):
    x = rng.standard_normal(4)
    check_grads(sin_wrong_jvp, (x,), order=1, modes=("rev",), rng=rng)  # the VJP is right
    with pytest.raises(AssertionError, match=r"JVP \(order 1, mode 'fwd'\) is wrong"):
        check_grads(sin_wrong_jvp, (x,), order=1, modes=("fwd",), rng=rng)


def test_transposed_vjp_is_caught(rng):
    A, x = rng.standard_normal((3, 3)), rng.standard_normal(3)  # square, so shapes agree
    A = A + 3.0 * np.triu(np.ones((3, 3)), 1)  # clearly non-symmetric

    check_grads(matvec, (A, x), order=1, modes=("fwd",), rng=rng)
    with pytest.raises(AssertionError, match="VJP"):
        check_grads(matvec, (A, x), order=1, modes=("rev",), rng=rng)


def test_vjp_ignoring_its_cotangent_is_caught(rng):
    x = rng.standard_normal(5)
    with pytest.raises(AssertionError, match="VJP"):
        check_grads(total, (x,), order=1, modes=("rev",), rng=rng)


def test_second_order_bugs_need_order_2(rng):
    x = rng.standard_normal(3)
    for prim in (sin_frozen_vjp, sin_frozen_jvp):
        check_grads(prim, (x,), order=1, rng=rng)
    with pytest.raises(AssertionError, match=r"of VJP \(order 2"):
        check_grads(sin_frozen_vjp, (x,), order=2, modes=("rev",), rng=rng)
    with pytest.raises(AssertionError, match=r"JVP of JVP \(order 2, mode 'fwd'\)"):
        check_grads(sin_frozen_jvp, (x,), order=2, modes=("fwd",), rng=rng)


def test_jvp_vs_vjp_is_the_tight_check(rng):
    x = rng.standard_normal(4)
    check_grads(sin_slightly_off, (x,), order=1, modes=("rev",), rng=rng)  # FD tolerance 1e-5
    with pytest.raises(AssertionError, match="our JVP"):
        check_grads(sin_slightly_off, (x,), order=1, rng=rng)


def test_failure_message_names_both_numbers(rng):
    x = rng.standard_normal(4)
    with pytest.raises(AssertionError) as info:
        check_vjp(sin_wrong_vjp, (x,), rng=rng)
    msg = str(info.value)
    assert "sin_wrong_vjp" in msg and "mode 'rev'" in msg, f"message lacks name/mode: {msg}"
    found = re.search(
        r"⟨u, J v⟩ = (\S+) .* ⟨Jᵀu, v⟩ = (\S+) .*difference (\S+) > "
        r"tolerance (\S+)",
        msg,
    )
    assert found, f"expected ⟨u, J v⟩, ⟨Jᵀu, v⟩, difference and tolerance in: {msg}"
    lhs, rhs, diff, tol = (float(g) for g in found.groups())
    assert abs(abs(lhs - rhs) - diff) <= 1e-2 * diff and diff > tol, f"numbers inconsistent: {msg}"
    with pytest.raises(AssertionError, match=r"J v by JVP = .* but by central differences ="):
        check_jvp(sin_wrong_jvp, (x,), rng=rng)


def test_dot_product_test(rng):
    x = rng.standard_normal(4)
    lhs, rhs = dot_product_test(lambda z: rnp.tanh(M @ z), x, rng)
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs)), f"⟨u, J v⟩ = {lhs} but ⟨Jᵀu, v⟩ = {rhs}"
    A = rng.standard_normal((3, 3)) + 3.0 * np.triu(np.ones((3, 3)), 1)
    lhs, rhs = dot_product_test(lambda z: matvec(A, z), x[:3], rng)
    assert abs(lhs - rhs) > 1e-3 * max(abs(lhs), abs(rhs)), (
        f"a transposed VJP should break the dot-product test, got {lhs} and {rhs}"
    )


def test_invalid_arguments():
    with pytest.raises(ValueError, match="order"):
        check_grads(rnp.sin, (1.0,), order=0)
    with pytest.raises(ValueError, match="modes"):
        check_grads(rnp.sin, (1.0,), modes=("bwd",))
