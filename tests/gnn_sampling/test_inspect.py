"""What the page shows of a drawn batch: each training node's inclusion probability is the frequency with which the
sampler draws it, and a drawn subgraph's nodes, roles and edges are those of the batch's computation."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import assert_names
from workbench.gnn_sampling.blocks import exact_minibatch
from workbench.gnn_sampling.graph import from_edges
from workbench.gnn_sampling.inspect import ROLES, drawn_subgraph, inclusion_probabilities, training_gradient_norms
from workbench.gnn_sampling.model import GCN
from workbench.gnn_sampling.samplers import make_sampler


def _frequencies(sampler, draws: int) -> np.ndarray:
    """How often each training node is an output node of a drawn batch."""
    position = torch.full((sampler.graph.num_nodes,), -1, dtype=torch.int64)
    position[sampler.graph.train_idx] = torch.arange(len(sampler.graph.train_idx))
    counts = np.zeros(len(sampler.graph.train_idx))
    gen = torch.Generator().manual_seed(0)
    for _ in range(draws):
        counts[position[sampler.sample(gen).nodes].numpy()] += 1
    return counts / draws


@pytest.mark.parametrize("name", ["uniform", "sage", "ladies", "mvs"])
def test_inclusion_probabilities_are_the_drawn_frequencies_and_sum_to_the_batch_size(graph, trained, name):
    s = make_sampler(name, graph, 30)
    s.refresh(trained, graph.X)  # MVS: probabilities from the trained model's gradient norms
    p = inclusion_probabilities(s).numpy()
    assert p.sum() == pytest.approx(30, rel=1e-9)
    draws = 1000
    freq = _frequencies(s, draws)
    # each frequency is a mean of `draws` Bernoulli(p_i): within 5 standard errors (about 1 in 10^6 per node fails)
    se = np.sqrt(p * (1 - p) / draws) + 1e-9
    assert np.all(np.abs(freq - p) <= 5 * se + 1.0 / draws), name


def test_graphsaint_probabilities_are_its_presampled_estimates(graph):
    s = make_sampler("saint", graph, 30)
    p = inclusion_probabilities(s).numpy()
    assert np.all((p > 0) & (p <= 1))
    freq = _frequencies(s, 1000)
    # two estimates of one probability: the pre-sampling (about 100 sightings per node) and 1,000 fresh draws
    se = np.sqrt(p * (1 - p) * (1 / 1000 + 1 / s.presample)) + 1e-9
    assert np.mean(np.abs(freq - p) <= 4 * se + 2.0 / s.presample) > 0.99


def test_full_batch_draws_every_training_node(graph):
    assert torch.equal(inclusion_probabilities(make_sampler("full", graph, len(graph.train_idx))),
                       torch.ones(len(graph.train_idx), dtype=torch.float64))


def test_gradient_norms_are_mvs_refresh_norms(graph, trained):
    s = make_sampler("mvs", graph, 30)
    s.refresh(trained, graph.X)
    assert torch.allclose(training_gradient_norms(trained, graph), s.norms, rtol=1e-5)


def test_an_exact_batch_reads_its_neighbours_and_theirs(graph):
    nodes = graph.train_idx[:5]
    sub = drawn_subgraph(exact_minibatch(graph, nodes, torch.ones(5), 2), max_outputs=5)
    role = dict(zip(sub["nodes"].tolist(), sub["role"]))
    neighbours = {int(j) for i in nodes for j in graph.neighbours(int(i))}
    batch = set(nodes.tolist())
    assert {v for v, r in role.items() if r == "batch"} == batch
    assert {v for v, r in role.items() if r == "hop 1"} == neighbours - batch
    second = {int(j) for i in neighbours | batch for j in graph.neighbours(i)}
    assert {v for v, r in role.items() if r == "hop 2"} == second - neighbours - batch
    edges = {tuple(e) for e in sub["edges"].tolist()}
    assert all(b in graph.neighbours(a).tolist() for a, b in edges)  # every edge is one of the graph's
    assert {(int(i), j) for i in nodes for j in graph.neighbours(int(i)).tolist()} <= edges


def test_mvs_batches_read_their_neighbours_from_the_history(graph, trained):
    s = make_sampler("mvs", graph, 30)
    s.refresh(trained, graph.X)
    batch = s.sample(torch.Generator().manual_seed(3))
    sub = drawn_subgraph(batch, max_outputs=len(batch.nodes))
    role = dict(zip(sub["nodes"].tolist(), sub["role"]))
    outside = {int(j) for i in batch.nodes for j in graph.neighbours(int(i))} - set(batch.nodes.tolist())
    # every neighbour outside the batch is read stale at the last layer; nothing lies two hops away
    assert {v for v, r in role.items() if r == "history"} == outside
    assert set(role.values()) <= {"batch", "history"}


@settings(deadline=None, max_examples=30)
@given(st.integers(3, 25), st.data())
def test_any_batch_of_any_sampler_gives_a_consistent_subgraph(n, data):
    m = data.draw(st.integers(0, 3 * n))
    src = data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    dst = data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    y = [i % 2 for i in range(n)]
    g = from_edges("h", src, dst, np.eye(n, 3), y, list(range(0, n, 2)) or [0], [1], [1])
    name = data.draw(st.sampled_from(["uniform", "sage", "ladies", "saint", "mvs"]))
    b = data.draw(st.integers(1, len(g.train_idx)))
    s = make_sampler(name, g, b)
    if name == "mvs":
        s.refresh(GCN(3, 2, hidden=4), g.X)
    p = inclusion_probabilities(s)
    assert p.shape == (len(g.train_idx),) and bool(((p >= 0) & (p <= 1)).all()) and math.isfinite(float(p.sum()))
    batch = s.sample(torch.Generator().manual_seed(data.draw(st.integers(0, 100))))
    k = data.draw(st.integers(1, 10))
    sub = drawn_subgraph(batch, k)
    assert set(sub["role"]) <= set(ROLES) and len(sub["role"]) == len(sub["nodes"])
    assert sub["role"].count("batch") == min(k, len(batch.nodes)) and sub["outputs"] == len(batch.nodes)
    assert len(set(sub["nodes"].tolist())) == len(sub["nodes"])  # each node once
    assert set(sub["edges"].flatten().tolist()) <= set(sub["nodes"].tolist())
    assert len(sub["edges"]) == len(sub["edge_layer"]) == len(sub["edge_weight"])
    assert bool((sub["edges"][:, 0] != sub["edges"][:, 1]).all())  # self-loops are not listed


@pytest.mark.parametrize("call, names", [
    (lambda g: drawn_subgraph(exact_minibatch(g, g.train_idx[:2], torch.ones(2), 2), 0), ("max_outputs",)),
    (lambda g: drawn_subgraph("a batch"), ("batch",)),
    (lambda g: inclusion_probabilities(object()), ("sampler",)),
])
def test_bad_input_names_the_argument(graph, call, names):
    with pytest.raises((ValueError, TypeError)) as e:
        call(graph)
    assert_names(e.value, *names)
