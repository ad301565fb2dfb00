"""``reference_impl.scipy``: mirrors ``jax.scipy``."""

from . import special
