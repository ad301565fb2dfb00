"""The models the benchmarks share, written once for any NumPy-like module ``xp``.

The MLP of the issue: 784-512-512-10, batch 256, tanh, softmax cross-entropy, float64.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

SIZES = (784, 512, 512, 10)
BATCH = 256


def init_mlp(
    seed: int = 0, sizes: tuple[int, ...] = SIZES, batch: int = BATCH
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    """Parameters ``[(W, b), …]``, inputs ``x`` (batch × 784) and one-hot labels ``y``."""
    rng = np.random.default_rng(seed)
    params = [
        (rng.standard_normal((m, n)) / np.sqrt(m), np.zeros(n))
        for m, n in itertools.pairwise(sizes)
    ]
    x = rng.standard_normal((batch, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    return params, x, y


def mlp_loss(xp: Any, logsumexp: Any, params: Any, x: Any, y: Any) -> Any:
    """Mean softmax cross-entropy of a tanh MLP; ``xp`` is numpy-like, ``logsumexp`` matches it."""
    h = x
    for W, b in params[:-1]:
        h = xp.tanh(h @ W + b)
    W, b = params[-1]
    logits = h @ W + b
    return xp.mean(logsumexp(logits, axis=1) - xp.sum(logits * y, axis=1))


def mlp_grad_numpy(params: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, list]:
    """Hand-written backprop of :func:`mlp_loss` (the floor every AD system is measured against)."""
    hs = [x]
    for W, b in params[:-1]:
        hs.append(np.tanh(hs[-1] @ W + b))
    W, b = params[-1]
    logits = hs[-1] @ W + b
    m = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - m)
    s = e.sum(axis=1, keepdims=True)
    loss = np.mean(np.log(s[:, 0]) + m[:, 0] - np.sum(logits * y, axis=1))
    g = (e / s - y) / x.shape[0]
    grads = []
    for i in range(len(params) - 1, -1, -1):
        W, _ = params[i]
        grads.append((hs[i].T @ g, g.sum(axis=0)))
        if i:
            g = (g @ W.T) * (1.0 - hs[i] ** 2)
    return loss, grads[::-1]
