import numpy as np
import pytest
import torch

from workbench.structure_learning import (
    LDS, AdamState, hyper_step, init_gcn, load_planetoid, load_table, normalize_adjacency, project, remove_edges,
    sample_graph, symmetric,
)


def tiny_problem(n=7, d=3, c=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.arange(n) % c
    theta = project(torch.rand(n, n, generator=g, dtype=torch.float64) * 0.8 + 0.1)
    w = [wi.double() for wi in init_gcn(d, c, hidden=4, generator=g)]
    return x, y, theta, w


def test_hypergradient_matches_finite_differences():
    """Deterministic relaxation (expected graph, no dropout): d F_val(w_tau(theta), theta) / d theta by
    central differences, tau = 3 Adam steps, float64. Central differences have O(h^2) error; with
    h = 1e-5 the agreement is ~1e-8 relative, so 1e-5 is a safe bound that still catches any missing term."""
    x, y, theta, w = tiny_problem()
    train, val = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5, 6])
    kw = dict(tau=3, lr=0.05, weight_decay=5e-4, sample=False)
    step = hyper_step(theta, w, AdamState.zeros_like(w), x, y, train, val, **kw)
    h = 1e-5
    for i, j in [(0, 1), (2, 5), (3, 6), (1, 4)]:
        plus, minus = theta.clone(), theta.clone()
        plus[i, j] += h
        minus[i, j] -= h
        fp = hyper_step(plus, w, AdamState.zeros_like(w), x, y, train, val, **kw).val_loss
        fm = hyper_step(minus, w, AdamState.zeros_like(w), x, y, train, val, **kw).val_loss
        fd = (fp - fm) / (2 * h)
        assert abs(step.hypergradient[i, j].item() - fd) <= 1e-5 * max(1.0, abs(fd)), (i, j)
    assert torch.all(step.hypergradient.tril() == 0)  # only the strict upper triangle is a parameter


def _dense_reference_hyper_step(theta, w, x, y, train, val, tau, lr, generator):
    """The same step written the plain way: dense straight-through samples that require a gradient, and
    autograd through everything (O(N^2) intermediates). It draws the same random numbers in the same order
    as ``hyper_step`` (graph, then dropout, per step), so both see the same graphs and masks."""
    from workbench.structure_learning import adam_step, gcn_forward
    from workbench.structure_learning.bilevel import inner_loss
    from workbench.structure_learning.sampler import EdgeSampler

    theta = theta.detach().requires_grad_(True)
    sampler, probs = EdgeSampler(theta), symmetric(theta)

    def draw():
        a = sampler.sample(generator).to_dense()
        return normalize_adjacency(a + (probs - probs.detach()))

    st = AdamState.zeros_like(w)
    w = [wi.detach().requires_grad_(True) for wi in w]
    for _ in range(tau):
        loss = inner_loss(w, x, draw(), y, train, weight_decay=5e-4, dropout=0.5, generator=generator)
        w, st = adam_step(w, torch.autograd.grad(loss, w, create_graph=True), st, lr)
    val_loss = torch.nn.functional.cross_entropy(gcn_forward(w, x, draw())[val], y[val])
    return torch.autograd.grad(val_loss, theta)[0].triu(1)


def test_sampled_hypergradient_equals_dense_autograd():
    """With sampled graphs and dropout, the taped low-rank hypergradient equals plain dense autograd through
    the same samples; both are exact float64 computations of one quantity, so they agree to rounding."""
    x, y, theta, w = tiny_problem(n=12, d=5, c=3, seed=2)
    train, val = torch.tensor([0, 1, 2, 3]), torch.tensor([4, 5, 6, 7, 8])
    step = hyper_step(theta, w, AdamState.zeros_like(w), x, y, train, val, tau=3, lr=0.05,
                      generator=torch.Generator().manual_seed(5))
    ref = _dense_reference_hyper_step(theta, w, x, y, train, val, 3, 0.05, torch.Generator().manual_seed(5))
    assert ref.abs().max() > 1e-3  # a real signal, not two zeros
    assert torch.allclose(step.hypergradient, ref, rtol=1e-9, atol=1e-12)


def test_sampler_values_and_straight_through_gradient():
    g = torch.Generator().manual_seed(0)
    theta = project(torch.rand(6, 6, generator=g)).requires_grad_(True)
    a = sample_graph(theta, g)
    assert torch.equal(a.detach(), a.detach().T) and torch.all(a.detach().diagonal() == 0)
    assert set(a.detach().unique().tolist()) <= {0.0, 1.0}
    c = torch.randn(6, 6, generator=g)
    (a * c).sum().backward()
    # straight-through: d/dtheta_ij = c_ij + c_ji on the strict upper triangle, 0 elsewhere
    assert torch.allclose(theta.grad, (c + c.T).triu(1))


def test_sampler_is_bernoulli_theta():
    """Edge frequencies over 4000 samples equal theta within 5 binomial standard errors."""
    g = torch.Generator().manual_seed(1)
    theta = project(torch.rand(5, 5, generator=g))
    freq = sum(sample_graph(theta, g, straight_through=False) for _ in range(4000)) / 4000
    p = symmetric(theta)
    assert torch.all((freq - p).abs() <= 5 * (p * (1 - p) / 4000).sqrt() + 1e-9)


def test_normalized_adjacency_dense_equals_sparse():
    a = (torch.rand(6, 6) > 0.5).float().triu(1)
    a = a + a.T
    dense = normalize_adjacency(a)
    assert torch.allclose(dense, normalize_adjacency(a.to_sparse()).to_dense())
    d = (a + torch.eye(6)).sum(1)
    assert torch.allclose(dense, (a + torch.eye(6)) / torch.sqrt(d[:, None] * d[None, :]))


def test_table_splits_follow_the_paper():
    d = load_table("wine", seed=3)
    assert len(d.train_idx) == 10 and len(d.val_idx) == 20
    assert len(set(d.train_idx) | set(d.val_idx) | set(d.test_idx)) == len(d.y) == 178
    assert np.allclose(d.X.mean(0), 0, atol=1e-9) and np.allclose(d.X.std(0), 1)
    digits = load_table("digits", seed=0)  # 50 / 100 / rest; pixel counts / 16, so cosine kNN is unchanged
    assert digits.X.min() == 0 and digits.X.max() == 1
    assert len(digits.train_idx) == 50 and len(digits.val_idx) == 100 and len(digits.test_idx) == 1797 - 150


def test_planetoid_cora_has_the_standard_split():
    d = load_planetoid("cora")
    assert d.X.shape == (2708, 1433) and len(set(d.y.tolist())) == 7
    assert (len(d.train_idx), len(d.val_idx), len(d.test_idx)) == (140, 500, 1000)
    assert d.graph.shape == (2708, 2708) and np.array_equal(d.graph, d.graph.T)
    assert int(np.triu(d.graph, 1).sum()) == 5278  # Cora's undirected edges without self-loops
    half = remove_edges(d.graph, 0.5, seed=0)
    assert abs(np.triu(half, 1).sum() / 5278 - 0.5) < 0.03  # binomial(5278, 0.5): sd 0.007


def test_knn_lds_beats_logreg_on_wine():
    """One seed, short schedule: kNN-LDS should classify Wine well above chance (3 classes) and at least
    as well as 90 %; the paper reports 97.3 (full schedule, 5 seeds)."""
    d = load_table("wine", seed=0)
    m = LDS(k=20, seed=0, max_inner_steps=200, max_outer=8, patience=4).fit(d.X, d.y, d.train_idx, d.val_idx)
    acc = float((m.predict().numpy()[d.test_idx] == d.y[d.test_idx]).mean())
    assert acc >= 0.90
    p = m.edge_probs_
    assert torch.equal(p, p.T) and float(p.min()) >= 0 and float(p.max()) <= 1


@pytest.mark.parametrize(
    "change,match",
    [
        (lambda a: a.update(y=np.where(np.arange(178) == a["train_idx"][0], -1, a["y"])), "labels missing"),
        (lambda a: a.update(X=np.where(np.arange(178)[:, None] == 5, np.nan, a["X"])), "X: contains NaN"),
        (lambda a: a.update(graph=np.zeros((10, 10))), "graph: expected an adjacency of shape"),
        (lambda a: a.update(k=178), "k: expected 1 <= k < number of nodes"),
        (lambda a: a.update(y=a["y"][:-1]), "y: expected 178 labels"),
        (lambda a: a.update(train_idx=np.array([500])), "train_idx: expected indices"),
    ],
)
def test_bad_input_is_named(change, match):
    d = load_table("wine", seed=0)
    args = dict(X=d.X, y=d.y, train_idx=d.train_idx, val_idx=d.val_idx, graph=None, k=10)
    change(args)
    k = args.pop("k")
    with pytest.raises(ValueError, match=match):
        LDS(k=k, max_outer=1).fit(**args)


def _tiny_graph_problem(n=8):
    rng = np.random.default_rng(0)
    return dict(X=rng.normal(size=(n, 3)), y=np.arange(n) % 2, train_idx=[0, 1], val_idx=[2, 3, 4, 5])


@pytest.mark.timeout(60)  # tau <= 0 used to loop forever
@pytest.mark.parametrize("setting", [dict(tau=0), dict(tau=-1), dict(max_outer=0), dict(n_samples=0),
                                     dict(max_inner_steps=0), dict(outer_lr=float("nan")), dict(inner_lr=-0.1),
                                     dict(dropout=1.0), dict(patience=0)])
def test_lds_settings_are_checked(setting):
    (name, value), = setting.items()
    with pytest.raises(ValueError, match=f"{name}: expected .* got {value}"):
        LDS(k=2, **setting).fit(**_tiny_graph_problem())


@pytest.mark.parametrize("change, error, match", [
    (dict(graph=np.where(np.eye(8) == 1, np.nan, 1.0)), ValueError,
     r"graph: expected finite edge weights >= 0, got nan"),
    (dict(graph=-np.ones((8, 8))), ValueError, r"graph: expected finite edge weights >= 0, got -1.0"),
    (dict(y=np.array([0, 1, 0, 1, 0, 1, 0.5, 1])), ValueError, r"y: expected integer class labels .* 0.5 at node 6"),
    (dict(train_idx=[0.5, 1]), TypeError, r"train_idx: expected integer node indices"),
    (dict(val_idx=np.array([True, False])), TypeError, r"val_idx: .*boolean mask"),
    (dict(val_idx=[2]), ValueError, r"val_idx: expected at least 2 nodes"),
])
def test_lds_fit_input_is_checked(change, error, match):
    """NaN in the graph used to come back as NaN edge probabilities, and 0.5 as class 0."""
    with pytest.raises(error, match=match):
        LDS(k=2, max_outer=1, max_inner_steps=1).fit(**{**_tiny_graph_problem(), **change})


def test_lds_divergence_is_an_error_not_nan_probabilities():
    with pytest.raises(ValueError, match="inner_lr, weight_decay: .* non-finite"):
        LDS(k=2, tau=2, max_outer=2, max_inner_steps=4, n_samples=2, inner_lr=1e30).fit(**_tiny_graph_problem())
