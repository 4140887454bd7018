"""LOBSTER message and orderbook files: their format, readers and validation.

File formats (lobsterdata.com; comma-separated, no header):

- message file, one event per line, 6 columns: time (seconds after midnight, float), event type,
  order id, size (shares), price (dollars x 10000, integer), direction (+1 buy / -1 sell limit
  order; for executions the side of the *resting* order). Event types: 1 new limit order,
  2 partial cancellation, 3 full deletion, 4 execution of a visible limit order, 5 execution of a
  hidden limit order, 6 cross trade (auction), 7 trading halt.
- orderbook file, the book *after* the message on the same line, ``4 L`` columns: ask price 1,
  ask size 1, bid price 1, bid size 1, ask price 2, ... Empty levels are padded with price
  9999999999 (asks) / -9999999999 (bids) and size 0.

A level-``L`` message file holds only the events that touch the top ``L`` price levels; events deeper
in the book are left out. How such a stream is applied to an order book is :mod:`~workbench.execution.replay`;
how the replay is checked against the orderbook file is :mod:`~workbench.execution.replay_check`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from workbench.execution.book import Depth

__all__ = [
    "Messages", "Message", "Snapshots", "read_messages", "read_orderbook", "load_sample", "source_line",
    "EVENT_TYPES", "ASK_DUMMY", "BID_DUMMY", "MESSAGE_COLUMNS",
]

EVENT_TYPES = {
    1: "new limit order", 2: "partial cancellation", 3: "full deletion", 4: "execution (visible)",
    5: "execution (hidden)", 6: "cross trade", 7: "trading halt",
}
ASK_DUMMY = 9999999999
BID_DUMMY = -9999999999
MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")


def source_line(source: str, index: int) -> str:
    """How errors name row ``index`` (0-based) of a file: ``"<source>, line <index + 1>"``."""
    return f"{source}, line {index + 1}"


def _first(mask: np.ndarray) -> int | None:
    bad = np.flatnonzero(mask)
    return int(bad[0]) if bad.size else None


def _integers(source: str, name: str, values, dtype) -> np.ndarray:
    """``values`` (one column ``(n,)`` or one value per level ``(n, L)``) as ``dtype``, refusing what that would
    change: non-numbers (``TypeError``), and non-integral or out-of-range values (``ValueError`` naming the line)."""
    raw = np.asarray(values)
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"{source}: {name}: expected integers, got an array of {raw.dtype}")
    info = np.iinfo(dtype)
    if raw.dtype.kind == "f":  # exactly representable integers only (|x| <= 2^53)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(raw) | (raw != np.round(raw)) | (np.abs(raw) > min(info.max, 2 ** 53))
    else:
        bad = (raw < info.min) | (raw > info.max) if raw.dtype != dtype else np.zeros(raw.shape, bool)
    if bad.any():
        at = np.argwhere(bad)[0]
        level = f", level {at[1] + 1}" if raw.ndim == 2 else ""
        raise ValueError(f"{source_line(source, int(at[0]))}: {name}{level}: expected an integer in "
                         f"[{info.min}, {info.max}], got {raw[tuple(at)].item()!r}")
    return raw.astype(dtype)


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
    types 1-5); ``direction`` int8 +-1. Integer columns refuse non-integral values (1.5 is not read as 1).
    ``source`` names the file in error messages, whose line numbers are 1-based row indices.
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
            if dtype is np.float64:
                if raw.dtype.kind not in "iuf":
                    raise TypeError(f"{self.source}: {name}: expected numbers, got an array of {raw.dtype}")
                object.__setattr__(self, name, raw.astype(dtype, copy=False))
            else:
                object.__setattr__(self, name, _integers(self.source, name, raw, dtype))
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
        raise ValueError(f"{source_line(src, i)}: {name}: expected {expected}, got {got!r}")


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
    bad = re.search(r"[^\t\n\r\x20-\x7e]", data)  # NUL, and \v \f \x1c-\x1e, which would also split lines
    if bad:
        line = data.count("\n", 0, bad.start()) + 1
        raise ValueError(f"{name}, line {line}: expected printable ASCII text, got character {bad.group()!r}")
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
    levels hold :data:`ASK_DUMMY` / :data:`BID_DUMMY` with size 0 and come after every real level. A row
    whose best bid is at or above its best ask (a crossed book) is refused.
    """

    ask_price: np.ndarray
    ask_size: np.ndarray
    bid_price: np.ndarray
    bid_size: np.ndarray
    source: str = field(default="<orderbook>", compare=False)

    def __post_init__(self):
        shape = np.shape(self.ask_price)
        if len(shape) != 2 or shape[1] < 1:
            raise ValueError(f"ask_price: expected shape (n, levels) with levels >= 1, got {shape}")
        for name in ("ask_price", "ask_size", "bid_price", "bid_size"):
            a = np.asarray(getattr(self, name))
            if a.shape != shape:
                raise ValueError(f"{name}: expected shape (n, levels) = {shape}, got {a.shape}")
            object.__setattr__(self, name, _integers(self.source, name, a, np.int64))
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
    crossed = np.flatnonzero((s.ask_size[:, 0] > 0) & (s.bid_size[:, 0] > 0) & (s.bid_price[:, 0] >= s.ask_price[:, 0]))
    if crossed.size:
        errors.append((int(crossed[0]), "bid price, level 1", "a best bid below the best ask, not a crossed book"))
    if errors:
        i, name, expected = min(errors, key=lambda e: e[0])
        raise ValueError(f"{source_line(src, i)}: {name}: expected {expected}, got row {s.row(i).tolist()}")


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
