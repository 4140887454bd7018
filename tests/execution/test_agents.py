"""The agents and PPO: the hybrid's joint log-probability and training phases, every policy's limit price, errors,
advantages, seeds."""

import math

import numpy as np
import pytest
import torch

from workbench.execution.agents import ContinuousPolicy, DiscretePolicy, HybridPolicy, QuoteImprovingAgent, VWAPAgent
from workbench.execution.hybrid_variants import HybridPriceCounterfactualPolicy
from workbench.execution.learners import make_learner, make_policy
from workbench.execution.env import N_FEATURES, ExecutionEnv
from workbench.execution.market import MarketDay
from workbench.execution.ppo import PPOConfig, _advantages, train
from workbench.execution.pretrained import load_policy
from workbench.execution.synthetic import simulate_day


@pytest.fixture(scope="module")
def day():
    """Two minutes of the mid-tick synthetic stock (one tick = 100 price units = 2 bps at 50 dollars)."""
    return MarketDay.from_synthetic(simulate_day("mid_tick", seed=0, seconds=120))


def make_env(day, side=-1):
    env = ExecutionEnv(day, side=side, volume=1000, steps=3, step_seconds=10.0)
    env.reset(options={"day": 0, "start": day.session_start + 5.0})
    return env


def test_hybrid_log_prob_is_the_sum_of_its_two_heads_computed_by_hand():
    torch.manual_seed(0)
    policy = HybridPolicy(hidden=16, window=3)  # the default: joint from the start, no anchor on the centre
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
    policy = HybridPolicy(hidden=16, window=3, scope_fraction=0.5)
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
    policy = HybridPolicy(hidden=16, window=3, anchor=4.0)
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
    start, scoped = trained(HybridPolicy, scope_fraction=1.0)
    # the same initial draws for the shared heads (created first, in the same order), the same episodes, the
    # same Gaussian samples (k = 0 draws nothing), no gradient reaching the discrete head: bitwise equal
    for name in cont:
        assert torch.equal(scoped[name], cont[name]), name
    assert all(torch.equal(scoped[k], start[k]) for k in scoped if k.startswith("logits"))
    assert not bool(scoped["joint"])
    start, half = trained(HybridPolicy, scope_fraction=0.5)
    assert bool(half["joint"]) and any(not torch.equal(half[k], start[k]) for k in half if k.startswith("logits"))
    restored = HybridPolicy(hidden=16, scope_fraction=0.5)
    assert not bool(restored.joint)
    restored.load_state_dict(half)  # the phase travels with the weights
    assert bool(restored.joint)


def test_hybrid_rejects_bad_anchor_phase_and_window():
    with pytest.raises(ValueError, match="anchor.*-1"):
        HybridPolicy(anchor=-1.0)
    with pytest.raises(ValueError, match="scope_fraction.*1.5"):
        HybridPolicy(scope_fraction=1.5)
    with pytest.raises(ValueError, match="window.*2.5"):
        HybridPolicy(window=2.5)


@pytest.mark.parametrize("side", [-1, 1])
def test_hybrid_order_goes_centre_plus_k_ticks_from_the_near_touch(day, side):
    policy = HybridPolicy(hidden=8, scale_bps=5.0, window=3)
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


@pytest.mark.parametrize("side", [-1, 1])
def test_discrete_order_goes_ticks_from_the_near_touch_on_a_real_step(day, side):
    policy = DiscretePolicy(hidden=8, max_ticks=4)
    for k in range(2 * policy.max_ticks + 1):
        env = make_env(day, side)
        near, tick = env.near_touch, env.tick
        action, extras = policy.to_env(torch.tensor([[float(k)]]), env)
        assert extras["ticks"] == k - policy.max_ticks
        env.step(action, extras)
        # the order the environment actually placed (logged before it trades) sits exactly that many ticks away
        assert env.log.orders[0][0] == near - side * (k - policy.max_ticks) * tick
        assert env.log.extras[0] == extras


@pytest.mark.parametrize("side", [-1, 1])
def test_quote_improving_agent_steps_one_tick_inside_a_wide_spread_and_joins_a_one_tick_one(day, side):
    seen = set()
    for start in np.linspace(day.session_start, day.end - 30.0, 40):
        env = ExecutionEnv(day, side=side, volume=1000, steps=3, step_seconds=10.0)
        obs, _ = env.reset(options={"day": 0, "start": float(start)})
        near, tick, spread = env.near_touch, env.tick, env.spread_ticks
        assert spread == (day.best(env._i, -1) - day.best(env._i, 1)) // tick >= 1
        action, extras = QuoteImprovingAgent().act(obs, env)
        env.step(action, extras)
        improve = spread >= 2
        # one tick better than the near touch (below the best ask for a sell, above the best bid for a buy): inside
        # the spread, never crossing it; or exactly at the near touch when the spread is one tick
        assert env.log.orders[0][0] == near + side * tick * improve
        seen.add(improve)
    assert seen == {True, False}  # the two-minute mid-tick day has both one-tick and wider spreads


def test_continuous_offset_is_scale_times_u(day):
    env = make_env(day)
    for scale in (5.0, 7.5):
        policy = ContinuousPolicy(hidden=8, scale_bps=scale)
        for u in (-1.5, 0.0, 0.25, 2.0):  # exactly representable in float32, so the product is exact
            action, extras = policy.to_env(torch.tensor([[u]]), env)
            assert action.shape == (1,) and action[0] == scale * u == extras["offset_bps"]
            assert extras["ticks"] == pytest.approx(scale * u / env.ticks_to_bps(1), rel=1e-12)


def test_unknown_names_and_unfitted_vwap_raise():
    with pytest.raises(ValueError, match="name"):
        make_policy("nope")
    with pytest.raises(ValueError, match="name.*'nope'"):
        load_policy("nope")
    with pytest.raises(RuntimeError, match="fit"):
        VWAPAgent().act(np.zeros(N_FEATURES, dtype=np.float32), None)
    with pytest.raises(ValueError, match="name.*'nope'"):
        make_learner("nope")
    hybrid = make_policy("hybrid", window=2)
    assert isinstance(hybrid, HybridPriceCounterfactualPolicy) and hybrid.window == 2 and hybrid.name == "hybrid"
    assert type(make_learner("hybrid_ppo")).__bases__ == (HybridPolicy,)  # the first shipped hybrid, as a variant


def test_gae_with_lambda_one_is_reward_to_go_minus_value_and_with_lambda_zero_the_td_error():
    rewards = [1.0, -2.0, 3.0, 0.5]
    values = np.array([0.5, 1.0, -0.5, 2.0])
    # gamma = 1 and the episode ends after the last step (terminal value 0)
    reward_to_go = np.array([2.5, 1.5, 3.5, 0.5])  # 1 - 2 + 3 + 0.5, -2 + 3 + 0.5, 3 + 0.5, 0.5
    adv, ret = _advantages(rewards, values, lam=1.0)
    # binary fractions summed in float64: exact up to reassociation, so a 1e-12 tolerance is generous
    np.testing.assert_allclose(adv, reward_to_go - values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ret, reward_to_go, rtol=0, atol=1e-12)
    td = np.array([1.0 + 1.0 - 0.5, -2.0 - 0.5 - 1.0, 3.0 + 2.0 + 0.5, 0.5 + 0.0 - 2.0])  # r_t + V_{t+1} - V_t
    adv, ret = _advantages(rewards, values, lam=0.0)
    np.testing.assert_allclose(adv, td, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ret, td + values, rtol=0, atol=1e-12)


def test_train_is_reproducible_under_a_seed(day):
    def run(seed):
        torch.manual_seed(seed)
        policy = make_policy("hybrid", hidden=16)
        start = {k: v.clone() for k, v in policy.state_dict().items()}
        env = ExecutionEnv(day, side=-1, volume=1000, steps=4, step_seconds=10.0, reward="markout")
        train(policy, env, PPOConfig(episodes=64, batch_episodes=32, epochs=2), seed=seed)
        return start, policy.state_dict()

    start, a = run(0)
    _, b = run(0)
    # CPU, single process, same seed: the same episodes, samples and updates, so bitwise-equal weights
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], start[k]) for k in a)  # it did train (the check is not vacuous)
    _, c = run(1)
    assert any(not torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("metric", ["shortfall_bps", "markout_cost_bps"])
def test_training_keeps_the_checkpoint_with_the_lowest_validation_cost(day, metric):
    from workbench.execution.ppo import evaluate

    torch.manual_seed(0)
    policy = make_policy("continuous", hidden=16)
    env = ExecutionEnv(day, side=-1, volume=1000, steps=4, step_seconds=10.0, reward="markout")
    val_env = ExecutionEnv(day, side=-1, volume=1000, steps=4, step_seconds=10.0)
    val_eps = [{"day": 0, "start": day.session_start + s} for s in (0.0, 30.0, 60.0)]
    # a large learning rate, so that the last checkpoint is not the best and restoring is not a no-op
    curve = train(policy, env, PPOConfig(episodes=128, batch_episodes=16, epochs=2, eval_every=32, lr=3e-2), seed=0,
                  val_episodes=val_eps, val_env=val_env, val_metric=metric)
    scores = curve.val_cost_bps
    assert len(scores) == 5  # scored at 0, 32, ..., 128 episodes, once each
    assert scores.index(min(scores)) < len(scores) - 1 and curve.selected_at == 32 * scores.index(min(scores))
    # the weights restored score exactly the best validation cost (greedy episodes are deterministic)
    kept = float(np.mean([m[metric] for m in evaluate(policy, val_env, val_eps)]))
    assert kept == min(scores)
    with pytest.raises(ValueError, match="val_metric"):
        train(policy, env, PPOConfig(episodes=16, batch_episodes=16), val_episodes=val_eps, val_env=val_env,
              val_metric="nonsense")
