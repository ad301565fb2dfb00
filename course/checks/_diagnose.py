"""The diagnosis of a wrong value: how ``obtained`` differs from ``expected`` when the
difference has a pattern (wrong sign, off by a factor, transposed, not broadcast, lost
tangent…), in English and Russian."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["diagnose"]


def _as_float_array(x: Any) -> np.ndarray | None:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        return None
    return a


def diagnose(obtained: Any, expected: Any, rtol: float = 1e-7, atol: float = 1e-9) -> str | None:
    """Explain how ``obtained`` differs from ``expected``, when the difference has a pattern."""
    o, e = _as_float_array(obtained), np.asarray(expected, dtype=float)
    if o is None:
        return f"obtained a {type(obtained).__name__}, not numbers / получены не числа"
    if o.shape != e.shape:
        msg = f"shape {o.shape} instead of {e.shape} / форма {o.shape} вместо {e.shape}"
        if o.ndim == 2 and o.shape == e.shape[::-1] and np.allclose(o.T, e, rtol, atol):
            return msg + ": the result is transposed / результат транспонирован"
        if o.size == e.size and np.allclose(o.reshape(e.shape), e, rtol, atol):
            return msg + (
                ": the right numbers in the wrong shape (reshape) / верные числа в неверной форме"
            )
        try:
            if np.broadcast_shapes(o.shape, e.shape) == e.shape and o.size < e.size:
                return msg + (
                    ": the tangent was not broadcast to the shape of the result / "
                    "касательная не растянута до формы результата"
                )
        except ValueError:
            pass
        return msg
    if not np.all(np.isfinite(o)) and np.all(np.isfinite(e)):
        return "the result contains nan or inf / в результате nan или inf"

    def close(a: np.ndarray) -> bool:
        return bool(np.allclose(a, e, rtol=rtol, atol=atol))

    scale = float(np.max(np.abs(e))) if e.size else 0.0
    if scale > atol and np.allclose(o, 0.0, atol=atol):
        return (
            "obtained zero: the tangent (or a term of it) was lost / получен ноль: "
            "касательная (или её слагаемое) потеряна"
        )
    if scale > atol and close(-o):
        return "wrong sign: obtained = −expected / неверный знак"
    if o.ndim == 2 and o.shape[0] == o.shape[1] and o.shape[0] > 1 and close(o.T):
        return "transposed: obtained = expectedᵀ / транспонировано"
    mask = np.abs(e) > max(atol, 1e-6 * scale)
    if mask.any() and np.allclose(o[~mask], 0.0, atol=max(atol, 1e-6 * scale)):
        ratios = o[mask] / e[mask]
        k = float(ratios.flat[0])
        simple = any(abs(k - c) < 1e-6 * abs(c) for c in (2, 3, 4, 0.5, 1 / 3, 0.25, -2, -0.5))
        if abs(k - 1) > 1e-6 and np.allclose(ratios, k, rtol=1e-6):
            if mask.sum() > 1 or simple:
                return (
                    f"off by a factor of {k:.6g} (obtained = {k:.6g} × expected) / "
                    f"лишний множитель {k:.6g}"
                )
            return f"obtained / expected = {k:.6g} / получено / ожидалось = {k:.6g}"
    if e.ndim >= 1 and e.size > 1:
        bad = np.argwhere(~np.isclose(o, e, rtol=rtol, atol=atol))
        if len(bad):
            idx = tuple(int(i) for i in bad[0])
            return (
                f"{len(bad)} of {e.size} entries differ / не совпадают {len(bad)} из {e.size}; "
                f"the first at index {idx}: expected {e[idx]:.8g}, obtained {o[idx]:.8g}"
            )
    return None
