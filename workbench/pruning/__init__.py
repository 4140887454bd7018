"""Pruning methods side by side (Hoefler, Alistarh, Ben-Nun, Dryden, Peste: Sparsity in Deep Learning, JMLR 2021).

Core API (no UI imports): :class:`Pruner` (``Pruner("magnitude", 0.9).fit(model, data)`` -> ``masks_``,
``history_``, ``schedule_``; masks through ``torch.nn.utils.parametrize``), :class:`Schedule` and
:func:`cubic_sparsity` (Zhu & Gupta), the masks' helpers, :func:`shrink` and the latency measurements of
:mod:`workbench.pruning.inference`, and :func:`reproduce` (every method on the same models). ``Explorer`` (the
dashboard) is imported lazily so that core users never load Panel.
"""

from workbench.pruning.experiments import reproduce
from workbench.pruning.inference import linear_latency, model_latency, shrink, structured_latency
from workbench.pruning.masks import apply_masks, current_masks, model_sparsity, prunable_layers, remove_masks
from workbench.pruning.models import make_cnn, make_resnet
from workbench.pruning.pruner import METHODS, Pruner
from workbench.pruning.schedules import Schedule, cubic_sparsity

__all__ = [
    "Pruner", "METHODS", "Schedule", "cubic_sparsity", "apply_masks", "current_masks", "remove_masks",
    "model_sparsity", "prunable_layers", "shrink", "linear_latency", "model_latency", "structured_latency",
    "make_cnn", "make_resnet", "reproduce", "Explorer", "warmup",
]


def __getattr__(name):
    if name == "Explorer":
        from workbench.pruning.explorer import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warmup() -> None:
    """Prune the default page's setting once (the digits MLP, gradual magnitude, 90 %), before the first visitor."""
    from workbench.pruning.explorer import default_fit

    default_fit()
