"""The served app in a real browser, for the UI tests, ``make bench`` and the screenshots: Debian's Chromium
driven by Playwright, and the app served in a subprocess on a free localhost port.

Chromium runs headless with the flags this offline machine needs (no background networking, no component
updates, no sync: otherwise it keeps trying to reach Google's hosts). Every wait has a hard timeout.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "free_port", "wait_http", "stop", "served_app", "chromium"]

CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen | None, timeout: float) -> None:
    """Until ``url`` answers; ``RuntimeError`` if ``proc`` exits first, ``TimeoutError`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextlib.contextmanager
def served_app(log_path: Path | str | None = None, args: tuple[str, ...] = (), timeout: float = 300):
    """``workbench serve`` on a free port in a subprocess; yields ``(url, process)`` once ``/`` answers."""
    port = free_port()
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port), *args],
                            stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wait_http(f"http://localhost:{port}/", proc, timeout=timeout)
        yield f"http://localhost:{port}", proc
    finally:
        stop(proc)
        if log_path:
            log.close()


@contextlib.contextmanager
def chromium():
    """A headless Chromium (Playwright's sync API); ``FileNotFoundError`` naming the install command if absent."""
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set WORKBENCH_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()
