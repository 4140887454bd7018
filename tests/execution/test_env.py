"""The execution environment on tiny hand-made days whose fills are known."""

import numpy as np
import pytest

from workbench.execution.book import OrderBook
from workbench.execution.env import MARKET, ExecutionEnv
from workbench.execution.lobster import Messages
from workbench.execution.market import MarketDay
from workbench.execution.synthetic import _snapshot_row

TICK = 100


def make_day(events, levels=5) -> MarketDay:
    """``events``: (time, type, id, size, price, direction) applied to a book to get LOBSTER snapshots."""
    book = OrderBook(tick_size=TICK)
    rows = []
    for t, ty, oid, size, price, d in events:
        if ty == 1:
            book.add(oid, d, price, size, time=t)
        elif ty == 2:
            book.cancel(oid, size)
        elif ty == 3:
            book.delete(oid)
        elif ty == 4:
            book.execute(oid, size, time=t)
        rows.append(_snapshot_row(book, levels))
    cols = list(zip(*events))
    m = Messages(time=np.array(cols[0], float), type=np.array(cols[1]), order_id=np.array(cols[2]),
                 size=np.array(cols[3]), price=np.array(cols[4]), direction=np.array(cols[5]))
    return MarketDay("tiny", m, np.stack(rows), TICK)


# the opening book: bid 9,900 (ids 1, 2), ask 10,100 (ids 3, 4: 150 shares ahead of anyone who joins), ask 10,200
OPENING = [(0.0, 1, 1, 100, 9900, 1), (0.1, 1, 2, 100, 9800, 1), (0.2, 1, 3, 100, 10100, -1),
           (0.3, 1, 4, 50, 10100, -1), (0.4, 1, 5, 200, 10200, -1)]


def run(events, action, volume=100, steps=1, step_seconds=10.0):
    day = make_day(OPENING + events + [(20.0, 1, 99, 100, 9700, 1)])  # a late event so the day spans the horizon
    # prices near 1 dollar: one tick is ~100 bps, so allow offsets of many ticks
    env = ExecutionEnv(day, side=-1, volume=volume, steps=steps, step_seconds=step_seconds, max_offset_bps=1e4)
    env.reset(options={"day": 0, "start": 0.5})
    _, reward, done, _, info = env.step(action)
    return env, reward, done, info


def test_queue_ahead_is_consumed_before_we_fill():
    # we join the ask at 10,100 behind 150 shares; cancel 50 of them, execute 100: the queue ahead is gone;
    # then a buyer executes order 6, which arrived after us: that share flow would have hit us first
    events = [(1.0, 3, 4, 50, 10100, -1), (2.0, 4, 3, 100, 10100, -1), (3.0, 1, 6, 100, 10100, -1),
              (4.0, 4, 6, 60, 10100, -1)]
    env, reward, done, info = run(events, [0.0])
    passive = [f for f in env.log.fills if f.kind == "passive"]
    assert [(f.price, f.size) for f in passive] == [(10100, 60)]
    # the remaining 40 shares are sold at the end into the best bid (9,900)
    final = [f for f in env.log.fills if f.kind == "final"]
    assert [(f.price, f.size) for f in final] == [(9900, 40)]
    assert done and info["executed"] == 100


def test_executions_ahead_of_us_do_not_fill_us():
    events = [(1.0, 4, 3, 100, 10100, -1), (2.0, 4, 4, 40, 10100, -1)]  # 140 of the 150 ahead
    env, *_ = run(events, [0.0])
    assert not [f for f in env.log.fills if f.kind == "passive"]


def test_trade_through_and_crossing_buyer_fill_at_our_price():
    # we rest one tick inside (sell at 10,000, alone); a new buy at 10,000 crosses us
    env, *_ = run([(1.0, 1, 7, 30, 10000, 1)], [-1e4 * TICK / 10100])
    assert [(f.price, f.size, f.kind) for f in env.log.fills][:1] == [(10000, 30, "passive")]
    # a trade at 10,200 (worse than our 10,100 for the buyer) means our order would have been taken
    env, *_ = run([(1.0, 3, 3, 100, 10100, -1), (1.5, 3, 4, 50, 10100, -1), (2.0, 4, 5, 80, 10200, -1)], [0.0])
    assert [(f.price, f.size) for f in env.log.fills if f.kind == "passive"] == [(10100, 80)]


def test_marketable_limit_walks_the_bids_and_market_order_sweeps():
    env, *_ = run([], [-1e4 * 300 / 10100], volume=150)  # sell limit at 9,800 crosses both bid levels
    assert [(f.price, f.size, f.kind) for f in env.log.fills] == [(9900, 100, "cross"), (9800, 50, "cross")]
    env, *_ = run([], [MARKET], volume=250)  # beyond the visible depth: one tick past the last level
    assert [(f.price, f.size) for f in env.log.fills] == [(9900, 100), (9800, 100), (9700, 50)]


def test_rewards_add_up_to_minus_the_shortfall():
    day = make_day(OPENING + [(1.0 + i, 4, 3 if i == 0 else 5, 10, 10100 if i == 0 else 10200, -1) for i in range(3)]
                   + [(40.0, 1, 99, 100, 9700, 1)])
    env = ExecutionEnv(day, side=-1, volume=300, steps=3, step_seconds=10.0)
    env.reset(options={"day": 0, "start": 0.5})
    total, done = 0.0, False
    while not done:
        _, r, done, _, info = env.step([0.0])
        total += r
    assert total == pytest.approx(-info["shortfall_bps"], abs=1e-9)  # the same sum, two ways
    assert info["executed"] == 300


@pytest.mark.parametrize("kwargs, match", [
    (dict(side=0), "side"), (dict(volume=0), "volume"), (dict(steps=0), "steps"),
    (dict(step_seconds=-1.0), "step_seconds"), (dict(steps=10, step_seconds=100.0), "horizon"),
])
def test_bad_settings_are_named(kwargs, match):
    day = make_day(OPENING + [(20.0, 1, 99, 100, 9700, 1)])
    with pytest.raises(ValueError, match=match):
        ExecutionEnv(day, **{"side": -1, "volume": 100, "steps": 1, "step_seconds": 10.0, **kwargs})


def test_bad_actions_are_named():
    day = make_day(OPENING + [(20.0, 1, 99, 100, 9700, 1)])
    env = ExecutionEnv(day, side=-1, volume=100, steps=1, step_seconds=10.0)
    with pytest.raises(RuntimeError, match="reset"):
        env.step([0.0])
    env.reset(options={"day": 0, "start": 0.5})
    for bad in ([np.nan], [0.0, 0.5, 1.0]):
        with pytest.raises(ValueError, match="action"):
            env.step(bad)


def test_gymnasium_env_checker_accepts_the_environment():
    from gymnasium.utils.env_checker import check_env

    from workbench.execution.synthetic import simulate_day

    day = MarketDay.from_synthetic(simulate_day("mid_tick", seed=0, seconds=120.0))
    env = ExecutionEnv(day, side=-1, volume=500, steps=4, step_seconds=10.0)
    check_env(env, skip_render_check=True)  # API, spaces, seeding determinism


def test_markout_reward_is_the_arrival_reward_less_the_drift_on_inventory_held():
    """Sum over steps of fills against the step-end mid = minus the shortfall - sum_t X_t (M_{t+1} - M_t),
    X_t the shares held when step t starts (exact telescoping identity; the subtracted term is fixed before
    each action and has mean zero for a martingale mid, so training on it leaves the objective unchanged)."""
    from workbench.execution.synthetic import simulate_day

    day = MarketDay.from_synthetic(simulate_day("large_tick", seed=3, seconds=300.0))
    env = ExecutionEnv(day, side=-1, volume=2000, steps=5, step_seconds=20.0, reward="markout")
    for start, offset in ((day.session_start + 5.0, 0.0), (day.session_start + 100.0, 10.0)):
        env.reset(options={"day": 0, "start": start})
        total, done = 0.0, False
        while not done:
            _, r, done, _, info = env.step([offset])
            total += r
        mids = [day.mid(i) for i in env.log.step_index] + [day.mid(env.index)]
        held = [env.volume] + env.log.inventory[:-1]
        drift = sum(x * (mids[t + 1] - mids[t]) for t, x in enumerate(held)) / info["arrival_mid"] * 1e4 / env.volume
        assert total == pytest.approx(-info["shortfall_bps"] - drift, abs=1e-9)
        assert abs(drift) > 1e-6  # the identity is not vacuous: the mid moved while we held shares
        # the info's markout cost is that return's negative, whatever reward the env trains on (model selection
        # scores it on an arrival-reward env)
        assert info["markout_cost_bps"] == pytest.approx(-total, abs=1e-9)
        arrival = ExecutionEnv(day, side=-1, volume=2000, steps=5, step_seconds=20.0, reward="arrival")
        arrival.reset(options={"day": 0, "start": start})
        done = False
        while not done:
            _, _, done, _, same = arrival.step([offset])
        assert same["markout_cost_bps"] == pytest.approx(info["shortfall_bps"] + drift, abs=1e-9)


@pytest.mark.parametrize("mode", ["arrival", "decision"])
def test_arrival_and_decision_rewards_price_each_steps_fills_against_their_mid(mode):
    """``arrival``: the return is exactly minus the shortfall. ``decision``: each step's fills are priced
    against the mid when the order was placed, so the return is minus the shortfall less
    sum_t F_t (M_t - P_0) / P_0 (F_t the shares filled in step t, sells)."""
    from workbench.execution.synthetic import simulate_day

    day = MarketDay.from_synthetic(simulate_day("mid_tick", seed=4, seconds=300.0))
    env = ExecutionEnv(day, side=-1, volume=2000, steps=5, step_seconds=20.0, reward=mode)
    env.reset(options={"day": 0, "start": day.session_start + 30.0})
    rewards, done = [], False
    while not done:
        _, r, done, _, info = env.step([0.0])
        rewards.append(r)
    held = [env.volume] + env.log.inventory
    filled = [held[t] - held[t + 1] for t in range(env.steps)]
    p0 = info["arrival_mid"]
    moved = sum(f * (day.mid(i) - p0) for f, i in zip(filled, env.log.step_index)) / p0 * 1e4 / env.volume
    expected = -info["shortfall_bps"] - (moved if mode == "decision" else 0.0)
    assert sum(rewards) == pytest.approx(expected, abs=1e-9)
    if mode == "decision":
        assert abs(moved) > 1e-6  # not vacuous: the mid moved between the steps that filled


@pytest.mark.parametrize("side", [-1, 1])
def test_what_if_gives_each_candidates_step_exactly_and_changes_nothing(side):
    """The replay ignores our orders, so what a candidate price would do over the step is known: for the price
    then taken, ``what_if``'s markout value, last-step flag and next observation must equal what ``step`` returns
    (bitwise: the same arithmetic), and an episode that asks ``what_if`` at every step must run as one that
    does not."""
    from workbench.execution.synthetic import simulate_day

    day = MarketDay.from_synthetic(simulate_day("mid_tick", seed=3, seconds=300.0))
    def make():
        return ExecutionEnv(day, side=side, volume=2000, steps=5, step_seconds=20.0, reward="markout")
    asking, plain = make(), make()
    rng = np.random.default_rng(0)
    checked = set()
    for start in (day.session_start + 5.0, day.session_start + 120.0, day.session_start + 190.0):
        asking.reset(options={"day": 0, "start": start})
        plain.reset(options={"day": 0, "start": start})
        done = False
        while not done:
            offsets = [asking.ticks_to_bps(t) for t in range(-4, 4)] + [MARKET]
            values, last, nxt = asking.what_if(offsets)
            assert values.shape == (9,) and nxt.shape == (9, asking.observation_space.shape[0])
            j = int(rng.integers(len(offsets)))
            obs, r, done, _, _ = asking.step([offsets[j]])
            assert values[j] == r and last == done and np.array_equal(nxt[j], obs)
            _, r_plain, _, _, info_plain = plain.step([offsets[j]])
            assert r_plain == r
            checked.add(j)
        assert asking.metrics() == plain.metrics()
        assert len(set(values.tolist())) > 1  # not vacuous: the candidates' outcomes differ
    assert len(checked) >= 5  # the property was checked for most candidate positions, the market order included
    with pytest.raises(RuntimeError, match="reset"):
        asking.what_if([0.0])


def test_the_episode_state_is_read_through_public_properties():
    day = make_day(OPENING + [(20.0, 1, 99, 100, 9700, 1)])
    env = ExecutionEnv(day, side=-1, volume=100, steps=2, step_seconds=5.0, max_offset_bps=1e4)
    env.reset(options={"day": 0, "start": 0.5})
    start = day.index_at(0.5)
    assert (env.index, env.steps_done, env.remaining) == (start, 0, 100) == (env.log.start_index, 0, env.volume)
    assert env.near_touch == day.best(env.index, -1) == 10100
    env.step(np.array([MARKET]))  # the TWAP slice, 50 shares, sold to the best bid
    assert (env.index, env.steps_done, env.remaining) == (max(start, day.index_at(5.5)), 1, 50)
    env.step(np.array([MARKET]))
    assert (env.steps_done, env.remaining) == (2, 0)
