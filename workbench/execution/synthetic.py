"""A synthetic market: zero-intelligence order flow anchored on a latent efficient price, as LOBSTER messages.

Events come from competing exponential clocks (a zero-intelligence model in the spirit of Farmer,
Patelli and Zovko, PNAS 2005, with a latent price for price discovery):

* a latent efficient price :math:`F_t` follows a Brownian motion with volatility ``sigma_bps`` basis
  points per square-root second;
* limit orders arrive on each side at rate :math:`\\lambda_L / (1 + D / \\bar D)` (``D``: shares resting on
  that side, :math:`\\bar D` = ``depth``: deep books refill more slowly); a buy is placed
  :math:`\\delta - 1` ticks below :math:`F_t` rounded down (a sell above it, rounded up), with
  :math:`\\delta \\ge 1` geometric with mean ``spacing``, and never crossing the spread. Small ``spacing``
  stacks liquidity at the touch (large-tick stocks, one-tick spreads); large ``spacing`` leaves gaps
  (small-tick stocks, spreads of several ticks);
* every resting order is cancelled at rate :math:`\\mu`; orders on the wrong side of :math:`F_t`
  (bids above it, asks below) are stale and cancelled at rate :math:`\\mu_{stale}`;
* market orders arrive at rate :math:`\\lambda_M (1 + |z|)`, :math:`z = (F_t - m_t)/\\delta_{tick}`, and buy
  with probability :math:`\\sigma(\\kappa z)`: informed flow picks off stale quotes, so the mid follows
  :math:`F_t`.

Sizes are lots of ``lot`` shares (1 + geometric number of extra lots, mean ``mean_lots``). Stocks differ by
tick size, price level, liquidity and volatility; :data:`STOCKS` holds four archetypes.

Output: :class:`~workbench.execution.lobster.Messages` in the LOBSTER format (the first messages build
the opening book just before 09:30; times in seconds after midnight) and the matching orderbook
snapshots, so the same replay, environment and views serve real and synthetic days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.execution.book import OrderBook
from workbench.execution.lobster import ASK_DUMMY, BID_DUMMY, Messages
from workbench.execution.market import OPEN

__all__ = ["SyntheticStock", "STOCKS", "blend_stock", "simulate_day", "SyntheticDay"]



@dataclass(frozen=True)
class SyntheticStock:
    """Parameters of one synthetic stock (prices in LOBSTER units: dollars x 10000).

    Args:
        name: label.
        tick: tick size in price units (100 = one cent).
        price: opening price in price units (a multiple of ``tick``).
        lot: shares per lot; mean_lots: mean lots per order.
        limit_rate: limit-order arrivals per second per side (``lambda_L``).
        spacing: mean distance in ticks of a new limit order from the latent price.
        depth: reference resting shares per side (``D bar``).
        cancel_rate, stale_cancel_rate: cancellations per second per order (``mu``, ``mu_stale``).
        market_rate: market orders per second (``lambda_M``).
        sigma_bps: volatility of the latent price in basis points per square-root second.
        kappa: how strongly market-order direction follows ``F - mid`` (per tick).
    """

    name: str
    tick: int = 100
    price: int = 500_000
    lot: int = 100
    mean_lots: float = 2.0
    limit_rate: float = 5.0
    spacing: float = 2.0
    depth: int = 20_000
    cancel_rate: float = 0.03
    stale_cancel_rate: float = 0.3
    market_rate: float = 0.8
    sigma_bps: float = 1.0
    kappa: float = 2.0

    def __post_init__(self):
        for name in ("tick", "price", "lot", "depth"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")
        if self.price % self.tick:
            raise ValueError(f"price: expected a multiple of tick={self.tick}, got {self.price}")
        for name in ("mean_lots", "limit_rate", "market_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: expected a positive number, got {getattr(self, name)!r}")
        if not self.spacing >= 1:
            raise ValueError(f"spacing: expected a number of ticks >= 1, got {self.spacing!r}")
        for name in ("cancel_rate", "stale_cancel_rate", "sigma_bps", "kappa"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name}: expected a non-negative number, got {getattr(self, name)!r}")

    @property
    def tick_bps(self) -> float:
        return self.tick / self.price * 1e4


#: Archetypes: a large-tick liquid stock (5 bps ticks, one-tick spread), a mid-tick one, a small-tick one
#: (0.5 bps ticks, spreads of several ticks) and a cheap, thin one.
STOCKS: dict[str, SyntheticStock] = {
    s.name: s
    for s in [
        SyntheticStock("large_tick", tick=100, price=200_000, spacing=1.2, limit_rate=8.0, depth=40_000,
                       market_rate=1.0, mean_lots=3.0, sigma_bps=1.5),
        SyntheticStock("mid_tick", tick=100, price=500_000, spacing=2.0, limit_rate=5.0, depth=20_000,
                       market_rate=0.8, sigma_bps=1.0),
        SyntheticStock("small_tick", tick=100, price=2_000_000, spacing=8.0, limit_rate=4.0, depth=6_000,
                       market_rate=0.6, mean_lots=1.5, sigma_bps=1.0),
        SyntheticStock("illiquid", tick=50, price=100_000, spacing=2.5, limit_rate=2.0, depth=8_000,
                       market_rate=0.3, sigma_bps=2.0),
    ]
}


_BLENDED = ("price", "mean_lots", "limit_rate", "spacing", "depth", "cancel_rate", "stale_cancel_rate",
            "market_rate", "sigma_bps", "kappa")


def blend_stock(seed: int, archetypes: tuple[str, ...] = ("large_tick", "mid_tick", "small_tick"),
                weight_range: tuple[float, float] = (0.2, 0.8)) -> SyntheticStock:
    """A new stock between two archetypes: held-out stocks drawn from the range the agents were trained on.

    Two distinct ``archetypes`` ``a, b`` and a weight ``w ~ U(weight_range)`` are drawn with ``seed``; every
    parameter is the geometric mean :math:`p = p_a^{1-w} p_b^{w}` (price, depth: rounded to the tick, to an
    integer), so tick size in bps, spacing, liquidity and volatility all lie between the two. The archetypes
    must share their ``tick`` and ``lot``. Named ``blend_<seed>``.
    """
    if len(archetypes) < 2 or any(a not in STOCKS for a in archetypes):
        raise ValueError(f"archetypes: expected at least two names from {sorted(STOCKS)}, got {archetypes!r}")
    lo, hi = weight_range
    if not 0 <= lo <= hi <= 1:
        raise ValueError(f"weight_range: expected 0 <= low <= high <= 1, got {weight_range!r}")
    rng = np.random.default_rng(seed)
    i, j = rng.choice(len(archetypes), size=2, replace=False)
    a, b = STOCKS[archetypes[i]], STOCKS[archetypes[j]]
    if a.tick != b.tick or a.lot != b.lot:
        raise ValueError(f"archetypes: {a.name} and {b.name} must share tick and lot to be blended")
    w = float(rng.uniform(lo, hi))
    values = {k: getattr(a, k) ** (1 - w) * getattr(b, k) ** w for k in _BLENDED}
    values["price"] = max(1, round(values["price"] / a.tick)) * a.tick
    values["depth"] = max(1, round(values["depth"]))
    return SyntheticStock(f"blend_{seed}", tick=a.tick, lot=a.lot, **values)


@dataclass
class SyntheticDay:
    """One simulated session: the messages, the ``(n, 4 levels)`` snapshots after each, and the latent price."""

    stock: SyntheticStock
    seed: int
    messages: Messages
    orderbook: np.ndarray
    latent_price: np.ndarray  # (n,) F_t at each message, price units

    @property
    def name(self) -> str:
        return f"{self.stock.name} (synthetic, seed {self.seed})"


def _snapshot_row(book: OrderBook, levels: int) -> np.ndarray:
    """The book's top ``levels`` in LOBSTER's orderbook-row layout, padded with LOBSTER's dummies."""
    row = np.zeros((levels, 4), dtype=np.int64)
    row[:, 0], row[:, 2] = ASK_DUMMY, BID_DUMMY
    for j, (p, q) in enumerate(book.levels(-1, levels)):
        row[j, 0], row[j, 1] = p, q
    for j, (p, q) in enumerate(book.levels(1, levels)):
        row[j, 2], row[j, 3] = p, q
    return row.reshape(-1)


class _Flow:
    """Mutable simulation state; one instance per simulated day."""

    def __init__(self, stock: SyntheticStock, rng: np.random.Generator, snapshot_levels: int):
        self.s, self.rng, self.book = stock, rng, OrderBook(tick_size=stock.tick)
        self.snapshot_levels = snapshot_levels
        self.next_id = 1
        self.rows: list[tuple] = []
        self.snaps: list[np.ndarray] = []
        self.latent: list[float] = []
        self.ids: list[int] = []  # resting ids, swap-remove list
        self.pos: dict[int, int] = {}

    # -- bookkeeping -----------------------------------------------------------------
    def _track(self, oid: int):
        self.pos[oid] = len(self.ids)
        self.ids.append(oid)

    def _untrack(self, oid: int):
        i = self.pos.pop(oid)
        last = self.ids.pop()
        if last != oid:
            self.ids[i] = last
            self.pos[last] = i

    def _size(self) -> int:
        return self.s.lot * int(self.rng.geometric(1.0 / self.s.mean_lots))

    def stale(self, f: float) -> list[tuple[int, int]]:
        """``[(side, price), ...]`` of levels on the wrong side of the latent price ``f``."""
        out = [(1, p) for p, _ in self.book.levels(1) if p > f]
        return out + [(-1, p) for p, _ in self.book.levels(-1) if p < f]

    def _record(self, t, kind, oid, size, price, direction, f):
        self.rows.append((t, kind, oid, size, price, direction))
        self.snaps.append(_snapshot_row(self.book, self.snapshot_levels))
        self.latent.append(f)

    # -- events ------------------------------------------------------------------------
    def limit(self, t, side, price, f, size=None):
        oid, size = self.next_id, size or self._size()
        self.next_id += 1
        self.book.add(oid, side, price, size, time=t)
        self._track(oid)
        self._record(t, 1, oid, size, price, side, f)

    def cancel(self, t, f, level: tuple[int, int] | None = None):
        """Cancel a uniformly chosen resting order (or one at ``level = (side, price)``)."""
        if level is None:
            oid = self.ids[int(self.rng.integers(len(self.ids)))]
        else:
            queue = self.book.queue(*level)
            oid = queue[int(self.rng.integers(len(queue)))][0]
        price, size, side = self.book.order(oid)
        if size > self.s.lot and self.rng.random() < 0.3:  # partial cancellation
            part = self.s.lot * int(self.rng.integers(1, size // self.s.lot))
            self.book.cancel(oid, part)
            self._record(t, 2, oid, part, price, side, f)
            return
        self.book.delete(oid)
        self._untrack(oid)
        self._record(t, 3, oid, size, price, side, f)

    def market(self, t, buy: bool, f):
        """A market order as LOBSTER writes it: one type-4 execution per resting order it hits."""
        size = self._size()
        side = -1 if buy else 1  # side of the resting orders that get executed
        while size > 0:
            best = self.book.best_ask() if buy else self.book.best_bid()
            if best is None:
                return
            oid, rest = self.book.queue(side, best)[0]
            take = min(rest, size)
            self.book.execute(oid, take, time=t)
            size -= take
            if take == rest:
                self._untrack(oid)
            self._record(t, 4, oid, take, best, side, f)


def simulate_day(stock: SyntheticStock | str, seed: int = 0, seconds: float = 1800.0,
                 snapshot_levels: int = 10) -> SyntheticDay:
    """Simulate ``seconds`` of trading from the open; returns messages and snapshots in LOBSTER format.

    Deterministic under ``seed``. About ``(2 limit_rate + market_rate + ...) * seconds`` messages.
    """
    if isinstance(stock, str):
        if stock not in STOCKS:
            raise ValueError(f"stock: expected one of {sorted(STOCKS)} or a SyntheticStock, got {stock!r}")
        stock = STOCKS[stock]
    if not isinstance(stock, SyntheticStock):
        raise TypeError(f"stock: expected a SyntheticStock or a name, got {type(stock).__name__}")
    if not seconds > 0:
        raise ValueError(f"seconds: expected a positive duration, got {seconds!r}")
    rng = np.random.default_rng(seed)
    flow = _Flow(stock, rng, snapshot_levels)
    s, tick = stock, stock.tick
    f = float(stock.price)

    def limit_price(side: int) -> int:
        delta = int(rng.geometric(1.0 / s.spacing))  # >= 1
        bid, ask = flow.book.best_bid(), flow.book.best_ask()
        if side == 1:
            p = int(math.floor(f / tick)) * tick - (delta - 1) * tick
            return max(tick, min(p, ask - tick) if ask is not None else p)
        p = int(math.ceil(f / tick)) * tick + (delta - 1) * tick
        return max(p, bid + tick) if bid is not None else p

    # opening book: build depth on both sides just before the open
    t = OPEN - 1.0
    while min(sum(q for _, q in flow.book.levels(side)) for side in (1, -1)) < s.depth // 2:
        t += 1e-4
        side = 1 if rng.random() < 0.5 else -1
        flow.limit(t, side, limit_price(side), f)
    t = OPEN
    end = OPEN + seconds
    vol = s.sigma_bps * 1e-4 * stock.price  # latent price std per sqrt(second), price units
    while True:
        bid, ask = flow.book.best_bid(), flow.book.best_ask()
        depth_bid = sum(q for _, q in flow.book.levels(1))
        depth_ask = sum(q for _, q in flow.book.levels(-1))
        stale = flow.stale(f)
        n_stale = sum(len(flow.book.queue(*lv)) for lv in stale)
        mid = (bid + ask) / 2 if bid is not None and ask is not None else f
        z = (f - mid) / tick
        rates = np.array([s.limit_rate / (1 + depth_bid / s.depth), s.limit_rate / (1 + depth_ask / s.depth),
                          s.cancel_rate * len(flow.ids), s.stale_cancel_rate * n_stale,
                          s.market_rate * (1 + abs(z))])
        total = rates.sum()
        dt = rng.exponential(1.0 / total)
        t += dt
        if t >= end:
            break
        f += vol * math.sqrt(dt) * rng.standard_normal()
        k = int(rng.choice(5, p=rates / total))
        if k == 0:
            flow.limit(t, 1, limit_price(1), f)
        elif k == 1:
            flow.limit(t, -1, limit_price(-1), f)
        elif k == 2 and flow.ids:
            flow.cancel(t, f)
        elif k == 3 and stale:
            weights = np.array([len(flow.book.queue(*lv)) for lv in stale], dtype=float)
            flow.cancel(t, f, stale[int(rng.choice(len(stale), p=weights / weights.sum()))])
        elif k == 4:
            flow.market(t, rng.random() < 1 / (1 + math.exp(-s.kappa * z)), f)
        if flow.book.best_bid() is None or flow.book.best_ask() is None:  # a side ran dry: quote at F
            side = 1 if flow.book.best_bid() is None else -1
            t += 1e-6
            flow.limit(t, side, limit_price(side), f)
    rows = flow.rows
    messages = Messages(
        time=np.array([r[0] for r in rows], dtype=np.float64),
        type=np.array([r[1] for r in rows], dtype=np.int8),
        order_id=np.array([r[2] for r in rows], dtype=np.int64),
        size=np.array([r[3] for r in rows], dtype=np.int64),
        price=np.array([r[4] for r in rows], dtype=np.int64),
        direction=np.array([r[5] for r in rows], dtype=np.int8),
    )
    return SyntheticDay(stock, seed, messages, np.stack(flow.snaps), np.array(flow.latent))
