"""A server session without a server: a Bokeh document that says it belongs to a session, whose next-tick
callbacks (what :mod:`workbench.ui.jobs` hands results back with) wait in a queue until the test plays the event
loop with :meth:`FakeSession.drain`. Anything a page computes before ``drain`` ran off the loop. Timeout callbacks
wait in ``timeouts`` as ``(callback, ms)`` until :meth:`FakeSession.fire_timeouts` runs them."""

from __future__ import annotations

from types import SimpleNamespace

from bokeh.document import Document


class FakeSession:
    def __init__(self):
        self.doc = Document()
        context = SimpleNamespace(id="fake-session", request=SimpleNamespace(arguments={}, headers={}, cookies={}))
        self.doc._session_context = lambda: context  # what Bokeh's server sets: the page is "in a session"
        self.queue: list = []
        self.doc.add_next_tick_callback = self.queue.append  # the session's event loop, played by drain()
        self.timeouts: list = []
        self.doc.add_timeout_callback = lambda callback, ms: self.timeouts.append((callback, ms))

    def drain(self) -> int:
        """Run the queued callbacks (and any they queue) on this thread, as the loop would; how many ran."""
        ran = 0
        while self.queue:
            self.queue.pop(0)()
            ran += 1
        return ran

    def fire_timeouts(self) -> int:
        """Run the timeout callbacks queued so far, as if their time had come; how many ran."""
        due, self.timeouts = self.timeouts, []
        for callback, _ms in due:
            callback()
        return len(due)

    def wait_and_drain(self, job, timeout: float = 300) -> None:
        """Wait for ``job`` (a hang guard, not a speed bound; a load job queues its callback before it ends), then
        play the loop."""
        if job is not None:
            job.future.result(timeout=timeout)
        self.drain()
