"""Tick rules on top of a continuous scope: the rounding rule is the policy itself, the cap never sweeps past the
opposite best price."""

import pytest
import torch

from workbench.execution.agents import ContinuousPolicy, TWAPAgent
from workbench.execution.env import ExecutionEnv
from workbench.execution.market import MarketDay
from workbench.execution.ppo import rollout
from workbench.execution.synthetic import simulate_day
from workbench.execution.research.tick_rules import RULES, ScopedRule, headroom


@pytest.fixture(scope="module")
def env():
    day = MarketDay.from_synthetic(simulate_day("small_tick", seed=2, seconds=400.0))
    return ExecutionEnv(day, side=-1, volume=3000, steps=5, step_seconds=20.0)


def deep_crossing_policy(bias: float) -> ContinuousPolicy:
    """An untrained continuous policy whose offset is about ``5 * bias`` bps from the near touch."""
    torch.manual_seed(0)
    policy = ContinuousPolicy(hidden=8)
    with torch.no_grad():
        policy.mean[-1].weight.zero_()
        policy.mean[-1].bias.fill_(bias)
    return policy


def test_the_rounding_rule_is_the_policy_itself(env):
    torch.manual_seed(1)
    policy = ContinuousPolicy(hidden=8)
    episodes = [{"day": 0, "start": env.days[0].session_start + s} for s in (0.0, 90.0, 180.0)]
    out = headroom(policy, env, episodes, rules={"round": RULES["round"], "shift +1": RULES["shift +1"]})
    assert out["round"] == (0.0, 0.0)  # the same prices, hence bitwise the same fills
    assert out["shift +1"][0] != 0.0  # not vacuous: another price gives another shortfall


def test_the_cap_places_a_crossing_sell_at_the_best_bid_not_below(env):
    policy = deep_crossing_policy(-4.0)  # -20 bps from the best ask: several ticks through the bid on small_tick
    day = env.days[0]
    options = {"day": 0, "start": day.session_start + 30.0}

    def limits(agent):
        rollout(agent, env, greedy=True, options=options)
        return [(price, day.best(i, 1)) for (price, _), i in zip(env.log.orders, env.log.step_index)]

    plain = limits(policy)
    assert any(price < bid for price, bid in plain)  # the scope sweeps below the best bid
    capped = limits(ScopedRule(policy, RULES["cap a crossing scope at the opposite best"]))
    assert all(price == bid for price, bid in capped)  # every order crosses exactly at the best bid
    # a scope that does not cross is left alone
    passive = deep_crossing_policy(0.4)
    assert limits(ScopedRule(passive, RULES["cap a crossing scope at the opposite best"])) == limits(passive)


def test_scoped_rule_names_a_policy_without_a_scope():
    with pytest.raises(TypeError, match="policy.*TWAPAgent"):
        ScopedRule(TWAPAgent(), RULES["round"])
