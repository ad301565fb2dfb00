"""Zero-order (gradient-free) gradient estimators and gradient descent (lecture topics 3–4).

Only values of L are available. Three estimators of ∇L(w), w ∈ R^d, each counting its calls:

* sphere     ``G = d · (L(w+εv) − L(w−εv)) / (2ε) · v``,  v uniform on the unit sphere;
* gaussian   ``G =     (L(w+εv) − L(w−εv)) / (2ε) · v``,  v ~ N(0, I);
* coordinate ``G = Σ_i (L(w+εe_i) − L(w−εe_i)) / (2ε) · e_i`` (central differences, 2d calls).

Why they work: the central difference is ``vᵀ∇L + O(ε²)``, and E[v vᵀ] = I/d on the sphere,
= I for the Gaussian, so E[G] = ∇L + O(ε²) (exactly ∇L for quadratic L). The factor d is what
makes the sphere estimator unbiased; drop it and E[G] = ∇L/d.

Error model (quadratic L, g = ∇L): the random estimators have covariance
``d/(d+2)·(‖g‖² I + 2ggᵀ) − ggᵀ`` (sphere) and ``‖g‖² I + ggᵀ`` (gaussian), so
E‖G‖² = d‖g‖² and (d+2)‖g‖²: each costs 2 calls but is d times noisier than ∇L. Gradient descent
with such G needs a step ~1/d as small and about d times more iterations — the curse of
dimensionality of the lecture's table (GD: O(1/k); zero-order: O(n/k)). Averaging ``batch``
directions divides the variance by ``batch`` at 2·batch calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .finite_diff import CallCounter, fd_grad

__all__ = [
    "ESTIMATORS",
    "Trajectory",
    "ZOEstimate",
    "coordinate_estimator",
    "gaussian_estimator",
    "gradient_descent",
    "sphere_estimator",
    "zo_gradient_descent",
]

Loss = Callable[[np.ndarray], Any]


class ZOEstimate(NamedTuple):
    """A gradient estimate (shape of w) and the number of calls of L it cost."""

    grad: np.ndarray
    n_calls: int


class Trajectory(NamedTuple):
    """An optimisation run: ``losses[k] = L(w_k)`` and ``calls[k]`` = oracle calls used to reach
    ``w_k`` (values of L for zero-order methods, gradients for GD); ``w`` is the last iterate."""

    w: np.ndarray
    losses: np.ndarray
    calls: np.ndarray

    @property
    def n_calls(self) -> int:
        return int(self.calls[-1])


def _as_float(w: Any) -> np.ndarray:
    w = np.asarray(w)
    return w.astype(np.float64) if not np.issubdtype(w.dtype, np.floating) else w


def _two_point(L: Loss, w: np.ndarray, v: np.ndarray, eps: float) -> float:
    """The central difference (L(w+εv) − L(w−εv)) / (2ε) ≈ vᵀ∇L(w)."""
    return (float(L(w + eps * v)) - float(L(w - eps * v))) / (2 * eps)


def _random_estimate(
    L: Loss, w: Any, eps: float, rng: np.random.Generator, batch: int, sphere: bool
) -> ZOEstimate:
    if not isinstance(rng, np.random.Generator):
        raise TypeError("pass a seeded generator: rng=np.random.default_rng(seed)")
    if batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch}")
    w = _as_float(w)
    d = w.size
    fc = CallCounter(L)
    total = np.zeros_like(w)
    for _ in range(batch):
        v = rng.standard_normal(w.shape)
        if sphere:  # a normalised Gaussian vector is uniform on the unit sphere
            v = v / np.linalg.norm(v)
        scale = d if sphere else 1.0
        total += scale * _two_point(fc, w, v, eps) * v
    return ZOEstimate(total / batch, fc.n_calls)


def sphere_estimator(
    L: Loss, w: Any, *, eps: float = 1e-6, rng: np.random.Generator, batch: int = 1
) -> ZOEstimate:
    """``G = d·(L(w+εv) − L(w−εv))/(2ε)·v``, v uniform on the unit sphere, averaged over
    ``batch`` directions (2·batch calls). E[G] = ∇L + O(ε²); E‖G‖² ≈ d‖∇L‖²/batch."""
    return _random_estimate(L, w, eps, rng, batch, sphere=True)


def gaussian_estimator(
    L: Loss, w: Any, *, eps: float = 1e-6, rng: np.random.Generator, batch: int = 1
) -> ZOEstimate:
    """``G = (L(w+εv) − L(w−εv))/(2ε)·v``, v ~ N(0, I) (no factor d: E[vvᵀ] = I), averaged over
    ``batch`` directions (2·batch calls). E[G] = ∇L + O(ε²); E‖G‖² ≈ (d+2)‖∇L‖²/batch."""
    return _random_estimate(L, w, eps, rng, batch, sphere=False)


def coordinate_estimator(
    L: Loss, w: Any, *, eps: float = 1e-6, rng: np.random.Generator | None = None, batch: int = 1
) -> ZOEstimate:
    """``G = Σ_i (L(w+εe_i) − L(w−εe_i))/(2ε)·e_i``: deterministic, error O(ε²) + round-off
    O(ε_mach|L|/ε) per coordinate, 2d calls. ``rng`` and ``batch`` are ignored (same signature
    as the random estimators)."""
    result = fd_grad(L, _as_float(w), method="central", eps=eps)
    return ZOEstimate(result.value, result.n_calls)


ESTIMATORS: dict[str, Callable[..., ZOEstimate]] = {
    "sphere": sphere_estimator,
    "gaussian": gaussian_estimator,
    "coordinate": coordinate_estimator,
}


def _step_size(lr: float | Callable[[int], float], k: int) -> float:
    return float(lr(k)) if callable(lr) else float(lr)


def zo_gradient_descent(
    L: Loss,
    w0: Any,
    lr: float | Callable[[int], float],
    steps: int,
    *,
    estimator: str | Callable[..., ZOEstimate] = "sphere",
    rng: np.random.Generator | None = None,
    eps: float = 1e-6,
    batch: int = 1,
) -> Trajectory:
    """Gradient descent ``w_{k+1} = w_k − α_k G(w_k)`` with a zero-order estimate G.

    ``lr`` is α (a float) or a schedule ``k ↦ α_k``; ``estimator`` is a name from
    :data:`ESTIMATORS` or a function ``(L, w, *, eps, rng, batch) -> ZOEstimate``. Only the
    estimator's calls of L are counted; ``losses`` are recorded for plotting, outside the count.
    """
    est = ESTIMATORS[estimator] if isinstance(estimator, str) else estimator
    if rng is None and est is not coordinate_estimator:
        raise TypeError(
            "zo_gradient_descent with a random estimator needs a seeded generator: "
            "rng=np.random.default_rng(seed)"
        )
    w = _as_float(w0).copy()
    losses, calls = [float(L(w))], [0]
    for k in range(steps):
        g, n = est(L, w, eps=eps, rng=rng, batch=batch)
        w = w - _step_size(lr, k) * g
        losses.append(float(L(w)))
        calls.append(calls[-1] + n)
    return Trajectory(w, np.array(losses), np.array(calls))


def gradient_descent(
    L: Loss,
    grad_L: Callable[[np.ndarray], Any],
    w0: Any,
    lr: float | Callable[[int], float],
    steps: int,
) -> Trajectory:
    """Plain gradient descent ``w_{k+1} = w_k − α_k ∇L(w_k)`` with a given gradient function
    (e.g. ``reference_impl.grad(L)``); ``calls[k] = k`` gradient evaluations."""
    w = _as_float(w0).copy()
    losses = [float(L(w))]
    for k in range(steps):
        w = w - _step_size(lr, k) * np.asarray(grad_L(w))
        losses.append(float(L(w)))
    return Trajectory(w, np.array(losses), np.arange(steps + 1))
