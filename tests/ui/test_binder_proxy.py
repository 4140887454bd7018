"""The Binder entry serves the dashboard under a prefix, with only the registered pages."""

import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.ui.conftest import REPO, free_port, stop, wait_http
from workbench.topics import TOPICS
from workbench.ui.server_proxy import setup_dashboard

pytestmark = pytest.mark.ui


def test_proxy_command_serves_registered_pages_under_prefix():
    port = free_port()
    cfg = setup_dashboard()
    cmd = [a.format(port=port, base_url="/user/test/") for a in cfg["command"]]
    assert cmd[0] == "workbench"
    proc = subprocess.Popen([sys.executable, "-m", "workbench", *cmd[1:]], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://localhost:{port}/user/test/panel"
        wait_http(base + "/", proc, timeout=120)
        for slug in TOPICS:
            with urllib.request.urlopen(f"{base}/{slug}", timeout=30) as r:
                assert r.status == 200
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{base}/conftest", timeout=30)
        assert info.value.code == 404
    finally:
        stop(proc)
