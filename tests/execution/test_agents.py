"""The agents and PPO: every policy's limit price, errors, advantages, seeds, checkpoint selection."""

import numpy as np
import pytest
import torch

from workbench.execution.agents import ContinuousPolicy, DiscretePolicy, QuoteImprovingAgent, VWAPAgent
from workbench.execution.hybrid import HybridPolicy
from workbench.execution.learners import make_learner, make_policy
from workbench.execution.env import N_FEATURES, ExecutionEnv
from workbench.execution.ppo import PPOConfig, _advantages, train
from workbench.execution.policies import load_policy
from workbench.execution.research import FirstHybridPolicy
from tests.execution.episodes import make_env


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
        assert spread == (day.best(env.index, -1) - day.best(env.index, 1)) // tick >= 1
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
    assert type(hybrid) is HybridPolicy and hybrid.window == 2 and hybrid.name == "hybrid"
    assert type(make_learner("hybrid_ppo")) is FirstHybridPolicy  # the first shipped hybrid, as a variant


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
