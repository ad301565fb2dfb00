"""Planted bugs for assignment 03_reverse_mode (see ``assignment_utils.Planted``)."""

from tests.checks.assignment_utils import Planted

_DELTA = "        delta = dv * (1 - vs[k] ** 2)  # dL/dz_k: b x n_k\n"

MUTANTS: list[Planted] = [
    # 3.1 the computational graph
    Planted(
        "mul-locals-swapped",
        "t3_1",
        [
            (
                "((self, other.value), (other, self.value))",
                "((self, self.value), (other, other.value))",
            )
        ],
        ["x * y", "local derivative ∂z/∂x", "∂(x·y)/∂x = y"],
        notebook=True,
    ),
    Planted(
        "div-sign",
        "t3_1",
        [("(other, -self.value / other.value**2)", "(other, self.value / other.value**2)")],
        ["x / y", "∂z/∂y", "wrong sign"],
    ),
    Planted(
        "rsub-swapped",
        "t3_1",
        [("return as_var(other) - self", "return self - as_var(other)")],
        ["2.0 - y", "wrong sign", "__rsub__"],
    ),
    Planted(
        "sub-as-add-neg",
        "t3_1",
        [
            (
                "return Var(self.value - other.value, ((self, 1.0), (other, -1.0)))",
                "return self + (-other)",
            )
        ],
        ["x - y", "not among the parents", "not x + (−y)"],
    ),
    Planted(
        "neg-no-parent",
        "t3_1",
        [("return Var(-self.value, ((self, -1.0),))", "return Var(-self.value)")],
        ["-x", "not among the parents"],
    ),
    Planted(
        "log-times",
        "t3_1",
        [("((x, 1.0 / x.value),)", "((x, x.value),)")],
        ["log(x)", "∂ log x/∂x = 1/x"],
    ),
    Planted(
        "sqrt-factor-2",
        "t3_1",
        [("((x, 0.5 / r),)", "((x, 1.0 / r),)")],
        ["sqrt(x)", "off by a factor of 2"],
    ),
    Planted(
        "tanh-no-square",
        "t3_1",
        [("((x, 1.0 - th**2),)", "((x, 1.0 - th),)")],
        ["tanh(x)", "1 − tanh²x"],
    ),
    Planted(
        "sin-sign",
        "t3_1",
        [("((x, np.cos(x.value)),)", "((x, -np.cos(x.value)),)")],
        ["sin(x)", "wrong sign"],
    ),
    Planted(
        "exp-local-one",
        "t3_1",
        [("return Var(e, ((x, e),))", "return Var(e, ((x, 1.0),))")],
        ["exp(x)", "eˣ"],
    ),
    Planted(
        "add-mutates",
        "t3_1",
        [
            (
                "return Var(self.value + other.value, ((self, 1.0), (other, 1.0)))",
                "self.value += other.value\n        self.parents = ((self, 1.0), (other, 1.0))\n"
                "        return self",
            )
        ],
        ["modified its operands"],
    ),
    # 3.2 topological order
    Planted(
        "no-visited-set",
        "t3_2",
        [("        if node in visited:\n            return\n", "")],
        ["appears 2 times", "keep a set of visited nodes"],
        notebook=True,
    ),
    Planted(
        "dedupe-without-visited",
        "t3_2",
        [
            ("        if node in visited:\n            return\n", ""),
            (
                "        order.append(node)\n",
                "        if node not in order:\n            order.append(node)\n",
            ),
        ],
        ["more than", "2^k", "visited"],
    ),
    Planted(
        "preorder",
        "t3_2",
        [
            (
                "        visited.add(node)\n        for parent, _ in node.parents:\n"
                "            visit(parent)\n        order.append(node)\n",
                "        visited.add(node)\n        order.append(node)\n"
                "        for parent, _ in node.parents:\n            visit(parent)\n",
            )
        ],
        ["comes before its parent", "post-order"],
    ),
    Planted(
        "first-parent-only",
        "t3_2",
        [
            (
                "for parent, _ in node.parents:\n            visit",
                "for parent, _ in node.parents[:1]:\n            visit",
            )
        ],
        ["missing from the order"],
    ),
    Planted(
        "output-first",
        "t3_2",
        [("    visit(output)\n    return order\n", "    visit(output)\n    return order[::-1]\n")],
        ["comes before its parent"],
    ),
    # 3.3 the backward pass
    Planted(
        "assign-not-accumulate",
        "t3_3",
        [
            (
                "parent.adj += node.adj * local  # fan-out: accumulate",
                "parent.adj = node.adj * local",
            )
        ],
        ["wrong adjoints", "'=' instead of '+='"],
        notebook=True,
    ),
    Planted(
        "forward-order",
        "t3_3",
        [("for node in reversed(order):  # children before parents", "for node in order:")],
        ["walk the topological order backwards"],
    ),
    Planted(
        "ignores-cotangent",
        "t3_3",
        [("    output.adj = cotangent  # the seed\n", "    output.adj = 1.0\n")],
        ["seed output.adj = cotangent"],
    ),
    Planted(
        "no-reset",
        "t3_3",
        [("    for node in order:\n        node.adj = 0.0\n", "")],
        ["two passes", "not reset"],
    ),
    Planted(
        "order-twice",
        "t3_3",
        [
            (
                "for node in reversed(order):  # children before parents",
                "for node in reversed(topological_order(output)):",
            )
        ],
        ["called topological_order 2 times"],
    ),
    # 3.4 the lecture's L(w1, w2)
    Planted(
        "slide-erratum",
        "t3_4",
        [("w2_bar = v2_bar * v1  # dv2/dw2 = v1", "w2_bar = v1_bar * v1  # the slide")],
        ["adjoint of w₂", "off by a factor of 3", "erratum"],
        notebook=True,
    ),
    Planted(
        "v2-no-fan-out",
        "t3_4",
        [
            (
                "v2_bar = v3_bar / (2 * np.sqrt(v2)) + L_bar * 1.0",
                "v2_bar = v3_bar / (2 * np.sqrt(v2))",
            )
        ],
        ["adjoint of v₂", "fan-out"],
    ),
    Planted(
        "w1-times",
        "t3_4",
        [("w1_bar = v1_bar / w1", "w1_bar = v1_bar * w1")],
        ["adjoint of w₁", "off by a factor of 4", "v̄₁/w₁"],
    ),
    Planted(
        "ignores-L-bar",
        "t3_4",
        [("v3_bar = L_bar * 1.0", "v3_bar = 1.0")],
        ["adjoint of v₃", "L_bar = 0.7"],
    ),
    Planted(
        "gradient-two-passes",
        "t3_4",
        [
            (
                '    table = lecture_reverse(w1, w2, 1.0)\n    return table["w1"][1], table["w2"][1]\n',
                '    return lecture_reverse(w1, w2)["w1"][1], lecture_reverse(w1, w2)["w2"][1]\n',
            )
        ],
        ["2 calls of lecture_reverse", "one backward pass"],
    ),
    # 3.5 grad, vjp, jacrev
    Planted(
        "jacrev-forward-per-output",
        "t3_5",
        [
            (
                "        for out in outs:  # one backward pass per output\n"
                "            for xi in xs:\n                xi.adj = 0.0\n"
                "            backward(out)  # pass i: the gradient of output i\n",
                "        for i in range(len(outs)):  # a fresh forward pass per output\n"
                "            for xi in xs:\n                xi.adj = 0.0\n"
                "            backward(f(xs)[i])\n",
            )
        ],
        ["evaluated f 3 times", "one forward pass"],
        notebook=True,
    ),
    Planted(
        "jacrev-no-reset",
        "t3_5",
        [("            for xi in xs:\n                xi.adj = 0.0\n", "")],
        ["Jacobian", "reset x_j.adj = 0"],
    ),
    Planted(
        "vjp-all-ones",
        "t3_5",
        [("s = sum(c * out for c, out in zip(ct, outs))", "s = sum(outs)")],
        ["pullback(ct)", "Jᵀct"],
    ),
    Planted(
        "vjp-forward-per-pullback",
        "t3_5",
        [
            (
                "s = sum(c * out for c, out in zip(ct, outs))",
                "s = sum(c * out for c, out in zip(ct, f(xs)))",
            )
        ],
        ["evaluated f 3 times"],
    ),
    Planted(
        "jacrev-transposed",
        "t3_5",
        [("        return np.array(rows)\n", "        return np.array(rows).T\n")],
        ["Jacobian", "transposed"],
    ),
    Planted(
        "grad-two-backward",
        "t3_5",
        [
            (
                "        backward(out)  # one backward pass gives every component\n",
                "        backward(out)\n        backward(out)\n",
            )
        ],
        ["2 backward passes", "exactly 1"],
    ),
    Planted(
        "grad-uses-jax",
        "t3_5",
        [
            (
                "        xs = [Var(xi) for xi in np.asarray(x, dtype=float)]\n"
                "        out = f(xs)  # one forward pass records the graph\n",
                "        import jax\n        return np.asarray(jax.grad(f)(x))\n",
            )
        ],
        ["jax", "scores 0"],
    ),
    # 3.6 the feedforward network
    Planted(
        "dW-transposed",
        "t3_6",
        [("dWs[k - 1] = vs[k - 1].T @ delta", "dWs[k - 1] = delta.T @ vs[k - 1]")],
        ["∂L/∂W_3 (layer 3) has shape (2, 3)", "expected (3, 2)", "n_2 × n_3", "transposed"],
        notebook=True,
    ),
    Planted(
        "no-sigma-prime",
        "t3_6",
        [(_DELTA, "        delta = dv\n")],
        ["∂L/∂W_3 (layer 3", "1 − v_3²"],
    ),
    Planted(
        "sigma-prime-linear",
        "t3_6",
        [(_DELTA, "        delta = dv * (1 - vs[k])\n")],
        ["∂L/∂W_3 (layer 3"],
    ),
    Planted(
        "dX-is-delta",
        "t3_6",
        [("    return dWs, dv\n", "    return dWs, delta\n")],
        ["∂L/∂X has shape (4, 4)", "expected (4, 5)", "b × d"],
    ),
    Planted(
        "recomputes-tanh",
        "t3_6",
        [(_DELTA, "        delta = dv * (1 - np.tanh(vs[k - 1] @ Ws[k - 1]) ** 2)\n")],
        ["mlp_backward computed tanh (3 call(s))", "reuse the activations"],
    ),
    Planted(
        "in-place",
        "t3_6",
        [(_DELTA, "        delta = dv\n        delta *= 1 - vs[k] ** 2\n")],
        ["input changed in place: mlp_backward modified its argument V_bar"],
    ),
    Planted(
        "forward-stores-last",
        "t3_6",
        [("    return vs\n", "    return vs[-1:]\n")],
        ["t + 1 = 4 arrays"],
    ),
]
