"""LDS: learning discrete graph structures for graph neural networks (Franceschi et al., ICML 2019).

Core API (no UI imports): :class:`LDS` (kNN-LDS without a graph, LDS with one), the 2-layer GCN,
the Bernoulli graph sampler with its straight-through gradient, the truncated hypergradient,
baselines and data loaders (scikit-learn tables with the paper's splits, Planetoid files).
"""

from workbench.structure_learning.baselines import FixedGraphGCN, logreg_accuracy
from workbench.structure_learning.bilevel import AdamState, adam_step, hyper_step
from workbench.structure_learning.datasets import GraphDataset, load_planetoid, load_table, remove_edges
from workbench.structure_learning.experiments import reproduce
from workbench.structure_learning.gcn import gcn_forward, init_gcn, normalize_adjacency
from workbench.structure_learning.lds import LDS, knn_graph, mean_prediction
from workbench.structure_learning.sampler import project, sample_graph, symmetric

__all__ = [
    "LDS", "knn_graph", "mean_prediction", "FixedGraphGCN", "logreg_accuracy", "hyper_step", "adam_step",
    "AdamState", "GraphDataset", "load_table", "load_planetoid", "remove_edges", "reproduce", "gcn_forward",
    "init_gcn", "normalize_adjacency", "project", "sample_graph", "symmetric", "Explorer", "warmup",
]


def __getattr__(name):
    if name == "Explorer":
        from workbench.structure_learning.explorer import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warmup() -> None:
    """Learn the default page's graph (Wine, short schedule) once, before the first visitor."""
    from workbench.structure_learning.explorer import default_fit

    default_fit("wine", 20, 5, 0)  # the Explorer's defaults, same cache key
