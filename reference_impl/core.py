"""The core: the two interpreters of automatic differentiation (forward and reverse mode).

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

Primitives and their registration are in :mod:`.primitives`, tracers in :mod:`.tracers`; both
are re-exported here (``reference_impl.core.primitive``, ``core.Tracer``…).
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Any

import numpy as np

from .numpy.elementwise import real
from .numpy.shape_ops import broadcast_to, sum_to_shape
from .primitives import (
    Primitive,
    RuleFamily,
    bind,
    defjvp,
    defjvp_full,
    defjvp_linear,
    defresiduals,
    defvjp,
    defvjp_full,
    primitive,
)
from .tracers import _PY_DTYPES, Trace, Tracer, concrete, describe, is_complex, shape_of

__all__ = [
    "JVPTrace",
    "JVPTracer",
    "Primitive",
    "RuleFamily",
    "ShapeDtype",
    "Trace",
    "Tracer",
    "VJPTrace",
    "VJPTracer",
    "bind",
    "concrete",
    "defjvp",
    "defjvp_full",
    "defjvp_linear",
    "defresiduals",
    "defvjp",
    "defvjp_full",
    "describe",
    "primitive",
    "shape_of",
]


def _fit_tangent(t: Any, shape: tuple[int, ...]) -> Any:
    """Broadcast a tangent contribution to the output's shape (e.g. ``x_dot`` of ``x + y``)."""
    if shape_of(t) == shape:
        return t
    return broadcast_to(t, shape)


def _fit_cotangent(g: Any, shape: tuple[int, ...], arg: Any = None) -> Any:
    """Sum a cotangent back to its argument's shape: the adjoint of broadcasting. A complex
    cotangent of a real argument keeps its real part: the transpose of the embedding R -> C,
    JAX's convention (``convert_element_type``'s transpose)."""
    if arg is not None and is_complex(concrete(g)) and not is_complex(concrete(arg)):
        g = real(g)
    if shape_of(g) == shape:
        return g
    return sum_to_shape(g, shape)


# ----------------------------------------------------------------------------------------------
# Forward mode
# ----------------------------------------------------------------------------------------------
class JVPTracer(Tracer):
    """A value ``val`` with its tangent ``tangent`` (a directional derivative)."""

    __slots__ = ("tangent",)
    _trace: JVPTrace

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
    """Refuse a complex value in a primitive outside ``COMPLEX_RULES`` (callers check that)."""
    outs = ans if prim.multiple_results else (ans,)
    if any(is_complex(concrete(v)) for v in (*vals, *outs)):
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
                    dots.append(a.tangent)  # type: ignore[attr-defined]  # a JVPTracer
                    continue
                inner = True
            vals.append(a)
            dots.append(None)
        ans = bind(prim, vals, params) if inner else prim.impl(*vals, **params)
        if prim.name not in COMPLEX_RULES:
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
    _trace: VJPTrace

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
                    parents.append((i, a.node))  # type: ignore[attr-defined]  # a VJPTracer
                    continue
                inner = True
            vals.append(a)
        ans = bind(prim, vals, params) if inner else prim.impl(*vals, **params)
        if prim.name not in COMPLEX_RULES:
            _check_complex(prim, vals, ans)
        idx = len(self.tape)
        keep = prim.residuals
        if keep is None:
            self.tape.append(TapeEntry(prim, vals, params, ans, parents))
        else:  # keep only what the VJP rules read
            spec = keep[1]  # a dict: only the rules of the traced arguments will run
            read: Container[int] = (
                {j for i, _ in parents for j in spec.get(i, ())} if isinstance(spec, dict) else spec
            )
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
                tape[idx] = None  # type: ignore[call-overload]  # freed: never read again
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


def missing_rule(kind: str, prim: Primitive, i: int, args: Sequence[Any]) -> NotImplementedError:
    """The error for a primitive differentiated with respect to an argument it has no rule for."""
    shapes = ", ".join(describe(a) for a in args)
    register = "defjvp" if kind == "JVP" else "defvjp"
    return NotImplementedError(
        f"{kind} of primitive '{prim.name}' with respect to argument {i} is not defined "
        f"(called on {prim.name}({shapes})). Register one with "
        f"reference_impl.core.{register}(<the primitive>, <rule for argument 0>, ...), or do "
        f"not differentiate with respect to argument {i}."
    )
