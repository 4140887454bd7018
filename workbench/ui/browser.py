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
import tempfile
import time
import urllib.request
from pathlib import Path

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "WARM_LINE", "free_port", "wait_http", "stop", "served_app", "chromium"]

CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]


def free_port(address: str = "127.0.0.1") -> int:
    """A port that is free on ``address`` now (the OS picks it; IPv4 or IPv6)."""
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as s:
        s.bind((address, 0))
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


WARM_LINE = "every page is warm"  # what `workbench serve` prints when its background warm-up is done


@contextlib.contextmanager
def served_app(log_path: Path | str | None = None, args: tuple[str, ...] = (), timeout: float = 300,
               wait_warm: bool = True):
    """``workbench serve`` on a free port in a subprocess; yields ``(url, process)`` once ``/`` answers and, with
    ``wait_warm``, once the server has warmed every page (so that measurements and tests see the pages, not their
    loading state). The server's output goes to ``log_path`` (default: a temporary file)."""
    port = free_port()
    tmp = None if log_path else tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    path = Path(log_path) if log_path else Path(tmp.name)
    log = open(path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port), *args],
                            stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        deadline = time.monotonic() + timeout
        wait_http(f"http://localhost:{port}/", proc, timeout=timeout)
        while wait_warm and WARM_LINE not in path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not finish its warm-up within {timeout} s (log: {path})")
            time.sleep(0.25)
        yield f"http://localhost:{port}", proc
    finally:
        stop(proc)
        log.close()
        if tmp is not None:
            tmp.close()
            os.unlink(tmp.name)


@contextlib.contextmanager
def chromium():
    """A headless Chromium (Playwright's sync API); ``FileNotFoundError`` naming the install command if absent."""
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"Chromium not found at {CHROMIUM}: apt-get install chromium "
                                "(or set WORKBENCH_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()
