"""The limit order book on tiny hand-made books whose answer is known."""

import numpy as np
import pytest

from workbench.execution.book import BUY, SELL, Fill, OrderBook


@pytest.fixture
def book():
    """asks: 10,100 [ids 1 (100), 2 (50)], 10,200 [3 (200)]; bids: 9,900 [4 (100), 5 (30)], 9,800 [6 (70)]."""
    b = OrderBook(tick_size=100)
    for oid, side, price, size in [(1, SELL, 10100, 100), (2, SELL, 10100, 50), (3, SELL, 10200, 200),
                                   (4, BUY, 9900, 100), (5, BUY, 9900, 30), (6, BUY, 9800, 70)]:
        assert b.add(oid, side, price, size) == []
    return b


def test_queries(book):
    assert (book.best_bid(), book.best_ask(), book.spread(), book.mid()) == (9900, 10100, 200, 10000.0)
    d = book.depth(10)
    assert d.ask_price.tolist() == [10100, 10200] and d.ask_size.tolist() == [150, 200]
    assert d.bid_price.tolist() == [9900, 9800] and d.bid_size.tolist() == [130, 70]
    assert d.ask_price.dtype == np.int64
    assert book.depth(1).bid_price.tolist() == [9900]
    assert book.volume_at(SELL, 10100) == 150 and book.volume_at(BUY, 10100) == 0
    assert book.order(2) == (10100, 50, SELL) and book.order(99) is None
    assert 2 in book and 99 not in book and len(book) == 6
    assert book.queue(SELL, 10100) == [(1, 100), (2, 50)] and book.queue(SELL, 10300) == []
    assert book.levels(BUY) == [(9900, 130), (9800, 70)]


def test_empty_book():
    b = OrderBook()
    assert (b.best_bid(), b.best_ask(), b.mid(), b.spread()) == (None,) * 4
    assert b.depth().ask_price.shape == (0,)
    fills = b.market(BUY, 10)
    assert fills == [] and fills.remaining == 10


def test_price_time_priority_two_orders_at_one_price(book):
    fills = book.market(BUY, 120, time=1.0, order_id=7)
    assert fills == [Fill(1.0, 10100, 100, 1, 7, BUY), Fill(1.0, 10100, 20, 2, 7, BUY)]
    assert fills.remaining == 0 and fills.filled == 120
    assert 1 not in book and book.order(2) == (10100, 30, SELL)  # partial fill keeps the front
    assert book.queue_position(2) == 0


def test_market_order_walks_the_book_and_reports_the_remainder(book):
    fills = book.market(SELL, 250)
    assert [(f.price, f.size, f.maker_id, f.side) for f in fills] == [
        (9900, 100, 4, SELL), (9900, 30, 5, SELL), (9800, 70, 6, SELL)]
    assert fills.remaining == 50  # no liquidity left: reported, not placed
    assert book.best_bid() is None and len(book) == 3


def test_marketable_limit_order_crosses_levels_and_rests_the_remainder(book):
    fills = book.add(7, BUY, 10200, 400, time=2.0)
    assert [(f.price, f.size, f.maker_id, f.taker_id) for f in fills] == [
        (10100, 100, 1, 7), (10100, 50, 2, 7), (10200, 200, 3, 7)]
    assert fills.remaining == 50
    assert book.order(7) == (10200, 50, BUY)
    assert (book.best_bid(), book.best_ask()) == (10200, None)


def test_limit_order_stops_at_its_price(book):
    fills = book.add(7, SELL, 9900, 200)  # 130 at 9,900, never 9,800
    assert sum(f.size for f in fills) == 130 and fills.remaining == 70
    assert (book.best_ask(), book.best_bid()) == (9900, 9800)
    assert book.queue(SELL, 9900) == [(7, 70)]


def test_queue_position_before_and_after_cancels_ahead():
    b = OrderBook()
    for oid, size in [(1, 100), (2, 50), (3, 20), (4, 10)]:
        b.add(oid, BUY, 5000, size)
    assert [b.queue_position(i) for i in (1, 2, 3, 4)] == [0, 100, 150, 170]
    assert b.cancel(2, 30) == 20  # partial cancel ahead: priority kept, less ahead
    assert b.queue_position(3) == 120 and b.queue_position(2) == 100
    assert b.delete(1) == 100
    assert b.queue_position(3) == 20 and b.queue_position(2) == 0
    b.execute(2, 20, time=3.0)
    assert b.queue_position(3) == 0 and b.queue_position(4) == 20


def test_execute_returns_the_fill(book):
    assert book.execute(4, 40, time=5.0) == Fill(5.0, 9900, 40, 4, None, SELL)
    assert book.order(4) == (9900, 60, BUY)
    book.execute(4, 60)
    assert 4 not in book and book.queue(BUY, 9900) == [(5, 30)]


def test_modify_size_decrease_keeps_priority(book):
    assert book.modify(1, size=60) == [] and book.queue(SELL, 10100) == [(1, 60), (2, 50)]
    assert book.volume_at(SELL, 10100) == 110


def test_modify_size_increase_loses_priority(book):
    fills = book.modify(1, size=120)
    assert fills == [] and fills.remaining == 120
    assert book.queue(SELL, 10100) == [(2, 50), (1, 120)] and book.queue_position(1) == 50


def test_modify_price_loses_priority_and_may_cross(book):
    book.modify(2, price=10200)
    assert book.queue(SELL, 10200) == [(3, 200), (2, 50)]
    fills = book.modify(5, price=10200, size=200, time=4.0)  # a bid moved up crosses the asks
    assert [(f.price, f.size, f.maker_id, f.taker_id) for f in fills] == [
        (10100, 100, 1, 5), (10200, 100, 3, 5)]
    assert fills.remaining == 0 and 5 not in book and book.order(3) == (10200, 100, SELL)


def test_cancel_everything_removes_levels(book):
    book.cancel(1, 100)
    book.delete(2)
    assert book.best_ask() == 10200 and book.volume_at(SELL, 10100) == 0
    for oid in (3, 4, 5, 6):
        book.delete(oid)
    assert len(book) == 0 and book.best_bid() is None and book.best_ask() is None


def test_check_tick_can_be_bypassed():
    b = OrderBook(tick_size=100)
    b.add(1, BUY, 10050, 5, check_tick=False)
    b.modify(1, price=10060, check_tick=False)
    assert b.order(1) == (10060, 5, BUY)


@pytest.mark.parametrize("call, exc, words", [
    (lambda b: b.add(9, BUY, 9900, 0), ValueError, ["size", "positive", "0"]),
    (lambda b: b.add(9, BUY, 9900, -5), ValueError, ["size", "positive", "-5"]),
    (lambda b: b.add(9, BUY, 9900, 1.5), TypeError, ["size", "integer", "1.5"]),
    (lambda b: b.add(9, 0, 9900, 10), ValueError, ["side", "+1", "0"]),
    (lambda b: b.add(9, "buy", 9900, 10), ValueError, ["side", "'buy'"]),
    (lambda b: b.add(1, BUY, 9900, 10), ValueError, ["order_id", "duplicate", "1"]),
    (lambda b: b.add(9, BUY, 9950, 10), ValueError, ["price", "tick_size=100", "9950"]),
    (lambda b: b.add(9, BUY, 0, 10), ValueError, ["price", "positive", "0"]),
    (lambda b: b.add(9, BUY, "9900", 10), TypeError, ["price", "integer", "'9900'"]),
    (lambda b: b.market(2, 10), ValueError, ["side", "2"]),
    (lambda b: b.market(BUY, 0), ValueError, ["size", "0"]),
    (lambda b: b.cancel(99, 10), ValueError, ["order_id", "cancel", "99"]),
    (lambda b: b.cancel(1, 101), ValueError, ["size", "at most", "100", "101"]),
    (lambda b: b.cancel(1, 0), ValueError, ["size", "positive", "0"]),
    (lambda b: b.delete(99), ValueError, ["order_id", "delete", "99"]),
    (lambda b: b.execute(99, 10), ValueError, ["order_id", "execute", "99"]),
    (lambda b: b.execute(1, 500), ValueError, ["size", "at most", "100", "500"]),
    (lambda b: b.modify(99, size=10), ValueError, ["order_id", "modify", "99"]),
    (lambda b: b.modify(1), ValueError, ["size", "price", "neither"]),
    (lambda b: b.modify(1, price=10150), ValueError, ["price", "tick_size", "10150"]),
    (lambda b: b.modify(1, size=-1), ValueError, ["size", "-1"]),
    (lambda b: b.queue_position(99), ValueError, ["order_id", "99"]),
    (lambda b: b.depth(0), ValueError, ["levels", "0"]),
    (lambda b: OrderBook(tick_size=0), ValueError, ["tick_size", "0"]),
])
def test_bad_input_names_argument_expected_and_received(book, call, exc, words):
    before = (book.depth(10), len(book))
    with pytest.raises(exc) as info:
        call(book)
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    after = (book.depth(10), len(book))
    fields = ("ask_price", "ask_size", "bid_price", "bid_size")
    assert before[1] == after[1]  # the book is unchanged
    assert all(np.array_equal(getattr(before[0], f), getattr(after[0], f)) for f in fields)


def test_numpy_integers_are_accepted():
    b = OrderBook()
    b.add(np.int64(1), np.int8(1), np.int64(9900), np.int64(10))
    assert b.order(1) == (9900, 10, BUY) and type(b.order(1).size) is int


def test_unchecked_primitives_keep_the_sides_and_the_order_index_consistent(book):
    """What a replay drives the book with: ``crosses``, ``rest``, ``reduce``, ``remove_level`` and the live
    ``sides`` / ``locations`` views."""
    assert book.crosses(BUY, 10100) and not book.crosses(BUY, 10000) and book.crosses(SELL, 9900)
    book.rest(7, SELL, 10300, 40)
    assert book.locations[7] == (SELL, 10300) and book.levels(SELL) == [(10100, 150), (10200, 200), (10300, 40)]
    assert book.reduce(1, SELL, 10100, 30) == 70 and book.queue(SELL, 10100) == [(1, 70), (2, 50)]  # priority kept
    assert book.remove_level(SELL, 10100) == {1: 70, 2: 50}
    assert 1 not in book and 2 not in book and book.best_ask() == 10200 and len(book) == 5
    asks = book.sides[SELL]
    assert asks.sign == SELL and asks.keys == [-10300, -10200] and asks.volume == {10200: 200, 10300: 40}
    with pytest.raises(ValueError, match="size: expected at most the resting size 40 of order 7, got 41"):
        book.reduce(7, SELL, 10300, 41)
