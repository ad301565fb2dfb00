from reference_impl.scipy.special import *  # noqa: F403
