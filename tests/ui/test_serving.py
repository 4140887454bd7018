"""Serving: the port opens before the warm-up ends (pages show a loading state, then their Explorer), and
``--port 0`` serves, websockets included, on the port it prints."""

import re
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.ui.conftest import REPO, stop
from workbench.topics import TOPICS
from workbench.ui.browser import WARM_LINE

pytestmark = pytest.mark.ui

LOADING = "Preparing this page"


def test_port_0_opens_before_the_warm_up_and_pages_swap_in_their_explorer(page, tmp_path):
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", "0"], cwd=REPO,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120  # hang guards, not speed bounds
        url = None
        while url is None:
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            m = re.search(r"serving on (http://localhost:(\d+)/)", log_path.read_text())
            url = m and m.group(1)
            time.sleep(0.1)
        assert int(re.search(r":(\d+)/", url).group(1)) > 0  # the port actually bound, not 0
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.1)
        # the gallery answered while the topics were still warming (a warm-up takes 15-20 s on 2 cores)
        assert WARM_LINE not in log_path.read_text()
        slug = [s for s, t in TOPICS.items() if hasattr(t.module, "warmup")][-1]  # the last topic to be warmed
        page.goto(url + slug, wait_until="domcontentloaded")
        page.locator(".bk-Canvas, canvas").or_(page.get_by_text(LOADING)).first.wait_for(state="attached",
                                                                                        timeout=60_000)
        saw_loading = page.get_by_text(LOADING).count() > 0
        assert saw_loading or WARM_LINE in log_path.read_text(), "a page still warming showed no loading state"
        page.wait_for_selector(".bk-Canvas, canvas", state="attached", timeout=180_000)  # the Explorer, swapped in
        assert page.get_by_text(LOADING).count() == 0
        assert not page.console_errors, page.console_errors  # the websocket was accepted on the bound port
        print(f"{slug}: loading state shown first: {saw_loading}")
    finally:
        stop(proc)
