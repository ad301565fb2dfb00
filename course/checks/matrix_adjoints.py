"""Checks of assignment 04, matrix adjoints: the JVP and VJP of ``solve`` (one LU factorisation,
counted), the dot-product test, the derivatives of the singular values and the full VJP of the
SVD (Townsend 2016).

Expected values come from ``reference_impl`` (``ri.jvp`` / ``ri.vjp`` / ``ri.grad`` through
``reference_impl.numpy.linalg.solve`` and ``svd``) at seeded, well-conditioned random points with
random tangents and cotangents. The student's code runs under :class:`Watch`, a profile hook that
counts the NumPy/SciPy routines that factorise a matrix and the triangular solves, so that the
checks can require *one* factorisation for a forward and backward pass. The SVD checks hand the
student decompositions whose singular-vector pairs ``(u_i, v_i)`` have random signs; the
reference for such a decomposition ``(U D, s, D Vᵀ)`` is the rule at NumPy's ``(U, s, Vᵀ)`` with
the cotangents ``(Ū D, s̄, D V̄ᵀ)`` (the rules are equivariant under ``D``). Task 4.3 feeds the
student's dot-product test the course's own NumPy JVP/VJP pairs, correct and planted wrong ones.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import reference_impl as ri
import reference_impl.numpy as rnp

from ._core import (
    CallCounter,
    Task,
    assert_close,
    direction,
    fail,
    rng,
    student_call,
    task_check,
)

TASKS = {
    "t4_1": Task("t4_1", "solve-jvp", "JVP of solve", "JVP решения линейной системы", 20),
    "t4_2": Task("t4_2", "solve-vjp", "VJP of solve", "VJP решения линейной системы", 25),
    "t4_3": Task("t4_3", "dot-product-test", "the dot-product test",
                 "тест скалярного произведения", 20),
    "t4_4": Task("t4_4", "svd-values", "derivatives of the singular values",
                 "производные сингулярных чисел", 20),
    "t4_5": Task("t4_5", "svd-vjp", "the full VJP of the SVD",
                 "полный VJP сингулярного разложения", 15),
}
T1, T2, T3, T4, T5 = TASKS.values()

__all__ = ["TASKS", "Watch", "hidden_t4_1", "hidden_t4_2", "hidden_t4_3", "hidden_t4_4",
           "hidden_t4_5", "t4_1", "t4_2", "t4_3", "t4_4", "t4_5"]


# ---------------------------------------------------------------------------------------------
# counting factorisations and solves in the student's code
# ---------------------------------------------------------------------------------------------
#: routines that factorise a matrix (O(n³)); a call from inside another one is not counted
_FACTORISING = {
    "numpy.linalg": ("solve", "inv", "det", "slogdet", "lstsq", "pinv", "cholesky", "qr", "svd",
                     "svdvals", "eig", "eigh", "eigvals", "eigvalsh", "tensorsolve", "tensorinv",
                     "matrix_rank", "cond"),
    "scipy.linalg": ("lu_factor", "lu", "solve", "inv", "det", "lstsq", "pinv", "pinvh",
                     "cho_factor", "cholesky", "qr", "svd", "svdvals", "eig", "eigh", "ldl",
                     "schur", "null_space", "orth"),
}
#: routines that solve with given factors (O(n²) per right-hand side)
_SOLVING = {"scipy.linalg": ("lu_solve", "cho_solve", "solve_triangular")}


@functools.cache
def _watched_codes() -> dict[types.CodeType, tuple[str, str]]:
    """``{code object: (kind, "numpy.linalg.solve")}`` of the routines above (decorators
    unwrapped, so that the profile hook sees the function that does the work)."""
    import inspect

    codes: dict[types.CodeType, tuple[str, str]] = {}
    for kind, table in (("factorisation", _FACTORISING), ("solve", _SOLVING)):
        for module_name, names in table.items():
            module = importlib.import_module(module_name)
            for name in names:
                fn = getattr(module, name, None)
                code = getattr(inspect.unwrap(fn), "__code__", None) if fn else None
                if code is not None:
                    codes.setdefault(code, (kind, f"{module_name}.{name}"))
    return codes


@dataclass
class Call:
    """A watched call: ``kind`` ("factorisation" or "solve"), the routine, its arguments."""

    kind: str
    name: str
    args: dict[str, Any]


class Watch:
    """Record the factorisations and solves made inside :meth:`wrap`-ped calls.

    A profile hook (``sys.setprofile``) sees every Python-level call, however the routine was
    reached (``np.linalg.solve``, ``from scipy.linalg import lu_factor``, the notebook's given
    ``lu_factor``); only outermost watched calls count (``pinv`` calling ``svd`` is one). It
    chains the hook already active (the run-time guard of :func:`student_call`).
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def of(self, kind: str) -> list[Call]:
        return [c for c in self.calls if c.kind == kind]

    @property
    def factorisations(self) -> list[Call]:
        return self.of("factorisation")

    @property
    def solves(self) -> list[Call]:
        return self.of("solve")

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        outer = sys.getprofile()
        codes = _watched_codes()
        active: set[int] = set()

        def profile(frame: types.FrameType, event: str, arg: Any) -> None:
            if outer is not None:
                outer(frame, event, arg)
            found = codes.get(frame.f_code)
            if found is None:
                return
            if event == "call":
                if not active:
                    self.calls.append(Call(found[0], found[1], dict(frame.f_locals)))
                active.add(id(frame))
            elif event == "return":
                active.discard(id(frame))

        sys.setprofile(profile)
        try:
            yield
        finally:
            sys.setprofile(outer)

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` with its calls watched."""

        def watched(*args: Any, **kwargs: Any) -> Any:
            with self.watching():
                return fn(*args, **kwargs)

        return watched


def _names(calls: Sequence[Call]) -> str:
    return ", ".join(c.name for c in calls) or "none"


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------
def well_conditioned(gen: np.random.Generator, n: int) -> np.ndarray:
    """``randn(n, n) + n·I``: invertible and well conditioned (HIPS autograd's test matrices)."""
    return gen.normal(size=(n, n)) + n * np.eye(n)


def _outer(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``u vᵀ`` for vectors, ``U Vᵀ`` for matrices of right-hand sides (n×k each)."""
    n = u.shape[0]
    return u.reshape(n, -1) @ v.reshape(n, -1).T


def _array(x: Any) -> np.ndarray | None:
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        return None


def _close(a: Any, b: Any, rtol: float = 1e-7, atol: float = 1e-9) -> bool:
    x, y = _array(a), _array(b)
    return x is not None and y is not None and x.shape == y.shape and bool(
        np.allclose(x, y, rtol=rtol, atol=atol))


def _compare(task: Task, what: str, obtained: Any, expected: Any, *, inputs: dict[str, Any],
             hint: str, wrong: Sequence[tuple[str, Any, str]] = ()) -> None:
    """Like :func:`assert_close`; when ``obtained`` equals one of the ``wrong`` values
    ``(formula, value, hint)`` the diagnosis names the formula the solution computed."""
    if _close(obtained, expected):
        return
    for formula, value, why in wrong:
        if _close(obtained, value) and not _close(value, expected):
            fail(task, f"wrong {what}", inputs=inputs, expected=expected, obtained=obtained,
                 diagnosis=f"you computed {formula}", hint=why)
    assert_close(task, what, obtained, expected, inputs=inputs, hint=hint)


def _pair(task: Task, label: str, out: Any, inputs: dict[str, Any], expected: str) -> tuple:
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        fail(task, f"{label} must return a pair {expected}", inputs=inputs, expected=expected,
             obtained=out)
    return tuple(out)


def _unchanged(task: Task, label: str, given: dict[str, Any], saved: dict[str, Any],
               inputs: dict[str, Any]) -> None:
    for name, value in given.items():
        if not np.array_equal(np.asarray(value), saved[name]):
            fail(task, f"{label} modified its argument {name}", inputs=inputs,
                 expected=saved[name], obtained=value,
                 hint="do not change the arguments in place (x -= …, x[...] = …): make new arrays")


def _copies(**arrays: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """What the student gets, and saved copies to detect changes in place."""
    return ({k: v.copy() for k, v in arrays.items()}, {k: v.copy() for k, v in arrays.items()})


# ---------------------------------------------------------------------------------------------
# task 4.1: the JVP of solve
# ---------------------------------------------------------------------------------------------
_JVP_HINT = ("differentiate A x = b: Ȧ x + A ẋ = ḃ, so ẋ = A⁻¹(ḃ − Ȧ x); with the factors: "
             "lu_solve(lu, b_dot - A_dot @ x)")


def _solve_problem(task: Task, n: int, k: int | None, seed: object, scale: float = 1.0
                   ) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    g = rng(task, seed)
    A = scale * well_conditioned(g, n)
    b = g.normal(size=(n,) if k is None else (n, k))
    return A, b, g


def _solve_jvp_case(solve_jvp: Callable, n: int, k: int | None, seed: object,
                    zero: str = "") -> None:
    A, b, g = _solve_problem(T1, n, k, seed)
    dA = np.zeros((n, n)) if zero == "A" else direction(g, (n, n))
    db = np.zeros(b.shape) if zero == "b" else direction(g, b.shape)
    given, saved = _copies(A=A, b=b, A_dot=dA, b_dot=db)
    inputs = dict(saved)
    watch = Watch()
    out = student_call(T1, "solve_jvp((A, b), (A_dot, b_dot))", watch.wrap(solve_jvp),
                       (given["A"], given["b"]), (given["A_dot"], given["b_dot"]),
                       inputs=inputs, hint=_JVP_HINT)
    x, x_dot = _pair(T1, "solve_jvp", out, inputs, "(x, x_dot)")
    x_ref, x_dot_ref = ri.jvp(rnp.linalg.solve, (A, b), (dA, db))
    assert_close(T1, "x = A⁻¹ b", x, x_ref, inputs=inputs,
                 hint="x = lu_solve(lu_factor(A), b), of the shape of b")
    inv = np.linalg.inv(A)
    rhs = db - dA @ x_ref
    _compare(T1, "ẋ", x_dot, x_dot_ref, inputs=inputs, hint=_JVP_HINT, wrong=[
        ("A⁻¹(Ȧ x − ḃ)", -x_dot_ref, "wrong sign: " + _JVP_HINT),
        ("A⁻¹ ḃ", inv @ db, "the term −A⁻¹ Ȧ x is missing (A depends on the input too): "
         + _JVP_HINT),
        ("−A⁻¹ Ȧ x", -inv @ dA @ x_ref, "the term A⁻¹ ḃ is missing: " + _JVP_HINT),
        ("A⁻ᵀ(ḃ − Ȧ x)", inv.T @ rhs, "A⁻ᵀ instead of A⁻¹: solve with A, trans=0"),
        ("A⁻¹(ḃ − Ȧᵀ x)", inv @ (db - dA.T @ x_ref), "Ȧᵀ x instead of Ȧ x"),
        ("ḃ − Ȧ x", rhs, "multiply by A⁻¹ (one more lu_solve with the same factors)"),
    ])
    facs = watch.factorisations
    if len(facs) != 1:
        fail(T1, f"solve_jvp made {len(facs)} factorisations ({_names(facs)}); x and ẋ need "
                 "exactly one: lu_factor(A), then two solves with the same factors",
             inputs=inputs, expected=1, obtained=len(facs),
             hint="factorise A once; do not call np.linalg.solve / inv (each factorises again)")
    _unchanged(T1, "solve_jvp", given, saved, inputs)


@task_check(T1)
def t4_1(solve_jvp: Callable) -> None:
    """A 3×3 system with a vector right-hand side."""
    _solve_jvp_case(solve_jvp, 3, None, "visible")


@task_check(T1, hidden=True)
def hidden_t4_1(solve_jvp: Callable) -> None:
    """Other sizes, matrices of right-hand sides, a constant A, a constant b."""
    _solve_jvp_case(solve_jvp, 5, None, "vector")
    _solve_jvp_case(solve_jvp, 4, 2, "matrix")
    _solve_jvp_case(solve_jvp, 6, 3, "constant A", zero="A")
    _solve_jvp_case(solve_jvp, 2, 1, "constant b", zero="b")


# ---------------------------------------------------------------------------------------------
# task 4.2: the VJP of solve, reusing the forward factorisation
# ---------------------------------------------------------------------------------------------
_VJP_HINT = ("b̄ = A⁻ᵀ x̄ = lu_solve(lu, x_bar, trans=1) with the forward's factors, "
             "Ā = −b̄ xᵀ (np.outer for a vector b, b_bar @ x.T for a matrix b)")


def _solve_vjp_case(solve_fwd: Callable, solve_bwd: Callable, n: int, k: int | None,
                    seed: object) -> None:
    A, b, g = _solve_problem(T2, n, k, seed)
    x_bar = direction(g, b.shape)
    given, saved = _copies(A=A, b=b)
    inputs = dict(saved)
    fwd = Watch()
    out = student_call(T2, "solve_fwd(A, b)", fwd.wrap(solve_fwd), given["A"], given["b"],
                       inputs=inputs, hint="return x and the residuals for the backward pass")
    x, res = _pair(T2, "solve_fwd", out, inputs, "(x, residuals)")
    x_ref, vjp = ri.vjp(rnp.linalg.solve, A, b)
    assert_close(T2, "x = A⁻¹ b (solve_fwd)", x, x_ref, inputs=inputs,
                 hint="x = lu_solve(lu, b) with lu = lu_factor(A)")
    if len(fwd.factorisations) != 1:
        fail(T2, f"solve_fwd made {len(fwd.factorisations)} factorisations "
                 f"({_names(fwd.factorisations)}); the forward pass needs exactly one",
             inputs=inputs, expected=1, obtained=len(fwd.factorisations),
             hint="lu = lu_factor(A) once, x = lu_solve(lu, b); keep lu in the residuals")
    _unchanged(T2, "solve_fwd", given, saved, inputs)

    inputs = {**inputs, "x_bar": x_bar}
    bwd = Watch()
    x_bar_given = x_bar.copy()
    out = student_call(T2, "solve_bwd(residuals, x_bar)", bwd.wrap(solve_bwd), res, x_bar_given,
                       inputs=inputs, hint=_VJP_HINT)
    A_bar, b_bar = _pair(T2, "solve_bwd", out, inputs, "(A_bar, b_bar)")
    A_bar_ref, b_bar_ref = vjp(x_bar)
    inv = np.linalg.inv(A)
    _compare(T2, "∂L/∂b", b_bar, b_bar_ref, inputs=inputs, hint=_VJP_HINT, wrong=[
        ("A⁻¹ x̄", inv @ x_bar, "transposed adjoint: b̄ = A⁻ᵀ x̄, not A⁻¹ x̄; solve with Aᵀ "
         "using the same factors: lu_solve(lu, x_bar, trans=1)"),
        ("−A⁻ᵀ x̄", -b_bar_ref, "wrong sign: b̄ = +A⁻ᵀ x̄"),
        ("x̄", x_bar, "b̄ = A⁻ᵀ x̄: the solve with Aᵀ is missing"),
    ])
    _compare(T2, "∂L/∂A", A_bar, A_bar_ref, inputs=inputs, hint=_VJP_HINT, wrong=[
        ("+A⁻ᵀ x̄ xᵀ", -A_bar_ref, "wrong sign: Ā = −A⁻ᵀ x̄ xᵀ (dx = −A⁻¹ dA x)"),
        ("−x (A⁻ᵀ x̄)ᵀ", -_outer(x_ref, b_bar_ref),
         "your ∂L/∂A is the transpose of the expected one: check −A⁻ᵀ x̄ xᵀ = −b̄ xᵀ"),
        ("−x̄ xᵀ", -_outer(x_bar, x_ref), "Ā = −b̄ xᵀ with b̄ = A⁻ᵀ x̄, not −x̄ xᵀ"),
        ("−A⁻ᵀ x xᵀ", -_outer(inv.T @ x_ref, x_ref),
         "x xᵀ instead of x̄ xᵀ: the cotangent x̄ is missing: Ā = −A⁻ᵀ x̄ xᵀ"),
        ("−A⁻¹ x̄ xᵀ", -_outer(inv @ x_bar, x_ref),
         "A⁻¹ instead of A⁻ᵀ: Ā = −A⁻ᵀ x̄ xᵀ (use lu_solve(lu, x_bar, trans=1))"),
        ("−A⁻ᵀ x̄ bᵀ", -_outer(b_bar_ref, b), "b instead of x: Ā = −b̄ xᵀ"),
    ])
    facs = bwd.factorisations
    if facs:
        fail(T2, f"solve_bwd made {len(facs)} factorisation(s) ({_names(facs)}); the backward "
                 "pass must reuse the forward's LU factors: one factorisation for forward and "
                 "backward together", inputs=inputs, expected=0, obtained=len(facs),
             hint="keep lu in the residuals of solve_fwd and call lu_solve(lu, x_bar, trans=1); "
                  "no lu_factor, np.linalg.solve or inv in solve_bwd")
    solves = bwd.solves
    if len(solves) != 1:
        fail(T2, f"solve_bwd made {len(solves)} solves with the factors; one (with Aᵀ) is "
                 "enough", inputs=inputs, expected=1, obtained=len(solves),
             hint="keep x in the residuals instead of solving for it again; "
                  "b̄ = lu_solve(lu, x_bar, trans=1)")
    rhs = solves[0].args.get("b")
    if rhs is not None and np.shape(rhs) != x_bar.shape:
        fail(T2, f"solve_bwd solved with a right-hand side of shape {np.shape(rhs)}, not with "
                 f"x̄ (shape {x_bar.shape}): building A⁻¹ or A⁻ᵀ costs O(n³)", inputs=inputs,
             expected=x_bar.shape, obtained=np.shape(rhs),
             hint="solve with x̄ itself: lu_solve(lu, x_bar, trans=1)")
    _unchanged(T2, "solve_bwd", {"x_bar": x_bar_given}, {"x_bar": x_bar}, inputs)


@task_check(T2)
def t4_2(solve_fwd: Callable, solve_bwd: Callable) -> None:
    """A 3×3 system with a vector right-hand side."""
    _solve_vjp_case(solve_fwd, solve_bwd, 3, None, "visible")


@task_check(T2, hidden=True)
def hidden_t4_2(solve_fwd: Callable, solve_bwd: Callable) -> None:
    """Other sizes and matrices of right-hand sides."""
    _solve_vjp_case(solve_fwd, solve_bwd, 5, None, "vector")
    _solve_vjp_case(solve_fwd, solve_bwd, 4, 3, "matrix")
    _solve_vjp_case(solve_fwd, solve_bwd, 6, 1, "one column")


# ---------------------------------------------------------------------------------------------
# task 4.3: the dot-product test, fed correct and wrong JVP/VJP pairs (plain NumPy)
# ---------------------------------------------------------------------------------------------
JvpFn = Callable[[tuple, tuple], tuple]
VjpFn = Callable[[tuple, Any], tuple]


def course_solve_jvp(primals: tuple, tangents: tuple) -> tuple[np.ndarray, np.ndarray]:
    """``(x, ẋ)`` for ``x = solve(A, b)`` (NumPy; the pairs of task 4.3 are built on it)."""
    (A, b), (dA, db) = primals, tangents
    x = np.linalg.solve(A, b)
    return x, np.linalg.solve(A, db - dA @ x)


def course_solve_vjp(primals: tuple, x_bar: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(Ā, b̄) = (−A⁻ᵀ x̄ xᵀ, A⁻ᵀ x̄)``."""
    A, b = primals
    x = np.linalg.solve(A, b)
    b_bar = np.linalg.solve(A.T, x_bar)
    return -_outer(b_bar, x), b_bar


def _scaled(c: float, jvp: JvpFn, vjp: VjpFn) -> tuple[JvpFn, VjpFn]:
    """The pair of ``c·f``."""
    def j(p: tuple, t: tuple) -> tuple:
        out, out_dot = jvp(p, t)
        return c * out, c * out_dot

    return j, lambda p, g: tuple(c * v for v in vjp(p, g))


def _wrong(fix: Callable[[tuple, Any, tuple], tuple]) -> VjpFn:
    """A solve VJP with ``fix(primals, x_bar, (Ā, b̄))`` applied to the correct cotangents."""
    return lambda p, g: fix(p, g, course_solve_vjp(p, g))


def _mean_cotangent(p: tuple, g: Any) -> tuple:
    return course_solve_vjp(p, np.full(np.shape(g), np.mean(g)))


def _zero_sum(n: int) -> np.ndarray:
    z = np.cos(np.arange(1.0, n + 1.0) * 2.3)
    return z - z.mean()


_WRONG_SOLVE: dict[str, tuple[str, VjpFn, str]] = {
    "sign": ("Ā with the wrong sign (+A⁻ᵀ x̄ xᵀ)", _wrong(lambda p, g, ab: (-ab[0], ab[1])),
             "compare ⟨x̄, J ṗ⟩ with ⟨Jᵀ x̄, ṗ⟩ summed over all inputs"),
    "b-transposed": ("b̄ = A⁻¹ x̄ instead of A⁻ᵀ x̄ (Ā right)",
                     _wrong(lambda p, g, ab: (ab[0], np.linalg.solve(p[0], g))),
                     "perturb every input: draw a random tangent for b too"),
    "A-transposed": ("Ā transposed (−x b̄ᵀ)", _wrong(lambda p, g, ab: (ab[0].T, ab[1])),
                     "draw random tangents (never all ones) for every input: Ā and Āᵀ have the "
                     "same sum of entries, so an all-ones tangent for A cannot tell them apart"),
    "x-x": ("Ā = −A⁻ᵀ x xᵀ (x instead of x̄)",
            _wrong(lambda p, g, ab: (-_outer(np.linalg.solve(p[0].T, np.linalg.solve(*p)),
                                             np.linalg.solve(*p)), ab[1])),
            "draw random tangents for every input (also for A)"),
    "no-A": ("Ā = 0 (the A term forgotten)", _wrong(lambda p, g, ab: (0 * ab[0], ab[1])),
             "perturb every input: a tangent for A as well as for b"),
    "mean-cotangent": ("a VJP that is right only for constant cotangents x̄",
                       _mean_cotangent,
                       "draw a random cotangent x̄ (never all ones): a constant x̄ hides "
                       "transposition and summation bugs"),
    "ones-blind": ("b̄ off by a vector orthogonal to (1, …, 1)",
                   _wrong(lambda p, g, ab: (ab[0], ab[1] + np.linalg.norm(g)
                                            * _zero_sum(len(ab[1])))),
                   "draw random tangents (never all ones): an all-ones tangent cannot see an "
                   "error orthogonal to it"),
    "tiny-factor": ("Ā, b̄ off by a factor 1 + 10⁻⁴",
                    _wrong(lambda p, g, ab: (ab[0] * (1 + 1e-4), ab[1] * (1 + 1e-4))),
                    "use a tight relative tolerance (rtol = 1e-8 of the scale)"),
}


def _svd_values_pair(W: np.ndarray) -> tuple[JvpFn, VjpFn]:
    U, _, Vt = np.linalg.svd(W, full_matrices=False)
    return ((lambda p, t: (np.linalg.svd(p[0], compute_uv=False),
                           np.einsum("ik,ij,jk->k", U, t[0], Vt.T))),
            lambda p, g: ((U * g) @ Vt,))


def _matmul_pair() -> tuple[JvpFn, VjpFn]:
    return (lambda p, t: (p[0] @ p[1], t[0] @ p[1] + p[0] @ t[1]),
            lambda p, g: (g @ p[1].T, p[0].T @ g))


def _sum_sin_pair() -> tuple[JvpFn, VjpFn]:
    return (lambda p, t: (np.sum(np.sin(p[0])), np.sum(np.cos(p[0]) * t[0])),
            lambda p, g: (g * np.cos(p[0]),))


def _dot_test_case(dot_product_test: Callable, label: str, jvp: JvpFn, vjp: VjpFn,
                   primals: tuple, should_pass: bool, hint: str) -> None:
    jc, vc = CallCounter(jvp), CallCounter(vjp)
    saved = [np.array(p, copy=True) for p in primals]
    inputs = {"pair": label, "primals": primals}
    result = student_call(T3, "dot_product_test(jvp_fn, vjp_fn, primals)", dot_product_test,
                          jc, vc, primals, inputs=inputs,
                          hint="jvp_fn(primals, tangents) returns (out, out_dot); "
                               "vjp_fn(primals, out_bar) returns one cotangent per input")
    if not isinstance(result, (bool, np.bool_)):
        fail(T3, "dot_product_test must return True or False", inputs=inputs,
             expected=should_pass, obtained=result)
    if jc.count == 0 or vc.count == 0:
        fail(T3, f"dot_product_test called jvp_fn {jc.count} and vjp_fn {vc.count} times; the "
                 "test compares the two, so it must call both", inputs=inputs,
             expected=">= 1 each", obtained=(jc.count, vc.count))
    if bool(result) != should_pass:
        if should_pass:
            fail(T3, f"dot_product_test rejected a correct JVP/VJP pair ({label})",
                 inputs=inputs, expected=True, obtained=result, hint=hint)
        fail(T3, f"dot_product_test accepted a wrong VJP ({label})", inputs=inputs,
             expected=False, obtained=result, hint=hint)
    for p, s in zip(primals, saved, strict=True):
        if not np.array_equal(p, s):
            fail(T3, "dot_product_test modified the primals", inputs=inputs, expected=s,
                 obtained=p, hint="do not change the arguments in place")


_ACCEPT_HINT = ("the identity holds up to rounding: compare |⟨x̄, Jṗ⟩ − Σₖ⟨x̄ₖ, ṗₖ⟩| with "
                "rtol·(‖x̄‖‖Jṗ‖ + Σₖ‖x̄ₖ‖‖ṗₖ‖), a tolerance relative to the scale of the "
                "numbers, summing the terms of every input")


def _solve_primals(seed: object, n: int, k: int | None, scale: float = 1.0) -> tuple:
    A, b, _ = _solve_problem(T3, n, k, seed, scale)
    return (A, b)


def _reject(dot_product_test: Callable, name: str, primals: tuple, c: float = 1.0,
            label: str | None = None) -> None:
    what, vjp, hint = _WRONG_SOLVE[name]
    jvp, vjp = _scaled(c, course_solve_jvp, vjp)
    _dot_test_case(dot_product_test, label or f"solve: {what}", jvp, vjp, primals, False, hint)


@task_check(T3)
def t4_3(dot_product_test: Callable) -> None:
    """Accept solve's pair; reject two wrong VJPs of solve."""
    primals = _solve_primals("visible", 3, None)
    _dot_test_case(dot_product_test, "solve, correct", course_solve_jvp, course_solve_vjp,
                   primals, True, _ACCEPT_HINT)
    _reject(dot_product_test, "sign", primals)
    _reject(dot_product_test, "b-transposed", primals)


@task_check(T3, hidden=True)
def hidden_t4_3(dot_product_test: Callable) -> None:
    """Other functions and scales; wrong VJPs that all-ones directions, absolute tolerances or
    tangents of one input only would miss."""
    g = rng(T3, "hidden")
    W = g.normal(size=(4, 3))
    matrix = _solve_primals("matrix", 4, 2)
    vector = _solve_primals("vector", 5, None)
    big, small = 1e12, 1e-12
    accept: list[tuple[str, JvpFn, VjpFn, tuple]] = [
        ("solve with a matrix b", course_solve_jvp, course_solve_vjp, matrix),
        ("1e12 · solve (large numbers)", *_scaled(big, course_solve_jvp, course_solve_vjp),
         vector),
        ("1e-12 · solve (small numbers)", *_scaled(small, course_solve_jvp, course_solve_vjp),
         vector),
        ("singular values of a 4×3 matrix", *_svd_values_pair(W), (W,)),
        ("X @ Y, X 2×3, Y 3×4", *_matmul_pair(), (g.normal(size=(2, 3)), g.normal(size=(3, 4)))),
        ("sum(sin(x)), a scalar output", *_sum_sin_pair(), (g.normal(size=(5,)),)),
    ]
    for label, jvp, vjp, primals in accept:
        _dot_test_case(dot_product_test, label, jvp, vjp, primals, True, _ACCEPT_HINT)
    for name in ("A-transposed", "x-x", "no-A", "ones-blind", "tiny-factor"):
        _reject(dot_product_test, name, vector)
    _reject(dot_product_test, "mean-cotangent", matrix)
    _reject(dot_product_test, "sign", vector, small,
            "1e-12 · solve with Ā of the wrong sign (small numbers: an absolute tolerance "
            "accepts anything)")
    U, _, Vt = np.linalg.svd(W, full_matrices=False)
    jvp, _ = _svd_values_pair(W)
    _dot_test_case(dot_product_test, "singular values with W̄ = U diag(s̄) V (Vt not transposed)",
                   jvp, lambda p, gs: ((U * gs) @ Vt.T[: len(gs)],), (W,), False,
                   "compare ⟨x̄, Jṗ⟩ with ⟨Jᵀ x̄, ṗ⟩ for random ṗ and x̄")


# ---------------------------------------------------------------------------------------------
# SVD inputs: distinct singular values, random signs of the pairs (u_i, v_i)
# ---------------------------------------------------------------------------------------------
def svd_matrix(gen: np.random.Generator, m: int, n: int) -> np.ndarray:
    """An m×n matrix with well-separated singular values in [0.6, ~0.9 + 0.5·k]."""
    k = min(m, n)
    s = (0.6 + 0.5 * np.arange(k) + gen.uniform(0.0, 0.3, k))[::-1]
    q1, _ = np.linalg.qr(gen.normal(size=(m, m)))
    q2, _ = np.linalg.qr(gen.normal(size=(n, n)))
    return (q1[:, :k] * s) @ q2[:, :k].T


def _signs(gen: np.random.Generator, k: int) -> np.ndarray:
    d = gen.choice([-1.0, 1.0], size=k)
    d[0] = -1.0  # at least one pair flipped …
    if k > 1:
        d[-1] = 1.0  # … and one kept
    return d


@dataclass
class Decomposition:
    """NumPy's SVD of ``W`` and the same decomposition with the pairs' signs flipped by ``d``."""

    W: np.ndarray
    U: np.ndarray  # NumPy's
    s: np.ndarray
    Vt: np.ndarray
    d: np.ndarray
    full: bool

    @property
    def flipped(self) -> tuple[np.ndarray, np.ndarray]:
        k = self.s.size
        U, Vt = self.U.copy(), self.Vt.copy()
        U[:, :k] *= self.d
        Vt[:k] *= self.d[:, None]
        return U, Vt


def _decompose(task: Task, seed: object, m: int, n: int, full: bool = False) -> Decomposition:
    g = rng(task, seed)
    W = svd_matrix(g, m, n)
    U, s, Vt = np.linalg.svd(W, full_matrices=full)
    return Decomposition(W, U, s, Vt, _signs(g, s.size), full)


def _thin(dec: Decomposition, U: np.ndarray, Vt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = dec.s.size
    return U[:, :k], Vt[:k]


def _no_factorisations(task: Task, label: str, watch: Watch, inputs: dict[str, Any]) -> None:
    facs = watch.factorisations + watch.solves
    if facs:
        fail(task, f"{label} computed {len(facs)} new decomposition(s) or solve(s) "
                   f"({_names(facs)}); the SVD is given: reuse it", inputs=inputs, expected=0,
             obtained=len(facs),
             hint="use only U, s, Vt (and 1/s for S⁻¹); a new SVD may flip the signs of "
                  "the pairs (u_i, v_i) and mix two decompositions")


# ---------------------------------------------------------------------------------------------
# task 4.4: the derivatives of the singular values
# ---------------------------------------------------------------------------------------------
_S_JVP_HINT = "ṡ = diag(Uᵀ Ẇ V) with V = Vt.T (k = len(s) columns of U and V)"
_S_VJP_HINT = "W̄ = U diag(s̄) Vᵀ = (U[:, :k] * s_bar) @ Vt[:k] (k = len(s))"
_SHAPES_HINT = ("U and Vt may be full (m×m and n×n, as np.linalg.svd returns by default): "
                "use the first k = len(s) columns of U and rows of Vt")


def _svals(W: Any) -> Any:
    return rnp.linalg.svd(W, compute_uv=False)


def _svd_values_case(svd_values_jvp: Callable, svd_values_vjp: Callable, m: int, n: int,
                     seed: object, full: bool) -> None:
    dec = _decompose(T4, seed, m, n, full)
    g = rng(T4, (seed, "directions"))
    Uf, Vtf = dec.flipped
    k = dec.s.size
    W_dot, s_bar = direction(g, (m, n)), direction(g, (k,))
    given, saved = _copies(U=Uf, s=dec.s, Vt=Vtf, W_dot=W_dot)
    inputs = {"W": dec.W, **saved}
    note = (" (full U and Vt)" if full else "") + " with the signs of some pairs (u_i, v_i) flipped"
    U1, Vt1 = _thin(dec, Uf, Vtf)
    U0, Vt0 = _thin(dec, dec.U, dec.Vt)

    watch = Watch()
    s_dot = student_call(T4, "svd_values_jvp(U, s, Vt, W_dot)", watch.wrap(svd_values_jvp),
                         given["U"], given["s"], given["Vt"], given["W_dot"], inputs=inputs,
                         hint=_SHAPES_HINT)
    _, s_dot_ref = ri.jvp(_svals, (dec.W,), (W_dot,))
    wrong_jvp = [("−diag(Uᵀ Ẇ V)", -s_dot_ref, "wrong sign: " + _S_JVP_HINT)]
    if m == n:
        wrong_jvp += [("diag(Uᵀ Ẇ Vᵀ)", np.diag(U1.T @ W_dot @ Vt1),
                       "Vt is already Vᵀ: V = Vt.T, ṡ = diag(Uᵀ Ẇ V)"),
                      ("diag(Uᵀ Ẇᵀ V)", np.diag(U1.T @ W_dot.T @ Vt1.T), "Ẇᵀ instead of Ẇ")]
    _compare(T4, f"ṡ{note}", s_dot, s_dot_ref, inputs=inputs, hint=_S_JVP_HINT, wrong=wrong_jvp)
    _no_factorisations(T4, "svd_values_jvp", watch, inputs)

    inputs = {"W": dec.W, "U": saved["U"], "s": saved["s"], "Vt": saved["Vt"], "s_bar": s_bar}
    given["s_bar"], saved["s_bar"] = s_bar.copy(), s_bar.copy()
    watch = Watch()
    W_bar = student_call(T4, "svd_values_vjp(U, s, Vt, s_bar)", watch.wrap(svd_values_vjp),
                         given["U"], given["s"], given["Vt"], given["s_bar"], inputs=inputs,
                         hint=_SHAPES_HINT)
    (W_bar_ref,) = ri.vjp(_svals, dec.W)[1](s_bar)
    wrong_vjp = [
        ("−U diag(s̄) Vᵀ", -W_bar_ref, "wrong sign: " + _S_VJP_HINT),
        ("U diag(s̄) Vᵀ with the signs of V from another decomposition", (U1 * s_bar) @ Vt0,
         "the pairs (u_i, v_i) you are given may have both signs flipped; use the given U and Vt "
         "together (do not recompute the SVD)"),
        ("U diag(s̄) Vᵀ with the signs of U from another decomposition", (U0 * s_bar) @ Vt1,
         "the pairs (u_i, v_i) you are given may have both signs flipped; use the given U and Vt "
         "together (do not recompute the SVD)"),
        ("U diag(s̄ ∘ s) Vᵀ", (U1 * (s_bar * dec.s)) @ Vt1, "W̄ = U diag(s̄) Vᵀ, without s"),
    ]
    if m == n:
        wrong_vjp += [("U diag(s̄) V", (U1 * s_bar) @ Vt1.T,
                       "Vt is already Vᵀ: W̄ = U diag(s̄) Vt, not U diag(s̄) Vt.T")]
    _compare(T4, f"W̄ = ∂L/∂W{note}", W_bar, W_bar_ref, inputs=inputs, hint=_S_VJP_HINT,
             wrong=wrong_vjp)
    _no_factorisations(T4, "svd_values_vjp", watch, inputs)
    _unchanged(T4, "svd_values_jvp / svd_values_vjp", given, saved, inputs)


@task_check(T4)
def t4_4(svd_values_jvp: Callable, svd_values_vjp: Callable) -> None:
    """A square 4×4 and a tall 5×3 matrix (thin SVD)."""
    _svd_values_case(svd_values_jvp, svd_values_vjp, 4, 4, "square", False)
    _svd_values_case(svd_values_jvp, svd_values_vjp, 5, 3, "tall", False)


@task_check(T4, hidden=True)
def hidden_t4_4(svd_values_jvp: Callable, svd_values_vjp: Callable) -> None:
    """Wide matrices, full U and Vt, other sizes and signs."""
    _svd_values_case(svd_values_jvp, svd_values_vjp, 3, 5, "wide", False)
    _svd_values_case(svd_values_jvp, svd_values_vjp, 6, 4, "tall full", True)
    _svd_values_case(svd_values_jvp, svd_values_vjp, 2, 6, "wide full", True)
    _svd_values_case(svd_values_jvp, svd_values_vjp, 5, 5, "square full", True)


# ---------------------------------------------------------------------------------------------
# task 4.5: the full VJP of the SVD (Townsend 2016)
# ---------------------------------------------------------------------------------------------
_TOWNSEND_HINT = ("W̄ = U [(F∘(UᵀŪ − ŪᵀU)) S + diag(s̄) + S (F∘(VᵀV̄ − V̄ᵀV))] Vᵀ "
                  "+ (I − UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I − VVᵀ), F_ij = 1/(s_j² − s_i²) (i ≠ j), "
                  "V̄ = Vt_bar.T")


def townsend(U: np.ndarray, s: np.ndarray, Vt: np.ndarray, U_bar: np.ndarray, s_bar: np.ndarray,
             Vt_bar: np.ndarray, *, f_sign: float = 1.0, v_bar_transposed: bool = True,
             projections: bool = True, swap_sides: bool = False, skew: bool = True,
             rotations: bool = True) -> np.ndarray:
    """Townsend's W̄ for the thin SVD (distinct s); keyword flags give the usual mistakes."""
    V, V_bar = Vt.T, (Vt_bar.T if v_bar_transposed else Vt_bar)
    m, n, k = U.shape[0], V.shape[0], s.size
    diff = s[None, :] ** 2 - s[:, None] ** 2
    np.fill_diagonal(diff, 1.0)
    F = f_sign / diff
    np.fill_diagonal(F, 0.0)
    E, G = U.T @ U_bar, V.T @ V_bar
    if skew:
        E, G = E - E.T, G - G.T
    inner = np.diag(s_bar)
    if rotations:
        if swap_sides:
            inner = inner + s[:, None] * (F * E) + (F * G) * s[None, :]
        else:
            inner = inner + (F * E) * s[None, :] + s[:, None] * (F * G)
    W_bar = U @ inner @ Vt
    if projections and m > k:
        W_bar = W_bar + ((U_bar - U @ (U.T @ U_bar)) / s[None, :]) @ Vt
    if projections and n > k:
        W_bar = W_bar + U @ ((V_bar - V @ (V.T @ V_bar)) / s[None, :]).T
    return W_bar


def _svd_thin(W: Any) -> tuple:
    return tuple(rnp.linalg.svd(W, full_matrices=False))


def _svd_loss(name: str, consts: list[np.ndarray]) -> Callable[..., Any]:
    """Losses ℓ(U, s, Vt) invariant under flipping the sign of a pair (u_i, v_i)."""
    C, w = consts

    def loss(U: Any, s: Any, Vt: Any) -> Any:
        if name == "s":
            return rnp.sum(w * s * s)
        if name == "U":  # ⟨C, U diag(w) Uᵀ⟩: subspaces, no sign
            return rnp.sum(C * ((U * w) @ rnp.transpose(U)))
        if name == "V":
            return rnp.sum(C * ((rnp.transpose(Vt) * w) @ Vt))
        if name == "UV":  # ⟨C, U diag(w) Vᵀ⟩ + Σ w s²
            return rnp.sum(C * ((U * w) @ Vt)) + rnp.sum(w * s * s)
        raise ValueError(name)

    return loss


_LOSSES = {
    "s": ("L = Σ w_i s_i² (Ū = 0, V̄ = 0)", "W̄ = U diag(s̄) Vᵀ when Ū = V̄ = 0 (task 4.4)"),
    "U": ("L = ⟨C, U diag(w) Uᵀ⟩ (V̄ = 0)",
          "the Ū term: U [(F∘(UᵀŪ − ŪᵀU)) S] Vᵀ, F_ij = 1/(s_j² − s_i²); for m > k also "
          "(I − UUᵀ) Ū S⁻¹ Vᵀ"),
    "V": ("L = ⟨C, V diag(w) Vᵀ⟩ (Ū = 0)",
          "the V̄ term: U [S (F∘(VᵀV̄ − V̄ᵀV))] Vᵀ with V̄ = Vt_bar.T; for n > k also "
          "U S⁻¹ V̄ᵀ (I − VVᵀ)"),
    "UV": ("L = ⟨C, U diag(w) Vᵀ⟩ + Σ w_i s_i²", _TOWNSEND_HINT),
}


def _svd_vjp_case(svd_vjp: Callable, m: int, n: int, seed: object, loss: str | None) -> None:
    """``loss``: one of :data:`_LOSSES` (reference: ri.grad of the loss through the SVD), or
    ``None`` for random cotangents (reference: ri.vjp with the cotangents moved by the signs)."""
    dec = _decompose(T5, seed, m, n)
    g = rng(T5, (seed, "cotangents"))
    U, Vt = dec.flipped
    k = dec.s.size
    if loss is None:
        label, hint = "random cotangents (Ū, s̄, V̄t)", _TOWNSEND_HINT
        U_bar, s_bar, Vt_bar = direction(g, U.shape), direction(g, (k,)), direction(g, Vt.shape)
        d = dec.d
        (expected,) = ri.vjp(_svd_thin, dec.W)[1]((U_bar * d, s_bar, d[:, None] * Vt_bar))
    else:
        label, hint = _LOSSES[loss]
        rows = m if loss == "U" else n
        ell = _svd_loss(loss, [g.normal(size=(rows, rows) if loss != "UV" else (m, n)),
                               g.uniform(0.5, 2.0, k)])
        U_bar, s_bar, Vt_bar = ri.grad(ell, argnums=(0, 1, 2))(U, dec.s, Vt)
        expected = ri.grad(lambda W: ell(*_svd_thin(W)))(dec.W)
    U_bar, s_bar, Vt_bar = (np.asarray(a, dtype=float) for a in (U_bar, s_bar, Vt_bar))
    given, saved = _copies(U=U, s=dec.s, Vt=Vt, U_bar=U_bar, s_bar=s_bar, Vt_bar=Vt_bar)
    inputs = {"W": dec.W, "loss": label, **saved}
    watch = Watch()
    W_bar = student_call(T5, "svd_vjp(U, s, Vt, U_bar, s_bar, Vt_bar)", watch.wrap(svd_vjp),
                         *given.values(), inputs=inputs, hint=_TOWNSEND_HINT)
    args = (U, dec.s, Vt, U_bar, s_bar, Vt_bar)
    wrong = [
        ("U diag(s̄) Vᵀ only", townsend(*args, rotations=False, projections=False),
         "the Ū and V̄ terms are missing: " + _TOWNSEND_HINT),
        ("F with the opposite sign", townsend(*args, f_sign=-1.0),
         "F_ij = 1/(s_j² − s_i²) (i ≠ j): s_j of the column minus s_i of the row"),
        ("the S factors on the wrong sides", townsend(*args, swap_sides=True),
         "[F∘(UᵀŪ − ŪᵀU)] S (S on the right) and S [F∘(VᵀV̄ − V̄ᵀV)] (S on the left)"),
        ("F∘(UᵀŪ) instead of F∘(UᵀŪ − ŪᵀU)", townsend(*args, skew=False),
         "antisymmetrise: only the antisymmetric parts UᵀŪ − ŪᵀU and VᵀV̄ − V̄ᵀV enter"),
    ]
    if m == n:
        wrong.append(("V̄ = Vt_bar (not transposed)", townsend(*args, v_bar_transposed=False),
                      "Vt_bar is the cotangent of Vt = Vᵀ, so V̄ = Vt_bar.T"))
    else:
        wrong.append(("W̄ without the projection terms", townsend(*args, projections=False),
                      "m > k: add (I − UUᵀ) Ū S⁻¹ Vᵀ; n > k: add U S⁻¹ V̄ᵀ (I − VVᵀ) "
                      "(the parts of Ū, V̄ outside the span of U, V)"))
    _compare(T5, f"W̄ = ∂L/∂W for {label}, {m}×{n}", W_bar, expected, inputs=inputs, hint=hint,
             wrong=wrong)
    _no_factorisations(T5, "svd_vjp", watch, inputs)
    _unchanged(T5, "svd_vjp", given, saved, inputs)


@task_check(T5)
def t4_5(svd_vjp: Callable) -> None:
    """A square 4×4 matrix: losses of s, of U, of V, of both."""
    for loss in ("s", "U", "V", "UV"):
        _svd_vjp_case(svd_vjp, 4, 4, "visible", loss)


@task_check(T5, hidden=True)
def hidden_t4_5(svd_vjp: Callable) -> None:
    """Tall and wide matrices (the projection terms), random cotangents, other sizes."""
    _svd_vjp_case(svd_vjp, 5, 3, "tall U", "U")
    _svd_vjp_case(svd_vjp, 3, 5, "wide V", "V")
    _svd_vjp_case(svd_vjp, 6, 4, "tall UV", "UV")
    _svd_vjp_case(svd_vjp, 5, 5, "square random", None)
    _svd_vjp_case(svd_vjp, 6, 3, "tall random", None)
    _svd_vjp_case(svd_vjp, 2, 5, "wide random", None)

