"""Planted bugs for assignment 01_finite_differences (see ``assignment_utils.Planted``)."""

from tests.checks.assignment_utils import Planted

_FORWARD = '        if method == "forward":\n            grad.flat[i] = (f(x + eps * e) - f0) / eps'
_CENTRAL = "grad.flat[i] = (f(x + eps * e) - f(x - eps * e)) / (2 * eps)"
_MDS_GRAD = 'return 8 * np.einsum("kj,kjd->kd", R, diff)'
_TWO_POINT = "return w.size * (L(w + eps * v) - L(w - eps * v)) / (2 * eps) * v"

MUTANTS: list[Planted] = [
    # 1.1 the finite-difference gradient
    Planted(
        "central-is-forward",
        "t1_1",
        [
            ('f0 = f(x) if method == "forward" else None', "f0 = f(x)"),
            (_FORWARD, _FORWARD.replace('method == "forward"', "True")),
        ],
        ["wrong gradient by central differences", "equals forward differences"],
        notebook=True,
    ),
    Planted(
        "central-divides-by-eps",
        "t1_1",
        [(_CENTRAL, _CENTRAL.replace("(2 * eps)", "eps"))],
        ["central", "off by a factor of 2"],
    ),
    Planted(
        "central-wrong-sign",
        "t1_1",
        [(_CENTRAL, "grad.flat[i] = (f(x - eps * e) - f(x + eps * e)) / (2 * eps)")],
        ["wrong sign"],
    ),
    Planted(
        "forward-ignores-eps",
        "t1_1",
        [
            (
                "grad.flat[i] = (f(x + eps * e) - f0) / eps",
                "h = 1e-8\n            grad.flat[i] = (f(x + h * e) - f0) / h",
            )
        ],
        ["wrong gradient by forward differences", "use the step eps that you are given"],
    ),
    Planted(
        "forward-recomputes-f",
        "t1_1",
        [
            (
                "grad.flat[i] = (f(x + eps * e) - f0) / eps",
                "grad.flat[i] = (f(x + eps * e) - f(x)) / eps",
            )
        ],
        ["called f 7 times for d = 3", "exactly d + 1", "once, before the loop"],
    ),
    Planted(
        "modifies-x",
        "t1_1",
        [
            (
                _CENTRAL,
                (
                    "x.flat[i] += eps\n            f_plus = f(x)\n            x.flat[i] -= 2 * eps\n"
                    "            grad.flat[i] = (f_plus - f(x)) / (2 * eps)"
                ),
            )
        ],
        ["modified its argument x"],
    ),
    Planted(
        "flattens-x",
        "t1_1",
        [
            (
                "    x = np.asarray(x, dtype=float)\n    ### BEGIN SOLUTION\n    grad = np.zeros(x.shape)",
                "    x = np.asarray(x, dtype=float).ravel()\n    ### BEGIN SOLUTION\n"
                "    grad = np.zeros(x.shape)",
            )
        ],
        ["f was called with an array of shape (6,)"],
    ),
    # 1.2 the error model and the step
    Planted(
        "forward-roundoff-no-2",
        "t1_2",
        [("M * eps / 2 + 2 * EPS_MACH * f_abs / eps", "M * eps / 2 + EPS_MACH * f_abs / eps")],
        ["error_model for forward", "2·ε_mach"],
    ),
    Planted(
        "central-optimal-sqrt",
        "t1_2",
        [("np.cbrt(3 * EPS_MACH * f_abs / M)", "np.sqrt(3 * EPS_MACH * f_abs / M)")],
        ["optimal_step for central", "(3·ε_mach·|f|/M)^(1/3)"],
    ),
    Planted(
        "default-no-scale",
        "t1_2",
        [
            (
                "optimal_step(method) * np.maximum(1.0, np.abs(x))",
                "optimal_step(method) * np.ones_like(x)",
            )
        ],
        ["default_step(x, 'forward')", "f = log at x ≈ 250", "max(1, |x|)"],
        notebook=True,
    ),
    Planted(
        "default-forward-step",
        "t1_2",
        [
            (
                "optimal_step(method) * np.maximum(1.0, np.abs(x))",
                'optimal_step("forward") * np.maximum(1.0, np.abs(x))',
            )
        ],
        ["default_step(x, 'central')", "far above the best step"],
    ),
    Planted(
        "default-abs-only",
        "t1_2",
        [("optimal_step(method) * np.maximum(1.0, np.abs(x))", "optimal_step(method) * np.abs(x)")],
        ["default_step(x, 'forward')", "f = exp at x ≈ 0.001"],
    ),
    Planted(
        "default-python-max",
        "t1_2",
        [("np.maximum(1.0, np.abs(x))", "max(1.0, abs(x))")],
        ["default_step(x, method) raised", "np.maximum"],
    ),
    # 1.3 zero-order estimators
    Planted(
        "two-point-missing-d",
        "t1_3",
        [(_TWO_POINT, _TWO_POINT.replace("w.size * ", ""))],
        ["the factor d = 5 is missing"],
        notebook=True,
    ),
    Planted(
        "two-point-cube",
        "t1_3",
        [("z = rng.standard_normal(w.shape)", "z = rng.uniform(-1.0, 1.0, w.shape)")],
        ["not uniform on the sphere", "3/(d(d+2))"],
    ),
    Planted(
        "two-point-cube-unnormalised",
        "t1_3",
        [
            ("z = rng.standard_normal(w.shape)", "z = rng.uniform(-1.0, 1.0, w.shape)"),
            ("v = z / np.linalg.norm(z)", "v = z"),
        ],
        ["‖v‖", "unit sphere"],
    ),
    Planted(
        "two-point-abs-directions",
        "t1_3",
        [("v = z / np.linalg.norm(z)", "v = np.abs(z) / np.linalg.norm(z)")],
        ["biased", "standard errors"],
    ),
    Planted(
        "two-point-global-random",
        "t1_3",
        [("z = rng.standard_normal(w.shape)", "z = np.random.standard_normal(w.shape)")],
        ["same seed", "not with np.random"],
    ),
    Planted(
        "two-point-one-sided",
        "t1_3",
        [(_TWO_POINT, "return w.size * (L(w + eps * v) - L(w)) / eps * v")],
        ["one-sided"],
    ),
    Planted(
        "coordinate-forward",
        "t1_3",
        [('return fd_grad(L, w, eps, "central")', 'return fd_grad(L, w, eps, "forward")')],
        ["coordinate estimate"],
    ),
    # 1.4 the MDS loss and its gradient
    Planted(
        "mds-grad-factor-4",
        "t1_4",
        [(_MDS_GRAD, _MDS_GRAD.replace("8 *", "4 *"))],
        ["mds_grad", "off by a factor of 0.5"],
        notebook=True,
    ),
    Planted(
        "mds-grad-sign",
        "t1_4",
        [(_MDS_GRAD, _MDS_GRAD.replace("kjd", "jkd"))],
        ["mds_grad", "wrong sign"],
    ),
    Planted(
        "mds-loss-distance",
        "t1_4",
        [
            (
                "    R = np.sum(diff**2, axis=-1) - D\n    return np.sum(R**2)",
                "    R = np.sqrt(np.sum(diff**2, axis=-1)) - D\n    return np.sum(R**2)",
            )
        ],
        ["mds_loss(W, D)", "no square root"],
    ),
    Planted(
        "mds-grad-by-finite-differences",
        "t1_4",
        [(_MDS_GRAD, 'return fd_grad(lambda V: mds_loss(V, D), W, 1e-6, "central")')],
        ["not by finite differences"],
    ),
    # 1.5 GD against zero-order GD
    Planted(
        "gd-extra-grad-call",
        "t1_5",
        [
            (
                "W = W - lr * grad(W)",
                "if not np.all(np.isfinite(grad(W))):\n            break\n        W = W - lr * grad(W)",
            )
        ],
        ["called grad 40 times", "budget is n_calls = 20"],
        notebook=True,
    ),
    Planted(
        "gd-in-place", "t1_5", [("W = W - lr * grad(W)", "W -= lr * grad(W)")], ["modified W0"]
    ),
    Planted(
        "zo-steps-equal-budget",
        "t1_5",
        [("for _ in range(n_calls // 2):", "for _ in range(n_calls):")],
        ["called loss 40 times", "n_calls // 2 = 10 steps"],
    ),
    Planted(
        "zo-logs-loss",
        "t1_5",
        [
            (
                "W = W - lr * two_point_estimator(loss, W, eps, rng)",
                "W = W - lr * two_point_estimator(loss, W, eps, rng)\n        last = loss(W)  # noqa",
            )
        ],
        ["called loss 30 times"],
    ),
    Planted(
        "zo-new-generator",
        "t1_5",
        [
            (
                "W = W - lr * two_point_estimator(loss, W, eps, rng)",
                "W = W - lr * two_point_estimator(loss, W, eps, np.random.default_rng(0))",
            )
        ],
        ["zero-order gradient descent", "do not make a new generator"],
    ),
    Planted(
        "zo-step-too-large",
        "t1_5",
        [("return 3e-3, 5e-4", "return 3e-3, 3e-3")],
        ["LR_ZO = 0.003", "makes no progress"],
    ),
    Planted(
        "gd-step-too-small",
        "t1_5",
        [("return 3e-3, 5e-4", "return 1e-5, 5e-4")],
        ["LR_GD = 1e-05", "does not converge"],
    ),
]
