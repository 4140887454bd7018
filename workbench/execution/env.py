"""Optimal execution as a gymnasium environment: sell (or buy) ``volume`` shares within ``steps`` steps.

Each step lasts ``step_seconds`` of market time. The agent places one child order; the previous one is
cancelled first. Action ``[offset_bps]`` or ``[offset_bps, size_fraction]``:

* the limit price is ``offset_bps`` basis points from the near touch (the best ask for a sell, the best
  bid for a buy), positive = more passive, rounded to the tick; an offset at or below
  :data:`MARKET` is a market order. A price that crosses the spread executes at once against the
  visible book (a marketable limit order); the rest rests;
* the size is ``size_fraction`` of the inventory left (default: the TWAP slice, ``1 / steps left``).

Fills of a resting order come from the replayed messages with price-time priority: the shares ahead of
us are the visible volume at our price when we join; cancellations and executions of orders that
arrived before ours reduce it; an execution of an order that arrived after ours, an execution at a
price worse than ours (a trade-through) or a new opposite order that crosses our price fills us
instead, at our price. Our orders do not change the replayed flow (no market impact). Unexecuted shares
are sold with a market order after the last step; beyond the visible depth they fill one tick beyond
the last visible level.

Observation (``N_FEATURES = 12``, scaled to a few units, clipped to +-10): time left and inventory left
(fractions), spread in ticks / 10, tick size in bps / 10, level-1 and level-5 imbalance and the mid's move
since arrival (signed so that + favours us), the last child order's fill ratio, log queue at our near
touch relative to the slice, the last step's mid return and volatility (bps / 10), and the schedule
deficit (inventory left minus time left).

Reward per step (``reward="arrival"``), in basis points of the parent order:
:math:`r_t = \\sum_{fills} q\\,\\epsilon\\,(p - P_0)/P_0 \\cdot 10^4 / V` with :math:`\\epsilon = +1` for a sell and
:math:`-1` for a buy, :math:`P_0` the arrival mid.
The episode's return is minus the implementation shortfall. ``info`` at the end carries
``shortfall_bps`` (cost, positive = worse than arrival), ``pa_twap_bps`` and ``pa_vwap_bps`` (price
advantage over the period's TWAP of the mid and VWAP of the trades; positive = better) and
``markout_cost_bps``: the fills priced against their step's end mid :math:`M_{t+1}` instead of :math:`P_0`
(minus the return under ``reward="markout"``). It equals the shortfall plus
:math:`\\epsilon \\sum_t X_t (M_{t+1} - M_t) / P_0 \\cdot 10^4 / V`, the drift on the inventory :math:`X_t` held
through each step, so it has the shortfall's expectation when the mid is a martingale, without the drift's
variance: a day's trend no longer rewards whoever rests deeper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from workbench.execution.market import MarketDay

__all__ = ["ExecutionEnv", "ChildFill", "EpisodeLog", "MARKET", "N_FEATURES", "shortfall_bps"]

MARKET = -1e6  # an offset at or below this is a market order
N_FEATURES = 12
REWARDS = ("arrival", "decision", "markout")
OBS_BOUND = 10.0  # every feature is scaled to a few units; clipped to +-10


def shortfall_bps(avg_price: float, arrival_mid: float, side: int) -> float:
    """The implementation shortfall of executing at ``avg_price`` against ``arrival_mid``, in basis points:
    :math:`\\epsilon\\,(P_0 - \\bar p)/P_0 \\cdot 10^4` with :math:`\\epsilon = -\\mathrm{side}` (+1 for a sell); a
    cost, positive = worse than arrival."""
    if side not in (-1, 1):
        raise ValueError(f"side: expected -1 (sell) or +1 (buy), got {side!r}")
    if not arrival_mid > 0:
        raise ValueError(f"arrival_mid: expected a positive price, got {arrival_mid!r}")
    return float(-side * (arrival_mid - avg_price) / arrival_mid * 1e4)


@dataclass(frozen=True)
class ChildFill:
    """One fill of our child order: message index, time, price (price units), shares, and how."""

    index: int
    time: float
    price: int
    size: int
    kind: str  # "cross" (took liquidity on placement), "passive", "final" (end-of-horizon market order)


@dataclass
class EpisodeLog:
    """What happened in an episode, for the replay view: per step the order and its fills."""

    day: str
    side: int
    volume: int
    start_index: int
    arrival_mid: float
    step_index: list[int] = field(default_factory=list)  # message index at each step start
    orders: list[tuple[int, int]] = field(default_factory=list)  # (price, size) placed each step
    fills: list[ChildFill] = field(default_factory=list)
    inventory: list[int] = field(default_factory=list)  # shares left after each step
    extras: list[dict] = field(default_factory=list)  # agent-specific (e.g. the hybrid's window)


class ExecutionEnv(gym.Env):
    """Execution of a parent order on replayed LOBSTER-format days.

    Args:
        days: one or more :class:`MarketDay` to draw episodes from.
        side: ``-1`` sell (default), ``+1`` buy.
        volume: parent order in shares, or a function ``day -> shares`` (e.g. a share of its typical volume).
        steps: decisions per episode; step_seconds: market time per step.
        max_offset_bps: offsets are clipped to ``[-max_offset_bps, max_offset_bps]`` unless a market order.
        reward: ``"arrival"`` (fills against the arrival mid: the return is minus the shortfall) or
            ``"decision"`` (fills against the mid when the step's order was placed: the execution part of
            the shortfall without the price drift before each decision, a lower-variance training signal but
            blind to adverse selection: an unfilled passive order is never charged for the move that left it
            unfilled) or ``"markout"`` (fills against the mid at the end of the step: the change of the
            marked-to-market value minus :math:`X_t (M_{t+1} - M_t)`, the drift on the inventory held at the
            step's start; that term is fixed before the action and has mean zero when the mid is a martingale,
            so the expected return is still minus the shortfall, with the drift's variance removed and adverse
            selection kept: a passive fill that precedes a favourable move scores less).
    """

    metadata = {"render_modes": []}

    def __init__(self, days, side: int = -1, volume: int = 1000, steps: int = 10, step_seconds: float = 10.0,
                 max_offset_bps: float = 50.0, reward: str = "arrival"):
        days = [days] if isinstance(days, MarketDay) else list(days)
        if not days or not all(isinstance(d, MarketDay) for d in days):
            raise TypeError("days: expected a MarketDay or a non-empty list of them")
        if side not in (-1, 1):
            raise ValueError(f"side: expected -1 (sell) or +1 (buy), got {side!r}")
        if not callable(volume) and (not isinstance(volume, (int, np.integer)) or volume <= 0):
            raise ValueError(f"volume: expected a positive integer number of shares (or a function of the day), "
                             f"got {volume!r}")
        if not isinstance(steps, (int, np.integer)) or steps <= 0:
            raise ValueError(f"steps: expected a positive integer, got {steps!r}")
        if not step_seconds > 0:
            raise ValueError(f"step_seconds: expected a positive duration, got {step_seconds!r}")
        if reward not in REWARDS:
            raise ValueError(f"reward: expected one of {REWARDS}, got {reward!r}")
        horizon = steps * step_seconds
        short = [d.name for d in days if d.end - d.start < horizon]
        if short:
            raise ValueError(f"steps * step_seconds: the horizon {horizon:g} s is longer than day(s) {short}")
        self.days, self.side, self.steps = days, side, int(steps)
        self._volume = volume if callable(volume) else int(volume)
        self.volume = self._volume if not callable(volume) else None
        self.step_seconds, self.max_offset_bps = float(step_seconds), float(max_offset_bps)
        self.reward_mode = reward
        self.observation_space = gym.spaces.Box(-OBS_BOUND, OBS_BOUND, shape=(N_FEATURES,), dtype=np.float32)
        self.action_space = gym.spaces.Box(np.array([-max_offset_bps, 0.0], dtype=np.float32),
                                           np.array([max_offset_bps, 1.0], dtype=np.float32))
        self.log: EpisodeLog | None = None

    # -- state helpers ------------------------------------------------------------------
    @property
    def day(self) -> MarketDay:
        return self._day

    @property
    def tick(self) -> int:
        return self._day.tick

    @property
    def index(self) -> int:
        """The index of the message after which the current decision is taken: the book the agent sees is
        ``day``'s after message ``index``."""
        return self._i

    @property
    def steps_done(self) -> int:
        """Decisions taken so far in the episode, ``0 .. steps``."""
        return self._t

    @property
    def remaining(self) -> int:
        """Shares of the parent order not executed yet."""
        return self._remaining

    @property
    def near_touch(self) -> int:
        """Best price on our own side: the best ask for a sell, the best bid for a buy."""
        return self._day.near_touch(self._i, self._rest_side)

    @property
    def _rest_side(self) -> int:
        """Book side where our resting order sits: asks (-1) for a sell, bids (+1) for a buy."""
        return self.side

    @property
    def spread_ticks(self) -> float:
        """The current spread in ticks (1 when a side of the book is empty)."""
        d, i = self._day, self._i
        bid, ask = d.best(i, 1), d.best(i, -1)
        return (ask - bid) / d.tick if bid is not None and ask is not None else 1.0

    def ticks_to_bps(self, ticks: float) -> float:
        """An offset of ``ticks`` ticks from the near touch, in basis points of it."""
        return float(ticks) * self.tick / self.near_touch * 1e4

    def price_for(self, offset_bps: float) -> int:
        """The limit price (price units, on the tick grid) for an offset from the near touch."""
        near = self.near_touch
        raw = near * (1 + (offset_bps / 1e4) * (1 if self.side == -1 else -1))
        return max(self.tick, int(round(raw / self.tick)) * self.tick)

    def _observation(self) -> np.ndarray:
        d, i = self._day, self._i
        mid = d.mid(i)
        bp, bs = d.side_levels(i, 1)
        ap, as_ = d.side_levels(i, -1)
        imb1 = (bs[:1].sum() - as_[:1].sum()) / max(1, bs[:1].sum() + as_[:1].sum())
        imb5 = (bs[:5].sum() - as_[:5].sum()) / max(1, bs[:5].sum() + as_[:5].sum())
        eps = -self.side  # +1 when a higher price is good for us (a sell)
        move = eps * (mid - self._arrival) / self._arrival * 1e4
        prev = d.mid(self._prev_i)
        ret = eps * (mid - prev) / prev * 1e4
        window = d.mids()[self._prev_i:i + 1] if i > self._prev_i else np.array([mid])
        vol = float(np.std(np.diff(window)) / mid * 1e4) if len(window) > 2 else 0.0
        slice_ = max(1, self._remaining / max(1, self.steps - self._t))
        near_q = d.volume_at(i, self._rest_side, self.near_touch)
        time_left = (self.steps - self._t) / self.steps
        obs = [time_left, self._remaining / self.volume, min(self.spread_ticks, 20) / 10, d.tick / mid * 1e4 / 10,
               imb1 * eps, imb5 * eps, np.clip(move / 10, -5, 5), self._last_fill_ratio,
               math.log1p(near_q / slice_) / 5, np.clip(ret / 10, -5, 5), min(vol, 50) / 10,
               self._remaining / self.volume - time_left]
        return np.clip(np.asarray(obs, dtype=np.float32), -OBS_BOUND, OBS_BOUND)

    # -- gymnasium API --------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        k = options.get("day", int(self.np_random.integers(len(self.days))))
        if not 0 <= k < len(self.days):
            raise ValueError(f"options['day']: expected an index in [0, {len(self.days)}), got {k!r}")
        self._day = d = self.days[k]
        horizon = self.steps * self.step_seconds
        latest = d.end - horizon
        first = min(d.session_start, latest)
        start = options.get("start", first + float(self.np_random.uniform(0, max(0.0, latest - first))))
        if not d.start <= start <= latest + 1e-9:
            raise ValueError(f"options['start']: expected a time in [{d.start}, {latest}], got {start!r}")
        self._t0 = float(start)
        self.volume = int(self._volume(d)) if callable(self._volume) else self._volume
        if self.volume <= 0:
            raise ValueError(f"volume: expected a positive number of shares for day {d.name}, got {self.volume}")
        self._i = self._prev_i = max(0, d.index_at(self._t0))
        self._arrival = d.mid(self._i)
        self._remaining, self._t, self._last_fill_ratio = self.volume, 0, 0.0
        self._cash = 0.0  # sum of price x size of our fills
        self._markout = 0.0  # the fills' value against their step's end mid (bps of the parent order)
        self.log = EpisodeLog(d.name, self.side, self.volume, self._i, self._arrival)
        return self._observation(), {"arrival_mid": self._arrival, "day": d.name}

    def step(self, action, extras: dict | None = None):
        if self.log is None or self._t >= self.steps:
            raise RuntimeError("step: call reset() first (the episode is over)")
        a = np.atleast_1d(np.asarray(action, dtype=np.float64))
        if a.shape not in ((1,), (2,)) or not np.isfinite(a).all():
            raise ValueError(f"action: expected [offset_bps] or [offset_bps, size_fraction], finite, got {action!r}")
        price, size, i_end = self._limit_price(a[0]), self._child_size(a), self._step_end()
        self.log.step_index.append(self._i)
        self.log.orders.append((price if price is not None else -1, size))
        self.log.extras.append(dict(extras or {}))
        fills = self._execute_child(price, size, self._i, i_end) if size > 0 else []
        filled = sum(f.size for f in fills)
        self._prev_i, self._i = self._i, i_end
        self._t += 1
        if self._t == self.steps and self._remaining - filled > 0:
            fills += self._sweep(self._remaining - filled, i_end, "final")
        markout = self._account(fills, self._day.mid(i_end))  # books the fills; their value against the end mid
        self._markout += markout
        reward = markout if self.reward_mode == "markout" else self._value(fills, self._reference_mid())
        self._last_fill_ratio = filled / size if size else 0.0
        self.log.inventory.append(self._remaining)
        done = self._t == self.steps
        info = self.metrics() if done else {}
        return self._observation(), float(reward), done, False, info

    def _child_size(self, a: np.ndarray) -> int:
        """Shares of this step's child order: the TWAP slice (all that is left at the last step) for ``[offset]``,
        ``size_fraction`` of the inventory left for ``[offset, size_fraction]``."""
        steps_left = self.steps - self._t
        frac = float(np.clip(a[1], 0.0, 1.0)) if a.shape == (2,) else 1.0 / steps_left
        size = self._remaining if steps_left == 1 and a.shape == (1,) else int(round(self._remaining * frac))
        return min(self._remaining, max(0, size))

    def _limit_price(self, offset_bps: float) -> int | None:
        """The child's limit price for an action's offset (clipped to ``max_offset_bps``); None: a market order."""
        if offset_bps <= MARKET:
            return None
        return self.price_for(float(np.clip(offset_bps, -self.max_offset_bps, self.max_offset_bps)))

    def _step_end(self) -> int:
        """Index of the message at which this step ends (the child order is cancelled there)."""
        return max(self._i, self._day.index_at(self._t0 + (self._t + 1) * self.step_seconds))

    def what_if(self, offsets_bps) -> tuple[np.ndarray, bool, np.ndarray]:
        """What this step would give for each candidate offset (a TWAP-sized child order), the episode unchanged.

        Exact on a replay, where our orders do not move the book. Returns the markout values ``(n,)`` (the step's
        fills, the final liquidation included at the last step, against the step's end mid: the reward under
        ``reward="markout"``), whether the step ends the episode, and the next observations ``(n, N_FEATURES)``.
        """
        if self.log is None or self._t >= self.steps:
            raise RuntimeError("what_if: call reset() first (the episode is over)")
        size, i_end, last = self._child_size(np.ones(1)), self._step_end(), self._t + 1 == self.steps
        # the prices read the near touch at the decision; fills and values do not depend on the episode's state
        prices = [self._limit_price(o) for o in np.asarray(offsets_bps, dtype=np.float64).tolist()]
        saved = (self._i, self._prev_i, self._t, self._remaining, self._last_fill_ratio)
        values, observations = [], []
        try:
            for price in prices:
                fills = self._execute_child(price, size, saved[0], i_end) if size > 0 else []
                filled = sum(f.size for f in fills)
                if last and saved[3] - filled > 0:
                    fills += self._sweep(saved[3] - filled, i_end, "final")
                values.append(self._value(fills, self._day.mid(i_end)))
                # the state step() would leave, for the next observation
                self._prev_i, self._i, self._t = saved[0], i_end, saved[2] + 1
                self._remaining = saved[3] - sum(f.size for f in fills)
                self._last_fill_ratio = filled / size if size else 0.0
                observations.append(self._observation())
        finally:
            self._i, self._prev_i, self._t, self._remaining, self._last_fill_ratio = saved
        return np.asarray(values), last, np.stack(observations)

    def _reference_mid(self) -> float:
        """The mid the step's fills are priced against under ``reward="arrival"`` or ``"decision"``: the arrival
        mid or the step's decision mid (``"markout"`` uses the end mid, valued in :meth:`step`)."""
        return self._day.mid(self._prev_i) if self.reward_mode == "decision" else self._arrival

    # -- fills ------------------------------------------------------------------------------
    def _value(self, fills: list[ChildFill], reference: float) -> float:
        """The fills' value against ``reference``, in bps of the parent order:
        :math:`\\sum q\\,\\epsilon\\,(p - ref) / P_0 \\cdot 10^4 / V`."""
        eps, r = -self.side, 0.0
        for f in fills:
            r += f.size * eps * (f.price - reference) / self._arrival * 1e4 / self.volume
        return r

    def _account(self, fills: list[ChildFill], reference: float) -> float:
        for f in fills:
            self._remaining -= f.size
            self._cash += f.price * f.size
            self.log.fills.append(f)
        return self._value(fills, reference)

    def _sweep(self, size: int, i: int, kind: str, limit: int | None = None) -> list[ChildFill]:
        """Take up to ``size`` shares from the visible opposite side at message ``i`` (no impact)."""
        d, opp = self._day, -self.side
        prices, sizes = d.side_levels(i, opp)
        t = float(d.messages.time[i])
        fills = []
        for p, q in zip(prices.tolist(), sizes.tolist()):
            if size <= 0 or (limit is not None and (p < limit if self.side == -1 else p > limit)):
                break
            take = min(size, q)
            fills.append(ChildFill(i, t, int(p), int(take), kind))
            size -= take
        if size > 0 and limit is None:  # beyond the visible depth: one tick past the last level
            last = int(prices[-1]) if len(prices) else int(round(d.mid(i)))
            fills.append(ChildFill(i, t, last + self.side * d.tick, int(size), kind))
        return fills

    def _execute_child(self, price: int | None, size: int, i0: int, i1: int) -> list[ChildFill]:
        """Place at message ``i0`` (after it), keep until message ``i1``, cancel the rest."""
        if price is None:
            return self._sweep(size, i0, "cross")
        d = self._day
        fills = self._sweep(size, i0, "cross", limit=price)
        rem = size - sum(f.size for f in fills)
        if rem <= 0 or i1 <= i0:
            return fills
        our = self.side  # LOBSTER direction of our resting order: -1 sell (ask side), +1 buy (bid side)
        ahead = d.volume_at(i0, our, price)
        m = d.messages
        seg = slice(i0 + 1, i1 + 1)
        ty, px, sz, dr, arr = m.type[seg], m.price[seg], m.size[seg], m.direction[seg], d.arrival[seg]
        worse = (px > price) if our == -1 else (px < price)
        crosses = (px >= price) if our == -1 else (px <= price)
        relevant = ((dr == our) & ((px == price) | ((ty == 4) & worse))) | ((dr == -our) & (ty == 1) & crosses)
        for j in np.nonzero(relevant)[0].tolist():
            k = i0 + 1 + j
            t, q, p, direction, a = int(ty[j]), int(sz[j]), int(px[j]), int(dr[j]), int(arr[j])
            take = 0
            if direction == our and p == price:
                is_ahead = a <= i0  # arrived before we joined (or rested before the sample)
                if t in (2, 3) and is_ahead:
                    ahead = max(0, ahead - q)
                elif t == 4:
                    if is_ahead:
                        ahead = max(0, ahead - q)
                    else:  # the incoming order reached an order behind us: it would have taken us first
                        ahead, take = 0, min(rem, q)
            elif direction == our and t == 4:  # trade-through our price
                take = min(rem, q)
            elif direction == -our and t == 1:  # a new opposite order crossing our price
                take = min(rem, q)
            if take:
                fills.append(ChildFill(k, float(m.time[k]), price, take, "passive"))
                rem -= take
                if rem == 0:
                    break
        return fills

    # -- metrics ------------------------------------------------------------------------------
    def metrics(self) -> dict:
        """Shortfall and price advantage of the episode so far, in basis points."""
        d, log = self._day, self.log
        executed = self.volume - self._remaining
        avg = self._cash / executed if executed else self._arrival
        eps = -self.side
        i0, i1 = log.start_index, self._i
        twap = float(np.mean(d.mids()[i0:i1 + 1]))
        m = d.messages
        seg = slice(i0 + 1, i1 + 1)
        trades = (m.type[seg] == 4) | (m.type[seg] == 5)
        vol = m.size[seg][trades].sum()
        vwap = float((m.price[seg][trades] * m.size[seg][trades]).sum() / vol) if vol else twap
        return {
            "shortfall_bps": shortfall_bps(avg, self._arrival, self.side),
            "markout_cost_bps": -self._markout,
            "pa_twap_bps": float(eps * (avg / twap - 1) * 1e4),
            "pa_vwap_bps": float(eps * (avg / vwap - 1) * 1e4),
            "avg_price": avg, "arrival_mid": self._arrival, "twap": twap, "vwap": vwap,
            "executed": int(executed),
            "passive_share": sum(f.size for f in log.fills if f.kind == "passive") / self.volume,
        }
