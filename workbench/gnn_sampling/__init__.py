"""Minimal-variance sampling for GNN training (MVS-GNN; Cong, Forsati, Kandemir, Mahdavi, KDD 2020), beside the
samplers people use: full batch, uniform nodes, GraphSAGE neighbours, LADIES layers, GraphSAINT random walks.

* :mod:`.mvs`: the minimal-variance inclusion probabilities, Bernoulli batches, importance weights and the
  variance they give;
* :mod:`.graph`: the graph a sampler draws from (CSR, features, labels, split); Cora and Citeseer;
* :mod:`.sbm`: stochastic-block-model graphs with informative features, to a million nodes;
* :mod:`.blocks`: a sampled computation, layer by layer (which rows, from which inputs, with which weights);
* :mod:`.model`: the GCN over blocks, and the per-node gradient norms MVS needs;
* :mod:`.samplers`: full batch, uniform, GraphSAGE, LADIES, GraphSAINT and MVS;
* :mod:`.training`: training with a sampler, and the gradient variance with its two components;
* :mod:`.inspect`: what one drawn batch computes with, and each node's probability of being drawn;
* :mod:`.experiments`: ``reproduce`` (quick in-process, the full grid on the runner);
* :mod:`.scale`: seconds and peak memory per sampler as the SBM graph grows to a million nodes;
* :mod:`.gain`: how much of uniform sampling's variance MVS's probabilities remove, along training;
* :mod:`.explorer`: the page (``Explorer``, loaded on first use: the core never imports the UI).
"""

from workbench.gnn_sampling.experiments import reproduce
from workbench.gnn_sampling.graph import Graph, from_edges, from_planetoid
from workbench.gnn_sampling.mvs import (draw_batch, importance_weights, mvs_probabilities, sampling_variance,
                                        uniform_probabilities)
from workbench.gnn_sampling.model import GCN
from workbench.gnn_sampling.samplers import SAMPLERS, make_sampler
from workbench.gnn_sampling.sbm import sbm_graph
from workbench.gnn_sampling.training import gradient_variance, iter_train

__all__ = ["Graph", "from_edges", "from_planetoid", "sbm_graph", "mvs_probabilities", "uniform_probabilities",
           "sampling_variance", "draw_batch", "importance_weights", "GCN", "SAMPLERS", "make_sampler", "iter_train",
           "gradient_variance", "reproduce", "Explorer", "warmup"]


def __getattr__(name):
    if name == "Explorer":
        from workbench.gnn_sampling.explorer import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warmup() -> None:
    """Load Cora, pre-train the page's model and prepare the default setting (MVS, batch 64) before the first
    visitor."""
    from workbench.gnn_sampling.explorer import DEFAULT, page_state

    page_state(*DEFAULT)
