"""The core: primitives, tracers and the two interpreters (forward and reverse mode).

A *primitive* is an operation whose derivative we know by hand (``sin``, ``matmul``, ``solve``).
Every differentiable function is a composition of primitives, and both modes of AD are
interpreters that run that composition while carrying extra information:

* forward mode (:class:`JVPTrace`) carries a tangent ``x_dot`` next to every value and applies each
  primitive's JVP rule, ``ans_dot = Σ_i ∂ans/∂x_i · x_dot_i``;
* reverse mode (:class:`VJPTrace`) records every primitive call on a *tape* and later walks the tape
  backwards, applying each VJP rule, ``x_bar_i += ct · ∂ans/∂x_i``.

Nesting (``grad(grad(f))``, ``jvp(grad(f))``) works because each transformation gets its own
*level*; a primitive called on tracers of several levels is handled by the highest one, which
unboxes its own tracers and calls the primitive again on what is inside (values that may still
be tracers of lower levels). Rules are written with this package's differentiable operations,
so a backward pass run under an outer transformation is itself differentiated.
This is the design of HIPS autograd and of JAX's autodidax, reduced to its essentials.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .array import STATE, freeze

__all__ = [
    "JVPTrace",
    "JVPTracer",
    "Primitive",
    "Tracer",
    "VJPTrace",
    "VJPTracer",
    "concrete",
    "defbatch",
    "defjvp",
    "defjvp_linear",
    "defresiduals",
    "defvjp",
    "primitive",
]


# ----------------------------------------------------------------------------------------------
# Primitives
# ----------------------------------------------------------------------------------------------
class Primitive:
    """A named operation with a NumPy implementation and (optionally) JVP and VJP rules.

    ``jvps[i](x_dot, ans, *args, **params)`` returns the contribution of argument ``i``'s
    tangent to the output tangent; ``vjps[i](ct, ans, *args, **params)`` returns the cotangent
    of argument ``i``. A primitive with ``multiple_results`` returns a tuple, and its rules take
    and return tuples of tangents / cotangents. ``jvp_full`` / ``vjp_full`` replace the
    per-argument rules when one function computes all of them more cheaply. ``residuals`` says
    which values the VJP rules read (see :func:`defresiduals`); ``None`` keeps them all.
    ``batch(vals, dims, **params) -> (ans, ans_dim)`` is the batching rule used by ``vmap``
    (:mod:`reference_impl.batching`): ``dims[i]`` is the mapped axis of ``vals[i]`` or ``None``.
    """

    __slots__ = (
        "batch",
        "impl",
        "jvp_full",
        "jvps",
        "multiple_results",
        "name",
        "residuals",
        "vjp_full",
        "vjps",
    )

    def __init__(self, name: str, impl: Callable[..., Any], multiple_results: bool = False):
        self.name = name
        self.impl = impl
        self.multiple_results = multiple_results
        self.jvps: dict[int, Callable[..., Any]] = {}
        self.vjps: dict[int, Callable[..., Any]] = {}
        self.jvp_full: Callable[..., Any] | None = None
        self.vjp_full: Callable[..., Any] | None = None
        self.residuals: tuple[bool, tuple[int, ...] | dict[int, tuple[int, ...]]] | None = None
        self.batch: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **params: Any) -> Any:
        top = None  # the innermost (highest-level) transformation among the arguments wins
        for a in args:
            if isinstance(a, Tracer) and (top is None or a._trace.level > top.level):
                top = a._trace
        if top is None:
            ans = self.impl(*args, **params)
            if STATE.depth:  # inside a transformation: values stay plain NumPy arrays
                return ans
            if self.multiple_results:
                return tuple(freeze(a, args) for a in ans)
            return freeze(ans, args)  # called by the user: an immutable result
        return top.process(self, args, params)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def primitive(name: str, impl: Callable[..., Any], multiple_results: bool = False) -> Primitive:
    """Create a primitive; call it like the function it implements."""
    return Primitive(name, impl, multiple_results)


def defjvp(prim: Primitive, *rules: Callable[..., Any] | None) -> None:
    """Register per-argument JVP rules ``rule(x_dot, ans, *args, **params)``; ``None`` = no rule."""
    for i, rule in enumerate(rules):
        if rule is not None:
            prim.jvps[i] = rule


def defvjp(prim: Primitive, *rules: Callable[..., Any] | None) -> None:
    """Register per-argument VJP rules ``rule(ct, ans, *args, **params)``; ``None`` = no rule."""
    for i, rule in enumerate(rules):
        if rule is not None:
            prim.vjps[i] = rule


def defresiduals(
    prim: Primitive, ans: bool, args: Sequence[int] | dict[int, Sequence[int]] = ()
) -> None:
    """Declare what the VJP rules of ``prim`` read: the output (``ans``) and the arguments at
    positions ``args``. The tape then keeps only these; of the others it keeps the shape and
    dtype (a :class:`ShapeDtype`). E.g. ``x + y`` needs nothing, ``tanh`` only its output,
    ``x @ y`` both inputs but not the output, as a hand-written backward pass would.

    ``args`` may also map each argument to what *its* rule reads, e.g. ``{0: (1,), 1: (0,)}``
    for ``x * y`` (the cotangent of ``x`` is ``ct * y``): then only the rules of the arguments
    being differentiated count, so in ``0.5 * x`` the tape keeps the constant 0.5, not ``x``.
    """
    if isinstance(args, dict):
        prim.residuals = (ans, {i: tuple(r) for i, r in args.items()})
    else:
        prim.residuals = (ans, tuple(args))


def defbatch(prim: Primitive, rule: Callable[..., Any]) -> None:
    """Register the batching rule ``rule(vals, dims, **params) -> (ans, ans_dim)`` of ``prim``
    (``vmap``): ``dims[i]`` is the batch axis of ``vals[i]``, ``None`` where it is not batched;
    for a primitive with ``multiple_results``, ``ans`` and ``ans_dim`` are tuples."""
    prim.batch = rule


def defjvp_linear(prim: Primitive, *argnums: int) -> None:
    """A primitive linear in argument ``i`` (others fixed) has JVP ``prim(..., x_dot, ...)``.

    Right for multilinear maps (``matmul``, ``einsum``, reshapes); wrong for affine ones such
    as ``x - y``, whose per-argument JVPs must be written out.
    """

    def make(i: int) -> Callable[..., Any]:
        def rule(x_dot: Any, ans: Any, *args: Any, **params: Any) -> Any:
            return prim(*args[:i], x_dot, *args[i + 1 :], **params)

        return rule

    for i in argnums:
        prim.jvps[i] = make(i)


def bind(prim: Primitive, args: Sequence[Any], params: dict[str, Any]) -> Any:
    """Apply ``prim``: the innermost (highest-level) transformation among the arguments wins
    (``prim(*args, **params)``; :meth:`Primitive.__call__` does the dispatch)."""
    return prim(*args, **params)


# ----------------------------------------------------------------------------------------------
# Tracers
# ----------------------------------------------------------------------------------------------
_levels = itertools.count(1)


class Trace:
    """One running transformation; ``level`` orders nested transformations (inner = higher)."""

    __slots__ = ("level",)

    def __init__(self) -> None:
        self.level = next(_levels)

    def process(self, prim: Primitive, args: Sequence[Any], params: dict[str, Any]) -> Any:
        raise NotImplementedError


class Tracer:
    """A value carried through a transformation. ``val`` is the value one level down.

    Operators and array attributes (``+``, ``@``, ``.T``, ``.shape``, indexing…) are attached in
    :mod:`reference_impl.numpy`. Python control flow works on the concrete value inside.
    """

    __slots__ = ("_trace", "val")
    __array_priority__ = 100
    _batched = False  # True for vmap's BatchTracer: its value is a whole batch

    @property
    def shape(self) -> tuple[int, ...]:
        return shape_of(concrete(self))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def dtype(self) -> np.dtype:
        v = concrete(self)
        return v.dtype if isinstance(v, (np.ndarray, np.generic, Tracer)) else np.result_type(v)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d traced array")
        return self.shape[0]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(concrete(self))

    def __float__(self) -> float:
        return float(concrete(self))

    def __int__(self) -> int:
        return int(concrete(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(level={self._trace.level}, {concrete(self)!r})"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(
            f"A plain NumPy function tried to convert a traced value ({describe(self)}) into a "
            "numpy.ndarray. Inside a function being differentiated use reference_impl.numpy "
            "(import reference_impl.numpy as rnp; rnp.sin(x)) instead of numpy. "
            "To read the value without its derivative, use reference_impl.concrete(x)."
        )

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        name = getattr(func, "__name__", str(func))
        if name in _METADATA_FUNCTIONS:  # shape queries do not need the derivative
            return func(*[concrete(a) for a in args], **kwargs)
        module = getattr(func, "__module__", "numpy") or "numpy"
        sub = ".".join(p for p in module.split(".")[1:] if not p.startswith("_"))
        from .api_util import plain_numpy_message

        raise TypeError(plain_numpy_message(f"{sub}.{name}" if sub else name, self))

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        # ``ndarray + tracer`` arrives here as ``np.add(ndarray, tracer)``: route the operators.
        from .numpy import _UFUNC_TO_PRIMITIVE

        fn = _UFUNC_TO_PRIMITIVE.get(ufunc.__name__)
        if method == "__call__" and fn is not None and not kwargs:
            return fn(*inputs)
        from .api_util import plain_numpy_message

        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        raise TypeError(plain_numpy_message(name, self))


_METADATA_FUNCTIONS = frozenset(
    {"shape", "ndim", "size", "result_type", "iscomplexobj", "isrealobj"}
)


def concrete(x: Any) -> Any:
    """The plain NumPy value inside any number of nested tracers.

    Under ``vmap`` a value is a whole batch: there ``concrete`` stops at the batch tracer and
    returns it without its derivatives (a batch tracer whose NumPy operations are batched, see
    :mod:`reference_impl.batching`), so comparisons and masks stay per example.
    """
    while isinstance(x, Tracer):
        if x._batched:
            return x.without_derivatives()
        x = x.val
    return x


def describe(x: Any) -> str:
    """``float64[3, 2]``: the dtype and shape of a (traced) value, for error messages."""
    v = concrete(x)
    if not isinstance(v, (np.ndarray, np.generic, Tracer)):
        v = np.asarray(v)
    return f"{v.dtype}{list(v.shape)}"


#: the dtypes NumPy gives Python scalars (``np.result_type(0.1)`` …), looked up, not computed
_PY_DTYPES: dict[type, np.dtype] = {t: np.result_type(t(0)) for t in (bool, int, float, complex)}


def shape_of(x: Any) -> tuple[int, ...]:
    """``np.shape(x)``, fast for arrays, NumPy scalars, tracers (which have ``.shape``) and
    Python scalars."""
    shape = getattr(x, "shape", None)
    if shape is not None:
        return shape
    return () if type(x) in _PY_DTYPES else np.shape(x)


def _fit_tangent(t: Any, shape: tuple[int, ...]) -> Any:
    """Broadcast a tangent contribution to the output's shape (e.g. ``x_dot`` of ``x + y``)."""
    if shape_of(t) == shape:
        return t
    from .numpy import broadcast_to

    return broadcast_to(t, shape)


def _fit_cotangent(g: Any, shape: tuple[int, ...], arg: Any = None) -> Any:
    """Sum a cotangent back to its argument's shape: the adjoint of broadcasting. A complex
    cotangent of a real argument keeps its real part: the transpose of the embedding R -> C,
    JAX's convention (``convert_element_type``'s transpose)."""
    if arg is not None and np.iscomplexobj(concrete(g)) and not np.iscomplexobj(concrete(arg)):
        from .numpy.elementwise_more import real

        g = real(g)
    if shape_of(g) == shape:
        return g
    from .numpy import sum_to_shape

    return sum_to_shape(g, shape)


# ----------------------------------------------------------------------------------------------
# Forward mode
# ----------------------------------------------------------------------------------------------
class JVPTracer(Tracer):
    """A value ``val`` with its tangent ``tangent`` (a directional derivative)."""

    __slots__ = ("tangent",)

    def __init__(self, trace: JVPTrace, val: Any, tangent: Any):
        self._trace = trace
        self.val = val
        self.tangent = tangent


# Primitives whose rules are right at complex values in JAX's convention (holomorphic maps and
# linear maps whose transposes do not conjugate; real/imag/conj/abs; the FFTs). Any other
# primitive meeting a complex value under differentiation raises rather than risk a silently
# wrong derivative (e.g. ``maximum``'s or ``eigh``'s rules assume real numbers).
COMPLEX_RULES = frozenset(
    {
        "abs",
        "add",
        "broadcast_to",
        "concatenate",
        "conj",
        "cos",
        "cosh",
        "divide",
        "einsum",
        "exp",
        "getitem",
        "imag",
        "log",
        "matmul",
        "multiply",
        "negative",
        "real",
        "reciprocal",
        "reshape",
        "sin",
        "sinh",
        "sqrt",
        "square",
        "stop_gradient",
        "subtract",
        "sum",
        "sum_to_shape",
        "take_along_axis",
        "tan",
        "tanh",
        "transpose",
        "where",
        "fftn",
        "ifftn",
        "rfftn",
        "irfftn",
        "scatter_add",
        "put_along_axis_add",
        "dynamic_slice",
        "dynamic_update_slice",
        "eig",
    }
)


def _check_complex(prim: Primitive, vals: Sequence[Any], ans: Any) -> None:
    if prim.name in COMPLEX_RULES:
        return
    outs = ans if prim.multiple_results else (ans,)
    if any(np.iscomplexobj(concrete(v)) for v in (*vals, *outs)):
        raise NotImplementedError(
            f"{prim.name}: differentiating through '{prim.name}' at a complex value is not "
            "supported (its rules are written for real numbers). Complex values are supported "
            f"under differentiation by: {', '.join(sorted(COMPLEX_RULES))}; e.g. take abs() or "
            "real() of the complex value before this operation"
        )


class JVPTrace(Trace):
    """Forward mode: evaluate each primitive and push tangents through its JVP rule."""

    __slots__ = ()

    def process(self, prim: Primitive, args: Sequence[Any], params: dict[str, Any]) -> Any:
        vals, dots = [], []
        inner = False  # a value of another transformation among the arguments (nesting)
        for a in args:
            if isinstance(a, Tracer):
                if a._trace is self:
                    v = a.val
                    inner = inner or isinstance(v, Tracer)
                    vals.append(v)
                    dots.append(a.tangent)
                    continue
                inner = True
            vals.append(a)
            dots.append(None)
        ans = bind(prim, vals, params) if inner else prim.impl(*vals, **params)
        _check_complex(prim, vals, ans)
        if prim.jvp_full is not None:
            ans_dot = prim.jvp_full(dots, ans, *vals, **params)
        else:
            ans_dot = None
            for i, x_dot in enumerate(dots):
                if x_dot is None:
                    continue
                rule = prim.jvps.get(i)
                if rule is None:
                    from .api_util import missing_rule

                    raise missing_rule("JVP", prim, i, vals)
                contrib = rule(x_dot, ans, *vals, **params)
                ans_dot = contrib if ans_dot is None else ans_dot + contrib
        if prim.multiple_results:
            return tuple(JVPTracer(self, a, d) for a, d in zip(ans, ans_dot, strict=True))
        shape = getattr(ans, "shape", None)
        if shape is None or getattr(ans_dot, "shape", None) != shape:
            ans_dot = _fit_tangent(ans_dot, shape_of(ans))
        return JVPTracer(self, ans, ans_dot)


# ----------------------------------------------------------------------------------------------
# Reverse mode
# ----------------------------------------------------------------------------------------------
class VJPTracer(Tracer):
    """A value ``val`` that knows its position ``node`` on the tape (``(node, k)`` for the k-th
    result of a primitive with multiple results)."""

    __slots__ = ("node",)

    def __init__(self, trace: VJPTrace, val: Any, node: Any):
        self._trace = trace
        self.val = val
        self.node = node


class ShapeDtype:
    """What the tape keeps of a value no VJP rule reads: its shape and dtype
    (like ``jax.ShapeDtypeStruct``). The value itself can be freed."""

    __slots__ = ("dtype", "shape")

    def __init__(self, x: Any):
        self.shape = shape_of(x)
        if isinstance(x, (np.ndarray, np.generic, Tracer)):
            self.dtype = x.dtype
        elif type(x) in _PY_DTYPES and not (type(x) is int and not -(2**63) <= x < 2**63):
            self.dtype = _PY_DTYPES[type(x)]
        else:
            self.dtype = np.result_type(x)

    def __repr__(self) -> str:
        return f"ShapeDtype({self.shape}, {self.dtype})"


class TapeEntry:
    """One recorded primitive call: everything its VJP rule needs (the *residuals*)."""

    __slots__ = ("ans", "args", "params", "parents", "prim")

    def __init__(
        self,
        prim: Primitive | None,
        args: list[Any],
        params: dict[str, Any],
        ans: Any,
        parents: list[tuple[int, Any]],
    ):
        self.prim = prim
        self.args = args
        self.params = params
        self.ans = ans
        self.parents = parents  # (argument position, parent node) pairs


class VJPTrace(Trace):
    """Reverse mode: run the function once, recording a tape; walk it backwards on demand.

    The tape is a list in execution order, which is already a topological order of the
    computational graph, so the backward pass is a single reversed loop.
    """

    __slots__ = ("tape",)

    def __init__(self) -> None:
        super().__init__()
        self.tape: list[TapeEntry] = []

    def new_input(self, val: Any) -> VJPTracer:
        self.tape.append(TapeEntry(None, [], {}, val, []))
        return VJPTracer(self, val, len(self.tape) - 1)

    def process(self, prim: Primitive, args: Sequence[Any], params: dict[str, Any]) -> Any:
        vals, parents = [], []
        inner = False  # a value of another transformation among the arguments (nesting)
        for i, a in enumerate(args):
            if isinstance(a, Tracer):
                if a._trace is self:
                    v = a.val
                    inner = inner or isinstance(v, Tracer)
                    vals.append(v)
                    parents.append((i, a.node))
                    continue
                inner = True
            vals.append(a)
        ans = bind(prim, vals, params) if inner else prim.impl(*vals, **params)
        _check_complex(prim, vals, ans)
        idx = len(self.tape)
        keep = prim.residuals
        if keep is None:
            self.tape.append(TapeEntry(prim, vals, params, ans, parents))
        else:  # keep only what the VJP rules read
            read = keep[1]
            if isinstance(read, dict):  # only the rules of the traced arguments will run
                read = {j for i, _ in parents for j in read.get(i, ())}
            saved = [v if i in read else ShapeDtype(v) for i, v in enumerate(vals)]
            self.tape.append(
                TapeEntry(prim, saved, params, ans if keep[0] else ShapeDtype(ans), parents)
            )
        if prim.multiple_results:
            return tuple(VJPTracer(self, a, (idx, k)) for k, a in enumerate(ans))
        return VJPTracer(self, ans, idx)

    def backward(
        self, outputs: Sequence[tuple[Any, Any]], inputs: Sequence[int], consume: bool = False
    ) -> list[Any]:
        """Given ``(node, ct)`` pairs for the outputs, return the cotangents of ``inputs``
        (``None`` where an input does not influence the outputs).

        With ``consume=True`` (used by ``grad``, which walks the tape once) each entry is dropped
        as soon as its rule has run, so the residuals it holds are freed while the backward pass
        allocates its cotangents: the peak memory is lower, and for large arrays that is also
        faster (fewer fresh pages). ``vjp`` keeps the tape, since ``vjp_fn`` may be called again.
        """
        tape = self.tape
        cts: dict[int, Any] = {}
        for node, ct in outputs:
            _accumulate(cts, tape, node, ct)
        wanted = set(inputs)
        result: dict[int, Any] = {}
        for idx in range(len(tape) - 1, -1, -1):
            ct = cts.pop(idx, None)
            if ct is None:
                continue
            entry = tape[idx]
            if consume:
                tape[idx] = None
            if entry.prim is None:  # an input of the traced function
                if idx in wanted:
                    result[idx] = ct
                continue
            prim = entry.prim
            if prim.multiple_results:
                ct = tuple(
                    _zeros_like(a) if c is None else c for c, a in zip(ct, entry.ans, strict=True)
                )
            if prim.vjp_full is not None:
                grads = prim.vjp_full(ct, entry.ans, *entry.args, **entry.params)
                for argpos, parent in entry.parents:
                    _accumulate(
                        cts,
                        tape,
                        parent,
                        _fit_cotangent(
                            grads[argpos], shape_of(entry.args[argpos]), entry.args[argpos]
                        ),
                    )
                continue
            for argpos, parent in entry.parents:
                rule = prim.vjps.get(argpos)
                if rule is None:
                    from .api_util import missing_rule

                    raise missing_rule("VJP", prim, argpos, entry.args)
                g = rule(ct, entry.ans, *entry.args, **entry.params)
                _accumulate(
                    cts,
                    tape,
                    parent,
                    _fit_cotangent(g, shape_of(entry.args[argpos]), entry.args[argpos]),
                )
        return [result.get(i) for i in inputs]


def _accumulate(cts: dict[int, Any], tape: list[TapeEntry], node: Any, ct: Any) -> None:
    """Fan-out: a value used several times receives the *sum* of its cotangents (``+=``)."""
    if isinstance(node, tuple):  # k-th result of a multiple-results primitive
        idx, k = node
        slot = cts.get(idx)
        if slot is None:
            slot = cts[idx] = [None] * len(tape[idx].ans)
        slot[k] = ct if slot[k] is None else slot[k] + ct
        return
    prev = cts.get(node)
    cts[node] = ct if prev is None else prev + ct


def _zeros_like(x: Any) -> np.ndarray:
    v = concrete(x)
    return np.zeros(np.shape(v), dtype=np.result_type(v))
