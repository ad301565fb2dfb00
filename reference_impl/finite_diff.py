"""Finite differences: derivatives from function values only (the lecture's topic 5).

Three schemes for the derivative of ``g(t) = f(x + t·v)`` at ``t = 0`` (a directional
derivative; ``v = e_i`` gives the partial derivative ∂f/∂x_i):

* forward   ``(f(x + εv) − f(x)) / ε``          error ≈ ε·|f''|/2 + 2·ε_mach·|f|/ε
* central   ``(f(x + εv) − f(x − εv)) / (2ε)``   error ≈ ε²·|f'''|/6 + ε_mach·|f|/ε
* complex   ``Im f(x + iεv) / ε``                error ≈ ε²·|f'''|/6 + ε_mach·|f'|

The first term (truncation, from Taylor's formula) shrinks with ε, the second (round-off: the
difference of two nearly equal floats, each wrong by about ε_mach·|f|, divided by ε) grows as ε
shrinks: the "accuracy vs stability" trade-off of the lecture. Balancing the two gives the
default steps ε ≈ √ε_mach (error ≈ √ε_mach ≈ 1e-8) for forward and ε ≈ ε_mach^(1/3)
(error ≈ ε_mach^(2/3) ≈ 4e-11) for central differences, times ``max(1, |x|)``. The complex step
(Squire & Trapp 1998) subtracts nothing, so ε = 1e-20 is fine and the result is exact to
round-off — but ``f`` must be analytic and accept complex input (plain NumPy, or
``reference_impl.numpy`` without tracers; not ``abs``, ``maximum`` or comparisons).

A full gradient costs d + 1 calls (forward), 2d (central) or d (complex step) for x ∈ R^d:
the lecture's "2dT", against O(T) for reverse mode. Every function here returns an
:class:`FDResult` with the estimate and the number of calls it used.

The lecture's log–log plot of error against step, with the model overlaid::

    eps = np.logspace(-14, -1, 60)
    err = [abs(fd_jvp(np.sin, 1.0, 1.0, "central", e).value - np.cos(1.0)) for e in eps]
    model = fd_error_model(eps, "central", f=np.sin(1.0), d3f=np.cos(1.0))
    plt.loglog(eps, err, ".", eps, model.total, "-")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "METHODS",
    "CallCounter",
    "ErrorModel",
    "FDResult",
    "default_step",
    "fd_error_model",
    "fd_grad",
    "fd_jacobian",
    "fd_jvp",
    "optimal_step",
]

METHODS = ("forward", "central", "complex")
EPS_MACH = float(np.finfo(np.float64).eps)
COMPLEX_STEP = 1e-20


class FDResult(NamedTuple):
    """A finite-difference estimate, the number of calls of ``f`` it cost, and the step used."""

    value: np.ndarray
    n_calls: int
    eps: Any


class ErrorModel(NamedTuple):
    """The error bound of a scheme as a function of the step: ``total = truncation + roundoff``."""

    truncation: np.ndarray
    roundoff: np.ndarray
    total: np.ndarray


class CallCounter:
    """Wrap ``f`` and count its calls: ``fc = CallCounter(f); fc(x); fc.n_calls == 1``."""

    def __init__(self, f: Callable[..., Any]):
        self.f = f
        self.n_calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.n_calls += 1
        return self.f(*args, **kwargs)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown finite-difference method {method!r}; use one of {METHODS}")


def _eps_mach(x: np.ndarray) -> float:
    return float(np.finfo(x.dtype).eps) if np.issubdtype(x.dtype, np.floating) else EPS_MACH


def _as_real_array(x: Any, name: str) -> np.ndarray:
    x = np.asarray(x)
    if np.iscomplexobj(x):
        raise TypeError(f"finite differences need a real {name}, got dtype {x.dtype}")
    return x.astype(np.float64) if not np.issubdtype(x.dtype, np.floating) else x


def default_step(method: str, scale: Any = 1.0, eps_mach: float = EPS_MACH) -> Any:
    """The step the error model recommends, ``base · max(1, |scale|)``, with ``base`` equal to
    √ε_mach (forward), ε_mach^(1/3) (central) or 1e-20 (complex step). Works elementwise."""
    _check_method(method)
    base = {"forward": np.sqrt(eps_mach), "central": np.cbrt(eps_mach), "complex": COMPLEX_STEP}[
        method
    ]
    return base * np.maximum(1.0, np.abs(scale))


def fd_error_model(
    eps: Any,
    method: str = "central",
    *,
    f: float = 1.0,
    df: float = 1.0,
    d2f: float = 1.0,
    d3f: float = 1.0,
    eps_mach: float = EPS_MACH,
) -> ErrorModel:
    """Error bound of a scheme at step(s) ``eps``, given the magnitudes |f|, |f'|, |f''|, |f'''|.

    forward: ε|f''|/2 + 2ε_mach|f|/ε; central: ε²|f'''|/6 + ε_mach|f|/ε;
    complex: ε²|f'''|/6 + ε_mach|f'|. On a log–log plot the first two are a "V" whose bottom
    is at :func:`optimal_step`; the complex step's error only flattens out at round-off.
    """
    _check_method(method)
    eps = np.asarray(eps, dtype=float)
    if method == "forward":
        trunc, roundoff = abs(d2f) * eps / 2, 2 * eps_mach * abs(f) / eps
    elif method == "central":
        trunc, roundoff = abs(d3f) * eps**2 / 6, eps_mach * abs(f) / eps
    else:
        trunc, roundoff = abs(d3f) * eps**2 / 6, np.full_like(eps, eps_mach * abs(df))
    return ErrorModel(trunc, roundoff, trunc + roundoff)


def optimal_step(
    method: str, *, f: float = 1.0, d2f: float = 1.0, d3f: float = 1.0, eps_mach: float = EPS_MACH
) -> float:
    """The step minimising :func:`fd_error_model`: 2√(ε_mach|f|/|f''|) (forward),
    (3ε_mach|f|/|f'''|)^(1/3) (central); for the complex step any tiny step (1e-20)."""
    _check_method(method)
    if method == "forward":
        return float(2 * np.sqrt(eps_mach * abs(f) / abs(d2f)))
    if method == "central":
        return float(np.cbrt(3 * eps_mach * abs(f) / abs(d3f)))
    return COMPLEX_STEP


def fd_jvp(
    f: Callable[[np.ndarray], Any],
    x: Any,
    v: Any,
    method: str = "central",
    eps: float | None = None,
) -> FDResult:
    """Directional derivative ``J_f(x)·v`` by one difference quotient along ``v``.

    Costs 2 calls (forward, central) or 1 (complex step). The default step is
    ``default_step(method, ‖x‖∞) / ‖v‖∞``, so that the point moves by about ε·max(1, ‖x‖∞).
    """
    _check_method(method)
    x = _as_real_array(x, "point x")
    v = _as_real_array(v, "direction v").astype(x.dtype)
    if v.shape != x.shape:
        raise ValueError(f"fd_jvp: the direction has shape {v.shape} but x has shape {x.shape}")
    fc = CallCounter(f)
    if eps is None:
        v_norm = float(np.max(np.abs(v), initial=0.0))
        x_norm = float(np.max(np.abs(x), initial=0.0))
        eps = float(default_step(method, x_norm, _eps_mach(x))) / (v_norm if v_norm > 0 else 1.0)
    if method != "complex" and v.size and np.array_equal(x + eps * v, x):
        raise ValueError(
            f"fd_jvp: the step ε={eps:.3g} is below the spacing of floats at x: "
            "x + εv == x, so the difference quotient would be 0; use a larger eps"
        )
    if method == "complex":
        value = np.imag(np.asarray(fc(x + 1j * eps * v))) / eps
    elif method == "forward":
        value = (np.asarray(fc(x + eps * v)) - np.asarray(fc(x))) / eps
    else:
        value = (np.asarray(fc(x + eps * v)) - np.asarray(fc(x - eps * v))) / (2 * eps)
    return FDResult(value, fc.n_calls, eps)


def fd_jacobian(
    f: Callable[[np.ndarray], Any], x: Any, method: str = "central", eps: Any = None
) -> FDResult:
    """The Jacobian ∂f/∂x, one coordinate at a time; shape ``f(x).shape + x.shape``.

    Costs d + 1 calls (forward), 2d (central) or d (complex step) for ``x.size == d``. The
    default step for coordinate i is ``default_step(method, x_i)``; ``eps`` may be a float or an
    array of x's shape. For real schemes the step actually divided by is ``(x_i + ε) − x_i``,
    which is exactly representable (one source of round-off fewer).
    """
    _check_method(method)
    x = _as_real_array(x, "point x")
    fc = CallCounter(f)
    steps = default_step(method, x, _eps_mach(x)) if eps is None else eps
    steps = np.broadcast_to(np.asarray(steps, dtype=float), x.shape).ravel()
    flat = x.ravel()
    f0 = np.asarray(fc(x)) if method == "forward" or flat.size == 0 else None
    columns = []
    for i in range(flat.size):
        h = steps[i]
        if method == "complex":
            xc = flat.astype(complex)
            xc[i] += 1j * h
            columns.append(np.imag(np.asarray(fc(xc.reshape(x.shape)))) / h)
            continue
        xp = flat.copy()
        xp[i] += h
        if xp[i] == flat[i]:
            raise ValueError(
                f"fd_jacobian: the step ε={h:.3g} is below the spacing of floats at "
                f"x={flat[i]!r} (x + ε == x); use a larger eps"
            )
        if method == "forward":
            columns.append((np.asarray(fc(xp.reshape(x.shape))) - f0) / (xp[i] - flat[i]))
            continue
        xm = flat.copy()
        xm[i] -= h
        f_plus, f_minus = np.asarray(fc(xp.reshape(x.shape))), np.asarray(fc(xm.reshape(x.shape)))
        columns.append((f_plus - f_minus) / (xp[i] - xm[i]))
    if columns:
        out_shape = np.shape(columns[0])
    else:
        assert f0 is not None  # no columns only when x is empty, and then f0 was computed
        out_shape = np.shape(f0)
    value = np.stack(columns, axis=-1) if columns else np.zeros((*out_shape, 0))
    return FDResult(value.reshape(out_shape + x.shape), fc.n_calls, steps.reshape(x.shape))


def fd_grad(
    f: Callable[[np.ndarray], Any], x: Any, method: str = "central", eps: Any = None
) -> FDResult:
    """The gradient ∇f(x) of a scalar function, with the shape of ``x`` (see :func:`fd_jacobian`:
    d + 1, 2d or d calls)."""
    result = fd_jacobian(f, x, method, eps)
    x_shape = np.shape(result.eps)
    out_shape = result.value.shape[: result.value.ndim - len(x_shape)]
    if out_shape != ():
        raise ValueError(
            f"fd_grad needs a scalar function, but f(x) has shape {out_shape}; "
            "use fd_jacobian for vector-valued functions"
        )
    return result
