"""A page's background work (training, live runs): off the server's event loop, bounded server-wide, and cancelled
when its session ends.

``work(report, cancelled)`` runs in a worker thread of one shared pool. It computes only: it hands what the page
should show to ``report(item)`` and returns its result; it never touches a widget. ``on_progress(item)`` and
``on_done(result, error)`` run on the session's event loop (``Document.add_next_tick_callback``, the thread-safe
way into a Bokeh document), in the order they were reported, so no message is lost or reordered. ``cancelled`` is a
``threading.Event`` that ``work`` polls: :meth:`Job.cancel` sets it, and so does the end of the session.

At most ``max_jobs`` run at once, server-wide (default: ``$WORKBENCH_MAX_JOBS``, else one per core); one more is
refused at once with :class:`Busy`, whose message a page shows ("busy, try again in a moment"), rather than slowing
everyone down. Outside a server (a notebook, a test) the callbacks run in the worker thread, as soon as reported.

Short page work (loading a data set, Monte-Carlo statistics: a second or a few) goes through :meth:`JobPool.load`
instead: in a server session it waits its turn in a second executor of the same size, never refused and never
queued behind a training; outside a server it runs at once in the caller, so a notebook cell or a test sees its
result when the call returns.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Busy", "Job", "JobPool", "jobs", "configure_jobs", "default_max_jobs", "session_loop"]

log = logging.getLogger("workbench.ui.jobs")


def session_loop(doc=None):
    """The Bokeh document of the current server session (``doc`` or Panel's current one), or None outside a
    server (a notebook, a test), where there is no event loop of a session to keep free."""
    if doc is None:
        import panel as pn

        doc = pn.state.curdoc
    return doc if doc is not None and doc.session_context is not None else None


class Busy(RuntimeError):
    """The server already runs as many background jobs as it allows."""


def default_max_jobs() -> int:
    """``$WORKBENCH_MAX_JOBS``, else the number of cores (one training per core keeps every page responsive)."""
    raw = os.environ.get("WORKBENCH_MAX_JOBS")
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"WORKBENCH_MAX_JOBS: expected an integer >= 1, got {raw!r}")
        return int(raw)
    return max(1, os.cpu_count() or 1)


@dataclass(eq=False)  # identity: a job is itself, whatever its fields
class Job:
    """One submitted piece of work: ``cancel()`` asks it to stop; ``future`` resolves when it has."""

    name: str
    cancelled: threading.Event = field(default_factory=threading.Event)
    future: Future | None = None

    def cancel(self) -> None:
        self.cancelled.set()

    @property
    def done(self) -> bool:
        return self.future is not None and self.future.done()

    def wait(self, timeout: float | None = None) -> None:
        """Until the work has returned (``TimeoutError`` after ``timeout`` s)."""
        self.future.result(timeout=timeout)


class JobPool:
    """A bounded pool of worker threads shared by every session of a server (see the module's docstring)."""

    def __init__(self, max_jobs: int | None = None):
        max_jobs = default_max_jobs() if max_jobs is None else max_jobs
        if not isinstance(max_jobs, int) or isinstance(max_jobs, bool) or max_jobs < 1:
            raise ValueError(f"max_jobs: expected an integer >= 1, got {max_jobs!r}")
        self.max_jobs = max_jobs
        self._executor = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="workbench-job")
        self._loads = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="workbench-load")
        self._slots = threading.BoundedSemaphore(max_jobs)
        self._lock = threading.Lock()
        self._active: set[Job] = set()

    @property
    def active(self) -> list[Job]:
        """The jobs running now."""
        with self._lock:
            return list(self._active)

    def submit(self, name: str, work: Callable[[Callable[[Any], None], threading.Event], Any], *,
               on_progress: Callable[[Any], None] | None = None,
               on_done: Callable[[Any, BaseException | None], None] | None = None, doc=None) -> Job:
        """Start ``work`` in the pool; :class:`Busy` when ``max_jobs`` are running. ``doc``: the session's Bokeh
        document (default: Panel's current one), whose event loop gets the callbacks and whose end cancels the job."""
        if not self._slots.acquire(blocking=False):
            raise Busy(f"The server is running {self.max_jobs} trainings or live runs already (its limit): try "
                       "again in a moment.")
        if doc is None:
            import panel as pn

            doc = pn.state.curdoc
        job = Job(name)
        on_loop = session_loop(doc) is not None

        def deliver(callback, *args):
            if callback is None:
                return
            if not on_loop:
                callback(*args)
                return
            try:
                doc.add_next_tick_callback(lambda: callback(*args))
            except Exception:  # noqa: BLE001 - the session has ended: nobody to show it to
                log.debug("job %s: session gone, result dropped", name)

        def run():
            log.info("job started: %s", name)
            try:
                result, error = work(lambda item: deliver(on_progress, item), job.cancelled), None
            except Exception as exc:  # noqa: BLE001 - handed to on_done, which shows it
                result, error = None, exc
            finally:
                with self._lock:
                    self._active.discard(job)
                self._slots.release()
                log.info("job ended: %s (%s)", name, "cancelled" if job.cancelled.is_set() else
                         "failed" if error is not None else "finished")
            deliver(on_done, result, error)

        with self._lock:
            self._active.add(job)
        if doc is not None:
            doc.on_session_destroyed(lambda _context: job.cancel())
        try:
            job.future = self._executor.submit(run)
        except RuntimeError:  # the pool is shut down (the server is stopping)
            with self._lock:
                self._active.discard(job)
            self._slots.release()
            raise
        return job


    def load(self, name: str, work: Callable[[threading.Event], Any],
             on_done: Callable[[Any, BaseException | None], None], *, doc=None) -> Job:
        """Short page work: ``work(cancelled)`` off the session's loop in the load executor (queued, never refused),
        then ``on_done(result, error)`` on the session's loop; outside a server both run here, now. The job is
        cancelled when the session ends; a page cancels a superseded one (a newer setting) with ``Job.cancel``."""
        doc = session_loop(doc)
        job = Job(name)
        if doc is None:
            future: Future = Future()
            try:
                result, error = work(job.cancelled), None
            except Exception as exc:  # noqa: BLE001 - handed to on_done, which shows it
                result, error = None, exc
            future.set_result(None)
            job.future = future
            on_done(result, error)
            return job

        def run():
            try:
                result, error = (None, None) if job.cancelled.is_set() else (work(job.cancelled), None)
            except Exception as exc:  # noqa: BLE001 - handed to on_done, which shows it
                result, error = None, exc
            try:
                doc.add_next_tick_callback(lambda: on_done(result, error))
            except Exception:  # noqa: BLE001 - the session has ended: nobody to show it to
                log.debug("load %s: session gone, result dropped", name)

        doc.on_session_destroyed(lambda _context: job.cancel())
        job.future = self._loads.submit(run)
        return job


_pool: JobPool | None = None
_pool_lock = threading.Lock()


def jobs() -> JobPool:
    """The process's shared :class:`JobPool` (created on first use, sized by :func:`default_max_jobs`)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = JobPool()
        return _pool


def configure_jobs(max_jobs: int | None) -> JobPool:
    """Replace the shared pool by one of ``max_jobs`` (``workbench serve --max-jobs``); before the first page."""
    global _pool
    pool = JobPool(max_jobs)
    with _pool_lock:
        _pool = pool
    return pool
