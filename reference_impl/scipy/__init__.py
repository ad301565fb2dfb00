"""``reference_impl.scipy``: mirrors ``jax.scipy``."""

from . import linalg, special, stats
