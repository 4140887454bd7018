import pytest

from workbench.execution.market import MarketDay
from workbench.execution.synthetic import simulate_day


@pytest.fixture(scope="session")
def day():
    """Two minutes of the mid-tick synthetic stock (one tick = 100 price units = 2 bps at 50 dollars)."""
    return MarketDay.from_synthetic(simulate_day("mid_tick", seed=0, seconds=120))
