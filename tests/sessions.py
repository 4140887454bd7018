"""A server session without a server: a Bokeh document that says it belongs to a session, whose next-tick
callbacks (what :mod:`workbench.ui.jobs` hands results back with) wait in a queue until the test plays the event
loop with :meth:`FakeSession.drain`. Anything a page computes before ``drain`` ran off the loop."""

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

    def drain(self) -> int:
        """Run the queued callbacks (and any they queue) on this thread, as the loop would; how many ran."""
        ran = 0
        while self.queue:
            self.queue.pop(0)()
            ran += 1
        return ran

    def wait_and_drain(self, job, timeout: float = 300) -> None:
        """Wait for ``job`` (a hang guard, not a speed bound; a load job queues its callback before it ends), then
        play the loop."""
        if job is not None:
            job.future.result(timeout=timeout)
        self.drain()
