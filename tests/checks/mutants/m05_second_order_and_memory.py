"""Planted bugs for assignment 05_second_order_and_memory (see ``assignment_utils.Planted``)."""

from tests.checks.assignment_utils import Planted

_SQRT_BACKWARD = (
    "        segment = [checkpoints.pop(start)]\n"
    "        for k in range(start, stop - 1):\n"
    "            segment.append(step(k, segment[-1]))\n"
)

MUTANTS: list[Planted] = [
    # 5.1 Hessian-vector products
    Planted(
        "hvp-finite-differences",
        "t5_1",
        [
            (
                "    _, Hv = jvp(grad_f, (x,), (v,))\n",
                "    eps = 1e-6\n    Hv = (grad_f(x + eps * v) - grad_f(x)) / eps\n",
            )
        ],
        ["hvp_fwd_over_rev", "plain arrays", "finite differences"],
        notebook=True,
    ),
    Planted(
        "hvp-returns-gradient",
        "t5_1",
        [("    _, Hv = jvp(grad_f, (x,), (v,))\n", "    Hv, _ = jvp(grad_f, (x,), (v,))\n")],
        ["∇²f(x)·v from hvp_fwd_over_rev", "that is ∇f(x)"],
    ),
    Planted(
        "hvp-rev-forgets-v",
        "t5_1",
        [("grad(lambda y: np.sum(grad_f(y) * v))(x)", "grad(lambda y: np.sum(grad_f(y)))(x)")],
        ["∇²f(x)·v from hvp_rev_over_rev", "the direction v is missing"],
    ),
    Planted(
        "hvp-rev-sign",
        "t5_1",
        [("grad(lambda y: np.sum(grad_f(y) * v))(x)", "grad(lambda y: np.sum(grad_f(y) * -v))(x)")],
        ["hvp_rev_over_rev", "wrong sign"],
    ),
    Planted(
        "hvp-rev-is-forward",
        "t5_1",
        [("return grad(lambda y: np.sum(grad_f(y) * v))(x)", "return jvp(grad_f, (x,), (v,))[1]")],
        ["hvp_rev_over_rev", "forward mode (jvp)", "other composition"],
    ),
    Planted(
        "hvp-via-full-hessian",
        "t5_1",
        [
            (
                "    return grad(lambda y: np.sum(grad_f(y) * v))(x)\n",
                "    x = np.asarray(x, dtype=float)\n"
                "    cols = [grad(lambda y: np.sum(grad_f(y) * e.reshape(x.shape)))(x).reshape(-1)\n"
                "            for e in np.eye(x.size)]\n"
                "    return (np.stack(cols, axis=1) @ np.reshape(v, -1)).reshape(x.shape)\n",
            )
        ],
        ["hvp_rev_over_rev called grad_f 4 times", "exactly one call of grad_f"],
    ),
    # 5.2 the Hessian from HVPs
    Planted(
        "hessian-rows",
        "t5_2",
        [("        H[:, j] = np.reshape(", "        H[j, :] = np.reshape(")],
        ["non-symmetric", "transposed", "H[:, j] = hvp(e_j)"],
        notebook=True,
    ),
    Planted(
        "hessian-extra-call",
        "t5_2",
        [("    H = np.empty((n, n))\n", "    H = np.empty((n, np.size(hvp(x))))\n")],
        ["made 5 HVPs", "exactly n = 4", "not from an extra product"],
    ),
    Planted(
        "hessian-flat-probe",
        "t5_2",
        [("hvp(e_j.reshape(x.shape))", "hvp(e_j)")],
        ["X of shape (2, 3)", "hvp(v) takes v of x's shape (2, 3)"],
    ),
    Planted(
        "hessian-no-reshape",
        "t5_2",
        [("    return H.reshape(x.shape + x.shape)\n", "    return H\n")],
        ["shape (6, 6) instead of (2, 3, 2, 3)"],
    ),
    Planted(
        "hessian-ones-probes",
        "t5_2",
        [("        e_j = np.zeros(n)\n", "        e_j = np.ones(n)\n")],
        ["Hessian", "not the basis vectors e_j"],
    ),
    # 5.3 Hutchinson
    Planted(
        "hutchinson-gaussian-probes",
        "t5_3",
        [("v = rng.choice([-1.0, 1.0], size=n)", "v = rng.standard_normal(n)")],
        ["not Rademacher", "not ±1"],
        notebook=True,
    ),
    Planted(
        "hutchinson-sum-not-mean",
        "t5_3",
        [("return samples.mean(), ", "return samples.sum(), ")],
        ["estimate", "off by the factor V = 40", "divide the sum by V"],
        notebook=True,
    ),
    Planted(
        "hutchinson-stderr-ddof0",
        "t5_3",
        [("samples.std(ddof=1)", "samples.std()")],
        ["standard error", "ddof=1"],
    ),
    Planted(
        "hutchinson-stderr-no-sqrt-V",
        "t5_3",
        [("samples.std(ddof=1) / np.sqrt(num_probes)", "samples.std(ddof=1)")],
        ["standard error", "divide by √V"],
    ),
    Planted(
        "hutchinson-budget-overrun",
        "t5_3",
        [
            (
                "    return samples.mean(), ",
                "    matvec(rng.choice([-1.0, 1.0], size=n))  # a spare product\n"
                "    return samples.mean(), ",
            )
        ],
        ["used 41 matvecs for a budget of num_probes = 40"],
    ),
    Planted(
        "hutchinson-one-probe",
        "t5_3",
        [
            (
                "    for i in range(num_probes):\n        v = rng.choice([-1.0, 1.0], size=n)\n",
                "    v = rng.choice([-1.0, 1.0], size=n)\n    for i in range(num_probes):\n",
            )
        ],
        ["are the same vector", "fresh probe"],
    ),
    Planted(
        "hutchinson-zero-one-probes",
        "t5_3",
        [("rng.choice([-1.0, 1.0], size=n)", "rng.integers(0, 2, size=n) * 1.0")],
        ["0/1 entries", "±1"],
    ),
    Planted(
        "hutchinson-own-generator",
        "t5_3",
        [
            (
                "    samples = np.empty(num_probes)\n",
                "    samples = np.empty(num_probes)\n    rng = np.random.default_rng(0)\n",
            )
        ],
        ["rng argument", "same seed"],
    ),
    Planted(
        "hutchinson-correlated-probes",
        "t5_3",
        [
            (
                "        v = rng.choice([-1.0, 1.0], size=n)\n",
                "        v = rng.choice([-1.0, 1.0], size=n) if i % 2 == 0 else v\n",
            )
        ],
        ["variance of the estimates", "independent probes"],
    ),
    Planted(
        "hutchinson-uses-reference",
        "t5_3",
        [
            (
                "    samples = np.empty(num_probes)\n",
                "    import reference_impl.trace_estimation as te\n"
                "    r = te.hutchinson(matvec, n, num_probes, rng)\n"
                "    return r.estimate, r.stderr\n"
                "    samples = np.empty(num_probes)\n",
            )
        ],
        ["reference_impl", "scores 0"],
    ),
    # 5.4 the reverse pass of a chain
    Planted(
        "chain-vjp-next-state",
        "t5_4",
        [
            (
                "    xn = states.pop()\n    x_bar = xn_bar\n    for k in reversed(range(n)):\n"
                "        x_bar = step_vjp(k, states.pop(), x_bar)\n",
                "    x_bar = xn_bar\n    for k in reversed(range(n)):\n"
                "        x_bar = step_vjp(k, states[k + 1], x_bar)\n    xn = states[-1]\n",
            )
        ],
        ["received x_6, not x_5", "input of step k"],
        notebook=True,
    ),
    Planted(
        "chain-vjp-recompute",
        "t5_4",
        [
            (
                "        x_bar = step_vjp(k, states.pop(), x_bar)\n",
                "        x = x0\n        for j in range(k):\n            x = step(j, x)\n"
                "        x_bar = step_vjp(k, x, x_bar)\n",
            )
        ],
        ["called step 21 times", "exactly n = 6"],
    ),
    Planted(
        "chain-vjp-forward-order",
        "t5_4",
        [
            (
                "    xn = states.pop()\n    x_bar = xn_bar\n    for k in reversed(range(n)):\n"
                "        x_bar = step_vjp(k, states.pop(), x_bar)\n",
                "    xn = states.pop()\n    x_bar = xn_bar\n    for k in range(n):\n"
                "        x_bar = step_vjp(k, states[k], x_bar)\n",
            )
        ],
        ["in the order", "k = n−1, …, 1, 0"],
    ),
    Planted(
        "chain-vjp-returns-cotangent-of-xn",
        "t5_4",
        [
            (
                "    return xn, x_bar\n    ### END SOLUTION\n"
                '    raise NotImplementedError("Task 5.4: reverse pass of a chain")',
                "    return xn, xn_bar\n    ### END SOLUTION\n"
                '    raise NotImplementedError("Task 5.4: reverse pass of a chain")',
            )
        ],
        ["x0_bar"],
    ),
    # 5.5 √n checkpointing
    Planted(
        "sqrt-stores-everything",
        "t5_5",
        [
            (
                "        if k % s == 0:\n            checkpoints[k] = x\n",
                "        checkpoints[k] = x\n",
            )
        ],
        ["19 states returned by step were alive at once", "at most 2·4 + 2 = 10"],
        notebook=True,
    ),
    Planted(
        "sqrt-stores-copies",
        "t5_5",
        [
            (
                "        if k % s == 0:\n            checkpoints[k] = x\n",
                "        checkpoints[k] = x.copy()\n",
            )
        ],
        ["peak memory", "copies"],
    ),
    Planted(
        "sqrt-segment-not-released",
        "t5_5",
        [
            (
                "            x_bar = step_vjp(k, segment.pop(), x_bar)\n",
                "            x_bar = step_vjp(k, segment[k - start], x_bar)\n"
                "        kept.append(segment)\n",
            ),
            (
                "    x_bar = xn_bar\n    for start in reversed(",
                "    x_bar = xn_bar\n    kept = []\n    for start in reversed(",
            ),
        ],
        ["states returned by step were alive at once", "drop it when it is done"],
    ),
    Planted(
        "sqrt-recompute-from-x0",
        "t5_5",
        [
            (
                _SQRT_BACKWARD,
                "        checkpoints.pop(start)\n        x = x0\n"
                "        for k in range(start):\n            x = step(k, x)\n"
                "        segment = [x]\n"
                "        for k in range(start, stop - 1):\n"
                "            segment.append(step(k, segment[-1]))\n",
            )
        ],
        ["called step", "at most 2n = 32", "not from x0"],
    ),
    Planted(
        "sqrt-segment-off-by-one",
        "t5_5",
        [("        for k in range(start, stop - 1):\n", "        for k in range(start, stop):\n")],
        ["step_vjp", "not x_15", "input of step k"],
    ),
    Planted(
        "sqrt-fixed-segments",
        "t5_5",
        [("    s = int(np.ceil(np.sqrt(n)))\n", "    s = max(1, n // 2)\n")],
        ["states returned by step were alive at once", "keep only every s-th state"],
    ),
    Planted(
        "sqrt-uses-checkpoint-chain",
        "t5_5",
        [
            (
                "    s = int(np.ceil(np.sqrt(n)))\n",
                "    from reference_impl import checkpoint as cp\n"
                "    return cp.checkpoint_chain([lambda x, k=k: step(k, x) for k in range(n)], x0), x0\n"
                "    s = int(np.ceil(np.sqrt(n)))\n",
            )
        ],
        ["reference_impl", "scores 0"],
        notebook=True,
    ),
]
