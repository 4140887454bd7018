"""A price-time priority limit order book with integer prices and sizes.

Prices are integers in the data's units (LOBSTER: dollars x 10000, so one cent is 100); sizes are
integer shares. ``side`` is +1 for buy and -1 for sell (LOBSTER's direction convention).

Matching: an incoming order trades against the opposite side best price first and, within a price,
oldest order first (price-time priority), at the *resting* order's price; partial fills leave the
rest of the resting order at the front of its queue.

Data structures (per side): a dict ``price -> {order_id: size}`` (a dict keeps insertion order, so
each level is a FIFO with O(1) deletion), a dict ``price -> total size`` and a bisect-maintained
sorted list of price keys whose last element is the best price (bids keyed by ``price``, asks by
``-price``). Adding or removing a level is O(log levels) plus a short memmove; everything else is
O(1) except :meth:`OrderBook.queue_position` (O(orders in the level)) and :meth:`OrderBook.depth`
(O(levels)).
"""

from __future__ import annotations

import operator
from bisect import bisect_left, insort
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["OrderBook", "BookSide", "Fill", "Fills", "Depth", "Order", "BUY", "SELL"]

BUY = 1
SELL = -1


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade: ``size`` shares at ``price`` between a resting ``maker_id`` and an incoming ``taker_id``.

    ``side`` is the taker's side (+1: a buyer lifted the ask, -1: a seller hit the bid). ``taker_id``
    is None for a market order without id and for executions replayed from data (LOBSTER type 4).
    """

    time: float
    price: int
    size: int
    maker_id: int
    taker_id: int | None
    side: int


class Fills(list):
    """The fills of one call (a ``list[Fill]``) plus ``remaining``: the size that did not trade.

    For a limit order (:meth:`OrderBook.add`, :meth:`OrderBook.modify`) ``remaining`` rests in the
    book at the limit price; for a market order (:meth:`OrderBook.market`) it found no liquidity and
    was not placed (immediate-or-cancel).
    """

    __slots__ = ("remaining",)

    def __init__(self, fills=(), remaining: int = 0):
        super().__init__(fills)
        self.remaining = remaining

    def __repr__(self) -> str:
        return f"Fills({list.__repr__(self)}, remaining={self.remaining})"

    @property
    def filled(self) -> int:
        """Total size traded."""
        return sum(f.size for f in self)


class Order(NamedTuple):
    """A resting order as seen by :meth:`OrderBook.order`."""

    price: int
    size: int
    side: int


@dataclass(frozen=True, eq=False)
class Depth:
    """The top levels of both sides, sizes aggregated per price level.

    Shapes: ``ask_price, ask_size`` ``(La,)`` int64, prices ascending (best first);
    ``bid_price, bid_size`` ``(Lb,)`` int64, prices descending (best first); ``La, Lb <= levels``
    (a side with fewer levels is shorter, not padded).
    """

    ask_price: np.ndarray
    ask_size: np.ndarray
    bid_price: np.ndarray
    bid_size: np.ndarray


class BookSide:
    """One side of an :class:`OrderBook` (``book.sides[side]``): read it freely; change it only through the book.

    Attributes: ``sign`` (+1 bids, -1 asks); ``levels``, ``price -> {order_id: size}`` with each level's
    orders in time priority (front first); ``volume``, ``price -> total size``; ``keys``, the prices times
    ``sign`` sorted ascending, so the best price is ``keys[-1] * sign`` and the worst ``keys[0] * sign``.
    """

    __slots__ = ("sign", "levels", "volume", "keys")

    def __init__(self, sign: int):
        self.sign = sign  # +1 bids (key = price), -1 asks (key = -price)
        self.levels: dict[int, dict[int, int]] = {}
        self.volume: dict[int, int] = {}
        self.keys: list[int] = []

    def drop_level(self, price: int) -> None:
        """Forget the level at ``price`` (its orders stay in the book's :attr:`OrderBook.locations`: see
        :meth:`OrderBook.remove_level`)."""
        del self.levels[price]
        del self.volume[price]
        keys = self.keys
        key = price * self.sign
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    def top(self, levels: int) -> list[tuple[int, int]]:
        """``[(price, total size), ...]`` best first, at most ``levels`` long."""
        keys, volume, sign = self.keys, self.volume, self.sign
        n = len(keys)
        return [(keys[i] * sign, volume[keys[i] * sign]) for i in range(n - 1, max(n - 1 - levels, -1), -1)]


def _int(name: str, value) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}") from None


def _check_side(side) -> int:
    if side != 1 and side != -1 or type(side) is bool:
        raise ValueError(f"side: expected +1 (buy) or -1 (sell), got {side!r}")
    return int(side)


def _check_size(size, name: str = "size") -> int:
    if type(size) is not int:
        size = _int(name, size)
    if size <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {size}")
    return size


class OrderBook:
    """A price-time priority limit order book.

    Args:
        tick_size: prices of orders submitted through :meth:`add` / :meth:`modify` must be positive
            multiples of it (LOBSTER units: 100 is one cent), unless ``check_tick=False`` is passed.

    Attributes: ``sides``, ``{+1: bids, -1: asks}`` as :class:`BookSide`; ``locations``,
    ``order_id -> (side, price)`` of every resting order. Both are live views for fast readers (the
    replay); change the book only through its methods.

    Every checked mutating method raises ``ValueError`` / ``TypeError`` naming the argument, what was
    expected and what was received, and leaves the book unchanged when it raises. :meth:`rest`,
    :meth:`reduce` and :meth:`remove_level` are the unchecked primitives a replay drives the book with
    (the caller guarantees what they assume; they cost a dict operation or two).
    """

    def __init__(self, tick_size: int = 100):
        tick_size = _int("tick_size", tick_size)
        if tick_size <= 0:
            raise ValueError(f"tick_size: expected a positive integer, got {tick_size}")
        self.tick_size = tick_size
        self.locations: dict[int, tuple[int, int]] = {}  # order_id -> (side, price)
        self.sides = {1: BookSide(1), -1: BookSide(-1)}

    # ----------------------------------------------------------------------------- mutations
    def add(self, order_id: int, side: int, price: int, size: int, time: float = 0.0, *,
            check_tick: bool = True) -> Fills:
        """Submit a limit order; the part that crosses trades, the rest rests at ``price``.

        Returns the fills (taker = this order) with ``remaining`` = the size now resting.
        """
        order_id = _int("order_id", order_id)
        if order_id in self.locations:
            raise ValueError(f"order_id: expected an id not resting in the book, got duplicate {order_id}")
        side = _check_side(side)
        price = self._check_price(price, check_tick)
        return self._submit(order_id, side, price, _check_size(size), time)

    def market(self, side: int, size: int, time: float = 0.0, order_id: int | None = None) -> Fills:
        """A market order: trade ``size`` against the opposite side, best price first.

        Returns the fills with ``remaining`` = the size that found no liquidity (it is not placed).
        """
        side = _check_side(side)
        size = _check_size(size)
        if order_id is not None:
            order_id = _int("order_id", order_id)
        fills = Fills()
        fills.remaining = self._match(side, size, None, time, order_id, fills)
        return fills

    def cancel(self, order_id: int, size: int) -> int:
        """Partially cancel: reduce a resting order by ``size`` keeping its queue priority.

        Cancelling the whole resting size removes the order. Returns the size left resting.
        """
        side, price = self._lookup(order_id, "cancel")
        size = _check_size(size)
        return self.reduce(order_id, side, price, size)

    def delete(self, order_id: int) -> int:
        """Fully cancel a resting order. Returns the size that was removed."""
        side, price = self._lookup(order_id, "delete")
        size = self.sides[side].levels[price][order_id]
        self.reduce(order_id, side, price, size)
        return size

    def execute(self, order_id: int, size: int, time: float = 0.0) -> Fill:
        """A resting order trades ``size`` against an unidentified taker (LOBSTER type 4)."""
        side, price = self._lookup(order_id, "execute")
        size = _check_size(size)
        self.reduce(order_id, side, price, size)
        return Fill(time, price, size, order_id, None, -side)

    def modify(self, order_id: int, size: int | None = None, price: int | None = None,
               time: float = 0.0, *, check_tick: bool = True) -> Fills:
        """Change a resting order's size and/or price.

        A size decrease at the same price keeps queue priority. A size increase or a price change
        loses it: the order is removed and re-added at the back of the queue at the new price,
        where it may cross and trade. Returns the fills, ``remaining`` = the size now resting.
        """
        side, old_price = self._lookup(order_id, "modify")
        if size is None and price is None:
            raise ValueError("size, price: expected at least one of them, got neither")
        resting = self.sides[side].levels[old_price][order_id]
        new_size = resting if size is None else _check_size(size)
        new_price = old_price if price is None else self._check_price(price, check_tick)
        if new_price == old_price and new_size <= resting:
            if new_size < resting:
                self.reduce(order_id, side, old_price, resting - new_size)
            return Fills(remaining=new_size)
        self.reduce(order_id, side, old_price, resting)
        return self._submit(order_id, side, new_price, new_size, time)

    # ----------------------------------------------------------------------------- queries
    def best_bid(self) -> int | None:
        keys = self.sides[1].keys
        return keys[-1] if keys else None

    def best_ask(self) -> int | None:
        keys = self.sides[-1].keys
        return -keys[-1] if keys else None

    def mid(self) -> float | None:
        """(best bid + best ask) / 2, None if a side is empty."""
        b, a = self.best_bid(), self.best_ask()
        return None if b is None or a is None else (a + b) / 2

    def spread(self) -> int | None:
        """best ask - best bid, None if a side is empty."""
        b, a = self.best_bid(), self.best_ask()
        return None if b is None or a is None else a - b

    def depth(self, levels: int = 10) -> Depth:
        """The top ``levels`` price levels of each side (see :class:`Depth`)."""
        levels = _check_size(levels, "levels")
        asks = self.sides[-1].top(levels)
        bids = self.sides[1].top(levels)
        a = np.array(asks, dtype=np.int64).reshape(-1, 2)
        b = np.array(bids, dtype=np.int64).reshape(-1, 2)
        return Depth(a[:, 0].copy(), a[:, 1].copy(), b[:, 0].copy(), b[:, 1].copy())

    def levels(self, side: int, levels: int | None = None) -> list[tuple[int, int]]:
        """``[(price, total size), ...]`` of one side, best first; all levels if ``levels`` is None."""
        s = self.sides[_check_side(side)]
        return s.top(len(s.keys) if levels is None else _check_size(levels, "levels"))

    def queue(self, side: int, price: int) -> list[tuple[int, int]]:
        """``[(order_id, size), ...]`` resting on ``side`` at ``price``, front of the queue first."""
        level = self.sides[_check_side(side)].levels.get(price)
        return list(level.items()) if level else []

    def queue_position(self, order_id: int) -> int:
        """Shares ahead of ``order_id`` at its price level (0 for the order at the front)."""
        side, price = self._lookup(order_id, "queue_position")
        ahead = 0
        for oid, size in self.sides[side].levels[price].items():
            if oid == order_id:
                return ahead
            ahead += size
        raise AssertionError("unreachable: order index and level disagree")

    def volume_at(self, side: int, price: int) -> int:
        """Total resting size on ``side`` at ``price`` (0 if no level)."""
        return self.sides[_check_side(side)].volume.get(price, 0)

    def order(self, order_id: int) -> Order | None:
        """The resting order ``order_id`` as ``Order(price, size, side)``, or None."""
        found = self.locations.get(order_id)
        if found is None:
            return None
        side, price = found
        return Order(price, self.sides[side].levels[price][order_id], side)

    def __contains__(self, order_id) -> bool:
        return order_id in self.locations

    def __len__(self) -> int:
        """Number of resting orders."""
        return len(self.locations)

    def __repr__(self) -> str:
        return (f"OrderBook(best_bid={self.best_bid()}, best_ask={self.best_ask()}, "
                f"orders={len(self)}, tick_size={self.tick_size})")

    # ----------------------------------------------------------------- unchecked primitives (replays)
    def crosses(self, side: int, price: int) -> bool:
        """Whether an order of ``side`` at ``price`` would trade against the opposite best price."""
        keys = self.sides[-side].keys
        return bool(keys) and (price >= -keys[-1] if side == 1 else price <= keys[-1])

    def rest(self, order_id: int, side: int, price: int, size: int) -> None:
        """Unchecked: append an order at the back of its level, without matching. The caller guarantees a
        new ``order_id``, ``side`` +-1, a positive ``size`` and a ``price`` that does not cross (:meth:`crosses`);
        :meth:`add` is the checked way."""
        s = self.sides[side]
        level = s.levels.get(price)
        if level is None:
            s.levels[price] = {order_id: size}
            s.volume[price] = size
            insort(s.keys, price * s.sign)
        else:
            level[order_id] = size
            s.volume[price] += size
        self.locations[order_id] = (side, price)

    def reduce(self, order_id: int, side: int, price: int, size: int) -> int:
        """Take ``size`` off a resting order (removing it at zero), keeping its queue priority; returns the size
        left. Unchecked but for the size: ``(side, price)`` must be the order's (:attr:`locations`), ``size``
        positive; more than is resting raises ``ValueError``. :meth:`cancel` is the checked way."""
        s = self.sides[side]
        level = s.levels[price]
        resting = level[order_id]
        if size > resting:
            raise ValueError(f"size: expected at most the resting size {resting} of order {order_id}, got {size}")
        left = resting - size
        if left:
            level[order_id] = left
            s.volume[price] -= size
        else:
            del level[order_id]
            del self.locations[order_id]
            if level:
                s.volume[price] -= size
            else:
                s.drop_level(price)
        return left

    def remove_level(self, side: int, price: int) -> dict[int, int]:
        """Unchecked: remove the whole level ``price`` of ``side`` (+-1) with its orders, without fills (a replay
        learned it is gone); returns its orders ``{order_id: size}``, front first. ``KeyError`` if no such level."""
        s = self.sides[side]
        level = s.levels[price]
        locations = self.locations
        for oid in level:
            del locations[oid]
        s.drop_level(price)
        return level

    # ----------------------------------------------------------------------------- internals
    def _check_price(self, price, check_tick: bool) -> int:
        if type(price) is not int:
            price = _int("price", price)
        if price <= 0:
            raise ValueError(f"price: expected a positive integer, got {price}")
        if check_tick and price % self.tick_size:
            raise ValueError(f"price: expected a multiple of tick_size={self.tick_size}, got {price}")
        return price

    def _lookup(self, order_id, action: str) -> tuple[int, int]:
        found = self.locations.get(order_id)
        if found is None:
            raise ValueError(f"order_id: expected the id of a resting order to {action}, got unknown {order_id!r}")
        return found

    def _submit(self, order_id: int, side: int, price: int, size: int, time: float) -> Fills:
        """Match a validated limit order against the opposite side, rest what is left at ``price``."""
        fills = Fills()
        if self.crosses(side, price):
            size = self._match(side, size, price, time, order_id, fills)
        if size:
            self.rest(order_id, side, price, size)
        fills.remaining = size
        return fills

    def _match(self, side: int, size: int, limit: int | None, time: float, taker_id, fills: list) -> int:
        """Trade up to ``size`` against the opposite side within ``limit``; returns the size left."""
        s = self.sides[-side]
        keys, levels, volume, sign, orders = s.keys, s.levels, s.volume, s.sign, self.locations
        while size and keys:
            price = keys[-1] * sign
            if limit is not None and (price > limit if side == 1 else price < limit):
                break
            level = levels[price]
            done = []  # makers filled completely, removed after the scan
            partial = None
            for maker_id, resting in level.items():
                if resting <= size:
                    fills.append(Fill(time, price, resting, maker_id, taker_id, side))
                    size -= resting
                    done.append(maker_id)
                    if not size:
                        break
                else:
                    fills.append(Fill(time, price, size, maker_id, taker_id, side))
                    partial = (maker_id, resting - size)
                    size = 0
                    break
            traded = 0
            for maker_id in done:
                traded += level.pop(maker_id)
                del orders[maker_id]
            if partial is not None:
                traded += level[partial[0]] - partial[1]
                level[partial[0]] = partial[1]
            if level:
                volume[price] -= traded
            else:
                s.drop_level(price)
        return size
