"""Alternative correct solutions that keep state (issue 22): caches keyed by everything the
result depends on, preallocated workspaces whose results are copied out, bases and factors
computed once per size, a closure memo per point. Each keeps full marks
(``tests/checks/test_semantic_alternatives.py``)."""

ALTERNATIVES = {
    # the basis of R^n made once per size and reused (never handed out)
    ("02_forward_mode", "t2_5"): """
_BASES = {}


def _basis(n):
    if n not in _BASES:
        _BASES[n] = np.eye(n)
        _BASES[n].flags.writeable = False
    return _BASES[n]


def jacfwd(f):
    def jacobian(x):
        x = np.asarray(x, dtype=float)
        cols = [np.asarray(jvp(f, (x,), (e.reshape(x.shape),))[1]) for e in _basis(x.size)]
        return np.stack(cols, axis=-1).reshape(cols[0].shape + x.shape)

    return jacobian
""",
    # exp memoised by (value, tangent): correctly keyed
    ("02_forward_mode", "t2_1"): """
_EXP_MEMO = {}


def exp(x):
    if not is_dual(x):
        return np.exp(x)
    key = (type(x), repr(x.value), repr(x.tangent))
    if key not in _EXP_MEMO:
        e = np.exp(x.value)
        _EXP_MEMO[key] = (e, e * x.tangent)
    e, t = _EXP_MEMO[key]
    return type(x)(e, t)
""",
    # an explicit stack instead of recursion; state local to the call
    ("03_reverse_mode", "t3_2"): """
def topological_order(output):
    order, seen, stack = [], {id(output)}, [(output, iter(output.parents))]
    while stack:
        node, parents = stack[-1]
        for parent, _ in parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append((parent, iter(parent.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order
""",
    # the lecture's table memoised by (w1, w2, L_bar)
    ("03_reverse_mode", "t3_4"): """
_TABLES = {}


def lecture_gradient(w1, w2):
    key = (float(w1), float(w2))
    if key not in _TABLES:
        table = lecture_reverse(w1, w2, 1.0)
        _TABLES[key] = (table["w1"][1], table["w2"][1])
    return _TABLES[key]
""",
    # the gradient memoised by (w1, w2): the passes are made once per point
    ("02_forward_mode", "t2_2"): """
_GRADS = {}


def lecture_gradient(w1, w2):
    key = (float(w1), float(w2))
    if key not in _GRADS:
        _GRADS[key] = (lecture_forward(w1, w2, 1.0, 0.0)["L"][1],
                       lecture_forward(w1, w2, 0.0, 1.0)["L"][1])
    return _GRADS[key]
""",
    # a workspace per shape for the differences; the result is a fresh array
    ("01_finite_differences", "t1_4"): """
_WORK = {}


def _diffs(W):
    buf = _WORK.setdefault(W.shape, np.empty((W.shape[0], W.shape[0], W.shape[1])))
    np.subtract(W[:, None, :], W[None, :, :], out=buf)
    return buf


def mds_loss(W, D):
    R = np.sum(_diffs(W) ** 2, axis=-1) - D
    return float(np.sum(R * R))


def mds_grad(W, D):
    diff = _diffs(W)
    R = np.sum(diff**2, axis=-1) - D
    return 8 * np.einsum("kj,kjd->kd", R, diff)
""",
    # the factorisation memoised by the bytes, shape and dtype of A
    ("04_matrix_adjoints", "t4_1"): """
_FACTORS = {}


def solve_jvp(primals, tangents):
    A, b = primals
    A_dot, b_dot = tangents
    A = np.asarray(A, dtype=float)
    key = (A.shape, A.tobytes())
    if key not in _FACTORS:
        _FACTORS.clear()  # keep one: a new matrix replaces the old
        _FACTORS[key] = lu_factor(A)
    lu = _FACTORS[key]
    x = lu_solve(lu, b)
    return x, lu_solve(lu, b_dot - A_dot @ x)
""",
    # a preallocated output per shape, copied out
    ("04_matrix_adjoints", "t4_4"): """
_OUT = {}


def svd_values_jvp(U, s, Vt, W_dot):
    k = len(s)
    return np.einsum("ik,ij,jk->k", U[:, :k], W_dot, Vt[:k].T)


def svd_values_vjp(U, s, Vt, s_bar):
    k = len(s)
    shape = (U.shape[0], Vt.shape[1])
    out = _OUT.setdefault(shape, np.empty(shape))
    np.matmul(U[:, :k] * s_bar, Vt[:k], out=out)
    return out.copy()
""",
    # one unit-vector buffer reused, every column copied into H
    ("05_second_order_and_memory", "t5_2"): """
def hessian_from_hvp(hvp, x):
    x = np.asarray(x, dtype=float)
    n = x.size
    columns = []
    for j in range(n):
        e = np.zeros(x.shape)
        e.flat[j] = 1.0
        columns.append(np.array(hvp(e), dtype=float).reshape(n))
    return np.stack(columns, axis=1).reshape(x.shape + x.shape)
""",
    # checkpoints in a list of (index, state), local to the call
    ("05_second_order_and_memory", "t5_5"): """
def chain_vjp_sqrt(step, step_vjp, x0, n, xn_bar):
    s = max(1, int(np.ceil(np.sqrt(n))))
    saved = []
    x = x0
    for k in range(n):
        if k % s == 0:
            saved.append((k, x))
        x = step(k, x)
    x_bar = xn_bar
    while saved:
        start, state = saved.pop()
        stop = min(start + s, n)
        seg = [state]
        for k in range(start, stop - 1):
            seg.append(step(k, seg[-1]))
        for k in range(stop - 1, start - 1, -1):
            x_bar = step_vjp(k, seg[k - start], x_bar)
    return x, x_bar
""",
    # the forward states kept only for the current call; backward walks them in reverse
    ("05_second_order_and_memory", "t5_4"): """
def chain_vjp(step, step_vjp, x0, n, xn_bar):
    states = [None] * (n + 1)
    states[0] = x0
    for k in range(n):
        states[k + 1] = step(k, states[k])
    x_bar = xn_bar
    for k in range(n - 1, -1, -1):
        x_bar = step_vjp(k, states[k], x_bar)
    return states[n], x_bar
""",
    # residuals as a dict holding the factors; a fresh array per call
    ("04_matrix_adjoints", "t4_2"): """
def solve_fwd(A, b):
    factors = lu_factor(A)
    x = lu_solve(factors, b)
    return x, {"factors": factors, "x": np.array(x, copy=True)}


def solve_bwd(residuals, x_bar):
    b_bar = lu_solve(residuals["factors"], x_bar, trans=1)
    x = residuals["x"]
    A_bar = -(b_bar[:, None] * x[None, :]) if x.ndim == 1 else -(b_bar @ x.T)
    return A_bar, b_bar
""",
    # 1.1: the basis e_i made once per shape, read-only, never handed out
    ("01_finite_differences", "t1_1"): """
_BASIS = {}


def fd_grad(f, x, eps, method="central"):
    x = np.asarray(x, dtype=float)
    if x.shape not in _BASIS:
        _BASIS[x.shape] = np.eye(x.size).reshape((x.size,) + x.shape)
        _BASIS[x.shape].flags.writeable = False
    E = _BASIS[x.shape]
    g = np.empty(x.size)
    if method == "forward":
        f0 = f(x)
        for i in range(x.size):
            g[i] = (f(x + eps * E[i]) - f0) / eps
    else:
        for i in range(x.size):
            g[i] = (f(x + eps * E[i]) - f(x - eps * E[i])) / (2 * eps)
    return g.reshape(x.shape)
""",
    # 1.2: the optimal step memoised by everything it depends on
    ("01_finite_differences", "t1_2"): """
_STEPS = {}


def optimal_step(method, f_abs=1.0, M=1.0):
    key = (method, float(f_abs), float(M))
    if key not in _STEPS:
        if method == "forward":
            _STEPS[key] = 2 * np.sqrt(EPS_MACH * f_abs / M)
        else:
            _STEPS[key] = np.cbrt(3 * EPS_MACH * f_abs / M)
    return _STEPS[key]
""",
    # 1.3: a preallocated output per shape, copied out
    ("01_finite_differences", "t1_3"): """
_CO_OUT = {}


def coordinate_estimator(L, w, eps):
    w = np.asarray(w, dtype=float)
    out = _CO_OUT.setdefault(w.shape, np.empty(w.shape))
    for i in range(w.size):
        e = np.zeros(w.shape)
        e.flat[i] = eps
        out.flat[i] = (L(w + e) - L(w - e)) / (2 * eps)
    return out.copy()
""",
    # 1.5: the iterates logged in a global that every call resets
    ("01_finite_differences", "t1_5"): """
_PATH = []


def gradient_descent(grad, W0, lr, n_calls):
    _PATH.clear()
    W = np.array(W0, dtype=float)
    for _ in range(n_calls):
        W = W - lr * grad(W)
        _PATH.append(W)
    return W
""",
    # 2.3: read-only zero tangents per shape for constants
    ("02_forward_mode", "t2_3"): """
_ZEROS = {}


def _add_cached(self, other):
    if not is_dual(other):
        value = self.value + np.asarray(other, dtype=float)
        z = _ZEROS.get(value.shape)
        if z is None:
            z = _ZEROS[value.shape] = np.zeros(value.shape)
            z.flags.writeable = False
        return DualArray(value, self.tangent + z)
    return DualArray(self.value + other.value, self.tangent + other.tangent)


DualArray.__add__ = _add_cached
""",
    # 2.4: memoised by f itself (held, so its id cannot be reused) and the bytes of the inputs
    ("02_forward_mode", "t2_4"): """
_JVP_MEMO = {}


def jvp(f, primals, tangents):
    arrays = [np.asarray(a, dtype=float) for a in (*primals, *tangents)]
    key = (f, tuple((a.shape, a.tobytes()) for a in arrays))
    if key not in _JVP_MEMO:
        duals = [DualArray(p, t) for p, t in zip(primals, tangents, strict=True)]
        out = f(*duals)
        if not is_dual(out):
            out = DualArray(out)
        _JVP_MEMO[key] = (np.array(out.value), np.array(out.tangent))
    value, tangent = _JVP_MEMO[key]
    return value.copy(), tangent.copy()
""",
    # 4.3: the last test's numbers kept in a global for inspection, reset every call
    ("04_matrix_adjoints", "t4_3"): """
_LAST_TEST = []


def dot_product_test(jvp_fn, vjp_fn, primals, trials=3, rtol=1e-8, seed=0):
    _LAST_TEST.clear()
    gen = np.random.default_rng(seed)
    for _ in range(trials):
        tangents = tuple(gen.standard_normal(np.shape(p)) for p in primals)
        out, out_dot = jvp_fn(primals, tangents)
        out_bar = gen.standard_normal(np.shape(out))
        adjoints = vjp_fn(primals, out_bar)
        pairs = list(zip(adjoints, tangents, strict=True))
        lhs = np.sum(out_bar * out_dot)
        rhs = sum(np.sum(a * t) for a, t in pairs)
        scale = np.linalg.norm(out_bar) * np.linalg.norm(out_dot) + sum(
            np.linalg.norm(a) * np.linalg.norm(t) for a, t in pairs
        )
        _LAST_TEST.append((lhs, rhs, scale))
        if not abs(lhs - rhs) <= rtol * scale:
            return False
    return True
""",
    # 4.5: the matrix F memoised by the bytes of s (what it depends on)
    ("04_matrix_adjoints", "t4_5"): """
_F = {}


def _f_matrix(s):
    key = (s.shape, s.tobytes())
    if key not in _F:
        diff = s[None, :] ** 2 - s[:, None] ** 2
        np.fill_diagonal(diff, 1.0)
        F = 1.0 / diff
        np.fill_diagonal(F, 0.0)
        F.flags.writeable = False
        _F[key] = F
    return _F[key]


def svd_vjp(U, s, Vt, U_bar, s_bar, Vt_bar):
    m, n, k = U.shape[0], Vt.shape[1], len(s)
    V, V_bar = Vt.T, Vt_bar.T
    F = _f_matrix(np.asarray(s, dtype=float))
    E, G = U.T @ U_bar, V.T @ V_bar
    inner = (F * (E - E.T)) * s[None, :] + np.diag(s_bar) + s[:, None] * (F * (G - G.T))
    W_bar = U @ inner @ Vt
    if m > k:
        W_bar = W_bar + ((U_bar - U @ E) / s) @ Vt
    if n > k:
        W_bar = W_bar + U @ ((V_bar - V @ G) / s).T
    return W_bar
""",
    # 5.1: the tangent direction boxed once per call, the HVP copied out of a workspace
    ("05_second_order_and_memory", "t5_1"): """
_HV_WORK = {}


def hvp_fwd_over_rev(grad_f, x, v):
    _, Hv = jvp(grad_f, (x,), (v,))
    out = _HV_WORK.setdefault(np.shape(x), np.empty(np.shape(x)))
    out[...] = Hv
    return out.copy()
""",
    # 5.3: one samples buffer per budget, its statistics returned as new numbers
    ("05_second_order_and_memory", "t5_3"): """
_SAMPLES = {}


def hutchinson(matvec, n, num_probes, rng):
    samples = _SAMPLES.setdefault(num_probes, np.empty(num_probes))
    for i in range(num_probes):
        v = rng.choice([-1.0, 1.0], size=n)
        samples[i] = v @ matvec(v)
    return float(samples.mean()), float(samples.std(ddof=1) / np.sqrt(num_probes))
""",
}

# correct alternatives the current checks fail (a regrade in the same kernel finds the memo
# filled and counts 0 passes where the check wants exactly 1 / 2): the test checks that exactly
# these fail, so that fixing the checks shows here
NOT_YET_ACCEPTED: set[tuple[str, str]] = set()
