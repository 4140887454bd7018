"""The sampling topic's graphs: CSR from edge lists (repeats and self-loops dropped, isolated nodes kept), Cora and
Citeseer with the MVS authors' split, and SBM graphs with the degree, homophily and feature signal asked for."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import assert_names
from workbench.gnn_sampling.graph import from_edges, from_planetoid
from workbench.gnn_sampling.sbm import sbm_graph


def _tiny(src, dst, n=4):
    return from_edges("tiny", src, dst, np.ones((n, 2)), np.arange(n) % 2, [0], [1], [2, 3])


def test_edges_become_symmetric_csr_without_self_loops_or_repeats():
    g = _tiny([0, 1, 1, 2, 2], [1, 0, 1, 0, 0])  # 0-1 twice, a self-loop at 1, 2-0 twice; node 3 isolated
    assert g.num_edges == 2 and g.degree.tolist() == [2, 1, 1, 0]
    assert g.neighbours(0).tolist() == [1, 2] and g.neighbours(3).tolist() == []
    assert torch.equal(g.rows(), torch.tensor([0, 0, 1, 2]))


@settings(deadline=None, max_examples=40)
@given(st.integers(1, 30), st.data())
def test_any_edge_list_gives_a_symmetric_graph_of_its_distinct_edges(n, data):
    pairs = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80))
    src, dst = [p[0] for p in pairs], [p[1] for p in pairs]
    g = from_edges("g", src, dst, np.zeros((n, 1)), np.zeros(n), [0], [0], [0])
    A = torch.zeros(n, n)
    A[g.rows(), g.indices] = 1
    expected = torch.zeros(n, n)
    for a, b in pairs:
        if a != b:
            expected[a, b] = expected[b, a] = 1
    assert torch.equal(A, expected) and g.num_edges == int(expected.sum()) // 2


def test_planetoid_graphs_with_the_authors_split():
    cora = from_planetoid("cora")
    assert (cora.num_nodes, cora.num_edges) == (2708, 5278)  # the edge count PyG and DGL report
    assert (len(cora.train_idx), len(cora.val_idx), len(cora.test_idx)) == (1208, 500, 1000)
    assert len(set(cora.train_idx.tolist()) & set(cora.test_idx.tolist())) == 0
    cite = from_planetoid("citeseer", split="planetoid")
    assert (cite.num_nodes, cite.num_edges, len(cite.train_idx)) == (3327, 4552, 120)
    assert int((cite.degree == 0).sum()) == 48  # Citeseer's isolated nodes are kept (their own features only)


def test_sbm_graphs_have_the_degree_homophily_and_signal_asked_for():
    g = sbm_graph(20_000, classes=5, degree=12, homophily=0.8, features=16, signal=0.4, seed=3)
    # 120,000 endpoint pairs: the mean degree loses only the repeats (about pairs / n² of them) and the fraction
    # of same-block edges has a standard error of about 0.001, so 0.01 is ten of them
    assert float(g.degree.float().mean()) == pytest.approx(12, rel=0.01)
    same = float((g.y[g.rows()] == g.y[g.indices]).float().mean())
    assert same == pytest.approx(0.8, abs=0.01)
    # informative but not separable alone: the nearest class mean is right far above chance (20 %) and far from
    # always (about 65 % here); averaging over the closed neighbourhood (what a GCN does) is right far more often
    means = torch.stack([g.X[g.y == c].mean(0) for c in range(5)])

    def nearest_mean_accuracy(F):
        return float(((F @ means.T - 0.5 * (means ** 2).sum(1)).argmax(1) == g.y).float().mean())

    alone = nearest_mean_accuracy(g.X)
    closed = (torch.zeros_like(g.X).index_add_(0, g.rows(), g.X[g.indices]) + g.X) / (g.degree[:, None] + 1)
    assert 0.4 < alone < 0.9 and nearest_mean_accuracy(closed) > alone + 0.2
    assert g.nbytes == sum(t.numel() * t.element_size() for t in (g.indptr, g.indices, g.X, g.y, g.train_idx,
                                                                  g.val_idx, g.test_idx))


@pytest.mark.parametrize("call, names", [
    (lambda: sbm_graph(1), ("n",)),
    (lambda: sbm_graph(100, classes=1), ("classes",)),
    (lambda: sbm_graph(100, degree=-1), ("degree",)),
    (lambda: sbm_graph(100, homophily=1.5), ("homophily",)),
    (lambda: sbm_graph(100, split=(0.6, 0.5)), ("split",)),
    (lambda: sbm_graph(100, features=0), ("features",)),
    (lambda: _tiny([0], [7]), ("src", "dst")),
    (lambda: _tiny([0, 1], [1]), ("dst",)),
    (lambda: from_edges("g", [0], [1], np.full((2, 2), np.nan), [0, 1], [0], [1], [1]), ("X",)),
    (lambda: from_edges("g", [0], [1], np.ones((2, 2)), [0, 1, 1], [0], [1], [1]), ("y",)),
    (lambda: from_edges("g", [0], [1], np.ones((2, 2)), [0, -1], [0], [1], [1]), ("val_idx",)),
    (lambda: from_edges("g", [0], [1], np.ones((2, 2)), [0, 1], [], [1], [1]), ("train_idx",)),
    (lambda: from_planetoid("cora", split="random"), ("split",)),
])
def test_bad_input_names_the_argument(call, names):
    with pytest.raises((ValueError, TypeError)) as e:
        call()
    assert_names(e.value, *names)
