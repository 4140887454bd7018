"""The synthetic market writes valid LOBSTER streams whose snapshots the replay reproduces."""

import numpy as np
import pytest

from workbench.execution.book import OrderBook
from workbench.execution.replay import replay
from workbench.execution.synthetic import STOCKS, SyntheticStock, _snapshot_row, simulate_day


@pytest.mark.parametrize("name", sorted(STOCKS))
def test_strict_replay_reproduces_every_synthetic_snapshot(name):
    """The synthetic stream is complete (every event at every depth), so a strict replay from an empty book
    must give exactly the generator's 10-level snapshot after every message (integer equality)."""
    day = simulate_day(name, seed=3, seconds=60.0)
    rep = replay(day.messages, book=OrderBook(tick_size=day.stock.tick))
    for i in rep:
        assert np.array_equal(_snapshot_row(rep.book, 10), day.orderbook[i]), i
    assert len(day.messages) > 200  # a real minute of flow, not a trivial stream


def test_same_seed_same_day_and_stocks_differ_as_designed():
    a, b = simulate_day("mid_tick", seed=1, seconds=120.0), simulate_day("mid_tick", seed=1, seconds=120.0)
    assert np.array_equal(a.messages.price, b.messages.price) and np.array_equal(a.orderbook, b.orderbook)
    assert not np.array_equal(simulate_day("mid_tick", seed=2, seconds=120.0).messages.price[:500],
                              a.messages.price[:500])
    # the archetypes: large-tick stocks trade at a one-tick spread, small-tick ones at several ticks;
    # averaged over 5 minutes of quotes (tolerances are wide: these are properties of the design, not fits)
    spreads = {}
    for name in ("large_tick", "small_tick"):
        d = simulate_day(name, seed=0, seconds=300.0)
        ob = d.orderbook[len(d.orderbook) // 10:]
        spreads[name] = float(np.mean((ob[:, 0] - ob[:, 2]) / d.stock.tick))
    assert spreads["large_tick"] < 1.3 and spreads["small_tick"] > 1.6


def test_times_are_ordered_and_sizes_are_lots():
    d = simulate_day("illiquid", seed=0, seconds=60.0)
    assert np.all(np.diff(d.messages.time) >= 0)
    assert np.all(d.messages.size % d.stock.lot == 0) and np.all(d.messages.size > 0)
    assert np.all(d.messages.price % d.stock.tick == 0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(tick=0), "tick"), (dict(price=12345), "price"), (dict(spacing=0.5), "spacing"),
    (dict(market_rate=0.0), "market_rate"), (dict(sigma_bps=-1.0), "sigma_bps"),
])
def test_bad_stock_parameters_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticStock("x", **kwargs)


def test_bad_simulation_arguments_are_named():
    with pytest.raises(ValueError, match="stock"):
        simulate_day("nope")
    with pytest.raises(ValueError, match="seconds"):
        simulate_day("mid_tick", seconds=0)


def test_blended_stocks_lie_between_their_archetypes():
    """Every parameter of a blend is a weighted geometric mean of two archetypes, so it lies between them."""
    from workbench.execution.synthetic import blend_stock

    names = ("large_tick", "mid_tick", "small_tick")
    slack = {"price": STOCKS["mid_tick"].tick / 2, "depth": 0.5}  # rounding to the tick / to whole shares

    def within(x, lo, hi, k):
        eps = slack.get(k, 1e-9 * hi)
        return lo - eps <= x <= hi + eps

    for seed in range(6):
        b = blend_stock(seed, archetypes=names)
        assert b.name == f"blend_{seed}" and b.price % b.tick == 0
        brackets = [(n, m) for i, n in enumerate(names) for m in names[i + 1:]
                    if all(within(getattr(b, k), min(getattr(STOCKS[n], k), getattr(STOCKS[m], k)),
                                  max(getattr(STOCKS[n], k), getattr(STOCKS[m], k)), k)
                           for k in ("price", "spacing", "limit_rate", "depth", "market_rate", "sigma_bps"))]
        assert brackets, b  # one pair of archetypes brackets every parameter at once
    assert blend_stock(0) == blend_stock(0) and blend_stock(0) != blend_stock(1)
    with pytest.raises(ValueError, match="archetypes"):
        blend_stock(0, archetypes=("large_tick",))
    with pytest.raises(ValueError, match="weight_range"):
        blend_stock(0, weight_range=(0.5, 1.5))
