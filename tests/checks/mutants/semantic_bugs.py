"""Planted semantic bugs (issue 22): code right on a first, fresh call and wrong when it is used
as code is used — called twice, its result kept, its arguments looked at afterwards, forward and
backward interleaved, a non-default argument. One or more per task (``assignment_utils.Planted``;
``tests/checks/test_semantic_bugs.py`` runs them in-process). ``NOT_YET_CAUGHT``: the ones the current
checks let through (the test fails when one more survives and when a listed one is caught).
"""

from tests.checks.assignment_utils import Planted

_T11 = '    raise NotImplementedError("Task 1.1: finite-difference gradient")\n'
_T12 = (
    "    return optimal_step(method) * np.maximum(1.0, np.abs(x))\n    ### END SOLUTION\n"
    '    raise NotImplementedError("Task 1.2: error model and step")\n'
)

BUGS: dict[str, list[Planted]] = {
    "01_finite_differences": [
        # a cache keyed by what stays the same (shape, method), not by f, x or eps
        Planted(
            "fd-cache-by-shape",
            "t1_1",
            [
                (
                    _T11,
                    _T11
                    + (
                        "\n\n_fd_cache = {}\n_fd_plain = fd_grad\n\n\n"
                        'def fd_grad(f, x, eps, method="central"):\n'
                        "    key = (np.shape(x), method)\n"
                        "    if key not in _fd_cache:\n"
                        "        _fd_cache[key] = _fd_plain(f, x, eps, method)\n"
                        "    return _fd_cache[key]\n"
                    ),
                )
            ],
        ),
        # halves the caller's array of steps in place
        Planted(
            "error-model-halves-eps",
            "t1_2",
            [
                (
                    "        return M * eps / 2 + 2 * EPS_MACH * f_abs / eps\n",
                    "        eps /= 2\n        return M * eps + EPS_MACH * f_abs / eps\n",
                )
            ],
        ),
        # the step ignores its point when a scalar array comes: a cache keyed by method
        Planted(
            "default-step-cached",
            "t1_2",
            [
                (
                    _T12,
                    _T12
                    + (
                        "\n\n_ds_cache = {}\n_ds_plain = default_step\n\n\n"
                        "def default_step(x, method):\n"
                        "    if method not in _ds_cache:\n"
                        "        _ds_cache[method] = _ds_plain(x, method)\n"
                        "    return _ds_cache[method]\n"
                    ),
                )
            ],
        ),
        # a fresh generator on every call: every estimate uses the same direction
        Planted(
            "two-point-reseeds",
            "t1_3",
            [
                (
                    "    z = rng.standard_normal(w.shape)\n",
                    "    rng = np.random.default_rng(0)\n    z = rng.standard_normal(w.shape)\n",
                )
            ],
        ),
        # the gradient is written into one module-level buffer that is returned
        Planted(
            "mds-grad-buffer",
            "t1_4",
            [
                (
                    '    return 8 * np.einsum("kj,kjd->kd", R, diff)\n',
                    "    global _MDS_G\n"
                    '    if "_MDS_G" not in globals() or _MDS_G.shape != W.shape:\n'
                    "        _MDS_G = np.empty(W.shape)\n"
                    '    np.einsum("kj,kjd->kd", R, diff, out=_MDS_G)\n'
                    "    _MDS_G *= 8\n"
                    "    return _MDS_G\n",
                )
            ],
        ),
        # W -= …: moves the caller's W0 (np.asarray does not copy a float array)
        Planted(
            "gd-moves-W0",
            "t1_5",
            [
                (
                    "    for _ in range(n_calls):\n        W = W - lr * grad(W)\n",
                    "    for _ in range(n_calls):\n        W -= lr * grad(W)\n",
                )
            ],
        ),
        Planted(
            "zo-reseeds",
            "t1_5",
            [
                (
                    "        W = W - lr * two_point_estimator(loss, W, eps, rng)\n",
                    "        W = W - lr * two_point_estimator(loss, W, eps, np.random.default_rng(1))\n",
                )
            ],
        ),
        # the gradient by a private, renamed 5-point stencil of a private copy of the loss:
        # no call of mds_loss for the checks to count, only the work gives it away
        Planted(
            "mds-grad-private-stencil",
            "t1_4",
            [
                (
                    '    return 8 * np.einsum("kj,kjd->kd", R, diff)\n',
                    "    def _l(V):\n"
                    "        S = np.sum((V[:, None, :] - V[None, :, :]) ** 2, axis=-1) - D\n"
                    "        return np.sum(S * S)\n"
                    "    G, h = np.zeros(W.shape), 1e-2 * max(1.0, np.abs(W).max())\n"
                    "    for i in range(W.size):\n"
                    "        e = np.zeros(W.shape)\n"
                    "        e.flat[i] = h\n"
                    "        G.flat[i] = (-_l(W + 2 * e) + 8 * _l(W + e) - 8 * _l(W - e)"
                    " + _l(W - 2 * e)) / (12 * h)\n"
                    "    return G\n",
                )
            ],
        ),
        # the loss memoised by the shape of W: the second W of the same size gets the first's
        Planted(
            "mds-loss-memo-by-shape",
            "t1_4",
            [
                (
                    "    return np.sum(R**2)\n",
                    "    global _MDS_L\n"
                    '    if "_MDS_L" not in globals() or _MDS_L[0] != W.shape:\n'
                    "        _MDS_L = (W.shape, np.sum(R**2))\n"
                    "    return _MDS_L[1]\n",
                )
            ],
        ),
        # the coordinate estimate written into one buffer per shape that is returned
        Planted(
            "coordinate-buffer",
            "t1_3",
            [
                (
                    '    return fd_grad(L, w, eps, "central")\n',
                    "    global _CO\n"
                    '    g = fd_grad(L, w, eps, "central")\n'
                    '    if "_CO" not in globals() or _CO.shape != np.shape(g):\n'
                    "        _CO = np.empty(np.shape(g))\n"
                    "    _CO[...] = g\n"
                    "    return _CO\n",
                )
            ],
        ),
        # the tuned steps halve on every call (a counter kept in a global)
        Planted(
            "step-sizes-decay",
            "t1_5",
            [
                (
                    "    return 3e-3, 5e-4\n",
                    "    global _CALLS\n"
                    '    _CALLS = globals().get("_CALLS", 0) + 1\n'
                    "    return 3e-3 / _CALLS, 5e-4 / _CALLS\n",
                )
            ],
        ),
        # the error model's array argument rounded in place to whole decades
        Planted(
            "error-model-rounds-eps",
            "t1_2",
            [
                (
                    "        return M * eps / 2 + 2 * EPS_MACH * f_abs / eps\n",
                    "        out = M * eps / 2 + 2 * EPS_MACH * f_abs / eps\n"
                    "        if isinstance(eps, np.ndarray) and eps.ndim:\n"
                    "            np.round(eps, 20, out=eps)\n"
                    "            eps *= 1.0 + 1e-9\n"
                    "        return out\n",
                )
            ],
        ),
        # each coordinate stepped in the caller's array and stepped back: x moves by round-off
        Planted(
            "fd-grad-steps-in-place",
            "t1_1",
            [
                (
                    "            grad.flat[i] = (f(x + eps * e) - f(x - eps * e)) / (2 * eps)\n",
                    "            x.flat[i] += eps\n            fp = f(x)\n"
                    "            x.flat[i] -= 2 * eps\n            fm = f(x)\n"
                    "            x.flat[i] += eps\n            grad.flat[i] = (fp - fm) / (2 * eps)\n",
                )
            ],
        ),
    ],
    "02_forward_mode": [
        # exp cached by the value only: a second tangent at the same point gets the first's
        Planted(
            "exp-cache-by-value",
            "t2_1",
            [
                (
                    "    e = np.exp(x.value)\n    return type(x)(e, e * x.tangent)\n",
                    "    key = float(np.sum(x.value))\n"
                    "    if key not in _EXP_CACHE:\n"
                    "        e = np.exp(x.value)\n"
                    "        _EXP_CACHE[key] = type(x)(e, e * x.tangent)\n"
                    "    return _EXP_CACHE[key]\n",
                ),
                ("def exp(x):\n", "_EXP_CACHE = {}\n\n\ndef exp(x):\n"),
            ],
        ),
        # the gradient memoised by w1 only
        Planted(
            "gradient-memo-w1",
            "t2_2",
            [
                (
                    '    dL_dw1 = lecture_forward(w1, w2, 1.0, 0.0)["L"][1]\n',
                    "    if w1 in _LG_MEMO:\n        return _LG_MEMO[w1]\n"
                    '    dL_dw1 = lecture_forward(w1, w2, 1.0, 0.0)["L"][1]\n',
                ),
                (
                    "    return dL_dw1, dL_dw2\n",
                    "    _LG_MEMO[w1] = dL_dw1, dL_dw2\n    return dL_dw1, dL_dw2\n",
                ),
                (
                    "def lecture_gradient(w1, w2):\n",
                    "_LG_MEMO = {}\n\n\ndef lecture_gradient(w1, w2):\n",
                ),
            ],
        ),
        # -x negates x in place (and the caller's arrays it shares)
        Planted(
            "neg-in-place",
            "t2_3",
            [
                (
                    "        return DualArray(-self.value, -self.tangent)\n",
                    "        self.value *= -1\n        self.tangent *= -1\n        return self\n",
                )
            ],
        ),
        # jvp cached by f: a second point gets the first's result
        Planted(
            "jvp-cache-by-f",
            "t2_4",
            [
                (
                    "    duals = [DualArray(p, t) for p, t in zip(primals, tangents, strict=True)]\n",
                    "    if f in _JVP_CACHE:\n        return _JVP_CACHE[f]\n"
                    "    duals = [DualArray(p, t) for p, t in zip(primals, tangents, strict=True)]\n",
                ),
                (
                    "    return out.value, out.tangent\n",
                    "    _JVP_CACHE[f] = out.value, out.tangent\n    return out.value, out.tangent\n",
                ),
                (
                    "def jvp(f, primals, tangents):\n",
                    "_JVP_CACHE = {}\n\n\ndef jvp(f, primals, tangents):\n",
                ),
            ],
        ),
        # the basis is a generator made on the first call: empty on the second
        Planted(
            "jacfwd-basis-generator",
            "t2_5",
            [
                (
                    "        columns = []\n        for k in range(x.size):\n"
                    "            e_k = np.zeros(x.size)\n            e_k[k] = 1.0\n",
                    "        columns = []\n"
                    '        if "basis" not in state:\n'
                    '            state["basis"] = (row for row in np.eye(x.size))\n'
                    '        for e_k in state["basis"]:\n',
                ),
                (
                    "def jacfwd(f):\n    def jacobian(x):\n",
                    "def jacfwd(f):\n    state = {}\n\n    def jacobian(x):\n",
                ),
            ],
        ),
        # a − b computed into a itself (a fresh-looking result that is the left operand)
        Planted(
            "sub-into-self",
            "t2_1",
            [
                (
                    "        return Dual(self.value - other.value, self.tangent - other.tangent)\n",
                    "        self.value, self.tangent = (self.value - other.value,"
                    " self.tangent - other.tangent)\n"
                    "        return self\n",
                )
            ],
        ),
        # the table memoised by the point alone: another tangent at the same point gets the first
        Planted(
            "lecture-forward-memo-by-point",
            "t2_2",
            [
                (
                    "    v1 = np.log(w1)\n",
                    "    if (w1, w2) in _LF_MEMO:\n        return _LF_MEMO[(w1, w2)]\n"
                    "    v1 = np.log(w1)\n",
                ),
                (
                    '    return {"v1": (v1, v1_dot), "v2": (v2, v2_dot), "v3": (v3, v3_dot),'
                    ' "L": (L, L_dot)}\n',
                    '    _LF_MEMO[(w1, w2)] = {"v1": (v1, v1_dot), "v2": (v2, v2_dot),'
                    ' "v3": (v3, v3_dot), "L": (L, L_dot)}\n'
                    "    return _LF_MEMO[(w1, w2)]\n",
                ),
                (
                    "def lecture_forward(w1, w2, w1_dot, w2_dot):\n",
                    "_LF_MEMO = {}\n\n\ndef lecture_forward(w1, w2, w1_dot, w2_dot):\n",
                ),
            ],
        ),
        # a constant factor boxed once per shape and reused: the second constant is the first
        Planted(
            "mul-boxes-constant-once",
            "t2_3",
            [
                (
                    "        other = as_dual_array(other)\n        return DualArray(self.value *"
                    " other.value,\n",
                    "        if not is_dual(other):\n"
                    "            other = _BOXED.setdefault(np.shape(other), as_dual_array(other))\n"
                    "        other = as_dual_array(other)\n        return DualArray(self.value *"
                    " other.value,\n",
                ),
                ("class DualArray:\n", "_BOXED = {}\n\n\nclass DualArray:\n"),
            ],
        ),
        # the tangent written into one buffer per shape that is returned
        Planted(
            "jvp-tangent-buffer",
            "t2_4",
            [
                (
                    "    return out.value, out.tangent\n",
                    "    buf = _JVP_BUF.setdefault(np.shape(out.tangent),"
                    " np.empty(np.shape(out.tangent)))\n"
                    "    buf[...] = out.tangent\n"
                    "    return out.value, buf\n",
                ),
                (
                    "def jvp(f, primals, tangents):\n",
                    "_JVP_BUF = {}\n\n\ndef jvp(f, primals, tangents):\n",
                ),
            ],
        ),
        # a stated cost not kept: f evaluated once on the plain primals first (for the shape)
        Planted(
            "jvp-plain-pass-first",
            "t2_4",
            [
                (
                    "    duals = [DualArray(p, t) for p, t in zip(primals, tangents, strict=True)]\n"
                    "    out = f(*duals)\n",
                    "    shape = np.shape(f(*primals))\n"
                    "    duals = [DualArray(p, t) for p, t in zip(primals, tangents, strict=True)]\n"
                    "    out = f(*duals)\n",
                )
            ],
        ),
        # f kept in a global: every returned jacobian differentiates the latest f
        Planted(
            "jacfwd-global-f",
            "t2_5",
            [
                (
                    "            _, column = jvp(f, (x,), (e_k.reshape(x.shape),))\n",
                    "            _, column = jvp(_LATEST_F, (x,), (e_k.reshape(x.shape),))\n",
                ),
                (
                    "def jacfwd(f):\n    def jacobian(x):\n",
                    "def jacfwd(f):\n    global _LATEST_F\n    _LATEST_F = f\n\n"
                    "    def jacobian(x):\n",
                ),
            ],
        ),
    ],
    "03_reverse_mode": [
        # sqrt nodes cached by value: a second variable with the same value gets the first's node
        Planted(
            "sqrt-node-by-value",
            "t3_1",
            [
                (
                    "    r = np.sqrt(x.value)\n    return Var(r, ((x, 0.5 / r),))\n",
                    "    if x.value not in _SQRT_NODES:\n"
                    "        r = np.sqrt(x.value)\n"
                    "        _SQRT_NODES[x.value] = Var(r, ((x, 0.5 / r),))\n"
                    "    return _SQRT_NODES[x.value]\n",
                ),
                (
                    "def sqrt(x):\n    x = as_var(x)\n",
                    "_SQRT_NODES = {}\n\n\ndef sqrt(x):\n    x = as_var(x)\n",
                ),
            ],
        ),
        # the visited set outlives the call: the second graph comes back (partly) empty
        Planted(
            "topo-visited-global",
            "t3_2",
            [
                ("    order, visited = [], set()\n", "    order, visited = [], _VISITED\n"),
                (
                    "def topological_order(output):\n",
                    "_VISITED = set()\n\n\ndef topological_order(output):\n",
                ),
            ],
        ),
        # adjoints not reset: a second backward pass adds to the first
        Planted(
            "backward-no-reset", "t3_3", [("    for node in order:\n        node.adj = 0.0\n", "")]
        ),
        Planted(
            "backward-ignores-cotangent",
            "t3_3",
            [("    output.adj = cotangent  # the seed\n", "    output.adj = 1.0  # the seed\n")],
        ),
        Planted(
            "lecture-reverse-ignores-L-bar",
            "t3_4",
            [
                (
                    "    v3_bar = L_bar * 1.0\n    v2_bar = v3_bar / (2 * np.sqrt(v2)) + L_bar * 1.0",
                    "    v3_bar = 1.0\n    v2_bar = v3_bar / (2 * np.sqrt(v2)) + 1.0",
                )
            ],
        ),
        # the graph of the first call is kept and differentiated again
        Planted(
            "jacrev-keeps-graph",
            "t3_5",
            [
                (
                    "        xs = [Var(xi) for xi in np.asarray(x, dtype=float)]\n"
                    "        outs = list(f(xs))  # one forward pass\n",
                    '        if "outs" not in tape:\n'
                    '            tape["xs"] = [Var(xi) for xi in np.asarray(x, dtype=float)]\n'
                    '            tape["outs"] = list(f(tape["xs"]))\n'
                    '        xs, outs = tape["xs"], tape["outs"]\n',
                ),
                (
                    "def jacrev(f):\n    def jacobian(x):\n",
                    "def jacrev(f):\n    tape = {}\n\n    def jacobian(x):\n",
                ),
            ],
        ),
        # the pullback reads the last recorded graph, not its own
        Planted(
            "pullback-global-tape",
            "t3_5",
            [
                (
                    "    y = np.array([out.value for out in outs])\n",
                    "    global _TAPE\n    _TAPE = (xs, outs)\n"
                    "    y = np.array([out.value for out in outs])\n",
                ),
                (
                    "        s = sum(c * out for c, out in zip(ct, outs))",
                    "        xs, outs = _TAPE\n        s = sum(c * out for c, out in zip(ct, outs))",
                ),
            ],
        ),
        # delta *= …: the first pass multiplies the caller's V_bar in place
        Planted(
            "mlp-backward-scales-V-bar",
            "t3_6",
            [
                (
                    "        delta = dv * (1 - vs[k] ** 2)  # dL/dz_k: b x n_k\n",
                    "        delta = dv\n        delta *= 1 - vs[k] ** 2\n",
                )
            ],
        ),
        # the backward pass uses the activations of the last forward pass
        Planted(
            "mlp-backward-last-forward",
            "t3_6",
            [
                (
                    "    return vs\n    ### END SOLUTION\n",
                    "    _LAST_VS[:] = vs\n    return vs\n    ### END SOLUTION\n",
                ),
                ("    dWs = [None] * len(Ws)\n", "    vs = _LAST_VS\n    dWs = [None] * len(Ws)\n"),
                ("def mlp_forward(X, Ws):\n", "_LAST_VS = []\n\n\ndef mlp_forward(X, Ws):\n"),
            ],
        ),
        # one constant leaf per type: the first number met stands for every later one
        Planted(
            "constant-leaf-by-type",
            "t3_1",
            [
                (
                    "    return x if isinstance(x, Var) else Var(x)\n",
                    "    if isinstance(x, Var):\n        return x\n"
                    "    return _CONSTANTS.setdefault(type(x), Var(x))\n",
                ),
                ("def as_var(x):\n", "_CONSTANTS = {}\n\n\ndef as_var(x):\n"),
            ],
        ),
        # one module-level list, emptied and refilled by every call (the caller's is refilled)
        Planted(
            "topo-order-shared-list",
            "t3_2",
            [
                (
                    "    order, visited = [], set()\n",
                    "    order, visited = _ORDER, set()\n    order.clear()\n",
                ),
                (
                    "def topological_order(output):\n",
                    "_ORDER = []\n\n\ndef topological_order(output):\n",
                ),
            ],
        ),
        # one table, overwritten by the next call: a table kept by the caller changes
        Planted(
            "lecture-table-reused",
            "t3_4",
            [
                (
                    '    return {"L": (L, L_bar), "v3": (v3, v3_bar), "v2": (v2, v2_bar),\n'
                    '            "v1": (v1, v1_bar), "w1": (w1, w1_bar), "w2": (w2, w2_bar)}\n',
                    '    _TABLE.update({"L": (L, L_bar), "v3": (v3, v3_bar), "v2": (v2, v2_bar),\n'
                    '                   "v1": (v1, v1_bar), "w1": (w1, w1_bar), "w2": (w2, w2_bar)})\n'
                    "    return _TABLE\n",
                ),
                (
                    "def lecture_reverse(w1, w2, L_bar=1.0):\n",
                    "_TABLE = {}\n\n\ndef lecture_reverse(w1, w2, L_bar=1.0):\n",
                ),
            ],
        ),
    ],
    "04_matrix_adjoints": [
        # the factorisation cached by the shape of A
        Planted(
            "solve-jvp-lu-by-shape",
            "t4_1",
            [
                (
                    "    lu = lu_factor(A)\n    x = lu_solve(lu, b)\n    x_dot",
                    "    if np.shape(A) not in _LU:\n        _LU[np.shape(A)] = lu_factor(A)\n"
                    "    lu = _LU[np.shape(A)]\n    x = lu_solve(lu, b)\n    x_dot",
                ),
                (
                    "def solve_jvp(primals, tangents):\n",
                    "_LU = {}\n\n\ndef solve_jvp(primals, tangents):\n",
                ),
            ],
        ),
        # the backward pass reads the factors of the last forward pass
        Planted(
            "solve-bwd-last-forward",
            "t4_2",
            [
                ("    return x, (lu, x)\n", "    _LAST[:] = [(lu, x)]\n    return x, (lu, x)\n"),
                ("    lu, x = residuals\n", "    lu, x = _LAST[0]\n"),
                ("def solve_fwd(A, b):\n", "_LAST = []\n\n\ndef solve_fwd(A, b):\n"),
            ],
        ),
        Planted(
            "dot-test-ignores-rtol",
            "t4_3",
            [
                (
                    "        if not abs(lhs - rhs) <= rtol * scale:\n",
                    "        if not abs(lhs - rhs) <= 1e-8 * scale:\n",
                )
            ],
        ),
        # U diag(s̄) Vᵀ written into one preallocated output per shape
        Planted(
            "values-vjp-out-buffer",
            "t4_4",
            [
                (
                    "    return (U[:, :k] * s_bar) @ Vt[:k]  # U diag(s̄) Vᵀ: scale the columns of U\n",
                    "    shape = (U.shape[0], Vt.shape[1])\n"
                    "    out = _OUT.setdefault(shape, np.empty(shape))\n"
                    "    np.matmul(U[:, :k] * s_bar, Vt[:k], out=out)\n    return out\n",
                ),
                (
                    "def svd_values_vjp(U, s, Vt, s_bar):\n",
                    "_OUT = {}\n\n\ndef svd_values_vjp(U, s, Vt, s_bar):\n",
                ),
            ],
        ),
        # Ū −= U E: the caller's Ū moved in place
        Planted(
            "svd-vjp-moves-U-bar",
            "t4_5",
            [
                (
                    "        W_bar = W_bar + ((U_bar - U @ E) / s) @ Vt\n",
                    "        U_bar -= U @ E\n        W_bar = W_bar + (U_bar / s) @ Vt\n",
                )
            ],
        ),
        # the right-hand side ḃ − Ȧx built in the caller's b_dot (b_dot -= …)
        Planted(
            "solve-jvp-bdot-in-place",
            "t4_1",
            [
                (
                    "    x_dot = lu_solve(lu, b_dot - A_dot @ x)  # A ẋ = ḃ − Ȧ x\n",
                    "    b_dot -= A_dot @ x\n    x_dot = lu_solve(lu, b_dot)\n",
                )
            ],
        ),
        # ṡ written into one buffer per length that is returned
        Planted(
            "values-jvp-out-buffer",
            "t4_4",
            [
                (
                    "    return np.sum(U * (W_dot @ V), axis=0)"
                    "  # diag(Uᵀ Ẇ V) without the whole k×k matrix\n",
                    "    out = _SDOT.setdefault(k, np.empty(k))\n"
                    "    np.sum(U * (W_dot @ V), axis=0, out=out)\n"
                    "    return out\n",
                ),
                (
                    "def svd_values_jvp(U, s, Vt, W_dot):\n",
                    "_SDOT = {}\n\n\ndef svd_values_jvp(U, s, Vt, W_dot):\n",
                ),
            ],
        ),
        # F = 1/(s_j² − s_i²) memoised by the number of singular values, not their values
        Planted(
            "svd-vjp-F-by-k",
            "t4_5",
            [
                (
                    "    F = 1.0 / diff\n    np.fill_diagonal(F, 0.0)\n",
                    "    if k not in _F_BY_K:\n"
                    "        _F_BY_K[k] = 1.0 / diff\n"
                    "        np.fill_diagonal(_F_BY_K[k], 0.0)\n"
                    "    F = _F_BY_K[k]\n",
                ),
                (
                    "def svd_vjp(U, s, Vt, U_bar, s_bar, Vt_bar):\n",
                    "_F_BY_K = {}\n\n\ndef svd_vjp(U, s, Vt, U_bar, s_bar, Vt_bar):\n",
                ),
            ],
        ),
        # a pseudo-inverse that drops the directions whose singular value is below 1e-7·σ₁ "for
        # stability" (one SVD): exact on every A but a truly ill-conditioned one (cond > 1e7);
        # badly scaled rows (cond ~1e6, the other hidden cases) keep every direction
        Planted(
            "solve-jvp-truncated-pinv",
            "t4_1",
            [
                (
                    "    lu = lu_factor(A)\n    x = lu_solve(lu, b)\n"
                    "    x_dot = lu_solve(lu, b_dot - A_dot @ x)  # A ẋ = ḃ − Ȧ x\n",
                    "    U, s, Vt = np.linalg.svd(A)\n"
                    "    A_pinv = (Vt.T * np.where(s > 1e-7 * s[0], 1.0 / s, 0.0)) @ U.T\n"
                    "    x = A_pinv @ b\n    x_dot = A_pinv @ (b_dot - A_dot @ x)\n",
                )
            ],
        ),
        # the normal equations AᵀA x = Aᵀb: one (Cholesky) factorisation and one solve per
        # pass, right in exact arithmetic and on well-conditioned A; error κ²·ε: wrong on the
        # badly scaled and on the ill-conditioned A of the hidden checks
        Planted(
            "solve-vjp-normal-equations",
            "t4_2",
            [
                (
                    "    lu = lu_factor(A)\n    x = lu_solve(lu, b)\n    return x, (lu, x)\n",
                    "    c = scipy.linalg.cho_factor(A.T @ A)\n"
                    "    x = scipy.linalg.cho_solve(c, A.T @ b)\n    return x, ((c, A), x)\n",
                ),
                (
                    "    b_bar = lu_solve(lu, x_bar, trans=1)  # A⁻ᵀ x̄, the same factors\n",
                    "    c, A = lu\n    b_bar = A @ scipy.linalg.cho_solve(c, x_bar)  # A (AᵀA)⁻¹ x̄\n",
                ),
            ],
        ),
        # x written into one buffer per shape, returned and kept in the residuals
        Planted(
            "solve-fwd-x-buffer",
            "t4_2",
            [
                (
                    "    x = lu_solve(lu, b)\n    return x, (lu, x)\n",
                    "    x = _X.setdefault(np.shape(b), np.empty(np.shape(b)))\n"
                    "    x[...] = lu_solve(lu, b)\n    return x, (lu, x)\n",
                ),
                ("def solve_fwd(A, b):\n", "_X = {}\n\n\ndef solve_fwd(A, b):\n"),
            ],
        ),
        # trials ignored: the first random direction decides
        Planted(
            "dot-test-one-trial",
            "t4_3",
            [
                (
                    "            return False\n    return True\n",
                    "            return False\n        return True\n    return True\n",
                )
            ],
        ),
    ],
    "05_second_order_and_memory": [
        # H v memoised by x: a second direction at the same point gets the first's product
        Planted(
            "hvp-memo-by-x",
            "t5_1",
            [
                (
                    "    _, Hv = jvp(grad_f, (x,), (v,))\n    return Hv\n",
                    "    key = np.asarray(x, dtype=float).tobytes()\n"
                    "    if key not in _HVP_MEMO:\n"
                    "        _HVP_MEMO[key] = jvp(grad_f, (x,), (v,))[1]\n"
                    "    return _HVP_MEMO[key]\n",
                ),
                (
                    "def hvp_fwd_over_rev(grad_f, x, v):\n",
                    "_HVP_MEMO = {}\n\n\ndef hvp_fwd_over_rev(grad_f, x, v):\n",
                ),
            ],
        ),
        # one Hessian buffer per size, returned itself
        Planted(
            "hessian-buffer",
            "t5_2",
            [
                ("    H = np.empty((n, n))\n", "    H = _H_BUF.setdefault(n, np.empty((n, n)))\n"),
                (
                    "def hessian_from_hvp(hvp, x):\n",
                    "_H_BUF = {}\n\n\ndef hessian_from_hvp(hvp, x):\n",
                ),
            ],
        ),
        Planted(
            "hutchinson-reseeds",
            "t5_3",
            [
                (
                    "        v = rng.choice([-1.0, 1.0], size=n)\n",
                    "        v = np.random.default_rng(i).choice([-1.0, 1.0], size=n)\n",
                )
            ],
        ),
        # the forward states cached by n (not by x0 or step)
        Planted(
            "chain-states-by-n",
            "t5_4",
            [
                (
                    "    states = [x0]\n    for k in range(n):\n"
                    "        states.append(step(k, states[-1]))\n",
                    "    if n not in _STATES:\n        states = [x0]\n        for k in range(n):\n"
                    "            states.append(step(k, states[-1]))\n        _STATES[n] = states\n"
                    "    states = list(_STATES[n])\n",
                ),
                (
                    "def chain_vjp(step, step_vjp, x0, n, xn_bar):\n",
                    "_STATES = {}\n\n\ndef chain_vjp(step, step_vjp, x0, n, xn_bar):\n",
                ),
            ],
        ),
        # checkpoints kept in a global: a second call reads the first call's states
        Planted(
            "checkpoints-global",
            "t5_5",
            [
                (
                    "    checkpoints = {}\n    x = x0\n    for k in range(n):\n        if k % s == 0:\n"
                    "            checkpoints[k] = x\n",
                    "    checkpoints = _CKPT\n    x = x0\n    for k in range(n):\n"
                    "        if k % s == 0 and k not in checkpoints:\n            checkpoints[k] = x\n",
                ),
                (
                    "        segment = [checkpoints.pop(start)]\n",
                    "        segment = [checkpoints[start]]\n",
                ),
                (
                    "def chain_vjp_sqrt(step, step_vjp, x0, n, xn_bar):\n",
                    "_CKPT = {}\n\n\ndef chain_vjp_sqrt(step, step_vjp, x0, n, xn_bar):\n",
                ),
            ],
        ),
        # v captured on the first call (a global): later calls use the first direction
        Planted(
            "hvp-rev-first-v",
            "t5_1",
            [
                (
                    "    return grad(lambda y: np.sum(grad_f(y) * v))(x)\n",
                    '    v = globals().setdefault("_HVP_V", v)\n'
                    "    return grad(lambda y: np.sum(grad_f(y) * v))(x)\n",
                )
            ],
        ),
        # the caller's x zeroed once the Hessian is built (np.asarray does not copy)
        Planted(
            "hessian-zeroes-x",
            "t5_2",
            [
                (
                    "    return H.reshape(x.shape + x.shape)\n",
                    "    out = H.reshape(x.shape + x.shape)\n    x.fill(0.0)\n    return out\n",
                )
            ],
        ),
        # the probes drawn once per (n, i) and kept: every later run uses the same ones
        Planted(
            "hutchinson-probes-kept",
            "t5_3",
            [
                (
                    "        v = rng.choice([-1.0, 1.0], size=n)\n",
                    "        v = _PROBES.setdefault((n, i), rng.choice([-1.0, 1.0], size=n))\n",
                ),
                (
                    "def hutchinson(matvec, n, num_probes, rng):\n",
                    "_PROBES = {}\n\n\ndef hutchinson(matvec, n, num_probes, rng):\n",
                ),
            ],
        ),
        # x̄₀ returned in one buffer per shape
        Planted(
            "chain-xbar-buffer",
            "t5_4",
            [
                (
                    "    return xn, x_bar\n    ### END SOLUTION\n"
                    '    raise NotImplementedError("Task 5.4: reverse pass of a chain")\n',
                    "    buf = _XBAR.setdefault(np.shape(x_bar), np.empty(np.shape(x_bar)))\n"
                    "    buf[...] = x_bar\n"
                    "    return xn, buf\n    ### END SOLUTION\n"
                    '    raise NotImplementedError("Task 5.4: reverse pass of a chain")\n',
                ),
                (
                    "def chain_vjp(step, step_vjp, x0, n, xn_bar):\n",
                    "_XBAR = {}\n\n\ndef chain_vjp(step, step_vjp, x0, n, xn_bar):\n",
                ),
            ],
        ),
        # the output x_n remembered per n: a second chain of the same length gets the first's
        Planted(
            "chain-sqrt-xn-by-n",
            "t5_5",
            [
                (
                    "    xn = x\n    x_bar = xn_bar\n    for start in",
                    "    xn = _XN.setdefault(n, x)\n    x_bar = xn_bar\n    for start in",
                ),
                (
                    "def chain_vjp_sqrt(step, step_vjp, x0, n, xn_bar):\n",
                    "_XN = {}\n\n\ndef chain_vjp_sqrt(step, step_vjp, x0, n, xn_bar):\n",
                ),
            ],
        ),
    ],
}

# filled from the first run against the checks (before issue 22's Build 1–4)
NOT_YET_CAUGHT: set[str] = set()
