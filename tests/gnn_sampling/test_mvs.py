"""Minimal-variance sampling: the probabilities sum to B and are optimal (checked against a numerical optimiser),
the importance-weighted estimate is unbiased with the variance the formula gives, bad input is named."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import assert_names
from workbench.gnn_sampling.mvs import (draw_batch, importance_weights, mvs_probabilities, sampling_variance,
                                        uniform_probabilities)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_probabilities_are_optimal_for_the_variance_on_a_small_example():
    # brute force: the convex program min Σ g²/p s.t. Σ p = B, p in [eps, 1] solved by SciPy's SLSQP from many
    # starts; the closed form must be at least as good (and SLSQP reaches it to its tolerance, 1e-9 relative)
    from scipy.optimize import minimize

    g = np.array([5.0, 3.0, 1.0, 0.8, 0.5, 0.1])
    B = 3
    p = mvs_probabilities(torch.tensor(g), B).numpy()
    assert p.sum() == pytest.approx(B, abs=1e-12)
    # μ = 2.4: the two norms above it are always in, the rest in proportion (1/2.4, 0.8/2.4, ...)
    assert p[0] == p[1] == 1.0 and p[2:] == pytest.approx(g[2:] / 2.4, rel=1e-12)
    objective = lambda q: float((g ** 2 / q).sum())  # noqa: E731
    rng = np.random.default_rng(0)
    best = math.inf
    for _ in range(20):
        start = rng.dirichlet(np.ones(len(g))) * B
        start = np.clip(start, 1e-3, 1.0)
        res = minimize(objective, start, method="SLSQP", bounds=[(1e-6, 1.0)] * len(g),
                       constraints=[{"type": "eq", "fun": lambda q: q.sum() - B}], options={"ftol": 1e-12})
        if res.success:
            best = min(best, res.fun)
    assert objective(p) <= best * (1 + 1e-9)
    assert objective(p) == pytest.approx(best, rel=1e-6)
    # and no random feasible point is better (the constraint set: Σ q = B, 0 < q <= 1)
    for _ in range(2000):
        q = np.clip(rng.dirichlet(np.ones(len(g))) * B, 1e-6, 1.0)
        q *= B / q.sum()
        if (q <= 1).all():
            assert objective(q) >= objective(p) - 1e-9


def test_uniform_norms_give_uniform_probabilities_and_large_norms_are_always_drawn():
    assert torch.allclose(mvs_probabilities(torch.ones(10), 4), uniform_probabilities(10, 4))
    p = mvs_probabilities(torch.tensor([100.0, 1.0, 1.0, 1.0, 1.0]), 2)
    assert p[0] == 1.0 and torch.allclose(p[1:], torch.full((4,), 0.25, dtype=torch.float64))
    # fewer positive norms than B: those are in, the zero ones share the rest (and stay drawable)
    p = mvs_probabilities(torch.tensor([2.0, 0.0, 0.0, 0.0]), 2)
    assert p.tolist() == [1.0, 1 / 3, 1 / 3, 1 / 3]


def test_the_importance_weighted_mean_is_unbiased_with_the_predicted_variance():
    # 20,000 Bernoulli batches of 3-D per-node "gradients": the mean estimate lands within 4 standard errors of the
    # true mean in every coordinate (a false alarm has probability ~1e-4), and the measured E‖ĝ − ḡ‖² within
    # 5 % of Σ‖g‖²(1/p − 1)/N² (its relative standard error over 20,000 draws is about 1 %)
    gen = _gen(1)
    sizes = torch.linspace(0.1, 4, 40, dtype=torch.float64)[:, None]
    G = torch.randn(40, 3, generator=gen, dtype=torch.float64) * sizes
    norms = G.norm(dim=1)
    for p in (mvs_probabilities(norms, 8), uniform_probabilities(40, 8)):
        draws = 20_000
        est = torch.empty(draws, 3, dtype=torch.float64)
        for t in range(draws):
            batch = draw_batch(p, gen)
            est[t] = (importance_weights(p, batch)[:, None] * G[batch]).sum(0)
        mean = G.mean(0)
        se = est.std(0) / math.sqrt(draws)
        assert bool(((est.mean(0) - mean).abs() <= 4 * se).all())
        measured = float(((est - mean) ** 2).sum(1).mean())
        assert measured == pytest.approx(sampling_variance(norms, p), rel=0.05)
    assert sampling_variance(norms, mvs_probabilities(norms, 8)) < sampling_variance(norms,
                                                                                 uniform_probabilities(40, 8))


@settings(deadline=None, max_examples=60)
@given(st.lists(st.floats(0, 1e6, allow_subnormal=False), min_size=1, max_size=60), st.data())
def test_probabilities_sum_to_b_lie_in_0_1_and_never_lose_to_uniform(values, data):
    norms = torch.tensor(values, dtype=torch.float64)
    B = data.draw(st.integers(1, len(values)))
    p = mvs_probabilities(norms, B)
    assert float(p.sum()) == pytest.approx(B, rel=1e-9)
    assert bool(((p >= 0) & (p <= 1)).all())
    # p_i grows with the norm (a larger gradient is never drawn less often)
    order = norms.argsort()
    assert bool((p[order].diff() >= -1e-12).all())
    v_mvs, v_uni = sampling_variance(norms, p), sampling_variance(norms, uniform_probabilities(len(values), B))
    assert v_mvs <= v_uni * (1 + 1e-9) + 1e-300


@pytest.mark.parametrize("call, names", [
    (lambda: mvs_probabilities(torch.ones(5), 0), ("batch_size",)),
    (lambda: mvs_probabilities(torch.ones(5), 6), ("batch_size",)),
    (lambda: mvs_probabilities(torch.ones(5), 2.5), ("batch_size",)),
    (lambda: mvs_probabilities(torch.tensor([1.0, -1.0]), 1), ("norms",)),
    (lambda: mvs_probabilities(torch.tensor([1.0, math.nan]), 1), ("norms",)),
    (lambda: mvs_probabilities(torch.ones(2, 2), 1), ("norms",)),
    (lambda: mvs_probabilities([1.0, 2.0], 1), ("norms",)),
    (lambda: mvs_probabilities(torch.ones(3, dtype=torch.int64), 1), ("norms",)),
    (lambda: uniform_probabilities(0, 1), ("n",)),
    (lambda: draw_batch(torch.tensor([0.5, 1.5])), ("p",)),
    (lambda: sampling_variance(torch.ones(2), torch.tensor([0.0, 1.0])), ("p",)),
    (lambda: importance_weights(torch.ones(3, dtype=torch.float64), torch.tensor([3])), ("batch",)),
    (lambda: importance_weights(torch.ones(3, dtype=torch.float64), torch.tensor([0]), scale=0), ("scale",)),
])
def test_bad_input_names_the_argument(call, names):
    with pytest.raises((ValueError, TypeError)) as e:
        call()
    assert_names(e.value, *names)
