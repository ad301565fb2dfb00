"""Every public function of ``ri.random``, ``ri.nn``, ``ri.nn.initializers``,
``ri.scipy.stats`` and ``ravel_pytree`` returns the engine's immutable ``Array``, as JAX does:
``p -= lr * g`` rebinds ``p`` (the old value and every list holding it are unchanged),
``x[i] = v`` raises and names ``.at``, and no result shares memory with a caller's array.

The tables below must name every public function (a new one without an entry fails), and
``ri.tree.map``/``leaves`` are checked to keep JAX's behaviour of handing back the caller's own
leaves (JAX converts nothing there either)."""

from __future__ import annotations

import functools
import itertools
import types
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import reference_impl as ri
from reference_impl.array import Array
from reference_impl.flatten_util import ravel_pytree

K = np.array([0, 42], dtype=np.uint32)
X = np.linspace(-2.0, 2.0, 12).reshape(3, 4)
P = np.array([0.2, 0.3, 0.5])

RANDOM: dict[str, Callable[[], Any]] = {
    "PRNGKey": lambda: ri.random.PRNGKey(3),
    "key": lambda: ri.random.key(3),
    "key_data": lambda: ri.random.key_data(K),
    "wrap_key_data": lambda: ri.random.wrap_key_data(K),
    "split": lambda: ri.random.split(K, 3),
    "fold_in": lambda: ri.random.fold_in(K, 7),
    "bits": lambda: ri.random.bits(K, (3,)),
    "uniform": lambda: ri.random.uniform(K, (3,)),
    "normal": lambda: ri.random.normal(K, (3,)),
    "truncated_normal": lambda: ri.random.truncated_normal(K, -1.0, 1.0, (3,)),
    "bernoulli": lambda: ri.random.bernoulli(K, 0.3, (3,)),
    "rademacher": lambda: ri.random.rademacher(K, (3,)),
    "randint": lambda: ri.random.randint(K, (3,), 0, 9),
    "permutation": lambda: ri.random.permutation(K, X),
    "choice": lambda: ri.random.choice(K, X[0], (2,), p=np.array([0.2, 0.3, 0.5, 0.0])),
    "categorical": lambda: ri.random.categorical(K, X),
    "gumbel": lambda: ri.random.gumbel(K, (3,)),
    "exponential": lambda: ri.random.exponential(K, (3,)),
    "laplace": lambda: ri.random.laplace(K, (3,)),
    "multivariate_normal": lambda: ri.random.multivariate_normal(K, P, np.eye(3)),
    "gamma": lambda: ri.random.gamma(K, P),
    "loggamma": lambda: ri.random.loggamma(K, P),
    "beta": lambda: ri.random.beta(K, P, P + 1),
    "dirichlet": lambda: ri.random.dirichlet(K, P),
}
NN: dict[str, Callable[[], Any]] = {
    name: functools.partial(lambda n: getattr(ri.nn, n)(X), name)
    for name in ri.nn.__all__
    if name not in ("initializers", "one_hot", "glu")
}
NN["one_hot"] = lambda: ri.nn.one_hot(np.array([0, 2, 1]), 3)
NN["glu"] = lambda: ri.nn.glu(X)
INIT: dict[str, Callable[[], Any]] = {
    "zeros": lambda: ri.nn.initializers.zeros(K, (2, 3)),
    "ones": lambda: ri.nn.initializers.ones(K, (2, 3)),
    "constant": lambda: ri.nn.initializers.constant(0.5)(K, (2, 3)),
    "variance_scaling": lambda: ri.nn.initializers.variance_scaling(1.0, "fan_in", "normal")(
        K, (2, 3)
    ),
} | {
    name: functools.partial(lambda n: getattr(ri.nn.initializers, n)()(K, (2, 3)), name)
    for name in ri.nn.initializers.__all__
    if name not in ("zeros", "ones", "constant", "variance_scaling")
}
STATS: dict[str, Callable[[], Any]] = {
    f"{dist}.{fn}": (lambda d=dist, f=fn, a=args: getattr(getattr(ri.scipy.stats, d), f)(*a))
    for dist, fns, args in [
        ("norm", ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf"), (X,)),
        ("norm", ("ppf",), (P,)),
        ("multivariate_normal", ("pdf", "logpdf"), (X[:, :3], P, np.eye(3))),
        ("t", ("pdf", "logpdf"), (X, 3.0)),
        ("uniform", ("pdf", "logpdf", "cdf"), (X,)),
        ("bernoulli", ("pmf", "logpmf"), (np.array([0, 1, 1]), P)),
        ("poisson", ("pmf", "logpmf"), (np.array([0, 1, 4]), P)),
    ]
    for fn in fns
}
RAVEL: dict[str, Callable[[], Any]] = {
    "ravel": lambda: ravel_pytree({"a": X, "b": [P]})[0],
    "ravel_one_leaf": lambda: ravel_pytree(X[0])[0],
    "ravel_empty": lambda: ravel_pytree(())[0],
    "unravel": lambda: ravel_pytree({"a": X, "b": [P]})[1](np.arange(15.0))["b"][0],
}
ALL = RANDOM | {f"nn.{k}": v for k, v in NN.items()} | {f"init.{k}": v for k, v in INIT.items()}
ALL |= {f"stats.{k}": v for k, v in STATS.items()} | RAVEL


def test_every_public_function_is_listed() -> None:
    public = [n for n in ri.random.__all__ if isinstance(getattr(ri.random, n), types.FunctionType)]
    assert sorted(set(public) - set(RANDOM)) == [], "random functions without an entry"
    assert sorted(set(ri.nn.__all__) - set(NN) - {"initializers"}) == [], "nn functions"
    assert sorted(set(ri.nn.initializers.__all__) - set(INIT)) == [], "initializers"
    listed = {k.split(".")[0] for k in STATS}
    assert sorted(set(ri.scipy.stats.__all__) - listed) == [], "stats distributions"


@pytest.mark.parametrize("name", sorted(ALL))
def test_results_are_immutable_arrays(name: str) -> None:
    out = ALL[name]()
    assert type(out) is Array, f"{name} returned {type(out).__name__}, not the engine's Array"
    assert not out.flags.writeable, f"{name}: the result is writeable"
    before = np.array(out)
    idx = (0,) * out.ndim
    with pytest.raises(TypeError, match=r"immutable.*x\.at\[idx\]\.set"):
        out[idx] = 1
    kept = [out]
    p = out
    if out.dtype == bool:
        p |= True
    else:
        p -= np.ones((), out.dtype)
    assert p is not out and np.array_equal(kept[0], before), (
        f"{name}: `p -= 1` (`p |= True`) must rebind p and leave the stored result unchanged"
    )


@pytest.mark.parametrize(
    "name, call, arg",
    [
        ("wrap_key_data", lambda a: ri.random.wrap_key_data(a), np.array([1, 2], np.uint32)),
        ("key_data", lambda a: ri.random.key_data(a), np.array([1, 2], np.uint32)),
        ("permutation of one row", lambda a: ri.random.permutation(K, a), np.ones(1)),
        ("ravel_pytree of one vector", lambda a: ravel_pytree(a)[0], np.arange(3.0)),
        ("nn.relu", lambda a: ri.nn.relu(a), np.arange(3.0)),
    ],
)
def test_results_never_alias_the_callers_array(name: str, call: Any, arg: np.ndarray) -> None:
    out = call(arg)
    before = np.array(out)
    arg[...] = 99
    assert np.array_equal(out, before), f"{name}: writing the argument changed the result"


def test_training_loop_keeps_every_step() -> None:
    """The silent failure of issue 19 item 3, with ``ri.random`` parameters."""
    p = ri.nn.initializers.normal(1.0)(K, (3,))
    path = [p]
    for _ in range(3):
        g = ri.grad(lambda q: ri.numpy.sum(ri.nn.softplus(q)))(p)
        p -= 0.1 * g
        path.append(p)
    steps = [np.linalg.norm(b - a) for a, b in itertools.pairwise(path)]
    assert all(s > 0 for s in steps), f"every stored step must differ: {steps}"


def test_tree_functions_hand_back_the_leaves_as_jax() -> None:
    import jax

    tree = {"a": X, "b": [P]}
    assert ri.tree.leaves(tree)[0] is X is jax.tree.leaves(tree)[0], "leaves are the caller's"
    mapped = ri.tree.map(lambda v: v, tree)
    assert mapped["a"] is X is jax.tree.map(lambda v: v, tree)["a"], "tree.map calls f only"
