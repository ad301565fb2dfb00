"""Array manipulation: splitting, stacking, rolling, repeating, tiling, flipping, padding,
triangles and differences.

Everything here is a composition of the linear primitives of :mod:`.shape_ops` (``getitem``,
``concatenate``, ``reshape``, ``transpose``, ``broadcast_to``, ``scatter_add``) and ``where``,
so no new derivative rules are needed: each VJP is the adjoint that the primitives' rules
compose (``split`` ↔ concatenate, ``tile`` ↔ a sum over the copies, ``repeat`` ↔ a scatter-add
over repeated indices, ``pad`` ↔ slicing), and higher orders work.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..tracers import concrete, shape_of
from . import elementwise as E
from . import shape_ops as S
from .index_tricks import _axis, concatenate, take


def _slice_along(
    x: Any, axis: int, start: int | None, stop: int | None, step: int | None = None
) -> Any:
    return S.getitem(x, (slice(None),) * axis + (slice(start, stop, step),))


# --- splitting --------------------------------------------------------------------------------
def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Pieces of ``ary`` along ``axis``: ``N`` nearly equal sections (the first ``n % N`` one
    longer) or the pieces between the given indices."""
    ax = _axis(axis, len(shape_of(ary)), "array_split")
    n = shape_of(ary)[ax]
    bounds: np.ndarray | list[int]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"array_split: the number of sections must be positive, got {k}")
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
        bounds = np.cumsum([0, *sizes])
    else:
        bounds = [0, *[int(i) for i in indices_or_sections], n]
    return [_slice_along(ary, ax, int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """As :func:`array_split`, but ``N`` sections must divide the axis evenly."""
    if isinstance(indices_or_sections, (int, np.integer)):
        n = shape_of(ary)[_axis(axis, len(shape_of(ary)), "split")]
        if n % int(indices_or_sections):
            raise ValueError(
                f"split: an axis of length {n} does not split into "
                f"{indices_or_sections} equal sections (use array_split)"
            )
    return array_split(ary, indices_or_sections, axis)


def vsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    return split(ary, indices_or_sections, 0)


def hsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    return split(ary, indices_or_sections, 1 if len(shape_of(ary)) > 1 else 0)


def dsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    return split(ary, indices_or_sections, 2)


# --- at least n dimensions, stacking ----------------------------------------------------------
def _atleast(x: Any, nd: int) -> Any:
    x = S.asarray(x)
    shape = shape_of(x)
    if len(shape) >= nd:
        return x
    if nd == 3 and len(shape) == 2:
        return S.reshape(x, (*shape, 1))
    if nd == 3 and len(shape) == 1:
        return S.reshape(x, (1, *shape, 1))
    return S.reshape(x, (1,) * (nd - len(shape)) + shape)


def _atleast_nd(nd: int) -> Any:
    def atleast(*arys: Any) -> Any:
        out = [_atleast(a, nd) for a in arys]
        return out[0] if len(out) == 1 else out

    atleast.__name__ = f"atleast_{nd}d"
    atleast.__doc__ = f"Each input viewed with at least {nd} dimensions (as ``np.atleast_{nd}d``)."
    return atleast


atleast_1d, atleast_2d, atleast_3d = _atleast_nd(1), _atleast_nd(2), _atleast_nd(3)


def vstack(tup: Any) -> Any:
    return concatenate([_atleast(a, 2) for a in tup], 0)


def hstack(tup: Any) -> Any:
    arrs = [_atleast(a, 1) for a in tup]
    return concatenate(arrs, 0 if len(shape_of(arrs[0])) == 1 else 1)


def dstack(tup: Any) -> Any:
    return concatenate([_atleast(a, 3) for a in tup], 2)


def column_stack(tup: Any) -> Any:
    """1-D arrays become columns; 2-D arrays are joined along axis 1."""
    arrs = [S.asarray(a) for a in tup]
    return concatenate([S.reshape(a, (-1, 1)) if len(shape_of(a)) < 2 else a for a in arrs], 1)


def append(arr: Any, values: Any, axis: int | None = None) -> Any:
    return concatenate([arr, values], axis)


# --- rolling, repeating, tiling, flipping, rotating ---------------------------------------------
def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """Shift elements cyclically: ``out[(i + shift) % n] = a[i]`` along each ``axis``."""
    if axis is None:
        return S.reshape(roll(S.ravel(a), shift, 0), shape_of(a))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    shifts = (shift,) * len(axes) if isinstance(shift, (int, np.integer)) else tuple(shift)
    for ax, s in zip(axes, shifts, strict=True):
        ax = _axis(ax, len(shape_of(a)), "roll")
        n = shape_of(a)[ax]
        s = int(s) % n if n else 0
        if s:
            a = S.concatenate([_slice_along(a, ax, n - s, None), _slice_along(a, ax, 0, n - s)], ax)
    return a


def repeat(a: Any, repeats: Any, axis: int | None = None) -> Any:
    """Each element repeated ``repeats`` times along ``axis`` (the flattened array when None)."""
    if axis is None:
        a, axis = S.ravel(a), 0
    ax = _axis(axis, len(shape_of(a)), "repeat")
    idx = np.repeat(np.arange(shape_of(a)[ax]), np.asarray(concrete(repeats)))
    return take(a, idx, ax)


def tile(a: Any, reps: Any) -> Any:
    """``a`` repeated ``reps[i]`` times along axis i: one broadcast of the array interleaved with
    new axes, then a reshape (the VJP sums over the copies)."""
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    a = S.asarray(a)
    shape = shape_of(a)
    d = max(len(shape), len(reps))
    shape = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    x = S.reshape(a, tuple(itertools.chain.from_iterable((1, n) for n in shape)))
    x = S.broadcast_to(x, tuple(itertools.chain.from_iterable(zip(reps, shape, strict=True))))
    return S.reshape(x, tuple(r * n for r, n in zip(reps, shape, strict=True)))


def flip(m: Any, axis: Any = None) -> Any:
    nd = len(shape_of(m))
    wanted = (
        range(nd) if axis is None else ((axis,) if isinstance(axis, (int, np.integer)) else axis)
    )
    axes = {_axis(a, nd, "flip") for a in wanted}
    return S.getitem(
        m, tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(nd))
    )


def flipud(m: Any) -> Any:
    return flip(m, 0)


def fliplr(m: Any) -> Any:
    return flip(m, 1)


def rot90(m: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Any:
    """Rotate by 90° ``k`` times in the plane of ``axes`` (NumPy's flip/transpose recipe)."""
    nd = len(shape_of(m))
    a0, a1 = _axis(axes[0], nd, "rot90"), _axis(axes[1], nd, "rot90")
    if a0 == a1:
        raise ValueError("rot90: the two axes must differ")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    return S.transpose(flip(m, a1), perm) if k == 1 else flip(S.transpose(m, perm), a1)


def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    nd = len(shape_of(a))
    axis = _axis(axis, nd, "rollaxis")
    start = start + nd if start < 0 else start
    if not 0 <= start <= nd:
        raise ValueError(f"rollaxis: start {start} is out of range for {nd} dimensions")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    perm = [i for i in range(nd) if i != axis]
    perm.insert(start, axis)
    return S.transpose(a, perm)


# --- triangles, padding, selection --------------------------------------------------------------
def _triangle(m: Any, k: int, lower: bool) -> Any:
    shape = shape_of(m)
    if len(shape) < 2:
        raise ValueError(
            f"{'tril' if lower else 'triu'}: expected at least 2 dimensions, got shape {shape}"
        )
    keep = np.tri(shape[-2], shape[-1], k, dtype=bool)
    return E.where(keep if lower else ~np.tri(shape[-2], shape[-1], k - 1, dtype=bool), m, 0.0)


def tril(m: Any, k: int = 0) -> Any:
    """The lower triangle of the last two axes (below the k-th diagonal), zeros above."""
    return _triangle(m, k, True)


def triu(m: Any, k: int = 0) -> Any:
    """The upper triangle of the last two axes (above the k-th diagonal), zeros below."""
    return _triangle(m, k, False)


def pad(array: Any, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Any:
    """Pad each axis by ``pad_width`` (``(before, after)`` pairs, or broadcast from one pair or
    one int). ``'constant'`` places the array into a larger one (a scatter, whose adjoint is
    slicing); ``'edge'``, ``'reflect'``, ``'symmetric'``, ``'wrap'`` gather indices that NumPy
    pads for ``arange(n)``."""
    shape = shape_of(array)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (len(shape), 2))
    if mode == "constant":
        if np.ndim(constant_values) != 0:
            raise NotImplementedError("pad: constant_values must be a scalar here")
        new = tuple(int(b + n + a) for n, (b, a) in zip(shape, widths, strict=True))
        idx = tuple(slice(int(b), int(b + n)) for n, (b, _) in zip(shape, widths, strict=True))
        out = S.scatter_add_p(array, idx=idx, shape=new)
        if constant_values != 0:
            outside = np.full(new, float(constant_values))
            outside[idx] = 0.0
            out = out + outside
        return out
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise NotImplementedError(
            f"pad: mode={mode!r} is not supported (use 'constant', 'edge', "
            "'reflect', 'symmetric' or 'wrap')"
        )
    for ax, (b, a) in enumerate(widths):
        if b or a:
            # mode is one of NumPy's literal modes (checked above); mypy sees only a str
            pos = np.pad(np.arange(shape[ax]), (int(b), int(a)), mode=mode)  # type: ignore[call-overload]
            array = take(array, pos, ax)
    return array


def select(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    """The first choice whose condition holds, else ``default`` (nested ``where``)."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: {len(condlist)} conditions but {len(choicelist)} choices")
    out = default
    for cond, choice in reversed(list(zip(condlist, choicelist, strict=True))):
        out = E.where(cond, choice, out)
    return out


# --- differences ----------------------------------------------------------------------------------
def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """The ``n``-th forward difference ``a[i + 1] − a[i]`` along ``axis``."""
    ax = _axis(axis, len(shape_of(a)), "diff")

    def edge(v: Any) -> Any:  # a scalar is broadcast to one slice, as NumPy does
        shape = list(shape_of(a))
        shape[ax] = 1 if np.ndim(concrete(v)) == 0 else shape_of(v)[ax]
        return S.broadcast_to(v, tuple(shape))

    if prepend is not None or append is not None:
        parts = [] if prepend is None else [edge(prepend)]
        parts += [a] + ([] if append is None else [edge(append)])
        a = S.concatenate(parts, ax)
    for _ in range(n):
        a = _slice_along(a, ax, 1, None) - _slice_along(a, ax, None, -1)
    return a


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """Central differences ``(f[i+1] − f[i−1]) / 2h`` inside, one-sided ones at the two ends,
    along each axis (a list of arrays for several axes), as ``np.gradient``."""
    if edge_order != 1:
        raise NotImplementedError("gradient: only edge_order=1")
    nd = len(shape_of(f))
    wanted = (
        tuple(range(nd))
        if axis is None
        else ((axis,) if isinstance(axis, (int, np.integer)) else tuple(axis))
    )
    axes = tuple(_axis(a, nd, "gradient") for a in wanted)
    if len(varargs) not in (0, 1, len(axes)):
        raise ValueError(f"gradient: {len(varargs)} spacings for {len(axes)} axes")
    spacing = list(varargs) * (len(axes) if len(varargs) == 1 else 1) or [1.0] * len(axes)
    out = []
    for ax, h in zip(axes, spacing, strict=True):
        if np.ndim(h) != 0:
            raise NotImplementedError("gradient: only scalar spacings")
        if shape_of(f)[ax] < 2:
            raise ValueError(
                f"gradient: axis {ax} needs at least 2 points, got shape {shape_of(f)}"
            )
        first = _slice_along(f, ax, 1, 2) - _slice_along(f, ax, 0, 1)
        inner = (_slice_along(f, ax, 2, None) - _slice_along(f, ax, None, -2)) * 0.5
        last = _slice_along(f, ax, -1, None) - _slice_along(f, ax, -2, -1)
        out.append(S.concatenate([first, inner, last], ax) / h)
    return out[0] if len(out) == 1 else out
