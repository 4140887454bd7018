import json
import subprocess
import sys

import pytest

from workbench.execution.experiments import (
    HELD_OUT_BLENDS, TRAIN_STOCKS, held_out_stocks, stock_named, training_stocks,
)
from workbench.execution.synthetic import STOCKS


def test_held_out_stocks_are_new_and_named():
    """The held-out blends are distinct from each other and from every archetype, and resolve by name."""
    blends = held_out_stocks()
    assert len(blends) == len(HELD_OUT_BLENDS) == 6
    assert len({(b.price, b.spacing, b.limit_rate) for b in blends}) == 6
    assert not {(b.price, b.spacing) for b in blends} & {(s.price, s.spacing) for s in STOCKS.values()}
    assert all(stock_named(b.name) == b for b in blends) and stock_named(TRAIN_STOCKS[0]) == STOCKS[TRAIN_STOCKS[0]]
    with pytest.raises(ValueError, match="stock"):
        stock_named("blend_99")


def test_training_blends_stay_apart_from_the_held_out_stocks():
    """The robustness check's extra training stocks: the archetypes first, then blends none of which is within
    5 % (tick in bps) of a held-out stock, so the held-out stocks are still new to the agents."""
    assert training_stocks() == list(TRAIN_STOCKS)
    universe = training_stocks(6)
    assert universe[:3] == list(TRAIN_STOCKS) and len(universe) == 9
    blends = universe[3:]
    assert len({b.name for b in blends}) == 6
    for b in blends:
        assert all(abs(b.tick_bps / h.tick_bps - 1) > 0.05 for h in held_out_stocks())
    with pytest.raises(ValueError, match="train_blends"):
        training_stocks(-1)


@pytest.mark.slow
def test_reproduce_quick_json():
    proc = subprocess.run([sys.executable, "-m", "workbench", "reproduce", "execution", "--quick", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["quick"] is True  # its time and the replay's throughput are figures of `make bench`, not bounds
    assert data["replay_messages_per_s"] > 0
    rows = {(r["agent"], r["eval"]): r for r in data["results"]}
    agents = {a for a, _ in rows}
    assert {"twap", "vwap", "limit_+0t", "limit_-1t", "improve_1t", "continuous", "discrete", "hybrid"} <= agents
    assert {e for _, e in rows} == {"held_out_days", "held_out_stocks", "out_of_range_stock", "real_aapl"}
    # the per-stock breakdown covers the six held-out blends for every agent, on disjoint episodes that add up
    per_stock = data["per_stock"]
    assert {r["stock"] for r in per_stock} == {f"blend_{k}" for k in range(6)}
    assert {r["agent"] for r in per_stock} == agents
    n_hybrid = sum(r["episodes"] for r in per_stock if r["agent"] == "hybrid")
    assert n_hybrid == rows[("hybrid", "held_out_stocks")]["eval_episodes"]
    for r in rows.values():
        assert {"agent", "shortfall_bps_mean", "shortfall_bps_std", "episodes"} <= set(r)
        assert r["episodes"] == (192 if r["agent"] in ("continuous", "discrete", "hybrid") else 0)
        assert len(r["vs_twap_agent_bps_seeds"]) == 1  # the quick run trains one seed
        assert r["vs_twap_agent_bps_seeds"][0] == pytest.approx(r["vs_twap_agent_bps_mean"])
    # TWAP crosses the spread every step; a policy that places limit orders near the touch pays less. On the
    # same held-out episodes (paired, so the market's drift cancels) the hybrid, even after the quick run's
    # 192 episodes, is cheaper than TWAP: measured -1.5 bps with a paired standard error of ~0.5 bps; the
    # bound only asks for the sign.
    assert rows[("hybrid", "held_out_days")]["vs_twap_agent_bps_mean"] < 0
    curves = {c["agent"] for c in data["curves"]}
    assert curves == {"continuous", "discrete", "hybrid"}
    for c in data["curves"]:
        assert c["episodes"][0] == 0 and c["episodes"][-1] == 192 and len(c["shortfall_bps"]) == len(c["episodes"])


def test_the_results_page_shows_the_full_runs_json():
    from pathlib import Path

    from workbench.execution.experiments import markdown_tables
    from workbench.results_pages import fill

    docs = Path(__file__).resolve().parents[2] / "docs"
    data = json.loads((docs / "results" / "execution.json").read_text())
    tables = markdown_tables(data)
    assert set(tables) == {"main", "per_stock", "curves", "seeds"}
    page = (docs / "execution.md").read_text()
    assert fill(page, tables) == page  # `python -m workbench.results_pages` has nothing to change
    row = next(r for r in data["results"] if (r["agent"], r["eval"]) == ("hybrid", "held_out_stocks"))
    cell = f"{row['vs_twap_agent_bps_mean']:+.2f} ± {row['vs_twap_agent_bps_std']:.2f}".replace("-", "−")
    assert cell in tables["main"].splitlines()[-1]
    # the seed shipped is, per learner, the one whose kept checkpoint had the lowest validation cost
    for line, agent in zip(tables["seeds"].splitlines()[2:], ("continuous", "discrete", "hybrid")):
        val = {c["seed"]: min(c["val_cost_bps"]) for c in data["curves"] if c["agent"] == agent}
        assert f"| seed {min(val, key=val.get)} |" in line and f"**{min(val.values()):.3f}**" in line
    with pytest.raises(ValueError, match="data: expected the execution reproduce JSON"):
        markdown_tables({"results": []})
