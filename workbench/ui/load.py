"""A room on one server: many concurrent browser sessions over every page, some training, half closed mid-run.

:func:`run_room` drives a served app (``workbench serve``, its process and log) with Playwright's Chromium and
measures what a workshop would notice; ``tests/ui/test_load.py`` asserts on its result and ``make bench`` prints
its figures (``python -m workbench.bench --only room``). Steps:

1. every session opens a page (the topics in turn) while a second client fetches a small static file every
   0.25 s (the probe);
2. each execution page picks its own agent (a state no other session may see);
3. several N:M and LDS pages press Train;
4. about half the sessions close (the second, fourth, ... session of each page: every page keeps its first),
   trainings included, while the others keep working; the rest then close too;
5. the server's log says whether every job it started has ended (finished or cancelled), and its resident memory
   is read at the start, at the peak and after every session has gone.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
from pathlib import Path

__all__ = ["run_room", "rss_mb", "probe_static", "TRAIN_PAGES", "PROBE_FILE"]

PROBE_FILE = "/static/extensions/panel/css/button.css"  # a small static file (3.6 kB)
TRAIN_PAGES = ("nm_sparsity", "structure_learning")
_TRAIN_STARTED = re.compile(r"epoch \d+/15|outer iteration|Training LDS on|try again in a moment")
_TRAIN_ENDED = re.compile(r"epoch 15/15|— done|try again in a moment")
_JOB = re.compile(r"job (started|ended): (.*?)(?: \((finished|cancelled|failed)\))?$", re.M)


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def probe_static(url: str, stop: threading.Event, latencies: list, failures: list, period: float = 0.25) -> None:
    """Fetch ``url`` every ``period`` s until ``stop``: each latency (s) to ``latencies``, each error to
    ``failures``."""
    import urllib.request

    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                r.read()
            latencies.append(time.perf_counter() - t0)
        except OSError as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
        stop.wait(max(0.0, period - (time.perf_counter() - t0)))


def _wait_for_text(page, pattern: re.Pattern, timeout_s: float) -> list[str]:
    """The page's texts matching ``pattern`` (inside Bokeh's shadow roots too), once there is one; ``TimeoutError``
    after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        texts = page.get_by_text(pattern).all_inner_texts()
        if any(pattern.search(t) for t in texts):
            return texts
        if time.monotonic() > deadline:
            status = page.get_by_text(re.compile(r"epoch|outer iteration|Training|Press")).all_inner_texts()
            raise TimeoutError(f"{page.url}: no text matching {pattern.pattern!r} within {timeout_s} s; the "
                               f"page says {status}")
        page.wait_for_timeout(500)


def _jobs(log_text: str) -> tuple[int, int, dict]:
    started = sum(1 for m in _JOB.finditer(log_text) if m.group(1) == "started")
    ends = [m.group(3) for m in _JOB.finditer(log_text) if m.group(1) == "ended"]
    return started, len(ends), {k: ends.count(k) for k in set(ends)}


def run_room(browser, base: str, server_pid: int, log_path: Path, sessions: int = 20, trainings: int = 4,
             settle_s: float = 60.0, timeout_s: float = 600.0) -> dict:
    """Drive ``sessions`` concurrent sessions against the app at ``base`` (steps in the module's docstring; Train is
    pressed on the first ``trainings`` pages that have it, alternately N:M and LDS) and
    return the figures: page-ready times, the probe's latencies and failures, console errors per session, the
    agents each execution page shows against the one it chose, the jobs started and ended, and the server's
    memory (MB) at the start, the peak and ``settle_s`` after the last session closed (the server ends sessions
    some seconds after their tab closes)."""
    from workbench.execution.explorer import AGENTS
    from workbench.topics import TOPICS

    slugs = list(TOPICS)
    latencies, failures, stop = [], [], threading.Event()
    prober = threading.Thread(target=probe_static, args=(base + PROBE_FILE, stop, latencies, failures), daemon=True)
    rss_start = rss_peak = rss_mb(server_pid)
    opened, ready_s, errors, chosen = [], [], {}, {}
    prober.start()
    try:
        for i in range(sessions):  # 1. open every page, the topics in turn
            slug = slugs[i % len(slugs)]
            ctx = browser.new_context(viewport={"width": 1300, "height": 900})
            page = ctx.new_page()
            errors[i] = []
            page.on("pageerror", lambda e, i=i: errors[i].append(str(e)))
            page.on("console", lambda m, i=i: errors[i].append(m.text) if m.type == "error" else None)
            t0 = time.perf_counter()
            page.goto(f"{base}/{slug}", wait_until="domcontentloaded", timeout=timeout_s * 1000)
            opened.append((i, slug, ctx, page, t0))
        for i, slug, ctx, page, t0 in opened:
            page.wait_for_selector(".bk-Canvas, canvas", state="attached", timeout=timeout_s * 1000)
            ready_s.append(time.perf_counter() - t0)
        rss_peak = max(rss_peak, rss_mb(server_pid))
        ordinal = {i: sum(1 for j, s, *_ in opened[:k] if s == slug) for k, (i, slug, *_) in enumerate(opened)}
        for i, slug, ctx, page, _ in opened:  # 2. a state of each session's own
            if slug == "execution":
                chosen[i] = AGENTS[(ordinal[i] + 1) % len(AGENTS)]  # not the default; one per session of the page
                page.get_by_label("Agent", exact=True).select_option(chosen[i], timeout=timeout_s * 1000)
        trainers = [o for o in opened if o[1] in TRAIN_PAGES][:trainings]
        for _, _, _, page, _ in trainers:  # 3. several trainings at once
            page.get_by_role("button", name="Train").click(timeout=timeout_s * 1000)
        started_pages = set()
        for i, _, _, page, _ in trainers:  # the page says it trains (or that the server is full)
            try:
                _wait_for_text(page, _TRAIN_STARTED, 60)
                started_pages.add(i)
            except TimeoutError:  # a click the page never acted on: a figure, and not waited for below
                pass
        rss_peak = max(rss_peak, rss_mb(server_pid))
        # 4. about half the room leaves mid-run: every other session of each page (so every page with two or more
        # sessions, and trainings, among those who leave and those who stay)
        closing = [o for o in opened if ordinal[o[0]] % 2 == 1]
        staying = [o for o in opened if ordinal[o[0]] % 2 == 0]
        for _, _, ctx, _, _ in closing:
            ctx.close()
        shown, busy = {}, 0
        for i, slug, _, page, _ in staying:
            if i in chosen:
                shown[i] = page.get_by_label("Agent", exact=True).input_value(timeout=timeout_s * 1000)
        for i, slug, _, page, _ in staying:  # the trainings of those who stayed end (or were refused: server full)
            if i in started_pages:
                texts = _wait_for_text(page, _TRAIN_ENDED, timeout_s)
                busy += any("try again in a moment" in t for t in texts)
        rss_peak = max(rss_peak, rss_mb(server_pid))
        for _, _, ctx, _, _ in staying:
            ctx.close()
    finally:
        stop.set()
        prober.join(timeout=60)
    deadline = time.monotonic() + settle_s  # 5. the server ends the closed sessions and their jobs
    while time.monotonic() < deadline:
        started, ended, _ = _jobs(log_path.read_text())
        if started == ended:
            break
        time.sleep(1)
    time.sleep(max(0.0, deadline - time.monotonic()))
    started, ended, outcomes = _jobs(log_path.read_text())
    return {
        "sessions": sessions, "trainings_pressed": len(trainers), "trainings_started": len(started_pages),
        "refused_busy_of_those_staying": busy,
        "closed_mid_run": len(closing),
        "page_ready_median_s": statistics.median(ready_s), "page_ready_max_s": max(ready_s),
        "probe_fetches": len(latencies), "probe_median_s": statistics.median(latencies) if latencies else None,
        "probe_max_s": max(latencies) if latencies else None, "probe_failures": failures,
        "console_errors": {i: e for i, e in errors.items() if e},
        "agents_chosen": {i: chosen[i] for i in shown}, "agents_shown": shown,
        "jobs_started": started, "jobs_ended": ended, "job_outcomes": outcomes,
        "rss_start_mb": rss_start, "rss_peak_mb": rss_peak, "rss_end_mb": rss_mb(server_pid),
    }
