"""What JAX scripts call around the mathematics: ``config.update``, ``block_until_ready``,
``device_put``/``device_get``, ``devices``, ``debug.print``/``debug.callback`` and
``make_jaxpr``.

The engine is an eager NumPy interpreter on the CPU in float64, so most of these are
documented no-ops that accept JAX's arguments: ``config.update("jax_enable_x64", True)`` is
what the engine does anyway, ``block_until_ready(x)`` returns ``x`` (every value is computed
when it is returned), ``device_put`` copies into a NumPy array. ``make_jaxpr`` is real: it
records the primitives a call runs (Python control flow unrolled, as under ``jit``) and prints
them in JAX's jaxpr notation.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from .core import VJPTrace, VJPTracer
from .tracers import Tracer, concrete
from .tree_util import tree_flatten, tree_map, tree_unflatten

__all__ = [
    "block_until_ready",
    "config",
    "debug",
    "default_backend",
    "device_get",
    "device_put",
    "devices",
    "make_jaxpr",
]


_DEFAULTS: dict[str, Any] = {
    "jax_enable_x64": True,
    "jax_platforms": "cpu",
    "jax_platform_name": "cpu",
    "jax_disable_jit": False,
    "jax_debug_nans": False,
    "jax_debug_infs": False,
    "jax_default_matmul_precision": None,
    "jax_numpy_rank_promotion": "allow",
    "jax_threefry_partitionable": True,
    "jax_default_prng_impl": "threefry2x32",
    "jax_log_compiles": False,
    "jax_traceback_filtering": "auto",
    "jax_compilation_cache_dir": None,
    "jax_persistent_cache_min_compile_time_secs": 1.0,
    "jax_numpy_dtype_promotion": "standard",
    "jax_legacy_prng_key": "allow",
}
_FIXED = {
    "jax_threefry_partitionable": "reference_impl.random implements JAX's default "
    "(partitionable) threefry scheme only",
    "jax_default_prng_impl": "reference_impl.random implements threefry2x32 only",
}


class Config:
    """``jax.config``: ``update(name, value)`` for JAX's option names, read back as
    attributes. Options that would change the engine's numbers are refused with the reason."""

    def __init__(self) -> None:
        self._values = dict(_DEFAULTS)

    def update(self, name: str, value: Any) -> None:
        """Set option ``name`` (JAX's names). ``jax_enable_x64=False`` is accepted but the
        engine still computes in float64 (NumPy's default)."""
        if name not in self._values:
            raise AttributeError(f"Unrecognized config option: {name}")
        if name in _FIXED and value != _DEFAULTS[name]:
            raise NotImplementedError(f"config.update({name!r}, {value!r}): {_FIXED[name]}")
        self._values[name] = value

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"Unrecognized config option: {name}")


config = Config()


def block_until_ready(x: Any) -> Any:
    """``x`` itself: the engine is eager, every value is ready when it is returned."""
    return x


def device_put(x: Any, device: Any = None, **_: Any) -> Any:
    """Each leaf as a fresh NumPy array (a copy, so later changes to ``x`` do not reach it)."""
    return tree_map(lambda a: a if isinstance(a, Tracer) else np.array(a), x)


def device_get(x: Any) -> Any:
    """Each leaf as a NumPy array (the value inside a traced one)."""
    return tree_map(lambda a: np.asarray(concrete(a)), x)


class CpuDevice:
    """The one device: the CPU, through NumPy."""

    id, platform, device_kind = 0, "cpu", "cpu"

    def __repr__(self) -> str:
        return "CpuDevice(id=0)"


def devices(backend: str | None = None) -> list[CpuDevice]:
    """``[CpuDevice(id=0)]``."""
    return [CpuDevice()]


def default_backend() -> str:
    """``"cpu"``."""
    return "cpu"


def _debug_print(fmt: str, *args: Any, ordered: bool = False, **kwargs: Any) -> None:
    """``print(fmt.format(*args, **kwargs))`` with the values inside traced arguments (under
    ``vmap`` the whole batch)."""

    def value(a: Any) -> Any:
        c = concrete(a)
        while isinstance(c, Tracer):  # a batch: print the stacked examples
            c = concrete(c.val)
        return c

    print(fmt.format(*tree_map(value, args), **tree_map(value, kwargs)))


def _debug_callback(callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """``callback(*args, **kwargs)`` on the values inside traced arguments."""
    callback(*tree_map(lambda a: concrete(a), args), **tree_map(lambda a: concrete(a), kwargs))


debug = SimpleNamespace(print=_debug_print, callback=_debug_callback)


# --- make_jaxpr -------------------------------------------------------------------------------
_SHORT = {
    "float64": "f64",
    "float32": "f32",
    "int64": "i64",
    "int32": "i32",
    "bool": "bool",
    "complex128": "c128",
    "uint32": "u32",
    "uint64": "u64",
}


def _aval(x: Any) -> str:
    dt = np.dtype(getattr(x, "dtype", None) or np.result_type(x))
    shape = getattr(x, "shape", np.shape(x))
    return f"{_SHORT.get(dt.name, dt.name)}[{','.join(map(str, shape))}]"


def _names() -> Any:
    for n in itertools.count(1):
        for combo in itertools.product(string.ascii_lowercase, repeat=n):
            yield "".join(combo)


class _Recorder(VJPTrace):
    """A reverse-mode trace whose tape keeps every argument (the constants, for printing)."""

    __slots__ = ()

    def process(self, prim: Any, args: Any, params: dict[str, Any]) -> Any:
        out = super().process(prim, args, params)
        self.tape[-1].args = [
            a.val if isinstance(a, Tracer) and a._trace is self else a for a in args
        ]
        return out


class Jaxpr:
    """The recorded program: ``invars``, one equation per primitive call, ``outvars``;
    ``str()`` prints it in JAX's notation, ``eqns`` lists ``(outs, primitive, ins, params)``."""

    def __init__(
        self,
        invars: list[str],
        eqns: list[tuple[list[str], str, list[str], dict]],
        outvars: list[str],
    ):
        self.invars, self.eqns, self.outvars = invars, eqns, outvars

    def __str__(self) -> str:
        lines = [f"{{ lambda ; {' '.join(self.invars)}. let"]
        for outs, name, ins, params in self.eqns:
            p = ", ".join(f"{k}={v!r}" for k, v in params.items())
            lines.append(
                f"    {' '.join(outs)} = {name}{'[' + p + ']' if p else ''} {' '.join(ins)}"
            )
        lines.append(f"  in ({', '.join(self.outvars)},) }}")
        return "\n".join(lines)

    __repr__ = __str__


def make_jaxpr(fun: Callable[..., Any], static_argnums: Any = (), **_: Any) -> Callable[..., Jaxpr]:
    """``make_jaxpr(f)(*args)``: the primitives ``f(*args)`` runs, as a :class:`Jaxpr`.

    Recorded by running ``f`` once on the arguments (like ``jit``'s trace, except that values
    are concrete: Python ``if``/``for`` are unrolled for these arguments). Names follow JAX's
    (``a, b, …``), but the primitives are the engine's, so the listing is not JAX's own."""
    statics = {static_argnums} if isinstance(static_argnums, int) else set(static_argnums)

    def traced(*args: Any) -> Jaxpr:
        trace = _Recorder()
        names = _names()
        var: dict[Any, str] = {}
        boxed: list[Any] = []
        invars: list[str] = []
        for i, a in enumerate(args):
            if i in statics:
                boxed.append(a)
                continue
            leaves, tree = tree_flatten(a)
            box = []
            for leaf in leaves:
                t = trace.new_input(np.asarray(leaf) if not isinstance(leaf, Tracer) else leaf)
                var[t.node] = next(names)
                invars.append(f"{var[t.node]}:{_aval(leaf)}")
                box.append(t)
            boxed.append(tree_unflatten(tree, box))
        out = fun(*boxed)
        eqns = []
        for idx, entry in enumerate(trace.tape):
            if entry.prim is None:
                continue
            read = dict(entry.parents)
            ins = [var[read[k]] if k in read else _literal(a) for k, a in enumerate(entry.args)]
            results = entry.ans if entry.prim.multiple_results else (entry.ans,)
            outs = []
            for k, r in enumerate(results):
                key = (idx, k) if entry.prim.multiple_results else idx
                var[key] = next(names)
                outs.append(f"{var[key]}:{_aval(r)}")
            eqns.append((outs, entry.prim.name, ins, dict(entry.params)))
        outvars = [
            var[o.node] if isinstance(o, VJPTracer) and o._trace is trace else _literal(o)
            for o in tree_flatten(out)[0]
        ]
        return Jaxpr(invars, eqns, outvars)

    return traced


def _literal(a: Any) -> str:
    v = concrete(a)
    if np.ndim(v) == 0 and not isinstance(v, Tracer):
        return f"{np.asarray(v).item()!r}:{_aval(v)}"
    return f"const:{_aval(v)}"
