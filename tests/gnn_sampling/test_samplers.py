"""The samplers: exact blocks reproduce the full-graph GCN, the estimates they promise are unbiased, MVS's
histories equal fresh embeddings right after a refresh, and the variance measurement's components add up."""

import math

import numpy as np
import pytest
import torch

from tests.strategies import assert_names
from workbench.gnn_sampling.blocks import exact_minibatch
from workbench.gnn_sampling.graph import from_edges
from workbench.gnn_sampling.model import GCN, node_gradient_norms
from workbench.gnn_sampling.mvs import mvs_probabilities
from workbench.gnn_sampling.samplers import SAMPLERS, make_sampler
from workbench.gnn_sampling.training import batch_loss, gradient_variance, iter_train
from workbench.graphs import normalize_adjacency


def _dense_a_hat(graph):
    A = torch.zeros(graph.num_nodes, graph.num_nodes)
    A[graph.rows(), graph.indices] = 1
    return normalize_adjacency(A)


def test_exact_blocks_compute_what_the_full_graph_gcn_computes(graph, trained):
    a_hat = _dense_a_hat(graph)
    w0, b0 = trained.linears[0].weight, trained.linears[0].bias
    w1, b1 = trained.linears[1].weight, trained.linears[1].bias
    reference = (a_hat @ torch.relu(a_hat @ graph.X @ w0.T + b0)) @ w1.T + b1
    nodes = graph.val_idx[:50]
    trained.eval()
    with torch.no_grad():
        logits, _, _ = trained(graph.X, exact_minibatch(graph, nodes, torch.ones(50), 2))
    trained.train()
    assert torch.allclose(logits, reference[nodes], atol=1e-5)


def test_weighted_losses_are_unbiased_estimates_of_the_mean_training_loss(graph, trained):
    # 400 batches each: the mean of the weighted loss within 4 standard errors of the full loss (a false alarm
    # ~1e-4 per sampler); uniform and MVS compute exactly, so only the batch is random
    trained.eval()
    full = make_sampler("full", graph, len(graph.train_idx))
    with torch.no_grad():
        target = float(batch_loss(trained, graph.X, graph.y, full.sample())[0])
        gen = torch.Generator().manual_seed(0)
        for name, kw in (("uniform", {}), ("mvs", {"history": False})):
            s = make_sampler(name, graph, 40, **kw)
            s.refresh(trained, graph.X)
            values = torch.tensor([float(batch_loss(trained, graph.X, graph.y, s.sample(gen))[0])
                                   for _ in range(400)])
            assert abs(float(values.mean()) - target) <= 4 * float(values.std()) / math.sqrt(400), name
    trained.train()


def test_neighbour_sampling_rows_are_unbiased_and_ladies_rows_keep_their_mass(graph):
    a_hat = _dense_a_hat(graph)
    gen = torch.Generator().manual_seed(1)
    sage = make_sampler("sage", graph, 30, fanouts=(3, 3))
    dst = graph.train_idx[:30]
    draws = 600
    total = torch.zeros(30, graph.num_nodes)
    sq = torch.zeros(30, graph.num_nodes)
    for _ in range(draws):
        block = sage._block(dst, 3, gen)
        dense = torch.zeros(30, graph.num_nodes)
        dense[:, block.src] = block.adj.to_dense()
        total += dense
        sq += dense ** 2
    mean = total / draws
    se = ((sq / draws - mean ** 2).clamp(min=0) / draws).sqrt()
    # every entry of the mean within 5 standard errors of Â's (or exactly equal where the entry never varies)
    assert bool(((mean - a_hat[dst]).abs() <= 5 * se + 1e-6).all())
    ladies = make_sampler("ladies", graph, 30, layer_size=20)
    block = ladies._block(dst, gen)
    assert torch.allclose(block.adj.to_dense().sum(1), a_hat[dst].sum(1), atol=1e-5)


def test_historical_embeddings_equal_fresh_ones_right_after_a_refresh(graph, trained):
    s = make_sampler("mvs", graph, 60)
    s.refresh(trained, graph.X)
    trained.eval()
    batch = s.sample(torch.Generator().manual_seed(2))
    with torch.no_grad():
        stale, _, _ = trained(graph.X, batch, s.history)
        fresh, _, _ = trained(graph.X, exact_minibatch(graph, batch.nodes, batch.weights, 2))
    trained.train()
    assert batch.blocks[1].fresh < len(batch.blocks[1].src)  # the batch does read histories
    assert torch.allclose(stale, fresh, atol=1e-5)
    # and the probabilities are MVS's for the refreshed gradient norms: they sum to B, grow with the norm
    assert float(s.p.sum()) == pytest.approx(60, rel=1e-9)
    order = s.norms.argsort()
    assert bool((s.p[order].diff() >= -1e-12).all())


def test_gradient_norms_are_the_last_layers_per_node_gradient_norms(graph, trained):
    nodes = graph.train_idx[:5]
    batch = exact_minibatch(graph, nodes, torch.ones(5), 2)
    trained.eval()
    logits, _, a = trained(graph.X, batch)
    norms = node_gradient_norms(logits, a, graph.y[nodes])
    last = trained.linears[-1]
    for i in range(5):
        loss = torch.nn.functional.cross_entropy(logits[i:i + 1], graph.y[nodes][i:i + 1])
        gw, gb = torch.autograd.grad(loss, [last.weight, last.bias], retain_graph=True)
        assert float(norms[i]) == pytest.approx(math.sqrt(float((gw ** 2).sum() + (gb ** 2).sum())), rel=1e-4)
    trained.train()


def test_variance_components_vanish_where_they_should(graph, trained):
    full = gradient_variance(trained, graph, make_sampler("full", graph, len(graph.train_idx)), draws=2)
    assert full["total"]["mean"] < 1e-12
    uniform = gradient_variance(trained, graph, make_sampler("uniform", graph, 40), draws=10)
    assert uniform["embedding"]["mean"] < 1e-12  # exact computation: only the batch varies
    assert uniform["total"]["mean"] == pytest.approx(uniform["stochastic"]["mean"], rel=1e-6)
    sage = gradient_variance(trained, graph, make_sampler("sage", graph, 40, fanouts=(2, 2)), draws=10)
    assert sage["embedding"]["mean"] > 0


def test_every_sampler_trains_on_a_graph_with_isolated_nodes():
    # nodes 0..9 of a 40-node graph have no edges: their rows are their self-loops, and every sampler runs
    rng = np.random.default_rng(0)
    src, dst = rng.integers(10, 40, 120), rng.integers(10, 40, 120)
    X, y = rng.normal(size=(40, 5)), np.arange(40) % 2
    g = from_edges("isolated", src, dst, X, y, np.arange(0, 30), np.arange(30, 35), np.arange(35, 40))
    assert int((g.degree == 0).sum()) >= 10
    for name in SAMPLERS:
        kw = {"fanouts": (2, 2)} if name == "sage" else {}
        records = list(iter_train(g, make_sampler(name, g, 8, **kw), 4, hidden=8, eval_every=2))
        assert all(math.isfinite(r["loss"]) for r in records), name


@pytest.mark.parametrize("call, names", [
    (lambda g: make_sampler("uniform", g, 0), ("batch_size",)),
    (lambda g: make_sampler("mvs", g, len(g.train_idx) + 1), ("batch_size",)),
    (lambda g: make_sampler("sage", g, 10, fanouts=(0, 5)), ("fanouts",)),
    (lambda g: make_sampler("sage", g, 10, fanouts=(5,)), ("fanouts",)),
    (lambda g: make_sampler("graphsage", g, 10), ("name",)),
    (lambda g: make_sampler("uniform", "cora", 10), ("graph",)),
    (lambda g: make_sampler("saint", g, 10, walk=0), ("walk",)),
    (lambda g: make_sampler("mvs", g, 10, refresh_every=0), ("refresh_every",)),
    (lambda g: make_sampler("mvs", g, 10, checkpoint_ratio=0.0), ("checkpoint_ratio",)),
    (lambda g: GCN(12, 4, dropout=1.0), ("dropout",)),
    (lambda g: list(iter_train(g, make_sampler("uniform", g, 10), 0)), ("steps",)),
    (lambda g: list(iter_train(g, make_sampler("uniform", g, 10), 3, exact_step_every=-1)), ("exact_step_every",)),
])
def test_bad_input_names_the_argument(graph, call, names):
    with pytest.raises((ValueError, TypeError)) as e:
        call(graph)
    assert_names(e.value, *names)


def test_on_the_fly_mvs_keeps_the_drawn_nodes_norms_of_the_last_step(graph):
    s = make_sampler("mvs", graph, 30, on_the_fly=True, refresh_every=1000)
    model = GCN(graph.X.shape[1], graph.num_classes, hidden=8, seed=1)
    list(iter_train(graph, s, 3, model=model, eval_every=3))
    # p stays MVS's for the updated norms (they sum to B); an update replaces the drawn nodes' norms only
    assert float(s.p.sum()) == pytest.approx(30, rel=1e-9) and bool((s.norms[s._chosen] > 0).all())
    before = s.norms.clone()
    s.update(s.sample(torch.Generator().manual_seed(5)), [], torch.full((len(s._chosen),), 7.0))
    assert bool((s.norms[s._chosen] == 7.0).all())
    untouched = torch.ones(len(before), dtype=torch.bool)
    untouched[s._chosen] = False
    assert torch.equal(s.norms[untouched], before[untouched])
    assert torch.allclose(s.p, mvs_probabilities(s.norms, 30))


def test_a_checkpoint_on_a_sample_draws_from_it_unbiasedly_with_fresh_histories(graph, trained):
    s = make_sampler("mvs", graph, 20, checkpoint_ratio=0.25, seed=3)
    s.refresh(trained, graph.X)
    inside = s.norms > 0
    assert int(inside.sum()) == round(0.25 * len(graph.train_idx)) and s._scale == int(inside.sum())
    assert float(s.p.sum()) == pytest.approx(20, rel=1e-9) and bool((s.p[~inside] == 0).all())
    trained.eval()
    gen = torch.Generator().manual_seed(4)
    with torch.no_grad():
        batch = s.sample(gen)
        assert bool(inside[s._chosen].all())  # only V_S is drawn from until the next refresh
        stale, _, _ = trained(graph.X, batch, s.history)
        fresh, _, _ = trained(graph.X, exact_minibatch(graph, batch.nodes, batch.weights, 2))
        assert torch.allclose(stale, fresh, atol=1e-5)  # V_S's neighbourhoods were refreshed too
        # the weighted loss estimates the mean loss over V_S: 400 draws, within 4 standard errors
        vs = graph.train_idx[inside]
        target = float(batch_loss(trained, graph.X, graph.y,
                                  exact_minibatch(graph, vs, torch.full((len(vs),), 1.0 / len(vs)), 2))[0])
        values = torch.tensor([float(batch_loss(trained, graph.X, graph.y, s.sample(gen), s.history)[0])
                               for _ in range(400)])
    trained.train()
    assert abs(float(values.mean()) - target) <= 4 * float(values.std()) / math.sqrt(400)
