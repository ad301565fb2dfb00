"""Op specs for ``numpy.fft`` and ``linalg.eig``/``eigvals`` (issue 19). A complex input is two
real arguments (``re + 1j·im``) and a complex output is returned as ``stack([real, imag])``, so
the table's tests (JAX's values, JVP, VJP with random cotangents, finite differences, vmap) see
real arrays on both sides; the real ↔ complex steps are themselves differentiated (``real``,
``imag``, ``1j·im``)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import strategies as st

import reference_impl.numpy as rnp


def _t() -> Any:
    import tests.engine.op_table as t  # shared helpers (imported lazily: no cycle)

    return t


T = _t()
Case, OpSpec, arr, shapes = T.Case, T.OpSpec, T.arr, T.shapes
NORMS = st.sampled_from([None, "backward", "ortho", "forward"])


def _split(lib: Any, y: Any) -> Any:
    return lib.stack([lib.real(y), lib.imag(y)])


def _both(name: str, body: Any, cases: st.SearchStrategy, order2: bool = False) -> Any:
    return OpSpec(
        name, lambda *a, **p: body(rnp, *a, **p), lambda *a, **p: body(jnp, *a, **p), cases, order2
    )


@st.composite
def one_d(draw: st.DrawFn, n_args: int, min_side: int = 1) -> Case:
    """A 1-D transform along one axis, with ``n`` absent, cropping or padding."""
    shape = draw(shapes(min_dims=1, max_side=4, min_side=min_side))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = draw(st.sampled_from([None, max(1, shape[axis] - 1), shape[axis] + 2]))
    args = tuple(draw(arr(shape)) for _ in range(n_args))
    return Case(args, {"n": n, "axis": axis, "norm": draw(NORMS)})


@st.composite
def n_d(draw: st.DrawFn, n_args: int, two: bool = False) -> Case:
    """Transforms over several axes (``fft2``: the last two), ``s`` absent or changed."""
    shape = draw(shapes(min_dims=2 if two else 1, max_side=4, min_side=2))
    nd = len(shape)
    if two:
        axes = (-2, -1)
    else:
        axes = tuple(draw(st.permutations(range(nd)))[: draw(st.integers(1, nd))])
    s = draw(st.sampled_from([None, "grow"]))
    s = None if s is None else tuple(shape[a] + 1 for a in axes)
    args = tuple(draw(arr(shape)) for _ in range(n_args))
    return Case(args, {"s": s, "axes": axes, "norm": draw(NORMS)})


def _well_separated(a: np.ndarray) -> bool:
    """Distinct eigenvalues (gap > 0.3), a clear largest component per eigenvector (LAPACK's
    normalisation is piecewise smooth), well-conditioned eigenvectors."""
    w, v = np.linalg.eig(a)
    n = w.shape[-1]
    gaps = np.abs(w[..., :, None] - w[..., None, :]) + np.eye(n) * 9
    top = -np.sort(-np.abs(v), axis=-2)
    if not (
        np.min(gaps) > 0.3
        and (n == 1 or np.min(top[..., 0, :] - top[..., 1, :]) > 0.05)
        and np.max(np.linalg.cond(v)) < 30
    ):
        return False
    # LAPACK's order of the eigenvalues is not continuous: keep it fixed near a (for the
    # finite differences)
    rng = np.random.default_rng(0)
    for _ in range(4):
        w2, v2 = np.linalg.eig(a + 1e-4 * rng.standard_normal(a.shape))
        if np.max(np.abs(w2 - w)) > 1e-2 or np.max(np.abs(v2 - v)) > 1e-2:
            return False
    return True


@st.composite
def general_matrix(draw: st.DrawFn) -> Case:
    n = draw(st.integers(1, 3))
    stack = draw(st.sampled_from([(), (2,)]))
    # no subnormal entries: XLA flushes them to zero, LAPACK does not
    a = draw(
        arr((*stack, n, n))
        .map(lambda a: np.where(np.abs(a) < 1e-3, 0.0, a))
        .filter(_well_separated)
    )
    return Case((a,), {})


def _jax_eig(a: Any) -> Any:
    w, v = jax.lax.linalg.eig(a, compute_left_eigenvectors=False, enable_eigvec_derivs=True)
    return w, v


def _eig_pair(lib: Any, w: Any, v: Any) -> Any:
    return _split(lib, lib.concatenate([lib.reshape(w, (-1,)), lib.reshape(v, (-1,))]))


FFT_OPS: list[Any] = [
    # JAX has no second derivative of eigvals; the "eig" spec checks it (its first output)
    _both("eigvals", lambda lib, a: _split(lib, lib.linalg.eigvals(a)), general_matrix()),
    OpSpec(
        "eig",
        lambda a: _eig_pair(rnp, *rnp.linalg.eig(a, enable_eigvec_derivs=True)),
        lambda a: _eig_pair(jnp, *_jax_eig(a)),
        general_matrix(),
        True,
    ),
    _both("fft", lambda lib, a, **p: _split(lib, lib.fft.fft(a, **p)), one_d(1), True),
    _both(
        "fft (complex input)",
        lambda lib, a, b, **p: _split(lib, lib.fft.fft(a + 1j * b, **p)),
        one_d(2),
    ),
    _both(
        "ifft", lambda lib, a, b, **p: _split(lib, lib.fft.ifft(a + 1j * b, **p)), one_d(2), True
    ),
    _both("rfft", lambda lib, a, **p: _split(lib, lib.fft.rfft(a, **p)), one_d(1), True),
    _both("irfft", lambda lib, a, b, **p: lib.fft.irfft(a + 1j * b, **p), one_d(2, 2), True),
    _both("irfft (real input)", lambda lib, a, **p: lib.fft.irfft(a, **p), one_d(1, 2)),
    _both(
        "fft2", lambda lib, a, b, **p: _split(lib, lib.fft.fft2(a + 1j * b, **p)), n_d(2, two=True)
    ),
    _both(
        "ifft2",
        lambda lib, a, b, **p: _split(lib, lib.fft.ifft2(a + 1j * b, **p)),
        n_d(2, two=True),
    ),
    _both("fftn", lambda lib, a, b, **p: _split(lib, lib.fft.fftn(a + 1j * b, **p)), n_d(2)),
    _both("ifftn", lambda lib, a, b, **p: _split(lib, lib.fft.ifftn(a + 1j * b, **p)), n_d(2)),
    _both("rfftn", lambda lib, a, **p: _split(lib, lib.fft.rfftn(a, **p)), n_d(1)),
    _both("irfftn", lambda lib, a, b, **p: lib.fft.irfftn(a + 1j * b, **p), n_d(2)),
    _both(
        "abs(fft)",
        lambda lib, a, **p: lib.abs(lib.fft.fft(a, **p)),
        one_d(1).filter(
            lambda c: np.min(np.abs(np.fft.fft(c.args[0], c.params["n"], c.params["axis"]))) > 0.1
        ),
    ),
    _both(
        "fftshift",
        lambda lib, a, axes: lib.fft.ifftshift(lib.fft.fftshift(a, axes) * a[..., :1], axes),
        st.builds(
            lambda c, k: Case(c.args, {"axes": None if k else -1}),
            T.unary(min_dims=1),
            st.booleans(),
        ),
    ),
]
