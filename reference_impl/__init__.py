"""reference_impl: a small, readable automatic-differentiation engine on NumPy.

Mirrors JAX's API, so a function body written for ``jax.numpy`` runs unchanged on
``reference_impl.numpy``::

    import reference_impl as ri
    import reference_impl.numpy as rnp

    def L(w1, w2):
        v1 = rnp.log(w1)
        v2 = w2 * v1
        return v2 + rnp.sqrt(v2)

    ri.grad(L, argnums=(0, 1))(2.0, 3.0)

Modules: ``core`` (primitives, tracers, the two modes), ``numpy`` (differentiable NumPy),
``batching`` (vmap), ``staging`` (jit, a no-op), ``lax`` (loops as plain Python),
``forward`` (jvp, jacfwd), ``reverse`` (vjp, grad, jacrev, hessian), ``custom``
(custom_jvp, custom_vjp), ``second_order`` (hvp, Hessian from HVPs, Hessian trace),
``trace_estimation`` (Hutchinson, Hutch++), ``checkpoint`` and ``revolve`` (trading memory for
recomputation), ``graph`` (computational graphs for teaching), ``finite_diff`` and
``zeroth_order`` (derivative-free estimates), ``testing`` (gradient checks).
"""

from . import (
    finite_diff,
    flatten_util,
    graph,
    lax,
    nn,
    numpy,
    random,
    scipy,
    testing,
    trace_estimation,
    tree,
    tree_util,
    zeroth_order,
)
from .batching import vmap
from .checkpoint import checkpoint, checkpoint_chain, remat
from .compat import (
    block_until_ready,
    config,
    debug,
    default_backend,
    device_get,
    device_put,
    devices,
    make_jaxpr,
)
from .custom import custom_gradient, custom_jvp, custom_vjp, linear_transpose
from .forward import jacfwd, jvp, linearize
from .graph import trace_graph
from .reverse import grad, hessian, jacrev, value_and_grad, vjp
from .second_order import hessian_trace, hvp
from .staging import jit
from .tracers import concrete

__all__ = [
    "block_until_ready",
    "checkpoint",
    "checkpoint_chain",
    "concrete",
    "config",
    "custom_gradient",
    "custom_jvp",
    "custom_vjp",
    "debug",
    "default_backend",
    "device_get",
    "device_put",
    "devices",
    "finite_diff",
    "flatten_util",
    "grad",
    "graph",
    "hessian",
    "hessian_trace",
    "hvp",
    "jacfwd",
    "jacrev",
    "jit",
    "jvp",
    "lax",
    "linear_transpose",
    "linearize",
    "make_jaxpr",
    "nn",
    "numpy",
    "random",
    "remat",
    "scipy",
    "testing",
    "trace_estimation",
    "trace_graph",
    "tree",
    "tree_util",
    "value_and_grad",
    "vjp",
    "vmap",
    "zeroth_order",
]
