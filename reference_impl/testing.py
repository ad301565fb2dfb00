"""Gradient checking: is an AD rule right? (``check_grads`` as in HIPS autograd and JAX).

Three comparisons, each along *random* directions (an all-ones direction lets a wrong rule
through: a VJP that ignores its cotangent is right for ct = 1):

* JVP vs finite differences: ``jvp(f, x, v)`` against the central difference
  ``(f(x + εv) − f(x − εv)) / (2ε)``, whose error is O(ε²) + O(ε_mach·|f|/ε);
* VJP vs finite differences, by the dot-product test ⟨u, J v⟩ = ⟨Jᵀu, v⟩ with J v from
  central differences and Jᵀu from ``vjp`` (random u and v);
* VJP vs our JVP, the same identity with J v from ``jvp``: both sides are exact up to
  round-off, so the tolerance is √ε_mach·scale, far tighter than against finite differences.

With ``order=2`` the same checks run on the derivative maps themselves, ``(x, v) ↦ (f(x), J v)``
and ``(x, u) ↦ Jᵀu``, which exercises the rules of the rules (forward-over-reverse etc.).
Failures raise ``AssertionError`` naming the check (``"VJP of JVP"``), the order, the mode, both
numbers and their difference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .api_util import fun_name
from .finite_diff import fd_jvp
from .forward import jvp
from .reverse import vjp
from .tracers import concrete
from .tree_util import tree_flatten, tree_map, tree_unflatten

__all__ = ["DotProductResult", "check_grads", "check_jvp", "check_vjp", "dot_product_test"]

AD_RTOL = float(np.sqrt(np.finfo(np.float64).eps))  # JVP vs VJP: both exact up to round-off


class DotProductResult(NamedTuple):
    """The two sides of the dot-product test: ⟨u, J v⟩ (by ``jvp``) and ⟨Jᵀu, v⟩ (by ``vjp``)."""

    jvp_side: float
    vjp_side: float


# --- small pytree helpers (plain NumPy) --------------------------------------------------------
def _random_like(tree: Any, rng: np.random.Generator) -> Any:
    def draw(leaf: Any) -> np.ndarray:
        leaf = np.asarray(concrete(leaf))
        return rng.standard_normal(leaf.shape).astype(leaf.dtype)

    return tree_map(draw, tree)


def _ravel(tree: Any) -> np.ndarray:
    leaves = tree_flatten(tree)[0]
    if not leaves:
        return np.zeros(0)
    return np.concatenate([np.ravel(np.asarray(concrete(x), dtype=float)) for x in leaves])


def _unravel_like(tree: Any) -> Callable[[np.ndarray], Any]:
    leaves, treedef = tree_flatten(tree)
    shapes = [np.shape(concrete(x)) for x in leaves]
    sizes = [int(np.prod(s)) for s in shapes]

    def unravel(z: np.ndarray) -> Any:
        parts, k = [], 0
        for shape, size in zip(shapes, sizes, strict=True):
            parts.append(z[k : k + size].reshape(shape))
            k += size
        return tree_unflatten(treedef, parts)

    return unravel


def _norm(z: np.ndarray) -> float:
    return float(np.linalg.norm(z))


def _fd_directional(
    f: Callable[..., Any], args: tuple, tangents: tuple, eps: float | None
) -> np.ndarray:
    """J v by central differences on the flattened inputs and outputs."""
    unravel = _unravel_like(args)
    result = fd_jvp(
        lambda z: _ravel(f(*unravel(z))), _ravel(args), _ravel(tangents), method="central", eps=eps
    )
    return result.value


def _fail(name: str, what: str, order: int, mode: str, detail: str) -> None:
    raise AssertionError(
        f"check_grads({name}): {what} (order {order}, mode '{mode}') is wrong: {detail}"
    )


# --- the checks --------------------------------------------------------------------------------
def check_jvp(
    f: Callable[..., Any],
    args: Sequence[Any],
    *,
    eps: float | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    rng: np.random.Generator | None = None,
    what: str = "JVP",
    order: int = 1,
) -> None:
    """Check ``jvp(f, args, v)`` against central differences along a random ``v``:
    ``‖J v − J v_FD‖∞ ≤ atol + rtol·‖J v_FD‖∞``; also the primal output against ``f(*args)``."""
    rng = np.random.default_rng(0) if rng is None else rng
    args, name = tuple(args), fun_name(f)
    v = _random_like(args, rng)
    out, out_dot = jvp(f, args, v)
    expected_out = _ravel(f(*args))
    got_out, got_dot = _ravel(out), _ravel(out_dot)
    if got_out.shape != expected_out.shape or not np.allclose(got_out, expected_out, rtol, atol):
        _fail(
            name,
            f"{what} primal output",
            order,
            "fwd",
            f"jvp returned {got_out} but f(*args) = {expected_out}",
        )
    fd = _fd_directional(f, args, v, eps)
    if got_dot.shape != fd.shape:
        _fail(
            name,
            what,
            order,
            "fwd",
            f"the tangent output has {got_dot.size} entries but the output has {fd.size}",
        )
    diff = float(np.max(np.abs(got_dot - fd), initial=0.0))
    tol = atol + rtol * float(np.max(np.abs(fd), initial=0.0))
    if diff > tol:
        i = int(np.argmax(np.abs(got_dot - fd)))
        _fail(
            name,
            what,
            order,
            "fwd",
            f"J v by {what} = {got_dot[i]:.12g} but by central differences = {fd[i]:.12g} at "
            f"output entry {i} (max difference {diff:.3g} > tolerance {tol:.3g})",
        )


def check_vjp(
    f: Callable[..., Any],
    args: Sequence[Any],
    *,
    eps: float | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    rng: np.random.Generator | None = None,
    against_jvp: bool = True,
    what: str = "VJP",
    order: int = 1,
) -> None:
    """Dot-product test ⟨u, J v⟩ = ⟨Jᵀu, v⟩ with random u, v: J v by central differences
    (tolerance atol + rtol·scale) and, if ``against_jvp``, by our ``jvp`` (tolerance
    √ε_mach·scale), where scale = ‖u‖‖J v‖ + ‖Jᵀu‖‖v‖ bounds both sides (Cauchy–Schwarz)."""
    rng = np.random.default_rng(0) if rng is None else rng
    args, name = tuple(args), fun_name(f)
    v = _random_like(args, rng)
    out, vjp_fn = vjp(f, *args)
    u = _random_like(out, rng)
    ct = vjp_fn(u)
    u_flat, v_flat, ct_flat = _ravel(u), _ravel(v), _ravel(ct)
    if ct_flat.shape != v_flat.shape:
        _fail(
            name,
            what,
            order,
            "rev",
            f"the cotangents have {ct_flat.size} entries but the inputs have {v_flat.size}",
        )
    rhs = float(ct_flat @ v_flat)
    sides = [("central differences", _fd_directional(f, args, v, eps), rtol, atol)]
    if against_jvp:
        sides.append(("our JVP", _ravel(jvp(f, args, v)[1]), AD_RTOL, 0.0))
    for source, jv, rt, at in sides:
        lhs = float(u_flat @ jv)
        tol = at + rt * (_norm(u_flat) * _norm(jv) + _norm(ct_flat) * _norm(v_flat))
        if not abs(lhs - rhs) <= tol:
            _fail(
                name,
                what,
                order,
                "rev",
                f"dot-product test ⟨u, J v⟩ = {lhs:.12g} (J v by {source}) but "
                f"⟨Jᵀu, v⟩ = {rhs:.12g} (Jᵀu by {what}); difference {abs(lhs - rhs):.3g} > "
                f"tolerance {tol:.3g}",
            )


def check_grads(
    f: Callable[..., Any],
    args: Sequence[Any],
    order: int = 2,
    modes: Sequence[str] = ("fwd", "rev"),
    eps: float | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    rng: np.random.Generator | None = None,
) -> None:
    """Check forward (``"fwd"``) and reverse (``"rev"``) mode derivatives of ``f(*args)`` up to
    ``order`` against central differences (and VJP against JVP when both modes are checked).

    Arguments may be pytrees of float arrays. ``eps`` is the finite-difference step (default:
    ε_mach^(1/3)·max(1, ‖x‖∞)/‖v‖∞). Raises ``AssertionError`` on the first failing check.
    """
    if order < 1:
        raise ValueError(f"check_grads: order must be ≥ 1, got {order}")
    unknown = set(modes) - {"fwd", "rev"}
    if unknown or not modes:
        raise ValueError(
            f"check_grads: modes must be a non-empty subset of ('fwd', 'rev'), got {tuple(modes)}"
        )
    rng = np.random.default_rng(0) if rng is None else rng
    opts: dict[str, Any] = {"eps": eps, "rtol": rtol, "atol": atol, "rng": rng}

    def _check(f: Callable[..., Any], args: tuple, k: int, prefix: str) -> None:
        if "fwd" in modes:
            what = "JVP" + prefix
            check_jvp(f, args, what=what, order=k, **opts)
            if k < order:

                def f_jvp(primals: tuple, tangents: tuple) -> Any:
                    return jvp(f, primals, tangents)

                f_jvp.__name__ = fun_name(f)
                _check(f_jvp, (args, _random_like(args, rng)), k + 1, " of " + what)
        if "rev" in modes:
            what = "VJP" + prefix
            check_vjp(f, args, against_jvp="fwd" in modes, what=what, order=k, **opts)
            if k < order:

                def f_vjp(primals: tuple, ct: Any) -> Any:
                    return vjp(f, *primals)[1](ct)

                f_vjp.__name__ = fun_name(f)
                _check(f_vjp, (args, _random_like(f(*args), rng)), k + 1, " of " + what)

    _check(f, tuple(args), 1, "")


def dot_product_test(f: Callable[[Any], Any], x: Any, rng: np.random.Generator) -> DotProductResult:
    """Both sides of ⟨u, J v⟩ = ⟨Jᵀu, v⟩ for ``f(x)`` with random u, v: J v by ``jvp``, Jᵀu by
    ``vjp``. Equal up to round-off when the rules agree; ``x`` may be a pytree."""
    v = _random_like(x, rng)
    out, out_dot = jvp(f, (x,), (v,))
    u = _random_like(out, rng)
    (ct,) = vjp(f, x)[1](u)
    return DotProductResult(float(_ravel(u) @ _ravel(out_dot)), float(_ravel(ct) @ _ravel(v)))
