"""Replay of a LOBSTER message stream on an :class:`~workbench.execution.book.OrderBook`.

The stream's format is :mod:`~workbench.execution.lobster`. A level-``L`` message file holds only
the events that touch the top ``L`` price levels (in the AAPL sample every type 1-4 message's price
is among the ``L`` levels of the row before or after it); events deeper in the book are left out.
The replay therefore knows the book exactly only in a *determined region* of each side, and it never
reads a snapshot after the first row:

1. **Initial book.** The book before message 0 is the orderbook's first row with message 0's
   effect undone (:func:`initial_book`): an add is subtracted, a cancel, deletion or execution is
   added back (types 5-7 change nothing visible). Each level becomes one *placeholder* order with a
   negative synthetic id (-1, -2, ...), at the front of its queue (it is older than every message).
2. **Determined region.** A price is determined while every event at it must have been reported:
   asks at prices ``<= ask_known_to``, bids ``>= bid_known_to`` (``None``: the whole side). It
   starts at the ``L``-th level of the first row (``None`` for a side with fewer than ``L`` levels)
   and, after every message, shrinks to the ``L``-th level of the book when the book has ``L``
   determined levels on that side: a price that has once been deeper than the ``L``-th level may
   have had unreported events, so it stays undetermined. Inside the region the replay is exact.
3. **Orders from before the sample or from unreported events.** A cancellation, deletion or
   execution of an order id the replay does not hold reduces the placeholder at its price. At an
   undetermined price, what the replay does not hold (no such order or placeholder, more than it
   holds, a deletion of a different size) is applied as far as possible (clipped) and counted in
   ``Replay.unattributed``; a non-crossing add proves that opposite undetermined levels it would
   cross are gone, so the replay removes them (also counted).
4. **Invisible events.** Types 5 (hidden execution), 6 (cross trade) and 7 (halt) do not change
   the visible book.
5. **Strictness.** In the determined region anything inconsistent raises ``ValueError`` naming the
   message line: a duplicate order id, an add that would cross a determined level, a
   cancel/execute whose price or side differs from the resting order, a deletion whose size is
   not the resting size, more than is resting, an unknown id with no pre-sample volume left.
6. **Re-synchronising replay** (``replay(..., resync=orderbook)``; checked by
   :func:`~workbench.execution.replay_check.check_replay` with ``resync=True``).
   The message file describes the top ``L`` levels only, so a level that enters the top ``L`` from
   below has a size the messages cannot give; this mode takes it from the orderbook row of the
   message that made it surface, and replays everything else from the messages:

   - the replay holds, on each side, exactly the visible region: the prices from the best to the
     ``L``-th level (the whole side while it has fewer than ``L`` levels), the determined region of
     rule 2, which here is recomputed after every message instead of only shrinking;
   - after message ``i`` (types 1-4; its side only), when that side holds ``L`` or more levels, the
     ``L``-th one becomes the new bound and the levels beyond it have *sunk*: they are forgotten
     (removed with their orders; the replay does not know what happens to them below level ``L``);
   - when it holds fewer than ``L`` levels and the side was full before the message (a bound
     existed), the missing levels have *surfaced*: every level of orderbook row ``i`` at a price
     strictly beyond the old bound (worse than every price the replay held) is seeded, best first,
     as one placeholder order (negative synthetic id) of the row's size, until ``L`` levels are
     held. The placeholder is the level's only order, so it is at the front of its queue: it stands
     for orders older than any later message, and later adds queue behind it. Cancellations and
     executions of ids the replay does not hold reduce it (rule 3);
   - prices inside the old bound are never taken from the row, so every level that was visible
     before message ``i`` is exactly what the messages made of it, and the strictness of rule 5
     applies there. Only row ``i`` is read after message ``i``, and only for surfaced levels;
     nothing is read from a later row. (If the row shows fewer than ``L`` levels on the side, the
     whole side is visible and known; an effect of message ``i`` beyond the old bound, an event
     below level ``L`` that the file should not contain, is dropped and counted as unattributed.)

Without an initial snapshot (a synthetic stream, or a book you built), the stream is taken as
complete: every price is determined and every inconsistency raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from workbench.execution.book import Depth, OrderBook
from workbench.execution.lobster import EVENT_TYPES, MESSAGE_COLUMNS, Messages, Snapshots, source_line

__all__ = ["InitialBook", "Replay", "initial_book", "replay"]


@dataclass(frozen=True)
class InitialBook:
    """The visible book before the first message and how far down it is determined.

    ``depth``: the known levels (no padding). ``ask_known_to``: every ask at a price ``<=`` it is in
    ``depth``; ``bid_known_to``: likewise for bids ``>=`` it; ``None``: the whole side is known.
    ``levels``: the depth ``L`` the message file was filtered to (``None``: a complete stream).
    """

    depth: Depth
    ask_known_to: int | None
    bid_known_to: int | None
    levels: int | None


def _within(side: int, price: int, bound: int | None) -> bool:
    return bound is None or (price >= bound if side == 1 else price <= bound)


def initial_book(messages: Messages, orderbook: Snapshots) -> InitialBook:
    """The book before ``messages[0]``: ``orderbook`` row 0 with message 0's effect undone.

    Only row 0 is read. A side with all ``L`` levels filled is known down to its ``L``-th price.
    """
    if len(messages) == 0 or len(orderbook) == 0:
        raise ValueError(f"messages, orderbook: expected at least one row each, "
                         f"got {len(messages)} and {len(orderbook)}")
    d = orderbook.depth(0)
    L = orderbook.levels
    bound = {-1: int(d.ask_price[-1]) if d.ask_price.size == L else None,
             1: int(d.bid_price[-1]) if d.bid_price.size == L else None}
    sides = {-1: dict(zip(d.ask_price.tolist(), d.ask_size.tolist())),
             1: dict(zip(d.bid_price.tolist(), d.bid_size.tolist()))}
    m = messages[0]
    if m.type <= 4 and _within(m.direction, m.price, bound[m.direction]):
        level = sides[m.direction]
        if m.type == 1:
            have = level.get(m.price, 0)
            if have < m.size:
                raise ValueError(f"{source_line(messages.source, 0)}: size: expected at most the {have} shares that "
                                 f"{orderbook.source} line 1 shows at price {m.price}, got an add of {m.size}")
            level[m.price] = have - m.size
            if not level[m.price]:
                del level[m.price]
        else:
            level[m.price] = level.get(m.price, 0) + m.size
    asks = sorted(sides[-1].items())
    bids = sorted(sides[1].items(), reverse=True)

    def arr(pairs, k):
        return np.array([p[k] for p in pairs], dtype=np.int64)

    return InitialBook(Depth(arr(asks, 0), arr(asks, 1), arr(bids, 0), arr(bids, 1)), bound[-1], bound[1], L)


class Replay:
    """Applies LOBSTER messages, in order, to an :class:`OrderBook` (conventions: module docstring).

    Iterating yields the index of each message right after it is applied; :meth:`run` applies them
    all (or up to ``stop``) and returns the book. Attributes: ``book``; ``position``, the index of
    the next message; ``levels``, the depth the messages were filtered to (``None``: complete);
    ``unattributed``, messages at undetermined prices applied only as far as the replay could;
    ``ask_known_to`` / ``bid_known_to``, the current determined region (see :meth:`known`).

    ``resync``: the orderbook :class:`Snapshots` to re-synchronise from (rule 6), or ``None`` (the
    strict replay). Then also ``surfaced`` / ``sunk``, the levels seeded from a row as they entered
    the top ``L`` / forgotten as they left it, and ``seeded``, the ``(side, price)`` pairs the last
    message surfaced.
    """

    def __init__(self, messages: Messages, book: OrderBook | None = None,
                 initial_snapshot: InitialBook | Snapshots | None = None, resync: Snapshots | None = None):
        if not isinstance(messages, Messages):
            raise TypeError(f"messages: expected Messages (see read_messages), got {type(messages).__name__}")
        if resync is not None and not isinstance(resync, Snapshots):
            raise TypeError(f"resync: expected the orderbook Snapshots (see read_orderbook) or None, "
                            f"got {type(resync).__name__}")
        self.messages = messages
        self.book = OrderBook() if book is None else book
        self.position = 0
        self.unattributed = 0
        self.levels: int | None = None
        self.resync = resync
        self.surfaced = 0  # resync mode: levels seeded from the orderbook row as they entered the top L
        self.sunk = 0  # resync mode: levels forgotten as they left the top L
        self.seeded: list[tuple[int, int]] = []  # resync mode: (side, price) seeded by the last message
        self._bound: dict[int, int | None] = {1: None, -1: None}  # side -> worst determined price
        self._placeholder: dict[int, dict[int, int]] = {1: {}, -1: {}}  # side -> price -> synthetic id
        self._seeded_size: dict[int, int] = {}  # synthetic id -> the size it was seeded with
        self._next_id = -1
        if resync is not None and initial_snapshot is None:
            initial_snapshot = resync
        if isinstance(initial_snapshot, Snapshots):
            initial_snapshot = initial_book(messages, initial_snapshot)
        if initial_snapshot is not None:
            if not isinstance(initial_snapshot, InitialBook):
                raise TypeError("initial_snapshot: expected InitialBook or Snapshots, "
                                f"got {type(initial_snapshot).__name__}")
            self._seed(initial_snapshot)
        if resync is not None:
            if len(resync) != len(messages):
                raise ValueError(f"resync: expected {len(messages)} orderbook rows (one per message), "
                                 f"got {len(resync)}")
            if self.levels != resync.levels:
                raise ValueError(f"resync: expected an orderbook with the {self.levels} levels of initial_snapshot, "
                                 f"got {resync.levels}")
        self._cols = tuple(getattr(messages, c).tolist() for c in MESSAGE_COLUMNS)

    def _placeholder_order(self, side: int, price: int, size: int, validate: bool = False) -> None:
        """Rest one placeholder order (next negative synthetic id) at the back of ``(side, price)``."""
        oid = self._next_id
        if validate:
            self.book.add(oid, side, price, size, check_tick=False)
        else:
            self.book.rest(oid, side, price, size)
        self._next_id -= 1
        self._placeholder[side][price] = oid
        self._seeded_size[oid] = size

    def _seed(self, init: InitialBook) -> None:
        if len(self.book):
            raise ValueError(f"book: expected an empty book to seed from initial_snapshot, got {len(self.book)} orders")
        d = init.depth
        for side, prices, sizes in ((-1, d.ask_price, d.ask_size), (1, d.bid_price, d.bid_size)):
            for price, size in zip(prices.tolist(), sizes.tolist()):
                self._placeholder_order(side, price, size, validate=True)
        self._bound = {-1: init.ask_known_to, 1: init.bid_known_to}
        self.levels = init.levels

    def is_seeded_copy(self, side: int, price: int) -> bool:
        """Whether the level at ``(side, price)`` is still exactly one placeholder with the size it was
        seeded with (from the initial row or at surfacing): no message has changed it since."""
        level = self.book.sides[side].levels.get(price)
        if level is None or len(level) != 1:
            return False
        (oid, size), = level.items()
        return oid < 0 and self._seeded_size.get(oid) == size

    @property
    def ask_known_to(self) -> int | None:
        """Every ask at a price ``<=`` it is exact (``None``: the whole ask side)."""
        return self._bound[-1]

    @property
    def bid_known_to(self) -> int | None:
        """Every bid at a price ``>=`` it is exact (``None``: the whole bid side)."""
        return self._bound[1]

    def known_to(self, side: int) -> int | None:
        """The worst determined price of ``side`` (+1 bids, -1 asks): :attr:`bid_known_to` or :attr:`ask_known_to`."""
        return self._bound[side]

    def known(self, side: int, price: int) -> bool:
        """Whether the replayed volume at ``(side, price)`` is exact (inside the determined region)."""
        return _within(side, price, self._bound[side])

    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self) -> Iterator[int]:
        apply = self._apply if self.resync is None else self._apply_resync
        for i in range(self.position, len(self.messages)):
            apply(i)
            yield i

    def run(self, stop: int | None = None) -> OrderBook:
        """Apply messages ``position .. stop-1`` (default: to the end); returns the book."""
        stop = len(self.messages) if stop is None else min(stop, len(self.messages))
        apply = self._apply if self.resync is None else self._apply_resync
        for i in range(self.position, stop):
            apply(i)
        return self.book

    def _apply(self, i: int) -> None:
        typ = self._cols[1][i]
        if typ >= 5:  # hidden execution, cross trade, halt: nothing visible changes
            self.position = i + 1
            return
        _, _, ids, sizes, prices, dirs = self._cols
        oid, size, price, side = ids[i], sizes[i], prices[i], dirs[i]
        book = self.book
        orders = book.locations
        bound = self._bound
        b = bound[side]
        known = b is None or (price >= b if side == 1 else price <= b)
        try:
            if typ == 1:
                if oid in orders:
                    raise ValueError(f"order_id: expected a new id, got {oid}, already resting")
                if book.crosses(side, price):
                    self._uncross(side, price)
                book.rest(oid, side, price, size)
            else:
                found = orders.get(oid)
                if found is not None:
                    if found[0] != side or found[1] != price:
                        raise ValueError(f"price, direction: expected those of resting order {oid}, "
                                         f"{found[1]} and {found[0]:+d}, got {price} and {side:+d}")
                    resting = book.sides[side].levels[price][oid]
                    if size > resting or (typ == 3 and size != resting):
                        if known:
                            raise ValueError(f"size: expected {'' if typ == 3 else 'at most '}the resting size "
                                             f"{resting} of order {oid}, got {size}")
                        self.unattributed += 1
                        size = resting
                    elif typ == 3:
                        size = resting
                    book.reduce(oid, side, price, size)
                else:
                    ph = self._placeholder[side].get(price)
                    held = book.sides[side].levels[price][ph] if ph is not None and ph in orders else 0
                    if size <= held:
                        book.reduce(ph, side, price, size)
                    elif known:
                        raise ValueError(f"order_id: expected an order added earlier or at most the {held} "
                                         f"pre-sample shares left at price {price} (side {side:+d}), "
                                         f"got unknown {oid} of size {size}")
                    else:
                        self.unattributed += 1
                        if held:
                            book.reduce(ph, side, price, held)
            L = self.levels
            if L is not None:  # shrink the determined region to the L-th level once L are determined
                s = book.sides[side]
                if len(s.keys) >= L:
                    kth = s.keys[-L] * s.sign
                    if b is None or (kth >= b if side == 1 else kth <= b):
                        bound[side] = kth
        except ValueError as exc:
            where = source_line(self.messages.source, i)
            raise ValueError(f"{where} (type {typ}, {EVENT_TYPES[typ]}): {exc}") from None
        self.position = i + 1

    def _apply_resync(self, i: int) -> None:
        """:meth:`_apply` message ``i``, then re-synchronise its side with orderbook row ``i`` (rule 6)."""
        self.seeded = []
        typ = self._cols[1][i]
        if typ >= 5:
            self.position = i + 1
            return
        side = self._cols[5][i]
        before = self._bound[side]
        self._apply(i)
        keys = self.book.sides[side].keys
        if len(keys) == self.levels and before is not None and keys[0] == before * side:
            return  # fast path: still exactly the L levels down to the same bound (keys: price * side)
        self._resync_side(i, side, before)

    def _forget_beyond(self, side: int, bound: int) -> int:
        """Remove every level of ``side`` worse than ``bound`` (orders and placeholders); returns how many."""
        book = self.book
        s = book.sides[side]
        keys, placeholder = s.keys, self._placeholder[side]
        n = 0
        while keys and not _within(side, keys[0] * s.sign, bound):
            price = keys[0] * s.sign
            for oid in book.remove_level(side, price):
                self._seeded_size.pop(oid, None)
            placeholder.pop(price, None)
            n += 1
        return n

    def _resync_side(self, i: int, side: int, before: int | None) -> None:
        """Rule 7 for one side after message ``i``; ``before`` is the side's determined bound before it."""
        L = self.levels
        book = self.book
        s = book.sides[side]
        keys, sign = s.keys, s.sign
        if before is not None:
            # the replay holds nothing beyond ``before`` (rule 6); what message i put there (an
            # event below the visible top L: unreported by construction) is not kept
            dropped = self._forget_beyond(side, before)
            self.unattributed += dropped > 0
            if len(keys) < L:  # levels entered the top L from below: their sizes are in row i only
                snap = self.resync
                prices = (snap.bid_price if side == 1 else snap.ask_price)[i].tolist()
                sizes = (snap.bid_size if side == 1 else snap.ask_size)[i].tolist()
                for price, size in zip(prices, sizes):
                    if len(keys) >= L or size == 0:
                        break
                    if not _within(side, price, before):
                        self._placeholder_order(side, price, size)
                        self.seeded.append((side, price))
                        self.surfaced += 1
                if len(keys) < L:
                    # row i shows fewer than L levels: the whole side is visible, hence known; if row i
                    # shows L levels, the replay lost one in the known region and check_replay says so
                    self._bound[side] = None if sizes[L - 1] == 0 else prices[L - 1]
                    return
        if len(keys) >= L:
            kth = keys[-L] * sign
            self._bound[side] = kth
            self.sunk += self._forget_beyond(side, kth)
        else:
            self._bound[side] = None

    def _uncross(self, side: int, price: int) -> None:
        """A reported add at ``price`` does not trade: the undetermined opposite levels it would cross are gone."""
        book = self.book
        opp = book.sides[-side]
        removed = False
        while book.crosses(side, price):
            best = opp.keys[-1] * opp.sign
            if self.known(-side, best):
                raise ValueError(f"price: expected a price that does not cross the book "
                                 f"(best bid {book.best_bid()}, best ask {book.best_ask()}), got {price}")
            book.remove_level(-side, best)
            removed = True
        self.unattributed += removed


def replay(messages: Messages, book: OrderBook | None = None,
           initial_snapshot: InitialBook | Snapshots | None = None, resync: Snapshots | None = None) -> Replay:
    """A :class:`Replay` of ``messages`` on ``book`` (default: a new empty book).

    ``initial_snapshot``: the book before the first message, as an :class:`InitialBook` or as the
    orderbook :class:`Snapshots` (then :func:`initial_book` derives it from row 0 only). Without it
    the book (empty or given) is taken as the complete book and the stream as complete.

    ``resync``: the orderbook :class:`Snapshots` (one row per message, the file's ``L`` levels) to
    re-synchronise from (rule 6 of the module docstring); it also serves as ``initial_snapshot`` when
    that is not given. After message ``i`` only row ``i`` is read, and only for the levels that have
    just entered the top ``L`` from below. Default ``None``: the strict replay (rules 1-5).
    """
    return Replay(messages, book, initial_snapshot, resync)
