"""LOBSTER message and orderbook files, and their replay on an :class:`~workbench.execution.book.OrderBook`.

File formats (lobsterdata.com; comma-separated, no header):

- message file, one event per line, 6 columns: time (seconds after midnight, float), event type,
  order id, size (shares), price (dollars x 10000, integer), direction (+1 buy / -1 sell limit
  order; for executions the side of the *resting* order). Event types: 1 new limit order,
  2 partial cancellation, 3 full deletion, 4 execution of a visible limit order, 5 execution of a
  hidden limit order, 6 cross trade (auction), 7 trading halt.
- orderbook file, the book *after* the message on the same line, ``4 L`` columns: ask price 1,
  ask size 1, bid price 1, bid size 1, ask price 2, ... Empty levels are padded with price
  9999999999 (asks) / -9999999999 (bids) and size 0.

A level-``L`` message file holds only the events that touch the top ``L`` price levels (in the AAPL
sample every type 1-4 message's price is among the ``L`` levels of the row before or after it);
events deeper in the book are left out. The replay therefore knows the book exactly only in a
*determined region* of each side, and it never reads a snapshot after the first row:

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
6. **Check.** :func:`check_replay` compares, after every message, the replayed book's top levels
   with the orderbook row by exact integer equality. A level is compared when it lies in the
   determined region (so do all better levels of its side) or the side is determined completely;
   the other levels are counted as undetermined. A message the replay refuses (rule 5) ends the
   check; it is reported as ``ReplayCheck.error`` (and as the first mismatch if none came before).
7. **Re-synchronising replay** (``replay(..., resync=orderbook)``, ``check_replay(..., resync=True)``).
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

   :func:`check_replay` with ``resync=True`` then compares every one of the ``L`` levels of both
   sides after every message and counts the comparisons of levels seeded at this very message
   (equal by construction) apart from those replayed from the messages.

Without an initial snapshot (a synthetic stream, or a book you built), the stream is taken as
complete: every price is determined and every inconsistency raises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterator, NamedTuple

import numpy as np

from workbench.execution.book import Depth, OrderBook

__all__ = [
    "Messages", "Message", "Snapshots", "InitialBook", "Replay", "ReplayCheck", "Mismatch",
    "read_messages", "read_orderbook", "initial_book", "replay", "check_replay", "load_sample",
    "EVENT_TYPES", "ASK_DUMMY", "BID_DUMMY",
]

EVENT_TYPES = {
    1: "new limit order", 2: "partial cancellation", 3: "full deletion", 4: "execution (visible)",
    5: "execution (hidden)", 6: "cross trade", 7: "trading halt",
}
ASK_DUMMY = 9999999999
BID_DUMMY = -9999999999
MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")


def _where(source: str, index: int) -> str:
    return f"{source}, line {index + 1}"


def _first(mask: np.ndarray) -> int | None:
    bad = np.flatnonzero(mask)
    return int(bad[0]) if bad.size else None


# --------------------------------------------------------------------------------------- messages
class Message(NamedTuple):
    """One LOBSTER event (python scalars)."""

    time: float
    type: int
    order_id: int
    size: int
    price: int
    direction: int


@dataclass(frozen=True, eq=False)
class Messages:
    """A LOBSTER message stream as columns, validated on construction.

    Shapes: every column ``(n,)``: ``time`` float64 seconds after midnight, non-decreasing;
    ``type`` int8 in 1..7; ``order_id`` int64 (positive for types 1-4); ``size`` int64 shares
    (positive for types 1-5, non-negative otherwise); ``price`` int64 dollars x 10000 (positive for
    types 1-5); ``direction`` int8 +-1. ``source`` names the file in error messages, whose line
    numbers are 1-based row indices.
    """

    time: np.ndarray
    type: np.ndarray
    order_id: np.ndarray
    size: np.ndarray
    price: np.ndarray
    direction: np.ndarray
    source: str = field(default="<messages>", compare=False)

    def __post_init__(self):
        dtypes = (np.float64, np.int8, np.int64, np.int64, np.int64, np.int8)
        n = None
        for name, dtype in zip(MESSAGE_COLUMNS, dtypes):
            raw = np.asarray(getattr(self, name))
            if raw.ndim != 1:
                raise ValueError(f"{name}: expected a 1-d array, got shape {raw.shape}")
            if n is None:
                n = raw.shape[0]
            elif raw.shape[0] != n:
                raise ValueError(f"{name}: expected {n} entries like time, got {raw.shape[0]}")
            if name in ("type", "direction"):
                bad = _first((raw < -128) | (raw > 127)) if raw.size and raw.dtype.kind in "iu" else None
                if bad is not None:
                    raise ValueError(f"{_where(self.source, bad)}: {name}: expected "
                                     f"{'1..7' if name == 'type' else '+1 or -1'}, got {raw[bad]}")
            object.__setattr__(self, name, raw.astype(dtype, copy=False))
        _validate_messages(self)

    def __len__(self) -> int:
        return self.time.shape[0]

    def __getitem__(self, index):
        """``messages[i]`` is a :class:`Message`; ``messages[a:b]`` a :class:`Messages`."""
        if isinstance(index, slice):
            return Messages(*(getattr(self, c)[index] for c in MESSAGE_COLUMNS), source=self.source)
        return Message(*(getattr(self, c)[index].item() for c in MESSAGE_COLUMNS))


def _validate_messages(m: Messages) -> None:
    src, t, typ, size, price, direction = m.source, m.time, m.type, m.size, m.price, m.direction
    checks = [
        (~np.isfinite(t), "time", "a finite number of seconds after midnight", t),
        ((typ < 1) | (typ > 7), "type", "an event type in 1..7", typ),
        ((direction != 1) & (direction != -1), "direction", "+1 or -1", direction),
        (size < 0, "size", "a non-negative integer", size),
        ((typ <= 5) & (size == 0), "size", "a positive size for event types 1-5", size),
        ((typ <= 5) & (price <= 0), "price", "a positive price for event types 1-5", price),
        ((typ <= 4) & (m.order_id <= 0), "order_id", "a positive order id for event types 1-4", m.order_id),
    ]
    errors = [(i, name, expected, values[i]) for mask, name, expected, values in checks
              if (i := _first(mask)) is not None]
    back = _first(t[1:] < t[:-1])
    if back is not None:
        errors.append((back + 1, "time", f"non-decreasing times (previous line: {t[back]!r})", t[back + 1]))
    if errors:
        i, name, expected, got = min(errors, key=lambda e: e[0])
        raise ValueError(f"{_where(src, i)}: {name}: expected {expected}, got {got!r}")


def _read_lines(path_or_file) -> tuple[str, list[str]]:
    if isinstance(path_or_file, (str, os.PathLike)):
        name = str(path_or_file)
        with open(path_or_file, "rb") as f:
            data = f.read()
    elif hasattr(path_or_file, "read"):
        name = str(getattr(path_or_file, "name", "<stream>"))
        data = path_or_file.read()
    else:
        raise TypeError(f"path_or_file: expected a path or a file object, got {type(path_or_file).__name__}")
    if isinstance(data, bytes):
        try:
            data = data.decode("ascii")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ValueError(f"{name}, line {line}: expected ASCII text, got byte {data[exc.start]:#04x}") from None
    lines = data.splitlines()
    if not lines:
        raise ValueError(f"{name}: expected at least one line, got an empty file")
    return name, lines


def _split(name: str, lines: list[str], ncols: int | None, what: str) -> np.ndarray:
    """``(n, ncols)`` array of field strings; ``ncols=None``: that of the first line, a multiple of 4."""
    rows = [line.split(",") for line in lines]
    if ncols is None:
        ncols = len(rows[0])
        if ncols % 4:
            raise ValueError(f"{name}, line 1: expected {what} (4 columns per level), got {ncols} columns")
    for i, row in enumerate(rows):
        if len(row) != ncols:
            raise ValueError(f"{name}, line {i + 1}: expected {ncols} comma-separated columns ({what}), "
                             f"got {len(row)}: {lines[i][:80]!r}")
    return np.array(rows, dtype=str).reshape(len(rows), ncols)


def _column(name: str, fields: np.ndarray, j: int, label: str, dtype) -> np.ndarray:
    try:
        return fields[:, j].astype(dtype)
    except (ValueError, OverflowError):
        convert = float if dtype is np.float64 else int
        kind = "a number" if dtype is np.float64 else "an integer"
        for i, value in enumerate(fields[:, j].tolist()):
            try:
                np.array([convert(value)], dtype=dtype)
            except (ValueError, OverflowError):
                raise ValueError(f"{name}, line {i + 1}: {label} (column {j + 1}): expected {kind}, "
                                 f"got {value!r}") from None
        raise


def read_messages(path_or_file) -> Messages:
    """Parse and validate a LOBSTER message file (path or open file).

    Raises:
        ValueError: naming the file and the 1-based line: wrong column count, a non-numeric field,
            a negative size (zero for types 1-5), an unknown event type, a direction other than +-1,
            a non-positive price or order id where one is required, a time before the previous one.
    """
    name, lines = _read_lines(path_or_file)
    fields = _split(name, lines, 6, ", ".join(MESSAGE_COLUMNS))
    cols = [_column(name, fields, j, c, np.float64 if j == 0 else np.int64) for j, c in enumerate(MESSAGE_COLUMNS)]
    return Messages(*cols, source=name)


# --------------------------------------------------------------------------------------- orderbook
@dataclass(frozen=True, eq=False)
class Snapshots:
    """LOBSTER orderbook rows: the top ``L`` levels after each message, validated on construction.

    Shapes: ``ask_price, ask_size, bid_price, bid_size`` ``(n, L)`` int64; level 1 first; empty
    levels hold :data:`ASK_DUMMY` / :data:`BID_DUMMY` with size 0 and come after every real level.
    """

    ask_price: np.ndarray
    ask_size: np.ndarray
    bid_price: np.ndarray
    bid_size: np.ndarray
    source: str = field(default="<orderbook>", compare=False)

    def __post_init__(self):
        shape = np.shape(self.ask_price)
        for name in ("ask_price", "ask_size", "bid_price", "bid_size"):
            a = np.asarray(getattr(self, name), dtype=np.int64)
            if a.ndim != 2 or a.shape != shape:
                raise ValueError(f"{name}: expected shape (n, levels) = {shape}, got {a.shape}")
            object.__setattr__(self, name, a)
        _validate_snapshots(self)

    @property
    def levels(self) -> int:
        return self.ask_price.shape[1]

    def __len__(self) -> int:
        return self.ask_price.shape[0]

    def row(self, index: int) -> np.ndarray:
        """Row ``index`` in the file's layout: ``(4 L,)`` int64 ask price, ask size, bid price, bid size, ..."""
        return np.stack([self.ask_price[index], self.ask_size[index], self.bid_price[index],
                         self.bid_size[index]], axis=1).reshape(-1)

    def depth(self, index: int) -> Depth:
        """Row ``index`` as a :class:`Depth` without the padding levels."""
        a, b = self.ask_size[index] > 0, self.bid_size[index] > 0
        return Depth(self.ask_price[index][a], self.ask_size[index][a],
                     self.bid_price[index][b], self.bid_size[index][b])


def _validate_snapshots(s: Snapshots) -> None:
    src = s.source
    errors = []
    for side, price, size, dummy, order in (("ask", s.ask_price, s.ask_size, ASK_DUMMY, 1),
                                            ("bid", s.bid_price, s.bid_size, BID_DUMMY, -1)):
        real = size > 0
        checks = [  # (mask over (row, level - first), name, expected, first level the mask covers)
            (size < 0, f"{side} size", "a non-negative size", 1),
            (real & (price <= 0), f"{side} price", "a positive price for a level with shares", 1),
            (~real & (price != dummy), f"{side} price", f"the padding price {dummy} for a level with size 0", 1),
            (~real[:, :-1] & real[:, 1:], f"{side} size", "empty levels only after every real level", 2),
            (real[:, 1:] & (np.diff(price, axis=1) * order <= 0), f"{side} price",
             "prices strictly " + ("increasing" if order == 1 else "decreasing") + " level by level", 2),
        ]
        for mask, name, expected, first in checks:
            rows = np.flatnonzero(mask.any(axis=1))
            if rows.size:
                i = int(rows[0])
                level = int(np.flatnonzero(mask[i])[0]) + first
                errors.append((i, f"{name}, level {level}", expected))
    if errors:
        i, name, expected = min(errors, key=lambda e: e[0])
        raise ValueError(f"{_where(src, i)}: {name}: expected {expected}, got row {s.row(i).tolist()}")


def read_orderbook(path, levels: int | None = None) -> Snapshots:
    """Parse and validate a LOBSTER orderbook file; ``levels`` keeps the first ``levels`` levels
    (default: all, inferred from the column count, which must be a multiple of 4)."""
    name, lines = _read_lines(path)
    fields = _split(name, lines, None, "ask price, ask size, bid price, bid size per level")
    total = fields.shape[1] // 4
    if levels is None:
        levels = total
    elif not isinstance(levels, (int, np.integer)) or not 1 <= levels <= total:
        raise ValueError(f"levels: expected an integer in 1..{total} (the file has {total}), got {levels!r}")
    labels = ("ask price", "ask size", "bid price", "bid size")
    cols = [np.stack([_column(name, fields, 4 * k + j, f"{labels[j]} {k + 1}", np.int64) for k in range(levels)],
                     axis=1) for j in range(4)]
    return Snapshots(*cols, source=name)


def load_sample() -> tuple[Messages, Snapshots]:
    """The LOBSTER AAPL 2012-06-21 sample (999 messages, 10 levels) found by ``workbench.data``."""
    from workbench.data import DATASETS, find

    folder = find("lobster")
    names = sorted(DATASETS["lobster"].files)
    msg = next(n for n in names if "_message_" in n)
    book = next(n for n in names if "_orderbook_" in n)
    return read_messages(folder / msg), read_orderbook(folder / book)


# --------------------------------------------------------------------------------------- replay
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
                raise ValueError(f"{_where(messages.source, 0)}: size: expected at most the {have} shares that "
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

    ``resync``: the orderbook :class:`Snapshots` to re-synchronise from (rule 7), or ``None`` (the
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
            self.book._rest(oid, side, price, size)
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
        level = self.book._sides[side].levels.get(price)
        if level is None or len(level) != 1:
            return False
        (oid, size), = level.items()
        return oid < 0 and self._seeded_size.get(oid) == size

    @property
    def ask_known_to(self) -> int | None:
        return self._bound[-1]

    @property
    def bid_known_to(self) -> int | None:
        return self._bound[1]

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
        orders = book._orders
        bound = self._bound
        b = bound[side]
        known = b is None or (price >= b if side == 1 else price <= b)
        try:
            if typ == 1:
                if oid in orders:
                    raise ValueError(f"order_id: expected a new id, got {oid}, already resting")
                if book._crosses(side, price):
                    self._uncross(side, price)
                book._rest(oid, side, price, size)
            else:
                found = orders.get(oid)
                if found is not None:
                    if found[0] != side or found[1] != price:
                        raise ValueError(f"price, direction: expected those of resting order {oid}, "
                                         f"{found[1]} and {found[0]:+d}, got {price} and {side:+d}")
                    resting = book._sides[side].levels[price][oid]
                    if size > resting or (typ == 3 and size != resting):
                        if known:
                            raise ValueError(f"size: expected {'' if typ == 3 else 'at most '}the resting size "
                                             f"{resting} of order {oid}, got {size}")
                        self.unattributed += 1
                        size = resting
                    elif typ == 3:
                        size = resting
                    book._reduce(oid, side, price, size)
                else:
                    ph = self._placeholder[side].get(price)
                    held = book._sides[side].levels[price][ph] if ph is not None and ph in orders else 0
                    if size <= held:
                        book._reduce(ph, side, price, size)
                    elif known:
                        raise ValueError(f"order_id: expected an order added earlier or at most the {held} "
                                         f"pre-sample shares left at price {price} (side {side:+d}), "
                                         f"got unknown {oid} of size {size}")
                    else:
                        self.unattributed += 1
                        if held:
                            book._reduce(ph, side, price, held)
            L = self.levels
            if L is not None:  # shrink the determined region to the L-th level once L are determined
                s = book._sides[side]
                if len(s.keys) >= L:
                    kth = s.keys[-L] * s.sign
                    if b is None or (kth >= b if side == 1 else kth <= b):
                        bound[side] = kth
        except ValueError as exc:
            raise ValueError(f"{_where(self.messages.source, i)} (type {typ}, {EVENT_TYPES[typ]}): {exc}") from None
        self.position = i + 1

    def _apply_resync(self, i: int) -> None:
        """:meth:`_apply` message ``i``, then re-synchronise its side with orderbook row ``i`` (rule 7)."""
        self.seeded = []
        typ = self._cols[1][i]
        if typ >= 5:
            self.position = i + 1
            return
        side = self._cols[5][i]
        before = self._bound[side]
        self._apply(i)
        keys = self.book._sides[side].keys
        if len(keys) == self.levels and before is not None and keys[0] == before * side:
            return  # fast path: still exactly the L levels down to the same bound (keys: price * side)
        self._resync_side(i, side, before)

    def _forget_beyond(self, side: int, bound: int) -> int:
        """Remove every level of ``side`` worse than ``bound`` (orders and placeholders); returns how many."""
        book = self.book
        s = book._sides[side]
        keys, orders, placeholder = s.keys, book._orders, self._placeholder[side]
        n = 0
        while keys and not _within(side, keys[0] * s.sign, bound):
            price = keys[0] * s.sign
            for oid in s.levels[price]:
                del orders[oid]
                self._seeded_size.pop(oid, None)
            placeholder.pop(price, None)
            del s.levels[price]
            del s.volume[price]
            del keys[0]
            n += 1
        return n

    def _resync_side(self, i: int, side: int, before: int | None) -> None:
        """Rule 7 for one side after message ``i``; ``before`` is the side's determined bound before it."""
        L = self.levels
        book = self.book
        s = book._sides[side]
        keys, sign = s.keys, s.sign
        if before is not None:
            # the replay holds nothing beyond ``before`` (rule 7); what message i put there (an
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
        opp = book._sides[-side]
        removed = False
        while book._crosses(side, price):
            best = opp.keys[-1] * opp.sign
            if self.known(-side, best):
                raise ValueError(f"price: expected a price that does not cross the book "
                                 f"(best bid {book.best_bid()}, best ask {book.best_ask()}), got {price}")
            for oid in opp.levels[best]:
                del book._orders[oid]
            opp.drop_level(best)
            removed = True
        self.unattributed += removed


def replay(messages: Messages, book: OrderBook | None = None,
           initial_snapshot: InitialBook | Snapshots | None = None, resync: Snapshots | None = None) -> Replay:
    """A :class:`Replay` of ``messages`` on ``book`` (default: a new empty book).

    ``initial_snapshot``: the book before the first message, as an :class:`InitialBook` or as the
    orderbook :class:`Snapshots` (then :func:`initial_book` derives it from row 0 only). Without it
    the book (empty or given) is taken as the complete book and the stream as complete.

    ``resync``: the orderbook :class:`Snapshots` (one row per message, the file's ``L`` levels) to
    re-synchronise from (rule 7 of the module docstring); it also serves as ``initial_snapshot`` when
    that is not given. After message ``i`` only row ``i`` is read, and only for the levels that have
    just entered the top ``L`` from below. Default ``None``: the strict replay (rules 1-6).
    """
    return Replay(messages, book, initial_snapshot, resync)


# --------------------------------------------------------------------------------------- check
@dataclass(frozen=True, eq=False)
class Mismatch:
    """The first message after which a compared level differs from the orderbook file, or that the
    replay refused.

    ``expected`` / ``got``: ``(4 L,)`` int64 rows in the file's layout (``got`` padded with the
    dummies); ``determined``: ``(2, L)`` bool, asks then bids, the levels that were compared (all of
    them with ``resync=True``). ``error``: ``None``, or the replay's ``ValueError`` text when it
    refused message ``index`` (then ``got`` is the book before that message).
    """

    index: int
    expected: np.ndarray
    got: np.ndarray
    determined: np.ndarray
    error: str | None = None


@dataclass(frozen=True)
class ReplayCheck:
    """Result of :func:`check_replay`; level comparisons count (message, side, level) triples.

    With ``resync=True`` every triple is compared (``levels_undetermined == 0``) and split into
    ``levels_seeded`` (the level entered the top ``L`` at this very message and was copied from this
    row, so it agrees by construction) and ``levels_replayed`` (everything else: it was visible
    before the message, and its content since then comes from the messages). ``levels_seeded_copy``
    is a diagnostic subset of the replayed ones: levels that are still exactly the placeholder they
    were seeded with (at surfacing or from row 0), untouched by any message since.
    """

    checked: int  # messages after which the book was compared
    matched: int  # messages whose compared levels all equal the file's, exactly
    levels_compared: int  # compared triples
    levels_undetermined: int  # triples outside the determined region, not asserted (strict mode)
    undetermined_agreeing: int  # of those, how many happen to equal the file anyway (diagnostic)
    messages_with_undetermined: int
    unattributed: int  # messages at undetermined prices the replay could apply only in part
    first_mismatch: Mismatch | None
    resync: bool = False
    levels_seeded: int = 0  # resync: compared triples copied from this same row at surfacing
    levels_replayed: int = 0  # resync: compared triples that were visible before the message
    levels_seeded_copy: int = 0  # resync: of the replayed, still an untouched seeded placeholder
    surfaced: int = 0  # resync: levels seeded as they entered the top L (excluding row 0)
    sunk: int = 0  # resync: levels forgotten as they left the top L
    error: str | None = None  # the replay refused a message (counted in checked, not matched) and stopped

    @property
    def ok(self) -> bool:
        return self.matched == self.checked

    def __str__(self) -> str:
        if self.resync:
            s = (f"replay check (resync): {self.matched}/{self.checked} messages matched exactly on every level; "
                 f"{self.levels_compared} level comparisons: {self.levels_seeded} seeded from the row at "
                 f"surfacing, {self.levels_replayed} replayed from messages ({self.levels_seeded_copy} of them "
                 f"still an untouched seeded placeholder); {self.surfaced} levels surfaced, {self.sunk} sank; "
                 f"{self.unattributed} unattributed messages")
        else:
            s = (f"replay check: {self.matched}/{self.checked} messages matched exactly; "
                 f"{self.levels_compared} determined level comparisons, {self.levels_undetermined} undetermined "
                 f"(in {self.messages_with_undetermined} messages; {self.undetermined_agreeing} of them agree "
                 f"anyway), {self.unattributed} unattributed messages")
        if self.first_mismatch is not None:
            s += f"; first mismatch after message {self.first_mismatch.index}"
        if self.error is not None:
            s += f"; the replay stopped: {self.error}"
        return s


def _determined(top: list[tuple[int, int]], side: int, bound: int | None, L: int) -> int:
    """How many of the top ``L`` levels are determined (a prefix of the side)."""
    if bound is None:
        return L
    return sum(1 for p, _ in top if (p >= bound if side == 1 else p <= bound))


def check_replay(messages: Messages, orderbook: Snapshots, levels: int | None = None, *,
                 resync: bool = False) -> ReplayCheck:
    """Replay ``messages`` from ``orderbook`` row 0 and compare the top ``levels`` levels of the book
    with every orderbook row (exact integer equality of price and size).

    ``resync=False``: the strict replay; levels outside the determined region are counted, not
    compared. ``resync=True``: the re-synchronising replay (rule 7, ``replay(..., resync=orderbook)``);
    every level is compared after every message, and the comparisons are split into seeded and
    replayed ones (:class:`ReplayCheck`).

    Shapes: ``orderbook`` has one row per message; ``levels <= orderbook.levels`` (default: all).
    """
    if len(orderbook) != len(messages):
        raise ValueError(f"orderbook: expected {len(messages)} rows (one per message), got {len(orderbook)}")
    L = orderbook.levels if levels is None else levels
    if not isinstance(L, (int, np.integer)) or not 1 <= L <= orderbook.levels:
        raise ValueError(f"levels: expected an integer in 1..{orderbook.levels}, got {levels!r}")
    L = int(L)
    if resync:
        return _check_resync(messages, orderbook, L)
    rep = Replay(messages, initial_snapshot=orderbook)
    exp = {-1: (orderbook.ask_price[:, :L].tolist(), orderbook.ask_size[:, :L].tolist()),
           1: (orderbook.bid_price[:, :L].tolist(), orderbook.bid_size[:, :L].tolist())}
    sides, bound = rep.book._sides, rep._bound
    matched = compared = undetermined = agreeing = with_undetermined = 0
    first = error = None
    try:
        for i in rep:
            ok = True
            und = 0
            for side in (-1, 1):
                top = sides[side].top(L)
                n_det = _determined(top, side, bound[side], L)
                exp_p, exp_s = exp[side][0][i], exp[side][1][i]
                dummy = BID_DUMMY if side == 1 else ASK_DUMMY
                for k in range(L):
                    p, s = top[k] if k < len(top) else (dummy, 0)
                    same = p == exp_p[k] and s == exp_s[k]
                    if k < n_det:
                        ok = ok and same
                    else:
                        agreeing += same
                compared += n_det
                und += L - n_det
            undetermined += und
            with_undetermined += und > 0
            matched += ok
            if not ok and first is None:
                first = _mismatch(i, rep, orderbook, L)
    except ValueError as exc:  # the replay refused message rep.position: report it, stop there
        error = str(exc)
        if first is None:
            first = _mismatch(rep.position, rep, orderbook, L, error=error)
    checked = len(messages) if error is None else rep.position + 1
    return ReplayCheck(checked, matched, compared, undetermined, agreeing, with_undetermined,
                       rep.unattributed, first, error=error)


def _check_resync(messages: Messages, orderbook: Snapshots, L: int) -> ReplayCheck:
    rep = Replay(messages, resync=orderbook)
    exp = {-1: (orderbook.ask_price[:, :L].tolist(), orderbook.ask_size[:, :L].tolist()),
           1: (orderbook.bid_price[:, :L].tolist(), orderbook.bid_size[:, :L].tolist())}
    sides = rep.book._sides
    matched = seeded = copies = 0
    first = error = None
    try:
        for i in rep:
            ok = True
            now = rep.seeded
            for side in (-1, 1):
                top = sides[side].top(L)
                top += [(BID_DUMMY if side == 1 else ASK_DUMMY, 0)] * (L - len(top))
                ok = ok and top == list(zip(exp[side][0][i], exp[side][1][i]))
                for p, _ in top:
                    if now and (side, p) in now:
                        seeded += 1
                    elif rep.is_seeded_copy(side, p):
                        copies += 1
            matched += ok
            if not ok and first is None:
                first = _mismatch(i, rep, orderbook, L, every_level=True)
    except ValueError as exc:  # the replay refused message rep.position: report it, stop there
        error = str(exc)
        if first is None:
            first = _mismatch(rep.position, rep, orderbook, L, every_level=True, error=error)
    checked = len(messages) if error is None else rep.position + 1
    compared = (checked - (error is not None)) * 2 * L
    return ReplayCheck(checked, matched, compared, 0, 0, 0, rep.unattributed, first, resync=True,
                       levels_seeded=seeded, levels_replayed=compared - seeded, levels_seeded_copy=copies,
                       surfaced=rep.surfaced, sunk=rep.sunk, error=error)


def _mismatch(i: int, rep: Replay, orderbook: Snapshots, L: int, every_level: bool = False,
              error: str | None = None) -> Mismatch:
    got = np.empty((L, 4), dtype=np.int64)
    det = np.zeros((2, L), dtype=bool)
    for col, side, dummy in ((0, -1, ASK_DUMMY), (2, 1, BID_DUMMY)):
        top = rep.book._sides[side].top(L)
        det[col // 2, : L if every_level else _determined(top, side, rep._bound[side], L)] = True
        got[:, col:col + 2] = top + [(dummy, 0)] * (L - len(top))
    return Mismatch(i, orderbook.row(i)[: 4 * L], got.reshape(-1), det, error)
