"""N:M sparsity of weights, activations and neural gradients (Chmiel et al., ICLR 2023).

Core API (no UI imports): :func:`sparsify` / :func:`unsparsify` train Linear/Conv2d layers with N:M
masks, :func:`mask_statistics` measures an N:M pruner's bias and variance against the exact
formulas, :func:`reproduce` runs the paper's comparison on digits. ``Explorer`` (the dashboard) is
imported lazily so that core users never load Panel.
"""

from workbench.nm_sparsity.experiments import reproduce
from workbench.nm_sparsity.sparsify import prune_gradient, sparsify, unsparsify
from workbench.nm_sparsity.statistics import MaskStatistics, mask_statistics, prune
from workbench.nm_sparsity.training import capture_gradients, digits_data, iter_train, make_mlp, train

__all__ = [
    "sparsify", "unsparsify", "prune_gradient", "mask_statistics", "MaskStatistics", "prune",
    "reproduce", "digits_data", "make_mlp", "train", "iter_train", "capture_gradients", "Explorer", "warmup",
]


def __getattr__(name):
    if name == "Explorer":
        from workbench.nm_sparsity.explorer import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warmup() -> None:
    """Compute the cached real tensors and the default page's statistics (called once when the app starts)."""
    from workbench.nm_sparsity.explorer import default_statistics
    from workbench.nm_sparsity.tensors import real_tensors

    real_tensors()
    default_statistics()
