"""The checked exercises of ``notebooks/execution.ipynb`` (:mod:`workbench.exercises`).

Each checker computes the truth from the library: the order book's own matching, the environment's shortfall,
the agents' own episodes. The data an exercise is about is defined here once, and the notebook shows it from here.

* ``execution.shortfall_bps``: the implementation shortfall of :data:`SHORTFALL_FILLS`, a sell, against
  :data:`SHORTFALL_ARRIVAL`;
* ``execution.first_fill``: which of orders 22 and 23 fills first after :data:`QUEUE_EVENTS` (price-time priority;
  a price change or a size increase sends an order to the back of its new queue);
* ``execution.paired_difference``: the mean over :func:`paired_setting`'s episodes of ``improve_1t``'s shortfall
  minus ``limit_+0t``'s, each episode with itself.
"""

from __future__ import annotations

import numpy as np

from workbench.exercises import exercise, is_close

__all__ = ["SHORTFALL_FILLS", "SHORTFALL_ARRIVAL", "QUEUE_EVENTS", "queue_book", "first_fill", "paired_setting",
           "paired_difference"]

#: ``(price in dollars x 10^4, shares)`` of the fills of a sell order of 300 shares
SHORTFALL_FILLS = ((999_900, 100), (1_000_200, 150), (999_500, 50))
SHORTFALL_ARRIVAL = 1_000_000  # the arrival mid, 100.00 $

#: calls on an empty ``OrderBook(tick_size=100)``, in order: ``(method, *arguments)``; every order sells
QUEUE_EVENTS = (
    ("add", 1, -1, 10_100, 100),    # order 1: 100 shares at 1.01 $
    ("add", 23, -1, 10_100, 50),    # order 23: 50 shares at 1.01 $, behind order 1
    ("add", 22, -1, 10_200, 80),    # order 22: 80 shares at 1.02 $
    ("modify", 22, None, 10_100),   # order 22 moves its price to 1.01 $
    ("modify", 23, 80, None),       # order 23 raises its size to 80 shares
)


@exercise("execution.shortfall_bps", hint="average the fill prices weighted by their shares, then "
          "(arrival - average) / arrival in bps: a sell that fills below the arrival mid costs a positive shortfall")
def _shortfall(answer):
    from workbench.execution.env import shortfall_bps

    shares = sum(q for _, q in SHORTFALL_FILLS)
    avg = sum(p * q for p, q in SHORTFALL_FILLS) / shares
    return is_close(answer, shortfall_bps(avg, SHORTFALL_ARRIVAL, -1), rel=1e-3, abs_tol=1e-3)


def queue_book():
    """The :class:`~workbench.execution.book.OrderBook` after :data:`QUEUE_EVENTS`."""
    from workbench.execution.book import OrderBook

    book = OrderBook(tick_size=100)
    for method, *args in QUEUE_EVENTS:
        if method == "add":
            book.add(*args)
        else:
            oid, size, price = args
            book.modify(oid, size=size, price=price)
    return book


def first_fill(candidates=(22, 23)) -> int:
    """The first of ``candidates`` to trade when buyers arrive one share at a time at :func:`queue_book`."""
    book = queue_book()
    while True:
        fills = book.market(1, 1)
        if not fills:
            raise RuntimeError(f"candidates: none of {candidates} traded before the book emptied")
        if fills[0].maker_id in candidates:
            return fills[0].maker_id


@exercise("execution.first_fill", hint="at one price the older order trades first; but a price change or a size "
          "increase counts as a new order at the back of the queue (a size decrease keeps its place)")
def _first_fill(answer):
    if answer not in (22, 23):
        return "answer with an order id: 22 or 23"
    return answer == first_fill()


def paired_setting():
    """``(env, episodes)``: the quick run's held-out day of ``mid_tick`` (seed 100) in the execution task
    (:func:`~workbench.execution.experiments.task_env`), 8 episodes evenly spaced through it."""
    from workbench.execution.experiments import QUICK, episode_starts, synthetic_days, task_env

    env = task_env(synthetic_days("mid_tick", [100], QUICK.day_seconds))
    return env, episode_starts(env, 8)


def paired_difference() -> float:
    """Mean over :func:`paired_setting`'s episodes of ``improve_1t``'s shortfall minus ``limit_+0t``'s, in bps."""
    from workbench.execution.agents import FixedOffsetAgent, QuoteImprovingAgent
    from workbench.execution.ppo import evaluate

    env, episodes = paired_setting()
    a, b = ([m["shortfall_bps"] for m in evaluate(agent, env, episodes)]
            for agent in (QuoteImprovingAgent(), FixedOffsetAgent(0)))
    return float(np.mean(np.subtract(a, b)))


@exercise("execution.paired_difference", hint="evaluate both agents on the same episodes (`evaluate(agent, env, "
          "episodes)`), subtract the shortfalls episode by episode, then average")
def _paired(answer):
    return is_close(answer, paired_difference(), rel=1e-3, abs_tol=1e-3)
