"""Planted bugs for assignment 02_forward_mode (see ``assignment_utils.Planted``)."""

from tests.checks.assignment_utils import Planted

MUTANTS: list[Planted] = [
    # 2.1 dual numbers
    Planted(
        "mul-sign",
        "t2_1",
        [
            (
                "return Dual(self.value * other.value,\n"
                "                    self.tangent * other.value + self.value * other.tangent)",
                "return Dual(self.value * other.value,\n"
                "                    self.tangent * other.value - self.value * other.tangent)",
            )
        ],
        ["x * y", "product rule"],
        notebook=True,
    ),
    Planted(
        "div-forgets-square",
        "t2_1",
        [("other.tangent) / other.value**2)", "other.tangent) / other.value)")],
        ["x / y", "quotient rule"],
    ),
    Planted(
        "rsub-swapped",
        "t2_1",
        [("return lift(other) - self", "return self - lift(other)")],
        ["wrong sign", "__rsub__"],
    ),
    Planted(
        "log-times",
        "t2_1",
        [("x.tangent / x.value)", "x.tangent * x.value)")],
        ["log(x)", "obtained / expected = 0.49", "dx / x"],
    ),
    Planted(
        "sqrt-factor-2",
        "t2_1",
        [("x.tangent / (2 * r)", "x.tangent / r")],
        ["sqrt(x)", "off by a factor of 2"],
    ),
    Planted(
        "exp-no-chain",
        "t2_1",
        [("return type(x)(e, e * x.tangent)", "return type(x)(e, e)")],
        ["exp(x)"],
    ),
    Planted(
        "sin-not-generic",
        "t2_1",
        [("return type(x)(np.sin(x.value)", "return Dual(np.sin(x.value)")],
        ["type(x)"],
    ),
    Planted(
        "add-mutates",
        "t2_1",
        [
            (
                "return Dual(self.value + other.value, self.tangent + other.tangent)",
                "self.value += other.value\n        self.tangent += other.tangent\n"
                "        return self",
            )
        ],
        ["modified"],
    ),
    # 2.2 the lecture's L(w1, w2)
    Planted(
        "v1-times-w1",
        "t2_2",
        [("v1_dot = w1_dot / w1", "v1_dot = w1_dot * w1")],
        ["v₁ = log w₁", "off by a factor of 4", "∂v₁/∂w₁"],
        notebook=True,
    ),
    Planted(
        "v2-one-term",
        "t2_2",
        [("v2_dot = w2_dot * v1 + w2 * v1_dot", "v2_dot = w2 * v1_dot")],
        ["v₂ = w₂·v₁", "product rule"],
    ),
    Planted(
        "v3-factor-2",
        "t2_2",
        [("v3_dot = v2_dot / (2 * v3)", "v3_dot = v2_dot / v3")],
        ["v₃ = √v₂", "off by a factor of 2"],
    ),
    Planted(
        "gradient-extra-pass",
        "t2_2",
        [
            (
                '    dL_dw2 = lecture_forward(w1, w2, 0.0, 1.0)["L"][1]\n',
                '    dL_dw2 = lecture_forward(w1, w2, 0.0, 1.0)["L"][1]\n'
                "    lecture_forward(w1, w2, 1.0, 1.0)\n",
            )
        ],
        ["3 forward passes", "exactly one pass"],
    ),
    Planted(
        "gradient-swapped",
        "t2_2",
        [("return dL_dw1, dL_dw2", "return dL_dw2, dL_dw1")],
        ["(∂L/∂w1, ∂L/∂w2)"],
    ),
    # 2.3 dual arrays
    Planted(
        "add-no-broadcast",
        "t2_3",
        [("np.broadcast_to(self.tangent, value.shape)", "self.tangent")],
        ["x + C", "broadcast"],
        notebook=True,
    ),
    Planted(
        "rmatmul-order",
        "t2_3",
        [("return as_dual_array(other) @ self", "return self @ as_dual_array(other)")],
        ["A @ x", "order of the factors"],
    ),
    Planted(
        "matmul-one-term",
        "t2_3",
        [("self.tangent @ other.value + self.value @ other.tangent", "self.tangent @ other.value")],
        ["A @ x", "obtained zero", "A'·B + A·B'"],
    ),
    Planted(
        "matmul-transposed",
        "t2_3",
        [
            (
                "self.tangent @ other.value + self.value @ other.tangent",
                "self.tangent @ other.value + (other.tangent.T @ self.value.T)",
            )
        ],
        ["X @ Y"],
    ),
    Planted(
        "sum-ignores-axis",
        "t2_3",
        [("self.tangent.sum(axis=axis)", "self.tangent.sum()")],
        ["X.sum(axis=0)", "shape"],
    ),
    Planted(
        "div-sign",
        "t2_3",
        [
            (
                "(self.tangent * other.value - self.value * other.tangent)\n",
                "(self.tangent * other.value + self.value * other.tangent)\n",
            )
        ],
        ["x / y"],
    ),
    Planted(
        "array-rsub-swapped",
        "t2_3",
        [("return as_dual_array(other) - self", "return self - as_dual_array(other)")],
        ["c - x", "wrong sign"],
    ),
    # 2.4 jvp
    Planted(
        "jvp-all-ones-tangent",
        "t2_4",
        [("DualArray(p, t) for p, t", "DualArray(p, np.ones_like(p)) for p, t")],
        ["tangent output", "J·v"],
        notebook=True,
    ),
    Planted(
        "jvp-returns-dual",
        "t2_4",
        [("return out.value, out.tangent", "return out.value, out")],
        ["plain arrays"],
    ),
    Planted(
        "jvp-constant-output",
        "t2_4",
        [
            (
                "    if not is_dual(out):  # f ignores its inputs: the derivative is zero\n"
                "        out = DualArray(out)\n",
                "",
            )
        ],
        ["f(x) = C", "AttributeError"],
    ),
    Planted(
        "jvp-uses-reference",
        "t2_4",
        [
            (
                "    duals = [DualArray(p, t)",
                "    import reference_impl\n"
                "    return reference_impl.jvp(f, primals, tangents)\n"
                "    duals = [DualArray(p, t)",
            )
        ],
        ["reference_impl", "scores 0"],
        notebook=True,
    ),
    # 2.5 jacfwd
    Planted(
        "jacfwd-extra-pass",
        "t2_5",
        [
            (
                "        columns = []\n",
                "        columns = []\n        out_shape = np.shape(f(as_dual_array(x)).value)\n",
            )
        ],
        ["evaluated f 4 times", "exactly one pass per input direction"],
        notebook=True,
    ),
    Planted(
        "jacfwd-finite-differences",
        "t2_5",
        [
            (
                "            _, column = jvp(f, (x,), (e_k.reshape(x.shape),))\n",
                "            h = 1e-6\n"
                "            column = (f(x + h * e_k.reshape(x.shape)) - f(x)) / h\n",
            )
        ],
        ["plain arrays", "finite differences"],
    ),
    Planted(
        "jacfwd-transposed",
        "t2_5",
        [
            (
                "np.stack(columns, axis=-1).reshape(columns[0].shape + x.shape)",
                "np.stack(columns, axis=0).reshape(x.shape + columns[0].shape)",
            )
        ],
        ["transposed"],
    ),
    Planted(
        "jacfwd-uses-jax",
        "t2_5",
        [
            (
                "        x = np.asarray(x, dtype=float)\n",
                "        x = np.asarray(x, dtype=float)\n"
                "        import jax\n        return np.asarray(jax.jacfwd(f)(x))\n",
            )
        ],
        ["jax", "scores 0"],
    ),
]
