"""``jax.numpy.fft``: four primitives (``fftn``, ``ifftn``, ``rfftn``, ``irfftn``) over given
axes, with impl, JVP, VJP and batching side by side; the 1-D and 2-D functions, ``n``/``s``
(crop or zero-pad first) and ``norm`` (a constant scale) are wrappers.

The transposes follow JAX's ``_fft_transpose_rule`` (jax/_src/lax/fft.py), in JAX's complex
convention (a cotangent is ``∂f/∂a − i ∂f/∂b``, transposes do not conjugate):

* ``fftn``/``ifftn`` are linear with a symmetric matrix (``F_jk = ω^{jk}``): JVP ``F ẋ``,
  VJP ``F ȳ`` — the transpose of a DFT is the same DFT.
* ``rfftn`` (real ``x`` of length ``n`` → bins ``0 … n//2``): the transpose is the full DFT of
  ``ȳ`` zero-padded to ``n`` bins; its real part is the cotangent of the real ``x``. (JAX's
  ``_rfft_transpose`` computes the same with ``irfft`` and doubled bins.)
* ``irfftn`` reads the half spectrum as Hermitian, ``X_{n−k} = conj(X_k)``: it is real- but not
  complex-linear. ``∂y_j/∂a_k = c_k cos θ / N``, ``∂y_j/∂b_k = −c_k sin θ / N``
  (``θ = 2πjk/n``, ``c_k = 2`` for the doubled bins, 1 for bin 0 and, ``n`` even, bin ``n/2``),
  so ``x̄ = conj(c · rfftn(ȳ)) / N`` — JAX's ``_irfft_transpose``.
* batching: the batch axis is moved to the front; the axes are stored negative, so unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..primitives import Primitive, RuleFamily, defjvp, defvjp, primitive
from ..tracers import concrete, shape_of
from . import elementwise_more as EM
from . import shape_ops as S
from .manipulation import pad, roll
from .shape_ops import move

__all__ = [
    "fft",
    "fft2",
    "fftfreq",
    "fftn",
    "fftshift",
    "ifft",
    "ifft2",
    "ifftn",
    "ifftshift",
    "irfft",
    "irfft2",
    "irfftn",
    "rfft",
    "rfft2",
    "rfftfreq",
    "rfftn",
]

_NORMS = (None, "backward", "ortho", "forward")


def _batch_in_front(prim: Primitive) -> Any:
    """vmap: the primitives' ``axes`` count from the end, so the batch axis goes in front."""

    def rule(vals: list[Any], dims: list[Any], **params: Any) -> tuple[Any, int]:
        return prim(move(vals[0], dims[0], 0), **params), 0

    return rule


_FRONT = RuleFamily(_batch_in_front, "batch axis in front")
fftn_p = primitive("fftn", lambda x, axes: np.fft.fftn(x, axes=axes), batch=_FRONT)
ifftn_p = primitive("ifftn", lambda x, axes: np.fft.ifftn(x, axes=axes), batch=_FRONT)
rfftn_p = primitive("rfftn", lambda x, axes: np.fft.rfftn(np.real(x), axes=axes), batch=_FRONT)
irfftn_p = primitive("irfftn", lambda x, axes, s: np.fft.irfftn(x, s=s, axes=axes), batch=_FRONT)

defjvp(fftn_p, lambda x_dot, ans, x, axes: fftn_p(x_dot, axes=axes))
defvjp(fftn_p, lambda ct, ans, x, axes: fftn_p(ct, axes=axes))
defjvp(ifftn_p, lambda x_dot, ans, x, axes: ifftn_p(x_dot, axes=axes))
defvjp(ifftn_p, lambda ct, ans, x, axes: ifftn_p(ct, axes=axes))
defjvp(rfftn_p, lambda x_dot, ans, x, axes: rfftn_p(x_dot, axes=axes))
defjvp(irfftn_p, lambda x_dot, ans, x, axes, s: irfftn_p(x_dot, axes=axes, s=s))


def _rfft_vjp(ct: Any, ans: Any, x: Any, axes: tuple[int, ...]) -> Any:
    n, m = shape_of(x)[axes[-1]], shape_of(ct)[axes[-1]]
    widths = [(0, 0)] * len(shape_of(ct))
    widths[axes[-1]] = (0, n - m)
    return EM.real(fftn_p(pad(ct, widths), axes=axes))


def _irfft_vjp(ct: Any, ans: Any, x: Any, axes: tuple[int, ...], s: tuple[int, ...]) -> Any:
    n = s[-1]
    m = n // 2 + 1
    c = np.full(m, 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    c = c.reshape((m,) + (1,) * (-axes[-1] - 1))
    return EM.conj(rfftn_p(ct, axes=axes) * (c / float(np.prod(s))))


defvjp(rfftn_p, _rfft_vjp)
defvjp(irfftn_p, _irfft_vjp)


# --- wrappers -----------------------------------------------------------------------------------
def _axes(
    x: Any, s: Sequence[int] | None, axes: Sequence[int] | None, name: str
) -> tuple[int, ...]:
    nd = len(shape_of(x))
    if axes is None:
        axes = range(nd - len(s), nd) if s is not None else range(nd)
    out = []
    for a in axes:
        if not -nd <= a < nd:
            raise ValueError(
                f"{name}: axis {a} is out of bounds for an array of shape {shape_of(x)}"
            )
        out.append(a % nd - nd)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axes {tuple(axes)}")
    if s is not None and len(s) != len(out):
        raise ValueError(f"{name}: s={tuple(s)} and axes={tuple(axes)} differ in length")
    return tuple(out)


def _fit(x: Any, axes: tuple[int, ...], sizes: Sequence[int]) -> Any:
    """Crop or zero-pad ``x`` to ``sizes`` along ``axes`` (NumPy's ``n``/``s``)."""
    for a, n in zip(axes, sizes, strict=True):
        have = shape_of(x)[a]
        if n < 1:
            raise ValueError(f"invalid number of FFT data points ({n}) along axis {a}")
        if n < have:
            x = S.getitem(x, (Ellipsis, slice(0, n)) + (slice(None),) * (-a - 1))
        elif n > have:
            widths = [(0, 0)] * len(shape_of(x))
            widths[a] = (0, n - have)
            x = pad(x, widths)
    return x


def _scale(y: Any, count: int, norm: str | None, inverse: bool, name: str) -> Any:
    """NumPy's ``backward`` (1 forward, 1/N inverse), ``ortho`` (1/√N) or ``forward``."""
    if norm not in _NORMS:
        raise ValueError(f"{name}: norm must be one of {_NORMS[1:]}, got {norm!r}")
    if norm in (None, "backward"):
        return y
    if norm == "ortho":
        return y * (float(np.sqrt(count)) if inverse else 1.0 / float(np.sqrt(count)))
    return y * (float(count) if inverse else 1.0 / count)


def _c2c(x: Any, s: Any, axes: Any, norm: str | None, inverse: bool, name: str) -> Any:
    axes = _axes(x, s, axes, name)
    if s is not None:
        x = _fit(x, axes, s)
    count = int(np.prod([shape_of(x)[a] for a in axes]))
    y = (ifftn_p if inverse else fftn_p)(x, axes=axes)
    return _scale(y, count, norm, inverse, name)


def fftn(
    a: Any,
    s: Sequence[int] | None = None,
    axes: Sequence[int] | None = None,
    norm: str | None = None,
) -> Any:
    """``Y_k = Σ_j x_j e^{−2πi j·k/n}`` over ``axes`` (all by default)."""
    return _c2c(a, s, axes, norm, False, "fftn")


def ifftn(
    a: Any,
    s: Sequence[int] | None = None,
    axes: Sequence[int] | None = None,
    norm: str | None = None,
) -> Any:
    """``x_j = (1/N) Σ_k Y_k e^{+2πi j·k/n}`` over ``axes``."""
    return _c2c(a, s, axes, norm, True, "ifftn")


def fft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """The 1-D DFT along ``axis`` (``n``: crop or zero-pad first)."""
    return _c2c(a, None if n is None else (n,), (axis,), norm, False, "fft")


def ifft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """The 1-D inverse DFT along ``axis``."""
    return _c2c(a, None if n is None else (n,), (axis,), norm, True, "ifft")


def fft2(
    a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1), norm: str | None = None
) -> Any:
    return _c2c(a, s, axes, norm, False, "fft2")


def ifft2(
    a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1), norm: str | None = None
) -> Any:
    return _c2c(a, s, axes, norm, True, "ifft2")


def rfftn(
    a: Any,
    s: Sequence[int] | None = None,
    axes: Sequence[int] | None = None,
    norm: str | None = None,
) -> Any:
    """The DFT of a real array, last axis halved to ``n//2 + 1`` bins (the rest is their
    conjugate)."""
    if np.iscomplexobj(concrete(a)):
        raise TypeError("rfftn: the input must be real, got a complex array (use fftn)")
    axes = _axes(a, s, axes, "rfftn")
    if s is not None:
        a = _fit(a, axes, s)
    count = int(np.prod([shape_of(a)[x] for x in axes]))
    return _scale(rfftn_p(a, axes=axes), count, norm, False, "rfftn")


def irfftn(
    a: Any,
    s: Sequence[int] | None = None,
    axes: Sequence[int] | None = None,
    norm: str | None = None,
) -> Any:
    """The real inverse of :func:`rfftn`; the last axis has ``s[-1]`` points (default
    ``2(m − 1)`` for ``m`` bins), the half spectrum read as Hermitian."""
    axes = _axes(a, s, axes, "irfftn")
    shape = shape_of(a)
    if s is None:
        s = [shape[x] for x in axes[:-1]] + [2 * (shape[axes[-1]] - 1)]
    s = tuple(int(v) for v in s)
    a = _fit(a, axes, [*s[:-1], s[-1] // 2 + 1])
    y = irfftn_p(a, axes=axes, s=s)
    return _scale(y, int(np.prod(s)), norm, True, "irfftn")


def rfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    return rfftn(a, None if n is None else (n,), (axis,), norm)


def irfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    return irfftn(a, None if n is None else (n,), (axis,), norm)


def rfft2(
    a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1), norm: str | None = None
) -> Any:
    return rfftn(a, s, axes, norm)


def irfft2(
    a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1), norm: str | None = None
) -> Any:
    return irfftn(a, s, axes, norm)


def fftshift(x: Any, axes: int | Sequence[int] | None = None) -> Any:
    """Bin 0 moved to the centre: ``roll`` by ``n//2`` along each axis."""
    shape = shape_of(x)
    axes = tuple(range(len(shape))) if axes is None else np.atleast_1d(axes).tolist()
    return roll(x, [shape[a] // 2 for a in axes], tuple(axes))


def ifftshift(x: Any, axes: int | Sequence[int] | None = None) -> Any:
    """The inverse of :func:`fftshift`: ``roll`` by ``−(n//2)``."""
    shape = shape_of(x)
    axes = tuple(range(len(shape))) if axes is None else np.atleast_1d(axes).tolist()
    return roll(x, [-(shape[a] // 2) for a in axes], tuple(axes))


def fftfreq(n: int, d: float = 1.0, dtype: Any = None) -> np.ndarray:
    """The bins' frequencies ``[0, 1, …, −1] / (d n)`` (constants)."""
    return np.fft.fftfreq(n, d).astype(dtype or np.float64)


def rfftfreq(n: int, d: float = 1.0, dtype: Any = None) -> np.ndarray:
    """The frequencies of :func:`rfft`'s bins ``[0, 1, …, n//2] / (d n)``."""
    return np.fft.rfftfreq(n, d).astype(dtype or np.float64)
