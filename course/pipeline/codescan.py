"""The static look at the student's code (re-exported by :mod:`.integrity`): :func:`scan_code`
walks a cell's AST for imports of reference implementations, writes to the grader's objects
(``check``, ``numpy``, ``builtins``, ``course``, ``sys``, IPython) and introspection that could
hide either (``exec``, ``gc``, ``ctypes``, frames, ``__dict__``…). It runs in the grader.
"""

from __future__ import annotations

import ast
import re

__all__ = ["FORBIDDEN", "PROTECTED", "scan_code"]

FORBIDDEN = ("reference_impl", "jax", "jaxlib", "autograd", "torch")
#: modules whose objects grading relies on: writing to them is tampering
PROTECTED = ("numpy", "course", "builtins", "sys", "IPython", "ipykernel", "reference_impl")
_INTROSPECTION_MODULES = (
    "gc",
    "ctypes",
    "inspect",
    "importlib",
    "builtins",
    "IPython",
    "ipykernel",
    "subprocess",
    "multiprocessing",
    "threading",
    "signal",
    "socket",
    "marshal",
    "pickle",
    "code",
    "codeop",
    "zmq",
    "jupyter_client",
)
_DYNAMIC_CALLS = {
    "exec",
    "eval",
    "compile",
    "__import__",
    "globals",
    "vars",
    "breakpoint",
    "get_ipython",
}
_DUNDERS_OK = {
    "__name__",
    "__class__",
    "__init__",
    "__qualname__",
    "__doc__",
    "__module__",
    "__len__",
    "__repr__",
    "__str__",
    "__array_ufunc__",
    "__array_priority__",
    "__version__",
    "__file__",
    "__main__",
}
_FRAME_ATTRS = {
    "f_globals",
    "f_locals",
    "f_back",
    "f_builtins",
    "f_code",
    "tb_frame",
    "gi_frame",
    "cr_frame",
    "ag_frame",
    "_getframe",
    "settrace",
    "setprofile",
    "addaudithook",
    "meta_path",
    "path_hooks",
    "modules",
}
#: roots whose mutation by a method call is tampering (not just suspicious, as sys.path is)
_STRONG = {"__builtins__", "get_ipython", "__globals__"}
_MAGICS_OK = {"time", "timeit", "matplotlib", "precision", "pprint", "who", "whos"}


# ---------------------------------------------------------------------------------------------
# static look at the student's code
# ---------------------------------------------------------------------------------------------
def _root(node: ast.AST) -> str | None:
    """The base name of ``a.b[c].d`` (``a``); ``get_ipython`` for ``get_ipython().x``;
    ``m`` for ``vars(m)[k]``; None through other calls (``np.ones(3)[0]`` is a new object)."""
    while True:
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id == "get_ipython":
                return "get_ipython"
            if isinstance(f, ast.Name) and f.id in ("vars", "globals"):
                return _root(node.args[0]) if node.args else "__globals__"
            return None
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def _to_python(source: str) -> str:
    """IPython syntax (magics, ``!shell``) as Python, as the kernel would run it."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:
        return source


class _Scanner(ast.NodeVisitor):
    def __init__(self, protected_names: set[str]):
        self.protected = protected_names  # names bound to protected modules (shared, grows)
        self.found: list[tuple[str, str, str]] = []  # (kind, severity, message)
        self.strong_names: set[str] = {"check"}

    def add(self, kind: str, severity: str, message: str) -> None:
        if (kind, severity, message) not in self.found:
            self.found.append((kind, severity, message))

    @property
    def strong(self) -> set[str]:
        return {n for n in self.protected if n in self.strong_names}

    def _module(self, name: str, alias: str | None) -> None:
        root = name.split(".")[0]
        if root in FORBIDDEN:
            self.add("reference", "zero", f"imports {name} / импортирует {name}")
        elif root in PROTECTED:
            self.protected.add(alias or root)
            if root in ("course", "builtins", "IPython", "ipykernel") or name.startswith(
                "numpy.testing"
            ):
                self.strong_names.add(alias or root)
        if root in _INTROSPECTION_MODULES or root == "course":
            self.add("suspicious", "flag", f"imports {name} / импортирует {name}")

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self._module(a.name, a.asname if a.asname else a.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        mod = node.module or ""
        for a in node.names:
            self._module(f"{mod}.{a.name}" if mod else a.name, None)
            if mod.split(".")[0] in PROTECTED:
                self.protected.add(a.asname or a.name)
                if mod.split(".")[0] in ("course", "builtins") or mod.startswith("numpy.testing"):
                    self.strong_names.add(a.asname or a.name)

    def _target(self, target: ast.AST, verb: str) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._target(t, verb)
        elif isinstance(target, ast.Starred):
            self._target(target.value, verb)
        elif isinstance(target, ast.Name):
            self._rebind(target.id)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            root = _root(target)
            if root in self.protected or root in _STRONG:
                code = ast.unparse(target)
                ru = {"assigns": "присваивает", "deletes": "удаляет"}.get(verb, verb)
                self.add("tamper", "zero", f"{verb} {code} / {ru} {code}")

    def _rebind(self, name: str) -> None:
        if name in self.protected:
            self.add(
                "suspicious",
                "flag",
                f"rebinds {name!r}, a name of the grader's modules / "
                f"переопределяет {name!r}, имя модуля проверяющей системы",
            )

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._rebind(node.name)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._rebind(node.name)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            self._target(t, "assigns")
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node.target, "assigns")
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._target(node.target, "assigns")
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            self._target(t, "deletes")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        args = node.args
        strings = [
            a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)
        ]
        if any(s.split(".")[0] in FORBIDDEN for s in strings):
            self.add(
                "reference",
                "zero",
                f"names a forbidden module in {ast.unparse(f)}(…) / "
                f"упоминает запрещённый модуль в {ast.unparse(f)}(…)",
            )
        if name in ("setattr", "delattr") and args:
            root = _root(args[0])
            if root in self.protected or root in _STRONG:
                self.add(
                    "tamper",
                    "zero",
                    f"{name}({ast.unparse(args[0])}, …) / вызывает "
                    f"{name}({ast.unparse(args[0])}, …)",
                )
            elif not (len(args) > 1 and isinstance(args[1], ast.Constant)):
                self.add(
                    "suspicious",
                    "flag",
                    f"{name} with a computed attribute name / {name} с вычисляемым именем атрибута",
                )
        elif name == "getattr" and len(args) > 1:
            attr = args[1].value if isinstance(args[1], ast.Constant) else None
            if not isinstance(attr, str):
                self.add(
                    "suspicious",
                    "flag",
                    "getattr with a computed attribute name / "
                    "getattr с вычисляемым именем атрибута",
                )
            elif attr.startswith("__") and attr not in _DUNDERS_OK:
                self.add(
                    "suspicious", "flag", f"getattr(…, {attr!r}) / вызывает getattr(…, {attr!r})"
                )
        if isinstance(f, ast.Name) and f.id in _DYNAMIC_CALLS:
            self.add("suspicious", "flag", f"calls {f.id}() / вызывает {f.id}()")
        if name in (
            "update",
            "__setitem__",
            "__setattr__",
            "__delattr__",
            "setdefault",
            "pop",
            "popitem",
            "clear",
            "append",
            "insert",
            "register",
            "extend",
        ) and isinstance(f, ast.Attribute):
            root = _root(f.value)
            if root in _STRONG or root in self.strong:
                self.add(
                    "tamper",
                    "zero",
                    f"modifies {ast.unparse(f.value)} ({name}) / "
                    f"изменяет {ast.unparse(f.value)} ({name})",
                )
            elif root in self.protected:
                self.add(
                    "suspicious",
                    "flag",
                    f"modifies {ast.unparse(f.value)} ({name}) / "
                    f"изменяет {ast.unparse(f.value)} ({name})",
                )
        if (
            name in ("run_line_magic", "run_cell_magic", "system", "getoutput")
            and isinstance(f, ast.Attribute)
            and _root(f) == "get_ipython"
        ):
            magic = strings[0] if strings else "?"
            if name in ("system", "getoutput") or magic not in _MAGICS_OK:
                self.add(
                    "suspicious",
                    "flag",
                    f"IPython {name} {magic!r} / вызывает IPython {name} {magic!r}",
                )
            node.func = ast.Name("_magic")  # a magic written by the student is not get_ipython
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        a = node.attr
        if (
            isinstance(node.value, ast.Name)
            and node.value.id in self.strong
            and not re.fullmatch(r"(hidden_)?t\d+_\d+", a)
            and isinstance(node.ctx, ast.Load)
        ):  # check._reference, check.t2_4_5.course_jvp: not a check (absent when graded)
            code = ast.unparse(node)
            self.add(
                "suspicious", "flag", f"reads {code}, not a check / читает {code}, не проверку"
            )
        if (
            a.startswith("__")
            and a.endswith("__")
            and a not in _DUNDERS_OK
            and not _is_dunder_call_on_operand(node)
        ) or a in _FRAME_ATTRS:
            if not (a == "modules" and _root(node) != "sys"):
                self.add(
                    "suspicious",
                    "flag",
                    f"uses {ast.unparse(node)} / использует {ast.unparse(node)}",
                )
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        key = node.slice
        if (
            isinstance(key, ast.Constant)
            and isinstance(key.value, str)
            and key.value.split(".")[0] in FORBIDDEN
        ):
            self.add(
                "reference",
                "zero",
                f"reaches {ast.unparse(node)} / обращается к {ast.unparse(node)}",
            )
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "__builtins__":
            self.add("suspicious", "flag", f"uses {node.id} / использует {node.id}")


def _is_dunder_call_on_operand(node: ast.Attribute) -> bool:
    """``other.__rsub__`` or ``self.__add__``: arithmetic protocol methods are fine."""
    return bool(
        re.fullmatch(
            r"__r?i?(add|sub|mul|truediv|floordiv|matmul|pow|neg|pos|abs|"
            r"getitem|iter|next|array|float|int|eq|lt|le|gt|ge|ne|hash|"
            r"call|bool|contains|mod|divmod)__",
            node.attr,
        )
    )


def scan_code(source: str, protected_names: set[str] | None = None) -> list[tuple[str, str, str]]:
    """``[(kind, severity, message)]`` for one cell of student code (see :class:`Finding`).

    ``protected_names``: names bound to the grader's modules so far (``check``, ``np``); the
    set grows with the cell's own imports of protected modules.
    """
    raw = source
    try:
        tree = ast.parse(_to_python(source))
    except SyntaxError:
        return []
    scanner = _Scanner(protected_names if protected_names is not None else set())
    if "get_ipython" in raw:
        scanner.add("suspicious", "flag", "uses get_ipython / использует get_ipython")
    scanner.visit(tree)
    return scanner.found
