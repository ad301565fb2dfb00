"""Mechanical mutants of a solution cell: one small AST edit inside ``### BEGIN/END SOLUTION``.

Operators (as a class of students would get things wrong): flip a sign or an arithmetic or
comparison operator, ±1 on an integer (a bound, an index, an axis), swap the operands of a
non-commutative operator or the first two arguments of a call, drop a term of a sum, ``+=`` →
``=``, drop a transpose, change an ``axis=``, leave a loop after its first pass, delete a
statement, flip ``and``/``or`` and ``True``/``False``, scale a float constant.

Every mutant has a stable id, ``<operator>@<line>:<col>[:<variant>]`` (line within the cell), so
that the committed list of equivalent mutants stays valid while the solution does not change.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Mutant", "mutants", "solution_lines"]

_SWAP_BINOP = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.Pow: ast.Mult,
    ast.MatMult: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
}
_SWAP_CMP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.MatMult, ast.Pow, ast.FloorDiv, ast.Mod)


@dataclass(frozen=True)
class Mutant:
    """One edit of a cell: its id, a readable description and the mutated source."""

    id: str
    description: str
    source: str


def solution_lines(source: str) -> set[int]:
    """Line numbers (1-based) strictly between ``### BEGIN SOLUTION`` and ``### END SOLUTION``."""
    lines, inside, out = source.splitlines(), False, set()
    for i, line in enumerate(lines, 1):
        text = line.strip()
        if text.startswith("### BEGIN SOLUTION"):
            inside = True
        elif text.startswith("### END SOLUTION"):
            inside = False
        elif inside:
            out.add(i)
    return out


def _edits(node: ast.AST) -> Iterator[tuple[str, str, ast.AST | None]]:
    """``(operator, variant, replacement)`` for one node (``None``: delete the statement)."""
    if isinstance(node, ast.BinOp):
        new = _SWAP_BINOP.get(type(node.op))
        if new:
            yield "binop", new.__name__, ast.BinOp(node.left, new(), node.right)
        if isinstance(node.op, _NON_COMMUTATIVE):
            yield "swap-operands", "", ast.BinOp(node.right, node.op, node.left)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            yield "drop-term", "left", node.right
            yield "drop-term", "right", node.left
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        yield "drop-unary", "", node.operand
    elif isinstance(node, ast.Compare) and len(node.ops) == 1:
        new_cmp = _SWAP_CMP.get(type(node.ops[0]))
        if new_cmp:
            yield "compare", new_cmp.__name__, ast.Compare(node.left, [new_cmp()], node.comparators)
    elif isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield "boolop", type(other).__name__, ast.BoolOp(other, node.values)
    elif isinstance(node, ast.Constant) and not isinstance(node.value, str):
        v = node.value
        if isinstance(v, bool):
            yield "constant", "not", ast.Constant(not v)
        elif isinstance(v, int):
            yield "constant", "+1", ast.Constant(v + 1)
            yield "constant", "-1", ast.Constant(v - 1)
        elif isinstance(v, float):
            yield "constant", "x2", ast.Constant(v * 2 if v else 1.0)
            if v:
                yield "constant", "neg", ast.Constant(-v)
    elif isinstance(node, ast.Attribute) and node.attr in ("T", "mT"):
        yield "drop-transpose", "", node.value
    elif isinstance(node, ast.Call):
        if len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
            args = [node.args[1], node.args[0], *node.args[2:]]
            yield "swap-args", "", ast.Call(node.func, args, node.keywords)
        for i, kw in enumerate(node.keywords):
            if kw.arg == "axis":
                for variant, value in (
                    ("None", ast.Constant(None)),
                    ("0", ast.Constant(0)),
                    ("-1", ast.Constant(-1)),
                ):
                    if ast.dump(kw.value) != ast.dump(value):
                        kws = list(node.keywords)
                        kws[i] = ast.keyword("axis", value)
                        yield "axis", variant, ast.Call(node.func, node.args, kws)
    elif isinstance(node, ast.AugAssign):
        rhs = node.value
        yield "augassign", "=", ast.Assign([copy.deepcopy(node.target)], rhs)
    if isinstance(node, (ast.For, ast.While)) and node.body:
        yield (
            "loop-once",
            "",
            type(node)(
                **{**{f: getattr(node, f) for f in node._fields}, "body": [*node.body, ast.Break()]}
            ),
        )
    if isinstance(node, ast.stmt) and not isinstance(
        node, (ast.FunctionDef, ast.ClassDef, ast.Return)
    ):
        yield "delete", "", None


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, new: ast.AST | None):
        self.target, self.new = target, new

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for field, old in ast.iter_fields(node):
            if isinstance(old, list):
                out = []
                for item in old:
                    if item is self.target:
                        if self.new is not None:
                            out.append(self.new)
                    elif isinstance(item, ast.AST):
                        out.append(self.visit(item))
                    else:
                        out.append(item)
                if not out and field in ("body", "orelse") and old:
                    out = [ast.Pass()] if field == "body" else []
                setattr(node, field, out)
            elif old is self.target:
                setattr(node, field, self.new)
            elif isinstance(old, ast.AST):
                self.visit(old)
        return node


def mutants(source: str) -> list[Mutant]:
    """Every mutant of ``source`` whose edited node lies in its solution lines."""
    tree = ast.parse(source)
    lines = solution_lines(source)
    original = ast.unparse(tree)
    out: list[Mutant] = []
    seen: set[str] = {original}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.expr, ast.stmt)):  # the only nodes that _edits changes
            continue
        line = getattr(node, "lineno", None)
        if line is None or line not in lines or getattr(node, "end_lineno", line) not in lines:
            continue
        if isinstance(node, ast.Constant) and _is_docstring(tree, node):
            continue
        for op, variant, new in _edits(node):
            if new is None and not isinstance(node, ast.stmt):
                continue
            mutated = copy.deepcopy(tree)
            target = _find(mutated, node, tree)
            replacement = copy.deepcopy(new) if new is not None else None
            _Replace(target, replacement).visit(mutated)
            ast.fix_missing_locations(mutated)
            try:
                text = ast.unparse(mutated)
                compile(text, "<mutant>", "exec")
            except (SyntaxError, ValueError, TypeError):
                continue
            if text in seen:
                continue
            seen.add(text)
            mid = f"{op}@{line}:{node.col_offset}" + (f":{variant}" if variant else "")
            snippet = ast.get_source_segment(source, node) or type(node).__name__
            snippet = " ".join(snippet.split())[:60]
            what = f"{op} {variant}".strip()
            out.append(Mutant(mid, f"{what} in `{snippet}` (line {line})", text))
    return out


def _is_docstring(tree: ast.Module, node: ast.Constant) -> bool:
    for parent in ast.walk(tree):
        body = getattr(parent, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and body[0].value is node
        ):
            return True
    return False


def _find(copied: ast.AST, node: ast.AST, original: ast.AST) -> ast.AST:
    """The node of ``copied`` at the position of ``node`` in ``original`` (same walk order)."""
    for a, b in zip(ast.walk(original), ast.walk(copied), strict=True):
        if a is node:
            return b
    raise LookupError("node not found")
