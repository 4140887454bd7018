"""Meta-learned weights for auxiliary tasks in GNN transfer learning (AUX-TS; Han, Huang, An, Bai, KDD 2021), beside
the usual ways of weighting them.

* :mod:`.tasks`: the target and the auxiliary tasks (link prediction, masked attributes, degree, random labels) on
  one shared GCN encoder, with per-example losses; the few-label split;
* :mod:`.weighting`: the weighting model ``V(e; φ)``, the one-step look-ahead whose target loss trains it, and the
  gradient cosines it reads;
* :mod:`.training`: the six ways of weighting (target only, equal, fine-tuning, cosine, uncertainty, meta);
* :mod:`.experiments`: ``reproduce`` (quick in-process, the full grid on the runner);
* :mod:`.explorer`: the page (``Explorer``, loaded on first use: the core never imports the UI).
"""

from workbench.aux_weighting.experiments import reproduce
from workbench.aux_weighting.tasks import AUXILIARY, TASKS, Draw, MultiTaskGNN, TaskGraph, draw, prepare
from workbench.aux_weighting.training import METHODS, TrainConfig, iter_train
from workbench.aux_weighting.weighting import (WeightNet, gradient_cosines, lookahead_target_loss, meta_gradient,
                                               rescale_auxiliary, weighted_loss)

__all__ = ["AUXILIARY", "TASKS", "TaskGraph", "Draw", "prepare", "draw", "MultiTaskGNN", "WeightNet",
           "gradient_cosines", "weighted_loss", "rescale_auxiliary", "lookahead_target_loss", "meta_gradient",
           "METHODS", "TrainConfig", "iter_train", "reproduce", "Explorer", "warmup"]


def __getattr__(name):
    if name == "Explorer":
        from workbench.aux_weighting.explorer import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warmup() -> None:
    """Load and prepare Cora (what a Train on the page starts from) before the first visitor."""
    from workbench.aux_weighting.experiments import load_graph

    load_graph("cora")
