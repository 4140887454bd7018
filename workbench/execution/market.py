"""A trading day as the execution environment sees it: LOBSTER messages plus the book after each one.

``MarketDay`` wraps the message columns and the ``(n, 4 L)`` snapshots (ask price, ask size, bid
price, bid size per level, LOBSTER's column order) of a real LOBSTER file pair or a synthetic day, and
precomputes what a simulated child order needs to know about queue priority: for every message, the
index of the message that submitted its order (``-1`` when the order rested before the sample began).
An order that arrived before ours at our price is ahead of us in the queue; one that arrived later is
behind us.

Shapes:
    messages: ``n`` rows; orderbook: ``(n, 4 L)``; ``arrival``: ``(n,)`` int64.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workbench.execution.lobster import Messages, read_messages, read_orderbook

__all__ = ["MarketDay", "OPEN"]

OPEN = 34200.0  # 09:30:00 in seconds after midnight


@dataclass
class MarketDay:
    """One day (or sample) of messages and the visible book after each message."""

    name: str
    messages: Messages
    orderbook: np.ndarray
    tick: int = 100
    synthetic: bool = False
    arrival: np.ndarray = field(init=False, repr=False)
    _mids: np.ndarray | None = field(init=False, repr=False, default=None)

    def __post_init__(self):
        n = len(self.messages.time)
        if self.orderbook.ndim != 2 or self.orderbook.shape[0] != n or self.orderbook.shape[1] % 4:
            raise ValueError(f"orderbook: expected shape ({n}, 4 L) to match {n} messages, got {self.orderbook.shape}")
        if not isinstance(self.tick, (int, np.integer)) or self.tick <= 0:
            raise ValueError(f"tick: expected a positive integer (price units), got {self.tick!r}")
        first: dict[int, int] = {}
        arrival = np.full(n, -1, dtype=np.int64)
        ids, types = self.messages.order_id.tolist(), self.messages.type.tolist()
        for k in range(n):
            oid = ids[k]
            if types[k] == 1 and oid not in first:
                first[oid] = k
            arrival[k] = first.get(oid, -1)
        self.arrival = arrival

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_lobster(cls, message_file, orderbook_file, *, name: str | None = None, tick: int = 100) -> "MarketDay":
        """Read a LOBSTER message/orderbook file pair."""
        messages = read_messages(message_file)
        snaps = read_orderbook(orderbook_file)
        rows = np.stack([snaps.ask_price, snaps.ask_size, snaps.bid_price, snaps.bid_size], axis=2)
        name = name or str(message_file).rsplit("/", 1)[-1].split("_message")[0]
        return cls(name, messages, rows.reshape(len(snaps), -1), tick)

    @classmethod
    def from_synthetic(cls, day) -> "MarketDay":
        """From a :class:`~workbench.execution.synthetic.SyntheticDay`."""
        return cls(day.name, day.messages, day.orderbook.astype(np.int64), day.stock.tick, synthetic=True)

    # -- queries -----------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.messages.time)

    @property
    def levels(self) -> int:
        return self.orderbook.shape[1] // 4

    @property
    def start(self) -> float:
        return float(self.messages.time[0])

    @property
    def session_start(self) -> float:
        """09:30:00 when the day has messages before and after it (a synthetic day's opening book is
        built just before), else the first message's time."""
        return OPEN if self.start < OPEN < self.end else self.start

    @property
    def end(self) -> float:
        return float(self.messages.time[-1])

    def index_at(self, t: float) -> int:
        """Index of the last message at or before time ``t`` (-1 before the first)."""
        return int(np.searchsorted(self.messages.time, t, side="right")) - 1

    def side_levels(self, i: int, side: int) -> tuple[np.ndarray, np.ndarray]:
        """Prices and sizes of ``side`` (+1 bids, -1 asks) after message ``i``, best first, padding dropped."""
        row = self.orderbook[i]
        prices, sizes = (row[2::4], row[3::4]) if side == 1 else (row[0::4], row[1::4])
        keep = sizes > 0
        return prices[keep], sizes[keep]

    def best(self, i: int, side: int) -> int | None:
        prices, _ = self.side_levels(i, side)
        return int(prices[0]) if len(prices) else None

    def mid(self, i: int) -> float:
        return float(self.mids()[i])

    def near_touch(self, i: int, side: int) -> int:
        """Best price on ``side`` after message ``i`` (the mid, rounded, when that side is empty)."""
        p = self.best(i, side)
        return p if p is not None else int(round(self.mid(i)))

    def volume_at(self, i: int, side: int, price: int) -> int:
        prices, sizes = self.side_levels(i, side)
        hit = np.nonzero(prices == price)[0]
        return int(sizes[hit[0]]) if len(hit) else 0

    def mids(self) -> np.ndarray:
        """Mid price after every message (the one quote there is when a side is empty): ``(n,)``, cached."""
        if self._mids is None:
            ob = self.orderbook
            ask, bid = ob[:, 0].astype(float), ob[:, 2].astype(float)
            a_ok, b_ok = ob[:, 1] > 0, ob[:, 3] > 0
            self._mids = np.where(a_ok & b_ok, 0.5 * (ask + bid), np.where(a_ok, ask, bid))
        return self._mids
