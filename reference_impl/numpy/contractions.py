"""Contractions: matmul, dot, vdot, inner, outer, einsum.

For ``C = A @ B`` the VJP is the matrix calculus every backprop course derives:
``Ā = C̄ Bᵀ`` and ``B̄ = Aᵀ C̄`` (summed over broadcast batch dimensions by the core).
``einsum``'s VJP with respect to one operand is another einsum: the output's subscripts and the
other operand's subscripts contracted to this operand's subscripts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import defjvp_linear, defresiduals, defvjp, primitive
from ..tracers import shape_of
from . import elementwise as E
from . import reductions as R
from . import shape_ops as S
from .batching_rules import ranks
from .shape_ops import move, pad_batch


def _mT(x: Any) -> Any:
    return S.swapaxes(x, -1, -2)


def _matmul_vjp_x(ct: Any, ans: Any, x: Any, y: Any) -> Any:
    if len(shape_of(x)) == len(shape_of(y)) == 1:  # inner product
        return ct * y
    if len(shape_of(y)) == 1:  # (..., n) @ (n,) -> (...,):  x̄ = ct[..., None] * y
        g = S.expand_dims(ct, -1) * y
    elif len(shape_of(x)) == 1:  # (n,) @ (..., n, m) -> (..., m):  x̄ = Σ_batch y @ ct
        return R.sum(S.reshape(matmul(y, S.expand_dims(ct, -1)), (-1, shape_of(x)[0])), axis=0)
    else:
        g = matmul(ct, _mT(y))
    return S.sum_to_shape(g, shape_of(x))


def _matmul_vjp_y(ct: Any, ans: Any, x: Any, y: Any) -> Any:
    if len(shape_of(x)) == len(shape_of(y)) == 1:
        return ct * x
    if len(shape_of(x)) == 1:  # (n,) @ (..., n, m):  ȳ = x[:, None] * ct[..., None, :]
        g = S.expand_dims(x, -1) * S.expand_dims(ct, -2)
    elif len(shape_of(y)) == 1:  # (..., k, n) @ (n,):  ȳ = Σ_batch ctᵀ x
        return R.sum(S.reshape(matmul(S.expand_dims(ct, -2), x), (-1, shape_of(y)[0])), axis=0)
    else:
        g = matmul(_mT(x), ct)
    return S.sum_to_shape(g, shape_of(y))


# --- matmul -----------------------------------------------------------------------------------
def _matmul_rule(vals: list[Any], dims: list[Any]) -> tuple[Any, int]:
    (x, y), (dx, dy) = vals, dims
    rx, ry = ranks(vals, dims)
    if dy is None and ry == 2:  # (B, …, k) @ (k, m): fold the batch into the rows
        x0 = move(x, dx, 0)
        s = shape_of(x0)
        if rx == 1:
            return matmul(x0, y), 0
        flat = S.reshape_p(x0, shape=(-1, s[-1]))
        return S.reshape_p(matmul(flat, y), shape=(*s[:-1], shape_of(y)[-1])), 0
    if dy is None and ry == 1:  # (B, …, k) @ (k,)
        return matmul(move(x, dx, 0), y), 0
    if dx is None and rx == 2 and ry == 1:  # (n, k) @ (B, k): (B, k) @ (k, n)
        return matmul(move(y, dy, 0), S.swapaxes(x, -1, -2)), 0
    if dx is None and rx == 2 and ry == 2:  # (n, k) @ (k, B·m): the batch into the columns
        y1 = move(y, dy, 1)
        k, b, m = shape_of(y1)
        out = matmul(x, S.reshape_p(y1, shape=(k, b * m)))
        return S.reshape_p(out, shape=(shape_of(x)[0], b, m)), 1
    # general: vectors as 1-row / 1-column matrices, batch axes in front, ranks aligned
    args = []
    for v, d, r, pos in ((x, dx, rx, -2), (y, dy, ry, -1)):
        v = v if d is None else move(v, d, 0)
        if r == 1:
            v = S.expand_dims(v, pos)
        args.append(v)
    rank = max(max(rx, 2), max(ry, 2))
    args = [v if d is None else pad_batch(v, rank) for v, d in zip(args, dims, strict=True)]
    # an inner dimension of 1 (per-example outer products, as in per-example gradients of a
    # dense layer) is a broadcast product: faster than NumPy's stacked matmul
    out = E.multiply(*args) if shape_of(args[0])[-1] == 1 else matmul(*args)
    s = shape_of(out)
    if rx == 1 or ry == 1:
        keep = s[:-2] + (() if rx == 1 else s[-2:-1]) + (() if ry == 1 else s[-1:])
        out = S.reshape_p(out, shape=keep)
    return out, 0


# --- einsum -----------------------------------------------------------------------------------
def _explicit(subscripts: str) -> tuple[list[str], str]:
    s = subscripts.replace(" ", "")
    ins, arrow, out = s.partition("->")
    if not arrow:  # NumPy's implicit output: '...' then the letters used once, sorted
        letters = ins.replace(",", "").replace(".", "")
        out = ("..." if "..." in ins else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1)
        )
    return ins.split(","), out


def _einsum_rule(
    vals: list[Any], dims: list[Any], subscripts: str, **params: Any
) -> tuple[Any, int]:
    inputs, out = _explicit(subscripts)
    z = next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in subscripts)
    ins = [s if d is None else z + s for s, d in zip(inputs, dims, strict=True)]
    ops = [v if d is None else move(v, d, 0) for v, d in zip(vals, dims, strict=True)]
    return einsum_p(*ops, subscripts=",".join(ins) + "->" + z + out, **params), 0


matmul = primitive("matmul", np.matmul, batch=_matmul_rule)
defjvp_linear(matmul, 0, 1)
defvjp(matmul, _matmul_vjp_x, _matmul_vjp_y)


def dot(x: Any, y: Any) -> Any:
    """``np.dot``: ``x * y`` for scalars, else contract the last axis of ``x`` with the
    second-to-last axis of ``y`` (the only axis when ``y`` is a vector)."""
    nx, ny = len(shape_of(x)), len(shape_of(y))
    if nx == 0 or ny == 0:
        return x * y
    if (nx <= 2 and ny <= 2) or ny == 1:
        return matmul(x, y)
    a, b = "abcdefgh"[: nx - 1], "nopqrstu"[: ny - 2]
    return einsum(f"{a}z,{b}zy->{a}{b}y", x, y)


def vdot(x: Any, y: Any) -> Any:
    """Σ_i x_i y_i over the flattened arrays (real inputs)."""
    return R.sum(S.ravel(x) * S.ravel(y))


def inner(x: Any, y: Any) -> Any:
    """Contract the last axes: ``inner(x, y)[i…, j…] = Σ_k x[i…, k] y[j…, k]``."""
    if len(shape_of(x)) == 0 or len(shape_of(y)) == 0:
        return x * y
    a = "abcdefgh"[: len(shape_of(x)) - 1]
    b = "mnopqrst"[: len(shape_of(y)) - 1]
    return einsum(f"{a}z,{b}z->{a}{b}", x, y)


def outer(x: Any, y: Any) -> Any:
    return S.expand_dims(S.ravel(x), 1) * S.expand_dims(S.ravel(y), 0)


# --- einsum -----------------------------------------------------------------------------------
def _parse(subscripts: str, n_operands: int) -> tuple[list[str], str]:
    s = subscripts.replace(" ", "")
    if "." in s:
        raise ValueError(f"einsum: {subscripts!r}: an ellipsis must be written '...'")
    ins, arrow, out = s.partition("->")
    inputs = ins.split(",")
    if len(inputs) != n_operands:
        raise ValueError(f"einsum: {subscripts!r} names {len(inputs)} operands, got {n_operands}")
    if not arrow:  # implicit output: letters that appear once, in alphabetical order
        letters = "".join(inputs)
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return inputs, out


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_EINSUM_OPERANDS = 16


def _from_sublists(args: tuple[Any, ...]) -> tuple[str, list[Any]]:
    """``einsum(x, [0, 1], y, [1, 2], [0, 2])`` → ``'ab,bc->ac'`` (``Ellipsis`` → '...')."""

    def letters(sub: Any) -> str:
        return "".join("..." if k is Ellipsis else _LETTERS[int(k)] for k in sub)

    ops, subs = list(args[0::2]), [letters(sub) for sub in args[1::2]]
    if len(args) % 2:  # an output sublist at the end
        ops.pop()
        return ",".join(subs) + "->" + letters(args[-1]), ops
    return ",".join(subs), ops


def _expand_ellipsis(subscripts: str, ops: list[Any]) -> tuple[str, list[Any]]:
    """Replace '...' by letters of its own. Ellipsis dimensions broadcast (NumPy's rule): an
    operand whose ellipsis dimension has size 1 where another's is larger is reshaped without
    it and its letter dropped (it is constant along that index), which is exact."""
    s = subscripts.replace(" ", "")
    ins, arrow, out = s.partition("->")
    inputs = ins.split(",")
    if len(inputs) != len(ops):
        raise ValueError(f"einsum: {subscripts!r} names {len(inputs)} operands, got {len(ops)}")
    nds = [
        len(shape_of(op)) - len(sub.replace("...", "")) if "..." in sub else 0
        for sub, op in zip(inputs, ops, strict=True)
    ]
    n = max(nds)
    free = [c for c in _LETTERS if c not in s][:n]
    sizes = [1] * n  # the broadcast shape of the ellipsis dimensions
    for sub, op, k in zip(inputs, ops, nds, strict=True):
        if "..." in sub:
            start = sub.index("...")
            for j, size in enumerate(shape_of(op)[start : start + k]):
                if size != 1:  # 1 broadcasts against any size, 0 included
                    sizes[n - k + j] = size
    new_inputs, new_ops = [], []
    for sub, op, k in zip(inputs, ops, nds, strict=True):
        if "..." in sub:
            start, shape = sub.index("..."), shape_of(op)
            ell = shape[start : start + k]
            keep = [j for j, size in enumerate(ell) if size == sizes[n - k + j]]
            if len(keep) < k:
                op = S.reshape(op, shape[:start] + tuple(ell[j] for j in keep) + shape[start + k :])
            sub = sub.replace("...", "".join(free[n - k + j] for j in keep))
        new_inputs.append(sub)
        new_ops.append(op)
    if arrow:
        out = out.replace("...", "".join(free))
    else:  # implicit: the ellipsis first, then the letters that appear once, sorted
        named = ins.replace("...", "").replace(",", "")
        out = "".join(free) + "".join(sorted(c for c in set(named) if named.count(c) == 1))
    return ",".join(new_inputs) + "->" + out, new_ops


def _einsum_vjp(i: int) -> Any:
    def rule(ct: Any, ans: Any, *operands: Any, subscripts: str) -> Any:
        inputs, out = _parse(subscripts, len(operands))
        mine = inputs[i]
        uniq = "".join(dict.fromkeys(mine))  # distinct letters, in order of first appearance
        others = [(s, op) for j, (s, op) in enumerate(zip(inputs, operands, strict=True)) if j != i]
        seen = set(out).union(*[set(s) for s, _ in others])
        target = "".join(c for c in uniq if c in seen)  # letters summed only inside this operand
        spec = ",".join([out, *[s for s, _ in others]]) + "->" + target
        g = einsum(spec, ct, *[op for _, op in others])
        size = dict(zip(mine, shape_of(operands[i]), strict=True))
        if target != uniq:  # broadcast over the letters this operand sums on its own
            g = S.reshape(g, tuple(size[c] if c in seen else 1 for c in uniq))
            g = S.broadcast_to(g, tuple(size[c] for c in uniq))
        if uniq != mine:  # a repeated letter ('ii->i'): g lives on the diagonal
            g = _embed_diagonal(g, uniq, mine, tuple(size[c] for c in mine))
        return g

    return rule


def _embed_diagonal(g: Any, uniq: str, mine: str, shape: tuple[int, ...]) -> Any:
    """``x̄[i, i] = g[i]`` (zero off the diagonal) for operand subscripts such as ``'ii'``."""

    def grid(pos: int) -> np.ndarray:
        return np.arange(shape[pos]).reshape([-1 if k == pos else 1 for k in range(len(mine))])

    first = {c: mine.index(c) for c in uniq}
    idx = tuple(grid(first[c]) for c in uniq)
    mask = np.ones((1,) * len(mine), dtype=bool)
    for pos, c in enumerate(mine):
        mask = mask & (grid(pos) == grid(first[c]))
    return E.where(mask, S.getitem(g, idx), 0.0)


# multilinear: linear in each operand, and the VJP of each operand is another einsum
einsum_p = primitive(
    "einsum", lambda *ops, subscripts: np.einsum(subscripts, *ops), batch=_einsum_rule
)
defjvp_linear(einsum_p, *range(MAX_EINSUM_OPERANDS))
defvjp(einsum_p, *[_einsum_vjp(i) for i in range(MAX_EINSUM_OPERANDS)])


def einsum(
    *operands: Any, optimize: Any = None, precision: Any = None, preferred_element_type: Any = None
) -> Any:
    """Einstein summation, as ``jnp.einsum``: up to 16 operands, an ellipsis
    (``'...ij,...jk->...ik'``, broadcast), an implicit output (``'ij,jk'``), repeated letters
    (``'ii->i'``), or the sublist form ``einsum(x, [0, 1], y, [1, 2], [0, 2])``."""
    if isinstance(operands[0], str):
        subscripts, ops = operands[0], list(operands[1:])
    else:
        subscripts, ops = _from_sublists(operands)
    if not 1 <= len(ops) <= MAX_EINSUM_OPERANDS:
        raise NotImplementedError(
            f"einsum over {len(ops)} operands: at most "
            f"{MAX_EINSUM_OPERANDS} (chain several einsum calls)"
        )
    if "..." in subscripts:
        subscripts, ops = _expand_ellipsis(subscripts, ops)
    _parse(subscripts, len(ops))
    return einsum_p(*ops, subscripts=subscripts)


def tensordot(x: Any, y: Any, axes: Any = 2) -> Any:
    """``np.tensordot``: contract the last ``axes`` axes of ``x`` with the first ``axes`` of
    ``y``, or the axes listed in a pair ``(axes_x, axes_y)`` (ints or sequences)."""
    nx, ny = len(shape_of(x)), len(shape_of(y))
    if isinstance(axes, (int, np.integer)):
        ax, ay = list(range(nx - int(axes), nx)), list(range(int(axes)))
    else:
        ax, ay = axes
        ax = [int(ax)] if isinstance(ax, (int, np.integer)) else [int(a) for a in ax]
        ay = [int(ay)] if isinstance(ay, (int, np.integer)) else [int(a) for a in ay]
    if len(ax) != len(ay):
        raise ValueError(f"tensordot: axes {axes!r} pair {len(ax)} axes of x with {len(ay)} of y")
    ax, ay = [a % nx for a in ax], [a % ny for a in ay]
    a = _LETTERS[:nx]
    b = [_LETTERS[nx + j] for j in range(ny)]
    for i, j in zip(ax, ay, strict=True):
        b[j] = a[i]
    out = "".join(c for i, c in enumerate(a) if i not in ax) + "".join(
        c for j, c in enumerate(b) if j not in ay
    )
    return einsum_p(x, y, subscripts=f"{a},{''.join(b)}->{out}")


def kron(a: Any, b: Any) -> Any:
    """The Kronecker product ``out[i·m + k, j·n + l] = a[i, j] b[k, l]`` (any rank): the two
    arrays interleaved by broadcasting, then reshaped."""
    sa, sb = shape_of(a), shape_of(b)
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    x = S.reshape(a, tuple(d for n in sa for d in (n, 1)))
    y = S.reshape(b, tuple(d for n in sb for d in (1, n)))
    return S.reshape(x * y, tuple(m * n for m, n in zip(sa, sb, strict=True)))


def cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None
) -> Any:
    """The cross product of 3-vectors (the scalar ``a₀b₁ − a₁b₀`` of 2-vectors) along
    ``axisa``/``axisb``; the result's vector axis is ``axisc`` (all three are ``axis`` if given).
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = S.moveaxis(a, axisa, -1), S.moveaxis(b, axisb, -1)
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: vectors must have 2 or 3 components, got {na} and {nb}")
    a0, a1, a2 = (S.getitem(a, (Ellipsis, i)) if i < na else 0.0 for i in range(3))
    b0, b1, b2 = (S.getitem(b, (Ellipsis, i)) if i < nb else 0.0 for i in range(3))
    if na == nb == 2:
        return a0 * b1 - a1 * b0
    batch = np.broadcast_shapes(shape_of(a)[:-1], shape_of(b)[:-1])
    c = [
        S.broadcast_to(v, batch) for v in (a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0)
    ]
    return S.moveaxis(S.stack(c, axis=-1), -1, axisc)


# bilinear: the VJPs read both inputs but not the output
defresiduals(matmul, ans=False, args=(0, 1))
defresiduals(einsum_p, ans=False, args=tuple(range(MAX_EINSUM_OPERANDS)))
