"""``custom_jvp`` and ``custom_vjp``: user-defined derivative rules, as in JAX.

Both turn a Python function into a primitive on the fly, so the core treats it like ``sin``:

* ``custom_jvp``: the user's JVP is used in forward mode; reverse mode *transposes* it (the JVP is
  linear in the tangents, so its VJP is obtained by reverse-mode AD of ``t ↦ jvp(x, t)``).
* ``custom_vjp``: ``fwd`` runs in the forward pass and its residuals are kept on the tape;
  ``bwd(res, ct)`` gives the cotangents. Forward mode is not defined (as in JAX).

``nondiff_argnums`` marks arguments that are not differentiated (functions, flags, sizes): the
JVP rule then gets them first, ``f_jvp(*nondiff, primals, tangents)``, and ``bwd`` likewise,
``bwd(*nondiff, res, ct)``, returning cotangents of the other arguments only (JAX's
convention). ``custom_gradient`` and ``linear_transpose`` are built on these.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from . import numpy as rnp
from .batching import vmap
from .primitives import Primitive, defjvp_full, defvjp_full
from .reverse import _pullback, vjp
from .tracers import Tracer, concrete
from .tree_util import PyTreeDef, tree_flatten, tree_map, tree_unflatten

__all__ = ["custom_gradient", "custom_jvp", "custom_vjp", "linear_transpose"]


def _split_nondiff(
    args: tuple[Any, ...], nondiff: tuple[int, ...]
) -> tuple[list[Any], list[Any], Callable[[Any], list[Any]]]:
    """The non-differentiated arguments, the others, and how to merge the others back."""
    n = len(args)
    fixed = [args[i % n] for i in nondiff]
    positions = sorted(i % n for i in nondiff)
    rest = [a for i, a in enumerate(args) if i not in positions]

    def merge(diff: Any) -> list[Any]:
        it = iter(diff)
        return [args[i] if i in positions else next(it) for i in range(n)]

    return fixed, rest, merge


class custom_jvp:
    """``f = custom_jvp(f); @f.defjvp def f_jvp(primals, tangents): return out, out_dot``
    (with ``nondiff_argnums``: ``f_jvp(*nondiff_args, primals, tangents)``)."""

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: tuple[int, ...] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp: Callable[..., Any] | None = None
        self._out_tree: PyTreeDef | None = None
        self.prim = Primitive(
            f"custom_jvp[{getattr(fun, '__name__', 'f')}]",
            self._impl,
            multiple_results=True,
            batch=self._batch_rule,
        )
        defjvp_full(self.prim, self._jvp_rule)
        defvjp_full(self.prim, self._vjp_rule)

    def defjvp(self, jvp: Callable[..., Any]) -> Callable[..., Any]:
        """Set the rule ``jvp(primals, tangents) -> (out, out_dot)``; usable as a decorator."""
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps: Callable[..., Any] | None) -> None:
        """One rule per argument, ``jvp_i(t_i, ans, *primals)`` = argument i's share of the
        output tangent (``None``: the output does not depend on it); they are summed."""

        def jvp(primals: Any, tangents: Any) -> tuple[Any, Any]:
            ans = self.fun(*primals)
            parts = [
                rule(t, ans, *primals)
                for rule, t in zip(jvps, tangents, strict=True)
                if rule is not None
            ]
            out_dot = parts[0] if parts else tree_map(lambda a: a * 0.0, ans)
            for p in parts[1:]:
                out_dot = tree_map(lambda a, b: a + b, out_dot, p)
            return ans, out_dot

        self.defjvp(jvp)

    def __call__(self, *args: Any) -> Any:
        if self.jvp is None:
            raise AttributeError(
                f"No JVP defined for custom_jvp function {self.prim.name} using defjvp."
            )
        if self.nondiff_argnums:
            fixed, rest, merge = _split_nondiff(args, self.nondiff_argnums)
            inner = custom_jvp(lambda *d: self.fun(*merge(d)))
            inner.prim.name = self.prim.name
            jvp = self.jvp
            inner.defjvp(lambda p, t: jvp(*fixed, tuple(p), tuple(t)))
            return inner(*rest)
        leaves, in_tree = tree_flatten(args)
        outs = self.prim(*leaves, in_tree=in_tree)
        assert self._out_tree is not None, "running the primitive records its output tree"
        return tree_unflatten(self._out_tree, outs)

    def _impl(self, *leaves: Any, in_tree: PyTreeDef) -> tuple[Any, ...]:
        out_leaves, self._out_tree = tree_flatten(self.fun(*tree_unflatten(in_tree, leaves)))
        return tuple(out_leaves)

    def _user_jvp(self, leaves: Any, dots: Any, in_tree: PyTreeDef) -> list[Any]:
        assert self.jvp is not None, "__call__ checks that a rule is set"
        dots = [
            np.zeros(np.shape(concrete(x))) if d is None else d
            for d, x in zip(dots, leaves, strict=True)
        ]
        _, out_dot = self.jvp(tree_unflatten(in_tree, leaves), tree_unflatten(in_tree, dots))
        return tree_flatten(out_dot)[0]

    def _jvp_rule(self, dots: list[Any], ans: Any, *leaves: Any, in_tree: PyTreeDef) -> list[Any]:
        return self._user_jvp(leaves, dots, in_tree)

    def _vjp_rule(self, cts: Any, ans: Any, *leaves: Any, in_tree: PyTreeDef) -> list[Any]:
        # the JVP is linear in the tangents: its transpose is its VJP at any tangent point
        zeros = [np.zeros(np.shape(concrete(x))) for x in leaves]
        return _pullback(lambda *t: self._user_jvp(leaves, list(t), in_tree), zeros, list(cts))

    def _batch_rule(
        self, vals: list[Any], dims: list[Any], in_tree: PyTreeDef
    ) -> tuple[tuple[Any, ...], tuple[int, ...]]:
        # vmap: a custom_jvp of the batched function whose rule is the batched rule, so that
        # outer derivatives still use the user's JVP (as JAX batches custom_jvp)
        axes = tuple(dims)

        def flat_fun(*leaves: Any) -> tuple[Any, ...]:
            out_leaves, self._out_tree = tree_flatten(self.fun(*tree_unflatten(in_tree, leaves)))
            return tuple(out_leaves)

        def flat_jvp(primals: Any, tangents: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
            assert self.jvp is not None, "__call__ checks that a rule is set"
            out, out_dot = self.jvp(
                tree_unflatten(in_tree, list(primals)), tree_unflatten(in_tree, list(tangents))
            )
            return tuple(tree_flatten(out)[0]), tuple(tree_flatten(out_dot)[0])

        batched = custom_jvp(vmap(flat_fun, in_axes=axes))
        batched.defjvp(lambda p, t: vmap(flat_jvp, in_axes=(axes, axes))(tuple(p), tuple(t)))
        outs = batched(*vals)
        return tuple(outs), (0,) * len(outs)


class custom_vjp:
    """``f = custom_vjp(f); f.defvjp(fwd, bwd)`` with ``fwd(*args) -> (out, residuals)`` and
    ``bwd(residuals, ct) -> tuple of cotangents, one per argument`` (with
    ``nondiff_argnums``: ``bwd(*nondiff_args, residuals, ct)``, one per other argument)."""

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: tuple[int, ...] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None
        self._trees: tuple[PyTreeDef, PyTreeDef] | None = None
        self._in_fwd = False
        name = getattr(fun, "__name__", "f")
        self.prim = Primitive(
            f"custom_vjp[{name}]", self._impl, multiple_results=True, batch=self._batch_rule
        )
        defvjp_full(self.prim, self._vjp_rule)

        def no_jvp(*_: Any, **__: Any) -> Any:
            raise TypeError(
                f"can't apply forward-mode autodiff (jvp) to a custom_vjp function "
                f"({name}); define it with custom_jvp instead"
            )

        defjvp_full(self.prim, no_jvp)

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        """Set ``fwd(*args) -> (out, residuals)`` and ``bwd(residuals, ct) -> cotangents``."""
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        if self.fwd is None:
            raise AttributeError(
                f"No VJP defined for custom_vjp function {self.prim.name} using defvjp."
            )
        if self._in_fwd:  # ``fwd`` may call the function itself, as in JAX's docs
            return self.fun(*args)
        if self.nondiff_argnums:
            fixed, rest, merge = _split_nondiff(args, self.nondiff_argnums)
            fwd, bwd = self.fwd, self.bwd
            assert bwd is not None, "defvjp sets fwd and bwd together"
            inner = custom_vjp(lambda *d: self.fun(*merge(d)))
            inner.prim.name = self.prim.name
            inner.defvjp(lambda *d: fwd(*merge(d)), lambda res, ct: bwd(*fixed, res, ct))
            return inner(*rest)
        leaves, in_tree = tree_flatten(args)
        outs = self.prim(*leaves, in_tree=in_tree)
        assert self._trees is not None, "running the primitive records its trees"
        out_tree, _ = self._trees
        return tree_unflatten(out_tree, outs[: out_tree.num_leaves])

    def _impl(self, *leaves: Any, in_tree: PyTreeDef) -> tuple[Any, ...]:
        # the outputs and the residuals: residuals ride along as extra (unused) outputs
        assert self.fwd is not None, "__call__ checks that the rules are set"
        self._in_fwd = True
        try:
            out, res = self.fwd(*tree_unflatten(in_tree, leaves))
        finally:
            self._in_fwd = False
        out_leaves, out_tree = tree_flatten(out)
        res_leaves, res_tree = tree_flatten(res)
        self._trees = (out_tree, res_tree)
        return (*out_leaves, *res_leaves)

    def _vjp_rule(self, cts: Any, ans: Any, *leaves: Any, in_tree: PyTreeDef) -> list[Any]:
        assert self._trees is not None, "the forward pass (_impl) records the trees"
        assert self.bwd is not None, "defvjp sets fwd and bwd together"
        out_tree, res_tree = self._trees
        n = out_tree.num_leaves
        res = tree_unflatten(res_tree, ans[n:])
        arg_cts = self.bwd(res, tree_unflatten(out_tree, list(cts[:n])))
        n_args = len(in_tree.children)
        if not isinstance(arg_cts, (tuple, list)) or len(arg_cts) != n_args:
            got = (
                f"a {type(arg_cts).__name__} of length {len(arg_cts)}"
                if isinstance(arg_cts, (tuple, list))
                else type(arg_cts).__name__
            )
            raise TypeError(
                f"{self.prim.name}: bwd must return a tuple with one cotangent per "
                f"argument ({n_args}), got {got}"
            )
        flat: list[Any] = []
        for i, (ct, arg_tree) in enumerate(zip(arg_cts, in_tree.children, strict=True)):
            arg_leaves = leaves[len(flat) : len(flat) + arg_tree.num_leaves]
            if ct is None:  # None means a zero cotangent, as in JAX
                flat += [np.zeros(np.shape(concrete(x))) for x in arg_leaves]
                continue
            ct_leaves, ct_tree = tree_flatten(ct)
            if ct_tree != arg_tree:
                raise ValueError(
                    f"{self.prim.name}: bwd returned a cotangent of structure "
                    f"{ct_tree} for argument {i}, whose structure is {arg_tree}"
                )
            flat += ct_leaves
        return self._add_residual_cotangents(flat, cts[n:], leaves, in_tree)

    def _batch_rule(
        self, vals: list[Any], dims: list[Any], in_tree: PyTreeDef
    ) -> tuple[tuple[Any, ...], tuple[int, ...]]:
        # vmap: a custom_vjp whose fwd and bwd are the user's, batched; the cotangent of an
        # argument that is the same for all examples is summed over the batch
        axes = tuple(dims)

        def flat_fun(*leaves: Any) -> tuple[Any, ...]:
            return tuple(tree_flatten(self.fun(*tree_unflatten(in_tree, leaves)))[0])

        out_trees: list[PyTreeDef] = []

        def flat_fwd(*leaves: Any) -> tuple[tuple[Any, ...], Any]:
            assert self.fwd is not None, "__call__ checks that the rules are set"
            self._in_fwd = True  # fwd may call the function itself
            try:
                out, res = self.fwd(*tree_unflatten(in_tree, leaves))
            finally:
                self._in_fwd = False
            out_leaves, out_tree = tree_flatten(out)
            out_trees.append(out_tree)
            self._trees = (out_tree, tree_flatten(res)[1])  # read by __call__
            return tuple(out_leaves), res

        def flat_bwd(res: Any, cts: Any) -> tuple[Any, ...]:
            assert self.bwd is not None, "defvjp sets fwd and bwd together"
            arg_cts = self.bwd(res, tree_unflatten(out_trees[-1], list(cts)))
            flat: list[Any] = []
            for ct, arg_tree in zip(arg_cts, in_tree.children, strict=True):
                flat += [None] * arg_tree.num_leaves if ct is None else tree_flatten(ct)[0]
            return tuple(flat)

        batched = custom_vjp(vmap(flat_fun, in_axes=axes))

        def bwd(res: Any, cts: Any) -> tuple[Any, ...]:
            grads = vmap(flat_bwd)(res, cts)
            return tuple(
                g if d is not None or g is None else rnp.sum(g, axis=0)
                for g, d in zip(grads, axes, strict=True)
            )

        batched.defvjp(vmap(flat_fwd, in_axes=axes), bwd)
        # the outputs and the residuals (the tape entry of this primitive keeps both)
        outs = batched.prim(*vals, in_tree=tree_flatten(tuple(vals))[1])
        return tuple(outs), (0,) * len(outs)

    def _add_residual_cotangents(
        self, flat: list[Any], res_cts: Any, leaves: Any, in_tree: PyTreeDef
    ) -> list[Any]:
        """Higher order: the residuals are outputs of ``fwd`` as well, and when an outer
        derivative flows through ``bwd`` they receive cotangents. Those go back through ``fwd``
        itself, by ordinary reverse mode of ``x ↦ residuals(x)``. Zero in first-order use."""
        live = [k for k, c in enumerate(res_cts) if isinstance(c, Tracer) or np.any(c)]
        diff = [
            i
            for i, x in enumerate(leaves)
            if np.issubdtype(np.result_type(concrete(x)), np.inexact)
        ]
        if not live or not diff:
            return flat

        def residuals(*xs: Any) -> list[Any]:
            args = list(leaves)
            for i, x in zip(diff, xs, strict=True):
                args[i] = x
            outs = self._impl(*args, in_tree=in_tree)
            assert self._trees is not None, "_impl records the trees"
            res = outs[self._trees[0].num_leaves :]
            return [res[k] for k in live]

        extra = _pullback(residuals, [leaves[i] for i in diff], [res_cts[k] for k in live])
        for i, g in zip(diff, extra, strict=True):
            flat[i] = flat[i] + g
        return flat


def custom_gradient(fun: Callable[..., tuple[Any, Callable[[Any], Any]]]) -> Callable[..., Any]:
    """``fun(*args) -> (value, vjp_fn)``, where ``vjp_fn(ct)`` returns the cotangents of the
    arguments (a tuple, or one value for one argument), as a function with that reverse rule.

    Each call makes its own ``custom_vjp``: the residuals are the arguments, and ``bwd`` uses
    the ``vjp_fn`` of the forward pass when it receives those very arguments, else (under
    ``vmap``, where they are batched) it calls ``fun`` again for a ``vjp_fn`` of its own."""
    name = getattr(fun, "__name__", "f")

    @functools.wraps(fun)
    def wrapped(*args: Any) -> Any:
        seen: list[tuple[tuple[Any, ...], Callable[[Any], Any]]] = []

        def fwd(*a: Any) -> tuple[Any, Any]:
            ans, rule = fun(*a)
            seen.append((a, rule))
            return ans, a

        def bwd(res: Any, ct: Any) -> tuple[Any, ...]:
            rule = next(
                (
                    r
                    for a, r in seen
                    if len(a) == len(res) and all(x is y for x, y in zip(a, res, strict=True))
                ),
                None,
            )
            if rule is None:
                rule = fun(*res)[1]
            cts = rule(ct)
            return (cts,) if len(args) == 1 and not isinstance(cts, tuple) else tuple(cts)

        f = custom_vjp(lambda *a: fun(*a)[0])
        f.prim.name = f"custom_gradient[{name}]"
        f.defvjp(fwd, bwd)
        return f(*args)

    return wrapped


def linear_transpose(
    fun: Callable[..., Any], *primals: Any, reduce_axes: Any = ()
) -> Callable[[Any], tuple[Any, ...]]:
    """The transpose of a linear ``fun``: ``ct ↦ (Aᵀct, …)``, one cotangent per argument
    (``primals`` give only shapes and dtypes). For a linear map the transpose is the VJP at any
    point; evaluated at zero, a function with ``fun(0) ≠ 0`` (not linear) is refused."""
    zeros = tree_map(lambda x: np.zeros(np.shape(x), np.result_type(x)), primals)
    out, vjp_fn = vjp(fun, *zeros)
    name = getattr(fun, "__name__", "f")
    if any(np.any(np.asarray(concrete(o)) != 0) for o in tree_flatten(out)[0]):
        raise TypeError(f"linear_transpose: {name} is not linear ({name}(0) != 0)")

    def transposed(ct: Any) -> tuple[Any, ...]:
        return vjp_fn(ct)

    return transposed
