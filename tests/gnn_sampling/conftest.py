"""Fixtures shared by the gnn_sampling tests: one small SBM graph and a GCN trained on it (built once per run)."""

import pytest

from workbench.gnn_sampling.model import GCN
from workbench.gnn_sampling.samplers import make_sampler
from workbench.gnn_sampling.sbm import sbm_graph
from workbench.gnn_sampling.training import iter_train


@pytest.fixture(scope="package")
def graph():
    return sbm_graph(600, classes=4, degree=8, features=12, signal=0.4, seed=1)


@pytest.fixture(scope="package")
def trained(graph):
    model = GCN(graph.X.shape[1], graph.num_classes, hidden=16, seed=0)
    list(iter_train(graph, make_sampler("full", graph, len(graph.train_idx)), 30, model=model, eval_every=30))
    return model
