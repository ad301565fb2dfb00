"""Alternative correct solutions of assignments 03, 04 and 05, written differently from the
instructor's (iterative instead of recursive, vectorised, helpers, a dict of rules, docstrings
that name JAX or torch). Each value redefines the task's functions in the solved notebook."""

ALTERNATIVES = {
    ("03_reverse_mode", "t3_1"): '''
_LOCAL = {
    "add": lambda a, b: (a + b, 1.0, 1.0),
    "sub": lambda a, b: (a - b, 1.0, -1.0),
    "mul": lambda a, b: (a * b, b, a),
    "div": lambda a, b: (a / b, 1.0 / b, -a / (b * b)),
}


def as_var(x):
    return x if isinstance(x, Var) else Var(x)


class Var:
    """A node, as torch.autograd records them."""

    __array_ufunc__ = None

    def __init__(self, value, parents=()):
        self.value = float(value)
        self.parents = tuple(parents)
        self.adj = 0.0

    def _binary(self, name, other, swap=False):
        a, b = (as_var(other), self) if swap else (self, as_var(other))
        value, da, db = _LOCAL[name](a.value, b.value)
        return Var(value, ((a, da), (b, db)))

    def __add__(self, o): return self._binary("add", o)
    def __radd__(self, o): return self._binary("add", o, True)
    def __sub__(self, o): return self._binary("sub", o)
    def __rsub__(self, o): return self._binary("sub", o, True)
    def __mul__(self, o): return self._binary("mul", o)
    def __rmul__(self, o): return self._binary("mul", o, True)
    def __truediv__(self, o): return self._binary("div", o)
    def __rtruediv__(self, o): return self._binary("div", o, True)
    def __neg__(self): return Var(-self.value, ((self, -1.0),))


def _elementary(f, df):
    def op(x):
        x = as_var(x)
        return Var(f(x.value), ((x, df(x.value)),))
    return op


log = _elementary(np.log, lambda v: 1.0 / v)
exp = _elementary(np.exp, np.exp)
sin = _elementary(np.sin, np.cos)
sqrt = _elementary(np.sqrt, lambda v: 0.5 / np.sqrt(v))
tanh = _elementary(np.tanh, lambda v: 1.0 - np.tanh(v) ** 2)
''',
    ("03_reverse_mode", "t3_2"): '''
def topological_order(output):
    """Iterative DFS with an explicit stack (no recursion limit)."""
    order, done, stack = [], set(), [(output, iter(p for p, _ in output.parents))]
    on_stack = {id(output)}
    while stack:
        node, parents = stack[-1]
        for p in parents:
            if id(p) not in done and id(p) not in on_stack:
                on_stack.add(id(p))
                stack.append((p, iter(q for q, _ in p.parents)))
                break
        else:
            stack.pop()
            done.add(id(node))
            order.append(node)
    return order
''',
    ("03_reverse_mode", "t3_3"): """
def backward(output, cotangent=1.0):
    nodes = topological_order(output)
    adj = {id(n): 0.0 for n in nodes}
    adj[id(output)] = cotangent
    for node in nodes[::-1]:
        for parent, local in node.parents:
            adj[id(parent)] = adj[id(parent)] + adj[id(node)] * local
    for node in nodes:
        node.adj = adj[id(node)]
""",
    ("03_reverse_mode", "t3_4"): '''
def lecture_reverse(w1, w2, L_bar=1.0):
    """Reverse mode by hand (what jax.vjp does)."""
    v1 = np.log(w1)
    v2 = w2 * v1
    v3 = np.sqrt(v2)
    bars = {"L": L_bar}
    bars["v3"] = L_bar
    bars["v2"] = L_bar + bars["v3"] * 0.5 / v3
    bars["v1"] = bars["v2"] * w2
    bars["w2"] = bars["v2"] * v1
    bars["w1"] = bars["v1"] / w1
    values = {"L": v2 + v3, "v3": v3, "v2": v2, "v1": v1, "w1": w1, "w2": w2}
    return {k: (values[k], bars[k]) for k in values}


def lecture_gradient(w1, w2):
    t = lecture_reverse(w1, w2)
    return t["w1"][1], t["w2"][1]
''',
    ("03_reverse_mode", "t3_5"): """
def _leaves(x):
    return [Var(v) for v in np.asarray(x, dtype=float)]


def _adjoints(xs):
    return np.array([v.adj for v in xs])


def grad(f):
    return lambda x: (lambda xs: (backward(f(xs)), _adjoints(xs))[1])(_leaves(x))


def vjp(f, x):
    xs = _leaves(x)
    outs = list(f(xs))

    def pullback(ct):
        total = 0.0
        for c, o in zip(ct, outs, strict=True):
            total = total + o * c
        backward(total)
        return _adjoints(xs)

    return np.array([o.value for o in outs]), pullback


def jacrev(f):
    def jacobian(x):
        xs = _leaves(x)
        outs = list(f(xs))
        J = np.zeros((len(outs), len(xs)))
        for i, out in enumerate(outs):
            for v in xs:
                v.adj = 0.0
            backward(out)
            J[i] = _adjoints(xs)
        return J
    return jacobian
""",
    ("03_reverse_mode", "t3_6"): '''
def mlp_forward(X, Ws):
    out = [X]
    for W in Ws:
        out = out + [np.tanh(out[-1] @ W)]
    return out


def mlp_backward(Ws, vs, V_bar):
    """The backward pass (as torch's autograd would run it), from the stored activations."""
    dWs = []
    g = V_bar
    for W, v_in, v_out in zip(reversed(Ws), reversed(vs[:-1]), reversed(vs[1:])):
        delta = g - g * v_out * v_out
        dWs.insert(0, np.dot(v_in.T, delta))
        g = np.dot(delta, W.T)
    return dWs, g
''',
    # QR instead of LU (one factorisation, backward stable: right on ill-conditioned A too)
    ("04_matrix_adjoints", "t4_1"): """
def solve_jvp(primals, tangents):
    (A, b), (A_dot, b_dot) = primals, tangents
    Q, R = np.linalg.qr(A)  # A = QR: A⁻¹ v = R⁻¹ Qᵀ v
    x = scipy.linalg.solve_triangular(R, Q.T @ b)
    rhs = b_dot - np.matmul(A_dot, x)
    return x, scipy.linalg.solve_triangular(R, Q.T @ rhs)
""",
    ("04_matrix_adjoints", "t4_2"): '''
def solve_fwd(A, b):
    Q, R = np.linalg.qr(A)
    x = scipy.linalg.solve_triangular(R, Q.T @ b)
    return x, {"qr": (Q, R), "x": x}


def solve_bwd(residuals, x_bar):
    """Like jax's custom_vjp bwd: A⁻ᵀ x̄ = Q R⁻ᵀ x̄, one triangular solve with the saved R."""
    Q, R = residuals["qr"]
    b_bar = Q @ scipy.linalg.solve_triangular(R, x_bar, trans="T")
    x = residuals["x"]
    A_bar = -(b_bar.reshape(len(b_bar), -1) @ x.reshape(len(x), -1).T)
    return A_bar, b_bar
''',
    ("04_matrix_adjoints", "t4_3"): """
def dot_product_test(jvp_fn, vjp_fn, primals, trials=3, rtol=1e-8, seed=0):
    gen = np.random.default_rng(seed)
    results = []
    for _ in range(trials):
        ts = [gen.standard_normal(np.shape(p)) for p in primals]
        out, out_dot = jvp_fn(primals, tuple(ts))
        xb = gen.standard_normal(np.shape(out))
        adj = vjp_fn(primals, xb)
        left = float(np.vdot(xb, out_dot))
        right = sum(float(np.vdot(a, t)) for a, t in zip(adj, ts, strict=True))
        tol = rtol * (np.linalg.norm(xb) * np.linalg.norm(out_dot)
                      + sum(np.linalg.norm(a) * np.linalg.norm(t) for a, t in zip(adj, ts)))
        results.append(abs(left - right) <= tol)
        if not results[-1]:
            break
    return bool(all(results))
""",
    ("04_matrix_adjoints", "t4_4"): """
def svd_values_jvp(U, s, Vt, W_dot):
    k = len(s)
    return np.einsum("ik,ij,kj->k", U[:, :k], W_dot, Vt[:k])


def svd_values_vjp(U, s, Vt, s_bar):
    k = len(s)
    return U[:, :k] @ np.diag(s_bar) @ Vt[:k]
""",
    ("04_matrix_adjoints", "t4_5"): """
def svd_vjp(U, s, Vt, U_bar, s_bar, Vt_bar):
    m, n, k = U.shape[0], Vt.shape[1], len(s)
    V, V_bar = Vt.T, Vt_bar.T
    s2 = s**2
    F = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            if i != j:
                F[i, j] = 1.0 / (s2[j] - s2[i])
    E, G = U.T @ U_bar, V.T @ V_bar
    J = F * (E - E.T)
    K = F * (G - G.T)
    core = J @ np.diag(s) + np.diag(s_bar) + np.diag(s) @ K
    W_bar = U @ core @ Vt
    S_inv = np.diag(1.0 / s)
    W_bar += (np.eye(m) - U @ U.T) @ U_bar @ S_inv @ Vt
    W_bar += U @ S_inv @ V_bar.T @ (np.eye(n) - V @ V.T)
    return W_bar
""",
    ("05_second_order_and_memory", "t5_1"): '''
def hvp_fwd_over_rev(grad_f, x, v):
    """Forward over reverse, as jax.jvp(jax.grad(f), (x,), (v,))."""
    return jvp(lambda y: grad_f(y), (x,), (v,))[1]


def hvp_rev_over_rev(grad_f, x, v):
    def scalar(y):
        return np.vdot(grad_f(y), v)
    return grad(scalar)(x)
''',
    ("05_second_order_and_memory", "t5_2"): """
def hessian_from_hvp(hvp, x):
    shape = np.shape(x)
    n = int(np.prod(shape, dtype=int))
    cols = [np.ravel(hvp(np.eye(n)[j].reshape(shape))) for j in range(n)]
    return np.column_stack(cols).reshape(shape + shape) if n else np.zeros(shape + shape)
""",
    ("05_second_order_and_memory", "t5_3"): """
def hutchinson(matvec, n, num_probes, rng):
    probes = rng.integers(0, 2, size=(num_probes, n)) * 2.0 - 1.0
    samples = np.array([p @ matvec(p) for p in probes])
    mean = samples.sum() / num_probes
    var = ((samples - mean) ** 2).sum() / (num_probes - 1)
    return mean, np.sqrt(var / num_probes)
""",
    ("05_second_order_and_memory", "t5_4"): """
def chain_vjp(step, step_vjp, x0, n, xn_bar):
    def go(k, x):
        if k == n:
            return x, xn_bar
        xn, y_bar = go(k + 1, step(k, x))
        return xn, step_vjp(k, x, y_bar)
    if n < 500:
        return go(0, x0)
    states = [x0]
    for k in range(n):
        states.append(step(k, states[k]))
    g = xn_bar
    for k in range(n - 1, -1, -1):
        g = step_vjp(k, states[k], g)
    return states[n], g
""",
    ("05_second_order_and_memory", "t5_5"): """
import math


def chain_vjp_sqrt(step, step_vjp, x0, n, xn_bar):
    s = max(1, math.isqrt(n - 1) + 1) if n else 1
    starts = list(range(0, n, s))
    saved, x = [], x0
    for k in range(n):
        if k % s == 0:
            saved.append(x)
        x = step(k, x)
    g = xn_bar
    for start in reversed(starts):
        seg = [saved.pop()]
        end = min(n, start + s)
        for k in range(start, end - 1):
            seg.append(step(k, seg[-1]))
        for k in range(end - 1, start - 1, -1):
            g = step_vjp(k, seg.pop(), g)
    return x, g
""",
}
