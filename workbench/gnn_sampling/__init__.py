"""Minimal-variance sampling for GNN training (MVS-GNN; Cong, Forsati, Kandemir, Mahdavi, KDD 2020), beside the
samplers people use: full batch, uniform nodes, GraphSAGE neighbours, LADIES layers, GraphSAINT random walks.

In progress (issue 21): the sampling distribution and the graphs are here; the samplers, the GCN that trains on
their mini-batches, the variance measurement, ``reproduce``, the page and the notebook follow.

* :mod:`.mvs`: the minimal-variance inclusion probabilities, Bernoulli batches, importance weights and the
  variance they give;
* :mod:`.graph`: the graph a sampler draws from (CSR, features, labels, split); Cora and Citeseer;
* :mod:`.sbm`: stochastic-block-model graphs with informative features, to a million nodes.
"""

from workbench.gnn_sampling.graph import Graph, from_edges, from_planetoid
from workbench.gnn_sampling.mvs import (draw_batch, importance_weights, mvs_probabilities, sampling_variance,
                                        uniform_probabilities)
from workbench.gnn_sampling.sbm import sbm_graph

__all__ = ["Graph", "from_edges", "from_planetoid", "sbm_graph", "mvs_probabilities", "uniform_probabilities",
           "sampling_variance", "draw_batch", "importance_weights"]
