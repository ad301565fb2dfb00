"""``vmap`` against ``jax.vmap`` on the whole op table, and per-example VJPs (vmap of vjp).

Each op of ``tests/engine/op_table.py`` is mapped over a batch of 3 examples (the drawn arguments and two
permutations of their entries, so the domains and the distinctness of values are kept), with a
batch axis drawn per argument among 0, the last axis and ``None`` (at least one argument
mapped). The batched evaluation must not fall back to the example-by-example loop
(``LOOPED_FORWARD`` is empty: a fallback raises).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_impl as ri
from reference_impl import batching
from tests.engine.op_table import OPS, OpSpec

jax.config.update("jax_enable_x64", True)

EXAMPLES = max(2, settings().max_examples // 5)  # each example compiles JAX's jitted vmap
EXAMPLES_VJP = max(1, settings().max_examples // 15)
RTOL = 1e-10
# ops allowed to fall back to the example-by-example loop: none (every primitive of the op
# table has a batching rule, and the sorting and LU-based ops no longer ask NumPy for one array
# of a batch); a fallback is an error in both tests below
LOOPED_FORWARD: set[str] = set()
LOOPED_VJP = LOOPED_FORWARD


@contextlib.contextmanager
def loop_fallback(allowed: bool) -> Iterator[None]:
    """Whether vmap may loop over the examples here (otherwise the error is raised)."""
    saved, batching.LOOP_FALLBACK = batching.LOOP_FALLBACK, allowed
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            yield
    finally:
        batching.LOOP_FALLBACK = saved


def _close(got: Any, want: Any, what: str) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    scale = 1.0 + float(np.max(np.abs(want), initial=0.0))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def _batch(
    data: st.DataObject, spec: OpSpec, all_mapped: bool = False
) -> tuple[Any, tuple, tuple, dict]:
    case = data.draw(spec.cases, label="case")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    n = len(case.args)
    axes = [
        0 if all_mapped else data.draw(st.sampled_from([0, -1, None]), label=f"axis {i}")
        for i in range(n)
    ]
    if all(a is None for a in axes):
        axes[data.draw(st.integers(0, n - 1), label="mapped")] = 0
    args = []
    for x, ax in zip(case.args, axes, strict=True):
        if ax is None:
            args.append(x)
            continue
        flat = np.ravel(x)
        stack = np.stack([x] + [rng.permutation(flat).reshape(np.shape(x)) for _ in range(2)])
        args.append(np.moveaxis(stack, 0, ax))
    return case, tuple(axes), tuple(args), case.params


@pytest.mark.parametrize("spec", OPS, ids=lambda s: s.name)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_vmap_matches_jax(spec: OpSpec, data: st.DataObject) -> None:
    _, axes, args, p = _batch(data, spec)
    what = f"vmap({spec.name}) with in_axes={axes} on {[np.shape(a) for a in args]}, {p}"
    # JAX's side jitted: one compile per example instead of one per primitive it runs
    want = jax.jit(jax.vmap(lambda *a: spec.jfun(*a, **p), in_axes=axes))(*args)
    with loop_fallback(spec.name in LOOPED_FORWARD):
        got = ri.vmap(lambda *a: spec.rfun(*a, **p), in_axes=axes)(*args)
    _close(got, want, what)


@pytest.mark.parametrize("spec", OPS, ids=lambda s: s.name)
@settings(max_examples=EXAMPLES_VJP)
@given(data=st.data())
def test_vmap_of_vjp_matches_jax(spec: OpSpec, data: st.DataObject) -> None:
    """Per-example VJPs with a random cotangent per example: the rules' rules are batched."""
    case, _, args, p = _batch(data, spec, all_mapped=True)
    rng = np.random.default_rng(0)
    out_shape = jax.eval_shape(lambda *a: spec.jfun(*a, **p), *case.args).shape
    ct = rng.standard_normal((3, *out_shape))

    def ours(ct: Any, *a: Any) -> Any:
        return ri.vjp(lambda *b: spec.rfun(*b, **p), *a)[1](ct)

    def theirs(ct: Any, *a: Any) -> Any:
        return jax.vjp(lambda *b: spec.jfun(*b, **p), *a)[1](ct)

    with loop_fallback(spec.name in LOOPED_VJP):
        got = ri.vmap(ours)(ct, *args)
    want = jax.jit(jax.vmap(theirs))(ct, *args)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        _close(g, w, f"vmap(vjp({spec.name})) argument {i} on {[np.shape(a) for a in args]}")


def _all_primitives() -> list[Any]:
    """Every primitive defined at module level anywhere in the package."""
    import importlib
    import pkgutil

    from reference_impl.core import Primitive

    found = {}
    for info in pkgutil.walk_packages(ri.__path__, "reference_impl."):
        mod = importlib.import_module(info.name)
        for value in vars(mod).values():
            if isinstance(value, Primitive):
                found[id(value)] = value
    return list(found.values())


def test_every_primitive_has_a_batching_rule() -> None:
    prims = _all_primitives()
    missing = sorted(p.name for p in prims if p.batch is None)
    assert len(prims) > 50 and not missing, f"no batching rule: {missing}"
