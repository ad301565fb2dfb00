"""Batching rules of the primitives added with the wider ``jax.numpy`` coverage.

They belong to the families of :mod:`.batching_rules` and :mod:`.batching_linalg` and share
their rules: elementwise (inverse trigonometric functions, other bases, rounding, ``arctan2``,
remainders), one ``axis`` parameter shifted past the batch axis (``cumsum``), and stacks of
matrices (``qr``, ``pinv``, ``expm``). They are looked up by name, so that this module does not
depend on which of them a given version of :mod:`reference_impl.numpy` defines;
``tests/test_vmap.py`` checks that every primitive of the package has a rule.
"""

from __future__ import annotations

import importlib
from typing import Any

from .batching_linalg import stack_rule
from .batching_rules import elementwise_rule
from .core import Primitive, defbatch

__all__ = ["axis_rule"]

ELEMENTWISE = {
    "elementwise_more": [
        "arcsin",
        "arccos",
        "arcsinh",
        "arccosh",
        "arctanh",
        "log2",
        "log10",
        "exp2",
        "cbrt",
        "floor",
        "ceil",
        "trunc",
        "rint",
        "_round_p",
        "arctan2",
        "remainder",
        "fmod",
        "sinc",
    ],
}
AXIS = {"statistics": ["cumsum_p"]}
STACKS = {"linalg_more": ["qr_p", "pinv_p"], "..scipy.linalg": ["expm_p"]}


def axis_rule(prim: Primitive) -> Any:
    """``prim(x, axis=a)`` along one (non-negative) axis: the axis renumbered past the batch."""

    def rule(vals: list[Any], dims: list[Any], axis: int, **params: Any) -> tuple[Any, int]:
        (x,), (d,) = vals, dims
        return prim(x, axis=axis + (axis >= d), **params), d

    return rule


def _prims(table: dict[str, list[str]]) -> list[Primitive]:
    found = []
    for module, names in table.items():
        name = module[2:] if module.startswith("..") else f"numpy.{module}"
        try:
            mod = importlib.import_module(f"reference_impl.{name}")
        except ImportError:
            continue
        found += [p for n in names if isinstance(p := getattr(mod, n, None), Primitive)]
    return found


for _p in _prims(ELEMENTWISE):
    defbatch(_p, elementwise_rule(_p))
for _p in _prims(AXIS):
    defbatch(_p, axis_rule(_p))
for _p in _prims(STACKS):
    defbatch(_p, stack_rule(_p))
