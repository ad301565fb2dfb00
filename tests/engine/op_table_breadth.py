"""Op specs for the breadth of ``jax.numpy`` (issue 14): statistics, sorting, array
manipulation, contractions, and ``linalg``/``scipy.linalg`` additions. Imported by
tests/engine/op_table.py, which appends ``BREADTH_OPS`` to its table; the same tests run on them.

Functions returning several arrays of different shapes (``split``, ``lstsq``) are tested
through one array that depends on every piece differently (a weighted concatenation).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import jax.scipy.linalg as jsl
import jax.scipy.special as jsp
import numpy as np
from hypothesis import strategies as st

import reference_impl.numpy as rnp
import reference_impl.scipy.linalg as rsl
import reference_impl.scipy.special as rsp
from tests.engine.strategies import distinct_arrays, well_conditioned


def _op_table() -> Any:
    import tests.engine.op_table as t  # the shared Case/OpSpec/arr helpers (imported lazily: no cycle)

    return t


T = _op_table()
Case, OpSpec, arr, shapes, axis_for = T.Case, T.OpSpec, T.arr, T.shapes, T.axis_for


def _both(name: str, body: Any, cases: st.SearchStrategy, order2: bool = False) -> OpSpec:
    """``body(lib, *args, **params)`` run with ``lib = rnp`` and with ``lib = jnp``."""
    return OpSpec(
        name, lambda *a, **p: body(rnp, *a, **p), lambda *a, **p: body(jnp, *a, **p), cases, order2
    )


def _seeded(draw: st.DrawFn) -> np.random.Generator:
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


# --- strategies --------------------------------------------------------------------------------
@st.composite
def stat_case(draw: st.DrawFn) -> Case:
    """Distinct values (std is not differentiable where all are equal); at least two values per
    reduction, so that ddof=1 is defined."""
    shape = draw(shapes(min_dims=1, min_side=2))
    axis = draw(axis_for(len(shape)).filter(lambda a: a != ()))
    return Case(
        (draw(distinct_arrays(shape)),),
        {"axis": axis, "keepdims": draw(st.booleans()), "ddof": draw(st.integers(0, 1))},
    )


@st.composite
def along_axis(
    draw: st.DrawFn, distinct: bool = False, min_dims: int = 1, allow_none: bool = False
) -> Case:
    shape = draw(shapes(min_dims=min_dims, max_side=4))
    x = draw(distinct_arrays(shape)) if distinct else draw(arr(shape))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    if allow_none and draw(st.booleans()):
        axis = None
    return Case((x,), {"axis": axis})


@st.composite
def split_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes(min_dims=1, min_side=2, max_side=5))
    axis = draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    sections = draw(
        st.one_of(st.integers(1, n), st.lists(st.integers(0, n), max_size=3).map(sorted))
    )
    return Case((draw(arr(shape)),), {"sections": sections, "axis": axis})


def _weighted(lib: Any, pieces: list[Any]) -> Any:
    return lib.concatenate([lib.ravel(p) * (k + 1.0) for k, p in enumerate(pieces)])


@st.composite
def pair_same_rank(draw: st.DrawFn, min_dims: int = 0) -> Case:
    shape = draw(shapes(min_dims=min_dims))
    return Case((draw(arr(shape)), draw(arr(shape))), {})


@st.composite
def roll_case(draw: st.DrawFn) -> Case:
    c = draw(along_axis(allow_none=True))
    return Case(c.args, {**c.params, "shift": draw(st.integers(-5, 5))})


@st.composite
def repeat_case(draw: st.DrawFn) -> Case:
    c = draw(along_axis(allow_none=True))
    return Case(c.args, {**c.params, "repeats": draw(st.integers(0, 3))})


@st.composite
def tile_case(draw: st.DrawFn) -> Case:
    x = draw(arr(draw(shapes(max_dims=2))))
    return Case((x,), {"reps": tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))})


@st.composite
def tri_case(draw: st.DrawFn) -> Case:
    return Case((draw(arr(draw(shapes(min_dims=2)))),), {"k": draw(st.integers(-2, 2))})


@st.composite
def rot90_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes(min_dims=2))
    axes = tuple(draw(st.permutations(range(len(shape))))[:2])
    return Case((draw(arr(shape)),), {"k": draw(st.integers(-1, 4)), "axes": axes})


@st.composite
def rollaxis_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes(min_dims=1))
    nd = len(shape)
    return Case(
        (draw(arr(shape)),),
        {"axis": draw(st.integers(-nd, nd - 1)), "start": draw(st.integers(-nd, nd))},
    )


@st.composite
def pad_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes(min_dims=1, max_dims=2, min_side=2))
    widths = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in shape)
    mode = draw(st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]))
    if mode in ("reflect", "symmetric", "wrap"):
        widths = tuple(
            (min(b, n - 1), min(a, n - 1)) for (b, a), n in zip(widths, shape, strict=True)
        )
    return Case((draw(arr(shape)),), {"pad_width": widths, "mode": mode})


@st.composite
def diff_case(draw: st.DrawFn) -> Case:
    c = draw(along_axis())
    n = draw(st.integers(1, 2))
    return Case(c.args, {**c.params, "n": n})


@st.composite
def gradient_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes(min_dims=1, min_side=2, max_side=4))
    return Case((draw(arr(shape)),), {"axis": draw(st.integers(-len(shape), len(shape) - 1))})


@st.composite
def take_case(draw: st.DrawFn) -> Case:
    c = draw(along_axis(allow_none=True))
    n = c.args[0].size if c.params["axis"] is None else c.args[0].shape[c.params["axis"]]
    idx = np.array(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5)))
    return Case(c.args, {**c.params, "indices": idx})


@st.composite
def select_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes())
    conds = [draw(T.hnp.arrays(bool, shape)) for _ in range(2)]
    return Case((draw(arr(shape)), draw(arr(shape))), {"conds": conds})


@st.composite
def tensordot_case(draw: st.DrawFn) -> Case:
    """``axes`` as an int, as a pair of lists, or as a pair of ints (negative ones too)."""
    form = draw(st.sampled_from(["int", "lists", "ints"]))
    sx = tuple(draw(shapes(min_dims=1)))
    rest = tuple(draw(shapes(max_dims=2)))
    if form == "int":
        k = draw(st.integers(0, len(sx)))
        return Case((draw(arr(sx)), draw(arr(sx[len(sx) - k :] + rest))), {"axes": k})
    k = 1 if form == "ints" else draw(st.integers(1, len(sx)))
    ax = draw(st.permutations(range(len(sx))))[:k]
    ay = draw(st.permutations(range(k + len(rest))))[:k]
    free = iter(rest)
    sy = tuple(sx[ax[ay.index(j)]] if j in ay else next(free) for j in range(k + len(rest)))
    axes: Any = (ax, ay) if form == "lists" else (ax[0] - len(sx), ay[0])
    return Case((draw(arr(sx)), draw(arr(sy))), {"axes": axes})


@st.composite
def split_family_case(draw: st.DrawFn, name: str) -> Case:
    """``vsplit``/``hsplit``/``dsplit`` into 2 (an even length along their axis)."""
    nd = {"vsplit": 2, "hsplit": 1, "dsplit": 3}[name]
    shape = list(draw(shapes(min_dims=nd)))
    axis = {"vsplit": 0, "hsplit": 1 if len(shape) > 1 else 0, "dsplit": 2}[name]
    shape[axis] = 2 * draw(st.integers(1, 2))
    return Case((draw(arr(tuple(shape))),), {})


EINSUM_MORE = [
    "...ij,...jk->...ik",
    "ij...,jk...->ik...",
    "...,...->...",
    "i...,i...",
    "ij,jk,kl->il",
    "ijk,lji,lli->lki",
    "i,i,i->",
    "...i,...i->...",
]


@st.composite
def einsum_more_case(draw: st.DrawFn) -> Case:
    spec = draw(st.sampled_from(EINSUM_MORE))
    ell = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    size = {c: draw(st.integers(1, 3)) for c in set(spec) - set(",.->")}
    ins = spec.split("->")[0].split(",")
    args = []
    for sub in ins:
        named = sub.replace("...", "")
        if "..." in sub:  # a broadcast ellipsis: some of its dimensions may be 1
            mine = tuple(1 if draw(st.booleans()) else n for n in ell)
            pos = sub.index("...")
            shape = (
                tuple(size[c] for c in sub[:pos]) + mine + tuple(size[c] for c in sub[pos + 3 :])
            )
        else:
            shape = tuple(size[c] for c in named)
        args.append(draw(arr(shape)))
    return Case(tuple(args), {"subscripts": spec})


@st.composite
def kron_case(draw: st.DrawFn) -> Case:
    return Case((draw(arr(draw(shapes(max_dims=2)))), draw(arr(draw(shapes(max_dims=2))))), {})


@st.composite
def cross_case(draw: st.DrawFn) -> Case:
    batch = draw(shapes(max_dims=1))
    n = draw(st.sampled_from([2, 3]))
    pos = draw(st.integers(0, len(batch)))
    shape = (*batch[:pos], n, *batch[pos:])
    return Case((draw(arr(shape)), draw(arr(shape))), {"axis": pos})


@st.composite
def matrix_case(draw: st.DrawFn, kind: str) -> Case:
    rng = _seeded(draw)
    n = draw(st.integers(1, 4))
    batch = draw(shapes(max_dims=1, max_side=2))
    if kind == "tall":
        m = n + draw(st.integers(0, 2))
        return Case((rng.standard_normal((*batch, m, n)),), {})
    if kind == "rect":
        return Case((rng.standard_normal((*batch, n, draw(st.integers(1, 4)))),), {})
    if kind == "sym":
        return Case((rng.standard_normal((*batch, n, n)),), {})
    if kind == "small":
        return Case((0.5 * rng.standard_normal((*batch, n, n)),), {})
    return Case((well_conditioned(rng, n) / n,), {"n": draw(st.integers(-2, 3))})


@st.composite
def lstsq_case(draw: st.DrawFn) -> Case:
    rng = _seeded(draw)
    n = draw(st.integers(1, 3))
    m = n + draw(st.integers(1, 2))
    b_shape = (m,) if draw(st.booleans()) else (m, draw(st.integers(1, 2)))
    return Case((rng.standard_normal((m, n)), rng.standard_normal(b_shape)), {})


@st.composite
def linspace_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes(max_dims=1))
    return Case(
        (draw(arr(shape)), draw(arr(shape))),
        {"num": draw(st.integers(1, 5)), "endpoint": draw(st.booleans())},
    )


def _shuffle(shape: tuple[int, ...], axis: int) -> np.ndarray:
    """A fixed permutation along ``axis`` for every position (it depends on the shape only)."""
    return np.argsort(np.sin(np.arange(int(np.prod(shape)))).reshape(shape), axis=axis)


# --- the table --------------------------------------------------------------------------------
def _stat(name: str) -> OpSpec:
    return _both(
        name,
        lambda lib, x, axis, keepdims, ddof: getattr(lib, name)(
            x, axis=axis, keepdims=keepdims, ddof=ddof
        ),
        stat_case(),
        True,
    )


def _along(name: str, distinct: bool = False, **kw: Any) -> OpSpec:
    return _both(
        name, lambda lib, x, axis: getattr(lib, name)(x, axis=axis), along_axis(distinct, **kw)
    )


def _stacker(name: str) -> OpSpec:
    return _both(name, lambda lib, x, y: getattr(lib, name)([x, y]), pair_same_rank())


def _lstsq(lib: Any, a: Any, b: Any) -> Any:
    x, resid, _, s = lib.linalg.lstsq(a, b)
    return lib.concatenate([lib.ravel(x), lib.ravel(resid), s])


BREADTH_OPS: list[OpSpec] = [
    _stat("var"),
    _stat("std"),
    _along("cumsum", allow_none=True),
    _along("sort", True),
    _along("median", True),
    _both("ptp", lambda lib, x, axis: lib.ptp(x, axis=axis), along_axis(True)),
    _both(
        "partition",
        lambda lib, x, axis: lib.partition(x, 1, axis=axis),
        along_axis(True).filter(lambda c: c.args[0].shape[c.params["axis"]] > 1),
    ),
    _both(
        "average",
        lambda lib, x, w, axis: lib.average(x, axis, w),
        stat_case().map(
            lambda c: Case((c.args[0], np.abs(c.args[0]) + 0.5), {"axis": c.params["axis"]})
        ),
    ),
    _both(
        "split",
        lambda lib, x, sections, axis: _weighted(lib, lib.array_split(x, sections, axis)),
        split_case(),
    ),
    *[
        _both(n, lambda lib, x, n=n: _weighted(lib, getattr(lib, n)(x, 2)), split_family_case(n))
        for n in ("vsplit", "hsplit", "dsplit")
    ],
    *[_stacker(n) for n in ("vstack", "hstack", "dstack", "column_stack")],
    _both("append", lambda lib, x, y: lib.append(x, y), pair_same_rank()),
    *[
        _both(n, lambda lib, x, n=n: getattr(lib, n)(x), T.unary())
        for n in ("atleast_1d", "atleast_2d", "atleast_3d")
    ],
    _both("roll", lambda lib, x, shift, axis: lib.roll(x, shift, axis), roll_case()),
    _both("repeat", lambda lib, x, repeats, axis: lib.repeat(x, repeats, axis), repeat_case()),
    _both("tile", lambda lib, x, reps: lib.tile(x, reps), tile_case()),
    _along("flip", allow_none=True),
    _both("flipud", lambda lib, x: lib.flipud(x), T.unary(min_dims=1)),
    _both("fliplr", lambda lib, x: lib.fliplr(x), T.unary(min_dims=2)),
    _both("rot90", lambda lib, x, k, axes: lib.rot90(x, k, axes), rot90_case()),
    _both("rollaxis", lambda lib, x, axis, start: lib.rollaxis(x, axis, start), rollaxis_case()),
    _both("triu", lambda lib, x, k: lib.triu(x, k), tri_case()),
    _both("tril", lambda lib, x, k: lib.tril(x, k), tri_case(), True),
    _both("pad", lambda lib, x, pad_width, mode: lib.pad(x, pad_width, mode), pad_case()),
    _both("select", lambda lib, x, y, conds: lib.select(conds, [x, y], 0.5), select_case()),
    _both("diff", lambda lib, x, axis, n: lib.diff(x, n, axis), diff_case()),
    _both("gradient", lambda lib, x, axis: lib.gradient(x, axis=axis), gradient_case()),
    _both("take", lambda lib, x, indices, axis: lib.take(x, indices, axis), take_case()),
    _both(
        "take_along_axis",
        lambda lib, x, axis: lib.take_along_axis(x, _shuffle(np.shape(x), axis), axis),
        along_axis(),
    ),
    _both(
        "r_",
        lambda lib, x, y: lib.r_[x, y, 0.5],
        pair_same_rank(min_dims=1).filter(lambda c: c.args[0].ndim == 1),
    ),
    _both(
        "c_",
        lambda lib, x, y: lib.c_[x, y],
        pair_same_rank(min_dims=1).filter(lambda c: c.args[0].ndim <= 2),
    ),
    _both(
        "linspace",
        lambda lib, a, b, num, endpoint: lib.linspace(a, b, num, endpoint),
        linspace_case(),
    ),
    _both("tensordot", lambda lib, x, y, axes: lib.tensordot(x, y, axes), tensordot_case(), True),
    _both(
        "einsum (ellipsis, 3 operands)",
        lambda lib, *a, subscripts: lib.einsum(subscripts, *a),
        einsum_more_case(),
        True,
    ),
    _both(
        "einsum (sublists)",
        lambda lib, x, y: lib.einsum(x, [0, Ellipsis, 1], y, [1, 2], [Ellipsis, 0, 2]),
        T.lettered(["mbn,nk", "mn,nk"]),
    ),
    _both("kron", lambda lib, x, y: lib.kron(x, y), kron_case(), True),
    _both("cross", lambda lib, x, y, axis: lib.cross(x, y, axis=axis), cross_case(), True),
    _both(
        "qr",
        lambda lib, a: lib.concatenate([lib.ravel(m) for m in lib.linalg.qr(a)]),
        matrix_case("tall"),
        True,
    ),
    _both("pinv", lambda lib, a: lib.linalg.pinv(a), matrix_case("rect"), True),
    _both("eigvalsh", lambda lib, a: lib.linalg.eigvalsh(a), matrix_case("sym"), True),
    _both(
        "matrix_power", lambda lib, a, n: lib.linalg.matrix_power(a, n), matrix_case("power"), True
    ),
    _both("multi_dot", lambda lib, x, y: lib.linalg.multi_dot([x, y, x.T]), T.lettered(["mn,nn"])),
    _both("lstsq", _lstsq, lstsq_case()),
    OpSpec("expm", rsl.expm, jsl.expm, matrix_case("small"), True),
    *[
        OpSpec(n, getattr(rsp, n), getattr(jsp, n), T.unary(d), True)
        for n, d in {
            "erf": "real",
            "erfc": "real",
            "gammaln": "pos",
            "digamma": "pos",
            "logit": "unit01",
            "ndtr": "real",
        }.items()
    ],
    OpSpec(
        "polygamma",
        lambda x, n: rsp.polygamma(n, x),
        lambda x, n: jsp.polygamma(n, x),
        T.unary("pos").map(lambda c: Case(c.args, {"n": 1})),
        True,
    ),
    *[
        OpSpec(n, getattr(rsp, n), getattr(jsp, n), T.binary("real", "pos"), True)
        for n in ("xlogy", "xlog1py")
    ],
]
