"""The job pool's two doors (trainings, refused when full; short page work, queued) and the pages' shared caches."""

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from panel.io.state import set_curdoc

from tests.sessions import FakeSession
from workbench.ui.jobs import Busy, JobPool
from workbench.ui.memo import Memo, memo


def test_short_page_work_runs_here_outside_a_server_and_off_the_loop_in_a_session():
    pool = JobPool(max_jobs=1)
    seen = []
    job = pool.load("inline", lambda cancelled: threading.current_thread().name, lambda r, e: seen.append((r, e)))
    assert job.done and seen == [(threading.current_thread().name, None)]  # a notebook cell sees it at once

    session = FakeSession()
    job = pool.load("in a session", lambda cancelled: threading.current_thread().name,
                    lambda r, e: seen.append((r, e)), doc=session.doc)
    job.wait(timeout=60)  # a hang guard
    assert len(seen) == 1  # nothing reached the page from the worker thread...
    session.drain()  # ...until the session's loop ran the callback
    assert seen[1][0].startswith("workbench-load") and seen[1][1] is None


def test_short_page_work_queues_behind_nothing_while_trainings_fill_the_pool():
    """A full pool refuses another training (Busy) but a data set still loads: the two never share workers."""
    pool = JobPool(max_jobs=1)
    release = threading.Event()
    session = FakeSession()
    training = pool.submit("training", lambda report, cancelled: release.wait(60), doc=session.doc)
    try:
        with pytest.raises(Busy, match="try again in a moment"):
            pool.submit("another training", lambda report, cancelled: None, doc=session.doc)
        loaded = pool.load("a data set", lambda cancelled: 42, lambda r, e: None, doc=session.doc)
        loaded.wait(timeout=60)  # returns while the training still holds the only training slot
        assert not training.done
    finally:
        release.set()
        training.wait(timeout=60)


def test_errors_reach_the_page_and_the_end_of_the_session_cancels_queued_work():
    pool = JobPool(max_jobs=1)
    session = FakeSession()
    seen = []
    gate = threading.Event()
    first = pool.load("slow", lambda cancelled: gate.wait(60), lambda r, e: seen.append("slow"), doc=session.doc)
    queued = pool.load("queued", lambda cancelled: seen.append("ran") or 1, lambda r, e: seen.append((r, e)),
                       doc=session.doc)
    for callback in list(session.doc.session_destroyed_callbacks):  # the tab closes
        callback(None)
    gate.set()
    first.wait(timeout=60)
    queued.wait(timeout=60)
    assert queued.cancelled.is_set() and "ran" not in seen  # the queued work never started

    failing = pool.load("bad", lambda cancelled: 1 / 0, lambda r, e: seen.append(e), doc=FakeSession().doc)
    failing.wait(timeout=60)
    pool.load("bad here", lambda cancelled: 1 / 0, lambda r, e: seen.append(e))  # outside a server
    assert isinstance(seen[-1], ZeroDivisionError)


def test_memo_keeps_the_most_recent_results_and_says_what_it_holds():
    calls = []

    @memo(max_items=2)
    def square(x, cancelled=None):
        calls.append(x)
        return None if cancelled else x * x

    assert not square.cached(3) and square(3) == 9 and square.cached(3)
    assert square(3) == 9 and calls == [3]  # the second call computed nothing
    square(4), square(3), square(5)  # 4 is now the least recently used: dropped
    assert square.cached(3) and square.cached(5) and not square.cached(4) and len(square) == 2
    assert square(6, cancelled=True) is None and not square.cached(6)  # a cancelled result is not kept
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="max_items"):
            Memo(abs, bad)


@settings(max_examples=50, deadline=None)
@given(max_items=st.integers(1, 5), keys=st.lists(st.integers(0, 7), max_size=30))
def test_memo_is_an_lru_cache(max_items, keys):
    """Against a reference LRU: the same keys held after any sequence of calls, never more than max_items."""
    held: list[int] = []
    m = Memo(lambda x: x + 1, max_items)
    for k in keys:
        assert m(k) == k + 1
        if k in held:
            held.remove(k)
        held.append(k)
        del held[:-max_items]
    assert [k for k in range(8) if m.cached(k)] == sorted(held)


def test_train_buttons_follow_their_job_and_forget_an_abandoned_one(monkeypatch):
    """Train is disabled and Stop enabled while the job runs; Stop cancels it; a busy server's refusal comes back as
    a message with the buttons as they were; after ``abandon`` (a new setting) the old job's late end no longer
    touches the buttons, which a newer job owns."""
    from workbench.ui import jobs as jobs_module
    from workbench.ui.train_buttons import TrainButtons

    monkeypatch.setattr(jobs_module, "_pool", JobPool(max_jobs=1))
    session = FakeSession()
    buttons, done = TrainButtons(), []

    def work(report, cancelled):
        cancelled.wait(60)  # runs until Stop (a hang guard otherwise)
        return "stopped" if cancelled.is_set() else "timed out"

    with set_curdoc(session.doc):
        assert buttons.start("first", work, on_done=lambda r, e: done.append(r)) is None
        assert buttons.running and buttons.train.disabled and not buttons.stop.disabled
        refused = TrainButtons()
        assert "try again in a moment" in refused.start("second", work)  # the pool's one slot is taken
        assert not refused.running and not refused.train.disabled and refused.stop.disabled
        buttons.cancel()  # Stop
        buttons.job.wait(timeout=60)
        session.drain()
        assert done == ["stopped"] and not buttons.running and not buttons.train.disabled and buttons.stop.disabled

        assert buttons.start("old setting", work) is None
        old = buttons.job
        buttons.abandon()  # a new setting: released now, cancelled
        assert old.cancelled.is_set() and not buttons.running and buttons.job is None
        old.wait(timeout=60)
        gate = threading.Event()
        assert buttons.start("new setting", lambda report, cancelled: gate.wait(60)) is None
        session.drain()  # the old job's end arrives now: it must not release the new job's buttons
        assert buttons.running and buttons.train.disabled and not buttons.stop.disabled
        gate.set()
        buttons.job.wait(timeout=60)
        session.drain()
        assert not buttons.running and not buttons.train.disabled
