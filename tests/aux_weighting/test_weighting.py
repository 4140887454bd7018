"""The weighting model receives a true meta-gradient: non-zero, equal to finite differences of the look-ahead's
target loss, and absent when the look-ahead is an in-place optimizer step (the released code's)."""

import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import assert_names
from workbench.aux_weighting.tasks import AUXILIARY, TASKS, MultiTaskGNN, check_tasks, draw, prepare
from workbench.aux_weighting.weighting import (WeightNet, gradient_cosines, lookahead_target_loss, meta_gradient,
                                               rescale_auxiliary, weighted_loss)
from workbench.graphs import GraphDataset


def small_graph(n: int = 60, seed: int = 0) -> GraphDataset:
    """Two communities of ``n / 2`` nodes, denser inside; features: a noisy community indicator."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    p = np.where(y[:, None] == y[None, :], 0.2, 0.03)
    upper = np.triu(rng.random((n, n)) < p, 1)
    graph = (upper | upper.T).astype(np.float32)
    X = np.abs(rng.normal(size=(n, 6)) + y[:, None] * np.array([1, 0, 1, 0, 1, 0]))
    order = rng.permutation(n)
    return GraphDataset("small", X, y, order[:20], order[20:40], order[40:], graph)


@pytest.fixture(scope="module")
def setting():
    graph = prepare(small_graph()).astype(torch.float64)
    model = MultiTaskGNN(graph, hidden=8, seed=0).double()
    model.eval()  # no dropout: the look-ahead is a deterministic function of phi
    net = WeightNet(hidden=16, seed=1).double()
    d = draw(graph, torch.Generator().manual_seed(0), target=graph.train_idx[:12], pairs=40, mask=20, nodes=30)
    return graph, model, net, d, graph.train_idx[12:]


@pytest.mark.parametrize("options", [{}, {"learn_target": False, "auxiliary_mean": 0.5}])
def test_the_weighting_model_gets_a_meta_gradient_equal_to_finite_differences(setting, options):
    """As the paper has it (every weight from V), and as the full run trains it (the target's weight 1, the
    auxiliary weights rescaled to a fixed mean: the rescaling is differentiated through too)."""
    graph, model, net, d, held_out = setting
    net = WeightNet(hidden=16, seed=1, **options).double()
    cosines = gradient_cosines(model, model(graph, d))
    loss, grads = meta_gradient(model, net, graph, d, held_out, lr=0.5, cosines=cosines)
    flat = torch.cat([g.reshape(-1) for g in grads])
    assert float(flat.norm()) > 1e-8  # it flows
    params = list(net.parameters())
    gen = torch.Generator().manual_seed(2)
    for _ in range(3):  # random directions u: (L(phi + eps u) - L(phi - eps u)) / 2 eps = grad . u
        u = [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in params]
        eps = 1e-5
        values = []
        for sign in (1, -1):
            moved = copy.deepcopy(net)
            with torch.no_grad():
                for p, du in zip(moved.parameters(), u):
                    p += sign * eps * du
            values.append(float(lookahead_target_loss(model, moved, graph, d, held_out, 0.5, cosines).detach()))
        finite = (values[0] - values[1]) / (2 * eps)
        exact = float(sum((g * du).sum() for g, du in zip(grads, u)))
        # central differences in float64: error O(eps^2) plus rounding ~1e-16 / eps; a 1e-4 relative bound is
        # far above both, and far below what a missing or wrong term would give
        assert finite == pytest.approx(exact, rel=1e-4, abs=1e-10)


def test_an_in_place_look_ahead_gives_the_weighting_model_no_gradient(setting):
    """What the authors' scripts do: copy the model, ``optimizer.step()`` on the weighted loss, evaluate the target
    there. The step writes into leaf tensors without a graph, so the target loss never reaches phi."""
    graph, model, net, d, held_out = setting
    copied = copy.deepcopy(model)
    optimizer = torch.optim.SGD(copied.parameters(), lr=0.5)
    losses = copied(graph, d)
    weighted_loss(losses, net.weights(losses, gradient_cosines(copied, losses))).backward()
    optimizer.step()
    net.zero_grad(set_to_none=True)  # the step's own backward filled them; the meta-loss is what counts
    meta = torch.nn.functional.cross_entropy(copied(graph, method="logits")[held_out], graph.y[held_out])
    meta.backward()
    assert all(p.grad is None for p in net.parameters())  # no path from the target loss back to phi
    # while the differentiable look-ahead at the same point does reach it
    _, grads = meta_gradient(model, net, graph, d, held_out, lr=0.5)
    assert float(torch.cat([g.reshape(-1) for g in grads]).norm()) > 1e-8


@settings(deadline=None, max_examples=40)
@given(st.lists(st.sampled_from(TASKS), min_size=1, max_size=5, unique=True), st.data())
def test_weights_lie_in_zero_one_and_the_loss_is_their_weighted_mean(tasks, data):
    losses = {t: torch.tensor(data.draw(st.lists(st.floats(0, 50), min_size=1, max_size=20)), dtype=torch.float64)
              for t in tasks}
    cosines = {t: data.draw(st.floats(-1, 1)) for t in tasks}
    net = WeightNet(hidden=8, seed=data.draw(st.integers(0, 50))).double()
    weights = net.weights(losses, cosines)
    for t in tasks:
        assert weights[t].shape == losses[t].shape and bool(((weights[t] > 0) & (weights[t] < 1)).all())
    expected = sum(float((weights[t] * losses[t]).sum()) / len(losses[t]) for t in tasks)
    assert float(weighted_loss(losses, weights)) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert float(weighted_loss(losses)) == pytest.approx(sum(float(losses[t].mean()) for t in tasks), rel=1e-9)


@settings(deadline=None, max_examples=60)
@given(st.lists(st.sampled_from(AUXILIARY), min_size=1, max_size=4, unique=True), st.floats(0.01, 10), st.data())
def test_rescaled_auxiliary_weights_have_the_chosen_mean_and_keep_their_ratios(tasks, mean, data):
    weights = {t: torch.tensor(data.draw(st.lists(st.floats(1e-3, 1), min_size=1, max_size=8)), dtype=torch.float64)
               for t in ("target", *tasks)}
    out = rescale_auxiliary(weights, mean)
    assert torch.equal(out["target"], weights["target"])  # the target is never rescaled
    assert float(sum(out[t].mean() for t in tasks)) / len(tasks) == pytest.approx(mean, rel=1e-9)
    factors = torch.cat([out[t] / weights[t] for t in tasks])  # one factor for every auxiliary example
    assert float(factors.max() - factors.min()) <= 1e-9 * float(factors.max())


def test_a_weighting_model_that_does_not_learn_the_target_gives_it_weight_one():
    losses = {"target": torch.rand(5), "link": torch.rand(7)}
    w = WeightNet(hidden=4, learn_target=False, auxiliary_mean=0.3).weights(losses, {"link": 0.2})
    assert torch.equal(w["target"], torch.ones(5)) and float(w["link"].mean()) == pytest.approx(0.3, rel=1e-6)


def test_the_sparse_encoder_equals_the_dense_formula(setting):
    """``embed`` multiplies ``X`` as a sparse matrix and zeroes masked rows after ``X W``: the same numbers as
    ``ReLU(Â (X' W + b))`` with the masked rows of a dense ``X'`` zeroed first (float64, no dropout)."""
    graph, model, *_ = setting
    masked = torch.tensor([0, 5, 7])
    X = graph.X.clone()
    X[masked] = 0.0
    first, second = model.encoder
    h = torch.relu(graph.a_hat @ first(X))
    dense = torch.relu(graph.a_hat @ second(h))
    assert torch.allclose(model.embed(graph, masked), dense, rtol=1e-12, atol=1e-12)


def test_few_labels_keep_that_many_training_nodes_per_class():
    data = small_graph(80, seed=3)
    graph = prepare(data, seed=4, labels_per_class=3)
    y = torch.as_tensor(data.y)
    assert torch.bincount(y[graph.train_idx]).tolist() == [3, 3]
    assert set(graph.train_idx.tolist()) <= set(data.train_idx.tolist())
    assert torch.equal(graph.val_idx, torch.as_tensor(data.val_idx))
    fewest = int(torch.bincount(y[torch.as_tensor(data.train_idx)]).min())
    with pytest.raises(ValueError, match="labels_per_class"):
        prepare(data, labels_per_class=fewest + 1)


def test_gradient_cosines_are_cosines(setting):
    graph, model, _, d, _ = setting
    cos = gradient_cosines(model, model(graph, d))
    assert cos["target"] == 1.0 and set(cos) == {"target", *AUXILIARY}
    assert all(-1 - 1e-12 <= c <= 1 + 1e-12 for c in cos.values())


@pytest.mark.parametrize("call, names", [
    (lambda s: check_tasks([]), ("tasks",)),
    (lambda s: check_tasks(["link", "pagerank"]), ("tasks",)),
    (lambda s: check_tasks("link"), ("tasks",)),
    (lambda s: MultiTaskGNN(s[0], tasks=("colour",)), ("tasks",)),
    (lambda s: draw(s[0], torch.Generator(), target=torch.tensor([], dtype=torch.int64)), ("target",)),
    (lambda s: lookahead_target_loss(s[1], s[2], s[0], s[3], torch.tensor([], dtype=torch.int64), 0.1),
     ("held_out",)),
    (lambda s: lookahead_target_loss(s[1], s[2], s[0], s[3], s[4], float("nan")), ("lr",)),
    (lambda s: weighted_loss({}), ("losses",)),
    (lambda s: prepare("cora"), ("data",)),
    (lambda s: rescale_auxiliary({"target": torch.ones(2)}, 1.0), ("weights",)),
    (lambda s: rescale_auxiliary({"link": torch.zeros(2)}, 1.0), ("weights",)),
    (lambda s: rescale_auxiliary({"link": torch.ones(2)}, -1.0), ("mean",)),
    (lambda s: WeightNet(auxiliary_mean=0.0), ("auxiliary_mean",)),
])
def test_bad_input_names_the_argument(setting, call, names):
    with pytest.raises((ValueError, TypeError)) as e:
        call(setting)
    assert_names(e.value, *names)
