"""Checks of a :mod:`~workbench.execution.replay` against LOBSTER's own orderbook file.

The orderbook file (:mod:`~workbench.execution.lobster`) holds the top ``L`` levels after every message, so
the replayed book can be compared with it message by message; the rules are those of the replay's module.

:func:`check_replay` compares, after every message, the replayed book's top levels with the orderbook
row by exact integer equality. A level is compared when it lies in the replay's determined region (so do
all better levels of its side) or the side is determined completely; the other levels are counted as
undetermined. A message the replay refuses (its rule 5) ends the check; it is reported as
``ReplayCheck.error`` (and as the first mismatch if none came before).

With ``resync=True`` (rule 6 of the replay) every one of the ``L`` levels of both sides is compared after
every message, and the comparisons of levels seeded at this very message (equal by construction) are counted
apart from those replayed from the messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.execution.lobster import ASK_DUMMY, BID_DUMMY, Messages, Snapshots
from workbench.execution.replay import Replay

__all__ = ["ReplayCheck", "Mismatch", "check_replay"]


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
    compared. ``resync=True``: the re-synchronising replay (rule 6, ``replay(..., resync=orderbook)``);
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
    sides = rep.book.sides
    matched = compared = undetermined = agreeing = with_undetermined = 0
    first = error = None
    try:
        for i in rep:
            ok = True
            und = 0
            for side in (-1, 1):
                top = sides[side].top(L)
                n_det = _determined(top, side, rep.known_to(side), L)
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
    sides = rep.book.sides
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
        top = rep.book.sides[side].top(L)
        det[col // 2, : L if every_level else _determined(top, side, rep.known_to(side), L)] = True
        got[:, col:col + 2] = top + [(dummy, 0)] * (L - len(top))
    return Mismatch(i, orderbook.row(i)[: 4 * L], got.reshape(-1), det, error)
