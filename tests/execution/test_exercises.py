"""The notebook's checked exercises: each checker accepts the answer worked out by hand and refuses others."""

import numpy as np

from workbench.exercises import check
from workbench.execution.agents import FixedOffsetAgent, QuoteImprovingAgent
from workbench.execution.env import shortfall_bps
from workbench.execution.exercises import SHORTFALL_ARRIVAL, first_fill, paired_setting, queue_book
from workbench.execution.ppo import evaluate


def test_shortfall_exercise_is_the_share_weighted_fill_price_against_arrival():
    # 100 @ 99.99, 150 @ 100.02, 50 @ 99.95: an average of 29,999.5 / 300 = 99.998333 $, 1/6 bps below 100 $
    assert check("execution.shortfall_bps", 1 / 6)
    assert not check("execution.shortfall_bps", -1 / 6)  # the sign: selling below arrival is a cost
    assert shortfall_bps(999_000, SHORTFALL_ARRIVAL, -1) == 10.0 == shortfall_bps(1_001_000, SHORTFALL_ARRIVAL, 1)


def test_first_fill_exercise_follows_price_time_priority_and_lost_priority():
    # at 1.01 $: order 1, then 23, then 22 (its price change is a new order); 23's size increase sends it behind 22
    assert [oid for oid, _ in queue_book().queue(-1, 10_100)] == [1, 22, 23]
    assert first_fill() == 22 and check("execution.first_fill", 22)
    result = check("execution.first_fill", 23)
    assert not result and "back of the queue" in result.message
    assert "22 or 23" in check("execution.first_fill", 1).message


def test_paired_difference_exercise_pairs_each_episode_with_itself():
    env, episodes = paired_setting()
    assert len(episodes) == 8 and {e["day"] for e in episodes} == {0}
    improve = np.array([m["shortfall_bps"] for m in evaluate(QuoteImprovingAgent(), env, episodes)])
    join = np.array([m["shortfall_bps"] for m in evaluate(FixedOffsetAgent(0), env, episodes)])
    assert check("execution.paired_difference", float(np.mean(improve - join)))
    assert not check("execution.paired_difference", float(np.mean(improve - join)) + 0.5)
    assert "replace the ..." in check("execution.paired_difference", ...).message
