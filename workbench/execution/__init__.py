"""Optimal execution with limit orders (Pan et al., IJCAI 2022): hybrid continuous/discrete RL on a limit order book.

Core API (no UI imports): :class:`OrderBook`, a price-time priority book with integer prices and
sizes; the LOBSTER message/orderbook readers (:mod:`~workbench.execution.lobster`); :func:`replay` of a
message stream onto a book (:mod:`~workbench.execution.replay`), and :func:`check_replay`, which
verifies the replay against LOBSTER's own snapshots (:mod:`~workbench.execution.replay_check`); the replay
benchmark (``python -m workbench.execution.bench``); a synthetic market in the same format
(:func:`simulate_day`); :class:`MarketDay` and the gymnasium environment :class:`ExecutionEnv`; the
agents (TWAP, VWAP, fixed offsets, and the continuous, discrete and hybrid PPO policies:
:mod:`~workbench.execution.agents`, :mod:`~workbench.execution.hybrid`) and PPO; the shipped weights
(:func:`load_policy`, written by ``python -m workbench.execution.ship``). How the hybrid was found:
:mod:`workbench.execution.research`.
"""

from workbench.execution.book import BUY, SELL, Depth, Fill, Fills, Order, OrderBook
from workbench.execution.lobster import (
    ASK_DUMMY, BID_DUMMY, EVENT_TYPES, Message, Messages, Snapshots, load_sample, read_messages, read_orderbook,
)
from workbench.execution.replay import InitialBook, Replay, initial_book, replay
from workbench.execution.replay_check import Mismatch, ReplayCheck, check_replay
from workbench.execution.market import OPEN, MarketDay
from workbench.execution.synthetic import STOCKS, SyntheticDay, SyntheticStock, simulate_day
from workbench.execution.env import MARKET, ChildFill, EpisodeLog, ExecutionEnv
from workbench.execution.agents import (
    ContinuousPolicy, DiscretePolicy, FixedOffsetAgent, QuoteImprovingAgent, TWAPAgent, VWAPAgent,
)
from workbench.execution.hybrid import HybridPolicy
from workbench.execution.learners import LEARNED_AGENTS, make_policy
from workbench.execution.policies import load_policy
from workbench.execution.ppo import PPOConfig, evaluate, rollout, train

__all__ = [
    "OrderBook", "Fill", "Fills", "Order", "Depth", "BUY", "SELL",
    "Messages", "Message", "Snapshots", "InitialBook", "Replay", "ReplayCheck", "Mismatch",
    "read_messages", "read_orderbook", "initial_book", "replay", "check_replay", "load_sample",
    "EVENT_TYPES", "ASK_DUMMY", "BID_DUMMY", "synthetic_messages", "replay_throughput",
    "MarketDay", "OPEN", "SyntheticStock", "SyntheticDay", "STOCKS", "simulate_day",
    "ExecutionEnv", "ChildFill", "EpisodeLog", "MARKET",
    "TWAPAgent", "VWAPAgent", "FixedOffsetAgent", "QuoteImprovingAgent", "ContinuousPolicy", "DiscretePolicy",
    "HybridPolicy", "LEARNED_AGENTS", "make_policy", "load_policy",
    "PPOConfig", "train", "evaluate", "rollout", "reproduce", "Explorer", "warmup",
]


def __getattr__(name):
    # lazy, so that ``python -m workbench.execution.bench`` does not import its module twice
    if name in ("synthetic_messages", "replay_throughput"):
        from workbench.execution import bench

        return getattr(bench, name)
    if name == "reproduce":
        from workbench.execution.experiments import reproduce

        return reproduce
    if name == "Explorer":
        from workbench.execution.explorer import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warmup() -> None:
    """Simulate the explorer's default synthetic day once, before the first visitor."""
    from workbench.execution.explorer import default_episode

    default_episode()
