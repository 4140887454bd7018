"""Property-based tests (hypothesis) of the execution core's public functions that take user input: the LOBSTER
parsers and ``Messages`` / ``Snapshots`` built directly, and the ``OrderBook`` operations. Any input gives the
documented result or a ``ValueError`` / ``TypeError`` naming the argument (for files: the file and line).
``pytest.mark.timeout`` guards against hangs; nothing asserts speed."""

import io

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.strategies import floats
from workbench.execution import ASK_DUMMY, BID_DUMMY, Messages, OrderBook, read_messages, read_orderbook

pytestmark = pytest.mark.timeout(120)
SETTINGS = settings(deadline=None, max_examples=80)


def mostly(good, bad):
    """``good`` three times in four, else ``bad``."""
    return st.integers(0, 3).flatmap(lambda i: bad if i == 0 else good)


odd_field = st.sampled_from(["", "x", "1.5", "-0", "nan", "1e3", " 7", "\x00", "9" * 25, "\x0c"])


@st.composite
def message_lines(draw):
    t, lines = 34200.0, []
    for _ in range(draw(st.integers(1, 6))):
        t += draw(floats(0, 2))
        fields = [repr(t), str(draw(st.integers(1, 7))), str(draw(st.integers(1, 50))), str(draw(st.integers(1, 500))),
                  str(draw(st.integers(1, 10 ** 7))), str(draw(st.sampled_from([1, -1])))]
        if draw(st.integers(0, 5)) == 0:
            fields[draw(st.integers(0, 5))] = draw(odd_field)
        lines.append(",".join(fields))
    return lines


def parsed_or_refused(reader, text: str):
    """``reader`` on ``text``, or ``None`` when it refused the text with a ``ValueError`` that names the line."""
    try:
        out = reader(io.StringIO(text))
    except ValueError as e:
        assert str(e).startswith("<stream>, line "), str(e)
        event("refused")
        return None
    event("parsed")
    return out


@SETTINGS
@given(lines=message_lines())
def test_read_messages_reads_every_line_or_names_the_bad_one(lines):
    m = parsed_or_refused(read_messages, "\n".join(lines) + "\n")
    if m is None:
        return
    assert len(m) == len(lines)
    for i, line in enumerate(lines):
        fields = line.split(",")
        assert m[i] == (float(fields[0]), *(int(f) for f in fields[1:]))
    assert np.all(np.diff(m.time) >= 0) and set(m.direction.tolist()) <= {1, -1}


@st.composite
def book_rows(draw):
    levels = draw(st.integers(1, 3))
    rows = []
    for _ in range(draw(st.integers(1, 5))):
        mid = draw(st.integers(100, 200)) * 100
        row = []
        for k in range(levels):
            ask = (mid + 100 * (k + 1), draw(st.integers(0, 50)))
            bid = (mid - 100 * (k + 1), draw(st.integers(0, 50)))
            row += [ask[0] if ask[1] else ASK_DUMMY, ask[1], bid[0] if bid[1] else BID_DUMMY, bid[1]]
        for j in range(0, 4 * levels, 2):  # padding only after the real levels
            if j >= 4 and row[j + 1] and not row[j - 3]:
                row[j], row[j + 1] = (ASK_DUMMY if j % 4 == 0 else BID_DUMMY), 0
        if draw(st.integers(0, 3)) == 0:  # one mutation: a crossed row, a fraction, garbage, ...
            j = draw(st.integers(0, 4 * levels - 1))
            row[j] = draw(st.sampled_from([row[0] + 100, row[0], -5, 0, "1.5", "x", "\x00", row[j]]))
        rows.append(",".join(map(str, row)))
    return rows


@SETTINGS
@given(rows=book_rows())
def test_read_orderbook_gives_uncrossed_ordered_rows_or_names_the_bad_one(rows):
    s = parsed_or_refused(read_orderbook, "\n".join(rows))
    if s is None:
        return
    assert len(s) == len(rows)
    for i in range(len(s)):
        d = s.depth(i)
        assert s.row(i).tolist() == [int(f) for f in rows[i].split(",")]
        assert np.all(np.diff(d.ask_price) > 0) and np.all(np.diff(d.bid_price) < 0)
        if len(d.ask_price) and len(d.bid_price):
            assert d.bid_price[0] < d.ask_price[0]


numbers = st.one_of(st.integers(-3, 10), floats(-3, 10), st.sampled_from([np.nan, np.inf, 1.5, 2.0 ** 70]))


@SETTINGS
@given(column=st.sampled_from(["time", "type", "order_id", "size", "price", "direction"]), value=numbers)
def test_messages_keep_integral_values_exactly_or_name_the_column(column, value):
    cols = {"time": [1.0, 2.0], "type": [1, 4], "order_id": [1, 1], "size": [10, 4], "price": [10100, 10100],
            "direction": [1, 1]}
    cols[column] = [cols[column][0], value]
    try:
        m = Messages(**{k: np.array(v) for k, v in cols.items()})
    except (TypeError, ValueError) as e:
        assert str(e).startswith(f"<messages>, line 2: {column}: expected "), str(e)
        event("refused")
        return
    event("built")
    assert getattr(m, column)[1] == value  # nothing truncated


@st.composite
def operations(draw):
    ids = mostly(st.integers(0, 4), st.sampled_from([1.0, "1", 9]))
    sides = mostly(st.sampled_from([1, -1]), st.sampled_from([0, 2, True, "buy"]))
    prices = mostly(st.integers(95, 105).map(lambda p: p * 100), st.sampled_from([0, -100, 10050, 10000.0]))
    sizes = mostly(st.integers(1, 30), st.sampled_from([0, -1, 2.5, None]))
    op = draw(st.sampled_from(["add", "add", "add", "market", "cancel", "delete", "execute", "modify"]))
    args = {"add": lambda: (draw(ids), draw(sides), draw(prices), draw(sizes)),
            "market": lambda: (draw(sides), draw(sizes)),
            "cancel": lambda: (draw(ids), draw(sizes)), "delete": lambda: (draw(ids),),
            "execute": lambda: (draw(ids), draw(sizes)),
            "modify": lambda: (draw(ids), draw(st.none() | sizes), draw(st.none() | prices))}[op]()
    return op, args


def state(book: OrderBook):
    return ({s: {p: dict(q) for p, q in book.sides[s].levels.items()} for s in (1, -1)}, dict(book.locations))


def check_invariants(book: OrderBook) -> None:
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is None or ask is None or bid < ask  # never crossed
    count = 0
    for s in (1, -1):
        side = book.sides[s]
        assert sorted(side.keys) == side.keys and {k * s for k in side.keys} == set(side.levels) == set(side.volume)
        for price, queue in side.levels.items():
            assert queue and all(size > 0 for size in queue.values()) and side.volume[price] == sum(queue.values())
            assert all(book.locations[oid] == (s, price) for oid in queue)
            count += len(queue)
    assert count == len(book) == len(book.locations)


@settings(SETTINGS, max_examples=60)
@given(ops=st.lists(operations(), min_size=8, max_size=30))
def test_order_book_operations_keep_it_consistent_or_leave_it_unchanged(ops):
    book = OrderBook(tick_size=100)
    names = {"add": ("order_id", "side", "price", "size"), "market": ("side", "size"), "cancel": ("order_id", "size"),
             "delete": ("order_id",), "execute": ("order_id", "size"), "modify": ("order_id", "size", "price")}
    for op, args in ops:
        before, resting = state(book), sum(sum(q.values()) for s in (1, -1) for q in book.sides[s].levels.values())
        try:
            out = getattr(book, op)(*args)
        except (TypeError, ValueError) as e:
            head = str(e).split(":")[0]
            assert any(n in head.split(", ") for n in names[op]), (op, args, str(e))
            assert state(book) == before  # a refused operation changes nothing
            event(f"refused {op}")
            continue
        event(f"done {op}")
        check_invariants(book)
        after = sum(sum(q.values()) for s in (1, -1) for q in book.sides[s].levels.values())
        if op in ("add", "market"):  # shares are conserved: what traded left the book, the rest rests
            size = args[-1]
            assert out.filled + out.remaining == size
            assert after == resting - out.filled + (out.remaining if op == "add" else 0)
