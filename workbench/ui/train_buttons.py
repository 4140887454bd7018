"""A page's Train and Stop buttons around its one background job in the shared pool (:mod:`workbench.ui.jobs`)."""

from __future__ import annotations

from typing import Any, Callable

import panel as pn

from workbench.ui.jobs import Busy, Job, jobs

__all__ = ["TrainButtons"]


class TrainButtons:
    """**Train** and **Stop** for one job at a time.

    :meth:`start` submits ``work`` to the shared pool: Train is disabled and Stop enabled until the job ends, then
    the other way round. Stop asks the job to stop (its ``cancelled`` event). A busy server refuses a job at once;
    :meth:`start` then returns the refusal's message for the page's status line and the buttons stay as they were.
    :meth:`abandon` is for a change of setting: the job is cancelled and forgotten, so its late callbacks no longer
    touch the buttons (a newer job may own them by then). ``on_done`` still runs: a page checks there whether the
    result belongs to the setting it shows."""

    def __init__(self, label: str = "Train"):
        self.train = pn.widgets.Button(label=label, color="primary")
        self.stop = pn.widgets.Button(label="Stop", color="warning", disabled=True)
        self.stop.on_click(lambda _event: self.cancel())
        self.job: Job | None = None  # the last job started (None after abandon)
        self._token: object | None = None  # the current job's: a callback of an older job is told apart

    @property
    def running(self) -> bool:
        """A job started here has not ended yet."""
        return self._token is not None

    def on_click(self, callback: Callable[[], None]) -> None:
        """``callback()`` when Train is pressed."""
        self.train.on_click(lambda _event: callback())

    def start(self, name: str, work: Callable, on_progress: Callable[[Any], None] | None = None,
              on_done: Callable[[Any, BaseException | None], None] | None = None) -> str | None:
        """Run ``work(report, cancelled)`` in the pool (see :meth:`JobPool.submit`); None when started, the busy
        server's message otherwise."""
        token = self._token = object()

        def finished(result, error):
            if self._token is token:
                self._token = None
                self._idle()
            if on_done is not None:
                on_done(result, error)

        self.train.disabled, self.stop.disabled = True, False
        try:
            job = jobs().submit(name, work, on_progress=on_progress, on_done=finished)
        except Busy as exc:
            self._token = None
            self._idle()
            return str(exc)
        self.job = job  # outside a server a short job may have ended already: ``running`` says so
        return None

    def cancel(self) -> None:
        """Ask the running job to stop (Stop); it ends, and reports, when its work next looks."""
        if self.job is not None:
            self.job.cancel()

    def abandon(self) -> None:
        """Cancel the running job and release the buttons now (a new setting: its result is not wanted)."""
        self.cancel()
        if self._token is not None:
            self._token = self.job = None
            self._idle()

    def _idle(self) -> None:
        self.train.disabled, self.stop.disabled = False, True

    def row(self) -> pn.Row:
        """The two buttons side by side, for a page's sidebar."""
        return pn.Row(self.train, self.stop)
