"""The shipped hybrid: the book features of its candidate prices, what it stores and learns from, its initial
weights and the shipped weights, its errors."""

import numpy as np
import pytest
import torch

from workbench.execution.candidates import (
    N_CANDIDATE_FEATURES, candidate_features, opposite_depth_taken, scope_distance,
)
from workbench.execution.env import N_FEATURES, ExecutionEnv
from workbench.execution.hybrid import HybridPolicy
from workbench.execution.policies import weights_path
from workbench.execution.ppo import rollout
from tests.execution.episodes import make_env, train_window_head


@pytest.mark.parametrize("side", [-1, 1])
def test_candidate_features_read_the_book_at_each_price(day, side):
    env = make_env(day, side)
    i, tick, near = env.index, env.tick, env.near_touch
    ticks = list(range(-4, 5))
    feats = candidate_features(env, ticks)
    assert feats.shape == (9, N_CANDIDATE_FEATURES)
    opposite = day.best(i, -side)
    slice_ = 1000 / 3
    for j, k in enumerate(ticks):
        p = near - side * k * tick
        crosses = p <= opposite if side == -1 else p >= opposite
        assert feats[j, 0] == float(crosses)
        # queue at the price, from the replayed book (0 inside the spread); depth strictly in front of it
        assert feats[j, 1] == pytest.approx(np.log1p(day.volume_at(i, side, p) / slice_) / 5, rel=1e-6)
        prices, sizes = day.side_levels(i, side)
        front = sizes[prices < p].sum() if side == -1 else sizes[prices > p].sum()
        assert feats[j, 2] == pytest.approx(np.log1p(front / slice_) / 5, rel=1e-6)
        assert feats[j, 3] == pytest.approx(k / 10)
    assert feats[ticks.index(0), 1] > 0 and feats[ticks.index(0), 2] == 0  # the near touch: a queue, none in front


@pytest.mark.parametrize("side", [-1, 1])
def test_opposite_depth_taken_is_what_a_marketable_limit_sweeps(day, side):
    env = make_env(day, side)
    i, tick, near = env.index, env.tick, env.near_touch
    spread = int(round(env.spread_ticks))
    ticks = list(range(-spread - 3, 3))
    taken = opposite_depth_taken(env, ticks)
    prices, sizes = day.side_levels(i, -side)
    slice_ = 1000 / 3
    for j, k in enumerate(ticks):
        p = near - side * k * tick
        q = sizes[prices >= p].sum() if side == -1 else sizes[prices <= p].sum()
        assert taken[j] == pytest.approx(np.log1p(q / slice_) / 5, rel=1e-6)
    # nothing until the price reaches the opposite touch, then its whole first level, then more the deeper it goes
    assert np.all(taken[ticks.index(-spread) + 1:] == 0)
    at_touch = taken[ticks.index(-spread)]
    assert at_touch > 0 and at_touch == pytest.approx(np.log1p(sizes[0] / slice_) / 5, rel=1e-6)
    assert np.all(np.diff(taken) <= 0) and taken[0] > taken[ticks.index(-spread)]


def test_hybrid_stores_its_candidates_features_then_the_what_if_values(day):
    env = ExecutionEnv(day, side=-1, volume=1000, steps=3, step_seconds=10.0, reward="markout")
    torch.manual_seed(0)
    policy = HybridPolicy(hidden=8)
    f = N_CANDIDATE_FEATURES + 2
    obs, raws, rewards, _ = rollout(policy, env, greedy=False, seed=0)
    raw = torch.stack(raws)
    assert raw.shape == (3, 2 + 7 * f + 7 + 1 + 7 * N_FEATURES)
    # the taken tick's what-if value is the reward the step paid, and the last step is flagged
    values = raw[:, 2 + 7 * f:2 + 7 * f + 7]
    taken = values.gather(1, raw[:, 1:2].long()).squeeze(1)
    torch.testing.assert_close(taken, torch.tensor(rewards, dtype=torch.float32))
    assert raw[:, 2 + 7 * f + 7].tolist() == [0.0, 0.0, 1.0]
    o = torch.as_tensor(np.stack(obs), dtype=torch.float32)
    loss = policy.auxiliary_loss(o, raw, None)
    loss.backward()
    assert torch.isfinite(loss) and any(p.grad is not None and p.grad.abs().sum() > 0
                                        for p in policy.price_score.parameters())


def test_scope_distance_is_in_units_of_the_scale(day):
    env = make_env(day)
    ticks = [-2, 0, 3]
    d = scope_distance(env, ticks, 0.5, 4.0)  # the scope sits 2 bps from the near touch
    np.testing.assert_allclose(d, [(k * env.ticks_to_bps(1) - 2.0) / 4.0 for k in ticks], rtol=1e-6)
    with pytest.raises(ValueError, match="scale_bps.*0"):
        scope_distance(env, ticks, 0.5, 0.0)


def test_hybrid_features_are_the_book_the_scope_distance_and_the_depth_taken(day):
    policy = HybridPolicy(hidden=8)
    env = make_env(day)
    policy.bind(env)
    ticks, u = list(range(-3, 4)), -0.3
    feats = policy.features(ticks, u)
    assert feats.shape == (7, policy.n_candidate_features) == (7, N_CANDIDATE_FEATURES + 2)
    np.testing.assert_array_equal(feats[:, :N_CANDIDATE_FEATURES], candidate_features(env, ticks))
    np.testing.assert_array_equal(feats[:, -2], scope_distance(env, ticks, u, policy.scale_bps))
    np.testing.assert_array_equal(feats[:, -1], opposite_depth_taken(env, ticks))


def test_hybrid_scores_candidates_by_their_features_not_their_position(day):
    torch.manual_seed(0)
    policy = HybridPolicy(hidden=8)
    obs, raws, _, _ = rollout(policy, make_env(day), greedy=True, seed=0)
    f = policy.n_candidate_features
    raw, o = torch.stack(raws), torch.as_tensor(np.stack(obs), dtype=torch.float32)
    assert raw.shape == (3, 2 + 7 * f)  # greedy: u, the window index and the candidates' features
    perm = torch.tensor([3, 0, 6, 1, 5, 2, 4])
    permuted = torch.cat([raw[:, :2], raw[:, 2:].reshape(3, 7, f)[:, perm].reshape(3, -1)], 1)
    p = policy.window_distribution(o, raw).probs
    torch.testing.assert_close(policy.window_distribution(o, permuted).probs, p[:, perm])
    # greedy takes the best-scored candidate
    assert torch.equal(raw[:, 1].long(), p.argmax(-1))


def test_hybrid_log_probability_is_the_scope_alone_and_its_entropy_both_heads(day):
    torch.manual_seed(0)
    policy = HybridPolicy(hidden=8, disc_entropy_weight=2.5)
    obs, raws, _, _ = rollout(policy, make_env(day, reward="markout"), greedy=False, seed=1)
    raw, o = torch.stack(raws), torch.as_tensor(np.stack(obs), dtype=torch.float32)
    logp, entropy = policy.distribution(o, raw)
    scope = policy.scope(o)
    torch.testing.assert_close(logp, scope.log_prob(raw[:, 0]))
    torch.testing.assert_close(entropy, scope.entropy() + 2.5 * policy.window_distribution(o, raw).entropy())


def test_hybrid_head_moves_to_the_window_price_with_the_best_what_if_value():
    """A fixed batch of last steps (so Q = r) where the candidate 2 ticks past the centre is always worth 0.3 bps more:
    steps on the counterfactual loss alone carry the price head to it (it tells the candidates apart by their
    features, the offset among them)."""
    torch.manual_seed(0)
    policy = HybridPolicy(hidden=16)
    n, width, f = 64, 7, policy.n_candidate_features
    obs = torch.randn(n, N_FEATURES)
    feats = torch.randn(n, width, f)
    feats[:, :, 3] = torch.arange(-3, 4) / 10  # the offset in ticks / 10, as candidate_features has it
    values = 0.01 * torch.randn(n, width)
    values[:, 5] += 0.3
    raw = torch.cat([torch.randn(n, 1), torch.zeros(n, 1), feats.reshape(n, -1), values, torch.ones(n, 1),
                     torch.zeros(n, width * N_FEATURES)], 1)
    start, end = train_window_head(policy, policy.price_score.parameters(), obs, raw, 5)
    assert start < 0.3 and end > 0.9, (start, end)


def test_a_seeded_hybrid_starts_from_the_weights_of_the_hybrid_as_it_was_found():
    """The shipped hybrid was found as the research price-scoring variant with two more features; built after the
    same seed, the self-contained class draws the same initial weights (so seeded trainings repeat)."""
    from workbench.execution.research import HybridPricePolicy

    class AsFound(HybridPricePolicy):
        n_candidate_features = N_CANDIDATE_FEATURES + 2

    torch.manual_seed(0)
    found = AsFound(hidden=8).state_dict()
    torch.manual_seed(0)
    shipped = HybridPolicy(hidden=8).state_dict()
    assert list(found) == list(shipped)
    assert all(torch.equal(found[k], shipped[k]) for k in found)
    assert not any(c.__module__.startswith("workbench.execution.research") for c in HybridPolicy.__mro__)


def test_the_shipped_weights_load_into_the_hybrid_unchanged(day):
    state = torch.load(weights_path("hybrid"), map_location="cpu", weights_only=True)
    policy = HybridPolicy()
    own = policy.state_dict()
    assert list(state) == list(own)
    assert all(state[k].shape == own[k].shape and state[k].dtype == own[k].dtype for k in own)
    policy.load_state_dict(state)  # strict
    env = make_env(day)
    _, _, _, info = rollout(policy.eval(), env, greedy=True, options={"day": 0, "start": day.session_start})
    assert info["executed"] == 1000 and all(e["ticks"] == e["centre"] + e["k"] for e in env.log.extras)


def test_hybrid_rejects_bad_arguments_and_an_unbound_sample():
    for kwargs, match in [({"window": 2.5}, "window.*2.5"), ({"scale_bps": 0.0}, "scale_bps.*0.0"),
                          ({"cf_coef": -1.0}, "cf_coef.*-1.0"), ({"disc_entropy_weight": -2.0}, "disc_entropy_weight")]:
        with pytest.raises(ValueError, match=match):
            HybridPolicy(**kwargs)
    with pytest.raises(RuntimeError, match="bind"):
        HybridPolicy(hidden=8).sample(torch.zeros(1, N_FEATURES), greedy=True)
