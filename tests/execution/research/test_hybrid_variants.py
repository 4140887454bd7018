"""The hybrid's head variants: entropy weighting, the epsilon-greedy Q head and its loss, the book features, the
price-scoring head."""

import numpy as np
import pytest
import torch

from workbench.execution.candidates import N_CANDIDATE_FEATURES, candidate_features
from workbench.execution.env import N_FEATURES, ExecutionEnv
from workbench.execution.experiments import reproduce
from workbench.execution.research.hybrid_variants import (
    VARIANTS, HybridBookPolicy, HybridCounterfactualPolicy, HybridEntropyPolicy, HybridPricePolicy, HybridQPolicy,
)
from workbench.execution.ppo import PPOConfig, rollout, train
from tests.execution.episodes import make_env, train_window_head


def test_entropy_variant_weights_only_the_discrete_heads_entropy():
    torch.manual_seed(0)
    policy = HybridEntropyPolicy(disc_entropy_weight=7.0, hidden=8)
    obs = torch.randn(5, N_FEATURES)
    raw = policy.sample(obs, greedy=False)
    logp, entropy = policy.distribution(obs, raw)
    u = raw[:, 0]
    cont = torch.distributions.Normal(policy.mean(obs).squeeze(-1), policy.log_std.exp())
    disc = torch.distributions.Categorical(logits=policy.logits(torch.cat([obs, u[:, None]], 1)))
    torch.testing.assert_close(entropy, cont.entropy() + 7.0 * disc.entropy())
    torch.testing.assert_close(logp, cont.log_prob(u) + disc.log_prob(raw[:, 1].long()))
    with pytest.raises(ValueError, match="disc_entropy_weight"):
        HybridEntropyPolicy(disc_entropy_weight=-1.0)


def test_q_head_is_greedy_when_evaluated_and_uniform_when_epsilon_is_one():
    torch.manual_seed(1)
    obs = torch.randn(4000, N_FEATURES)
    greedy = HybridQPolicy(epsilon=0.0, hidden=8)
    raw = greedy.sample(obs, greedy=True)
    assert torch.equal(raw[:, 1].long(), greedy.q_values(obs, raw[:, 0]).argmax(-1))
    explore = HybridQPolicy(epsilon=1.0, hidden=8)
    counts = np.bincount(explore.sample(obs, greedy=False)[:, 1].long().numpy(), minlength=7)
    # 4,000 uniform draws over 7 ticks: each count is Binomial(4000, 1/7), sd ~22; 5 sd is never hit by chance
    assert np.all(np.abs(counts - 4000 / 7) < 5 * np.sqrt(4000 / 7 * 6 / 7)), counts
    # PPO's ratio sees only the continuous head: changing the tick leaves the log-probability alone
    other = raw.clone()
    other[:, 1] = (other[:, 1] + 1) % 7
    torch.testing.assert_close(greedy.distribution(obs, raw)[0], greedy.distribution(obs, other)[0])
    with pytest.raises(ValueError, match="epsilon"):
        HybridQPolicy(epsilon=1.5)


def train_briefly(policy_class, day):
    """32 PPO episodes of ``policy_class`` on the markout env; returns the env, the policy and whether its
    discrete head's weights (``logits``) moved."""
    env = ExecutionEnv(day, side=-1, volume=1000, steps=3, step_seconds=10.0, reward="markout")
    torch.manual_seed(0)
    policy = policy_class(hidden=8)
    before = [p.detach().clone() for p in policy.logits.parameters()]
    train(policy, env, PPOConfig(episodes=32, batch_episodes=16, epochs=2), seed=0)
    return env, policy, any(not torch.equal(a, b) for a, b in zip(before, policy.logits.parameters()))


def test_q_head_is_trained_by_the_auxiliary_loss_inside_ppo(day):
    env, policy, moved = train_briefly(HybridQPolicy, day)
    # the PPO terms never touch the Q network (its log-probability is the continuous head's alone), so only the
    # auxiliary regression on the returns can have moved its weights
    assert moved
    # and it moves them towards the returns: on a fixed batch, steps on the loss reduce it
    obs, raws, rewards, _ = rollout(policy, env, greedy=False, seed=3)
    o, r = torch.as_tensor(np.stack(obs), dtype=torch.float32), torch.stack(raws)
    target = torch.as_tensor(np.cumsum(rewards[::-1])[::-1].copy(), dtype=torch.float32)
    opt = torch.optim.Adam(policy.logits.parameters(), lr=1e-2)
    first = policy.auxiliary_loss(o, r, target).item()
    for _ in range(100):
        opt.zero_grad()
        policy.auxiliary_loss(o, r, target).backward()
        opt.step()
    assert policy.auxiliary_loss(o, r, target).item() < 0.1 * first


def test_book_variant_rescores_the_candidates_it_saw(day):
    torch.manual_seed(0)
    policy = HybridBookPolicy(hidden=8)
    env = make_env(day)
    with pytest.raises(RuntimeError, match="bind"):
        policy.sample(torch.zeros(1, N_FEATURES), greedy=True)
    obs, raws, _, info = rollout(policy, env, greedy=False, seed=0)
    raw = torch.stack(raws)
    assert raw.shape == (3, 2 + 7 * N_CANDIDATE_FEATURES) and "shortfall_bps" in info
    logp, _ = policy.distribution(torch.as_tensor(np.stack(obs), dtype=torch.float32), raw)
    assert torch.isfinite(logp).all()
    # the stored features decide the logits: different features, different probability of the same tick
    changed = raw.clone()
    changed[:, 2::N_CANDIDATE_FEATURES] = 1 - changed[:, 2::N_CANDIDATE_FEATURES]  # flip every "crosses" flag
    assert not torch.allclose(policy.distribution(torch.as_tensor(np.stack(obs), dtype=torch.float32), changed)[0],
                              logp)


def test_price_variant_scores_candidates_by_their_features_not_their_position(day):
    torch.manual_seed(0)
    policy = HybridPricePolicy(hidden=8)
    assert not hasattr(policy, "logits")  # no logit per window position
    env = make_env(day)
    obs, raws, _, info = rollout(policy, env, greedy=False, seed=0)
    f = N_CANDIDATE_FEATURES + 1
    raw = torch.stack(raws)
    assert raw.shape == (3, 2 + 7 * f) and "shortfall_bps" in info
    # the stored features: the book's, then the distance in bps from the scoped offset (scale * u), / scale
    policy.bind(env)
    env.reset(options={"day": 0, "start": day.session_start + 5.0})
    u, ticks = 0.37, list(range(-3, 4))
    feats = policy.features(ticks, u)
    np.testing.assert_array_equal(feats[:, :N_CANDIDATE_FEATURES], candidate_features(env, ticks))
    expected = [(k * env.ticks_to_bps(1) - policy.scale_bps * u) / policy.scale_bps for k in ticks]
    np.testing.assert_allclose(feats[:, -1], expected, rtol=1e-6)
    # equivariance: permuting the candidates permutes their probabilities (one shared scorer, no position bias)
    o = torch.as_tensor(np.stack(obs), dtype=torch.float32)
    perm = torch.tensor([3, 0, 6, 1, 5, 2, 4])
    stored = raw[:, 2:].reshape(3, 7, f)
    permuted = torch.cat([raw[:, :2], stored[:, perm].reshape(3, -1)], 1)
    p = policy.window_distribution(o, raw).probs
    torch.testing.assert_close(policy.window_distribution(o, permuted).probs, p[:, perm])
    assert p.std(-1).min() > 0  # and the scores do depend on the candidate


def test_reproduce_names_unknown_learners():
    with pytest.raises(ValueError, match="only: expected learned agents.*'nonsense'"):
        reproduce(quick=True, only=["hybrid", "nonsense"])
    with pytest.raises(TypeError, match="only: expected a list"):
        reproduce(quick=True, only="hybrid")


def test_anchored_and_staged_variants_start_on_the_scoped_tick():
    torch.manual_seed(0)
    obs = torch.randn(256, N_FEATURES)
    anchored, staged = VARIANTS["hybrid_anchored"](hidden=16), VARIANTS["hybrid_staged"](hidden=16)
    assert bool(anchored.joint) and not bool(staged.joint)  # anchored trains jointly from the start
    assert staged.scope_fraction == 0.5 and anchored.anchor == staged.anchor == 4.0
    for policy in (anchored, staged):
        with torch.no_grad():
            k = policy.sample(obs, greedy=True)[:, 1]
        assert torch.all(k == policy.window)  # both act on the centre before training


def test_counterfactual_head_moves_to_the_window_tick_with_the_best_what_if_value():
    """On a fixed batch whose what-if values make one tick best in every state (last steps, so Q = r), steps on
    the auxiliary loss alone must carry the head from the anchored centre (0.9) to that tick; the PPO
    log-probability is the continuous head's alone."""
    torch.manual_seed(0)
    policy = HybridCounterfactualPolicy(hidden=8)
    n, width = 64, 2 * policy.window + 1
    obs = torch.randn(n, N_FEATURES)
    with torch.no_grad():
        raw = policy.sample(obs, greedy=True)
    values = torch.zeros(n, width)
    values[:, 5] = 0.3  # k = +2 is worth 0.3 bps more than every other tick
    values += 0.01 * torch.randn(n, width)
    batch = torch.cat([raw, values, torch.ones(n, 1), torch.zeros(n, width * N_FEATURES)], 1)
    start, end = train_window_head(policy, policy.logits.parameters(), obs, batch, 5)
    assert start < 0.05 and end > 0.9, (start, end)
    other = batch.clone()
    other[:, 1] = (other[:, 1] + 1) % width
    torch.testing.assert_close(policy.distribution(obs, batch)[0], policy.distribution(obs, other)[0])
    with pytest.raises(ValueError, match="cf_coef"):
        HybridCounterfactualPolicy(cf_coef=-1.0)


def test_counterfactual_head_trains_inside_ppo_on_the_markout_env(day):
    env, policy, moved = train_briefly(HybridCounterfactualPolicy, day)
    # PPO's ratio never touches the discrete head, so only the entropy bonus and the what-if loss moved it; the
    # rollouts carry the window's values: raw actions of 2 + 7 + 1 + 7 x 12 numbers
    assert moved
    _, raws, _, _ = rollout(policy, env, greedy=False, seed=3)
    assert all(r.shape == (2 + 7 + 1 + 7 * N_FEATURES,) for r in raws)
    with pytest.raises(ValueError, match="reward_mode"):
        rollout(policy, ExecutionEnv(day, side=-1, volume=1000, steps=3, step_seconds=10.0), greedy=False, seed=0)
