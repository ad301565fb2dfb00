"""``custom_jvp`` and ``custom_vjp``: user-defined derivative rules, as in JAX.

Both turn a Python function into a primitive on the fly, so the core treats it like ``sin``:

* ``custom_jvp``: the user's JVP is used in forward mode; reverse mode *transposes* it (the JVP is
  linear in the tangents, so its VJP is obtained by reverse-mode AD of ``t ↦ jvp(x, t)``).
* ``custom_vjp``: ``fwd`` runs in the forward pass and its residuals are kept on the tape;
  ``bwd(res, ct)`` gives the cotangents. Forward mode is not defined (as in JAX).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .core import Primitive, Tracer, concrete
from .tree_util import PyTreeDef, tree_flatten, tree_unflatten

__all__ = ["custom_jvp", "custom_vjp"]


class custom_jvp:
    """``f = custom_jvp(f); @f.defjvp def f_jvp(primals, tangents): return out, out_dot``."""

    def __init__(self, fun: Callable[..., Any]):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.jvp: Callable[..., Any] | None = None
        self._out_tree: PyTreeDef | None = None
        self.prim = Primitive(f"custom_jvp[{getattr(fun, '__name__', 'f')}]", self._impl,
                              multiple_results=True)
        self.prim.jvp_full = self._jvp_rule
        self.prim.vjp_full = self._vjp_rule
        self.prim.batch = self._batch_rule

    def defjvp(self, jvp: Callable[..., Any]) -> Callable[..., Any]:
        self.jvp = jvp
        return jvp

    def __call__(self, *args: Any) -> Any:
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {self.prim.name} "
                                 "using defjvp.")
        leaves, in_tree = tree_flatten(args)
        outs = self.prim(*leaves, in_tree=in_tree)
        return tree_unflatten(self._out_tree, outs)

    def _impl(self, *leaves: Any, in_tree: PyTreeDef) -> tuple[Any, ...]:
        out_leaves, self._out_tree = tree_flatten(self.fun(*tree_unflatten(in_tree, leaves)))
        return tuple(out_leaves)

    def _user_jvp(self, leaves: Any, dots: Any, in_tree: PyTreeDef) -> list[Any]:
        dots = [np.zeros(np.shape(concrete(x))) if d is None else d
                for d, x in zip(dots, leaves, strict=True)]
        _, out_dot = self.jvp(tree_unflatten(in_tree, leaves), tree_unflatten(in_tree, dots))
        return tree_flatten(out_dot)[0]

    def _jvp_rule(self, dots: list[Any], ans: Any, *leaves: Any, in_tree: PyTreeDef) -> list[Any]:
        return self._user_jvp(leaves, dots, in_tree)

    def _vjp_rule(self, cts: Any, ans: Any, *leaves: Any, in_tree: PyTreeDef) -> list[Any]:
        # the JVP is linear in the tangents: its transpose is its VJP at any tangent point
        from .reverse import _pullback

        zeros = [np.zeros(np.shape(concrete(x))) for x in leaves]
        return _pullback(lambda *t: self._user_jvp(leaves, list(t), in_tree), zeros, list(cts))


    def _batch_rule(self, vals: list[Any], dims: list[Any], in_tree: PyTreeDef
                    ) -> tuple[tuple[Any, ...], tuple[int, ...]]:
        # vmap: a custom_jvp of the batched function whose rule is the batched rule, so that
        # outer derivatives still use the user's JVP (as JAX batches custom_jvp)
        from .batching import vmap

        axes = tuple(dims)

        def flat_fun(*leaves: Any) -> tuple[Any, ...]:
            out_leaves, self._out_tree = tree_flatten(self.fun(*tree_unflatten(in_tree, leaves)))
            return tuple(out_leaves)

        def flat_jvp(primals: Any, tangents: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
            out, out_dot = self.jvp(tree_unflatten(in_tree, list(primals)),
                                    tree_unflatten(in_tree, list(tangents)))
            return tuple(tree_flatten(out)[0]), tuple(tree_flatten(out_dot)[0])

        batched = custom_jvp(vmap(flat_fun, in_axes=axes))
        batched.defjvp(lambda p, t: vmap(flat_jvp, in_axes=(axes, axes))(tuple(p), tuple(t)))
        outs = batched(*vals)
        return tuple(outs), (0,) * len(outs)


class custom_vjp:
    """``f = custom_vjp(f); f.defvjp(fwd, bwd)`` with ``fwd(*args) -> (out, residuals)`` and
    ``bwd(residuals, ct) -> tuple of cotangents, one per argument``."""

    def __init__(self, fun: Callable[..., Any]):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None
        self._trees: tuple[PyTreeDef, PyTreeDef] | None = None
        self._in_fwd = False
        name = getattr(fun, "__name__", "f")
        self.prim = Primitive(f"custom_vjp[{name}]", self._impl, multiple_results=True)
        self.prim.vjp_full = self._vjp_rule

        def no_jvp(*_: Any, **__: Any) -> Any:
            raise TypeError(f"can't apply forward-mode autodiff (jvp) to a custom_vjp function "
                            f"({name}); define it with custom_jvp instead")

        self.prim.jvp_full = no_jvp
        self.prim.batch = self._batch_rule

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        if self.fwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {self.prim.name} "
                                 "using defvjp.")
        if self._in_fwd:  # ``fwd`` may call the function itself, as in JAX's docs
            return self.fun(*args)
        leaves, in_tree = tree_flatten(args)
        outs = self.prim(*leaves, in_tree=in_tree)
        out_tree, _ = self._trees
        return tree_unflatten(out_tree, outs[: out_tree.num_leaves])

    def _impl(self, *leaves: Any, in_tree: PyTreeDef) -> tuple[Any, ...]:
        # the outputs and the residuals: residuals ride along as extra (unused) outputs
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
        out_tree, res_tree = self._trees
        n = out_tree.num_leaves
        res = tree_unflatten(res_tree, ans[n:])
        arg_cts = self.bwd(res, tree_unflatten(out_tree, list(cts[:n])))
        n_args = len(in_tree.children)
        if not isinstance(arg_cts, (tuple, list)) or len(arg_cts) != n_args:
            got = (f"a {type(arg_cts).__name__} of length {len(arg_cts)}"
                   if isinstance(arg_cts, (tuple, list)) else type(arg_cts).__name__)
            raise TypeError(f"{self.prim.name}: bwd must return a tuple with one cotangent per "
                            f"argument ({n_args}), got {got}")
        flat: list[Any] = []
        for i, (ct, arg_tree) in enumerate(zip(arg_cts, in_tree.children, strict=True)):
            arg_leaves = leaves[len(flat):len(flat) + arg_tree.num_leaves]
            if ct is None:  # None means a zero cotangent, as in JAX
                flat += [np.zeros(np.shape(concrete(x))) for x in arg_leaves]
                continue
            ct_leaves, ct_tree = tree_flatten(ct)
            if ct_tree != arg_tree:
                raise ValueError(f"{self.prim.name}: bwd returned a cotangent of structure "
                                 f"{ct_tree} for argument {i}, whose structure is {arg_tree}")
            flat += ct_leaves
        return self._add_residual_cotangents(flat, cts[n:], leaves, in_tree)

    def _batch_rule(self, vals: list[Any], dims: list[Any], in_tree: PyTreeDef
                    ) -> tuple[tuple[Any, ...], tuple[int, ...]]:
        # vmap: a custom_vjp whose fwd and bwd are the user's, batched; the cotangent of an
        # argument that is the same for all examples is summed over the batch
        from . import numpy as rnp
        from .batching import vmap

        axes = tuple(dims)

        def flat_fun(*leaves: Any) -> tuple[Any, ...]:
            return tuple(tree_flatten(self.fun(*tree_unflatten(in_tree, leaves)))[0])

        out_trees: list[PyTreeDef] = []

        def flat_fwd(*leaves: Any) -> tuple[tuple[Any, ...], Any]:
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
            arg_cts = self.bwd(res, tree_unflatten(out_trees[-1], list(cts)))
            flat: list[Any] = []
            for ct, arg_tree in zip(arg_cts, in_tree.children, strict=True):
                flat += [None] * arg_tree.num_leaves if ct is None else tree_flatten(ct)[0]
            return tuple(flat)

        batched = custom_vjp(vmap(flat_fun, in_axes=axes))

        def bwd(res: Any, cts: Any) -> tuple[Any, ...]:
            grads = vmap(flat_bwd)(res, cts)
            return tuple(g if d is not None or g is None else rnp.sum(g, axis=0)
                         for g, d in zip(grads, axes, strict=True))

        batched.defvjp(vmap(flat_fwd, in_axes=axes), bwd)
        # the outputs and the residuals (the tape entry of this primitive keeps both)
        outs = batched.prim(*vals, in_tree=tree_flatten(tuple(vals))[1])
        return tuple(outs), (0,) * len(outs)

    def _add_residual_cotangents(self, flat: list[Any], res_cts: Any, leaves: Any,
                                 in_tree: PyTreeDef) -> list[Any]:
        """Higher order: the residuals are outputs of ``fwd`` as well, and when an outer
        derivative flows through ``bwd`` they receive cotangents. Those go back through ``fwd``
        itself, by ordinary reverse mode of ``x ↦ residuals(x)``. Zero in first-order use."""
        live = [k for k, c in enumerate(res_cts) if isinstance(c, Tracer) or np.any(c)]
        diff = [i for i, x in enumerate(leaves)
                if np.issubdtype(np.result_type(concrete(x)), np.inexact)]
        if not live or not diff:
            return flat
        from .reverse import _pullback

        def residuals(*xs: Any) -> list[Any]:
            args = list(leaves)
            for i, x in zip(diff, xs, strict=True):
                args[i] = x
            res = self._impl(*args, in_tree=in_tree)[self._trees[0].num_leaves:]
            return [res[k] for k in live]

        extra = _pullback(residuals, [leaves[i] for i in diff], [res_cts[k] for k in live])
        for i, g in zip(diff, extra, strict=True):
            flat[i] = flat[i] + g
        return flat
