"""Real JAX programs, transcribed from JAX's examples and tutorials, run unchanged on ``jax`` and
on ``reference_impl`` (the same code through a module alias ``J``) with equal results in
float64: training loops with ``random`` initialisation and ``scan``, a Gaussian process, MAML,
DP-SGD, Newton's method, attention, custom rules, pytrees, and the script boilerplate."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pytest

import reference_impl as ri


@pytest.fixture(scope="module")
def jax():
    import jax
    import jax.flatten_util
    import jax.scipy.stats

    jax.config.update("jax_enable_x64", True)
    return jax


def same(ours: Any, theirs: Any, what: str, rtol: float = 1e-9) -> None:
    import jax

    lo, to = ri.tree_util.tree_flatten(ours)
    lt, tt = jax.tree_util.tree_flatten(theirs)
    assert len(lo) == len(lt), f"{what}: {to} vs JAX {tt}"
    for k, (a, b) in enumerate(zip(lo, lt, strict=True)):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, f"{what}, leaf {k}: shape {a.shape} vs JAX {b.shape}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12, err_msg=f"{what}, leaf {k}")


def run(jax: Any, program: Any, rtol: float = 1e-9) -> None:
    """The program on the engine against the same program on JAX, jitted: the same code and
    numbers as eager JAX, at half its CPU time (eagerly JAX compiles every primitive, and
    every scan and cond body, on its own)."""
    same(program(ri), jax.jit(partial(program, jax))(), program.__name__, rtol)


# --- 1. an MLP trained by a scan over steps (JAX's README / "MNIST from scratch") ---------------
def mlp_training(J: Any) -> Any:
    jnp = J.numpy
    key = J.random.PRNGKey(0)
    k_data, k_w1, k_w2, k_noise = J.random.split(key, 4)
    x = J.random.normal(k_data, (32, 4))
    y = jnp.sin(x @ jnp.array([1.0, -2.0, 0.5, 0.3])) + 0.1 * J.random.normal(k_noise, (32,))
    init = J.nn.initializers.glorot_normal()
    params = {
        "w1": init(k_w1, (4, 16)),
        "b1": jnp.zeros(16),
        "w2": J.random.normal(k_w2, (16,)) * 0.1,
        "b2": 0.0,
    }

    def predict(p, x):
        return J.nn.gelu(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]

    def loss(p):
        return jnp.mean((predict(p, x) - y) ** 2)

    def step(p, _):
        value, g = J.value_and_grad(loss)(p)
        return J.tree.map(lambda a, b: a - 0.1 * b, p, g), value

    params, losses = J.lax.scan(step, params, None, length=25)
    return params, losses


# --- 2. Gaussian process marginal likelihood (JAX's examples/gaussian_process_regression) --------
def gaussian_process(J: Any) -> Any:
    jnp = J.numpy
    k1, k2 = J.random.split(J.random.PRNGKey(42))
    x = jnp.sort(J.random.uniform(k1, (12,), minval=-3.0, maxval=3.0))
    y = jnp.sin(x) + 0.1 * J.random.normal(k2, (12,))

    def neg_log_marginal(params):
        amp, ls, noise = jnp.exp(params["amp"]), jnp.exp(params["ls"]), jnp.exp(params["noise"])
        d = (x[:, None] - x[None, :]) / ls
        k = amp * jnp.exp(-0.5 * d**2) + (noise + 1e-6) * jnp.eye(x.shape[0])
        chol = jnp.linalg.cholesky(k)
        alpha = jnp.linalg.solve(k, y)
        return (
            0.5 * y @ alpha
            + jnp.sum(jnp.log(jnp.diag(chol)))
            + 0.5 * x.shape[0] * jnp.log(2 * jnp.pi)
        )

    params = {"amp": 0.0, "ls": 0.0, "noise": -1.0}

    def body(i, p):
        return J.tree.map(lambda a, g: a - 0.05 * g, p, J.grad(neg_log_marginal)(p))

    params = J.lax.fori_loop(0, 20, body, params)
    return neg_log_marginal(params), params, J.hessian(neg_log_marginal)(params)


# --- 3. MAML on sinusoids (Eric Jang's MAML in JAX tutorial) -------------------------------------
def maml(J: Any) -> Any:
    jnp = J.numpy
    keys = J.random.split(J.random.PRNGKey(3), 3)
    params = [
        (J.random.normal(keys[0], (1, 8)) * 0.5, jnp.zeros(8)),
        (J.random.normal(keys[1], (8, 1)) * 0.5, jnp.zeros(1)),
    ]
    amps = J.random.uniform(keys[2], (4,), minval=0.5, maxval=2.0)
    xs = jnp.linspace(-2.0, 2.0, 10)[None, :, None] * jnp.ones((4, 1, 1))
    ys = amps[:, None, None] * jnp.sin(xs)

    def net(p, x):
        for w, b in p[:-1]:
            x = jnp.tanh(x @ w + b)
        w, b = p[-1]
        return x @ w + b

    def loss(p, x, y):
        return jnp.mean((net(p, x) - y) ** 2)

    def inner(p, x, y, alpha=0.1):
        g = J.grad(loss)(p, x, y)
        return J.tree.map(lambda a, b: a - alpha * b, p, g)

    def maml_loss(p, x, y):
        return loss(inner(p, x[:5], y[:5]), x[5:], y[5:])

    def batch_loss(p):
        return jnp.mean(J.vmap(partial(maml_loss, p))(xs, ys))

    value, g = J.value_and_grad(batch_loss)(params)
    return value, g


# --- 4. DP-SGD: per-example gradients, clipping, noise (examples/differentially_private_sgd)
def dp_sgd(J: Any) -> Any:
    jnp = J.numpy
    k_x, k_w, k_noise = J.random.split(J.random.PRNGKey(7), 3)
    x = J.random.normal(k_x, (16, 3))
    y = (x[:, 0] - x[:, 1] > 0).astype(jnp.float64)
    params = {"w": J.random.normal(k_w, (3,)), "b": 0.1}

    def loss(p, xi, yi):
        logit = xi @ p["w"] + p["b"]
        return -(yi * J.nn.log_sigmoid(logit) + (1 - yi) * J.nn.log_sigmoid(-logit))

    per_example = J.vmap(J.grad(loss), in_axes=(None, 0, 0))(params, x, y)
    norms = jnp.sqrt(
        sum(jnp.sum(g.reshape(16, -1) ** 2, axis=1) for g in J.tree.leaves(per_example))
    )
    factor = jnp.minimum(1.0, 0.5 / (norms + 1e-12))
    clipped = J.tree.map(lambda g: g * factor.reshape((16,) + (1,) * (g.ndim - 1)), per_example)
    summed = J.tree.map(lambda g: jnp.sum(g, axis=0), clipped)
    leaves, tree = J.tree_util.tree_flatten(summed)
    noise_keys = J.random.split(k_noise, len(leaves))
    noisy = [
        g + 0.3 * J.random.normal(k, jnp.shape(g)) for g, k in zip(leaves, noise_keys, strict=True)
    ]
    return per_example, J.tree_util.tree_unflatten(tree, noisy), norms


# --- 5. Newton's method with the Hessian (JAX's autodiff cookbook) ------------------------------
def newton(J: Any) -> Any:
    jnp = J.numpy
    k1, k2 = J.random.split(J.random.PRNGKey(11))
    a = J.random.normal(k1, (20, 3))
    t = J.random.bernoulli(k2, 0.4, (20,)).astype(jnp.float64)

    def f(w):
        z = a @ w
        return jnp.sum(J.nn.softplus(z) - t * z) + 0.5 * jnp.sum(w**2)

    def step(i, w):
        return w - jnp.linalg.solve(J.hessian(f)(w), J.grad(f)(w))

    w = J.lax.fori_loop(0, 6, step, jnp.zeros(3))
    return w, f(w), J.grad(f)(w)


# --- 6. attention with a causal mask and softmax ------------------------------------------------
def attention(J: Any) -> Any:
    jnp = J.numpy
    ks = J.random.split(J.random.PRNGKey(5), 4)
    x = J.random.normal(ks[0], (6, 8))
    init = J.nn.initializers.lecun_normal()
    params = {"q": init(ks[1], (8, 4)), "k": init(ks[2], (8, 4)), "v": init(ks[3], (8, 4))}

    def attend(p, x):
        q, k, v = x @ p["q"], x @ p["k"], x @ p["v"]
        scores = q @ k.T / jnp.sqrt(4.0)
        mask = jnp.tril(jnp.ones((6, 6))) > 0
        weights = J.nn.softmax(jnp.where(mask, scores, -1e9), axis=-1)
        return weights @ v

    def loss(p):
        return jnp.sum(J.nn.standardize(attend(p, x), axis=-1) ** 2 * jnp.arange(4.0))

    return attend(params, x), J.grad(loss)(params)


# --- 7. custom_vjp gradient clipping and a custom_jvp (JAX's custom derivative rules tutorial) --
def custom_rules(J: Any) -> Any:
    jnp = J.numpy

    @J.custom_vjp
    def clip_gradient(lo, hi, x):
        return x

    def fwd(lo, hi, x):
        return x, (lo, hi)

    def bwd(res, g):
        lo, hi = res
        return (None, None, jnp.clip(g, lo, hi))

    clip_gradient.defvjp(fwd, bwd)

    @J.custom_jvp
    def log1pexp(x):
        return jnp.log(1.0 + jnp.exp(x))

    log1pexp.defjvps(lambda t, ans, x: t * (1 - 1 / (1 + jnp.exp(x))))

    def f(x):
        return jnp.sum(jnp.sin(clip_gradient(-0.75, 0.75, 3.0 * x)) + log1pexp(x))

    xs = jnp.linspace(-3.0, 3.0, 7)
    return J.grad(f)(xs), J.vmap(J.grad(lambda v: log1pexp(v) * v))(xs)


# --- 8. pytree parameters: a registered class, tree.map and ravel_pytree -----------------------
def pytree_params(J: Any) -> Any:
    jnp = J.numpy

    @J.tree_util.register_pytree_node_class
    class Linear:
        def __init__(self, w, b):
            self.w, self.b = w, b

        def __call__(self, x):
            return x @ self.w + self.b

        def tree_flatten(self):
            return (self.w, self.b), None

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(*children)

    k1, k2 = J.random.split(J.random.PRNGKey(9))
    layers = [
        Linear(J.random.normal(k1, (3, 5)) * 0.3, jnp.zeros(5)),
        Linear(J.random.normal(k2, (5, 2)) * 0.3, jnp.ones(2)),
    ]
    x = jnp.arange(12.0).reshape(4, 3) / 10.0

    def loss(ls):
        h = x
        for layer in ls:
            h = jnp.tanh(layer(h))
        return jnp.sum(h**2)

    for _ in range(3):
        g = J.grad(loss)(layers)
        layers = J.tree.map(lambda p, d: p - 0.5 * d, layers, g)
    flat, unravel = J.flatten_util.ravel_pytree(layers)
    g_flat = J.grad(lambda v: loss(unravel(v)))(flat)
    return flat, g_flat, J.tree_util.tree_reduce(lambda a, b: a + jnp.sum(b), layers, 0.0)


# --- 9. an RNN with reverse scan, cond and switch inside ----------------------------------------
def rnn_control_flow(J: Any) -> Any:
    jnp = J.numpy
    k1, k2 = J.random.split(J.random.PRNGKey(1))
    xs = J.random.normal(k1, (7, 3))
    w = J.random.normal(k2, (3, 3)) * 0.5

    def model(w):
        def cell(h, x):
            h = jnp.tanh(h @ w + x)
            h = J.lax.cond(jnp.sum(x) > 0, lambda v: v * 1.5, lambda v: v - 0.1, h)
            out = J.lax.switch(1, [jnp.sin, jnp.cos, jnp.tanh], h)
            return h, out

        h, outs = J.lax.scan(cell, jnp.zeros(3), xs, reverse=True)
        return jnp.sum(h) + jnp.sum(outs**2), outs

    (value, outs), g = J.value_and_grad(model, has_aux=True)(w)
    squares = J.lax.map(lambda row: jnp.sum(row**2), xs)
    return value, outs, g, squares, J.jacfwd(lambda v: model(v)[0])(w)


# --- 10. dropout, sampling and likelihoods with random keys and scipy.stats ----------------------
def sampling(J: Any) -> Any:
    jnp = J.numpy
    key = J.random.PRNGKey(2024)
    k_drop, k_cat, k_perm, k_x = J.random.split(key, 4)
    x = J.random.normal(k_x, (5, 4))
    keep = J.random.bernoulli(k_drop, 0.8, x.shape)
    dropped = jnp.where(keep, x / 0.8, 0.0)
    logits = jnp.log(jnp.array([0.1, 0.2, 0.3, 0.4]))
    draws = J.random.categorical(k_cat, logits, shape=(20,))
    perm = J.random.permutation(k_perm, 10)
    idx = J.random.choice(J.random.fold_in(key, 3), 10, (3,), replace=False)

    def nll(mu, log_sigma):
        return -jnp.sum(J.scipy.stats.norm.logpdf(x, mu, jnp.exp(log_sigma)))

    return dropped, draws, perm, idx, J.grad(nll, (0, 1))(0.2, -0.1)


PROGRAMS = [
    mlp_training,
    gaussian_process,
    maml,
    dp_sgd,
    newton,
    attention,
    custom_rules,
    pytree_params,
    rnn_control_flow,
    sampling,
]


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.__name__ for p in PROGRAMS])
def test_program_runs_the_same_on_jax_and_the_engine(jax, program) -> None:
    run(jax, program)


def test_script_boilerplate(jax, capsys) -> None:
    def script(J: Any) -> Any:
        J.config.update("jax_enable_x64", True)
        x = J.device_put(np.arange(3.0))
        y = (
            J.jit(lambda v: J.numpy.sum(v**2))(x).block_until_ready()
            if hasattr(J.jit(lambda v: v)(x), "block_until_ready")
            else J.block_until_ready(J.jit(lambda v: J.numpy.sum(v**2))(x))
        )
        J.debug.print("y = {y}", y=y)
        return J.device_get(y), J.block_until_ready({"a": x})

    same(script(ri), script(jax), "boilerplate")
    out = capsys.readouterr().out.splitlines()
    assert out == ["y = 5.0", "y = 5.0"], f"debug.print printed {out}"
    assert ri.devices()[0].platform == "cpu" and ri.default_backend() == "cpu"
    with pytest.raises(AttributeError, match="Unrecognized config option: jax_enable_x65"):
        ri.config.update("jax_enable_x65", True)
    assert ri.config.jax_enable_x64 is True
    original = np.arange(3.0)
    copy = ri.device_put(original)
    original[0] = 10.0
    assert copy[0] == 0.0, "device_put must not alias the caller's array"


def test_make_jaxpr_lists_the_primitives() -> None:
    import reference_impl.numpy as rnp

    jaxpr = ri.make_jaxpr(lambda x, y: rnp.sum(rnp.sin(x) * y + 2.0))(np.ones(3), 2.0)
    assert str(jaxpr) == (
        "{ lambda ; a:f64[3] b:f64[]. let\n"
        "    c:f64[3] = sin a\n"
        "    d:f64[3] = multiply c b\n"
        "    e:f64[3] = add d 2.0:f64[]\n"
        "    f:f64[] = sum[axes=(0,), keepdims=False] e\n"
        "  in (f,) }"
    ), str(jaxpr)
    assert [e[1] for e in jaxpr.eqns] == ["sin", "multiply", "add", "sum"]
    unrolled = ri.make_jaxpr(lambda x: ri.lax.fori_loop(0, 3, lambda i, v: rnp.sin(v), x))(1.0)
    assert [e[1] for e in unrolled.eqns] == ["sin"] * 3, "loops are unrolled for the arguments"
