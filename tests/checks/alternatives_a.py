"""Alternative correct solutions of assignments 01 and 02, written differently from the instructor's
(other algorithms, vectorised instead of loops, recursion, helpers, dataclasses, a dict of helpers,
docstrings that name JAX). Each value redefines the task's functions in the solved notebook."""

ALTERNATIVES = {
    ("01_finite_differences", "t1_1"): '''
def fd_grad(f, x, eps, method="central"):
    """Like jax.grad, but by differences: one row of the identity per coordinate."""
    x = np.asarray(x, dtype=float)
    basis = np.eye(x.size).reshape((x.size,) + x.shape) * eps
    if method == "forward":
        f0 = f(x)
        diffs = [f(x + e) - f0 for e in basis]
        return (np.array(diffs, dtype=float) / eps).reshape(x.shape)
    diffs = [f(x + e) - f(x - e) for e in basis]
    return (np.array(diffs, dtype=float) / (2 * eps)).reshape(x.shape)
''',
    ("01_finite_differences", "t1_2"): """
_TRUNC = {"forward": (1, 2.0), "central": (2, 6.0)}   # (power of eps, denominator)
_ROUND = {"forward": 2.0, "central": 1.0}


def error_model(eps, method, f_abs=1.0, M=1.0):
    p, d = _TRUNC[method]
    eps = np.asarray(eps, dtype=float)
    return M * eps**p / d + _ROUND[method] * EPS_MACH * f_abs / eps


def optimal_step(method, f_abs=1.0, M=1.0):
    p, d = _TRUNC[method]
    # d/deps: p M eps^(p-1) / d = c EPS f / eps^2  =>  eps^(p+1) = c EPS f d / (p M)
    return (_ROUND[method] * EPS_MACH * f_abs * d / (p * M)) ** (1.0 / (p + 1))


def default_step(x, method):
    scale = np.where(np.abs(x) > 1.0, np.abs(x), 1.0)
    return optimal_step(method) * scale
""",
    ("01_finite_differences", "t1_3"): """
def two_point_estimator(L, w, eps, rng):
    w = np.asarray(w, dtype=float)
    v = rng.standard_normal(w.shape)
    v /= np.sqrt(np.sum(v * v))
    up, down = L(w + eps * v), L(w - eps * v)
    return (w.size / (2 * eps)) * (up - down) * v


def coordinate_estimator(L, w, eps):
    w = np.asarray(w, dtype=float)
    G = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        e = np.zeros_like(w)
        e[idx] = eps
        G[idx] = (L(w + e) - L(w - e)) / (2 * eps)
    return G
""",
    ("01_finite_differences", "t1_4"): """
def _residuals(W, D):
    gram = W @ W.T
    sq = np.diag(gram)
    return sq[:, None] + sq[None, :] - 2 * gram - D


def mds_loss(W, D):
    R = _residuals(W, D)
    return float(np.sum(R * R))


def mds_grad(W, D):
    R = _residuals(W, D)
    # ∂/∂W_k of Σ_ij R_ij²: 4 Σ_j (R_kj + R_jk)(W_k − W_j), R symmetric
    S = R + R.T
    return 4 * (np.sum(S, axis=1)[:, None] * W - S @ W)
""",
    ("01_finite_differences", "t1_5"): """
import functools


def gradient_descent(grad, W0, lr, n_calls):
    step = lambda W, _: W - lr * grad(W)  # noqa: E731
    return functools.reduce(step, range(n_calls), np.array(W0, dtype=float))


def zo_gradient_descent(loss, W0, lr, n_calls, eps, rng):
    W = np.array(W0, dtype=float)
    steps = n_calls // 2
    while steps:
        W = W - lr * two_point_estimator(loss, W, eps, rng)
        steps -= 1
    return W


def step_sizes():
    return 2.5e-3, 4e-4
""",
    ("02_forward_mode", "t2_1"): '''
import dataclasses

_RULES = {
    "add": (lambda a, b: a + b, lambda a, da, b, db: da + db),
    "sub": (lambda a, b: a - b, lambda a, da, b, db: da - db),
    "mul": (lambda a, b: a * b, lambda a, da, b, db: da * b + a * db),
    "div": (lambda a, b: a / b, lambda a, da, b, db: da / b - a * db / (b * b)),
}


def lift(x):
    return x if isinstance(x, Dual) else Dual(x, 0.0)


@dataclasses.dataclass(eq=False)
class Dual:
    """A dual number, as in jax.jvp's forward mode."""

    value: float
    tangent: float = 0.0
    __array_ufunc__ = None

    def _op(self, name, other, swap=False):
        a, b = (lift(other), self) if swap else (self, lift(other))
        f, df = _RULES[name]
        return Dual(f(a.value, b.value), df(a.value, a.tangent, b.value, b.tangent))

    def __add__(self, o): return self._op("add", o)
    def __radd__(self, o): return self._op("add", o, True)
    def __sub__(self, o): return self._op("sub", o)
    def __rsub__(self, o): return self._op("sub", o, True)
    def __mul__(self, o): return self._op("mul", o)
    def __rmul__(self, o): return self._op("mul", o, True)
    def __truediv__(self, o): return self._op("div", o)
    def __rtruediv__(self, o): return self._op("div", o, True)
    def __neg__(self): return Dual(-self.value, -self.tangent)


def _unary(f, df):
    def g(x):
        if not is_dual(x):
            return f(x)
        return type(x)(f(x.value), df(x.value) * x.tangent)
    return g


log = _unary(np.log, lambda v: 1 / v)
exp = _unary(np.exp, np.exp)
sin = _unary(np.sin, np.cos)
sqrt = _unary(np.sqrt, lambda v: 0.5 / np.sqrt(v))
''',
    ("02_forward_mode", "t2_2"): '''
def lecture_forward(w1, w2, w1_dot, w2_dot):
    """Forward mode by hand (what jax.jvp does)."""
    table = {}
    v1 = np.log(w1), w1_dot / w1
    v2 = w2 * v1[0], w2_dot * v1[0] + w2 * v1[1]
    r = np.sqrt(v2[0])
    v3 = r, 0.5 * v2[1] / r
    for name, pair in (("v1", v1), ("v2", v2), ("v3", v3)):
        table[name] = pair
    table["L"] = (v2[0] + v3[0], v2[1] + v3[1])
    return table


def lecture_gradient(w1, w2):
    return tuple(lecture_forward(w1, w2, *e)["L"][1] for e in ((1.0, 0.0), (0.0, 1.0)))
''',
    ("02_forward_mode", "t2_3"): """
class DualArray:
    __array_ufunc__ = None

    def __init__(self, value, tangent=None):
        self.value = np.asarray(value, dtype=float)
        self.tangent = (np.zeros_like(self.value) if tangent is None
                        else np.asarray(tangent, dtype=float))
        if self.tangent.shape != self.value.shape:
            raise ValueError("shapes differ")

    @property
    def shape(self):
        return self.value.shape

    @staticmethod
    def _pair(x):
        if isinstance(x, DualArray):
            return x.value, x.tangent
        x = np.asarray(x, dtype=float)
        return x, np.zeros_like(x)

    def _make(self, value, tangent):
        value = np.asarray(value, dtype=float)
        return DualArray(value, np.broadcast_to(tangent, value.shape).copy())

    def __add__(self, o):
        (a, da), (b, db) = self._pair(self), self._pair(o)
        return self._make(a + b, da + db)

    def __radd__(self, o):
        return self + o

    def __neg__(self):
        return DualArray(-self.value, -self.tangent)

    def __sub__(self, o):
        (a, da), (b, db) = self._pair(self), self._pair(o)
        return self._make(a - b, da - db)

    def __rsub__(self, o):
        return (-self) + o

    def __mul__(self, o):
        (a, da), (b, db) = self._pair(self), self._pair(o)
        return self._make(a * b, da * b + a * db)

    def __rmul__(self, o):
        return self * o

    def __truediv__(self, o):
        (a, da), (b, db) = self._pair(self), self._pair(o)
        q = a / b
        return self._make(q, (da - q * db) / b)

    def __rtruediv__(self, o):
        (a, da), (b, db) = self._pair(o), self._pair(self)
        q = a / b
        return self._make(q, (da - q * db) / b)

    def __matmul__(self, o):
        (a, da), (b, db) = self._pair(self), self._pair(o)
        return self._make(np.matmul(a, b), np.matmul(da, b) + np.matmul(a, db))

    def __rmatmul__(self, o):
        (a, da), (b, db) = self._pair(o), self._pair(self)
        return self._make(np.matmul(a, b), np.matmul(da, b) + np.matmul(a, db))

    def sum(self, axis=None):
        return DualArray(np.sum(self.value, axis=axis), np.sum(self.tangent, axis=axis))


def as_dual_array(x):
    return x if isinstance(x, DualArray) else DualArray(x)
""",
    ("02_forward_mode", "t2_4"): '''
def jvp(f, primals, tangents):
    """jax.jvp's convention: returns (f(*primals), J·tangents)."""
    args = list(map(DualArray, primals, tangents))
    out = f(*args)
    if isinstance(out, DualArray):
        return out.value, out.tangent
    value = np.asarray(out, dtype=float)
    return value, np.zeros_like(value)
''',
    ("02_forward_mode", "t2_5"): '''
def jacfwd(f):
    """jax.jacfwd's convention: J has shape f(x).shape + x.shape."""
    def jacobian(x):
        x = np.asarray(x, dtype=float)
        eye = np.eye(x.size)
        cols = [np.asarray(jvp(f, (x,), (eye[k].reshape(x.shape),))[1]) for k in range(x.size)]
        J = np.array(cols)                       # (n,) + out.shape
        J = np.moveaxis(J, 0, -1)                # out.shape + (n,)
        return J.reshape(J.shape[:-1] + x.shape)
    return jacobian
''',
}
