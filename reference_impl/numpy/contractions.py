"""Contractions: matmul, dot, vdot, inner, outer, einsum.

For ``C = A @ B`` the VJP is the matrix calculus every backprop course derives:
``Ā = C̄ Bᵀ`` and ``B̄ = Aᵀ C̄`` (summed over broadcast batch dimensions by the core).
``einsum``'s VJP with respect to one operand is another einsum: the output's subscripts and the
other operand's subscripts contracted to this operand's subscripts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import defjvp_linear, defresiduals, defvjp, primitive, shape_of
from . import elementwise as E
from . import reductions as R
from . import shape_ops as S


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


matmul = primitive("matmul", np.matmul)
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
        raise NotImplementedError("einsum with ellipsis ('...') is not supported")
    ins, arrow, out = s.partition("->")
    inputs = ins.split(",")
    if len(inputs) != n_operands:
        raise ValueError(f"einsum: {subscripts!r} names {len(inputs)} operands, "
                         f"got {n_operands}")
    if not arrow:  # implicit output: letters that appear once, in alphabetical order
        letters = "".join(inputs)
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return inputs, out


def _einsum_vjp(i: int) -> Any:
    def rule(ct: Any, ans: Any, *operands: Any, subscripts: str) -> Any:
        inputs, out = _parse(subscripts, len(operands))
        mine = inputs[i]
        uniq = "".join(dict.fromkeys(mine))  # distinct letters, in order of first appearance
        others = [(s, op) for j, (s, op) in enumerate(zip(inputs, operands, strict=True))
                  if j != i]
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


einsum_p = primitive("einsum", lambda *ops, subscripts: np.einsum(subscripts, *ops))
defjvp_linear(einsum_p, 0, 1)
defvjp(einsum_p, _einsum_vjp(0), _einsum_vjp(1))


def einsum(subscripts: str, *operands: Any) -> Any:
    """Einstein summation over one or two operands (no ellipsis); 'ii->i' works."""
    if not 1 <= len(operands) <= 2:
        raise NotImplementedError(f"einsum over {len(operands)} operands: use at most two "
                                  "(chain several einsum calls)")
    _parse(subscripts, len(operands))
    return einsum_p(*operands, subscripts=subscripts)


def tensordot(x: Any, y: Any, axes: int = 2) -> Any:
    """``np.tensordot`` with an integer ``axes``."""
    nx, ny = len(shape_of(x)), len(shape_of(y))
    letters = "abcdefghijklmnopqrstuvwxyz"
    a, b = letters[:nx], letters[nx - axes : nx] + letters[nx : nx + ny - axes]
    return einsum(f"{a},{b}->{a[: nx - axes]}{b[axes:]}", x, y)


# bilinear: the VJPs read both inputs but not the output
defresiduals(matmul, ans=False, args=(0, 1))
defresiduals(einsum_p, ans=False, args=(0, 1))
