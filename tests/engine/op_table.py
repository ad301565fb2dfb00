"""A table of op specs: each differentiable function of ``reference_impl.numpy`` (and of ``nn``,
``scipy.special``) next to its JAX counterpart and a hypothesis strategy for its inputs.

A strategy draws a :class:`Case`: the differentiated arguments (float64 arrays) and the static
parameters (axis, index, subscripts…). Input domains keep every op away from its kinks, poles and
ties (abs and relu away from 0, max/min/maximum without ties, denominators away from 0, tan
inside (-1.2, 1.2)), so that finite differences are meaningful; the conventions *at* kinks and
ties are tested separately (tests/engine/test_primitives.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference_impl.numpy as rnp
from reference_impl import nn as rnn
from reference_impl.scipy import special as rspecial
from tests.engine.strategies import distinct_arrays

jax.config.update("jax_enable_x64", True)


class Case(NamedTuple):
    args: tuple[np.ndarray, ...]
    params: dict[str, Any]


@dataclass(frozen=True)
class OpSpec:
    name: str
    rfun: Callable[..., Any]  # on reference_impl: rfun(*args, **params)
    jfun: Callable[..., Any]  # on JAX: jfun(*args, **params)
    cases: st.SearchStrategy = field(repr=False)
    order2: bool = False  # also checked to second order (Hessian-vector products)


# --- value domains ---------------------------------------------------------------------------
def _floats(lo: float, hi: float) -> st.SearchStrategy:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)


REAL = _floats(-3.0, 3.0)
POS = _floats(0.2, 3.0)
AWAY0 = st.one_of(_floats(-3.0, -0.3), _floats(0.3, 3.0))  # away from the kink / pole at 0
GRID = st.integers(-6, 5).map(lambda i: 0.5 * i + 0.25)  # never equal to a multiple of 0.5
HALVES = st.integers(-6, 6).map(lambda i: 0.5 * i)
DOMAINS = {
    "real": REAL,
    "pos": POS,
    "away0": AWAY0,
    "tan": _floats(-1.2, 1.2),
    "log1p": _floats(-0.7, 3.0),
    "exp": _floats(-3.0, 2.0),
    "prod": st.one_of(_floats(-1.5, -0.6), _floats(0.6, 1.5)),
    "grid": GRID,
    "halves": HALVES,
    "unit": _floats(-0.9, 0.9),
    "gt1": _floats(1.1, 3.0),
    "unit01": _floats(0.05, 0.95),
}


def shapes(
    min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 3
) -> st.SearchStrategy:
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def arr(shape: tuple[int, ...], domain: str = "real") -> st.SearchStrategy:
    return hnp.arrays(np.float64, shape, elements=DOMAINS[domain])


@st.composite
def unary(draw: st.DrawFn, domain: str = "real", min_dims: int = 0) -> Case:
    return Case((draw(arr(draw(shapes(min_dims)), domain)),), {})


@st.composite
def binary(draw: st.DrawFn, dx: str = "real", dy: str = "real") -> Case:
    sx, sy = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)
    ).input_shapes
    return Case((draw(arr(sx, dx)), draw(arr(sy, dy))), {})


@st.composite
def where_case(draw: st.DrawFn) -> Case:
    sc, sx, sy = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3)
    ).input_shapes
    return Case((draw(arr(sx)), draw(arr(sy))), {"cond": draw(hnp.arrays(bool, sc))})


@st.composite
def clip_case(draw: st.DrawFn, traced_bounds: bool) -> Case:
    x = draw(arr(draw(shapes()), "grid"))
    if not traced_bounds:
        return Case((x,), {"lo": -1.0, "hi": 1.0})
    lo = draw(arr(np.shape(x), "halves").map(lambda a: np.minimum(a, 0.0) - 0.5))
    return Case((x, lo, lo + draw(arr(np.shape(x), "halves").map(np.abs)) + 1.0), {})


@st.composite
def remainder_case(draw: st.DrawFn) -> Case:
    """``x = y (k + f)`` with ``f`` in [0.1, 0.9]: ``x / y`` stays away from the integers, where
    ``remainder`` jumps."""
    sx, sy = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)
    ).input_shapes
    y = draw(arr(sy, "away0"))
    k = draw(hnp.arrays(np.float64, sx, elements=st.integers(-2, 2).map(float)))
    f = draw(hnp.arrays(np.float64, sx, elements=_floats(0.1, 0.9)))
    return Case((y * (k + f), y), {})


# --- reductions -----------------------------------------------------------------------------
@st.composite
def axis_for(draw: st.DrawFn, nd: int, allow_none: bool = True) -> Any:
    kinds = ["none", "int", "tuple"] if allow_none else ["int", "tuple"]
    kind = draw(st.sampled_from(kinds if nd else ["none", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-nd, nd - 1))
    if nd == 0:
        return ()
    return tuple(draw(st.lists(st.integers(0, nd - 1), unique=True, max_size=nd)))


@st.composite
def reduction(draw: st.DrawFn, domain: str = "real", distinct: bool = False) -> Case:
    shape = draw(shapes())
    x = draw(distinct_arrays(shape)) if distinct else draw(arr(shape, domain))
    return Case((x,), {"axis": draw(axis_for(len(shape))), "keepdims": draw(st.booleans())})


@st.composite
def lse_case(draw: st.DrawFn, weighted: bool) -> Case:
    shape = draw(shapes())
    args = (draw(arr(shape)),) + ((draw(arr(shape, "pos")),) if weighted else ())
    return Case(args, {"axis": draw(axis_for(len(shape))), "keepdims": draw(st.booleans())})


@st.composite
def softmax_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes(min_dims=1))
    return Case((draw(arr(shape)),), {"axis": draw(st.integers(-len(shape), len(shape) - 1))})


# --- contractions -----------------------------------------------------------------------------
@st.composite
def lettered(draw: st.DrawFn, templates: list[str], einsum: bool = False) -> Case:
    """Operands described by letters (``'mn,nk'``); equal letters get equal sizes, ``1`` is 1.
    For ``einsum`` the template is also the ``subscripts`` parameter."""
    spec = draw(st.sampled_from(templates))
    size = {c: draw(st.integers(1, 3)) for c in sorted(set(spec) - {",", ">", "-"})}
    size["1"] = 1
    ins = spec.split("->")[0].split(",")
    args = tuple(draw(arr(tuple(size[c] for c in s))) for s in ins)
    return Case(args, {"subscripts": spec} if einsum else {})


MATMUL = ["n,n", "mn,n", "n,nk", "mn,nk", "bmn,nk", "n,bnk", "bmn,n", "b1mn,cnk", "bmn,bnk"]
DOT = [",", "n,", ",mn", "n,n", "mn,n", "n,nk", "mn,nk", "amn,bnk", "mn,bnk", "amn,n"]
EINSUM = [
    "ij,jk->ik",
    "ij,ij->",
    "i,j->ij",
    "bij,bjk->bik",
    "ijk,ik->j",
    "ij,j->i",
    "i,i->",
    "ii,i->i",
    "ij,kj->",
    "ij->ji",
    "ii->",
    "ii->i",
    "ijk->ki",
    "ij,jk",
    "ij,ji",
]


# --- shape ops -----------------------------------------------------------------------------
@st.composite
def transpose_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes())
    return Case((draw(arr(shape)),), {"axes": tuple(draw(st.permutations(range(len(shape)))))})


@st.composite
def reshape_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes())
    n = int(np.prod(shape))
    new = draw(
        st.sampled_from(
            [(-1,), (1, -1), (n, 1), tuple(shape[::-1]), (-1, shape[-1]) if shape else ()]
        )
    )
    return Case((draw(arr(shape)),), {"shape": new})


@st.composite
def broadcast_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes(max_side=2).map(lambda s: tuple(1 if n == 2 else 2 for n in s)))
    lead = draw(shapes(max_dims=1))
    target = lead + tuple(draw(st.integers(1, 3)) if n == 1 else n for n in shape)
    return Case((draw(arr(shape)),), {"shape": target})


@st.composite
def expand_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes())
    return Case((draw(arr(shape)),), {"axis": draw(st.integers(-len(shape) - 1, len(shape)))})


@st.composite
def squeeze_case(draw: st.DrawFn) -> Case:
    shape = draw(st.lists(st.sampled_from([1, 1, 2, 3]), min_size=1, max_size=4).map(tuple))
    ones = [i for i, n in enumerate(shape) if n == 1]
    axis = draw(st.sampled_from([None, *ones])) if ones else None
    return Case((draw(arr(shape)),), {"axis": axis})


@st.composite
def join_case(draw: st.DrawFn, stack: bool) -> Case:
    shape = list(draw(shapes(min_dims=0 if stack else 1)))
    nd = len(shape) + 1 if stack else len(shape)
    axis = draw(st.integers(-nd, nd - 1))
    other = list(shape)
    if not stack:
        other[axis] = draw(st.integers(1, 3))
    return Case((draw(arr(tuple(shape))), draw(arr(tuple(other)))), {"axis": axis})


@st.composite
def index_case(draw: st.DrawFn) -> Case:
    """``x[i]``, ``x[-1]``, ``x[1:3]``, ``x[::-1]``, ``x[:, idx]`` with repeated integers,
    ``x[None]``, ``x[..., i]``, a boolean mask, ``x[idx, idx]``."""
    shape = draw(shapes(min_dims=2, min_side=2, max_side=4))
    n0, n1 = shape[0], shape[1]
    rep = np.array(draw(st.lists(st.integers(-n1, n1 - 1), min_size=1, max_size=5)))
    idx = draw(
        st.sampled_from(
            [
                draw(st.integers(-n0, n0 - 1)),
                slice(1, 3),
                slice(None, None, -1),
                (slice(None), rep),
                (None, 0),
                (Ellipsis, -1),
                np.array(draw(st.lists(st.booleans(), min_size=n0, max_size=n0))),
                (np.array([0, n0 - 1, 0]), np.array([1, 0, 1])),
                (0, slice(None), None),
            ]
        )
    )
    return Case((draw(arr(shape)),), {"idx": idx})


@st.composite
def diag_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes(min_dims=1, max_dims=2))
    return Case((draw(arr(shape)),), {"k": draw(st.integers(-2, 2))})


@st.composite
def trace_case(draw: st.DrawFn) -> Case:
    shape = draw(shapes(min_dims=2, max_dims=3))
    a1, a2 = draw(st.permutations(range(len(shape))))[:2]
    return Case((draw(arr(shape)),), {"offset": draw(st.integers(-1, 1)), "axis1": a1, "axis2": a2})


@st.composite
def norm_case(draw: st.DrawFn) -> Case:
    ord_ = draw(st.sampled_from([None, "fro", 2]))
    nd = {"fro": 2, 2: 1}.get(ord_, draw(st.integers(1, 3)))
    return Case((draw(arr(draw(shapes(nd, nd)), "away0")),), {"ord": ord_})


# --- the table --------------------------------------------------------------------------------
def _same(
    name: str, fn: Callable[..., Any], cases: st.SearchStrategy, order2: bool = False
) -> OpSpec:
    """An op written with operators or methods only: the same code runs on both libraries."""
    return OpSpec(name, fn, fn, cases, order2)


def _pair(
    name: str, cases: st.SearchStrategy, order2: bool = False, rmod: Any = rnp, jmod: Any = jnp
) -> OpSpec:
    """``rnp.name`` next to ``jnp.name`` (or attributes of other modules)."""
    return OpSpec(name, getattr(rmod, name), getattr(jmod, name), cases, order2)


UNARY = {
    "negative": "real",
    "exp": "exp",
    "log": "pos",
    "log1p": "log1p",
    "expm1": "exp",
    "sqrt": "pos",
    "sin": "real",
    "cos": "real",
    "tan": "tan",
    "tanh": "real",
    "sinh": "real",
    "cosh": "real",
    "arctan": "real",
    "abs": "away0",
    "sign": "away0",
    "square": "real",
    "reciprocal": "away0",
}
ORDER2 = {
    "exp",
    "log",
    "sqrt",
    "tan",
    "tanh",
    "abs",
    "reciprocal",
    "power",
    "divide",
    "maximum",
    "clip",
    "prod",
    "max",
    "logsumexp",
    "softmax",
    "log_softmax",
    "relu",
    "sigmoid",
    "matmul",
    "einsum",
    "getitem",
    "norm",
    "x ** y",
    "where",
    "mean",
    "dot",
}

# functions of reference_impl/numpy/elementwise_more.py (their domains avoid poles and jumps)
UNARY_MORE = {
    "arcsin": "unit",
    "arccos": "unit",
    "arcsinh": "real",
    "arccosh": "gt1",
    "arctanh": "unit",
    "log2": "pos",
    "log10": "pos",
    "exp2": "exp",
    "cbrt": "away0",
    "floor": "grid",
    "ceil": "grid",
    "trunc": "grid",
    "rint": "grid",
    "round": "grid",
    "deg2rad": "real",
    "rad2deg": "real",
    "radians": "real",
    "degrees": "real",
    "fabs": "away0",
    "sinc": "away0",
    "nan_to_num": "real",
    "real": "real",
    "conj": "real",
    "imag": "real",
    "angle": "away0",
    "positive": "real",
}
# hypot: |x| ≠ |y| (JAX's max/min split its second derivative at ties; ours is exact there)
BINARY_MORE = {
    "arctan2": ("away0", "away0"),
    "logaddexp": (),
    "logaddexp2": (),
    "hypot": ("halves", "grid"),
    "fmax": ("grid", "halves"),
    "fmin": ("grid", "halves"),
    "copysign": ("away0", "away0"),
    "heaviside": ("away0", "real"),
    "float_power": ("pos", "real"),
}
ORDER2_MORE = {
    "arcsin",
    "arccosh",
    "arctanh",
    "log2",
    "exp2",
    "cbrt",
    "arctan2",
    "logaddexp",
    "hypot",
    "remainder",
    "sinc",
}

OPS: list[OpSpec] = [
    *[_pair(n, unary(d), n in ORDER2) for n, d in UNARY.items()],
    _same("-x", lambda x: -x, unary()),
    *[
        _pair(n, binary(*d), n in ORDER2)
        for n, d in {
            "add": (),
            "subtract": (),
            "multiply": (),
            "divide": ("real", "away0"),
            "power": ("pos", "real"),
            "maximum": ("grid", "halves"),
            "minimum": ("grid", "halves"),
        }.items()
    ],
    _same("x + y", lambda x, y: x + y, binary()),
    _same("x - y", lambda x, y: x - y, binary()),
    _same("x * y", lambda x, y: x * y, binary()),
    _same("x / y", lambda x, y: x / y, binary("real", "away0")),
    _same("x ** y", lambda x, y: x**y, binary("pos", "real"), True),
    _same("x ** 3", lambda x: x**3, unary()),
    _same("x @ y", lambda x, y: x @ y, lettered(MATMUL)),
    OpSpec(
        "where",
        lambda x, y, cond: rnp.where(cond, x, y),
        lambda x, y, cond: jnp.where(cond, x, y),
        where_case(),
        True,
    ),
    OpSpec(
        "clip",
        lambda x, lo, hi: rnp.clip(x, lo, hi),
        lambda x, lo, hi: jnp.clip(x, lo, hi),
        clip_case(False),
        True,
    ),
    OpSpec("clip(x, lo, hi) traced bounds", rnp.clip, jnp.clip, clip_case(True)),
    *[_pair(n, reduction(), n in ORDER2) for n in ("sum", "mean")],
    *[_pair(n, reduction(distinct=True), n in ORDER2) for n in ("max", "min")],
    _pair("prod", reduction("prod"), True),
    _same(
        "x.sum(axis, keepdims)",
        lambda x, axis, keepdims: x.sum(axis=axis, keepdims=keepdims),
        reduction(),
    ),
    _pair("logsumexp", lse_case(False), True, rspecial, jax.scipy.special),
    OpSpec(
        "logsumexp(a, b=b)",
        lambda a, b, axis, keepdims: rspecial.logsumexp(a, axis, b, keepdims),
        lambda a, b, axis, keepdims: jax.scipy.special.logsumexp(a, axis, b, keepdims),
        lse_case(True),
    ),
    _pair("softmax", softmax_case(), True, rnn, jax.nn),
    _pair("log_softmax", softmax_case(), True, rnn, jax.nn),
    _pair("relu", unary("away0"), True, rnn, jax.nn),
    _pair("sigmoid", unary(), True, rnn, jax.nn),
    _pair("matmul", lettered(MATMUL), True),
    _pair("dot", lettered(DOT), True),
    _pair("vdot", lettered(["n,n", "mn,mn", "amn,amn"])),
    _pair("inner", lettered([",", "n,n", "mn,n", "mn,kn", "amn,n"])),
    _pair("outer", lettered(["m,n", "mk,n", ",n"])),
    OpSpec(
        "einsum",
        lambda *a, subscripts: rnp.einsum(subscripts, *a),
        lambda *a, subscripts: jnp.einsum(subscripts, *a),
        lettered(EINSUM, True),
        True,
    ),
    _pair("transpose", transpose_case()),
    _same("x.T", lambda x: x.T, unary()),
    _pair("reshape", reshape_case()),
    _pair("ravel", unary()),
    _pair("broadcast_to", broadcast_case()),
    _pair("expand_dims", expand_case()),
    _pair("squeeze", squeeze_case()),
    OpSpec(
        "concatenate",
        lambda x, y, axis: rnp.concatenate([x, y], axis),
        lambda x, y, axis: jnp.concatenate([x, y], axis),
        join_case(False),
    ),
    OpSpec(
        "stack",
        lambda x, y, axis: rnp.stack([x, y], axis),
        lambda x, y, axis: jnp.stack([x, y], axis),
        join_case(True),
    ),
    _same("getitem", lambda x, idx: x[idx], index_case(), True),
    _pair("diag", diag_case()),
    _pair("trace", trace_case()),
    _pair("diagonal", trace_case()),
    OpSpec("norm", rnp.linalg.norm, jnp.linalg.norm, norm_case(), True),
    *[_pair(n, unary(d), n in ORDER2_MORE) for n, d in UNARY_MORE.items()],
    *[_pair(n, binary(*d), n in ORDER2_MORE) for n, d in BINARY_MORE.items()],
    *[_pair(n, remainder_case(), n in ORDER2_MORE) for n in ("remainder", "mod", "fmod")],
    _same("x % y", lambda x, y: x % y, remainder_case()),
]

from tests.engine.op_table_breadth import BREADTH_OPS  # noqa: E402  (it uses the helpers above)

OPS += BREADTH_OPS
from tests.engine.op_table_fft import FFT_OPS  # noqa: E402

OPS += FFT_OPS
OPS_BY_NAME = {s.name: s for s in OPS}
assert len(OPS_BY_NAME) == len(OPS), "duplicate op names in the table"
ORDER2_OPS = [s for s in OPS if s.order2]
