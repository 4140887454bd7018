"""Meta-learned weights for auxiliary tasks in GNN transfer learning (AUX-TS; Han, Huang, An, Bai, KDD 2021).

In progress (issue 22): the tasks, the weighting model with its meta-gradient, and training with the baselines are
here; ``reproduce``, the page and the notebook follow (see ``docs/aux_weighting.md`` for where ``meta`` stands).

* :mod:`.tasks`: the target and the auxiliary tasks (link prediction, masked attributes, degree, random labels) on
  one shared GCN encoder, with per-example losses;
* :mod:`.weighting`: the weighting model ``V(e; φ)`` and the one-step look-ahead whose target loss trains it;
* :mod:`.training`: the six ways of weighting (target only, equal, fine-tuning, cosine, uncertainty, meta).
"""

from workbench.aux_weighting.tasks import AUXILIARY, TASKS, Draw, MultiTaskGNN, TaskGraph, draw, prepare
from workbench.aux_weighting.weighting import (WeightNet, gradient_cosines, lookahead_target_loss, meta_gradient,
                                               weighted_loss)

__all__ = ["AUXILIARY", "TASKS", "TaskGraph", "Draw", "prepare", "draw", "MultiTaskGNN", "WeightNet",
           "gradient_cosines", "weighted_loss", "lookahead_target_loss", "meta_gradient"]
