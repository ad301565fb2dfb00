"""``vmap`` of the LU-based and sorting functions against ``jax.vmap``, with no fallback.

``solve``, ``inv``, ``det``, ``slogdet`` factorise under ``vmap`` in their batching rule (one LU
per example, no example-by-example evaluation of the function); ``argsort``, ``sort``,
``median``, ``partition``, ``argmax`` run NumPy on the whole batch along a shifted axis, and
``take_along_axis`` takes its (batched) indices as an argument. The example-by-example fallback
is switched off: falling back raises.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reference_impl as ri
import reference_impl.numpy as rnp
from reference_impl import batching

jax.config.update("jax_enable_x64", True)

_RNG = np.random.default_rng(19)
_A = _RNG.standard_normal((4, 3, 3)) + 3 * np.eye(3)
_B = _RNG.standard_normal((4, 3))
_X = _RNG.standard_normal((4, 5, 6))

CASES = {
    "solve": (lambda m, xp: xp.linalg.solve(m[0], m[1]), (_A, _B)),
    "inv": (lambda m, xp: xp.linalg.inv(m[0]), (_A,)),
    "det": (lambda m, xp: xp.linalg.det(m[0]), (_A,)),
    "slogdet": (lambda m, xp: xp.stack(xp.linalg.slogdet(-m[0])), (_A,)),
    "argsort": (lambda m, xp: xp.argsort(m[0], axis=0), (_X,)),
    "sort": (lambda m, xp: xp.sort(m[0], axis=-1), (_X,)),
    "sort_flat": (lambda m, xp: xp.sort(m[0], axis=None), (_X,)),
    "median": (lambda m, xp: xp.median(m[0], axis=1), (_X,)),
    "partition": (lambda m, xp: xp.partition(m[0], 2, axis=-1), (_X,)),
    "argmax": (lambda m, xp: xp.argmax(m[0], axis=0), (_X,)),
    "take_along_axis": (
        lambda m, xp: xp.take_along_axis(m[0], xp.argsort(m[0] ** 2, axis=1), axis=1),
        (_X,),
    ),
    "lstsq": (lambda m, xp: xp.linalg.lstsq(m[0], m[1])[0], (_A, _B)),
}


@pytest.fixture(autouse=True)
def _no_fallback():
    saved, batching.LOOP_FALLBACK = batching.LOOP_FALLBACK, False
    try:
        yield
    finally:
        batching.LOOP_FALLBACK = saved


@pytest.mark.parametrize("name", list(CASES))
def test_vmap_value(name):
    f, args = CASES[name]
    got = ri.vmap(lambda *m: f(m, rnp))(*args)
    want = jax.vmap(lambda *m: f(m, jnp))(*args)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=f"vmap({name})")


@pytest.mark.parametrize("name", [n for n in CASES if not n.startswith("arg")])
def test_vmap_of_vjp_random_cotangent(name):
    f, args = CASES[name]
    out = jax.vmap(lambda *m: f(m, jnp))(*args)
    ct = np.random.default_rng(3).standard_normal(np.shape(out))

    def ours(c, *m):
        return ri.vjp(lambda *a: f(a, rnp), *m)[1](c)

    def theirs(c, *m):
        return jax.vjp(lambda *a: f(a, jnp), *m)[1](c)

    for k, (g, w) in enumerate(
        zip(ri.vmap(ours)(ct, *args), jax.vmap(theirs)(ct, *args), strict=True)
    ):
        np.testing.assert_allclose(
            g, w, rtol=1e-9, atol=1e-11, err_msg=f"vmap(vjp({name})), argument {k}"
        )


def test_singular_matrix_in_a_batch_is_reported():
    a = _A.copy()
    a[2] = 0.0
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        ri.vmap(rnp.linalg.inv)(a)
