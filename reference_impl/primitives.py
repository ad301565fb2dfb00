"""Primitives: named operations with a NumPy implementation and their rules.

A *primitive* is an operation whose derivative we know by hand (``sin``, ``matmul``, ``solve``).
It is made once, with its batching rule, and its other rules are registered on the lines right
after it, in the module that makes it (autodidax's style)::

    sin = primitive("sin", np.sin, batch=ELEMENTWISE)
    defjvp(sin, lambda x_dot, ans, x: x_dot * cos(x))
    defvjp(sin, lambda ct, ans, x: ct * cos(x))

Calling a primitive evaluates it, or, when an argument is a tracer, hands it to the innermost
transformation among the arguments (:meth:`Primitive.__call__`), which unboxes its own tracers
and calls the primitive again on what is inside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .array import STATE, freeze
from .tracers import Tracer

__all__ = [
    "Primitive",
    "RuleFamily",
    "bind",
    "defjvp",
    "defjvp_full",
    "defjvp_linear",
    "defresiduals",
    "defvjp",
    "defvjp_full",
    "primitive",
]


class RuleFamily:
    """A batching rule shared by a family of primitives (elementwise, reductions, stacks of
    matrices): ``make(prim)`` builds the rule of one primitive. Pass it as ``batch=``."""

    __slots__ = ("make", "name")

    def __init__(self, make: Callable[[Primitive], Callable[..., Any]], name: str = ""):
        self.make = make
        self.name = name or make.__name__

    def __repr__(self) -> str:
        return f"<batching rule family {self.name}>"


class Primitive:
    """A named operation with a NumPy implementation and (optionally) JVP and VJP rules.

    ``jvps[i](x_dot, ans, *args, **params)`` returns the contribution of argument ``i``'s
    tangent to the output tangent; ``vjps[i](ct, ans, *args, **params)`` returns the cotangent
    of argument ``i``. A primitive with ``multiple_results`` returns a tuple, and its rules take
    and return tuples of tangents / cotangents. ``jvp_full`` / ``vjp_full`` replace the
    per-argument rules when one function computes all of them more cheaply. ``residuals`` says
    which values the VJP rules read (see :func:`defresiduals`); ``None`` keeps them all.
    ``batch(vals, dims, **params) -> (ans, ans_dim)`` is the batching rule used by ``vmap``
    (:mod:`reference_impl.batching`), given when the primitive is made (:func:`primitive`).
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

    def __init__(
        self,
        name: str,
        impl: Callable[..., Any],
        multiple_results: bool = False,
        batch: Callable[..., Any] | RuleFamily | None = None,
    ):
        self.name = name
        self.impl = impl
        self.multiple_results = multiple_results
        self.jvps: dict[int, Callable[..., Any]] = {}
        self.vjps: dict[int, Callable[..., Any]] = {}
        self.jvp_full: Callable[..., Any] | None = None
        self.vjp_full: Callable[..., Any] | None = None
        self.residuals: tuple[bool, tuple[int, ...] | dict[int, tuple[int, ...]]] | None = None
        self.batch: Callable[..., Any] | None = (
            batch.make(self) if isinstance(batch, RuleFamily) else batch
        )

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


def primitive(
    name: str,
    impl: Callable[..., Any],
    multiple_results: bool = False,
    *,
    batch: Callable[..., Any] | RuleFamily | None = None,
) -> Primitive:
    """Create a primitive; call it like the function it implements.

    ``batch`` is its batching rule ``rule(vals, dims, **params) -> (ans, ans_dim)`` (``vmap``:
    ``dims[i]`` is the batch axis of ``vals[i]``, ``None`` where it is not batched; for a
    primitive with ``multiple_results``, ``ans`` and ``ans_dim`` are tuples), or the
    :class:`RuleFamily` it shares with similar primitives (:mod:`reference_impl.numpy.batching_rules`).
    The JVP, VJP and residual rules follow on the next lines (:func:`defjvp`, :func:`defvjp`,
    :func:`defresiduals`): everything about a primitive is in the module that creates it.
    """
    return Primitive(name, impl, multiple_results, batch)


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


def defjvp_full(prim: Primitive, rule: Callable[..., Any]) -> None:
    """Register one JVP rule for all arguments, ``rule(dots, ans, *args, **params)``
    (``dots[i]`` is ``None`` for an argument without a tangent), for a primitive whose tangent
    is cheaper computed in one go (``solve``, ``svd``)."""
    prim.jvp_full = rule


def defvjp_full(prim: Primitive, rule: Callable[..., Any]) -> None:
    """Register one VJP rule for all arguments, ``rule(ct, ans, *args, **params)``, returning
    one cotangent per argument (entries of arguments not differentiated are ignored)."""
    prim.vjp_full = rule


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
