"""LOBSTER files: strict parsing, the replay conventions, and the replay of the real AAPL sample."""

import io
import json
import re

import numpy as np
import pytest

from workbench.data import DataNotFoundError
from workbench.execution import (
    ASK_DUMMY, BID_DUMMY, Messages, OrderBook, Snapshots, check_replay, initial_book, load_sample,
    read_messages, read_orderbook, replay,
)
from workbench.execution.bench import main as bench_main
from workbench.execution.bench import synthetic_messages

GOOD = ["34200.1,1,11,18,5853300,1", "34200.2,1,12,10,5859400,-1", "34200.2,2,11,8,5853300,1",
        "34200.3,4,12,10,5859400,-1", "34200.4,5,0,100,5857900,-1", "34200.5,3,11,10,5853300,1"]


def write(tmp_path, lines, name="m.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def sample():
    try:
        return load_sample()
    except DataNotFoundError as exc:
        pytest.skip(f"LOBSTER sample not found (set WORKBENCH_DATA to the shared data folder): {exc}")


# ---------------------------------------------------------------------------------------- parsing
def test_read_messages_columns(tmp_path):
    m = read_messages(write(tmp_path, GOOD))
    assert len(m) == 6 and m.type.dtype == np.int8 and m.direction.dtype == np.int8
    assert m.time.dtype == np.float64 and m.price.dtype == np.int64
    assert m.type.tolist() == [1, 1, 2, 4, 5, 3] and m.order_id[1] == 12
    assert m[3] == (34200.3, 4, 12, 10, 5859400, -1) and type(m[3].price) is int
    assert m[1:3].size.tolist() == [10, 8]
    assert read_messages(io.StringIO("\n".join(GOOD))).price.tolist() == m.price.tolist()


@pytest.mark.parametrize("line, bad, words", [
    (3, "34200.2,2,11,8,5853300", ["6 comma-separated columns", "got 5"]),
    (2, "34200.2,1,12,-10,5859400,-1", ["size", "non-negative", "-10"]),
    (2, "34200.2,1,12,0,5859400,-1", ["size", "positive size for event types 1-5", "0"]),
    (4, "34200.3,8,12,10,5859400,-1", ["type", "1..7", "8"]),
    (3, "34200.15,2,11,8,5853300,1", ["time", "non-decreasing", "34200.15"]),
    (2, "34200.2,1,12,ten,5859400,-1", ["size", "column 4", "integer", "'ten'"]),
    (2, "34200.2,1,12,10,5859400.5,-1", ["price", "integer", "'5859400.5'"]),
    (5, "morning,5,0,100,5857900,-1", ["time", "column 1", "number", "'morning'"]),
    (4, "34200.3,4,12,10,5859400,0", ["direction", "+1 or -1", "0"]),
    (2, "34200.2,1,12,10,0,-1", ["price", "positive", "0"]),
    (6, "34200.5,3,-11,10,5853300,1", ["order_id", "positive", "-11"]),
])
def test_malformed_message_file_names_file_and_line(tmp_path, line, bad, words):
    lines = list(GOOD)
    lines[line - 1] = bad
    path = write(tmp_path, lines, "bad_message.csv")
    with pytest.raises(ValueError) as info:
        read_messages(path)
    msg = str(info.value)
    assert f"bad_message.csv, line {line}:" in msg, msg
    for w in words:
        assert w in msg, (w, msg)


def test_the_first_error_in_the_file_is_reported(tmp_path):
    lines = list(GOOD)
    lines[4] = "34200.4,9,0,100,5857900,-1"  # line 5: unknown type
    lines[1] = "34200.2,1,12,-1,5859400,-1"  # line 2: negative size
    with pytest.raises(ValueError, match="line 2: size"):
        read_messages(write(tmp_path, lines))


def test_empty_and_blank_lines_are_errors(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty.csv: expected at least one line, got an empty file"):
        read_messages(tmp_path / "empty.csv")
    with pytest.raises(ValueError, match="line 1: expected 6"):
        read_messages(write(tmp_path, [""]))
    with pytest.raises(ValueError, match="line 3: expected 6"):
        read_messages(write(tmp_path, GOOD[:2] + [""] + GOOD[2:]))


@pytest.mark.parametrize("char", ["\x00", "\x0c", "\x1e"])
def test_control_characters_are_refused_naming_the_line(tmp_path, char):
    """A NUL byte used to vanish (numpy strips it from the fields); \\f and \\x1e split lines, shifting every
    line number after them."""
    path = tmp_path / "nul.csv"
    path.write_bytes(("\n".join(GOOD[:3]) + "\n" + GOOD[3] + char + "\n" + "\n".join(GOOD[4:]) + "\n").encode())
    with pytest.raises(ValueError,
                       match=re.escape(f"nul.csv, line 4: expected printable ASCII text, got character {char!r}")):
        read_messages(path)
    with pytest.raises(ValueError, match="line 1: expected printable ASCII"):
        read_orderbook(io.StringIO(char + "10100,10,9900,5"))


@pytest.mark.parametrize("column, value", [("type", 1.5), ("direction", 1.9), ("size", 10.5), ("price", float("nan"))])
def test_messages_refuse_non_integral_values(column, value):
    cols = {"time": [1.0, 2.0], "type": [1, 1], "order_id": [1, 2], "size": [10, 10], "price": [10100, 10200],
            "direction": [1, -1]}
    cols[column] = [cols[column][0], value]
    with pytest.raises(ValueError, match=f"line 2: {column}: expected an integer.*got {re.escape(repr(value))}"):
        Messages(**{k: np.array(v) for k, v in cols.items()}, source="built")
    assert Messages(**{k: np.array(v, dtype=float) for k, v in cols.items() if k != column},
                    **{column: np.array([cols[column][0]] * 2, dtype=float)}).type.dtype == np.int8  # 1.0 is fine


def test_snapshots_refuse_fractional_prices():
    with pytest.raises(ValueError, match="line 1: ask_price, level 1: expected an integer.*10100.5"):
        Snapshots(np.array([[10100.5]]), np.array([[10]]), np.array([[9900]]), np.array([[5]]))


ROW = "10100,10,9900,5,10200,20,9800,7"
EMPTY = f"10100,10,9900,5,{ASK_DUMMY},0,{BID_DUMMY},0"


def test_read_orderbook(tmp_path):
    s = read_orderbook(write(tmp_path, [ROW, EMPTY], "ob.csv"))
    assert s.levels == 2 and len(s) == 2
    assert s.ask_price.tolist() == [[10100, 10200], [10100, ASK_DUMMY]]
    assert s.row(0).tolist() == [int(x) for x in ROW.split(",")]
    d = s.depth(1)
    assert d.ask_price.tolist() == [10100] and d.bid_size.tolist() == [5]
    assert read_orderbook(write(tmp_path, [ROW], "ob1.csv"), levels=1).row(0).tolist() == [10100, 10, 9900, 5]


@pytest.mark.parametrize("rows, line, words", [
    ([ROW, "10100,10,9900,5,10200,20"], 2, ["8 comma-separated columns", "got 6"]),  # line 1 sets the count
    (["10100,10,9900,5,10200,20"], 1, ["4 columns per level", "got 6"]),
    ([ROW, ROW + ",1"], 2, ["8 comma-separated columns", "got 9"]),
    ([ROW, "10100,10,9900,x,10200,20,9800,7"], 2, ["bid size 1", "integer", "'x'"]),
    ([ROW, "10100,-10,9900,5,10200,20,9800,7"], 2, ["ask size, level 1", "non-negative"]),
    ([ROW, "10200,10,9900,5,10100,20,9800,7"], 2, ["ask price, level 2", "increasing"]),
    ([ROW, f"10100,10,9900,5,10200,0,{BID_DUMMY},0"], 2, ["ask price, level 2", "padding price"]),
    ([ROW, "10100,10,10100,5,10200,20,9800,7"], 2, ["bid price, level 1", "crossed book", "[10100, 10, 10100, 5"]),
    ([ROW, ROW, "10100,10,10150,5,10200,20,10100,7"], 3, ["crossed book", "10150"]),
])
def test_malformed_orderbook_names_file_and_line(tmp_path, rows, line, words):
    with pytest.raises(ValueError) as info:
        read_orderbook(write(tmp_path, rows, "bad_ob.csv"))
    msg = str(info.value)
    assert f"bad_ob.csv, line {line}" in msg, msg
    for w in words:
        assert w in msg, (w, msg)


def test_orderbook_levels_argument(tmp_path):
    with pytest.raises(ValueError, match="levels: expected an integer in 1..2"):
        read_orderbook(write(tmp_path, [ROW]), levels=3)


# ---------------------------------------------------------------------------------------- replay
def messages(rows):
    cols = list(zip(*rows))
    return Messages(*(np.array(c) for c in cols), source="tiny")


def test_complete_stream_replays_exactly_and_strictly():
    m = messages([(1.0, 1, 1, 100, 10100, -1), (1.0, 1, 2, 50, 10100, -1), (2.0, 1, 3, 30, 9900, 1),
                  (3.0, 4, 1, 40, 10100, -1), (3.5, 5, 0, 10, 10000, 1), (4.0, 2, 2, 20, 10100, -1)])
    book = replay(m).run()
    assert book.queue(-1, 10100) == [(1, 60), (2, 30)] and book.queue(1, 9900) == [(3, 30)]
    bad = messages([(1.0, 1, 1, 100, 10100, -1), (2.0, 3, 7, 100, 10100, -1)])
    with pytest.raises(ValueError, match="tiny, line 2 .*order_id.*unknown 7"):
        replay(bad).run()
    bad = messages([(1.0, 1, 1, 100, 10100, -1), (2.0, 3, 1, 60, 10100, -1)])
    with pytest.raises(ValueError, match="line 2 .*size: expected the resting size 100.*got 60"):
        replay(bad).run()
    bad = messages([(1.0, 1, 1, 100, 10100, -1), (2.0, 1, 2, 10, 10200, 1)])
    with pytest.raises(ValueError, match="line 2 .*price: expected a price that does not cross"):
        replay(bad).run()
    bad = messages([(1.0, 1, 1, 100, 10100, -1), (2.0, 4, 1, 10, 10200, -1)])
    with pytest.raises(ValueError, match="line 2 .*price, direction: expected those of resting order 1"):
        replay(bad).run()


def test_iteration_yields_each_index_after_applying_it():
    m = messages([(1.0, 1, 1, 100, 10100, -1), (2.0, 1, 2, 30, 9900, 1), (3.0, 3, 1, 100, 10100, -1)])
    r = replay(m)
    seen = [(i, r.book.best_ask(), r.position) for i in r]
    assert seen == [(0, 10100, 1), (1, 10100, 2), (2, None, 3)]


# A level-2 day: before message 0 the asks are 10,100 (10, pre-sample) and 10,200 (20), the bids
# 9,900 (10) and 9,800 (5). Message 1 pushes 10,200 out of the top 2; while it is out, a
# cancellation of 5 shares there goes unreported, so LOBSTER's row 2 shows 15 where the replay holds 20.
TINY_MESSAGES = ["1.0,1,1,5,10100,-1", "2.0,1,2,7,10000,-1", "3.0,3,2,7,10000,-1", "4.0,2,77,4,10200,-1",
                 "5.0,4,88,10,9900,1", "6.0,2,1,5,10100,-1"]
TINY_BOOK = ["10100,15,9900,10,10200,20,9800,5", "10000,7,9900,10,10100,15,9800,5",
             "10100,15,9900,10,10200,15,9800,5", "10100,15,9900,10,10200,11,9800,5",
             f"10100,15,9800,5,10200,11,{BID_DUMMY},0", "10100,10,9800,5,10200,11,-9999999999,0"]


def test_initial_book_undoes_the_first_message(tmp_path):
    m = read_messages(write(tmp_path, TINY_MESSAGES))
    s = read_orderbook(write(tmp_path, TINY_BOOK, "ob.csv"))
    init = initial_book(m, s)
    assert init.depth.ask_price.tolist() == [10100, 10200] and init.depth.ask_size.tolist() == [10, 20]
    assert (init.ask_known_to, init.bid_known_to, init.levels) == (10200, 9800, 2)
    r = replay(m, initial_snapshot=init)
    assert r.book.queue(-1, 10100) == [(-1, 10)]  # placeholder orders carry negative synthetic ids
    r.run(2)
    assert r.ask_known_to == 10100  # 10,200 left the top 2: from now on undetermined
    assert r.book.queue(-1, 10100) == [(-1, 10), (1, 5)]


def test_check_replay_compares_determined_levels_only(tmp_path):
    m = read_messages(write(tmp_path, TINY_MESSAGES))
    s = read_orderbook(write(tmp_path, TINY_BOOK, "ob.csv"))
    res = check_replay(m, s)
    # ask level 2 (10,200) is undetermined after messages 2..5 (message 1 pushed it out of the
    # top 2) and bid level 2 after messages 4-5 (9,900 is gone: a deeper bid could be hidden):
    # 6 of the 24 (message, side, level) triples are not compared; the replay agrees on the two
    # bid ones (no level, like the file) and disagrees on the ask ones (20, 16 vs 15, 11)
    assert (res.checked, res.matched, res.levels_compared, res.levels_undetermined) == (6, 6, 18, 6)
    assert res.messages_with_undetermined == 4 and res.undetermined_agreeing == 2
    # message 4 executes a pre-sample bid (id 88) out of the 9,900 placeholder; message 3 cancels
    # pre-sample volume at the undetermined 10,200 (applied to the placeholder, 16 left of 20)
    assert res.unattributed == 0 and res.first_mismatch is None and res.ok


def test_check_replay_reports_the_first_mismatch(tmp_path):
    rows = list(TINY_BOOK)
    rows[1] = "10000,8,9900,10,10100,15,9800,5"  # a determined level that disagrees
    m = read_messages(write(tmp_path, TINY_MESSAGES))
    res = check_replay(m, read_orderbook(write(tmp_path, rows, "ob.csv")))
    assert res.matched == 5 and not res.ok
    mm = res.first_mismatch
    assert mm.index == 1 and mm.expected[:2].tolist() == [10000, 8] and mm.got[:2].tolist() == [10000, 7]
    assert mm.determined.all()


def test_check_replay_reports_a_refused_message_instead_of_raising(tmp_path):
    rows = list(TINY_MESSAGES)
    rows[5] = "6.0,2,1,6,10100,-1"  # cancels 6 of order 1's 5 shares, at a determined price
    res = check_replay(read_messages(write(tmp_path, rows)), read_orderbook(write(tmp_path, TINY_BOOK, "ob.csv")))
    assert (res.checked, res.matched, res.ok) == (6, 5, False)
    assert "line 6" in res.error and "at most the resting size 5" in res.error
    assert res.first_mismatch.index == 5 and res.first_mismatch.error == res.error
    assert res.first_mismatch.got[:2].tolist() == [10100, 15]  # the book before the refused message


def test_resync_seeds_surfacing_levels_and_forgets_sunk_ones(tmp_path):
    m = read_messages(write(tmp_path, TINY_MESSAGES))
    s = read_orderbook(write(tmp_path, TINY_BOOK, "ob.csv"))
    r = replay(m, resync=s)  # resync also serves as the initial snapshot
    # placeholders from row 0 (message 0 undone): asks -1 at 10,100 and -2 at 10,200, bids -3, -4
    assert r.book.queue(-1, 10200) == [(-2, 20)] and r.book.queue(1, 9900) == [(-3, 10)]
    r.run(2)  # message 1 pushes 10,200 below level 2: forgotten, no longer held
    assert r.sunk == 1 and r.book.volume_at(-1, 10200) == 0 and r.ask_known_to == 10100
    r.run(3)  # message 2 deletes 10,000: 10,200 surfaces with row 2's 15 shares (5 left unreported)
    assert r.seeded == [(-1, 10200)] and r.surfaced == 1 and r.ask_known_to == 10200
    assert r.book.queue(-1, 10200) == [(-5, 15)]  # one placeholder: the front (and only) order
    r.run(4)  # message 3 cancels 4 pre-sample shares at the now visible 10,200: from the placeholder
    assert r.seeded == [] and r.book.queue(-1, 10200) == [(-5, 11)]
    r.run(5)  # message 4 empties 9,900; row 4 shows one bid level: the whole bid side is visible
    assert r.seeded == [] and r.bid_known_to is None and r.book.levels(1) == [(9800, 5)]
    r.run()
    assert r.book.levels(-1) == [(10100, 10), (10200, 11)] and r.unattributed == 0


def test_check_replay_resync_compares_every_level(tmp_path):
    m = read_messages(write(tmp_path, TINY_MESSAGES))
    s = read_orderbook(write(tmp_path, TINY_BOOK, "ob.csv"))
    res = check_replay(m, s, resync=True)
    # all 6 x 2 x 2 triples compared, exact integer equality: 1 was seeded at surfacing (10,200
    # after message 2), the other 23 were visible before their message and come from the messages
    assert (res.checked, res.matched, res.levels_compared, res.levels_undetermined) == (6, 6, 24, 0)
    assert (res.levels_seeded, res.levels_replayed, res.surfaced, res.sunk) == (1, 23, 1, 1)
    assert res.first_mismatch is None and res.ok and "resync" in str(res)
    # a row that disagrees at a level the strict check cannot determine (ask 10,200 after message
    # 3, which the strict replay holds as 16) is caught once the level has surfaced
    rows = list(TINY_BOOK)
    rows[3] = "10100,15,9900,10,10200,12,9800,5"
    bad = read_orderbook(write(tmp_path, rows, "ob2.csv"))
    assert check_replay(m, bad).ok
    res = check_replay(m, bad, resync=True)
    assert not res.ok and res.first_mismatch.index == 3 and res.first_mismatch.determined.all()
    assert res.first_mismatch.expected[4:6].tolist() == [10200, 12]
    assert res.first_mismatch.got[4:6].tolist() == [10200, 11]


def test_resync_argument_errors(tmp_path):
    m = read_messages(write(tmp_path, TINY_MESSAGES))
    with pytest.raises(TypeError, match="resync: expected the orderbook Snapshots"):
        replay(m, resync=True)
    with pytest.raises(ValueError, match="resync: expected 6 orderbook rows"):
        replay(m, resync=read_orderbook(write(tmp_path, TINY_BOOK[:5], "ob.csv")))
    s = read_orderbook(write(tmp_path, TINY_BOOK, "ob.csv"))
    with pytest.raises(ValueError, match="resync: expected an orderbook with the 1 levels"):
        replay(m, initial_snapshot=initial_book(m, read_orderbook(write(tmp_path, TINY_BOOK, "ob1.csv"), levels=1)),
               resync=s)


def test_check_replay_argument_errors(tmp_path):
    m = read_messages(write(tmp_path, TINY_MESSAGES))
    s = read_orderbook(write(tmp_path, TINY_BOOK[:5], "ob.csv"))
    with pytest.raises(ValueError, match="orderbook: expected 6 rows"):
        check_replay(m, s)
    s = read_orderbook(write(tmp_path, TINY_BOOK, "ob.csv"))
    with pytest.raises(ValueError, match="levels: expected an integer in 1..2, got 3"):
        check_replay(m, s, levels=3)
    with pytest.raises(ValueError, match="book: expected an empty book"):
        book = OrderBook()
        book.add(1, 1, 100, 1)
        replay(m, book=book, initial_snapshot=s)


def test_real_sample_replay_reproduces_every_lobster_snapshot(sample):
    m, s = sample
    assert (len(m), s.levels) == (999, 10)
    res = check_replay(m, s)
    # Tolerance: exact integer equality of price and size on every determined level after every
    # message; levels outside the determined region are counted, not compared (module docstring).
    assert res.first_mismatch is None, res.first_mismatch
    assert res.matched == res.checked == 999
    assert res.levels_compared + res.levels_undetermined == 999 * 2 * 10
    # the numbers reported for this sample (deterministic): most levels are undetermined after the
    # opening minute because LOBSTER's level-10 file leaves out events deeper than level 10
    assert (res.levels_compared, res.levels_undetermined, res.unattributed) == (6423, 13557, 4)


def test_real_sample_has_an_unreported_order(sample):
    m, s = sample
    # order 13419503 is executed at line 448 but never added in the file: it arrived while 5,854,000
    # was deeper than level 10 (LOBSTER leaves such events out); the replay counts it as unattributed
    i = int(np.flatnonzero(m.order_id == 13419503)[0])
    assert (i + 1, m.type[i]) == (448, 4)
    r = replay(m, initial_snapshot=s)
    r.run(i)
    assert not r.known(1, 5854000) and 13419503 not in r.book
    unattributed = r.unattributed
    r.run(i + 1)
    assert r.unattributed == unattributed + 1


def test_real_sample_initial_book(sample):
    m, s = sample
    init = initial_book(m, s)
    # message 0 adds 18 shares at the new best bid 5,853,300: before it, the best bid is 5,853,000
    assert m[0][1:] == (1, 16113575, 18, 5853300, 1)
    assert init.depth.bid_price[0] == 5853000 and 5853300 not in init.depth.bid_price
    assert init.depth.ask_price.tolist() == s.ask_price[0].tolist()
    assert (init.ask_known_to, init.bid_known_to) == (5879000, 5842700)


def test_real_sample_resync_replay_reproduces_every_level_of_every_snapshot(sample):
    m, s = sample
    res = check_replay(m, s, resync=True)
    # Tolerance: exact integer equality of price and size on all 10 levels of both sides after
    # every one of the 999 messages, no level left out.
    assert res.first_mismatch is None and res.error is None, res.first_mismatch
    assert res.matched == res.checked == 999
    assert res.levels_compared == 999 * 2 * 10 and res.levels_undetermined == 0
    assert res.levels_seeded + res.levels_replayed == res.levels_compared
    # Seeded comparisons (the level entered the top 10 at this very message and was copied from
    # this row) agree by construction. There is one per surfacing (318 in 999 messages), i.e.
    # 1.6 % of the comparisons; the bound 2 % keeps the test from passing by copying rows (a
    # replay that copied every row would score 100 %). The other 98.4 % were visible before
    # their message, so they are what the messages made of them.
    assert res.levels_seeded < 0.02 * res.levels_compared
    # the numbers for this sample (deterministic). levels_seeded_copy: 9556 of the replayed
    # comparisons (mostly levels 5-10) are of levels no message has touched since they were seeded
    # (from row 0 or at an earlier surfacing); they check that the file reports nothing there and
    # that no message was put there by mistake, not how a message at the level is applied.
    assert (res.levels_seeded, res.levels_replayed, res.levels_seeded_copy) == (318, 19662, 9556)
    assert (res.surfaced, res.sunk, res.unattributed) == (318, 328, 0)


def _with_size(m, i, size):
    sizes = m.size.copy()
    sizes[i] = size
    return Messages(m.time, m.type, m.order_id, sizes, m.price, m.direction, source="mutated")


def test_real_sample_resync_check_catches_an_altered_message(sample):
    # Mutation guard: one message's size off by one share must be reported at that very message,
    # as a level that differs from the row or as a message the replay refuses (then
    # first_mismatch.error is set). Measured over every type 1-4 message but the first, +-1 share:
    # all 1,865 such mutations are reported at their own message (message 0 is left out: row 0 is
    # the base the initial book is derived from, so its size is absorbed there). A spread of them:
    m, s = sample
    executions = np.flatnonzero(m.type == 4)
    picks = [int(i) for i in executions[:: max(1, len(executions) // 8)]]
    picks += [int(np.flatnonzero(m.type == t)[k]) for t in (1, 3) for k in (1, 100, -1)]  # adds, deletions
    assert len(picks) >= 12 and all(i > 0 for i in picks)  # (the sample has no type 2 message)
    for i in picks:
        for d in (-1, 1):
            if m.size[i] + d <= 0:
                continue
            res = check_replay(_with_size(m, i, m.size[i] + d), s, resync=True)
            assert not res.ok and res.first_mismatch.index == i, (i, d, m[i], str(res))


def test_real_sample_resync_never_reads_a_later_row(sample):
    m, s = sample
    j = 500
    cut = j + 1
    # every row after j changed (still a valid file): the replay up to message j must not notice
    later = [a.copy() for a in (s.ask_price, s.ask_size, s.bid_price, s.bid_size)]
    for a in (later[1], later[3]):
        a[cut:][a[cut:] > 0] += 7
    changed = Snapshots(*later, source="later rows changed")
    a, b = replay(m, resync=s), replay(m, resync=changed)
    for i, k in zip(a, b):
        assert i == k
        if i == j:
            break
    for side in (1, -1):
        assert a.book.levels(side) == b.book.levels(side)
        assert all(a.book.queue(side, p) == b.book.queue(side, p) for p, _ in a.book.levels(side))
    assert (a.surfaced, a.sunk) == (b.surfaced, b.sunk)
    a.run()
    b.run()  # not vacuous: the changed rows are read after message j (levels surfacing there)
    assert any(a.book.levels(side) != b.book.levels(side) for side in (1, -1))


def test_real_sample_resync_handles_the_unreported_order(sample):
    m, s = sample
    # order 13419503 (executed at line 448, added while 5,854,000 was deeper than level 10): in
    # resync mode the level was seeded when it surfaced, and the execution comes out of that placeholder
    i = int(np.flatnonzero(m.order_id == 13419503)[0])
    r = replay(m, resync=s)
    r.run(i)
    assert r.known(1, 5854000) and 13419503 not in r.book
    (ph, held), = r.book.queue(1, 5854000)  # the level is one placeholder seeded from a row
    assert ph < 0 and held == m.size[i] == 50
    r.run(i + 1)
    assert ph not in r.book and r.book.volume_at(1, 5854000) == 0 and r.unattributed == 0


# ---------------------------------------------------------------------------------------- bench
def test_synthetic_stream_is_valid_and_replays():
    m = synthetic_messages(3000, seed=3)
    assert len(m) == 3000 and set(np.unique(m.type).tolist()) == {1, 2, 3, 4, 5}
    assert np.all(np.diff(m.time) >= 0)
    book = replay(m).run()
    assert book.best_bid() < book.best_ask()
    again = synthetic_messages(500, seed=3)
    assert all(np.array_equal(getattr(again, c), getattr(m, c)[:500]) for c in ("time", "type", "order_id", "price"))


def test_bench_json(capsys):
    assert bench_main(["--json", "--messages", "2000", "--repeat", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["replay_messages_per_s"] > 0  # printed, not timed against a threshold (shared machine)
