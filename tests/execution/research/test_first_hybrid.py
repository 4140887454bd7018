"""The first hybrid (the research variant ``hybrid_ppo``): its joint log-probability, training phases and anchor,
its errors, and where its order goes."""

import math

import pytest
import torch

from workbench.execution.agents import ContinuousPolicy
from workbench.execution.env import N_FEATURES, ExecutionEnv
from workbench.execution.ppo import PPOConfig, train
from workbench.execution.research import FirstHybridPolicy
from tests.execution.episodes import make_env


def test_hybrid_log_prob_is_the_sum_of_its_two_heads_computed_by_hand():
    torch.manual_seed(0)
    policy = FirstHybridPolicy(hidden=16, window=3)  # the default: joint from the start, no anchor on the centre
    assert bool(policy.joint)
    with torch.no_grad():
        policy.log_std.fill_(-0.4)  # a non-trivial std, so a wrong sigma would show
    obs = torch.randn(6, N_FEATURES)
    raw = policy.sample(obs, greedy=False)
    logp, entropy = policy.distribution(obs, raw)
    u, k = raw[:, 0], raw[:, 1].long()
    assert logp.shape == entropy.shape == (6,)
    with torch.no_grad():
        mu, sigma = policy.mean(obs).squeeze(-1), policy.log_std.exp()
        # Normal density written out: log N(u; mu, sigma) = -(u - mu)^2 / (2 sigma^2) - log sigma - log(2 pi) / 2
        cont = -((u - mu) ** 2) / (2 * sigma**2) - sigma.log() - 0.5 * math.log(2 * math.pi)
        # the discrete head sees the state *and* the sampled u; Categorical = log-softmax of its logits at k
        logits = policy.logits(torch.cat([obs, u[:, None]], 1))
        disc = logits - logits.logsumexp(-1, keepdim=True)
        expected = cont + disc[torch.arange(6), k]
        h_cont = 0.5 * math.log(2 * math.pi * math.e) + sigma.log()
        h_disc = -(disc.exp() * disc).sum(-1)
    # float32 sums of O(1) terms computed in a different order: agreement to ~1e-6 relative, not bitwise
    torch.testing.assert_close(logp, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(entropy, h_cont + h_disc, rtol=1e-5, atol=1e-5)
    # the joint log-probability really depends on the discrete choice (not just the continuous head)
    other = raw.clone()
    other[:, 1] = (other[:, 1] + 1) % (2 * policy.window + 1)
    assert not torch.allclose(policy.distribution(obs, other)[0], logp)


def test_hybrid_scoping_phase_acts_on_the_centre_and_scores_the_gaussian_alone():
    torch.manual_seed(0)
    policy = FirstHybridPolicy(hidden=16, window=3, scope_fraction=0.5)
    obs = torch.randn(32, N_FEATURES)
    assert not bool(policy.joint)  # a fresh staged hybrid scopes first
    raw = policy.sample(obs, greedy=False)
    assert torch.all(raw[:, 1] == policy.window)  # k = 0: the order goes to the scoped tick
    logp, entropy = policy.distribution(obs, raw)
    gauss = policy.scope(obs)
    assert torch.equal(logp, gauss.log_prob(raw[:, 0])) and torch.equal(entropy, gauss.entropy())
    policy.set_progress(0.49)
    assert not bool(policy.joint)
    policy.set_progress(0.5)  # scope_fraction = 0.5: the joint phase starts halfway
    assert bool(policy.joint) and not torch.equal(policy.distribution(obs, raw)[0], logp)


def test_hybrid_discrete_head_starts_on_the_scoped_tick():
    torch.manual_seed(0)
    policy = FirstHybridPolicy(hidden=16, window=3, anchor=4.0)
    obs = torch.randn(2000, N_FEATURES)
    with torch.no_grad():
        raw = policy.sample(obs, greedy=True)
        probs = policy.window_distribution(obs, raw).probs[:, policy.window]
    assert torch.all(raw[:, 1] == policy.window)  # greedy: the centre for every state
    # the anchor alone gives e^4 / (e^4 + 6) = 0.901; the untrained network's own logits (a few tenths) move it
    # by a few hundredths per state, and their mean over 2,000 states by less than 0.02
    assert abs(float(probs.mean()) - math.exp(4) / (math.exp(4) + 6)) < 0.02
    with torch.no_grad():
        sampled = policy.sample(obs, greedy=False)[:, 1]
    # 2,000 draws of a ~0.9 probability: the share's standard error is 0.007, so 0.04 is over five of them
    assert abs(float((sampled == policy.window).float().mean()) - float(probs.mean())) < 0.04


def test_hybrid_scoping_phase_trains_exactly_as_the_continuous_agent(day):
    env = ExecutionEnv(day, side=-1, volume=1000, steps=4, step_seconds=10.0, reward="markout")
    config = PPOConfig(episodes=64, batch_episodes=16, epochs=2)

    def trained(policy_class, **kwargs):
        torch.manual_seed(3)
        policy = policy_class(hidden=16, **kwargs)
        start = {k: v.clone() for k, v in policy.state_dict().items()}
        train(policy, env, config, seed=3)
        return start, policy.state_dict()

    _, cont = trained(ContinuousPolicy)
    start, scoped = trained(FirstHybridPolicy, scope_fraction=1.0)
    # the same initial draws for the shared heads (created first, in the same order), the same episodes, the
    # same Gaussian samples (k = 0 draws nothing), no gradient reaching the discrete head: bitwise equal
    for name in cont:
        assert torch.equal(scoped[name], cont[name]), name
    assert all(torch.equal(scoped[k], start[k]) for k in scoped if k.startswith("logits"))
    assert not bool(scoped["joint"])
    start, half = trained(FirstHybridPolicy, scope_fraction=0.5)
    assert bool(half["joint"]) and any(not torch.equal(half[k], start[k]) for k in half if k.startswith("logits"))
    restored = FirstHybridPolicy(hidden=16, scope_fraction=0.5)
    assert not bool(restored.joint)
    restored.load_state_dict(half)  # the phase travels with the weights
    assert bool(restored.joint)


def test_hybrid_rejects_bad_anchor_phase_and_window():
    with pytest.raises(ValueError, match="anchor.*-1"):
        FirstHybridPolicy(anchor=-1.0)
    with pytest.raises(ValueError, match="scope_fraction.*1.5"):
        FirstHybridPolicy(scope_fraction=1.5)
    with pytest.raises(ValueError, match="window.*2.5"):
        FirstHybridPolicy(window=2.5)


@pytest.mark.parametrize("side", [-1, 1])
def test_hybrid_order_goes_centre_plus_k_ticks_from_the_near_touch(day, side):
    policy = FirstHybridPolicy(hidden=8, scale_bps=5.0, window=3)
    for centre, k in [(0, 0), (2, -3), (-1, 3), (4, 1), (-3, -2)]:
        env = make_env(day, side)
        near, tick = env.near_touch, env.tick
        u = centre * env.ticks_to_bps(1) / policy.scale_bps  # the continuous head's u that scopes this centre
        raw = torch.tensor([[u, k + policy.window]])
        action, extras = policy.to_env(raw, env)
        assert (extras["centre"], extras["k"], extras["ticks"]) == (centre, k, centre + k)
        assert extras["window"] == (centre - 3, centre + 3)
        env.step(action, extras)
        # the placed order (logged before it trades): positive ticks are more passive, above the best ask for a
        # sell and below the best bid for a buy; prices are integers, so the equality is exact
        assert env.log.orders[0][0] == near - side * (centre + k) * tick
